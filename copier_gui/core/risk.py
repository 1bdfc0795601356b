"""The risk gate: a stage of its own between planning and execution, one per slave.

It watches the slave's account (daily loss, drawdown from peak equity, equity floor) and every new
entry (open positions, lots per symbol and in total, exposure). Each limit acts by its setting:
warn, stop new entries (REDUCING: exits only), or flatten everything (HALTED). It only ever takes
entries away: exits pass untouched, so a slave never keeps a position its master closed.

Its figures (the trading day with its starting balance and equity, the peak equity) and a halt are
written through to a RiskStore, so a restart or a rule edit starts from them; only a reset lifts a
halt. Under a prop-firm profile (``risk.prop``) the day is the profile's own, from the wall clock,
and core.prop_limits measures the daily loss and the maximum-loss floor. Its calendar rules (news
blackouts, the weekend) act on the wall clock through core.prop_watch; the weekend's stop is not
latched, it lifts by itself at the reopen. Each day's profit is kept for the consistency rule.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum

from copier_gui.core import prop_consistency, prop_limits
from copier_gui.core.model import AccountState, CashFlow, Position, SymbolSpec
from copier_gui.core.prop_day import TradingDay, trading_day
from copier_gui.core.prop_limits import DayFigures, PropBreach, RoomLeft, Track
from copier_gui.core.prop_news import NewsEvent, NewsWindow
from copier_gui.core.prop_watch import PropWatch
from copier_gui.core.prop_week import WEEKEND
from copier_gui.core.reconciler import NetStep, OpenStep, PlaceStep, Step
from copier_gui.core.riskstore import Halt, RiskRecord, RiskStore, RiskStoreError, ends_track
from copier_gui.core.rules import DayReset, Limit, LimitAction, PropRules, Risk


class TradingState(Enum):
    ACTIVE = "active"
    REDUCING = "reducing"  # exits only
    HALTED = "halted"  # flattened; exits only until the trader resets it


@dataclass(frozen=True, slots=True)
class Breach:
    limit: str
    action: LimitAction
    text: str


# The prop limits whose stop of entries is latched, the one that outranks first.
_LATCHED_STOPS = (prop_limits.MAX_LOSS, prop_limits.DAILY_LOSS)


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
    # Under a prop profile: the maximum-loss track (from the first reading on) and the profile's days
    # on which the slave had a deal.
    track: Track | None = None
    deal_days: frozenset[int] = frozenset()
    # The highest balance operation (deposit, withdrawal) id taken into the figures; None: not looked.
    cash_seen: int | None = None
    # Each prop trading day's profit (the balance's change over the day), for the consistency rule;
    # ``_profit_base`` is what the day made before a reset re-based it.
    day_profits: dict[int, float] = field(default_factory=dict)
    _profit_base: float = 0.0
    _consistency_warned: int | None = None  # the day the consistency rule last warned
    _best: tuple[dict[int, float], prop_consistency.BestDay | None] | None = field(default=None, repr=False)
    # The news events, the last look at the slave's positions, and what was journaled once.
    watch: PropWatch = field(default_factory=PropWatch, repr=False)
    # The latest account reading, for room_left between passes.
    last_reading: AccountState | None = field(default=None, repr=False)
    # The profile's current day and the reset it was counted for: every pass asks, and a day lasts.
    _today: tuple[DayReset, TradingDay] | None = field(default=None, repr=False, compare=False)
    # What the last update read and left, without a prop profile: the same reading again (each
    # master change's pass reads the account the periodic pass already took) changes nothing.
    _taken: tuple | None = field(default=None, repr=False, compare=False)
    account: str = ""
    store: RiskStore | None = field(default=None, repr=False)
    now: Callable[[], float] = field(default=_never, repr=False)
    # Told when the store cannot be written; the gate goes on from memory.
    on_store_error: Callable[[str], None] | None = field(default=None, repr=False)

    @classmethod
    def open(cls, risk: Risk, store: RiskStore, account: str, *, now: Callable[[], float],
             on_store_error: Callable[[str], None] | None = None, news: tuple[NewsEvent, ...] = ()) -> RiskGate:
        """A gate for ``account`` that starts from (and writes to) what ``store`` holds for it;
        ``news``: the events of the profile's news calendar (see ``set_news``)."""
        gate = cls(risk, account=account, store=store, now=now, on_store_error=on_store_error,
                   watch=PropWatch(news=tuple(news)))
        record = store.load(account)
        if record is not None:
            gate.day, gate.day_start_balance = record.day, record.day_start_balance
            gate.day_start_equity, gate.peak_equity = record.day_start_equity, record.peak_equity
            gate.halt, gate.resets = record.halt, record.resets
            if record.prop_initial is not None:
                gate.track = Track(record.prop_initial, record.prop_high, record.prop_locked, record.track_cash)
            gate.cash_seen = record.cash_seen
            gate.deal_days = record.deal_days
            gate.day_profits = dict(record.day_profits)
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
    def weekend_flatten(self) -> bool:
        """In the weekend under a flatten weekend rule: every copy closed, lifting at the reopen."""
        weekend = self.breaches.get(WEEKEND)
        return weekend is not None and weekend.action is LimitAction.FLATTEN

    @property
    def halted_by(self) -> str:
        return self.halt.text if self.halt is not None else ""

    @property
    def reason(self) -> str:
        """Why entries are stopped, for displays; empty while active."""
        if self.halt is not None:
            return self.halt.text
        if self.weekend_flatten:
            return self.breaches[WEEKEND].text
        return next((b.text for b in self.breaches.values() if b.action is LimitAction.STOP_ENTRIES), "")

    def update(self, account: AccountState, server_day: int) -> list[Breach]:
        """Re-evaluate the account limits; returns the breaches that are new since last time.

        ``server_day`` is the trade server's day; a prop profile counts its own day instead.
        """
        prop = self.risk.prop
        if prop is None and self._taken == self._reading(account, server_day):
            return []  # nothing it depends on moved since it ran: it would find what it found
        equity, balance = account.equity, account.balance
        now = self.now()
        day = server_day if prop is None else self._trading_day(prop, now).id
        figures = (self.day, self.day_start_balance, self.day_start_equity, self.peak_equity, self.track)
        # The first reading of a day is the close of the one before, for an end-of-day trailing floor;
        # the very first reading (or the first after a reset) closes nothing.
        close = None
        if self.day != day:
            close = (balance, equity) if self.day is not None else None
            # A new trading day: the daily loss counts from here, and a daily stop lifts (a halt stays).
            self.day, self.day_start_balance, self.day_start_equity = day, balance, equity
            self._profit_base = self.day_profits.get(day, 0.0)  # a reset mid-day keeps what the day made
            self.breaches = {k: b for k, b in self.breaches.items()
                             if not k.startswith(("daily_loss", prop_limits.DAILY_LOSS))}
            if self.halt is not None and self.halt.state == TradingState.REDUCING.value \
                    and self.halt.limit == prop_limits.DAILY_LOSS:
                # The firm's day is over, and with it the daily loss's stop of entries.
                self.halt = None
                self._persist(lambda s: s.save_halt(self.account, None))
        self.peak_equity = max(self.peak_equity, equity)
        if prop is not None:
            self._follow(prop, account, close)
        self.last_reading = account
        if (self.day, self.day_start_balance, self.day_start_equity, self.peak_equity, self.track) != figures:
            track = (self.track.initial, self.track.high, self.track.locked) if self.track is not None else None
            self._persist(lambda s: s.save_figures(self.account, self.day, self.day_start_balance,
                                                   self.day_start_equity, self.peak_equity, track=track))
        r, ccy = self.risk, account.currency
        found: dict[str, Breach] = {}
        notes: list[Breach] = []
        if prop is not None:
            for b in prop_limits.check(prop, self._day_figures(), self.track if prop.max_loss else None, equity, ccy):
                found[b.name] = _worded(b)
            self._count_profit(day, balance)
            weekend, said = self.watch.weekend(prop.weekend, now)
            if weekend is not None:
                found[weekend.name] = _worded(weekend)
            notes += map(_worded, [*said, *self.watch.news_notes(prop.news, now), *self._consistency(prop, day, ccy)])
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
        new = [b for k, b in found.items() if k not in self.breaches] + notes
        # Account breaches persist until their cause goes away, except a halt, which stays.
        self.breaches = {**{k: b for k, b in self.breaches.items() if k in found or k.startswith("entry:")}, **found}
        self._settle()
        self._taken = self._reading(account, server_day) if prop is None else None
        return new

    def _reading(self, account: AccountState, server_day: int) -> tuple:
        # Everything update reads besides the clock (which only a prop profile's day needs): the
        # reading, the day, the limits, and the figures, halt and breaches a reset, a cash move or
        # a hold changes.
        return (account, server_day, self.risk, self.halt, self.resets, self.day, self.day_start_balance,
                self.day_start_equity, self.peak_equity, len(self.breaches), self.state)

    # ------------------------------------------------------------------ prop-firm profile
    def day_of(self, at: float) -> int:
        """The prop profile's trading day of instant ``at`` (UTC seconds); needs ``risk.prop``."""
        reset = self.risk.prop.reset
        return trading_day(at, reset.clock, reset.tz).id

    def _trading_day(self, prop: PropRules, now: float) -> TradingDay:
        cached = self._today
        if cached is None or cached[0] != prop.reset or not cached[1].start <= now < cached[1].next_reset:
            cached = self._today = (prop.reset, trading_day(now, prop.reset.clock, prop.reset.tz))
        return cached[1]

    def _follow(self, prop: PropRules, account: AccountState, close: tuple[float, float] | None) -> None:
        rule = prop.max_loss
        # The initial balance: the rules' own, else the one first seen. A new one in the rules starts
        # the track again (a new challenge on the same account).
        initial = (rule.initial_balance if rule is not None and rule.initial_balance is not None
                   else self.track.initial if self.track is not None else account.balance)
        if self.track is None or self.track.initial != initial:
            self.track = prop_limits.start_track(initial)
            if self.cash_seen is not None:
                self._persist(lambda s: s.save_cash(self.account, self.cash_seen, 0.0))
        if rule is not None:
            self.track = prop_limits.follow(rule, self.track, equity=account.equity, day_close=close)

    def note_cash(self, flows: Iterable[CashFlow], ccy: str = "") -> list[Breach]:
        """Deposits and withdrawals (the broker's balance operations) are not trading: each new one
        moves the day's baselines (so the daily loss, the drawdown and the day's profit leave it out),
        and the maximum-loss track counts it apart, so a trailing high does not rise with a deposit
        and the floor does not move for either: a withdrawal brings the equity nearer to it, as at the
        firm. The first look takes what is there as the account's past. Returns the notes to journal."""
        flows = list(flows)
        if self.cash_seen is None or (self.day is None and self.track is None):
            self.cash_seen = max((f.id for f in flows), default=0)
            self._persist(lambda s: s.save_cash(self.account, self.cash_seen, self.track.cash if self.track else 0.0))
            return []
        new = [f for f in flows if f.id > self.cash_seen]
        if not new:
            return []
        notes = []
        for flow in new:
            self.day_start_balance += flow.amount
            self.day_start_equity += flow.amount
            if self.peak_equity > 0:
                self.peak_equity += flow.amount
            if self.track is not None:
                self.track = dataclasses.replace(self.track, cash=self.track.cash + flow.amount)
            what = "deposit" if flow.amount > 0 else "withdrawal"
            ccy_text = f" {ccy}" if ccy else ""
            notes.append(Breach("cash", LimitAction.WARN, (
                f"{what} of {abs(flow.amount):,.2f}{ccy_text}" + (f" ({flow.comment})" if flow.comment else "")
                + ": not trading, so the limits leave it out: the day's baseline moves with it, the "
                  "maximum-loss floor does not")))
        self.cash_seen = max(f.id for f in new)
        track = (self.track.initial, self.track.high, self.track.locked) if self.track is not None else None
        self._persist(lambda s: s.save_figures(self.account, self.day, self.day_start_balance, self.day_start_equity,
                                               self.peak_equity, track=track))
        self._persist(lambda s: s.save_cash(self.account, self.cash_seen, self.track.cash if self.track else 0.0))
        return notes

    def _count_profit(self, day: int, balance: float) -> None:
        profit = self._profit_base + balance - self.day_start_balance
        if self.day_profits.get(day, 0.0 if profit == 0 else None) == profit:
            return  # unchanged, or a day that has made nothing yet: nothing to write
        self.day_profits[day] = profit
        self._best = None
        self._persist(lambda s: s.save_day_profit(self.account, day, profit))

    def _consistency(self, prop: PropRules, day: int, ccy: str) -> list[PropBreach]:
        """The consistency rule's warning, once a day at most."""
        rule = prop.consistency
        best = self._best_day() if rule is not None else None
        if best is None or best.share <= rule.best_day_percent + 1e-9 or self._consistency_warned == day:
            return []
        self._consistency_warned = day
        return [PropBreach(prop_consistency.CONSISTENCY, LimitAction.WARN, prop_consistency.breach_text(rule, best, ccy, prop.reset))]

    def _best_day(self) -> prop_consistency.BestDay | None:
        # Worked out again only when a day's profit changed: a pass reads it every few seconds.
        if self._best is None or self._best[0] is not self.day_profits:
            self._best = (self.day_profits, prop_consistency.best_day(self.day_profits))
        return self._best[1]

    # ------------------------------------------------------------------ news
    def set_news(self, events: tuple[NewsEvent, ...] | list[NewsEvent]) -> None:
        """Hand the gate the events of its profile's news calendar (read by copier_gui.news_calendar)."""
        self.watch.news = tuple(events)

    def flatten_symbols(self, specs: dict[str, SymbolSpec] | None = None) -> frozenset[str]:
        """The slave symbols whose copies must be closed now: under a news rule with ``flatten``, those
        an event moves, from ``before_min`` before it to ``after_min`` after. ``specs`` left out: the
        symbols the gate last screened."""
        prop = self.risk.prop
        return self.watch.flatten_symbols(prop.news if prop else None, self.now(), specs)

    def news_windows(self, now: float | None = None, horizon: float = 86_400.0) -> list[NewsWindow]:
        """The news windows open at ``now`` or opening within ``horizon`` seconds, soonest first."""
        prop = self.risk.prop
        return self.watch.news_windows(prop.news if prop else None, self.now() if now is None else now, horizon)

    def _day_figures(self) -> DayFigures:
        return DayFigures(self.day_start_balance, self.day_start_equity)

    def room_left(self) -> RoomLeft | None:
        """How far the slave is from its prop limits now; None without a profile or a reading."""
        prop, reading = self.risk.prop, self.last_reading
        if prop is None or reading is None or self.day is None:
            return None
        now = self.now()
        today = self._trading_day(prop, now)
        room = prop_limits.room_left(prop, self._day_figures(), self.track if prop.max_loss else None, reading.equity,
                                     now=now, next_reset=today.next_reset, deal_days=self.deal_days,
                                     currency=reading.currency)
        if prop.consistency is None:
            return room
        best = self._best_day()
        return dataclasses.replace(room, best_day_share=best.share if best else None,
                                   best_day_limit=prop.consistency.best_day_percent)

    def note_deal(self, at: float) -> None:
        """A deal on the slave at ``at`` (UTC seconds): its day counts as a trading day."""
        if self.risk.prop is None:
            return
        day = self.day_of(at)
        if day not in self.deal_days:
            self.deal_days = self.deal_days | {day}
            self._persist(lambda s: s.add_deal_day(self.account, day))

    def _breach(self, name: str, limit: Limit, text: str) -> Breach:
        return Breach(name, limit.action, f"risk: {text} ({name}, action {limit.action.value})")

    def _settle(self) -> None:
        # The weekend's flatten is not latched: it lifts by itself at the reopen.
        flatten = next((b for k, b in self.breaches.items() if b.action is LimitAction.FLATTEN and k != WEEKEND),
                       None)
        if flatten is not None and not self.flatten_latched:
            self.halt = Halt(TradingState.HALTED.value, flatten.limit, self.now(), flatten.text)
            self._persist(lambda s: s.save_halt(self.account, self.halt))
        elif not self.flatten_latched:
            self._latch_prop_stop()
        if self.flatten_latched or self.weekend_flatten:
            self.state = TradingState.HALTED
        elif self.halt is not None or any(b.action is LimitAction.STOP_ENTRIES and not k.startswith("entry:")
                                          for k, b in self.breaches.items()):
            self.state = TradingState.REDUCING
        else:
            self.state = TradingState.ACTIVE

    def _latch_prop_stop(self) -> None:
        """A prop firm's limit once reached is a breach, whatever the market does next: its stop of
        entries holds for the rest of the firm's day (the daily loss) or until the trader's reset
        (the maximum loss, which outranks a daily stop), through restarts."""
        for limit in _LATCHED_STOPS:
            breach = self.breaches.get(limit)
            if breach is None or breach.action is not LimitAction.STOP_ENTRIES:
                continue
            if self.halt is None or (self.halt.limit == prop_limits.DAILY_LOSS and limit == prop_limits.MAX_LOSS):
                self.halt = Halt(TradingState.REDUCING.value, limit, self.now(), breach.text)
                self._persist(lambda s: s.save_halt(self.account, self.halt))
            return

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
        # The prop track and trading days stay (the firm's floor does not move for a reset here),
        # unless the maximum loss halted the slave: that ends a challenge, and a reset starts the next.
        if ends_track(self.halt):
            self.track = None
        self.halt = None
        self.breaches = {}
        self.day, self.day_start_balance, self.day_start_equity, self.peak_equity = None, 0.0, 0.0, 0.0
        self._settle()

    def _record(self) -> RiskRecord:
        track = self.track
        return RiskRecord(self.account, self.day, self.day_start_balance, self.day_start_equity, self.peak_equity,
                          self.halt, self.resets, prop_initial=track.initial if track else None,
                          prop_high=track.high if track else 0.0, prop_locked=track.locked if track else False,
                          deal_days=self.deal_days, day_profits=tuple(sorted(self.day_profits.items())))

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
        self.watch.look(positions, specs)
        entries = [_entry_of(step) for step in steps]
        if not any(entries):
            return list(steps), refused, warnings  # exits and stop changes only: nothing to weigh
        news = self.risk.prop.news if self.risk.prop is not None else None
        now = self.now() if news is not None else 0.0
        r = self.risk
        count = len(positions)
        # What the slave holds is weighed only for a limit that weighs it (it is read on every pass).
        weighed = r.max_lots_per_symbol is not None or r.max_lots_total is not None or r.max_exposure is not None
        limited = weighed or r.max_open_positions is not None
        # The lot limits count lots on every platform; a slave counting units is converted.
        lots_total = 0.0
        lots_by_symbol: dict[str, float] = {}
        exposure = 0.0
        for p in positions if weighed else ():
            lots = _lots(p.symbol, p.volume, specs)
            lots_total += lots
            lots_by_symbol[p.symbol] = lots_by_symbol.get(p.symbol, 0.0) + lots
            exposure += _exposure(p.symbol, p.volume, p.price_open, specs)
        for step, entry in zip(steps, entries, strict=True):
            if entry is None:
                allowed.append(step)
                continue
            symbol, volume, price, new_position = entry
            if not self.entries_allowed:
                why = self.reason or "risk: entries stopped"
                refused.append((step, f"skipped: {why}; exits only ({self.state.value})", self.state.value))
                continue
            blackout = self.watch.news_entry(news, now, symbol, specs) if news is not None else None
            if blackout is not None and blackout.action is LimitAction.WARN:
                warnings.append(_worded(blackout))
            elif blackout is not None:
                refused.append((step, f"skipped: {_worded(blackout).text}", blackout.name))
                continue
            if not limited:
                allowed.append(step)
                continue
            lots = _lots(symbol, volume, specs)
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
    if before.prop_initial is not None and ends_track(before.halt):
        parts.append("the max-loss floor starts again from the next reading")
    elif before.prop_initial is not None:
        parts.append(f"max-loss floor kept (initial balance {before.prop_initial:,.2f}{unit}, high "
                     f"{before.prop_high:,.2f}{unit})")
    return "; ".join(parts)


def _worded(b: PropBreach) -> Breach:
    """A prop rule's finding in the journal's words."""
    return Breach(b.name, b.action, f"risk: {b.text} ({b.name}, action {b.action.value})")


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
