"""Reading a news calendar file for a prop-firm profile's blackouts (``risk.prop.news.calendar``):
an ICS file or a CSV export, no network. The events go to the risk gates as core.prop_news data.

CSV: a header row, then one event a row. Columns (names in any case, any order; others ignored):
  title (or event)         the event's name
  currency (or country)    the currencies it moves: ISO codes (USD), several split by space, comma or /
  date                     YYYY-MM-DD, or MM-DD-YYYY (Forex Factory's export)
  time                     24-hour HH:MM[:SS], or 12-hour 1:30pm; "All Day", "Tentative" or empty:
                           the row has no instant and is skipped
  impact                   low, medium or high (a trailing " impact" and "med" are accepted);
                           holiday, non-economic or none: the row is skipped
  timezone (optional)      the IANA zone the date and time are in; UTC when the column is absent or empty

ICS: every VEVENT with a DTSTART that has a time (a date-only DTSTART is an all-day event: skipped).
A time with a zone or in UTC is taken as it is; a floating time is read as UTC. SUMMARY is the title.
Currencies: the CATEGORIES that are three-letter codes, else the SUMMARY's leading code ("USD
Non-Farm Payrolls" or "[USD] Non-Farm Payrolls"). Impact: a CATEGORY that reads high, medium or low
(also "High Impact Expected"), else PRIORITY (RFC 5545: 1-4 high, 5 medium, 6-9 low). Recurrence
rules are not expanded: a release is one event.

Every error names the file, the line or the event, and what is wrong.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from copier_gui.core.prop_news import NewsEvent
from copier_gui.core.prop_rules import NewsImpact, PropRules

__all__ = ["CalendarError", "load_calendar", "news_for", "read_csv", "read_ics"]

_CODE = re.compile(r"[A-Z]{3}")
_LEADING_CODE = re.compile(r"\s*\[?([A-Z]{3})\]?[\s:\-]")
_SKIPPED_TIMES = {"", "all day", "tentative", "day 1", "day 2"}
_SKIPPED_IMPACTS = {"holiday", "non-economic", "none"}
_IMPACT_WORDS = {"low": NewsImpact.LOW, "medium": NewsImpact.MEDIUM, "med": NewsImpact.MEDIUM,
                 "high": NewsImpact.HIGH}


class CalendarError(Exception):
    """A calendar file that cannot be read; the message names the file, the place and the fault."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def load_calendar(path: str | Path, base: Path) -> tuple[NewsEvent, ...]:
    """The events of the calendar at ``path`` (relative to ``base``, the settings folder), by its
    suffix: .ics as iCalendar, anything else as CSV."""
    file = Path(path).expanduser()
    if not file.is_absolute():
        file = base / file
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise CalendarError(f"news calendar {file}: no such file (risk.prop.news.calendar; a relative path "
                            f"is read from the settings folder {base})") from None
    except OSError as exc:
        raise CalendarError(f"news calendar {file}: cannot be read: {exc.strerror or exc}") from None
    if file.suffix.lower() in (".ics", ".ical", ".ifb"):
        return read_ics(data, str(file))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CalendarError(f"news calendar {file}: not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV "
                            f"or give an .ics file") from None
    return read_csv(text, str(file))


# ------------------------------------------------------------------------------------------ CSV


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    return next((lowered.index(n) for n in names if n in lowered), None)


def _currencies(value: str) -> frozenset[str] | None:
    codes = [c for c in re.split(r"[\s,/;]+", value.strip().upper()) if c]
    return frozenset(codes) if codes and all(_CODE.fullmatch(c) for c in codes) else None


def _impact(value: str) -> NewsImpact | None:
    """The impact, or None for a row to skip; ValueError naming the fault."""
    word = value.strip().lower().removesuffix("impact expected").removesuffix("impact").strip()
    if word in _IMPACT_WORDS:
        return _IMPACT_WORDS[word]
    if word in _SKIPPED_IMPACTS:
        return None
    raise ValueError(f"impact {value!r} is not low, medium or high")


def _date(value: str) -> dt.date:
    value = value.strip()
    for shape in ("%Y-%m-%d", "%m-%d-%Y", "%Y/%m/%d", "%m/%d/%Y"):
        try:
            return dt.datetime.strptime(value, shape).date()
        except ValueError:
            continue
    raise ValueError(f"date {value!r} is not YYYY-MM-DD or MM-DD-YYYY")


def _time(value: str) -> dt.time:
    text = value.strip().lower().replace(" ", "")
    for shape in ("%H:%M", "%H:%M:%S", "%I:%M%p", "%I%p"):
        try:
            return dt.datetime.strptime(text, shape).time()
        except ValueError:
            continue
    raise ValueError(f"time {value!r} is not HH:MM (24-hour) or h:mmam/pm")


