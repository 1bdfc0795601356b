"""--from and --to: whole UTC days with both included, or exact times; clear errors otherwise."""

from __future__ import annotations

import datetime as dt

import pytest

from copier_gui.reports.period import PeriodError, parse_period


def _ts(*args) -> float:
    return dt.datetime(*args, tzinfo=dt.UTC).timestamp()


def test_days_include_both_ends():
    p = parse_period("2026-11-01", "2026-11-30")
    assert (p.start, p.end) == (_ts(2026, 11, 1), _ts(2026, 12, 1))
    assert p.text == "2026-11-01 to 2026-11-30 (UTC, whole days)"
    one = parse_period("2026-11-25", "2026-11-25")
    assert (one.start, one.end) == (_ts(2026, 11, 25), _ts(2026, 11, 26))
    assert one.text == "2026-11-25 (UTC, whole days)"


def test_times_are_utc_unless_they_say_otherwise():
    p = parse_period("2026-11-25T08:30", "2026-11-25T17:00+02:00")
    assert (p.start, p.end) == (_ts(2026, 11, 25, 8, 30), _ts(2026, 11, 25, 15, 0))
    assert p.text == "2026-11-25 08:30:00 to 2026-11-25 15:00:00 UTC"
    mixed = parse_period("2026-11-25", "2026-11-25T12:00Z")
    assert (mixed.start, mixed.end) == (_ts(2026, 11, 25), _ts(2026, 11, 25, 12))


@pytest.mark.parametrize(("start", "end", "says"), [
    ("2026-13-01", "2026-12-01", "--from takes a day as YYYY-MM-DD"),
    ("yesterday", "2026-12-01", "not 'yesterday'"),
    ("2026-11-01", "20261130", "--to takes a day as YYYY-MM-DD"),
    ("2026-11-05", "2026-11-01", "--to 2026-11-01 is before --from 2026-11-05"),
    ("2026-11-05T10:00", "2026-11-05T10:00", "the period would be empty"),
])
def test_bad_dates_are_named(start, end, says):
    with pytest.raises(PeriodError, match=says.replace("(", r"\(")):
        parse_period(start, end)
