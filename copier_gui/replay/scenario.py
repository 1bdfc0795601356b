"""Replay scenarios: who trades where, what the master does when, and which faults strike.

A scenario file (YAML or JSON) is validated in two steps, schema first, then cross-field
consistency, and every problem is reported as one ScenarioError naming the file and the field.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import json
import math
import os
import re
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from copier_gui.core.model import PendingKind, Side
from copier_gui.core.rules import CopyRules
from copier_gui.news_calendar import CalendarError, load_calendar
from copier_gui.sim import BrokerProfile
from copier_gui.sim import constants as _mt5
from copier_gui.sim.catalog import ALL_PROFILES as PROFILES
from copier_gui.sim.catalog import platform_of
from copier_gui.sim.faults import INJECTABLE_REJECTIONS, REJECTION_COMMENTS

__all__ = [
    "DEFAULT_START",
    "TAIL_SECONDS",
    "Account",
    "MAX_SECONDS",
    "Action",
    "AutoTradingOffAction",
    "AutoTradingOnAction",
    "BalanceAction",
    "Broker",
    "CancelPendingAction",
    "CloseAction",
    "ConnectionLostAction",
    "ConnectionRestoredAction",
    "CopierCrashFault",
    "DisconnectFault",
    "Fault",
    "LatencyFault",
    "ModifyAction",
    "ModifyPendingAction",
    "MovePriceAction",
    "OpenAction",
    "PartialCloseAction",
    "ReverseAction",
    "PlacePendingAction",
    "PythonApiOffAction",
    "PythonApiOnAction",
    "RejectFault",
    "RequoteFault",
    "PartialFillFault",
    "Scenario",
    "ScenarioError",
    "TerminalAction",
    "describe_errors",
    "load_scenario",
    "number_problems",
    "parse_scenario",
    "read_document",
    "scenario_json_schema",
]

# A Wednesday at noon UTC: every simulated session is open (forex closes at weekends).
DEFAULT_START = _dt.datetime(2026, 11, 25, 12, 0, tzinfo=_dt.UTC)
# Without an explicit duration a run goes on this long after the last event, so the copier has
# time to react to it and to reconcile at least once more.
TAIL_SECONDS = 30.0
# Simulated logins: the simulator derives its default login from the broker and the seed, so two
# accounts at one broker would share a login. Scenario accounts get LOGIN_BASE + their index.
LOGIN_BASE = 1_000_001
# The longest stretch of virtual time a scenario may name. Replay steps through every poll, so a
# longer one would run for hours, and an absurd one (1e12 s) for ever.
MAX_SECONDS = 7 * 24 * 3600.0
# Integers in a scenario end up in 64-bit fields (magic numbers, seeds); a larger one is a typo.
MAX_INT = 2**64 - 1
# Forced answers are queued one by one; more than this is no longer a scenario but a flood.
MAX_COUNT = 10_000

_NAME = r"^[A-Za-z0-9_-]{1,32}$"
_VOLUME_EPS = 1e-9

Name = Annotated[
    str, Field(pattern=_NAME, description="1 to 32 characters of A-Z, a-z, 0-9, _ and -")
]
At = Annotated[
    float,
    Field(ge=0, le=MAX_SECONDS, description="Seconds after the scenario's start, at most 7 days"),
]
Count = Annotated[int, Field(ge=1, le=MAX_COUNT)]


class _Strict(BaseModel):
    # allow_inf_nan=False: `at: .inf` or `volume: .nan` would pass a `ge`/`gt` bound otherwise.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class ScenarioError(ValueError):
    """A scenario that cannot be run; the message names the file, the field and the problem."""


class _ProblemList(list[tuple[str, str]]):
    """(field path, message) pairs found by the whole-scenario check."""

    def add(self, path: str, message: str) -> None:
        self.append((path, message))


class _Problems(ValueError):
    """Cross-field problems, each with its field path, raised from the whole-scenario check."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(f"{path}: {message}" for path, message in problems))


# ------------------------------------------------------------------------------- brokers, accounts


class Broker(_Strict):
    """A simulated broker the scenario's accounts live at: a MetaTrader 5 server, or a cTrader one
    (lumen_ctrader, kestrel_netting) reached over the Open API."""

    profile: str = Field(description="A simulated broker profile: " + ", ".join(sorted(PROFILES)))

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        if value not in PROFILES:
            raise ValueError(
                f"unknown broker profile {value!r} (known: {', '.join(sorted(PROFILES))})"
            )
        return value


