"""Sizing: rules, contract-size alignment, and the slave's lot step, minimum and maximum."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copier_gui.core.model import Execution, Filling, SymbolSpec, TradeMode
from copier_gui.core.rules import Sizing, SizingMode
from copier_gui.core.sizing import intended_volume, normalise


def spec(vmin=0.01, step=0.01, vmax=500.0, contract=100_000.0):
    return SymbolSpec("EURUSD.x", "", 5, 1e-5, contract, vmin, step, vmax, 0, 0, frozenset({Filling.FOK}),
                      Execution.MARKET, TradeMode.FULL, "EUR", "USD", 1e-5, 1.0)


def test_lot_multiplier_and_balance_ratio():
    rule = Sizing(mode=SizingMode.LOT_MULTIPLIER, multiplier=0.5)
    assert intended_volume(1.0, rule, master_contract=1, slave_contract=1, master_balance=1, slave_balance=1) == 0.5
    ratio = Sizing(mode=SizingMode.BALANCE_RATIO)
    assert intended_volume(1.0, ratio, master_contract=1, slave_contract=1, master_balance=20_000,
                           slave_balance=5_000) == pytest.approx(0.25)


def test_contract_size_alignment_keeps_exposure():
    rule = Sizing()
    assert intended_volume(1.0, rule, master_contract=10, slave_contract=100, master_balance=1,
                           slave_balance=1) == pytest.approx(0.1)


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
