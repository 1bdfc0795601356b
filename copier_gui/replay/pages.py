"""A replay's drift as the drift report's HTML page: a run's slaves, or one slave under two rule sets.

The page is the one reports.drift_html draws for a live journal, so a replayed figure and a live
one look the same. Its times are the run's virtual ones (the page says "generated" at the run's
end), so the same scenario gives the same page, byte for byte, as it gives the same JSON.
"""

from __future__ import annotations

from copier_gui.replay.compare import Comparison
from copier_gui.replay.runner import Replay
from copier_gui.replay.scenario import Scenario
from copier_gui.reports.drift_html import render_html

__all__ = ["comparison_page", "replay_page"]


def _period(scenario: Scenario) -> str:
    start = scenario.start
    return (f"{start:%Y-%m-%d %H:%M:%S} UTC + {scenario.end_s:g} s of virtual time, seed {scenario.seed}")


def replay_page(replay: Replay, source: str) -> str:
    """Every slave of the run, in the scenario's order."""
    scenario = replay.scenario
    drifts = {a.id: replay.drifts[a.id] for a in scenario.slaves if a.id in replay.drifts}
    title = f"Replay of {source}"
    notes = [scenario.description] if scenario.description else []
    notes.append("Replayed on simulated brokers: the same scenario and seed give the same figures.")
    return render_html(drifts, title=title, period_text=_period(scenario), generated_wall=replay.end_wall,
                       notes=notes)


def comparison_page(comparison: Comparison) -> str:
    """The compared slave under rules A, then under rules B, with the verdict on top."""
    a = comparison.a
    scenario = a.replay.scenario
    notes = [comparison.verdict(),
             f"Both runs replay the same market, master actions and faults; only {comparison.slave}'s rules "
             "differ."]
    for variant in (comparison.a, comparison.b):
        f = variant.figures()
        notes.append(f"{variant.label}: {variant.rules_path}: {f['copies']} copies, {f['missed']} missed, "
                     f"{f['refusals']} refusals, latency p50 {f['latency_p50_ms']:.1f} ms, "
                     f"p99 {f['latency_p99_ms']:.1f} ms")
    return render_html(comparison.drifts(), title=f"What-if for {comparison.slave} in {comparison.scenario}",
                       period_text=_period(scenario), generated_wall=a.replay.end_wall, notes=notes)