class Account(_Strict):
    """One trading account: the master whose trades are copied, or a slave that copies them."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    id: Name
    role: Literal["master", "slave"]
    broker: str = Field(description="A key of `brokers`")
    balance: float | None = Field(default=None, gt=0, description="Default: the profile's balance")
    currency: Literal["USD", "EUR", "GBP", "JPY"] | None = Field(
        default=None, description="Default: the profile's account currency"
    )
    margin_mode: Literal["hedging", "netting"] | None = Field(
        default=None, description="Default: the profile's margin mode"
    )
    leverage: int | None = Field(default=None, gt=0, description="Default: the profile's leverage")
    copy_enabled: bool = True
    rules: CopyRules = Field(default_factory=CopyRules, description="Slaves only")

    def terminal_overrides(self) -> dict[str, Any]:
        """The account settings this scenario sets, as ``new_terminal`` keyword arguments."""
        out: dict[str, Any] = {"name": self.id}
        if self.balance is not None:
            out["balance"] = self.balance
        if self.currency is not None:
            out["currency"] = self.currency
        if self.margin_mode is not None:
            out["margin_mode"] = (
                _mt5.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING
                if self.margin_mode == "hedging"
                else _mt5.ACCOUNT_MARGIN_MODE_RETAIL_NETTING
            )
        if self.leverage is not None:
            out["leverage"] = self.leverage
        return out


# ---------------------------------------------------------------------------------------- actions

Points = Annotated[int, Field(gt=0, description="Price distance in the symbol's points")]
StopPoints = Annotated[int, Field(ge=0, description="Price distance in points; 0 removes the stop")]


class _Action(_Strict):
    model_config = ConfigDict(coerce_numbers_to_str=True)

    at: At
    id: Name = Field(description="The scenario's name for the master position or order")


class OpenAction(_Action):
    """The master opens a position at market."""

    action: Literal["open"]
    symbol: str = Field(description="The symbol's name at the master's broker")
    side: Side
    volume: float = Field(gt=0, description="Lots")
    sl_points: Points | None = Field(
        default=None, description="Stop loss, points from the entry price"
    )
    tp_points: Points | None = Field(
        default=None, description="Take profit, points from the entry price"
    )
    comment: str | None = Field(default=None, max_length=27)
    magic: int | None = Field(default=None, ge=0, le=MAX_INT)


class ModifyAction(_Action):
    """The master changes a position's stops; an omitted stop stays as it is."""

    action: Literal["modify"]
    sl_points: StopPoints | None = Field(
        default=None, description="Points from the open price; 0 removes"
    )
    tp_points: StopPoints | None = Field(
        default=None, description="Points from the open price; 0 removes"
    )

    @model_validator(mode="after")
    def _changes_something(self) -> ModifyAction:
        if self.sl_points is None and self.tp_points is None:
            raise ValueError("a modify needs sl_points, tp_points or both")
        return self


class PartialCloseAction(_Action):
    """The master closes part of a position."""

    action: Literal["partial_close"]
    volume: float = Field(gt=0, description="Lots to close, less than the position's volume")


class CloseAction(_Action):
    """The master closes a whole position."""

    action: Literal["close"]


class ReverseAction(_Action):
    """A netting master's position takes the other side: one deal in the opposite direction,
    bigger than what it holds (MT5 gives the position the ticket of that order; cTrader keeps its
    id)."""

    action: Literal["reverse"]
    volume: float = Field(gt=0, description="Lots the position holds on the other side after it")


class PlacePendingAction(_Action):
    """The master places a pending order ``offset_points`` away from the market."""

    action: Literal["place_pending"]
    symbol: str = Field(description="The symbol's name at the master's broker")
    kind: Literal["buy_limit", "sell_limit", "buy_stop", "sell_stop"]
    volume: float = Field(gt=0, description="Lots")
    offset_points: Points = Field(
        description="Distance from the market price, on the side the kind requires"
    )
    sl_points: Points | None = Field(
        default=None, description="Stop loss, points from the order price"
    )
    tp_points: Points | None = Field(
        default=None, description="Take profit, points from the order price"
    )
    expiration_s: float | None = Field(
        default=None,
        gt=0,
        le=MAX_SECONDS,
        description="Seconds after placing; none: until cancelled",
    )

    @property
    def pending_kind(self) -> PendingKind:
        return PendingKind(self.kind)


class ModifyPendingAction(_Action):
    """The master moves a pending order to ``offset_points`` from the market at that moment."""

    action: Literal["modify_pending"]
    offset_points: Points


class CancelPendingAction(_Action):
    """The master deletes a pending order."""

    action: Literal["cancel_pending"]


class _TerminalAction(_Strict):
    """Something done to one account's terminal, master or slave, rather than to a position."""

    at: At
    account: str = Field(description="The id of the account whose terminal it is")


