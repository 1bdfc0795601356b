"""A prop-firm profile's figures and checks: the daily baseline, the max-loss floor, the room left."""

from __future__ import annotations

import pytest

from copier_gui.core.prop_limits import (
    DayFigures,
    Track,
    check,
    daily_baseline,
    daily_limit,
    floor,
    follow,
    max_loss_amount,
    room_left,
    start_track,
    trading_days,
)
from copier_gui.core.rules import DailyLossRule, LimitAction, MaxLossRule, PropRules

NY = "17:00 America/New_York"


def prop(daily: dict | None = None, max_loss: dict | None = None) -> PropRules:
    return PropRules.model_validate({"reset": NY, "daily_loss": daily, "max_loss": max_loss})


@pytest.mark.parametrize(("baseline", "expected"), [("balance", 10_000), ("equity", 10_250), ("higher", 10_250)])
def test_the_baseline_is_the_balance_the_equity_or_the_higher_at_the_reset(baseline, expected):
    rule = DailyLossRule(amount=500, baseline=baseline)
    assert daily_baseline(rule, DayFigures(balance=10_000, equity=10_250)) == expected
    assert daily_baseline(DailyLossRule(amount=1, baseline="higher"), DayFigures(10_000, 9_800)) == 10_000


def test_a_percent_daily_limit_is_of_the_baseline():
    assert daily_limit(DailyLossRule(percent=5), 10_250) == pytest.approx(512.5)
    assert daily_limit(DailyLossRule(amount=500), 10_250) == 500


def test_an_equity_baseline_breaches_where_a_balance_one_does_not():
    # An open profit at the reset raises an equity baseline: giving it back counts as a loss there.
    day, equity = DayFigures(balance=10_000, equity=10_250), 9_737.60
    on_equity = check(prop({"amount": 500, "baseline": "equity", "action": "flatten"}), day, None, equity, "USD")
    assert [(b.name, b.action) for b in on_equity] == [("prop.daily_loss", LimitAction.FLATTEN)]
    assert on_equity[0].text == ("daily loss 512.40 USD >= 500.00 USD "
                                 "(baseline: equity 10,250.00 USD at 17:00 America/New_York)")
    assert check(prop({"amount": 500, "baseline": "balance"}), day, None, equity, "USD") == []


def test_a_balance_baseline_breaches_where_an_equity_one_does_not():
    # An open loss at the reset lowers an equity baseline; the balance one still counts it.
    day, equity = DayFigures(balance=10_000, equity=9_700), 9_450
    (breach,) = check(prop({"amount": 500, "baseline": "balance"}), day, None, equity, "USD")
    assert breach.text.startswith("daily loss 550.00 USD >= 500.00 USD (baseline: balance 10,000.00 USD")
    assert check(prop({"amount": 500, "baseline": "equity"}), day, None, equity, "USD") == []
    (higher,) = check(prop({"amount": 500, "baseline": "higher"}), day, None, equity, "USD")
    assert "higher of balance 10,000.00 USD and equity 9,700.00 USD" in higher.text


def test_a_percent_daily_loss_says_its_share():
    (breach,) = check(prop({"percent": 5}), DayFigures(10_000, 10_000), None, 9_500, "EUR")
    assert breach.text == ("daily loss 500.00 EUR >= 500.00 EUR "
                           "(5% of baseline: balance 10,000.00 EUR at 17:00 America/New_York)")


def test_a_static_floor_is_the_initial_balance_less_the_maximum_loss():
    rule = MaxLossRule(percent=10)
    track = follow(rule, start_track(100_000), equity=120_000, day_close=(120_000, 120_000))
    assert track.high == 100_000, "a static floor does not follow the equity"
    assert max_loss_amount(rule, 100_000) == 10_000 and floor(rule, track) == 90_000
    (breach,) = check(prop(max_loss={"percent": 10}), DayFigures(95_000, 95_000), track, 90_000, "USD")
    assert breach.name == "prop.max_loss"
    assert breach.text == ("equity 90,000.00 USD <= max-loss floor 90,000.00 USD "
                           "(static: initial balance 100,000.00 USD less 10,000.00 USD)")


