"""What-if: one scenario replayed twice with one slave under two rule sets; the market, the master
and every other account are the same in both runs, so only that slave's side may differ."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from copier_gui.core.attribution import PARTS
from copier_gui.core.rules import CopyRules, DeviationLimit
from copier_gui.replay.compare import CompareError, choose_slave, compare, load_rules
from copier_gui.replay.report import report_bytes
from copier_gui.replay.scenario import ScenarioError, load_scenario, parse_scenario
from copier_gui.reports.parts import LABELS

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "scenarios"
TIGHT, DEFAULT = ROOT / "examples" / "rules" / "tight.yaml", ROOT / "examples" / "rules" / "default.yaml"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------- rules files


def test_a_rules_file_may_hold_the_rules_bare_or_under_a_rules_key(tmp_path):
    bare = _write(tmp_path, "bare.yaml", "sizing: {mode: fixed_lot, lots: 0.2}\n")
    keyed = _write(tmp_path, "keyed.yaml", "rules:\n  sizing: {mode: fixed_lot, lots: 0.2}\n")
    as_json = _write(tmp_path, "rules.json", json.dumps({"rules": {"sizing": {"mode": "fixed_lot", "lots": 0.2}}}))
    expected = CopyRules.model_validate({"sizing": {"mode": "fixed_lot", "lots": 0.2}})
    assert load_rules(bare) == load_rules(keyed) == load_rules(as_json) == expected


def test_the_older_deviation_key_in_points_is_still_read(tmp_path):
    rules = load_rules(_write(tmp_path, "old.yaml", "tolerances: {max_price_deviation_points: 30}\n"))
    assert rules.tolerances.max_price_deviation == DeviationLimit(value=30, unit="point")


def test_the_example_rules_files_load():
    tight, default = load_rules(TIGHT), load_rules(DEFAULT)
    assert default == CopyRules()
    assert tight.tolerances.requote_retries == 0 and tight.tolerances.per_symbol


@pytest.mark.parametrize(("text", "expected"), [
    ("sizing: {multipler: 2}\n",
     "bad.yaml: sizing.multipler: unknown field (did you mean 'multiplier'? allowed: "),
    ("rules:\n  sizing: {multipler: 2}\n",
     "bad.yaml: rules.sizing.multipler: unknown field (did you mean 'multiplier'? allowed: "),
    ("tolerances: {max_delay_ms: -1}\n",
     "bad.yaml: tolerances.max_delay_ms: Input should be greater than or equal to 0"),
    ("rules: {}\nsizing: {}\n", "bad.yaml: sizing: unknown field (allowed: rules)"),
    ("tolerances:\n  max_price_deviation: {value: 2, unit: furlong}\n",
     "bad.yaml: tolerances.max_price_deviation.unit: Input should be "),
    ("sizing: {lots: " + "9" * 5000 + "}\n", "bad.yaml: sizing.lots: a 5000-digit integer does not fit in 64 bits"),
    ("sizing: [1\n", "bad.yaml: line 2: could not parse YAML"),
    ("sizing: {}\nsizing: {}\n", "duplicate key 'sizing'"),
    ("", "bad.yaml: the rules file is empty"),
    ("- sizing\n", "bad.yaml: the top level must be a mapping of rules"),
])
def test_a_bad_rules_file_is_named_with_its_field_and_problem(tmp_path, text, expected):
    with pytest.raises(ScenarioError) as caught:
        load_rules(_write(tmp_path, "bad.yaml", text))
    message = str(caught.value)
    assert expected in message
    assert all(line.startswith(str(tmp_path / "bad.yaml")) for line in message.splitlines())


def test_every_problem_of_a_rules_file_gets_its_own_line(tmp_path):
    path = _write(tmp_path, "bad.yaml", "sizing: {multiplier: 0}\ntolerances: {max_delay_ms: -1}\n")
    with pytest.raises(ScenarioError) as caught:
        load_rules(path)
    lines = str(caught.value).splitlines()
    assert [line.split(": ")[1] for line in lines] == ["sizing.multiplier", "tolerances.max_delay_ms"]


def test_a_missing_rules_file_or_a_wrong_kind_of_file_is_named(tmp_path):
    with pytest.raises(ScenarioError, match="nope.yaml: no such rules file"):
        load_rules(tmp_path / "nope.yaml")
    with pytest.raises(ScenarioError, match=r"rules.txt: a rules file ends in .yaml, .yml or .json"):
        load_rules(_write(tmp_path, "rules.txt", "sizing: {}\n"))


# ---------------------------------------------------------------------------------- the slave


def test_the_compared_slave_is_the_only_one_or_the_one_named():
    basic = load_scenario(EXAMPLES / "basic.yaml")
    with pytest.raises(CompareError) as caught:
        choose_slave(basic, None)
    assert str(caught.value) == ("the scenario has 3 slaves (harbor-eur, summit-jpy, apex-prop): "
                                 "choose one with --slave")
    assert choose_slave(basic, "summit-jpy") == "summit-jpy"
    with pytest.raises(CompareError, match=r"no slave 'summit' in the scenario \(its slaves: harbor-eur, "):
        choose_slave(basic, "summit")
    with pytest.raises(CompareError, match="'master' is the master"):
        choose_slave(basic, "master")
    one = parse_scenario(yaml.safe_load("""
