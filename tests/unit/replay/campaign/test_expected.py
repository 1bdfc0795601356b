"""The oracle's own sizing, against the worked examples of docs/rules.md."""

from __future__ import annotations

import pytest

from copier_gui.core.rules import CopyRules
from copier_gui.replay.campaign.expected import (
    on_step,
    order_lots,
    position_lots,
    rule_lots,
    same_instrument,
    spec_at,
    sums,
)


def rules(**sizing) -> CopyRules:
    return CopyRules.model_validate({"sizing": sizing})


def test_the_slave_symbol_is_the_same_instrument_under_the_brokers_name():
    gold = spec_at("meridian_ecn", "XAUUSD")
    assert same_instrument(gold, "harbor_fx").name == "GOLD.m"
    assert same_instrument(spec_at("meridian_ecn", "US30"), "summit_netting").name == "DJ30.cash"


def test_contract_sizes_keep_the_exposure():
    # 2 lots of US30 at 1 contract a lot are 0.2 lot of US30.m at 10 (docs/rules.md).
    master, slave = spec_at("meridian_ecn", "US30"), spec_at("harbor_fx", "US30.m")
    assert rule_lots(2.0, rules(), master, slave) == pytest.approx(0.2)
    assert order_lots(2.0, rules(), master, slave) == pytest.approx(0.2)


@pytest.mark.parametrize("raw, sizing, lots", [
    (0.185, {}, 0.18),
    (0.185, {"rounding": "nearest"}, 0.19),
    (0.01 * 1.5, {"rounding": "nearest"}, 0.02),  # 1.4999999999999998 steps: still a tie
    (1.0, {"max_lot": 0.3}, 0.3),
    (0.02, {"min_lot": 0.05}, 0.05),
    (0.004, {}, None),
    (900.0, {}, 500.0),
])
def test_clamps_lot_step_minimum_and_maximum(raw, sizing, lots):
    assert on_step(raw, spec_at("harbor_fx", "EURUSD.m"), rules(**sizing)) == lots


def test_a_prop_servers_tenth_of_a_lot_steps():
    apex = spec_at("apex_prop", "EURUSD.raw")
    assert on_step(0.25, apex, rules()) == 0.2
    assert on_step(0.05, apex, rules()) is None


def test_fixed_lot_ignores_the_master_volume():
    eurusd = spec_at("meridian_ecn", "EURUSD")
    assert rule_lots(3.0, rules(mode="fixed_lot", lots=0.07), eurusd, eurusd) == 0.07


def test_a_partial_close_may_follow_any_entry_the_copy_was_made_at():
    eurusd = spec_at("meridian_ecn", "EURUSD")
    # Copied at 0.37 (0.18), then the master kept 0.2: 0.09; or copied afresh at 0.2: 0.1.
    assert position_lots((0.37, 0.2), 0.2, rules(multiplier=0.5), eurusd, eurusd) == {0.09, 0.1}
    off = CopyRules.model_validate({"sizing": {"multiplier": 0.5}, "copy_partial_closes": False})
    assert position_lots((0.37, 0.2), 0.2, off, eurusd, eurusd) == {0.18, 0.1}


def test_netting_totals():
    assert sums([{0.5, 0.4}, {-0.2}]) == ({0.3, 0.2}, True)
    totals, exact = sums([{0.1, 0.2, 0.3}] * 4, limit=5)
    assert (totals, exact) == ({0.4, 1.2}, False)


def test_a_netting_masters_position_that_grew_keeps_the_proportion():
    btc = spec_at("meridian_ecn", "BTCUSD")
    sizing = rules(multiplier=0.25, min_lot=0.02)
    # Copied at 0.05 (0.0125 raised to 0.02), then the master's position grew to 0.55: 0.22.
    assert position_lots((0.05,), 0.55, sizing, btc, btc) == {0.13, 0.22}
