"""A replay's drift as the HTML drift page: every slave of a run, or one slave under two rule sets,
on the run's virtual time so the page is as repeatable as the JSON."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from copier_gui.replay.compare import compare
from copier_gui.replay.pages import comparison_page, replay_page
from copier_gui.replay.runner import play
from copier_gui.replay.scenario import load_scenario
from copier_gui.reports.fmt import signed

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "scenarios"
TIGHT, DEFAULT = ROOT / "examples" / "rules" / "tight.yaml", ROOT / "examples" / "rules" / "default.yaml"


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)


def _text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


@pytest.fixture(scope="module")
def lot_step():
    return play(load_scenario(EXAMPLES / "lot_step.yaml"))


def test_the_page_shows_every_slave_of_the_run_with_its_figures(lot_step):
    html = replay_page(lot_step, "lot_step.yaml")
    text = _text(html)
    assert "Replay of lot_step.yaml" in text
    assert lot_step.scenario.description in text
    for slave in lot_step.scenario.slaves:
        drift = lot_step.drifts[slave.id]
        assert slave.id in text
        assert signed(drift.tracking_difference) in text
    # Generated at the run's virtual end, not at the wall clock: the page is the same every time.
    assert "2026-11-25" in text


def test_the_same_scenario_gives_the_same_page(lot_step):
    again = play(load_scenario(EXAMPLES / "lot_step.yaml"))
    assert replay_page(lot_step, "lot_step.yaml") == replay_page(again, "lot_step.yaml")


def test_the_comparison_page_shows_the_slave_under_each_rule_set_and_the_verdict():
    scenario = load_scenario(EXAMPLES / "basic.yaml")
    comparison = compare(scenario, TIGHT, DEFAULT, slave="harbor-eur", scenario_name="basic.yaml")
    text = _text(comparison_page(comparison))
    assert "What-if for harbor-eur in basic.yaml" in text
    assert f"A: harbor-eur under {TIGHT}" in text and f"B: harbor-eur under {DEFAULT}" in text
    assert comparison.verdict() in text
    assert signed(comparison.a.drift.tracking_difference) in text
    assert signed(comparison.b.drift.tracking_difference) in text
    assert "1 missed" in text
