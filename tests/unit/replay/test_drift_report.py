"""The replay report's drift section: each slave's tracking difference and its parts, folded from the
run's journal, with what is still open at the end valued at the terminals' prices.

The hand-checked scenario keeps the arithmetic small: two USD accounts at brokers without commission,
EURUSD (1 lot moves 100 000 USD per unit of price), and a slave at 0.505 of the master's lots, which its 0.01 lot step
makes 0.50. Each figure is worked out from the fills the report lists, and checked once more against
what the brokers booked: the slave's balance and equity are its actual P&L, the master's are the
ideal one once scaled by 0.505.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from copier_gui.core.attribution import PARTS
from copier_gui.replay.runner import report_bytes, run_scenario
from copier_gui.replay.scenario import load_scenario, parse_scenario

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "scenarios"
K = 100_000.0  # USD per unit of EURUSD's price on one lot
MULTIPLIER = 0.505

ONE_TRADE_AND_ONE_LEFT_OPEN = yaml.safe_load(f"""
description: One EURUSD trade closed and one left open, copied to a USD slave at 0.505 of the lots.
seed: 3
brokers:
  harbor: {{profile: harbor_fx}}
  summit: {{profile: summit_netting}}
accounts:
  - {{id: master, role: master, broker: harbor, currency: USD, balance: 10000}}
  - id: slave
    role: slave
    broker: summit
    currency: USD
    balance: 10000
    rules:
      sizing: {{mode: lot_multiplier, multiplier: {MULTIPLIER}}}
timeline:
  - {{at: 2, action: open, id: t1, symbol: EURUSD.m, side: buy, volume: 1.0}}
  - {{at: 20, action: close, id: t1}}
  - {{at: 30, action: open, id: t2, symbol: EURUSD.m, side: buy, volume: 1.0}}
""")


def _fill(report: dict, ticket: int, action: str) -> dict:
    (copy,) = [c for c in report["copies"] if c["master_ticket"] == ticket and c["action"] == action]
    return copy


def test_drift_of_one_closed_and_one_open_trade_is_what_a_hand_computation_gives():
    report = run_scenario(parse_scenario(ONE_TRADE_AND_ONE_LEFT_OPEN))
    t1, t2 = report["master_ids"]["t1"], report["master_ids"]["t2"]
    drift = report["drift"]["slave"]
    assert set(report["drift"]) == {"slave"}
    assert drift["currency"] == "USD"
    assert (drift["trades"], drift["missed"], drift["excluded"], drift["unvalued"]) == (2, 0, 0, [])

    # t1, closed: master entry/exit Em/Xm, slave quote Q, entry/exit Es/Xs, as the fills list them.
    opened, closed = _fill(report, t1, "open"), _fill(report, t1, "close")
    em, xm = opened["master_price"], closed["master_price"]
    q, es, xs = opened["quote"], opened["slave_price"], closed["slave_price"]
    assert (opened["ideal_volume"], opened["volume"]) == (MULTIPLIER, 0.50)
    ideal_1 = (xm - em) * MULTIPLIER * K
    actual_1 = (xs - es) * 0.50 * K
    timing_1 = -(q - em) * 0.50 * K
    entry_1 = -(es - q) * 0.50 * K
    exit_1 = (xs - xm) * 0.50 * K
    sizing_1 = (xm - em) * (0.50 - MULTIPLIER) * K

    # t2, open at the end: valued at the prices the terminals show when the run ends.
    (master_pos,) = report["accounts"]["master"]["positions"]
    (slave_pos,) = report["accounts"]["slave"]["positions"]
    entry = _fill(report, t2, "open")
    assert master_pos["master_ticket"] == slave_pos["master_ticket"] == t2
    master_account, slave_account = report["accounts"]["master"], report["accounts"]["slave"]
    master_floating = master_account["equity"] - master_account["balance"]
    slave_floating = slave_account["equity"] - slave_account["balance"]
    ideal_2 = master_floating * MULTIPLIER  # the master's own floating profit, scaled by the rules
    actual_2 = slave_floating  # the slave's own floating profit, as its broker values it
    timing_2 = -(entry["quote"] - entry["master_price"]) * 0.50 * K
    entry_2 = -(entry["slave_price"] - entry["quote"]) * 0.50 * K
    sizing_2 = master_floating / 1.0 * (0.50 - MULTIPLIER)

    # No commission at either broker: each balance moved by exactly t1's P&L.
    assert actual_1 == pytest.approx(slave_account["balance"] - 10_000, abs=0.01)
    assert ideal_1 == pytest.approx((master_account["balance"] - 10_000) * MULTIPLIER, abs=0.01)
    assert drift["ideal"] == pytest.approx(ideal_1 + ideal_2, abs=0.01)
    assert drift["actual"] == pytest.approx(actual_1 + actual_2, abs=0.01)
    assert drift["tracking_difference"] == pytest.approx(actual_1 + actual_2 - ideal_1 - ideal_2, abs=0.01)
    parts = drift["attribution"]
    assert parts["timing"] == pytest.approx(timing_1 + timing_2, abs=0.01)
    assert parts["entry_price"] == pytest.approx(entry_1 + entry_2, abs=0.01)
    assert parts["sizing"] == pytest.approx(sizing_1 + sizing_2, abs=0.01)
    # The open trade's exit part is the gap between the two accounts' prices at the end.
    exit_2 = (actual_2 - ideal_2) - timing_2 - entry_2 - sizing_2
    assert parts["exit_price"] == pytest.approx(exit_1 + exit_2, abs=0.01)
    assert parts["partial_fill"] == parts["missed"] == parts["costs"] == 0
    assert parts["residual"] == pytest.approx(0, abs=0.01)
    # Not a trivial case: there is a difference to explain, and several parts explain it.
    assert abs(drift["tracking_difference"]) > 1
    assert sum(1 for p in PARTS if abs(parts[p]) >= 0.01) >= 3


def test_every_slave_of_the_basic_example_has_drift_whose_parts_add_up():
    report = run_scenario(load_scenario(EXAMPLES / "basic.yaml"))
    slaves = {a for a, acc in report["accounts"].items() if acc["role"] == "slave"}
    assert set(report["drift"]) == slaves
    for slave, drift in report["drift"].items():
        assert drift["currency"] == report["accounts"][slave]["currency"]
        assert drift["trades"] == 3 and drift["missed"] == 0 and drift["unvalued"] == []
        total = math.fsum(drift["attribution"][p] for p in PARTS)
        # Each part is rounded to cents on its own, so their sum may be off by a cent per part.
        assert total == pytest.approx(drift["tracking_difference"], abs=0.01 * len(PARTS)), slave
        assert drift["actual"] - drift["ideal"] == pytest.approx(drift["tracking_difference"], abs=0.02)


def test_the_drift_section_keeps_the_report_byte_identical():
    scenario = parse_scenario(ONE_TRADE_AND_ONE_LEFT_OPEN)
    first = run_scenario(scenario)
    assert "drift" in first
    assert report_bytes(first) == report_bytes(run_scenario(parse_scenario(ONE_TRADE_AND_ONE_LEFT_OPEN)))
