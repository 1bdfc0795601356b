"""The risk gate's memory for a prop profile's calendar rules: the news events it was handed, the
positions and symbols of its last look at the slave, and which news windows and weekends it has
already journaled, so that each is said once. It answers in PropBreach (name, action, text); the
gate words them as its own breaches.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from copier_gui.core.model import Position, SymbolSpec
from copier_gui.core.prop_limits import PropBreach
from copier_gui.core.prop_news import (
    NEWS,
    Calendar,
    NewsEvent,
    NewsWindow,
    describe,
    moves,
    symbols_moved,
)
from copier_gui.core.prop_rules import NewsBlackout, WeekendRule
from copier_gui.core.prop_week import WEEKEND, next_after, weekend_window
from copier_gui.core.rule_types import LimitAction

__all__ = ["FLATTEN_LEAD_S", "PropWatch"]

_FILLS_COUNT = "the firm counts a stop loss or take profit filled inside it as trading in it"
# A news flatten starts this long before the window opens: firms count a close inside the window as
# trading in it, and the pass that closes may come a reconcile interval after the instant it is due.
FLATTEN_LEAD_S = 60.0


def _utc(at: float) -> str:
    return _dt.datetime.fromtimestamp(at, _dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass
class PropWatch:
    news: tuple[NewsEvent, ...] = ()
    # The slave's positions and symbols as the gate last screened them (one pass old at most).
    held: tuple[Position, ...] = ()
    specs: Mapping[str, SymbolSpec] = field(default_factory=dict)
    # Positions held at one look and gone at the next (a stop, a take profit, a close), until the
    # next news check says whether a window saw them go.
    gone: list[Position] = field(default_factory=list)
    _calendar: tuple[tuple[NewsEvent, ...], NewsBlackout, Calendar] | None = field(default=None, repr=False)
    _noted: set[tuple[float, str]] = field(default_factory=set, repr=False)  # news windows journaled
    _weekend: tuple[float, float] | None = None  # the weekend the slave is in
    _weekend_warned: float | None = None  # the close of the weekend a held position was journaled in
    # The last answer and the span it holds for (the weekend itself, or up to the next close): a
    # pass asks every few seconds, and the answer changes twice a week.
    _week_cache: tuple[WeekendRule, float, float, tuple[float, float] | None] | None = field(default=None, repr=False)

    def calendar(self, rule: NewsBlackout | None) -> Calendar | None:
        if rule is None:
            return None
        cached = self._calendar
        if cached is None or cached[0] is not self.news or cached[1] != rule:
            cached = self._calendar = (self.news, rule, Calendar(self.news, rule))
        return cached[2]

    def open_windows(self, rule: NewsBlackout | None, now: float) -> list[NewsWindow]:
        calendar = self.calendar(rule)
        return calendar.open_at(now) if calendar is not None and len(calendar) else []

    # ------------------------------------------------------------------ news
    def news_notes(self, rule: NewsBlackout | None, now: float) -> list[PropBreach]:
        """Once per window: the positions held into it (warn, stop_entries), or the ones to close
        before it (flatten, from FLATTEN_LEAD_S ahead); and each position that closed inside one."""
        gone, self.gone = self.gone, []
        calendar = self.calendar(rule)
        if calendar is None or not len(calendar):
            return []
        windows = self.open_windows(rule, now)
        notes = [self._closed_inside(p, w) for p in gone for w in windows[:1]
                 if p.symbol in self.specs and any(moves(w.event, self.specs[p.symbol]) for w in windows)]
        flatten = rule.action is LimitAction.FLATTEN
        if flatten:
            windows = calendar.upcoming(now, FLATTEN_LEAD_S)
        self._noted &= {(w.event.at, w.event.title) for w in windows}  # the set stays as small as the open ones
        for window in windows:
            key = (window.event.at, window.event.title)
            hit = [p for p in self.held if key not in self._noted and p.symbol in self.specs
                   and moves(window.event, self.specs[p.symbol])]
            if not hit:
                continue
            self._noted.add(key)
            names = ", ".join(f"{p.symbol} #{p.ticket}" for p in hit)
            if flatten:
                ahead = " before the window opens" if window.start > now else ""
                notes.append(PropBreach(NEWS, LimitAction.FLATTEN, f"{describe(window)}: closing {names}{ahead}"))
            else:
                notes.append(PropBreach(NEWS, LimitAction.WARN, (
                    f"{describe(window)}: held into the window: {names}; {_FILLS_COUNT} (rule action "
                    f"{rule.action.value})")))
        return notes

    def _closed_inside(self, position: Position, window: NewsWindow) -> PropBreach:
        return PropBreach(NEWS, LimitAction.WARN, (
            f"{describe(window)}: {position.symbol} #{position.ticket} closed inside the window (its stop "
            "loss, take profit or a close); the firm counts it as trading in the window"))

    def news_entry(self, rule: NewsBlackout | None, now: float, symbol: str,
                   specs: Mapping[str, SymbolSpec]) -> PropBreach | None:
        """The window an entry on ``symbol`` would open inside, as the rule's breach; None if none."""
        spec = specs.get(symbol)
        if spec is None or rule is None:
            return None
        window = next((w for w in self.open_windows(rule, now) if moves(w.event, spec)), None)
        if window is None:
            return None
        what = "entry allowed (warn)" if rule.action is LimitAction.WARN else "entries stopped"
        return PropBreach(NEWS, rule.action, f"{describe(window)}: {what} on {symbol}")

    def flatten_symbols(self, rule: NewsBlackout | None, now: float,
                        specs: Mapping[str, SymbolSpec] | None = None) -> frozenset[str]:
        if rule is None or rule.action is not LimitAction.FLATTEN:
            return frozenset()
        calendar = self.calendar(rule)
        if calendar is None or not len(calendar):
            return frozenset()
        return frozenset(symbols_moved(calendar.upcoming(now, FLATTEN_LEAD_S), self.specs if specs is None else specs))

    def news_windows(self, rule: NewsBlackout | None, now: float, horizon: float) -> list[NewsWindow]:
        calendar = self.calendar(rule)
        return calendar.upcoming(now, horizon) if calendar is not None else []

    # ------------------------------------------------------------------ weekend
    def weekend(self, rule: WeekendRule | None, now: float) -> tuple[PropBreach | None, list[PropBreach]]:
        """(the breach that holds while the weekend lasts, for stop_entries and flatten; the notes to
        journal now: a warn's held positions once per weekend, and the reopen)."""
        window = self._weekend_at(rule, now) if rule is not None else None
        notes = []
        if window is None and self._weekend is not None and (rule is None or rule.action is not LimitAction.WARN):
            # The stop lifts by itself: say so, so the journal tells why entries go again.
            notes.append(PropBreach(WEEKEND, LimitAction.WARN, (
                f"weekend over at the reopen {rule.reopen} ({_utc(self._weekend[1])}): entries allowed again"
                if rule is not None else "weekend rule removed: entries allowed again")))
        self._weekend = window
        if window is None:
            return None, notes
        span = f"weekend from {rule.close} to {rule.reopen} (until {_utc(window[1])})"
        if rule.action is LimitAction.WARN:
            if self.held and self._weekend_warned != window[0]:
                self._weekend_warned = window[0]
                notes.append(PropBreach(WEEKEND, LimitAction.WARN,
                                        f"{len(self.held)} position(s) held into the {span}"))
            return None, notes
        what = "every copy closed, no entries" if rule.action is LimitAction.FLATTEN else "no new entries"
        return PropBreach(WEEKEND, rule.action, f"{span}: {what}; lifts by itself at the reopen"), notes

    def _weekend_at(self, rule: WeekendRule, now: float) -> tuple[float, float] | None:
        cached = self._week_cache
        if cached is not None and cached[0] == rule and cached[1] <= now < cached[2]:
            return cached[3]
        window = weekend_window(now, rule.close, rule.reopen)
        # Outside the weekend the answer holds until the next close (the window opens at it).
        lo, hi = window if window is not None else (now, next_after(now, rule.close))
        self._week_cache = (rule, lo, hi, window)
        return window

    def look(self, positions: Iterable[Position], specs: Mapping[str, SymbolSpec]) -> None:
        positions = tuple(positions)
        if self.news and self.held:
            still = {p.ticket for p in positions}
            self.gone += [p for p in self.held if p.ticket not in still]
        self.held, self.specs = positions, specs
