"""`copier-gui replay` as a user meets it: the drift in its report, the HTML page, and the what-if
comparison of two rule sets; real processes, real files, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "scenarios"
TIGHT, DEFAULT = ROOT / "examples" / "rules" / "tight.yaml", ROOT / "examples" / "rules" / "default.yaml"


def cli(*args: str, home: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "COPIER_GUI_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "copier_gui", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_the_report_holds_each_slaves_drift(tmp_path):
    out = tmp_path / "report.json"
    result = cli("replay", str(EXAMPLES / "lot_step.yaml"), "--out", str(out), home=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    slaves = {a for a, acc in report["accounts"].items() if acc["role"] == "slave"}
    assert set(report["drift"]) == slaves
    assert all({"tracking_difference", "ideal", "actual", "attribution"} <= set(d) for d in report["drift"].values())


def test_compare_prints_the_two_rule_sets_side_by_side_and_writes_json(tmp_path):
    out = tmp_path / "what-if.json"
    result = cli("replay", str(EXAMPLES / "basic.yaml"), "--compare", str(TIGHT), str(DEFAULT),
                 "--slave", "harbor-eur", "--out", str(out), home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("What-if for harbor-eur in ")
    for text in ("Tracking difference", "Ideal P&L", "Actual P&L", "Timing", "Missed", "Copies",
                 "Latency p99 (ms)", "drifts less", f"report written to {out}"):
        assert text in result.stdout, text
    compared = json.loads(out.read_text(encoding="utf-8"))["compare"]
    assert compared["slave"] == "harbor-eur"
    assert compared["a"]["rules"] == str(TIGHT) and compared["b"]["rules"] == str(DEFAULT)
    assert compared["a"]["drift"]["missed"] == 1 and compared["b"]["drift"]["missed"] == 0


def test_compare_without_out_only_prints(tmp_path):
    result = cli("replay", str(EXAMPLES / "lot_step.yaml"), "--compare", str(TIGHT), str(DEFAULT),
                 "--slave", "harbor-half", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "What-if for harbor-half" in result.stdout and "report written" not in result.stdout
    assert not list(tmp_path.rglob("*.json"))


def test_compare_on_several_slaves_asks_which_one(tmp_path):
    result = cli("replay", str(EXAMPLES / "basic.yaml"), "--compare", str(TIGHT), str(DEFAULT), home=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == ("copier-gui: error: the scenario has 3 slaves (harbor-eur, summit-jpy, "
                                     "apex-prop): choose one with --slave")


def test_a_bad_rules_file_exits_2_naming_the_file_and_field_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  tolerances: {max_delay_ms: -5, requote_retires: 1}\n", encoding="utf-8")
    out = tmp_path / "what-if.json"
    result = cli("replay", str(EXAMPLES / "basic.yaml"), "--compare", str(TIGHT), str(bad), "--slave", "apex-prop",
                 "--out", str(out), home=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"copier-gui: error: {bad}: rules.tolerances.max_delay_ms: Input should be greater than or equal to 0"
    assert lines[1].startswith(f"{bad}: rules.tolerances.requote_retires: unknown field (did you mean 'requote_retries'?")
    assert not out.exists()


def test_replay_needs_somewhere_to_write_or_a_comparison(tmp_path):
    result = cli("replay", str(EXAMPLES / "basic.yaml"), home=tmp_path)
    assert result.returncode == 2 and "--out" in result.stderr and "Traceback" not in result.stderr
    slave_alone = cli("replay", str(EXAMPLES / "basic.yaml"), "--out", str(tmp_path / "r.json"),
                      "--slave", "apex-prop", home=tmp_path)
    assert slave_alone.returncode == 2 and "--slave" in slave_alone.stderr and "--compare" in slave_alone.stderr
    assert not (tmp_path / "r.json").exists()


def test_replay_writes_the_drift_as_an_html_page_beside_the_json(tmp_path):
    out, page = tmp_path / "report.json", tmp_path / "pages" / "report.html"
    result = cli("replay", str(EXAMPLES / "lot_step.yaml"), "--out", str(out), "--html", str(page), home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"report written to {out}" in result.stdout and f"report written to {page}" in result.stdout
    html = page.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html>")
    for slave in json.loads(out.read_text(encoding="utf-8"))["drift"]:
        assert slave in html
    compared = cli("replay", str(EXAMPLES / "lot_step.yaml"), "--compare", str(TIGHT), str(DEFAULT),
                   "--slave", "harbor-half", "--html", str(tmp_path / "what-if.html"), home=tmp_path)
    assert compared.returncode == 0, compared.stderr
    assert "harbor-half under" in (tmp_path / "what-if.html").read_text(encoding="utf-8")