def read_csv(text: str, name: str) -> tuple[NewsEvent, ...]:
    rows = csv.reader(text.splitlines())
    header = next(rows, None)
    if header is None:
        raise CalendarError(f"news calendar {name}: the file is empty; the first line names the columns "
                            f"(title, currency, date, time, impact[, timezone])")
    columns = {key: _column(header, names) for key, names in (
        ("title", ("title", "event", "name")), ("currency", ("currency", "country", "currencies")),
        ("date", ("date",)), ("time", ("time",)), ("impact", ("impact",)), ("timezone", ("timezone", "zone")))}
    missing = [k for k in ("title", "currency", "date", "time", "impact") if columns[k] is None]
    if missing:
        raise CalendarError(f"news calendar {name} line 1: no {' or '.join(missing)} column (found: "
                            f"{', '.join(h.strip() for h in header) or 'nothing'}); expected title, currency, date, "
                            f"time, impact and optionally timezone")
    events = []
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(key: str, row: list[str] = row) -> str:
            index = columns[key]
            return row[index] if index is not None and index < len(row) else ""

        where = f"news calendar {name} line {line}"
        if len(row) < len(header):
            # A short row (often an unclosed quote that swallowed the line) would lose its event unseen.
            raise CalendarError(f"{where}: {len(row)} field(s) where the header has {len(header)}; check for an "
                                f"unclosed quote or a missing comma")
        title = cell("title").strip()
        if cell("time").strip().lower() in _SKIPPED_TIMES:
            continue
        try:
            impact = _impact(cell("impact"))
        except ValueError as exc:
            raise CalendarError(f"{where} ({title or 'no title'}): {exc}") from None
        if impact is None:
            continue
        currencies = _currencies(cell("currency"))
        if currencies is None:
            raise CalendarError(f"{where} ({title or 'no title'}): currency {cell('currency')!r} is not a "
                                f"three-letter code such as USD or EUR")
        zone_name = cell("timezone").strip() or "UTC"
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise CalendarError(f"{where} ({title}): unknown time zone {zone_name!r}; give an IANA name such as "
                                f"America/New_York or UTC") from None
        try:
            wall = dt.datetime.combine(_date(cell("date")), _time(cell("time")))
        except ValueError as exc:
            raise CalendarError(f"{where} ({title}): {exc}") from None
        events.append(NewsEvent(wall.replace(tzinfo=zone).timestamp(), title or "untitled event", currencies, impact))
    return tuple(events)


# ------------------------------------------------------------------------------------------ ICS


def read_ics(data: bytes, name: str) -> tuple[NewsEvent, ...]:
    import icalendar  # only a calendar import needs it

    try:
        calendar = icalendar.Calendar.from_ical(data)
    except ValueError as exc:
        raise CalendarError(f"news calendar {name}: not an iCalendar file: {exc}") from None
    events = []
    for n, component in enumerate(calendar.walk("VEVENT"), start=1):
        title = str(component.get("SUMMARY", "")).strip()
        where = f"news calendar {name} event {n} ({title or 'no SUMMARY'})"
        start = component.get("DTSTART")
        if start is None:
            raise CalendarError(f"{where}: no DTSTART")
        try:
            when = start.dt
        except ValueError as exc:  # icalendar's broken property is a ValueError
            raise CalendarError(f"{where}: DTSTART {_raw(start)!r} is not a date and time ({exc})") from None
        if not isinstance(when, dt.datetime):
            continue  # an all-day event has no instant
        if when.tzinfo is None and "TZID" in start.params:
            # A zone neither known to the IANA database nor given by a VTIMEZONE: guessing UTC could
            # put the window hours away from the event.
            raise CalendarError(f"{where}: DTSTART's time zone {start.params['TZID']!r} is unknown; use an IANA "
                                f"name such as America/New_York, or include its VTIMEZONE")
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)  # a floating time: read as UTC (documented)
        categories = _categories(component)
        currencies = frozenset(c.upper() for c in categories if _CODE.fullmatch(c.upper()) and c.lower() not in
                               _IMPACT_WORDS)
        if not currencies:
            match = _LEADING_CODE.match(title)
            if match is None:
                raise CalendarError(f"{where}: no currency: give it as a CATEGORIES code (USD) or begin the "
                                    f"SUMMARY with it (\"USD Non-Farm Payrolls\")")
            currencies = frozenset({match.group(1)})
        try:
            impact = _ics_impact(component, categories)
        except ValueError as exc:
            raise CalendarError(f"{where}: {exc}") from None
        if impact is None:
            continue
        events.append(NewsEvent(when.timestamp(), title or "untitled event", currencies, impact))
    return tuple(events)


def _raw(prop) -> str:
    """A property's text as the file has it."""
    try:
        return prop.to_ical().decode("utf-8", "replace")
    except (AttributeError, ValueError):
        return str(prop)


def _categories(component) -> list[str]:
    found = []
    values = component.get("CATEGORIES")
    for value in values if isinstance(values, list) else [values] if values is not None else []:
        found.extend(str(c).strip() for c in getattr(value, "cats", [value]))
    return [c for c in found if c]


def _ics_impact(component, categories: list[str]) -> NewsImpact | None:
    """The impact, None to skip (a holiday category), or ValueError naming the fault."""
    for category in categories:
        try:
            return _impact(category)
        except ValueError:
            continue  # a currency or another category
    priority = component.get("PRIORITY")
    if priority is None:
        raise ValueError("no impact: give PRIORITY (1-4 high, 5 medium, 6-9 low) or a category high, medium or low")
    try:
        level = int(priority)
    except (TypeError, ValueError):
        raise ValueError(f"PRIORITY {_raw(priority)!r} is not a number 1-9") from None
    if not 1 <= level <= 9:
        raise ValueError(f"PRIORITY {level} is not 1-9 (0 means none: give 1-4 high, 5 medium or 6-9 low)")
    return NewsImpact.HIGH if level <= 4 else NewsImpact.MEDIUM if level == 5 else NewsImpact.LOW


def news_for(prop: PropRules | None, base: Path) -> tuple[tuple[NewsEvent, ...], str]:
    """The events a prop profile's news rule reads, for ``RiskGate.open(..., news=)`` or
    ``gate.set_news``, and the error to journal ("" when read). No rule: no events, no error. A file
    that cannot be read gives no events (no blackout is enforced until it is fixed): the runtime
    journals the error and tells the trader."""
    if prop is None or prop.news is None:
        return (), ""
    try:
        return load_calendar(prop.news.calendar, base), ""
    except CalendarError as exc:
        return (), f"{exc.message}; no news blackout is enforced until the calendar can be read"
