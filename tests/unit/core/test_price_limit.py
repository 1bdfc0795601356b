"""One copy's price limit: from the trader's unit to the points and spreads an open request
carries, and back into the trader's unit for a refusal."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copier_gui.core.model import Execution, Side, SymbolSpec, TradeMode
from copier_gui.core.price_limit import price_limit
from copier_gui.core.rules import DeviationLimit, Tolerances
from copier_gui.core.units import DEFAULT_SPREAD_FLOOR, LIMIT_UNITS, points_to_unit


def spec(name: str, base: str, profit: str, digits: int) -> SymbolSpec:
    point = 10.0**-digits
    return SymbolSpec(
        name=name, description="", digits=digits, point=point, contract_size=1.0, volume_min=0.01,
        volume_step=0.01, volume_max=100.0, stops_level=0, freeze_level=0, fillings=frozenset(),
        execution=Execution.MARKET, trade_mode=TradeMode.FULL, currency_base=base, currency_profit=profit,
        tick_size=point, tick_value=1.0)


EURUSD = spec("EURUSD.m", "EUR", "USD", 5)
USDJPY = spec("USDJPY", "USD", "JPY", 3)
BTCUSD = spec("BTCUSD", "BTC", "USD", 2)
XAUUSD = spec("GOLD.m", "XAU", "USD", 2)
US30 = spec("US30.cash", "USD", "USD", 1)


def tol(**limits) -> Tolerances:
    return Tolerances.model_validate(limits)


def test_pips_become_points_of_the_slaves_symbol():
    limit = price_limit(tol(max_price_deviation={"value": 2, "unit": "pip"}), "EURUSD", EURUSD, 1.085)
    assert (limit.points, limit.spreads) == (pytest.approx(20), 0.0)
    assert limit.deviation == 20
    assert limit.worst_price(Side.BUY, 1.08500, EURUSD) == 1.08520
    assert limit.worst_price(Side.SELL, 1.08500, EURUSD) == 1.08480


def test_basis_points_are_of_the_masters_price():
    limit = price_limit(tol(max_price_deviation={"value": 20, "unit": "bp"}), "BTCUSD", BTCUSD, 95_000.0)
    assert limit.points == pytest.approx(19_000)  # 190 USD in cents
    assert limit.worst_price(Side.BUY, 95_000.0, BTCUSD) == 95_190.0


def test_a_spread_limit_is_sent_as_spreads_alone():
    limit = price_limit(tol(max_price_deviation={"value": 3, "unit": "spread"}), "XAUUSD", XAUUSD, 2650.0)
    assert (limit.points, limit.spreads) == (0.0, 3.0)
    assert limit.points_at(25) == 75
    # The connector widens the worst price from the master's price by the spreads it sees.
    assert limit.worst_price(Side.BUY, 2650.0, XAUUSD) == 2650.0


def test_the_default_is_the_asset_class_with_a_floor_of_two_spreads():
    fx = price_limit(Tolerances(), "EURUSD", EURUSD, 1.085)
    assert (fx.points, fx.spreads, fx.limit) == (pytest.approx(20), DEFAULT_SPREAD_FLOOR, None)
    crypto = price_limit(Tolerances(), "BTCUSD", BTCUSD, 95_000.0)
    assert crypto.points == pytest.approx(15 * 9.5 * 100)  # 15 bp of 95,000 = 142.5 USD
    assert crypto.points_at(50_000) == 100_000  # a 500 USD spread: two spreads win


def test_per_symbol_limits_apply_to_the_masters_symbol():
    rules = tol(max_price_deviation={"value": 2, "unit": "pip"},
                per_symbol={"BTCUSD": {"max_price_deviation": {"value": 20, "unit": "bp"}}})
    assert price_limit(rules, "BTCUSD", BTCUSD, 95_000.0).limit == DeviationLimit(value=20, unit="bp")
    assert price_limit(rules, "EURUSD", EURUSD, 1.085).limit == DeviationLimit(value=2, unit="pip")


def test_pips_on_a_coin_are_refused_naming_the_setting():
    rules = tol(max_price_deviation={"value": 2, "unit": "pip"},
                per_symbol={"BTCUSD": {"max_price_deviation": {"value": 20, "unit": "pip"}}})
    with pytest.raises(ValueError) as info:
        price_limit(rules, "BTCUSD", BTCUSD, 95_000.0)
    assert str(info.value) == ("tolerances.per_symbol.BTCUSD.max_price_deviation: pips apply to currency pairs "
                               "only; 'BTCUSD' is crypto: use bp, point or spread")
    with pytest.raises(ValueError, match=r"^tolerances.max_price_deviation: pips apply"):
        price_limit(rules, "US30", US30, 43_000.0)


def test_descriptions_use_the_traders_unit_and_say_the_points():
    pips = price_limit(tol(max_price_deviation={"value": 2, "unit": "pip"}), "EURUSD", EURUSD, 1.085)
    assert pips.describe(EURUSD, 1.085, 8) == "2 pip maximum (20 points)"
    points = price_limit(tol(max_price_deviation_points=0), "EURUSD", EURUSD, 1.085)
    assert points.describe(EURUSD, 1.085, 8) == "0 point maximum"
    spreads = price_limit(tol(max_price_deviation={"value": 3, "unit": "spread"}), "XAUUSD", XAUUSD, 2650.0)
    assert spreads.describe(XAUUSD, 2650.0, 25) == "3 spread maximum (75 points)"
    default = price_limit(Tolerances(), "EURUSD", EURUSD, 1.085)
    assert default.describe(EURUSD, 1.085, 8) == "default 2 pip maximum for fx (20 points)"
    assert default.describe(EURUSD, 1.085, 15) == "default maximum of 2 current spreads for fx (30 points)"
    per_symbol = price_limit(tol(per_symbol={"BTCUSD": {"max_price_deviation": {"value": 20, "unit": "bp"}}}),
                             "BTCUSD", BTCUSD, 95_000.0)
    assert per_symbol.describe(BTCUSD, 95_000.0, 3000) == "20 bp maximum for BTCUSD (19000 points)"


def test_a_gap_in_the_traders_unit():
    pips = price_limit(tol(max_price_deviation={"value": 2, "unit": "pip"}), "EURUSD", EURUSD, 1.085)
    assert pips.in_unit(50, EURUSD, 1.085, 8) == "5 pip"
    default = price_limit(Tolerances(), "BTCUSD", BTCUSD, 95_000.0)
    assert default.in_unit(1127, BTCUSD, 95_000.0, 3000) == "1.19 bp"
    spreads = price_limit(tol(max_price_deviation={"value": 3, "unit": "spread"}), "XAUUSD", XAUUSD, 2650.0)
    assert spreads.in_unit(50, XAUUSD, 2650.0, 20) == "2.5 spread"
    assert spreads.in_unit(50, XAUUSD, 2650.0, 0) == ""  # no spread seen: nothing to compare with
    points = price_limit(tol(max_price_deviation_points=200), "EURUSD", EURUSD, 1.085)
    assert points.in_unit(50, EURUSD, 1.085, 8) == ""


def test_a_price_of_zero_borrows_the_slaves_quote_for_basis_points():
    quoted = dataclasses.replace(BTCUSD, bid=95_000.0, ask=95_020.0)
    limit = price_limit(tol(max_price_deviation={"value": 10, "unit": "bp"}), "BTCUSD", quoted, 0.0)
    assert limit.points == pytest.approx(9501)


# ---------------------------------------------------------------------------- property

_SPECS = (EURUSD, USDJPY, BTCUSD, XAUUSD, US30, spec("EURUSD", "EUR", "USD", 4), spec("XAGUSD", "XAG", "USD", 3))


@given(symbol=st.sampled_from(_SPECS), unit=st.sampled_from(LIMIT_UNITS),
       value=st.floats(0.0, 500.0), price_steps=st.integers(1, 10**7), spread=st.integers(1, 5_000),
       side=st.sampled_from(Side))
def test_what_is_sent_converts_back_to_the_traders_value(symbol, unit, value, price_steps, spread, side):
    """The points (and spreads) an open request carries are the trader's limit, within rounding to
    the broker's whole-point deviation and the price grid."""
    if unit == "pip" and symbol.currency_base in ("BTC", "XAU", "XAG") or unit == "pip" and symbol is US30:
        return  # refused with a reason instead (test above)
    reference = round(price_steps * symbol.point, symbol.digits)
    limit = price_limit(tol(max_price_deviation={"value": value, "unit": unit}), "M", symbol, reference)
    applied = limit.points_at(spread)
    back = points_to_unit(applied, unit, symbol, reference, spread)
    assert back == pytest.approx(value, rel=1e-9, abs=1e-9)
    # The broker's deviation is whole points, never narrower than the limit and at most a point wider.
    sent = max(limit.deviation, math.ceil(limit.spreads * spread - 1e-6))
    assert applied - 1e-6 <= sent <= applied + 1
    # The worst price sits the limit's fixed points from the master's price, to the nearest tick.
    worst = limit.worst_price(side, reference, symbol)
    assert abs(abs(worst - reference) / symbol.point - limit.points) <= 0.5 + 1e-6
