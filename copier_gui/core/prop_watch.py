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

__all__ = ["PropWatch"]

_FILLS_COUNT = "the firm counts a stop loss or take profit filled inside it as trading in it"


def _utc(at: float) -> str:
    return _dt.datetime.fromtimestamp(at, _dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass
class PropWatch:
    news: tuple[NewsEvent, ...] = ()
    # The slave's positions and symbols as the gate last screened them (one pass old at most).
    held: tuple[Position, ...] = ()
    specs: Mapping[str, SymbolSpec] = field(default_factory=dict)
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
        before it (flatten)."""
        windows = self.open_windows(rule, now)
        open_keys = {(w.event.at, w.event.title) for w in windows}
        self._noted &= open_keys  # forget closed windows: the set stays as small as the open ones
        notes = []
        for window in windows:
            key = (window.event.at, window.event.title)
            hit = [p for p in self.held if key not in self._noted and p.symbol in self.specs
                   and moves(window.event, self.specs[p.symbol])]
            if not hit:
                continue
            self._noted.add(key)
            names = ", ".join(f"{p.symbol} #{p.ticket}" for p in hit)
            if rule.action is LimitAction.FLATTEN:
                notes.append(PropBreach(NEWS, LimitAction.FLATTEN, f"{describe(window)}: closing {names}"))
            else:
                notes.append(PropBreach(NEWS, LimitAction.WARN, (
                    f"{describe(window)}: held into the window: {names}; {_FILLS_COUNT} (rule action "
                    f"{rule.action.value})")))
        return notes

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
        return frozenset(symbols_moved(self.open_windows(rule, now), self.specs if specs is None else specs))

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
        self.held, self.specs = tuple(positions), specs
