"""A report's period from the command line: whole UTC days, or exact times.

``--from 2026-11-01 --to 2026-11-30`` is November, both days included: from the start of the first
day to the end of the last. An ISO time (``2026-11-25T14:30``, UTC unless it carries an offset) is
taken as it is, and ``--to`` then ends the period at that moment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from copier_gui.reports.fmt import utc

DAY_FORMAT = "YYYY-MM-DD"
TIME_FORMAT = "YYYY-MM-DDTHH:MM[:SS][+HH:MM]"


class PeriodError(ValueError):
    """A date the user gave that cannot be a report's period; the message names the option."""


@dataclass(frozen=True)
class Period:
    start: float  # UTC seconds; the master's trades opened in [start, end) count
    end: float
    text: str  # as a report's header says it


@dataclass(frozen=True)
class _Bound:
    at: dt.datetime
    whole_day: bool


def _parse(option: str, text: str) -> _Bound:
    example = "such as 2026-11-25 or 2026-11-25T14:30 (UTC unless it has an offset, such as +02:00)"
    if len(text) == 10:
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise PeriodError(f"{option} takes a day as {DAY_FORMAT} or a time as {TIME_FORMAT}, "
                              f"{example}, not {text!r}") from None
        return _Bound(dt.datetime.combine(day, dt.time(0), dt.UTC), True)
    try:
        # A bare date without dashes (20261125) parses too; the documented forms have a T.
        if "T" not in text.upper() and " " not in text:
            raise ValueError(text)
        at = dt.datetime.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"{option} takes a day as {DAY_FORMAT} or a time as {TIME_FORMAT}, "
                          f"{example}, not {text!r}") from None
    return _Bound(at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC), False)


def parse_period(from_text: str, to_text: str) -> Period:
    """The period from ``--from`` and ``--to``; PeriodError saying what is wrong with them."""
    first, last = _parse("--from", from_text), _parse("--to", to_text)
    start = first.at
    end = last.at + dt.timedelta(days=1) if last.whole_day else last.at
    if end <= start:
        raise PeriodError(f"--to {to_text} is before --from {from_text}: the period would be empty"
                          if last.at < first.at else
                          f"--to {to_text} is --from {from_text}: the period would be empty "
                          "(give a later --to, or the same day as YYYY-MM-DD for the whole day)")
    if first.whole_day and last.whole_day:
        days = from_text if from_text == to_text else f"{from_text} to {to_text}"
        text = f"{days} (UTC, whole days)"
    else:
        text = f"{utc(start.timestamp(), '%Y-%m-%d %H:%M:%S')} to {utc(end.timestamp(), '%Y-%m-%d %H:%M:%S')} UTC"
    return Period(start.timestamp(), end.timestamp(), text)