class AutoTradingOffAction(_TerminalAction):
    """The terminal's Algo Trading button is switched off: its trade requests get 10027."""

    action: Literal["autotrading_off"]


class AutoTradingOnAction(_TerminalAction):
    """The terminal's Algo Trading button is switched back on."""

    action: Literal["autotrading_on"]


class ConnectionLostAction(_TerminalAction):
    """The terminal loses its connection until a ``connection_restored`` (or the end)."""

    action: Literal["connection_lost"]


class ConnectionRestoredAction(_TerminalAction):
    """The terminal is reachable again; the copier has to connect to it anew."""

    action: Literal["connection_restored"]


class PythonApiOffAction(_TerminalAction):
    """The terminal's option that refuses trading from Python is set: order_send fails with -8."""

    action: Literal["python_api_off"]


class PythonApiOnAction(_TerminalAction):
    """Trading from Python is allowed again."""

    action: Literal["python_api_on"]


class BalanceAction(_TerminalAction):
    """The broker's back office moves cash: a ``deposit`` into the account or a ``withdraw`` out of it.
    A prop firm's limits measure trading, so neither is a profit or a loss to them."""

    action: Literal["deposit", "withdraw"]
    amount: float = Field(gt=0, le=1e12, description="In the account's currency")


class MovePriceAction(_Strict):
    """The market jumps: ``symbol``'s price moves ``points`` at once (a news spike, a gap), at every
    broker that quotes it, and trades on from there. It steers an account's equity to a limit."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    at: At
    action: Literal["move_price"]
    symbol: str = Field(description="The symbol's name at the master's broker")
    points: int = Field(ge=-10**9, le=10**9,
                        description="Points of the symbol at the master's broker; negative moves it down")

    @field_validator("points")
    @classmethod
    def _moves(cls, value: int) -> int:
        if value == 0:
            raise ValueError("points 0 moves nothing: give a positive (up) or negative (down) number of points")
        return value


TerminalAction = (
    AutoTradingOffAction
    | AutoTradingOnAction
    | ConnectionLostAction
    | ConnectionRestoredAction
    | PythonApiOffAction
    | PythonApiOnAction
    | BalanceAction
)

Action = Annotated[
    OpenAction
    | ModifyAction
    | PartialCloseAction
    | CloseAction
    | ReverseAction
    | PlacePendingAction
    | ModifyPendingAction
    | CancelPendingAction
    | AutoTradingOffAction
    | AutoTradingOnAction
    | ConnectionLostAction
    | ConnectionRestoredAction
    | PythonApiOffAction
    | PythonApiOnAction
    | BalanceAction
    | MovePriceAction,
    Field(discriminator="action"),
]
_POSITION_ACTIONS = (ModifyAction, PartialCloseAction, CloseAction, ReverseAction)
_PENDING_ACTIONS = (ModifyPendingAction, CancelPendingAction)


# ----------------------------------------------------------------------------------------- faults


class _Fault(_Strict):
    at: At

    @property
    def end_s(self) -> float:
        """When the fault's effect is over, in seconds after the start."""
        return self.at


class CopierCrashFault(_Fault):
    """The copier process dies without a clean shutdown, then starts again."""

    kind: Literal["copier_crash"]
    restart_after_ms: int = Field(ge=0, le=int(MAX_SECONDS * 1000))

    @property
    def end_s(self) -> float:
        return self.at + self.restart_after_ms / 1000.0


class DisconnectFault(_Fault):
    """An account's terminal loses its connection for a while."""

    kind: Literal["disconnect"]
    account: str
    duration_ms: int = Field(gt=0, le=int(MAX_SECONDS * 1000))

    @property
    def end_s(self) -> float:
        return self.at + self.duration_ms / 1000.0


class RejectFault(_Fault):
    """A slave's broker rejects its next ``count`` trade requests with ``retcode``."""

    kind: Literal["reject"]
    account: str
    retcode: int = Field(
        description=(
            "A code of the trade server's return code table that executes nothing, e.g. 10006 "
            "request rejected, 10024 too many requests, 10027 AutoTrading disabled by client, "
            "10031 no connection"
        ),
        json_schema_extra={"enum": list(INJECTABLE_REJECTIONS)},
    )
    count: Count = 1

    @field_validator("retcode")
    @classmethod
    def _a_rejection(cls, value: int) -> int:
        if value in INJECTABLE_REJECTIONS:
            return value
        if value in (_mt5.TRADE_RETCODE_PLACED, _mt5.TRADE_RETCODE_DONE):
            raise ValueError(f"{value} is a success, not a rejection")
        if value == _mt5.TRADE_RETCODE_DONE_PARTIAL:
            raise ValueError(f"{value} fills part of the request: use a partial_fill fault")
        raise ValueError(
            f"{value} is not in the trade server's return code table "
            f"(codes {min(REJECTION_COMMENTS)} to {max(REJECTION_COMMENTS)}, without 10005 and 10037)"
        )


