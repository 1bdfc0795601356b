"""The oracle on real replays: the shipped examples without faults are copied exactly, so it must
find nothing there (a false alarm would be the oracle's fault, or a plain copying bug)."""

from __future__ import annotations

from pathlib import Path

import pytest

from copier_gui.replay.campaign.oracle import check
from copier_gui.replay.runner import run_scenario
from copier_gui.replay.scenario import load_scenario, parse_scenario

EXAMPLES = Path(__file__).resolve().parents[4] / "examples" / "scenarios"


@pytest.mark.parametrize("name", ["basic", "lot_step", "symbol_mapping", "pending"])
def test_no_violation_where_nothing_goes_wrong(name):
    scenario = load_scenario(EXAMPLES / f"{name}.yaml")
    assert not scenario.faults
    assert [v.describe() for v in check(scenario, run_scenario(scenario))] == []


def test_the_oracle_reads_a_real_report():
    # A real replay's report, spoiled by hand: the oracle must see through the runner's own format.
    scenario = parse_scenario({
        "brokers": {"m": {"profile": "meridian_ecn"}, "h": {"profile": "harbor_fx"}},
        "accounts": [{"id": "master", "role": "master", "broker": "m"},
                     {"id": "h", "role": "slave", "broker": "h", "margin_mode": "hedging"}],
        "timeline": [{"at": 1, "action": "open", "id": "p1", "symbol": "EURUSD", "side": "buy",
                      "volume": 0.4}],
        "duration_s": 20,
    })
    report = run_scenario(scenario)
    assert check(scenario, report) == []
    positions = report["accounts"]["h"]["positions"]
    positions.append(dict(positions[0]))
    assert [v.kind for v in check(scenario, report)] == ["duplicate"]
    positions.clear()
    assert [v.kind for v in check(scenario, report)] == ["missing"]
