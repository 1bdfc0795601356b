"""What-if: one scenario replayed twice, one slave under two rule sets, its drift side by side.

Both runs are the same scenario with the same seed: the same market, the same master actions at
the same virtual times, the same faults. Only the chosen slave's rules differ, so whatever differs
in its drift comes from its rules. The other accounts stay in both runs as the scenario has them,
so the chosen slave trades in the company it would have. A rules file holds what a slave's
``rules:`` holds in a scenario, bare or under a ``rules:`` key, and its errors name the file and
the field as a scenario's do.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from copier_gui.core.attribution import PARTS, attribute
from copier_gui.core.drift_ledger import SlaveDrift
from copier_gui.core.metrics import percentile
from copier_gui.core.rules import CopyRules, Strict
from copier_gui.replay.runner import Replay, play
from copier_gui.replay.scenario import (
    Scenario,
    ScenarioError,
    describe_errors,
    number_problems,
    read_document,
)
from copier_gui.reports.fmt import CENT, money, signed
from copier_gui.reports.parts import LABELS

__all__ = ["Comparison", "CompareError", "Variant", "choose_slave", "compare", "load_rules", "with_rules"]


class CompareError(ScenarioError):
    """A comparison that cannot run as asked (no such slave, or which one is unclear)."""


class _RulesFile(Strict):
    """A rules file that keeps its rules under ``rules:``, as a slave in a scenario does."""

    rules: CopyRules


def load_rules(path: str | os.PathLike[str]) -> CopyRules:
    """A slave's copy rules from a YAML or JSON file; ScenarioError names the file and each field."""
    name = os.fspath(path)
    data = read_document(path, what="rules")
    if data is None:
        raise ScenarioError(f"{name}: the rules file is empty (write `rules: {{}}` for the default rules)")
    if not isinstance(data, dict):
        raise ScenarioError(f"{name}: the top level must be a mapping of rules (sizing, symbols, filters, "
                            f"stops, tolerances, risk, ...), not {type(data).__name__}")
    problems = number_problems(data)
    model = _RulesFile if "rules" in data else CopyRules
    if not problems:
        try:
            validated = model.model_validate(data)
        except ValidationError as exc:
            problems = describe_errors(exc, data, model)
        else:
            return validated.rules if isinstance(validated, _RulesFile) else validated
    raise ScenarioError("\n".join(f"{name}: {line}" for line in problems))


def choose_slave(scenario: Scenario, slave: str | None) -> str:
    """The slave to compare: the one asked for, or the scenario's only one."""
    slaves = [a.id for a in scenario.slaves]
    listed = ", ".join(slaves)
    if slave is None:
        if len(slaves) == 1:
            return slaves[0]
        raise CompareError(f"the scenario has {len(slaves)} slaves ({listed}): choose one with --slave")
    if slave in slaves:
        return slave
    if slave == scenario.master.id:
        raise CompareError(f"{slave!r} is the master; compare one of the slaves ({listed})")
    raise CompareError(f"no slave {slave!r} in the scenario (its slaves: {listed})")


def with_rules(scenario: Scenario, slave: str, rules: CopyRules) -> Scenario:
    """The same scenario with ``slave``'s rules replaced: everything else, seed included, as it was."""
    accounts = [a.model_copy(update={"rules": rules}) if a.id == slave else a for a in scenario.accounts]
    return scenario.model_copy(update={"accounts": accounts})


@dataclass(frozen=True)
class Variant:
    """One of the two runs, seen from the compared slave."""

    label: str  # "A" or "B"
    rules_path: str
    slave: str
    replay: Replay

    @property
    def drift(self) -> SlaveDrift:
        drift = self.replay.drifts.get(self.slave)
        if drift is not None:
            return drift
        # A slave the copier never got to list (it never started): nothing copied, nothing to split.
        currency = self.replay.report["accounts"][self.slave]["currency"]
        return SlaveDrift(self.slave, currency, attribute([], currency), [], [], 0, [])

    @property
    def latencies_ms(self) -> list[float]:
        return [m.total_ms for m in self.replay.copies if m.slave == self.slave]

    @property
    def refusals(self) -> int:
        return sum(1 for r in self.replay.report["refusals"] if r["account"] == self.slave)

    def figures(self) -> dict:
        """Counts and copy latency, beside the drift."""
        latencies = self.latencies_ms
        return {"copies": len(latencies), "missed": sum(1 for t in self.drift.trades if t.status == "missed"),
                "refusals": self.refusals,
                "latency_p50_ms": round(percentile(latencies, 50), 3),
                "latency_p99_ms": round(percentile(latencies, 99), 3)}

    def as_json(self) -> dict:
        return {"rules": self.rules_path, "drift": self.drift.as_json(), **self.figures()}