class LatencyFault(_Fault):
    """Every call to an account's terminal takes about ``median_ms`` for a while."""

    kind: Literal["latency"]
    account: str
    median_ms: float = Field(gt=0, le=int(MAX_SECONDS * 1000))
    duration_ms: int = Field(gt=0, le=int(MAX_SECONDS * 1000))

    @property
    def end_s(self) -> float:
        return self.at + self.duration_ms / 1000.0


class RequoteFault(_Fault):
    """A slave's broker requotes its next ``count`` trade requests."""

    kind: Literal["requote"]
    account: str
    count: Count


class PartialFillFault(_Fault):
    """A slave's broker fills only part of its next ``count`` market orders (IOC/RETURN fillings)."""

    kind: Literal["partial_fill"]
    account: str
    count: Count


Fault = Annotated[
    CopierCrashFault | DisconnectFault | RejectFault | LatencyFault | RequoteFault | PartialFillFault,
    Field(discriminator="kind"),
]
_SLAVE_FAULTS = (RejectFault, RequoteFault, PartialFillFault)
# A cTrader server fills a market order at the market or refuses it: it has no requotes, and its
# partial fills are not simulated yet.
_MT5_ONLY_FAULTS = (RequoteFault, PartialFillFault)


# --------------------------------------------------------------------------------------- scenario


