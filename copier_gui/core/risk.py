"""The risk gate: a stage of its own between planning and execution, one per slave.

It watches the slave's account (daily loss, drawdown from peak equity, equity floor) and every new
entry (open positions, lots per symbol and in total, exposure). Each limit acts by its setting:
warn, stop new entries (REDUCING: exits only), or flatten everything (HALTED). It only ever takes
entries away: exits pass untouched, so a slave never keeps a position its master closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from copier_gui.core.model import AccountState, Position, SymbolSpec
from copier_gui.core.reconciler import NetStep, OpenStep, PlaceStep, Step
from copier_gui.core.rules import Limit, LimitAction, Risk


class TradingState(Enum):
    ACTIVE = "active"
    REDUCING = "reducing"  # exits only
    HALTED = "halted"  # flattened; exits only until the trader resets it


@dataclass(frozen=True, slots=True)
class Breach:
    limit: str
    action: LimitAction
    text: str


@dataclass
class RiskGate:
    risk: Risk
    state: TradingState = TradingState.ACTIVE
    peak_equity: float = 0.0
    day: int | None = None
    day_start_balance: float = 0.0
    breaches: dict[str, Breach] = field(default_factory=dict)
    halted_by: str = ""

    @property
    def entries_allowed(self) -> bool:
        return self.state is TradingState.ACTIVE

    @property
    def flatten(self) -> bool:
        return self.state is TradingState.HALTED


    def update(self, account: AccountState, server_day: int) -> list[Breach]:
        """Re-evaluate the account limits; returns the breaches that are new since last time."""
        equity, balance = account.equity, account.balance
        if self.day != server_day:
            # A new trading day: the daily loss counts from here, and a daily stop lifts.
            self.day, self.day_start_balance = server_day, balance
            self.breaches = {k: b for k, b in self.breaches.items() if not k.startswith("daily_loss")}
        self.peak_equity = max(self.peak_equity, equity)
        r, ccy = self.risk, account.currency
        found: dict[str, Breach] = {}
        loss_today = self.day_start_balance - equity
        if r.daily_loss and loss_today >= r.daily_loss.value:
            found["daily_loss"] = self._breach("daily_loss", r.daily_loss,
                                               f"daily loss {loss_today:,.2f} {ccy} >= limit {r.daily_loss.value:,.2f} {ccy}")
        if r.daily_loss_percent and self.day_start_balance > 0:
            pct = loss_today / self.day_start_balance * 100
            if pct >= r.daily_loss_percent.value:
                found["daily_loss_percent"] = self._breach(
                    "daily_loss_percent", r.daily_loss_percent,
                    f"daily loss {pct:.2f}% >= limit {r.daily_loss_percent.value:g}%")
        if r.max_drawdown_percent and self.peak_equity > 0:
            dd = (self.peak_equity - equity) / self.peak_equity * 100
            if dd >= r.max_drawdown_percent.value:
                found["max_drawdown_percent"] = self._breach(
                    "max_drawdown_percent", r.max_drawdown_percent,
                    f"drawdown {dd:.2f}% from peak {self.peak_equity:,.2f} {ccy} >= limit {r.max_drawdown_percent.value:g}%")
        if r.equity_floor and equity <= r.equity_floor.value:
            found["equity_floor"] = self._breach("equity_floor", r.equity_floor,
                                                 f"equity {equity:,.2f} {ccy} <= floor {r.equity_floor.value:,.2f} {ccy}")
        new = [b for k, b in found.items() if k not in self.breaches]
        # Account breaches persist until their cause goes away, except a halt, which stays.
        self.breaches = {**{k: b for k, b in self.breaches.items() if k in found or k.startswith("entry:")}, **found}
        self._settle()
        return new

    def _breach(self, name: str, limit: Limit, text: str) -> Breach:
        return Breach(name, limit.action, f"risk: {text} ({name}, action {limit.action.value})")

    def _settle(self) -> None:
        if self.state is TradingState.HALTED:
            return
        actions = {b.action for b in self.breaches.values()}
        if LimitAction.FLATTEN in actions:
            self.state = TradingState.HALTED
            self.halted_by = next(b.text for b in self.breaches.values() if b.action is LimitAction.FLATTEN)
        elif LimitAction.STOP_ENTRIES in actions and any(not k.startswith("entry:") for k, b in self.breaches.items()
                                                         if b.action is LimitAction.STOP_ENTRIES):
            self.state = TradingState.REDUCING
        else:
            self.state = TradingState.ACTIVE

    # ------------------------------------------------------------------ entries
    def screen(self, steps: list[Step], positions: tuple[Position, ...], specs: dict[str, SymbolSpec]) -> tuple[list[Step], list[tuple[Step, str, str]], list[Breach]]:
        """Split steps into those that may go and the entries refused (with the rule's numbers).

        Exits and stop changes always go. Warnings are returned as breaches to journal.
        """
        allowed: list[Step] = []
        refused: list[tuple[Step, str, str]] = []
        warnings: list[Breach] = []
        count = len(positions)
        lots_total = sum(p.volume for p in positions)
        lots_by_symbol: dict[str, float] = {}
        exposure = 0.0
        for p in positions:
            lots_by_symbol[p.symbol] = lots_by_symbol.get(p.symbol, 0.0) + p.volume
            exposure += _exposure(p.symbol, p.volume, p.price_open, specs)
        for step in steps:
            entry = _entry_of(step)
            if entry is None:
                allowed.append(step)
                continue
            symbol, volume, price, new_position = entry
            if not self.entries_allowed:
                why = self.halted_by if self.state is TradingState.HALTED else next(
                    (b.text for b in self.breaches.values() if b.action is LimitAction.STOP_ENTRIES), "risk: entries stopped")
                refused.append((step, f"skipped: {why}; exits only ({self.state.value})", self.state.value))
                continue
            r = self.risk
            checks = (
                (r.max_open_positions, count + (1 if new_position else 0),
                 lambda n, v: f"{n:g} open positions would exceed the maximum {v:g}"),
                (r.max_lots_per_symbol, lots_by_symbol.get(symbol, 0.0) + volume,
                 lambda n, v, s=symbol: f"{n:g} lots on {s} would exceed the maximum {v:g}"),
                (r.max_lots_total, lots_total + volume, lambda n, v: f"{n:g} lots in total would exceed the maximum {v:g}"),
                (r.max_exposure, exposure + _exposure(symbol, volume, price, specs),
                 lambda n, v: f"exposure {n:,.0f} would exceed the maximum {v:,.0f}"),
            )
            names = ("max_open_positions", "max_lots_per_symbol", "max_lots_total", "max_exposure")
            verdict = None
            for name, (limit, amount, text) in zip(names, checks, strict=True):
                if limit is None or amount <= limit.value + 1e-9:
                    continue
                breach = self._breach(name, limit, text(amount, limit.value))
                if limit.action is LimitAction.WARN:
                    warnings.append(breach)
                    continue
                if limit.action is LimitAction.FLATTEN:
                    self.breaches[f"entry:{name}"] = breach
                    self._settle()
                verdict = (f"skipped: {breach.text}", name)
                break
            if verdict:
                refused.append((step, *verdict))
                continue
            allowed.append(step)
            count += 1 if new_position else 0
            lots_total += volume
            lots_by_symbol[symbol] = lots_by_symbol.get(symbol, 0.0) + volume
            exposure += _exposure(symbol, volume, price, specs)
        return allowed, refused, warnings


def _entry_of(step: Step) -> tuple[str, float, float, bool] | None:
    """(symbol, volume, price, opens a new position) for a step that adds exposure."""
    if isinstance(step, OpenStep):
        d = step.desired
        return d.symbol, step.volume, d.master_price, not step.top_up
    if isinstance(step, NetStep) and not step.is_exit:
        return step.symbol, step.volume, step.desired.master_price if step.desired else 0.0, step.position is None
    if isinstance(step, PlaceStep):
        d = step.desired
        return d.symbol, d.volume, d.price, True
    return None


def _exposure(symbol: str, volume: float, price: float, specs: dict[str, SymbolSpec]) -> float:
    """Notional value in the account currency: price in ticks x tick value x lots."""
    spec = specs.get(symbol)
    if spec is None or spec.tick_size <= 0 or not price:
        return 0.0
    return price / spec.tick_size * spec.tick_value * volume
