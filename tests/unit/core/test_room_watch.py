"""The 80% watch on a prop-firm profile's room left: one crossing per limit per rise, again after the
share used falls back under 70% or a new trading day starts, never on every pass."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from copier_gui.core.prop_limits import DAILY_LOSS, MAX_LOSS, RoomLeft
from copier_gui.core.room_watch import NEAR_LIMIT, RoomWatch, countdown

DAY = 1_795_644_000.0  # a reset instant; the next day resets 86,400 s later


def room(daily_used: float | None = 0.0, max_used: float | None = 0.0, *, next_reset: float = DAY,
         reset_in_s: float = 3 * 3600 + 12 * 60) -> RoomLeft:
    limit = 500.0 if daily_used is not None else None
    return RoomLeft("USD", limit, None if limit is None else max(limit * (1 - daily_used), 0.0), daily_used,
                    next_reset, reset_in_s, 9_000.0 if max_used is not None else None,
                    None if max_used is None else 1_000.0 * (1 - max_used), max_used, 2)


def test_a_rise_past_80_percent_is_one_crossing_until_it_falls_under_70():
    watch = RoomWatch()
    assert watch.feed(room(0.5)) == []
    (crossing,) = watch.feed(room(0.82))
    assert crossing.limit == DAILY_LOSS and crossing.used == 0.82
    assert crossing.text == ("prop-firm daily loss 82% used: 90.00 USD left of the 500.00 USD limit today "
                             "(resets in 3 h 12 m)")
    assert watch.feed(room(0.9)) == [] and watch.feed(room(0.75)) == [], "above 70%: still the same crossing"
    assert watch.feed(room(0.69)) == []
    assert [c.limit for c in watch.feed(room(0.8))] == [DAILY_LOSS], "fell under 70% and rose again"


def test_the_max_loss_has_its_own_crossing_with_its_floor():
    watch = RoomWatch()
    (crossing,) = watch.feed(room(0.1, 0.85))
    assert crossing.limit == MAX_LOSS
    assert crossing.text == "prop-firm max loss 85% used: 150.00 USD above the max-loss floor 9,000.00 USD"
    both = watch.feed(room(0.95, 0.9))
    assert [c.limit for c in both] == [DAILY_LOSS]


def test_a_new_trading_day_arms_the_watch_again():
    watch = RoomWatch()
    assert len(watch.feed(room(None, 0.85))) == 1
    assert watch.feed(room(None, 0.86)) == []
    (again,) = watch.feed(room(None, 0.86, next_reset=DAY + 86_400))
    assert again.limit == MAX_LOSS, "still near the floor the next day: said once that day"


def test_no_profile_figures_no_crossing():
    watch = RoomWatch()
    assert watch.feed(None) == [] and watch.feed(room(None, None)) == []
    assert NEAR_LIMIT == "near_limit"


def test_countdown_reads_as_a_trader_says_it():
    assert countdown(3 * 3600 + 12 * 60 + 59) == "3 h 12 m"
    assert countdown(26 * 3600) == "26 h 0 m"
    assert countdown(12 * 60 + 5) == "12 m 5 s"
    assert countdown(42.7) == "42 s"
    assert countdown(-3) == "0 s"


@given(st.lists(st.floats(0, 1.5), max_size=60))
def test_crossings_are_exactly_the_rises_past_80_after_a_fall_under_70(path):
    watch = RoomWatch()
    armed, expected, got = True, 0, 0
    for used in path:
        if used >= 0.8 and armed:
            expected, armed = expected + 1, False
        elif used < 0.7:
            armed = True
        got += len(watch.feed(room(used, None)))
    assert got == expected
