"""Drift units: asset classes, pips, basis points, money and tolerances in points."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copier_gui.connectors.mt5.translate import to_symbol_spec
from copier_gui.core.model import Execution, SymbolSpec, TradeMode
from copier_gui.core.units import (
    DEFAULT_MAX_DEVIATION,
    DEFAULT_SPREAD_FLOOR,
    AssetClass,
    Comparable,
    asset_class,
    comparable,
    default_limit_points,
    deviation_limit_points,
    money,
    pip_size,
    points,
    points_to_unit,
)
from copier_gui.sim import PROFILES, new_terminal
from copier_gui.sim.instruments import INSTRUMENTS

# The simulator files each instrument under a category; that is the oracle for the classifier.
_CATEGORY = {"Forex": AssetClass.FX, "Metals": AssetClass.METAL, "Indices": AssetClass.INDEX,
             "Crypto": AssetClass.CRYPTO}


def spec(name: str, base: str = "", profit: str = "", *, digits: int = 5, point: float | None = None,
         tick_size: float | None = None, tick_value: float = 1.0) -> SymbolSpec:
    point = 10.0**-digits if point is None else point
    return SymbolSpec(
        name=name, description="", digits=digits, point=point, contract_size=100_000.0,
        volume_min=0.01, volume_step=0.01, volume_max=100.0, stops_level=0, freeze_level=0,
        fillings=frozenset(), execution=Execution.MARKET, trade_mode=TradeMode.FULL,
        currency_base=base, currency_profit=profit,
        tick_size=point if tick_size is None else tick_size, tick_value=tick_value)


def broker_specs() -> list[tuple[str, SymbolSpec, AssetClass]]:
    """Every symbol of every simulated broker, as the MT5 connector hands it to the core."""
    rows = []
    for name, profile in PROFILES.items():
        terminal = new_terminal(name)
        assert terminal.initialize()
        instrument_of = {s.name: s.instrument for s in profile.symbols}
        for info in terminal.symbols_get():
            expected = _CATEGORY[INSTRUMENTS[instrument_of[info.name]].category]
            rows.append((name, to_symbol_spec(info, terminal.symbol_info_tick(info.name)), expected))
    return rows


_BROKER_SPECS = broker_specs()


def test_every_simulated_profile_symbol_is_covered():
    assert {p for p, _, _ in _BROKER_SPECS} == set(PROFILES)
    assert len(_BROKER_SPECS) == sum(len(p.symbols) for p in PROFILES.values())


@pytest.mark.parametrize(("profile", "symbol", "expected"), _BROKER_SPECS,
                         ids=[f"{p}-{s.name}" for p, s, _ in _BROKER_SPECS])
def test_every_simulated_symbol_is_classified(profile, symbol, expected):
    assert asset_class(symbol) is expected


@pytest.mark.parametrize(("profile", "symbol", "expected"), _BROKER_SPECS,
                         ids=[f"{p}-{s.name}" for p, s, _ in _BROKER_SPECS])
def test_the_name_alone_classifies_when_the_broker_reports_no_currencies(profile, symbol, expected):
    assert asset_class(dataclasses.replace(symbol, currency_base="", currency_profit="")) is expected


@pytest.mark.parametrize(("name", "base", "profit", "expected"), [
    ("EURUSDm", "EUR", "USD", AssetClass.FX),
    ("#EURUSD", "", "", AssetClass.FX),
    ("EURUSD_i", "", "", AssetClass.FX),
    ("m.GBPJPY", "", "", AssetClass.FX),
    ("USDTRY", "", "", AssetClass.FX),  # not read as the USDT coin
    ("USDZAR.pro", "USD", "ZAR", AssetClass.FX),
    ("XAUUSDc", "USD", "USD", AssetClass.METAL),
    ("GOLD", "USD", "USD", AssetClass.METAL),
    ("SILVER.m", "", "", AssetClass.METAL),
    ("XPTUSD", "XPT", "USD", AssetClass.METAL),
    ("BTCUSD", "USD", "USD", AssetClass.CRYPTO),
    ("ETHEUR-ECN", "ETH", "EUR", AssetClass.CRYPTO),
    ("XRPUSD", "", "", AssetClass.CRYPTO),
    ("NAS100", "USD", "USD", AssetClass.INDEX),
    ("GER40.cash", "EUR", "EUR", AssetClass.INDEX),
    ("UK100_i", "GBP", "GBP", AssetClass.INDEX),
    ("#SPX", "USD", "USD", AssetClass.INDEX),
    ("DJ", "USD", "USD", AssetClass.INDEX),
    ("WTI", "USD", "USD", AssetClass.ENERGY),
    ("XBRUSD", "USD", "USD", AssetClass.ENERGY),
    ("USOIL.m", "USD", "USD", AssetClass.ENERGY),
    ("NGAS-ECN", "USD", "USD", AssetClass.ENERGY),
    ("CL", "USD", "USD", AssetClass.ENERGY),
    ("AAPL.US", "USD", "USD", AssetClass.OTHER),
    ("CLOROX", "USD", "USD", AssetClass.OTHER),  # short energy tickers match whole names only
])
def test_broker_spellings_are_classified(name, base, profit, expected):
    assert asset_class(spec(name, base, profit)) is expected


@pytest.mark.parametrize("name", ["", "...", "#", "-", "???", "x", "ÄÖÜ", "12345678", "eurusd.m.m.m"])
def test_unknown_or_odd_names_never_raise(name):
    assert asset_class(spec(name, "", "")) in set(AssetClass)


@given(st.text(max_size=20), st.text(max_size=5), st.text(max_size=5))
def test_classification_never_raises(name, base, profit):
    assert isinstance(asset_class(spec(name, base, profit)), AssetClass)


def test_unknown_symbols_fall_to_other():
    assert asset_class(spec("ZZTOP", "ZZZ", "ZZZ")) is AssetClass.OTHER


@pytest.mark.parametrize(("name", "base", "profit", "digits", "expected"), [
    ("EURUSD", "EUR", "USD", 5, 0.0001),
    ("EURUSD", "EUR", "USD", 4, 0.0001),
    ("USDJPY", "USD", "JPY", 3, 0.01),
    ("USDJPY", "USD", "JPY", 2, 0.01),
])
def test_pip_size_of_pairs(name, base, profit, digits, expected):
    assert pip_size(spec(name, base, profit, digits=digits)) == pytest.approx(expected)


@pytest.mark.parametrize("name", ["XAUUSD", "BTCUSD", "US30", "WTI", "AAPL"])
def test_pip_size_is_none_outside_fx(name):
    assert pip_size(spec(name, "USD", "USD", digits=2)) is None


def test_eurusd_gap_in_points_and_pips():
    eurusd = spec("EURUSD", "EUR", "USD", digits=5)
    assert points(0.00012, eurusd) == pytest.approx(12.0)
    assert comparable(0.00012, eurusd, 1.085) == Comparable(pytest.approx(1.2), "pip")


def test_usdjpy_gap_in_pips():
    usdjpy = spec("USDJPY", "USD", "JPY", digits=3)
    gap = comparable(0.012, usdjpy, 151.5)
    assert gap.unit == "pip"
    assert gap.value == pytest.approx(1.2)
    assert str(gap) == "1.2 pip"


def test_bitcoin_gap_in_basis_points():
    btc = spec("BTCUSD", "BTC", "USD", digits=2)
    gap = comparable(19.0, btc, 95_000.0)
    assert gap.unit == "bp"
    assert gap.value == pytest.approx(2.0)
    assert points(19.0, btc) == pytest.approx(1900.0)


def test_a_negative_gap_keeps_its_sign():
    assert comparable(-0.00012, spec("EURUSD", "EUR", "USD"), 1.085).value == pytest.approx(-1.2)


def test_money_of_a_eurusd_lot():
    eurusd = spec("EURUSD", "EUR", "USD", digits=5, tick_size=0.00001, tick_value=1.0)
    assert money(0.00010, 1.0, eurusd) == pytest.approx(10.0)
    assert money(-0.00010, 0.5, eurusd) == pytest.approx(-5.0)


def test_money_uses_the_account_currency_tick_value():
    # A 10-ounce gold contract on a JPY account: one 0.001 tick is worth 1.5 yen per lot.
    gold = spec("XAUUSD-ECN", "XAU", "USD", digits=3, tick_value=1.5)
    assert money(0.5, 2.0, gold) == pytest.approx(0.5 / 0.001 * 1.5 * 2.0)


@pytest.mark.parametrize(("gap", "what"), [
    (lambda s: points(1.0, s), "the point"),
    (lambda s: money(1.0, 1.0, s), "the tick size"),
])
def test_a_spec_without_a_point_or_tick_is_named(gap, what):
    broken = spec("EURUSD", "EUR", "USD", point=0.0, tick_size=0.0)
    with pytest.raises(ValueError, match=f"{what} of 'EURUSD' must be positive"):
        gap(broken)


def test_basis_points_need_a_reference_price():
    with pytest.raises(ValueError, match="reference price of 'BTCUSD'"):
        comparable(19.0, spec("BTCUSD", "BTC", "USD", digits=2), 0.0)


def test_limits_convert_to_points():
    eurusd = spec("EURUSD", "EUR", "USD", digits=5)
    btc = spec("BTCUSD", "BTC", "USD", digits=2)
    assert deviation_limit_points(2.0, "pip", eurusd, 1.085, 8) == pytest.approx(20.0)
    assert deviation_limit_points(7.0, "point", eurusd, 1.085, 8) == 7.0
    assert deviation_limit_points(1.5, "spread", eurusd, 1.085, 8) == pytest.approx(12.0)
    assert deviation_limit_points(2.0, "bp", btc, 95_000.0, 3000) == pytest.approx(1900.0)
    assert deviation_limit_points(2.0, "bp", eurusd, 1.085, 8) == pytest.approx(21.7)


def test_pips_on_a_non_pair_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="pips apply to currency pairs only; 'US30' is index"):
        deviation_limit_points(2.0, "pip", spec("US30", "USD", "USD", digits=1), 43_000.0, 30)


@pytest.mark.parametrize(("value", "unit", "message"), [
    (2.0, "lots", "unknown deviation unit 'lots'"),
    (-1.0, "pip", "cannot be negative"),
])
def test_bad_limits_are_named(value, unit, message):
    with pytest.raises(ValueError, match=message):
        deviation_limit_points(value, unit, spec("EURUSD", "EUR", "USD"), 1.085, 8)


_ROUND_TRIP_SYMBOLS = [s for _, s, _ in _BROKER_SPECS]


@given(symbol=st.sampled_from(_ROUND_TRIP_SYMBOLS),
       unit=st.sampled_from(["point", "pip", "bp", "spread"]),
       limit=st.floats(min_value=0.0, max_value=1e4, allow_nan=False),
       price=st.floats(min_value=1e-3, max_value=1e6, allow_nan=False),
       spread=st.floats(min_value=0.1, max_value=1e4, allow_nan=False))
def test_a_limit_round_trips_through_points(symbol, unit, limit, price, spread):
    if unit == "pip" and pip_size(symbol) is None:
        unit = "bp"
    in_points = deviation_limit_points(limit, unit, symbol, price, spread)
    assert points_to_unit(in_points, unit, symbol, price, spread) == pytest.approx(limit, rel=1e-9, abs=1e-9)


@given(symbol=st.sampled_from(_ROUND_TRIP_SYMBOLS),
       gap_points=st.floats(min_value=-1e5, max_value=1e5, allow_nan=False),
       price=st.floats(min_value=1e-3, max_value=1e6, allow_nan=False))
def test_comparable_agrees_with_the_limit_conversion(symbol, gap_points, price):
    # A drift and a tolerance in the same unit must compare like their point counts do.
    drift = comparable(gap_points * symbol.point, symbol, price)
    assert points_to_unit(gap_points, drift.unit, symbol, price, 1.0) == pytest.approx(
        drift.value, rel=1e-9, abs=1e-9)


def test_every_class_has_a_default_in_a_comparable_unit():
    assert set(DEFAULT_MAX_DEVIATION) == set(AssetClass)
    for cls, (value, unit) in DEFAULT_MAX_DEVIATION.items():
        assert value > 0
        assert unit == ("pip" if cls is AssetClass.FX else "bp")


_QUOTED = [(p, s) for p, s, _ in _BROKER_SPECS if s.bid > 0]
# The instruments every simulated broker carries: the leaders each class's default is sized on.
_LEADERS = {"EURUSD", "GBPUSD", "USDJPY", "XAUUSD", "US30", "BTCUSD"}


def test_every_leader_is_quoted_at_every_broker():
    assert len(_QUOTED_LEADERS) == len(_LEADERS) * len(PROFILES)


def _spread_points(symbol: SymbolSpec) -> int:
    return round((symbol.ask - symbol.bid) / symbol.point)


_QUOTED_LEADERS = [(p, s) for p, s in _QUOTED
                   if PROFILES[p].symbols_by_name[s.name].instrument in _LEADERS]


@pytest.mark.parametrize(("profile", "symbol"), _QUOTED_LEADERS,
                         ids=[f"{p}-{s.name}" for p, s in _QUOTED_LEADERS])
def test_class_defaults_are_wider_than_the_spread_of_the_leaders(profile, symbol):
    value, unit = DEFAULT_MAX_DEVIATION[asset_class(symbol)]
    spread = _spread_points(symbol)
    assert deviation_limit_points(value, unit, symbol, symbol.bid, spread) > spread


@pytest.mark.parametrize(("profile", "symbol"), _QUOTED, ids=[f"{p}-{s.name}" for p, s in _QUOTED])
def test_default_limits_are_never_inside_two_spreads(profile, symbol):
    spread = _spread_points(symbol)
    assert default_limit_points(symbol, symbol.bid, spread) >= DEFAULT_SPREAD_FLOOR * spread


def test_a_wide_exotic_gets_the_spread_floor():
    usdzar = spec("USDZAR", "USD", "ZAR", digits=5)
    assert default_limit_points(usdzar, 18.1, 1200) == pytest.approx(2400.0)
    eurusd = spec("EURUSD", "EUR", "USD", digits=5)
    assert default_limit_points(eurusd, 1.085, 6) == pytest.approx(20.0)
