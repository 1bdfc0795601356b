"""A prop-firm profile's trading day: where it starts and ends in UTC, across zones and DST changes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from copier_gui.core.prop_day import reset_instant, trading_day

NEW_YORK = ZoneInfo("America/New_York")
PRAGUE = ZoneInfo("Europe/Prague")
GMT_PLUS_2 = ZoneInfo("Etc/GMT-2")  # POSIX signs: Etc/GMT-2 is two hours ahead of UTC
FIVE_PM = dt.time(17, 0)
MIDNIGHT = dt.time(0, 0)


def utc(*args: int) -> float:
    return dt.datetime(*args, tzinfo=dt.UTC).timestamp()


def date_id(year: int, month: int, day: int) -> int:
    return (dt.date(year, month, day) - dt.date(1970, 1, 1)).days


def test_five_pm_new_york_is_21_or_22_utc_by_the_date():
    summer = trading_day(utc(2026, 7, 1, 12), FIVE_PM, NEW_YORK)  # EDT, UTC-4
    assert summer.start == utc(2026, 6, 30, 21) and summer.next_reset == utc(2026, 7, 1, 21)
    assert summer.id == date_id(2026, 6, 30)
    winter = trading_day(utc(2026, 1, 15, 12), FIVE_PM, NEW_YORK)  # EST, UTC-5
    assert winter.start == utc(2026, 1, 14, 22) and winter.next_reset == utc(2026, 1, 15, 22)


def test_the_spring_change_makes_a_23_hour_day_in_new_york():
    # Clocks go forward at 02:00 on Sunday 8 March 2026: the day from Saturday's reset is short.
    day = trading_day(utc(2026, 3, 8, 12), FIVE_PM, NEW_YORK)
    assert day.start == utc(2026, 3, 7, 22) and day.next_reset == utc(2026, 3, 8, 21)
    assert day.next_reset - day.start == 23 * 3600
    after = trading_day(day.next_reset, FIVE_PM, NEW_YORK)
    assert after.id == day.id + 1 and after.start == day.next_reset


def test_the_autumn_change_makes_a_25_hour_day_in_prague():
    # Clocks go back at 03:00 CEST on Sunday 25 October 2026: the midnight-to-midnight day is long.
    day = trading_day(utc(2026, 10, 25, 12), MIDNIGHT, PRAGUE)
    assert day.id == date_id(2026, 10, 25)
    assert day.start == utc(2026, 10, 24, 22) and day.next_reset == utc(2026, 10, 25, 23)
    assert day.next_reset - day.start == 25 * 3600


def test_midnight_gmt_plus_2_is_22_utc_all_year():
    for month in (1, 7):
        day = trading_day(utc(2026, month, 10, 23, 30), MIDNIGHT, GMT_PLUS_2)
        assert day.id == date_id(2026, month, 11)
        assert day.start == utc(2026, month, 10, 22) and day.next_reset == utc(2026, month, 11, 22)


def test_a_time_exactly_at_the_reset_belongs_to_the_new_day():
    at = utc(2026, 11, 25, 22)  # 17:00 in New York in November
    day = trading_day(at, FIVE_PM, NEW_YORK)
    assert day.start == at and day.id == date_id(2026, 11, 25)
    before = trading_day(at - 0.001, FIVE_PM, NEW_YORK)
    assert before.id == day.id - 1 and before.next_reset == at


def test_the_same_instant_is_two_different_days_under_two_profiles():
    at = utc(2026, 11, 25, 22, 30)  # 17:30 in New York, 23:30 in Prague
    assert trading_day(at, FIVE_PM, NEW_YORK).id == date_id(2026, 11, 25)
    assert trading_day(at, MIDNIGHT, PRAGUE).id == date_id(2026, 11, 25)
    later = utc(2026, 11, 25, 23, 30)  # 18:30 in New York, 00:30 in Prague
    assert trading_day(later, FIVE_PM, NEW_YORK).id == date_id(2026, 11, 25)
    assert trading_day(later, MIDNIGHT, PRAGUE).id == date_id(2026, 11, 26)


def test_a_reset_in_the_spring_gap_falls_when_the_clocks_jump():
    # 02:30 does not exist in Prague on 29 March 2026: 02:00 CET is followed by 03:00 CEST (01:00 UTC).
    assert reset_instant(date_id(2026, 3, 29), dt.time(2, 30), PRAGUE) == utc(2026, 3, 29, 1)
    day = trading_day(utc(2026, 3, 29, 1), dt.time(2, 30), PRAGUE)
    assert day.id == date_id(2026, 3, 29) and day.start == utc(2026, 3, 29, 1)
    assert trading_day(utc(2026, 3, 29, 0, 59), dt.time(2, 30), PRAGUE).id == date_id(2026, 3, 28)


def test_a_reset_in_the_repeated_autumn_hour_is_its_first_occurrence():
    # 02:30 happens twice in Prague on 25 October 2026: first at 00:30 UTC (CEST), again at 01:30 UTC.
    assert reset_instant(date_id(2026, 10, 25), dt.time(2, 30), PRAGUE) == utc(2026, 10, 25, 0, 30)
    second = trading_day(utc(2026, 10, 25, 1, 10), dt.time(2, 30), PRAGUE)  # 02:10 the second time
    assert second.id == date_id(2026, 10, 25), "the day does not go back when the clocks do"


@pytest.mark.parametrize("zone", [NEW_YORK, PRAGUE, GMT_PLUS_2, ZoneInfo("Australia/Sydney")])
def test_days_follow_each_other_without_gaps_for_a_year(zone):
    at, day = utc(2026, 1, 1), trading_day(utc(2026, 1, 1), FIVE_PM, zone)
    while at < utc(2027, 1, 1):
        nxt = trading_day(day.next_reset, FIVE_PM, zone)
        assert nxt.id == day.id + 1 and nxt.start == day.next_reset
        assert 23 * 3600 <= nxt.next_reset - nxt.start <= 25 * 3600
        at, day = day.next_reset, nxt
