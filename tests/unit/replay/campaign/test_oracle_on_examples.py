"""The oracle on real replays: the shipped examples without faults are copied exactly, so it must
find nothing there (a false alarm would be the oracle's fault, or a plain copying bug)."""

from __future__ import annotations

from pathlib import Path

import pytest

from copier_gui.replay.campaign.oracle import check
from copier_gui.replay.runner import run_scenario
from copier_gui.replay.scenario import load_scenario

EXAMPLES = Path(__file__).resolve().parents[4] / "examples" / "scenarios"


@pytest.mark.parametrize("name", ["basic", "lot_step", "symbol_mapping", "pending"])
def test_no_violation_where_nothing_goes_wrong(name):
    scenario = load_scenario(EXAMPLES / f"{name}.yaml")
    assert not scenario.faults
    assert [v.describe() for v in check(scenario, run_scenario(scenario))] == []