@dataclass(frozen=True)
class Comparison:
    scenario: str
    slave: str
    a: Variant
    b: Variant

    def as_json(self) -> dict:
        return {"compare": {"scenario": self.scenario, "slave": self.slave,
                            "a": self.a.as_json(), "b": self.b.as_json()}}

    def drifts(self) -> dict[str, SlaveDrift]:
        """The two runs' drifts, each named after its rules, for a report that shows them in turn."""
        return {v.label: dataclasses.replace(v.drift, slave=f"{v.label}: {self.slave} under {v.rules_path}")
                for v in (self.a, self.b)}

    def verdict(self) -> str:
        """Which rules left the slave closer to perfect copying, in its own currency."""
        da, db = self.a.drift, self.b.drift
        gap_a, gap_b = abs(da.tracking_difference), abs(db.tracking_difference)
        cur = f" {da.currency}" if da.currency else ""
        if abs(gap_a - gap_b) < CENT:
            return f"A and B drift alike: {money(gap_a)}{cur} from perfect copying each."
        better, worse = ("A", "B") if gap_a < gap_b else ("B", "A")
        return (f"{better} drifts less: {money(min(gap_a, gap_b))}{cur} from perfect copying, "
                f"against {money(max(gap_a, gap_b))}{cur} under {worse}.")

    def table(self) -> str:
        """The two runs side by side, as plain text for a terminal."""
        da, db = self.a.drift, self.b.drift
        fa, fb = self.a.figures(), self.b.figures()
        money_rows = [("Tracking difference", da.tracking_difference, db.tracking_difference),
                      ("Ideal P&L", da.attribution.ideal, db.attribution.ideal),
                      ("Actual P&L", da.attribution.actual, db.attribution.actual)]
        money_rows += [(f"  {LABELS[p]}", da.attribution.parts[p], db.attribution.parts[p]) for p in PARTS]
        rows = [(label, signed(x), signed(y), signed(y - x)) for label, x, y in money_rows]
        for key, label in (("copies", "Copies"), ("missed", "Missed trades"), ("refusals", "Refusals")):
            rows.append((label, str(fa[key]), str(fb[key]), f"{fb[key] - fa[key]:+d}"))
        for key, label in (("latency_p50_ms", "Latency p50 (ms)"), ("latency_p99_ms", "Latency p99 (ms)")):
            rows.append((label, f"{fa[key]:.1f}", f"{fb[key]:.1f}", f"{fb[key] - fa[key]:+.1f}"))
        head = ("", "A", "B", "B - A")
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
        lines = [f"What-if for {self.slave} in {self.scenario}, money in {da.currency or 'its account currency'}",
                 f"  A: {self.a.rules_path}", f"  B: {self.b.rules_path}", ""]
        for row in [head, *rows]:
            lines.append("  ".join([row[0].ljust(widths[0]), *(cell.rjust(w) for cell, w in
                                                              zip(row[1:], widths[1:], strict=True))]).rstrip())
        lines += ["", self.verdict()]
        return "\n".join(lines) + "\n"


def compare(scenario: Scenario, rules_a: str | os.PathLike[str], rules_b: str | os.PathLike[str], *,
            slave: str | None = None, scenario_name: str = "the scenario") -> Comparison:
    """Replay ``scenario`` with the chosen slave under ``rules_a``, then under ``rules_b``.

    Both files are read and checked before either run starts, so a typo in B costs no waiting.
    """
    chosen = choose_slave(scenario, slave)
    loaded = [(os.fspath(path), load_rules(Path(path))) for path in (rules_a, rules_b)]
    a, b = (Variant(label, path, chosen, play(with_rules(scenario, chosen, rules)))
            for label, (path, rules) in zip("AB", loaded, strict=True))
    return Comparison(scenario_name, chosen, a, b)