def test_an_intraday_trailing_floor_follows_the_equity_high():
    rule = MaxLossRule(amount=1_000, mode="trailing_intraday")
    track = start_track(10_000)
    for equity in (10_200, 10_600, 10_300):
        track = follow(rule, track, equity=equity, day_close=None)
    assert track == Track(initial=10_000, high=10_600, locked=False) and floor(rule, track) == 9_600


def test_an_end_of_day_trailing_floor_moves_only_at_a_close():
    rule = MaxLossRule(amount=1_000, mode="trailing_eod")
    track = follow(rule, start_track(10_000), equity=10_800, day_close=None)
    assert track.high == 10_000, "an intraday high does not move an end-of-day floor"
    track = follow(rule, track, equity=10_700, day_close=(10_500, 10_700))
    assert track.high == 10_700 and floor(rule, track) == 9_700, "the higher of the close's balance and equity"
    track = follow(rule, track, equity=10_100, day_close=(10_100, 10_100))
    assert track.high == 10_700, "a lower close never lowers the floor"


@pytest.mark.parametrize("mode", ["trailing_eod", "trailing_intraday"])
def test_a_trailing_floor_locks_at_the_initial_balance(mode):
    rule = MaxLossRule(amount=1_000, mode=mode, lock_at_initial=True)
    track = follow(rule, start_track(10_000), equity=10_900, day_close=(10_900, 10_900))
    assert not track.locked and floor(rule, track) == 9_900
    track = follow(rule, track, equity=11_000, day_close=(11_000, 11_000))
    assert track.locked and floor(rule, track) == 10_000
    track = follow(rule, track, equity=12_500, day_close=(12_500, 12_500))
    assert track.locked and floor(rule, track) == 10_000, "the floor stays at the initial balance"
    (breach,) = check(prop(max_loss={"amount": 1_000, "mode": mode, "lock_at_initial": True}),
                      DayFigures(12_000, 12_000), track, 9_999, "USD")
    assert f"({mode}, locked at the initial balance 10,000.00 USD)" in breach.text
    unlocked = MaxLossRule(amount=1_000, mode=mode)
    assert floor(unlocked, follow(unlocked, track, equity=12_500, day_close=(12_500, 12_500))) == 11_500


def test_the_room_left_today_and_to_the_floor():
    rules = prop({"amount": 500, "baseline": "equity"}, {"amount": 1_000, "mode": "trailing_intraday"})
    track = Track(initial=10_000, high=10_400, locked=False)
    room = room_left(rules, DayFigures(10_000, 10_250), track, 9_850, now=1_000.0, next_reset=4_600.0,
                     deal_days=[20_000, 20_001, 20_001, 20_003], currency="USD")
    assert room.daily_limit == 500 and room.daily_left == pytest.approx(100)
    assert room.daily_used == pytest.approx(0.8)
    assert room.reset_in_s == 3_600 and room.next_reset == 4_600
    assert room.floor == 9_400 and room.to_floor == pytest.approx(450) and room.max_loss_used == pytest.approx(0.55)
    assert room.trading_days == 3 and room.currency == "USD"


def test_a_good_day_uses_nothing_and_a_breach_leaves_nothing():
    rules = prop({"amount": 500})
    good = room_left(rules, DayFigures(10_000, 10_000), None, 10_300, now=0.0, next_reset=60.0, deal_days=[],
                     currency="USD")
    # A profit today widens the room: the limit is reached at 9,500, 800 below the equity.
    assert good.daily_used == 0 and good.daily_left == 800 and good.floor is None and good.to_floor is None
    assert good.trading_days == 0
    bad = room_left(rules, DayFigures(10_000, 10_000), None, 9_300, now=0.0, next_reset=60.0, deal_days=[],
                    currency="USD")
    assert bad.daily_left == 0 and bad.daily_used == pytest.approx(1.4)


def test_trading_days_count_distinct_days_with_a_deal():
    assert trading_days([]) == 0 and trading_days([5, 5, 5]) == 1 and trading_days(range(10)) == 10
