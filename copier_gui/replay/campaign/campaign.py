"""Runs many generated scenarios, judges each with the oracle, and counts: scenarios, crashes,
violations by kind, and for each violation the seed that replays it.

A seed is the whole bug report: ``generate(seed)`` gives the scenario again, and with an output
folder the failing scenario is written there as YAML, ready for ``copier-gui replay``.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
import traceback
from collections import Counter
from pathlib import Path

import yaml

from copier_gui.replay.campaign.generator import generate
from copier_gui.replay.campaign.judge import judge
from copier_gui.replay.campaign.oracle import KINDS
from copier_gui.replay.campaign.shrink import shrink
from copier_gui.replay.scenario import parse_scenario

REPLAY_ERROR = "replay_error"  # the run itself raised: as much a finding as a violation
_SKIPPED_MASTER = ("master action on", "refused by the broker")


def _coverage(data: dict) -> Counter:
    out: Counter = Counter()
    profiles = {name: b["profile"] for name, b in data["brokers"].items()}
    for account in data["accounts"]:
        out[f"{account['role']} {profiles[account['broker']]} {account['margin_mode']}"] += 1
    for action in data["timeline"]:
        out[f"action {action['action']}"] += 1
    for fault in data["faults"]:
        out[f"fault {fault['kind']}"] += 1
    return out


def crashes_mid_request(report: dict) -> int:
    """Crashes that struck while a slave request was sent and its answer not yet journaled: the
    moment a copier most easily loses track of what it did."""
    crashes = sorted(e["at_s"] for e in report.get("events", ())
                     if e["account"] == "copier" and e["text"] == "copier crashed")
    waiting: dict[str, float] = {}
    spans = []
    for e in report.get("journal", ()):
        cid = e.get("copy_id")
        if not cid:
            continue
        if e["kind"] == "request":
            waiting.setdefault(cid, e["at_s"])
        elif e["kind"] == "result" and cid in waiting:
            spans.append((waiting.pop(cid), e["at_s"]))
    spans += [(sent, float("inf")) for sent in waiting.values()]
    return sum(any(sent <= c < answered for sent, answered in spans) for c in crashes)


def run_seed(seed: int, out: str | None = None, *, ctrader: bool = True) -> dict:
    """Generate, replay and judge one scenario; plain data, so it crosses process boundaries.
    ``ctrader=False`` gives the seed's scenario as it was before cTrader accounts were drawn."""
    data = generate(seed, ctrader=ctrader)
    scenario = parse_scenario(data, source=f"campaign seed {seed}")
    crashes = sum(f["kind"] == "copier_crash" for f in data["faults"])
    result = {"seed": seed, "crashes": crashes, "coverage": dict(_coverage(data)),
              "violations": [], "explained": {}, "master_skipped": 0}
    try:
        scenario, report, violations, explained = judge(data, source=f"campaign seed {seed}")
    except Exception as exc:  # a run that raises is itself a finding; the campaign goes on
        detail = f"{type(exc).__name__}: {exc}"
        result["violations"] = [{"kind": REPLAY_ERROR, "account": "", "symbol": "", "detail": detail,
                                 "description": f"{REPLAY_ERROR}: {detail}",
                                 "trace": traceback.format_exc(limit=-3)}]
    else:
        result["crashes"] = report["scenario"].get("crashes", crashes)
        result["coverage"]["master pending filled"] = sum(
            e["account"] == scenario.master.id and "pending_triggered" in e["text"]
            for e in report.get("events", ()))
        result["coverage"]["checkpoints"] = len(report.get("checkpoints", ()))
        result["coverage"]["crashes mid request"] = crashes_mid_request(report)
        result["master_skipped"] = sum(
            e["account"] == scenario.master.id and any(s in e["text"] for s in _SKIPPED_MASTER)
            for e in report.get("events", ()))
        result["violations"] = [v.as_dict() | {"description": v.describe()} for v in violations]
        result["explained"] = dict(Counter(v.kind for v in explained))
    if out and result["violations"]:
        write_scenario(data, result["violations"], Path(out))
    return result


