"""A campaign seed is a whole bug report: the same seed replays the same scenario to the same
verdict, and a failing scenario written out as YAML loads back as that scenario."""

from __future__ import annotations

from copier_gui.replay.campaign import generate, run_campaign, run_seed
from copier_gui.replay.campaign.campaign import write_scenario
from copier_gui.replay.scenario import load_scenario, parse_scenario


def test_a_seed_replays_to_the_same_verdict():
    first, again = run_seed(4), run_seed(4)
    assert first == again
    assert first["crashes"] >= 1


def test_a_written_scenario_loads_back_as_the_generated_one(tmp_path):
    data = generate(9)
    path = write_scenario(data, [{"kind": "missing", "detail": "x", "description": "missing: x"}], tmp_path)
    assert path.read_text(encoding="utf-8").startswith("# missing: x\n")
    assert load_scenario(path) == parse_scenario(data)


def test_the_figures_add_up(tmp_path):
    result = run_campaign(2, seed=4, jobs=1, out=str(tmp_path))
    assert result["scenarios"] == 2
    assert result["violations"] == sum(result["violations_by_kind"].values())
    written = sorted(p.name for p in tmp_path.glob("*.yaml"))
    assert written == [f"campaign-{s}.yaml" for s in result["failing_seeds"]]
