"""A prop firm's rules for one account, as data: the daily loss with its baseline and the firm's
own reset time and zone, the maximum loss (static or trailing), a stop loss required soon after an
entry, news blackouts from an imported calendar, no weekend holding, the consistency rule, the
trading days to reach, and the guard against hedging across one owner's accounts.

Each rule acts by its setting (warn, stop entries, or flatten), and none ever blocks an exit.
docs/prop-firms.md explains each with the scenario that proves it.
"""

from __future__ import annotations

import datetime as dt
import re
from difflib import get_close_matches
from enum import StrEnum
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import Field, field_validator, model_validator

from copier_gui.core.rule_types import MAX_MONEY, DeviationLimit, LimitAction, Strict


class Baseline(StrEnum):
    """What a prop firm measures the daily loss from, as it stood at the day's reset."""

    BALANCE = "balance"  # FTMO
    EQUITY = "equity"  # Fintokei
    HIGHER = "higher"  # the higher of the two (Summit Strike)


class MaxLossMode(StrEnum):
    STATIC = "static"  # a floor at the initial balance less the maximum loss
    TRAILING_EOD = "trailing_eod"  # the floor follows the highest balance or equity at a day's close
    TRAILING_INTRADAY = "trailing_intraday"  # the floor follows the highest equity seen


_HH_MM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_ZONE_EXAMPLES = "America/New_York, Europe/Prague or Etc/GMT-2 (two hours ahead of UTC: POSIX signs)"


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def _phrase(value: Any, names: tuple[str, ...], wrong: str) -> Any:
    """A time written as one phrase ("17:00 America/New_York") as its fields; anything else as is."""
    if not isinstance(value, str):
        return value
    parts = value.split()
    if len(parts) != len(names):
        raise ValueError(wrong.format(value))
    return dict(zip(names, parts, strict=True))