def write_scenario(data: dict, violations: list[dict], folder: Path) -> Path:
    """The failing scenario as YAML, its violations as comments at the top."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"campaign-{data['seed']}.yaml"
    header = "".join(f"# {v.get('description') or v['detail']}\n" for v in violations)
    path.write_text(header + yaml.safe_dump(data, sort_keys=False, width=110), encoding="utf-8")
    return path


def _quiet_worker() -> None:
    # The copier warns about every fault the scenario injects; in a worker those warnings would
    # only bury the figures, which carry what matters.
    logging.disable(logging.WARNING)


def _run_seed_star(args: tuple[int, str | None]) -> dict:
    return run_seed(*args)


def shrink_example(seed: int, kind: str, account: str, folder: Path | None, budget: int) -> dict:
    """The smallest scenario found that still shows ``kind`` on ``account``; written to
    ``folder`` when given."""
    data = generate(seed)
    small, dropped = shrink(data, kind, account, budget=budget)
    out = {"seed": seed, "kind": kind, "account": account, "dropped": len(dropped),
           "actions_left": len(small["timeline"]), "faults_left": len(small["faults"]),
           "slaves_left": sum(a["role"] == "slave" for a in small["accounts"])}
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"campaign-{seed}-{kind}-min.yaml"
        path.write_text(f"# {kind} on {account}, shrunk from campaign seed {seed}\n"
                        + yaml.safe_dump(small, sort_keys=False, width=110), encoding="utf-8")
        out["file"] = path.name
    return out


def _shrink_star(args: tuple) -> dict:
    return shrink_example(*args)


def run_campaign(count: int, seed: int = 0, jobs: int = 1, out: str | None = None,
                 examples_per_kind: int = 3, shrink_budget: int = 0) -> dict:
    """Scenarios ``seed`` .. ``seed + count - 1``; the figures as plain data.

    With ``shrink_budget``, the first example of each violation kind is also shrunk (at most that
    many replays each) to a minimal scenario, written to ``out`` when given.
    """
    started = time.perf_counter()
    work = [(s, out) for s in range(seed, seed + count)]
    # spawn: the same start on every platform, and no copied state from the parent.
    pool = multiprocessing.get_context("spawn").Pool(jobs, _quiet_worker) if jobs > 1 else None
    try:
        results = list(pool.imap(_run_seed_star, work, chunksize=1)) if pool else [run_seed(*w) for w in work]
        shrunk = _shrink_examples(results, out, shrink_budget, pool) if shrink_budget else []
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    by_kind: Counter = Counter({k: 0 for k in (*KINDS, REPLAY_ERROR)})
    examples: dict[str, list[dict]] = {}
    coverage: Counter = Counter()
    explained: Counter = Counter()
    failing = []
    for r in results:
        coverage.update(r["coverage"])
        explained.update(r["explained"])
        kinds = Counter(v["kind"] for v in r["violations"])
        by_kind.update(kinds)
        if kinds:
            failing.append({"seed": r["seed"],
                            "violations": [v.get("description", v["detail"]) for v in r["violations"]]})
        for v in r["violations"]:
            shown = examples.setdefault(v["kind"], [])
            if len(shown) < examples_per_kind and all(e["seed"] != r["seed"] for e in shown):
                shown.append({"seed": r["seed"], "description": v.get("description", v["detail"])})
    return {
        "benchmark": "campaign",
        "first_seed": seed,
        "scenarios": len(results),
        "crashes": sum(r["crashes"] for r in results),
        "violations": sum(by_kind.values()),
        "violations_by_kind": dict(by_kind),
        # Differences the journal gave a reason for: not violations, but worth watching.
        "explained_by_kind": dict(sorted(explained.items())),
        "scenarios_with_violations": len(failing),
        "failing_seeds": [f["seed"] for f in failing],
        "failing": failing,
        "examples": examples,
        "shrunk": shrunk,
        "master_actions_skipped": sum(r["master_skipped"] for r in results),
        "coverage": dict(sorted(coverage.items())),
        "wall_s": round(time.perf_counter() - started, 1),
    }


def _shrink_examples(results: list[dict], out: str | None, budget: int, pool) -> list[dict]:
    """One minimal scenario per violation kind, from the first seed that shows it."""
    first: dict[str, tuple] = {}
    for r in results:
        for v in r["violations"]:
            if v["kind"] != REPLAY_ERROR and v["kind"] not in first:
                first[v["kind"]] = (r["seed"], v["kind"], v["account"], Path(out) if out else None, budget)
    work = list(first.values())
    return list(pool.imap(_shrink_star, work, chunksize=1)) if pool else [shrink_example(*w) for w in work]