brokers: {m: {profile: meridian_ecn}}
accounts: [{id: boss, role: master, broker: m}, {id: only, role: slave, broker: m}]
timeline: [{at: 1, action: open, id: t, symbol: EURUSD, side: buy, volume: 0.1}]
"""))
    assert choose_slave(one, None) == "only"


# ---------------------------------------------------------------------------------- the comparison


@pytest.fixture(scope="module")
def basic_compared():
    scenario = load_scenario(EXAMPLES / "basic.yaml")
    return compare(scenario, TIGHT, DEFAULT, slave="harbor-eur", scenario_name="basic.yaml")


def test_both_runs_see_the_same_market_master_and_other_slaves(basic_compared):
    a, b = basic_compared.a.replay.report, basic_compared.b.replay.report
    assert a["master_ids"] == b["master_ids"]
    for account in ("master", "summit-jpy", "apex-prop"):
        # What each holds at the end, every journal line it wrote (the master's fills and prices
        # among them), every copy and the drift of the slaves not compared.
        assert a["accounts"][account] == b["accounts"][account], account
        assert ([e for e in a["journal"] if e["account"] == account]
                == [e for e in b["journal"] if e["account"] == account]), account
        assert [c for c in a["copies"] if c["slave"] == account] == [c for c in b["copies"] if c["slave"] == account]
    assert {k: v for k, v in a["drift"].items() if k != "harbor-eur"} == {
        k: v for k, v in b["drift"].items() if k != "harbor-eur"}
    # The compared slave's copies of one master fill were measured against the same master price.
    prices_a = {(c["master_ticket"], c["action"]): c["master_price"] for c in a["copies"] if c["slave"] == "harbor-eur"}
    prices_b = {(c["master_ticket"], c["action"]): c["master_price"] for c in b["copies"] if c["slave"] == "harbor-eur"}
    assert prices_a.keys() & prices_b.keys()
    assert all(prices_a[k] == prices_b[k] for k in prices_a.keys() & prices_b.keys())
    # Perfect copying under either rule set is the same: the tolerances size nothing.
    assert a["drift"]["harbor-eur"]["ideal"] == b["drift"]["harbor-eur"]["ideal"]


def test_only_the_compared_slave_differs_and_the_tight_rules_miss_a_trade(basic_compared):
    a, b = basic_compared.a, basic_compared.b
    assert a.replay.report["accounts"]["harbor-eur"] != b.replay.report["accounts"]["harbor-eur"]
    assert a.figures()["missed"] == 1 and b.figures()["missed"] == 0
    assert a.figures()["copies"] < b.figures()["copies"]
    assert a.drift.attribution.parts["missed"] != 0 and b.drift.attribution.parts["missed"] == 0
    assert a.drift.tracking_difference != pytest.approx(b.drift.tracking_difference, abs=0.01)
    (refusal,) = [r for r in a.replay.report["refusals"] if r["account"] == "harbor-eur"]
    assert "0.3 pip maximum for EURUSD" in refusal["reason"]


def test_the_json_names_each_rules_file_beside_its_drift(basic_compared):
    out = json.loads(report_bytes(basic_compared.as_json()))
    compared = out["compare"]
    assert compared["slave"] == "harbor-eur" and compared["scenario"] == "basic.yaml"
    assert compared["a"]["rules"] == str(TIGHT) and compared["b"]["rules"] == str(DEFAULT)
    for side, variant in (("a", basic_compared.a), ("b", basic_compared.b)):
        assert compared[side]["drift"] == json.loads(report_bytes(variant.drift.as_json()))
        assert set(compared[side]) >= {"copies", "missed", "refusals", "latency_p50_ms", "latency_p99_ms"}
        assert compared[side]["drift"]["currency"] == "EUR"


def test_the_table_sets_the_two_side_by_side_with_every_part(basic_compared):
    table = basic_compared.table()
    lines = table.splitlines()
    assert lines[0] == "What-if for harbor-eur in basic.yaml, money in EUR"
    assert f"A: {TIGHT}" in table and f"B: {DEFAULT}" in table
    rows = {line.strip().split("  ")[0]: line for line in lines}
    for label in ["Tracking difference", "Ideal P&L", "Actual P&L", "Copies", "Missed trades", "Latency p50 (ms)",
                  "Latency p99 (ms)", *(LABELS[p] for p in PARTS)]:
        assert label in rows, label
    a, b = basic_compared.a.drift, basic_compared.b.drift
    assert rows["Tracking difference"].split()[-3:] == [
        f"{a.tracking_difference:+,.2f}", f"{b.tracking_difference:+,.2f}",
        f"{b.tracking_difference - a.tracking_difference:+,.2f}"]
    assert rows["Missed trades"].split()[-3:] == ["1", "0", "-1"]
    assert lines[-1] == basic_compared.verdict()
    better = "A" if abs(a.tracking_difference) < abs(b.tracking_difference) else "B"
    assert lines[-1].startswith(f"{better} drifts less: ")


def test_a_comparison_is_deterministic():
    scenario = load_scenario(EXAMPLES / "lot_step.yaml")
    slave = scenario.slaves[0].id
    first = compare(scenario, TIGHT, DEFAULT, slave=slave, scenario_name="lot_step.yaml")
    again = compare(load_scenario(EXAMPLES / "lot_step.yaml"), TIGHT, DEFAULT, slave=slave,
                    scenario_name="lot_step.yaml")
    assert report_bytes(first.as_json()) == report_bytes(again.as_json())
    assert first.table() == again.table()


def test_bad_rules_stop_the_comparison_before_any_run(tmp_path):
    scenario = load_scenario(EXAMPLES / "basic.yaml")
    bad = _write(tmp_path, "b.yaml", "rules: {sizing: {multiplier: -1}}\n")
    with pytest.raises(ScenarioError, match=r"b.yaml: rules.sizing.multiplier: Input should be greater than 0"):
        compare(scenario, TIGHT, bad, slave="harbor-eur")