class Scenario(_Strict):
    """A whole replay: brokers, accounts, the master's timeline and the faults, on virtual time."""

    schema_version: Literal[1] = 1
    description: str = ""
    seed: int = Field(
        default=0,
        ge=-MAX_INT,
        le=MAX_INT,
        description="Seeds the market, the brokers and every fault draw",
    )
    start: _dt.datetime = Field(
        default=DEFAULT_START, description="UTC; the virtual clock starts here"
    )
    duration_s: float | None = Field(
        default=None,
        gt=0,
        le=MAX_SECONDS,
        description=f"Virtual seconds to run; default: the last event's end + {TAIL_SECONDS:g} s",
    )
    # Lower bounds: every poll is a step of the replay, so a microsecond poll never finishes.
    poll_interval_ms: float = Field(
        default=5.0, ge=1, le=60_000, description="How often accounts are polled"
    )
    reconcile_interval_s: float = Field(
        default=2.0, ge=0.1, le=3600, description="How often slaves are reconciled"
    )
    brokers: dict[Name, Broker]
    accounts: list[Account]
    timeline: list[Action]
    faults: list[Fault] = Field(default_factory=list)
    checkpoints: list[At] = Field(
        default_factory=list,
        description=(
            "Times at which every account's positions and orders are written to the report, "
            "as in its final accounts section"
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _no_absurd_numbers(cls, data: Any) -> Any:
        # Before the schema: a 400-digit integer or an infinity would otherwise reach code that
        # cannot hold it (a 64-bit field, a timer) wherever it sits, copy rules included.
        problems = _ProblemList()
        _check_numbers(data, (), problems)
        if problems:
            raise _Problems(problems)
        return data

    @field_validator("start")
    @classmethod
    def _utc(cls, value: _dt.datetime) -> _dt.datetime:
        # A time without a zone is read as UTC, the simulator's own zone.
        if value.tzinfo is None:
            return value.replace(tzinfo=_dt.UTC)
        return value.astimezone(_dt.UTC)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        problems = _ProblemList()
        self._check_accounts(problems)
        if not problems:
            self._check_timeline(problems)
            self._check_faults(problems)
        if not problems:
            ends = [a.at for a in self.timeline] + [f.end_s for f in self.faults] + self.checkpoints
            last = max(ends, default=0.0)
            if self.duration_s is None:
                # The model is frozen; fill the default once here so every reader sees one number.
                object.__setattr__(self, "duration_s", last + TAIL_SECONDS)
            elif self.duration_s <= last:
                problems.add(
                    "duration_s",
                    f"{self.duration_s:g} s ends before the last event "
                    f"(at {last:g} s); make it longer or leave it out",
                )
        if problems:
            raise _Problems(problems)
        return self

    def _check_accounts(self, problems: _ProblemList) -> None:
        seen: dict[str, int] = {}
        master: int | None = None
        for i, account in enumerate(self.accounts):
            here = f"accounts[{i}]"
            if account.id in seen:
                problems.add(
                    f"{here}.id",
                    f"duplicate account id {account.id!r} (also accounts[{seen[account.id]}])",
                )
            seen.setdefault(account.id, i)
            if account.broker not in self.brokers:
                known = ", ".join(sorted(self.brokers)) or "none"
                problems.add(
                    f"{here}.broker", f"unknown broker {account.broker!r} (known: {known})"
                )
            elif account.currency is not None and platform_of(self.brokers[account.broker].profile) == "ctrader":
                problems.add(
                    f"{here}.currency",
                    "a cTrader account's currency is its broker's deposit asset; pick the cTrader "
                    "profile with the currency you want instead",
                )
            if account.role == "master":
                if master is not None:
                    problems.add(
                        f"{here}.role",
                        f"a second master (accounts[{master}] is one); a scenario has exactly one",
                    )
                else:
                    master = i
                if "rules" in account.model_fields_set:
                    problems.add(
                        f"{here}.rules", "a master takes no copy rules; set rules on the slaves"
                    )
        if master is None:
            problems.add("accounts", "no master: mark exactly one account `role: master`")
        if not any(a.role == "slave" for a in self.accounts):
            problems.add("accounts", "no slave: add at least one account with `role: slave`")

    def _check_timeline(self, problems: _ProblemList) -> None:
        profile = PROFILES[self.brokers[self.master.broker].profile]
        netting = self.master_is_netting
        accounts = [a.id for a in self.accounts]
        # id -> (index that created it, "position" | "pending" | "closed" | "cancelled", lots left)
        state: dict[str, tuple[int, str, float]] = {}
        holding: dict[str, str] = {}  # symbol -> id, for a netting master
        for i, action in self.ordered_timeline():
            here = f"timeline[{i}]"
            if isinstance(action, _TerminalAction):
                if action.account not in accounts:
                    problems.add(
                        f"{here}.account",
                        f"unknown account {action.account!r} (known: {', '.join(accounts)})",
                    )
                elif (self.platform_of(action.account) == "ctrader"
                      and not isinstance(action, ConnectionLostAction | ConnectionRestoredAction | BalanceAction)):
                    problems.add(
                        f"{here}.action",
                        f"{action.action} is a MetaTrader 5 terminal's switch; {action.account!r} "
                        "is a cTrader account (connection_lost, connection_restored, deposit and withdraw "
                        "apply to it)",
                    )
                continue
            if isinstance(action, MovePriceAction):
                if action.symbol not in profile.symbols_by_name:
                    problems.add(f"{here}.symbol", _unknown_symbol(action.symbol, profile))
                continue
            if isinstance(action, OpenAction | PlacePendingAction):
                if action.id in state:
                    problems.add(
                        f"{here}.id",
                        f"{action.id!r} is already used by timeline[{state[action.id][0]}]",
                    )
                    continue
                if action.symbol not in profile.symbols_by_name:
                    problems.add(f"{here}.symbol", _unknown_symbol(action.symbol, profile))
                if isinstance(action, PlacePendingAction):
                    state[action.id] = (i, "pending", action.volume)
                    continue
                state[action.id] = (i, "position", action.volume)
                if netting and action.symbol in holding:
                    problems.add(
                        f"{here}.symbol",
                        (
                            f"the master account is netting, so {action.id!r} would merge into "
                            f"{holding[action.symbol]!r} on {action.symbol}; close that first "
                            "or make the master hedging"
                        ),
                    )
                else:
                    holding[action.symbol] = action.id
                continue
            if action.id not in state:
                problems.add(
                    f"{here}.id",
                    f"no position or order {action.id!r} was opened or "
                    f"placed before this action (at {action.at:g} s)",
                )
                continue
            origin, status, lots = state[action.id]
            if status in ("closed", "cancelled"):
                problems.add(f"{here}.id", f"{action.id!r} was already {status} before this action")
                continue
            if isinstance(action, _PENDING_ACTIONS) and status != "pending":
                problems.add(
                    f"{here}.id",
                    f"{action.id!r} is a position (timeline[{origin}]), not a pending order",
                )
                continue
            if isinstance(action, CancelPendingAction):
                state[action.id] = (origin, "cancelled", lots)
            elif isinstance(action, PartialCloseAction):
                if action.volume >= lots - _VOLUME_EPS:
                    problems.add(
                        f"{here}.volume",
                        f"{action.volume:g} lots is not less than the {lots:g} lots "
                        f"left in {action.id!r}; use close",
                    )
                    continue
                state[action.id] = (origin, "position", round(lots - action.volume, 8))
            elif isinstance(action, ReverseAction):
                if not netting:
                    problems.add(f"{here}.action", "only a netting master's position reverses; a hedging "
                                                   "master opens a second position instead")
                    continue
                state[action.id] = (origin, "position", action.volume)
            elif isinstance(action, CloseAction):
                state[action.id] = (origin, "closed", 0.0)
                holding = {s: held for s, held in holding.items() if held != action.id}
            elif isinstance(action, _POSITION_ACTIONS):
                # A position action on a pending order's id means: the position it filled into.
                state[action.id] = (origin, "position", lots)

    def _check_faults(self, problems: _ProblemList) -> None:
        ids = {a.id: a for a in self.accounts}
        busy: dict[tuple[str, str], tuple[int, float]] = {}
        for i, fault in self.ordered_faults():
            here = f"faults[{i}]"
            account = getattr(fault, "account", None)
            if account is not None:
                if account not in ids:
                    problems.add(
                        f"{here}.account", f"unknown account {account!r} (known: {', '.join(ids)})"
                    )
                    continue
                if isinstance(fault, _SLAVE_FAULTS) and ids[account].role != "slave":
                    problems.add(
                        f"{here}.account",
                        f"{account!r} is the master; {fault.kind} faults apply to slaves",
                    )
                    continue
                if isinstance(fault, _MT5_ONLY_FAULTS) and self.platform_of(account) == "ctrader":
                    problems.add(
                        f"{here}.kind",
                        f"{account!r} is a cTrader account, which has no {fault.kind.replace('_', ' ')}s "
                        "(reject, disconnect and latency faults apply to it)",
                    )
                    continue
            # Two outages of one thing at once have no clear meaning: say so instead of guessing.
            # Crashes may overlap: a crash while the copier is down or starting postpones its
            # restart, and there is still only one copier.
            if isinstance(fault, DisconnectFault | LatencyFault):
                key = (fault.kind, account or "")
                if key in busy and fault.at < busy[key][1]:
                    other, until = busy[key]
                    problems.add(
                        f"{here}.at",
                        f"overlaps faults[{other}] ({fault.kind}), which lasts until {until:g} s",
                    )
                    continue
                busy[key] = (i, fault.end_s)

    # ------------------------------------------------------------------------ for the runner

    @property
    def master(self) -> Account:
        return next(a for a in self.accounts if a.role == "master")

    @property
    def slaves(self) -> tuple[Account, ...]:
        return tuple(a for a in self.accounts if a.role == "slave")

    @property
    def master_is_netting(self) -> bool:
        master = self.master
        if master.margin_mode is not None:
            return master.margin_mode == "netting"
        profile = PROFILES[self.brokers[master.broker].profile]
        return profile.margin_mode == _mt5.ACCOUNT_MARGIN_MODE_RETAIL_NETTING

    @property
    def start_epoch(self) -> float:
        """The start as Unix seconds, ready for ``VirtualClock(start)``."""
        return self.start.timestamp()

    @property
    def end_s(self) -> float:
        """How long the run lasts in virtual seconds (``duration_s`` or its default)."""
        assert self.duration_s is not None  # filled in by validation
        return self.duration_s

    def account(self, account_id: str) -> Account:
        for account in self.accounts:
            if account.id == account_id:
                return account
        raise KeyError(account_id)

    def profile_of(self, account_id: str) -> str:
        return self.brokers[self.account(account_id).broker].profile

    def platform_of(self, account_id: str) -> str:
        """"mt5" or "ctrader": which kind of server the account's broker runs."""
        return platform_of(self.profile_of(account_id))

    def terminal_overrides(self, account_id: str) -> dict[str, Any]:
        """``new_terminal`` keyword arguments for one account, its login unique in the scenario."""
        index = next(i for i, a in enumerate(self.accounts) if a.id == account_id)
        return {"login": LOGIN_BASE + index, **self.accounts[index].terminal_overrides()}

    def ordered_timeline(self) -> list[tuple[int, Action]]:
        """(index in ``timeline``, action) in the order they happen: by time, then as listed."""
        return sorted(enumerate(self.timeline), key=lambda item: (item[1].at, item[0]))

    def ordered_faults(self) -> list[tuple[int, Fault]]:
        """(index in ``faults``, fault) by time, then as listed."""
        return sorted(enumerate(self.faults), key=lambda item: (item[1].at, item[0]))


def _check_numbers(node: object, loc: tuple, problems: _ProblemList) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _check_numbers(value, (*loc, key), problems)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _check_numbers(value, (*loc, i), problems)
    elif isinstance(node, _HugeInt):
        problems.add(_path(loc), f"a {node.digits}-digit integer does not fit in 64 bits")
    elif isinstance(node, bool):
        return
    elif isinstance(node, int) and abs(node) > MAX_INT:
        digits = len(str(abs(node))) if node.bit_length() < 13_000 else "thousands of"
        problems.add(_path(loc), f"a {digits}-digit integer does not fit in 64 bits")
    elif isinstance(node, float) and not math.isfinite(node):
        problems.add(_path(loc), "Input should be a finite number")


def _unknown_symbol(symbol: str, profile: BrokerProfile) -> str:
    names = list(profile.symbols_by_name)
    close = difflib.get_close_matches(symbol, names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return (
        f"{symbol!r} is not a symbol at the master's broker {profile.name} "
        f"({hint}known: {', '.join(names)})"
    )


# ----------------------------------------------------------------------------------------- loading


class _HugeInt:
    """An integer literal too long for Python to convert, kept so the check can name its field."""

    def __init__(self, digits: int) -> None:
        self.digits = digits


# Python refuses to convert integer strings longer than this (sys.get_int_max_str_digits).
_MAX_INT_DIGITS = 4000


def _parse_int(text: str) -> int | _HugeInt:
    return _HugeInt(len(text.lstrip("+-"))) if len(text) > _MAX_INT_DIGITS else int(text)


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.safe_load, except that a key given twice is an error instead of silently the last."""

    def construct_yaml_int(self, node):
        if len(str(node.value)) > _MAX_INT_DIGITS:
            return _HugeInt(len(str(node.value).lstrip("+-").replace("_", "")))
        return super().construct_yaml_int(node)

    def construct_mapping(self, node, deep=False):
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, typing.Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:int", _UniqueKeyLoader.construct_yaml_int)


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and validate a scenario file (.yaml, .yml or .json). A relative path in its rules (a
    news calendar) is read from the file's folder, and a calendar that cannot be read is an error
    here, before anything runs."""
    scenario = parse_scenario(read_document(path), source=os.fspath(path))
    problems = []
    for i, account in enumerate(scenario.accounts):
        news = account.rules.risk.prop.news if account.rules.risk.prop is not None else None
        if news is None:
            continue
        # Absolute, so the copier reads the same file wherever it runs; an absolute path stays as it is.
        calendar = Path(path).parent.resolve() / Path(news.calendar).expanduser()
        try:
            load_calendar(calendar, calendar.parent)
        except CalendarError as exc:
            problems.append(f"{os.fspath(path)}: accounts[{i}].rules.risk.prop.news.calendar: {exc.message}")
            continue
        scenario.accounts[i] = _with_calendar(account, str(calendar))
    if problems:
        raise ScenarioError("\n".join(problems))
    return scenario


def _with_calendar(account: Account, calendar: str) -> Account:
    rules = account.rules
    prop = rules.risk.prop
    news = prop.news.model_copy(update={"calendar": calendar})
    risk = rules.risk.model_copy(update={"prop": prop.model_copy(update={"news": news})})
    return account.model_copy(update={"rules": rules.model_copy(update={"risk": risk})})


def read_document(path: str | os.PathLike[str], *, what: str = "scenario") -> object:
    """The parsed content of a YAML or JSON file; ScenarioError names the file and the line.

    ``what`` names the kind of file in messages ("scenario", "rules"). A key given twice and an
    integer too long to convert are kept as problems for validation to name, never guessed at.
    """
    name = os.fspath(path)
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise ScenarioError(f"{name}: a {what} file ends in .yaml, .yml or .json")
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{name}: no such {what} file") from None
    except IsADirectoryError:
        raise ScenarioError(f"{name}: is a folder, not a {what} file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{name}: cannot read the {what} file: {exc}") from None
    if suffix == ".json":
        try:
            return json.loads(text, parse_int=_parse_int)
        except json.JSONDecodeError as exc:
            raise ScenarioError(
                f"{name}: line {exc.lineno}: could not parse JSON: {exc.msg}"
            ) from None
    try:
        # A SafeLoader subclass: as safe as yaml.safe_load.
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        column = f" (column {mark.column + 1})" if mark is not None else ""
        raise ScenarioError(f"{name}: {where}could not parse YAML: {problem}{column}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{name}: could not parse YAML: {exc}") from None


def parse_scenario(data: object, *, source: str = "<scenario>") -> Scenario:
    """Validate already-parsed scenario data; errors name ``source`` like a file name."""
    if data is None:
        raise ScenarioError(f"{source}: the scenario is empty")
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{source}: the top level must be a mapping of fields, not {type(data).__name__}"
        )
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        lines = _describe(exc, data, Scenario)
        raise ScenarioError("\n".join(f"{source}: {line}" for line in lines)) from None


def scenario_json_schema() -> dict[str, Any]:
    """The scenario format as JSON Schema (draft 2020-12), for editors and the CLI to print."""
    schema = Scenario.model_json_schema()
    schema.pop("title", None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "copier_gui replay scenario",
        **schema,
    }


# ----------------------------------------------------------------------------- error messages

_UNIONS = {"timeline": "action", "faults": "kind"}
_TAGS = {
    tag: [
        typing.get_args(m.model_fields[tag].annotation)[0]
        for m in typing.get_args(typing.get_args(union)[0])
    ]
    for tag, union in (("action", Action), ("kind", Fault))
}


def number_problems(data: object) -> list[str]:
    """``field: problem`` for each number no model field can hold (too long for 64 bits, infinite)."""
    problems = _ProblemList()
    _check_numbers(data, (), problems)
    return [f"{path}: {message}" for path, message in problems]


def describe_errors(exc: ValidationError, data: object, model: type[BaseModel] | None = None) -> list[str]:
    """One ``field: problem`` line per validation error of ``data`` against ``model`` (default: a
    scenario), worded as a scenario's errors are: an unknown key with the nearest allowed one."""
    return _describe(exc, data, Scenario if model is None else model)


def _describe(exc: ValidationError, data: dict, root: type[BaseModel]) -> list[str]:
    lines: list[str] = []
    for error in exc.errors(include_url=False):
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, _Problems):
            lines.extend(f"{path}: {message}" for path, message in cause.problems)
            continue
        loc = _strip_tags(tuple(error["loc"]), data)
        message = error["msg"]
        kind = error["type"]
        if kind in ("value_error", "assertion_error"):
            message = message.split(", ", 1)[1] if ", " in message else message
        elif kind == "less_than_equal" and (error.get("ctx") or {}).get("le") == MAX_SECONDS:
            message = f"{message} s: a scenario spans at most 7 days"
        elif kind == "extra_forbidden":
            message = _unknown_field(loc, data, root)
        elif kind in ("union_tag_invalid", "union_tag_not_found"):
            field = _UNIONS.get(str(loc[0]), "kind") if loc else "kind"
            expected = ", ".join(_TAGS[field])
            tag = (error.get("ctx") or {}).get("tag")
            loc = (*loc, field)
            message = (
                f"unknown {field} {tag!r} (expected one of: {expected})"
                if kind == "union_tag_invalid"
                else f"missing (give one of: {expected})"
            )
        elif kind == "string_pattern_mismatch" and (error.get("ctx") or {}).get("pattern") == _NAME:
            if loc and loc[-1] == "[key]":
                loc = loc[:-1]
            message = f"{error['input']!r} is not a valid name: use 1 to 32 letters, digits, _ or -"
        lines.append(f"{_path(loc)}: {message}" if loc else message)
    return lines


def _strip_tags(loc: tuple, data: object) -> tuple:
    """Drop the union tag pydantic puts in a location: timeline.2.open.volume -> timeline.2.volume."""
    if len(loc) >= 3 and loc[0] in _UNIONS and isinstance(loc[1], int):
        item = _at(data, loc[:2])
        if isinstance(item, dict) and item.get(_UNIONS[loc[0]]) == loc[2]:
            return loc[:2] + loc[3:]
    return loc


def _at(data: object, loc: tuple) -> object:
    node = data
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not (in_dict or in_list):
            return None
        node = node[part]
    return node


def _path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f"[{str(part)!r}]"
    return out


def _unknown_field(loc: tuple, data: dict, root: type[BaseModel]) -> str:
    allowed = _fields_at(loc[:-1], data, root)
    if not allowed:
        return "unknown field"
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown field ({hint}allowed: {', '.join(allowed)})"


def _fields_at(loc: tuple, data: dict, root: type[BaseModel]) -> list[str]:
    """The field names of the model at ``loc``, walking the schema alongside the data."""
    tp: Any = root
    for depth, part in enumerate(loc):
        tp = _unwrap(tp, _at(data, loc[:depth]))
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                return []
            tp = field.annotation
        elif typing.get_origin(tp) in (list, tuple):
            tp = typing.get_args(tp)[0]
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            return []
    tp = _unwrap(tp, _at(data, loc))
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return sorted(tp.model_fields)
    return []


def _unwrap(tp: Any, node: object) -> Any:
    """Annotated and Optional away; a discriminated union resolved by the tag in ``node``."""
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [m for m in typing.get_args(tp) if m is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
            for member in members:
                for tag in ("action", "kind"):
                    field = getattr(member, "model_fields", {}).get(tag)
                    if (
                        field is not None
                        and isinstance(node, dict)
                        and node.get(tag) in typing.get_args(field.annotation)
                    ):
                        return member
            return None
        else:
            return tp