class DayReset(Strict):
    """When a prop firm's trading day turns: a local time of day in an IANA time zone.

    Written as one phrase (``17:00 America/New_York``) or as ``{time: "17:00", zone: ...}``.
    """

    time: str
    zone: str

    @model_validator(mode="before")
    @classmethod
    def _from_phrase(cls, value: Any) -> Any:
        return _phrase(value, ("time", "zone"), "reset {!r} must be a time and a zone, e.g. '17:00 America/New_York'")

    @field_validator("time", mode="before")
    @classmethod
    def _time_of_day(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            # YAML 1.1 reads an unquoted 17:00 as sexagesimal 1020: guessing would be a silent error.
            raise ValueError(f"reset time {value} is a number: write the time in quotes, e.g. '17:00' "
                             f"(YAML reads 17:00 without quotes as the number 1020)")
        if not isinstance(value, str) or not _HH_MM.fullmatch(value.strip()):
            raise ValueError(f"reset time {value!r} must be a 24-hour time HH:MM, e.g. '17:00' or '00:00'")
        return value.strip()

    @field_validator("zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder such as "Europe"
            members = sorted(n for n in _zone_names() if n.startswith(value.rstrip("/") + "/"))
            if members:  # typed on the way to "Europe/Prague": say what it is, not a guess at a typo
                raise ValueError(f"{value} is a group of zones, not a zone: pick one in it, e.g. {members[0]}") from None
            near = get_close_matches(value, _zone_names(), n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            raise ValueError(f"unknown time zone {value!r}{hint}: give an IANA zone name such as "
                             f"{_ZONE_EXAMPLES}") from None
        return value

    @property
    def clock(self) -> dt.time:
        hours, minutes = self.time.split(":")
        return dt.time(int(hours), int(minutes))

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)  # zoneinfo keeps one instance per key: no parse per call

    def __str__(self) -> str:
        return f"{self.time} {self.zone}"


class _MoneyOrPercent(Strict):
    amount: float | None = Field(default=None, gt=0, le=MAX_MONEY)
    percent: float | None = Field(default=None, gt=0, le=100)
    action: LimitAction = LimitAction.STOP_ENTRIES

    @model_validator(mode="after")
    def _one_of(self) -> _MoneyOrPercent:
        if self.amount is not None and self.percent is not None:
            raise ValueError(f"give an amount ({self.amount:g}) or a percent ({self.percent:g}), not both")
        if self.amount is None and self.percent is None:
            raise ValueError("give an amount or a percent, e.g. amount: 500 or percent: 5")
        return self


class DailyLossRule(_MoneyOrPercent):
    """The most the equity may fall in one trading day below ``baseline`` as it was at the reset;
    ``percent`` is of that baseline."""

    baseline: Baseline = Baseline.BALANCE


class MaxLossRule(_MoneyOrPercent):
    """The floor the equity may never reach; ``percent`` is of the initial balance.

    ``initial_balance`` left out is the balance when the gate first saw the account. With
    ``lock_at_initial`` a trailing floor stops rising once it reaches the initial balance.
    """

    mode: MaxLossMode = MaxLossMode.STATIC
    lock_at_initial: bool = False
    initial_balance: float | None = Field(default=None, gt=0, le=MAX_MONEY)


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class WeeklyTime(DayReset):
    """A time in the week in an IANA zone: ``Fri 16:45 America/New_York``, or
    ``{day: fri, time: "16:45", zone: ...}``."""

    day: str

    @model_validator(mode="before")
    @classmethod
    def _from_phrase(cls, value: Any) -> Any:
        return _phrase(value, ("day", "time", "zone"),
                       "{!r} must be a weekday, a time and a zone, e.g. 'Fri 16:45 America/New_York'")

    @field_validator("day", mode="before")
    @classmethod
    def _weekday(cls, value: Any) -> Any:
        day = str(value).strip().lower()[:3]
        if day not in _WEEKDAYS:
            raise ValueError(f"weekday {value!r} is not one of Mon, Tue, Wed, Thu, Fri, Sat, Sun")
        return day

    @property
    def weekday(self) -> int:
        """Monday is 0, as ``datetime.weekday()`` counts."""
        return _WEEKDAYS.index(self.day)

    def __str__(self) -> str:
        return f"{self.day.capitalize()} {self.time} {self.zone}"


class StopLossAction(StrEnum):
    ADD_STOP = "add_stop"  # the copy gets a stop of its own at ``distance`` from its entry
    CLOSE = "close"  # the copy is closed


class StopLossRequired(Strict):
    """Every position must carry a stop loss within ``within_s`` seconds of opening. A copy still
    without one then gets its own stop (``add_stop``, at ``distance`` from its entry price) or is
    closed (``close``)."""

    within_s: float = Field(gt=0, le=3600)
    action: StopLossAction = StopLossAction.ADD_STOP
    distance: DeviationLimit | None = None

    @model_validator(mode="after")
    def _distance_for_a_stop(self) -> StopLossRequired:
        if self.action is StopLossAction.ADD_STOP and (self.distance is None or self.distance.value <= 0):
            raise ValueError("action add_stop needs the stop's distance from the entry, e.g. "
                             "distance: {value: 20, unit: pip}")
        if self.distance is not None and self.distance.unit == "spread":
            raise ValueError("a stop's distance cannot be in spreads (the spread moves): use point, pip or bp")
        return self


class NewsImpact(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class NewsBlackout(Strict):
    """No entries (``stop_entries``), or no copies held (``flatten``: closed before the window
    opens), on the instruments an event moves, from ``before_min`` minutes before it to
    ``after_min`` after. Events come from ``calendar``, an ICS or CSV file the trader imports; no
    network is needed. Firms count a stop loss or take profit filled inside the window as trading
    in it, so with ``warn`` or ``stop_entries`` each copy held into a window is journaled."""

    calendar: str = Field(min_length=1)
    before_min: float = Field(default=2.0, ge=0, le=1440)
    after_min: float = Field(default=2.0, ge=0, le=1440)
    impacts: tuple[NewsImpact, ...] = (NewsImpact.HIGH,)
    action: LimitAction = LimitAction.STOP_ENTRIES

    @field_validator("impacts")
    @classmethod
    def _some_impact(cls, value: tuple[NewsImpact, ...]) -> tuple[NewsImpact, ...]:
        if not value:
            raise ValueError("impacts: name at least one of low, medium, high")
        return value


class WeekendRule(Strict):
    """No position held over the weekend: from ``close`` to ``reopen`` entries stop, and with
    ``flatten`` every copy is closed at ``close``."""

    close: WeeklyTime
    reopen: WeeklyTime
    action: LimitAction = LimitAction.FLATTEN


class ConsistencyRule(Strict):
    """A warning (never a stop) when the best trading day's profit exceeds ``best_day_percent`` of
    the total profit, as firms with a consistency rule measure it."""

    best_day_percent: float = Field(gt=0, le=100)


class HedgingAction(StrEnum):
    REFUSE = "refuse"
    WARN = "warn"


class HedgingGuard(Strict):
    """An entry that would hedge a position another linked account holds on the same instrument (a
    copy, or that account's own trade) is refused or warned. ``accounts`` are the other accounts of
    the same owner; left empty, every account linked in this copier counts."""

    action: HedgingAction = HedgingAction.REFUSE
    accounts: tuple[str, ...] = ()


class PropRules(Strict):
    """A prop firm's rules for one account, measured on the firm's own trading day (``reset``): the
    daily loss, the end-of-day trailing and the trading days all count in that day."""

    reset: DayReset
    daily_loss: DailyLossRule | None = None
    max_loss: MaxLossRule | None = None
    stop_loss: StopLossRequired | None = None
    news: NewsBlackout | None = None
    weekend: WeekendRule | None = None
    consistency: ConsistencyRule | None = None
    hedging: HedgingGuard | None = None
    # The trading days a phase needs (days with at least one deal); shown as done of required.
    min_trading_days: int | None = Field(default=None, ge=1, le=366)
