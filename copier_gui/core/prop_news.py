"""A prop-firm profile's news blackouts: the calendar's events as data, the window around each, and
which instruments an event moves. Pure: the calendar file is read outside the core
(copier_gui.news_calendar) and handed to the risk gate as events.
"""

from __future__ import annotations

import bisect
import datetime as _dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from copier_gui.core.model import SymbolSpec
from copier_gui.core.prop_rules import NewsBlackout, NewsImpact

__all__ = ["NEWS", "Calendar", "NewsEvent", "NewsWindow", "describe", "moves", "symbols_moved", "utc"]

# The limit's name in breaches and the journal.
NEWS = "prop.news"


@dataclass(frozen=True, slots=True)
class NewsEvent:
    """One calendar event: its instant (UTC seconds), title, the currencies it moves (upper-case
    ISO codes) and its impact."""

    at: float
    title: str
    currencies: frozenset[str]
    impact: NewsImpact


@dataclass(frozen=True, slots=True)
class NewsWindow:
    """An event's blackout: from ``start`` to ``end`` (UTC seconds, end excluded)."""

    event: NewsEvent
    start: float
    end: float

    def holds(self, now: float) -> bool:
        return self.start <= now < self.end


def moves(event: NewsEvent, spec: SymbolSpec) -> bool:
    """An event moves an instrument whose base or profit currency is one of the event's."""
    return spec.currency_base.upper() in event.currencies or spec.currency_profit.upper() in event.currencies


def utc(at: float) -> str:
    return _dt.datetime.fromtimestamp(at, _dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def describe(window: NewsWindow) -> str:
    """The event, its time and its window, in the journal's words."""
    event = window.event
    clock = "%H:%M"
    start = _dt.datetime.fromtimestamp(window.start, _dt.UTC).strftime(clock)
    end = _dt.datetime.fromtimestamp(window.end, _dt.UTC).strftime(clock)
    return (f"news blackout: {event.title} ({', '.join(sorted(event.currencies))}, {event.impact.value} impact) "
            f"at {utc(event.at)}, window {start}-{end} UTC")


class Calendar:
    """The events a blackout rule counts (its impacts), sorted by time, with the windows around them.

    Built once per calendar and rule; each query bisects, so a pass pays a few microseconds."""

    def __init__(self, events: Iterable[NewsEvent], rule: NewsBlackout) -> None:
        wanted = set(rule.impacts)
        self.rule = rule
        self._events = sorted((e for e in events if e.impact in wanted), key=lambda e: (e.at, e.title))
        self._times = [e.at for e in self._events]
        self._before, self._after = rule.before_min * 60.0, rule.after_min * 60.0

    def __len__(self) -> int:
        return len(self._events)

    def _window(self, event: NewsEvent) -> NewsWindow:
        return NewsWindow(event, event.at - self._before, event.at + self._after)

    def open_at(self, now: float) -> list[NewsWindow]:
        """The windows that hold instant ``now``."""
        lo = bisect.bisect_right(self._times, now - self._after)  # an event at now - after has closed
        hi = bisect.bisect_right(self._times, now + self._before)
        return [w for w in map(self._window, self._events[lo:hi]) if w.holds(now)]

    def upcoming(self, now: float, horizon: float) -> list[NewsWindow]:
        """The windows open now or opening within ``horizon`` seconds, soonest first."""
        lo = bisect.bisect_right(self._times, now - self._after)
        hi = bisect.bisect_right(self._times, now + horizon + self._before)
        return [w for w in map(self._window, self._events[lo:hi]) if w.end > now and w.start <= now + horizon]


def symbols_moved(windows: Iterable[NewsWindow], specs: Mapping[str, SymbolSpec]) -> dict[str, NewsWindow]:
    """Each symbol of ``specs`` that an open window's event moves, with the first such window."""
    found: dict[str, NewsWindow] = {}
    for window in windows:
        for name, spec in specs.items():
            if name not in found and moves(window.event, spec):
                found[name] = window
    return found
