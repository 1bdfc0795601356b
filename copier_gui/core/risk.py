"""The risk gate: a stage of its own between planning and execution, one per slave.

It watches the slave's account (daily loss, drawdown from peak equity, equity floor) and every new
entry (open positions, lots per symbol and in total, exposure). Each limit acts by its setting:
warn, stop new entries (REDUCING: exits only), or flatten everything (HALTED). It only ever takes
entries away: exits pass untouched, so a slave never keeps a position its master closed.

Its figures (the trading day with its starting balance and equity, the peak equity) and a halt are
written through to a RiskStore, so a restart or a rule edit starts from them; only a reset lifts a
halt.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from copier_gui.core.model import AccountState, Position, SymbolSpec
from copier_gui.core.reconciler import NetStep, OpenStep, PlaceStep, Step
from copier_gui.core.riskstore import Halt, RiskRecord, RiskStore, RiskStoreError
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


def _never() -> float:
    return 0.0


@dataclass
class RiskGate:
    """One slave's limits and figures. Built with ``open`` to load (and write through to) a store."""

    risk: Risk
    state: TradingState = TradingState.ACTIVE
    peak_equity: float = 0.0
    day: int | None = None
    day_start_balance: float = 0.0
    day_start_equity: float = 0.0
    breaches: dict[str, Breach] = field(default_factory=dict)
    # A latched stop: set by a flatten limit (or a lost store), lifted only by reset().
    halt: Halt | None = None
    resets: int = 0  # the store's reset count this gate has seen
    account: str = ""
    store: RiskStore | None = field(default=None, repr=False)
    now: Callable[[], float] = field(default=_never, repr=False)
    # Told when the store cannot be written; the gate goes on from memory.
    on_store_error: Callable[[str], None] | None = field(default=None, repr=False)

    @classmethod
    def open(cls, risk: Risk, store: RiskStore, account: str, *, now: Callable[[], float],
             on_store_error: Callable[[str], None] | None = None) -> RiskGate:
        """A gate for ``account`` that starts from (and writes to) what ``store`` holds for it."""
        gate = cls(risk, account=account, store=store, now=now, on_store_error=on_store_error)
        record = store.load(account)
        if record is not None:
            gate.day, gate.day_start_balance = record.day, record.day_start_balance
            gate.day_start_equity, gate.peak_equity = record.day_start_equity, record.peak_equity
            gate.halt, gate.resets = record.halt, record.resets
        gate._settle()
        return gate

    def with_risk(self, risk: Risk) -> RiskGate:
        """The same figures and halt under new limits (a rule edit); account breaches are re-measured."""
        gate = dataclasses.replace(self, risk=risk,
                                   breaches={k: b for k, b in self.breaches.items() if k.startswith("entry:")})
        gate._settle()
        return gate

    @property
    def entries_allowed(self) -> bool:
        return self.state is TradingState.ACTIVE

    @property
    def flatten(self) -> bool:
        return self.state is TradingState.HALTED

    @property
    def halted_by(self) -> str:
        return self.halt.text if self.halt is not None else ""

    @property
    def reason(self) -> str:
        """Why entries are stopped, for displays; empty while active."""
        if self.halt is not None:
            return self.halt.text
        return next((b.text for b in self.breaches.values() if b.action is LimitAction.STOP_ENTRIES), "")

    def update(self, account: AccountState, server_day: int) -> list[Breach]:
        """Re-evaluate the account limits; returns the breaches that are new since last time."""
        equity, balance = account.equity, account.balance
        figures = (self.day, self.day_start_balance, self.day_start_equity, self.peak_equity)
        if self.day != server_day:
            # A new trading day: the daily loss counts from here, and a daily stop lifts (a halt stays).
            self.day, self.day_start_balance, self.day_start_equity = server_day, balance, equity
            self.breaches = {k: b for k, b in self.breaches.items() if not k.startswith("daily_loss")}
        self.peak_equity = max(self.peak_equity, equity)
        if (self.day, self.day_start_balance, self.day_start_equity, self.peak_equity) != figures:
            self._persist(lambda s: s.save_figures(self.account, self.day, self.day_start_balance,
                                                   self.day_start_equity, self.peak_equity))
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
        flatten = next((b for b in self.breaches.values() if b.action is LimitAction.FLATTEN), None)
        if flatten is not None and not self.flatten_latched:
            self.halt = Halt(TradingState.HALTED.value, flatten.limit, self.now(), flatten.text)
            self._persist(lambda s: s.save_halt(self.account, self.halt))
        if self.flatten_latched:
            self.state = TradingState.HALTED
        elif self.halt is not None or any(b.action is LimitAction.STOP_ENTRIES and not k.startswith("entry:")
                                          for k, b in self.breaches.items()):
            self.state = TradingState.REDUCING
        else:
            self.state = TradingState.ACTIVE

    @property
    def flatten_latched(self) -> bool:
        return self.halt is not None and self.halt.state == TradingState.HALTED.value

    def hold(self, limit: str, text: str) -> None:
        """Latch exits only (no flattening) until a reset: for a risk state that was lost."""
        if self.halt is None:
            self.halt = Halt(TradingState.REDUCING.value, limit, self.now(), text)
            self._persist(lambda s: s.save_halt(self.account, self.halt))
        self._settle()

    # ------------------------------------------------------------------ reset
    def reset(self, by: str) -> RiskRecord:
        """The trader's reset: lift the halt; the day and peak start again from the next reading.

        Re-based, not only un-halted: a daily loss or drawdown still measured from the old figures
        would halt the slave again on its next pass. Returns the state as it was.
        """
        before = self._record()
        self._clear()
        if self.store is not None:
            try:
                self.resets = self.store.reset(self.account, at=self.now(), by=by).resets + 1
            except RiskStoreError as exc:
                self._report(exc.message)
        return before

    def adopt_reset(self, resets: int) -> RiskRecord:
        """A reset another process wrote to the store (the command line): apply it here too."""
        before = self._record()
        self._clear()
        self.resets = resets
        return before

    def _clear(self) -> None:
        self.halt = None
        self.breaches = {}
        self.day, self.day_start_balance, self.day_start_equity, self.peak_equity = None, 0.0, 0.0, 0.0
        self._settle()

    def _record(self) -> RiskRecord:
        return RiskRecord(self.account, self.day, self.day_start_balance, self.day_start_equity, self.peak_equity,
                          self.halt, self.resets)

    # ------------------------------------------------------------------ the store
    def _persist(self, write: Callable[[RiskStore], None]) -> None:
        if self.store is None:
            return
        try:
            write(self.store)
        except RiskStoreError as exc:
            self._report(exc.message)

    def _report(self, message: str) -> None:
        if self.on_store_error is not None:
            self.on_store_error(message)

    # ------------------------------------------------------------------ entries
    def screen(self, steps: list[Step], positions: tuple[Position, ...], specs: dict[str, SymbolSpec]) -> tuple[list[Step], list[tuple[Step, str, str]], list[Breach]]:
        """Split steps into those that may go and the entries refused (with the rule's numbers).

        Exits and stop changes always go. Warnings are returned as breaches to journal.
        """
        allowed: list[Step] = []
        refused: list[tuple[Step, str, str]] = []
        warnings: list[Breach] = []
        count = len(positions)
        # The lot limits count lots on every platform; a slave counting units is converted.
        lots_total = sum(_lots(p.symbol, p.volume, specs) for p in positions)
        lots_by_symbol: dict[str, float] = {}
        exposure = 0.0
        for p in positions:
            lots_by_symbol[p.symbol] = lots_by_symbol.get(p.symbol, 0.0) + _lots(p.symbol, p.volume, specs)
            exposure += _exposure(p.symbol, p.volume, p.price_open, specs)
        for step in steps:
            entry = _entry_of(step)
            if entry is None:
                allowed.append(step)
                continue
            symbol, volume, price, new_position = entry
            lots = _lots(symbol, volume, specs)
            if not self.entries_allowed:
                why = self.reason or "risk: entries stopped"
                refused.append((step, f"skipped: {why}; exits only ({self.state.value})", self.state.value))
                continue
            r = self.risk
            checks = (
                (r.max_open_positions, count + (1 if new_position else 0),
                 lambda n, v: f"{n:g} open positions would exceed the maximum {v:g}"),
                (r.max_lots_per_symbol, lots_by_symbol.get(symbol, 0.0) + lots,
                 lambda n, v, s=symbol: f"{n:g} lots on {s} would exceed the maximum {v:g}"),
                (r.max_lots_total, lots_total + lots, lambda n, v: f"{n:g} lots in total would exceed the maximum {v:g}"),
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
            lots_total += lots
            lots_by_symbol[symbol] = lots_by_symbol.get(symbol, 0.0) + lots
            exposure += _exposure(symbol, volume, price, specs)
        return allowed, refused, warnings


def describe_reset(before: RiskRecord, ccy: str = "") -> str:
    """What a reset lifted and cleared, in the journal's words."""
    unit = f" {ccy}" if ccy else ""
    parts = []
    if before.halt is not None:
        parts.append(f"{'halt' if before.halt.state == TradingState.HALTED.value else 'hold'} lifted "
                     f"({before.halt.limit}: {before.halt.text})")
    else:
        parts.append("no halt was set")
    if before.day is not None or before.peak_equity:
        parts.append(f"day-start balance {before.day_start_balance:,.2f}{unit} and peak equity "
                     f"{before.peak_equity:,.2f}{unit} cleared")
    parts.append("daily loss and drawdown count again from the balance and equity at its next reading")
    return "; ".join(parts)


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


def _lots(symbol: str, volume: float, specs: dict[str, SymbolSpec]) -> float:
    spec = specs.get(symbol)
    return spec.to_lots(volume) if spec is not None else volume


def _exposure(symbol: str, volume: float, price: float, specs: dict[str, SymbolSpec]) -> float:
    """Notional value in the account currency: price in ticks x the tick value of one volume unit x
    the volume."""
    spec = specs.get(symbol)
    if spec is None or spec.tick_size <= 0 or not price:
        return 0.0
    return price / spec.tick_size * spec.tick_value * volume
