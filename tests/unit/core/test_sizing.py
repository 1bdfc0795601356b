"""Sizing: rules, contract-size alignment, and the slave's lot step, minimum and maximum."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copier_gui.core.model import Execution, Filling, SymbolSpec, TradeMode, VolumeUnit
from copier_gui.core.rules import Rounding, Sizing, SizingMode
from copier_gui.core.sizing import Figures, intended_volume, normalise


def spec(vmin=0.01, step=0.01, vmax=500.0, contract=100_000.0):
    return SymbolSpec("EURUSD.x", "", 5, 1e-5, contract, vmin, step, vmax, 0, 0, frozenset({Filling.FOK}),
                      Execution.MARKET, TradeMode.FULL, "EUR", "USD", 1e-5, 1.0)


def units_spec(vmin=1_000.0, step=1_000.0, vmax=10_000_000.0, lot=100_000.0):
    """EURUSD at a platform that counts units of the base asset: a lot is still 100,000 of them, and a
    tick makes 0.00001 USD on one unit."""
    return SymbolSpec("EURUSD", "", 5, 1e-5, lot, vmin, step, vmax, 0, 0, frozenset({Filling.IOC}),
                      Execution.MARKET, TradeMode.FULL, "EUR", "USD", 1e-5, 1e-5, volume_unit=VolumeUnit.UNITS)


def figures(**kw):
    base = dict(master_balance=10_000, master_equity=10_000, master_free_margin=10_000,
                slave_balance=10_000, slave_equity=10_000, slave_free_margin=10_000)
    base.update(kw)
    return Figures(**base)


def volume(master_volume, rule, *, figures_=None, master_contract=1, slave_contract=1, **kw):
    return intended_volume(master_volume, rule, master_per_volume=master_contract, slave_per_volume=slave_contract,
                           figures=figures_ or figures(), **kw)


def test_lot_multiplier_and_fixed_lot():
    assert volume(1.0, Sizing(mode=SizingMode.LOT_MULTIPLIER, multiplier=0.5)) == (0.5, None)
    assert volume(3.0, Sizing(mode=SizingMode.FIXED_LOT, lots=0.2)) == (0.2, None)


@pytest.mark.parametrize(("mode", "field"), [
    (SizingMode.BALANCE_RATIO, "balance"), (SizingMode.EQUITY_RATIO, "equity"),
    (SizingMode.FREE_MARGIN_RATIO, "free_margin"),
])
def test_ratio_modes_use_their_own_figure(mode, field):
    f = figures(**{f"master_{field}": 20_000, f"slave_{field}": 5_000})
    assert volume(1.0, Sizing(mode=mode), figures_=f)[0] == pytest.approx(0.25)


def test_fixed_risk_from_stop_distance_and_tick_value():
    # 1% of 10,000 = 100 at risk; a 0.0050 stop on EURUSD with tick value 1.0 per 0.00001 loses
    # 500 per lot, so 0.2 lot.
    v, note = volume(1.0, Sizing(mode=SizingMode.FIXED_RISK, risk_percent=1.0), sl_distance=0.005, spec=spec(),
                     slave_equity_own_currency=10_000)
    assert v == pytest.approx(0.2) and note is None


def test_fixed_risk_without_stop_falls_back_and_says_so():
    v, note = volume(1.0, Sizing(mode=SizingMode.FIXED_RISK, no_sl_fallback=SizingMode.FIXED_LOT, lots=0.3),
                     sl_distance=0.0, spec=spec(), slave_equity_own_currency=10_000)
    assert v == 0.3 and "fell back to fixed_lot" in note


def test_contract_size_alignment_keeps_exposure():
    assert volume(1.0, Sizing(), master_contract=10, slave_contract=100)[0] == pytest.approx(0.1)


def test_min_and_max_lot_clamps_and_nearest_rounding():
    assert normalise(0.004, spec(), "B", min_lot=0.05).volume == 0.05
    assert normalise(7.0, spec(), "B", max_lot=2.0).volume == 2.0
    assert normalise(0.186, spec(), "B", rounding=Rounding.NEAREST).volume == 0.19
    assert normalise(0.186, spec(), "B").volume == 0.18


def test_rounds_down_to_the_step():
    assert normalise(0.185, spec(), "B").volume == 0.18
    assert normalise(0.37, spec(vmin=0.1, step=0.1, vmax=50), "B").volume == 0.3


def test_below_minimum_is_refused_with_numbers():
    sized = normalise(0.004, spec(), "Harbor FX")
    assert not sized.ok
    assert sized.refusal == "volume 0.004 is below the minimum 0.01 for EURUSD.x at Harbor FX"


def test_above_maximum_is_capped_with_a_note():
    sized = normalise(75.0, spec(vmin=0.1, step=0.1, vmax=50), "Apex")
    assert sized.volume == 50.0 and "capped" in sized.note


@given(st.floats(min_value=0.01, max_value=500.0), st.sampled_from([(0.01, 0.01), (0.1, 0.1), (1.0, 1.0)]))
def test_normalised_volume_is_always_on_the_step(volume, rule):
    vmin, step = rule
    sized = normalise(volume, spec(vmin=vmin, step=step), "B")
    if sized.ok:
        assert sized.volume <= volume + 1e-9
        assert abs(sized.volume / step - round(sized.volume / step)) < 1e-6
        assert sized.volume >= vmin - 1e-9


def test_a_tie_under_rounding_nearest_rounds_up_whatever_the_float_noise():
    assert normalise(0.37 * 1.5, spec(), "B", rounding=Rounding.NEAREST).volume == 0.56


# ------------------------------------------------------------------ volumes in lots and in units


def test_a_symbol_says_what_its_volume_counts():
    lots, units = spec(), units_spec()
    assert (lots.base_per_volume, units.base_per_volume) == (100_000.0, 1.0)
    assert (lots.to_lots(0.3), lots.from_lots(0.3)) == (0.3, 0.3)
    assert (units.to_lots(30_000.0), units.from_lots(0.3)) == (0.3, 30_000.0)


def test_a_master_in_lots_maps_to_a_slave_in_units_and_back():
    lots, units = spec(), units_spec()
    rule = Sizing(mode=SizingMode.LOT_MULTIPLIER, multiplier=1.0)
    # Through units of the base asset: 0.5 lot of 100,000 EUR is 50,000 EUR.
    there = volume(0.5, rule, master_contract=lots.base_per_volume, slave_contract=units.base_per_volume, spec=units)
    assert there == (pytest.approx(50_000.0), None)
    back = volume(25_000.0, rule, master_contract=units.base_per_volume, slave_contract=lots.base_per_volume,
                  spec=lots)
    assert back == (pytest.approx(0.25), None)
    assert normalise(there[0], units, "cTrader broker").volume == 50_000.0


def test_fixed_lots_and_the_lot_limits_mean_lots_at_a_slave_counting_units():
    units = units_spec()
    fixed = volume(3.0, Sizing(mode=SizingMode.FIXED_LOT, lots=0.2), spec=units)
    assert fixed == (pytest.approx(20_000.0), None)
    assert normalise(500.0, units, "B", min_lot=0.01).volume == 1_000.0
    capped = normalise(90_000.0, units, "B", max_lot=0.5)
    assert capped.volume == 50_000.0 and "max_lot 0.5" in capped.note


def test_fixed_risk_at_a_slave_counting_units():
    # 1% of 10,000 = 100 at risk; a 0.0050 stop loses 0.005 USD per EUR unit: 20,000 units.
    v, note = volume(1.0, Sizing(mode=SizingMode.FIXED_RISK, risk_percent=1.0), sl_distance=0.005, spec=units_spec(),
                     slave_equity_own_currency=10_000)
    assert v == pytest.approx(20_000.0) and note is None


def test_a_refusal_at_a_slave_counting_units_names_the_unit():
    sized = normalise(400.0, units_spec(), "cBroker")
    assert sized.refusal == "volume 400 units is below the minimum 1000 units for EURUSD at cBroker"
