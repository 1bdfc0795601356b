"""The weekend window: from the weekly close to the first reopen after it, each in its own zone,
right across daylight saving changes; and a property test against a minute-by-minute oracle."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from copier_gui.core.prop_rules import WeeklyTime
from copier_gui.core.prop_week import weekend_window

NY = ZoneInfo("America/New_York")


def wt(text: str) -> WeeklyTime:
    return WeeklyTime.model_validate(text)


def ny(*args) -> float:
    return dt.datetime(*args, tzinfo=NY).timestamp()


CLOSE, REOPEN = wt("Fri 16:45 America/New_York"), wt("Sun 17:05 America/New_York")


def test_the_weekend_runs_from_the_close_to_the_reopen():
    # Friday 27 November 2026, New York (winter time).
    assert weekend_window(ny(2026, 11, 27, 16, 44), CLOSE, REOPEN) is None
    assert weekend_window(ny(2026, 11, 27, 16, 45), CLOSE, REOPEN) == (ny(2026, 11, 27, 16, 45),
                                                                     ny(2026, 11, 29, 17, 5))
    assert weekend_window(ny(2026, 11, 29, 17, 4), CLOSE, REOPEN) is not None
    assert weekend_window(ny(2026, 11, 29, 17, 5), CLOSE, REOPEN) is None
    assert weekend_window(ny(2026, 12, 2, 12, 0), CLOSE, REOPEN) is None


def test_a_weekend_across_a_daylight_saving_change_keeps_its_local_times():
    # US clocks go back on Sunday 1 November 2026: the weekend is an hour longer in UTC.
    start, end = weekend_window(ny(2026, 10, 31, 12, 0), CLOSE, REOPEN)
    assert (start, end) == (ny(2026, 10, 30, 16, 45), ny(2026, 11, 1, 17, 5))
    assert dt.datetime.fromtimestamp(start, dt.UTC).hour == 20 and dt.datetime.fromtimestamp(end, dt.UTC).hour == 22


def test_close_and_reopen_may_be_in_different_zones():
    window = weekend_window(ny(2026, 11, 28, 12, 0), wt("Fri 22:00 Europe/Prague"), wt("Mon 00:00 Asia/Tokyo"))
    assert window == (dt.datetime(2026, 11, 27, 21, tzinfo=dt.UTC).timestamp(),
                      dt.datetime(2026, 11, 29, 15, tzinfo=dt.UTC).timestamp())


ZONES = ("UTC", "America/New_York", "Europe/Prague", "Australia/Sydney", "Asia/Kolkata", "America/Santiago")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _crossings(t0: float, t1: float, when: WeeklyTime) -> list[float]:
    """Every whole minute in [t0, t1] at which the local clock in ``when``'s zone reaches its time on
    its weekday, found by watching the clock minute by minute; a date's first crossing only (the
    repeated autumn hour passes the same time twice)."""
    zone, found, dates = ZoneInfo(when.zone), [], set()
    hh, mm = map(int, when.time.split(":"))
    t = t0
    while t <= t1:
        here = dt.datetime.fromtimestamp(t, zone).replace(tzinfo=None)
        before = dt.datetime.fromtimestamp(t - 60, zone).replace(tzinfo=None)
        target = dt.datetime.combine(here.date(), dt.time(hh, mm))
        if here.strftime("%a") == when.day.capitalize() and before < target <= here and here.date() not in dates:
            dates.add(here.date())
            found.append(t)
        t += 60
    return found


@settings(max_examples=40, deadline=None)
@given(close_day=st.sampled_from(DAYS), close_min=st.integers(0, 1439), close_zone=st.sampled_from(ZONES),
       reopen_day=st.sampled_from(DAYS), reopen_min=st.integers(0, 1439), reopen_zone=st.sampled_from(ZONES),
       now_min=st.integers(0, 3 * 366 * 1440))
def test_the_window_is_what_watching_the_clocks_says(close_day, close_min, close_zone, reopen_day, reopen_min,
                                                      reopen_zone, now_min):
    close = wt(f"{close_day} {close_min // 60:02d}:{close_min % 60:02d} {close_zone}")
    reopen = wt(f"{reopen_day} {reopen_min // 60:02d}:{reopen_min % 60:02d} {reopen_zone}")
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp() + now_min * 60.0
    start = max(_crossings(now - 8 * 86400, now, close))
    end = min(_crossings(start + 60, start + 8 * 86400, reopen))
    assert weekend_window(now, close, reopen) == ((start, end) if now < end else None)
