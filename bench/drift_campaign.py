"""Drift attribution under faults: random fault-campaign scenarios, each slave's actual P&L as the
journal rebuilds it checked against its broker's own books.

For every generated scenario (crashes, disconnects, rejections, requotes, partial fills,
latency, netting and hedging slaves), each slave's ``drift.actual`` from the replay report (the
journal folded by DriftLedger) is compared with what its broker says the account made: equity at
the end minus the balance it started with. That oracle never reads the journal. A slave with
trades the ledger could not value (listed, with why) is counted apart, since those trades are in
the equity but, by design, not in the figures.

Prints JSON: scenarios, slaves checked, mismatches (seed, slave, both figures) and the unvalued
reasons seen.

Run: python bench/drift_campaign.py [--count N] [--seed S] [--jobs N]
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections import Counter
from multiprocessing import Pool

from copier_gui.replay.campaign.generator import generate
from copier_gui.replay.runner import run_scenario
from copier_gui.replay.scenario import parse_scenario
from copier_gui.sim.profiles import PROFILES

# The broker books each deal's profit rounded to its currency's smallest unit.
_SMALLEST = {"JPY": 1.0}


def check_seed(seed: int) -> dict:
    logging.disable(logging.WARNING)
    scenario = parse_scenario(generate(seed), source=f"campaign seed {seed}")
    try:
        report = run_scenario(scenario)
    except Exception as exc:  # a run that raises is a finding of its own
        return {"seed": seed, "error": f"{type(exc).__name__}: {exc}"}
    out = {"seed": seed, "checked": 0, "unvalued_slaves": 0, "unvalued": [], "mismatches": []}
    for account in scenario.slaves:
        drift = report["drift"].get(account.id)
        book = report["accounts"][account.id]
        start = account.balance or PROFILES[scenario.brokers[account.broker].profile].default_balance
        if drift is None:
            out["mismatches"].append({"slave": account.id, "detail": "no drift in the report"})
            continue
        if drift["unvalued"]:
            out["unvalued_slaves"] += 1
            out["unvalued"].extend(re.sub(r"#\d+ \S+", "#T", u.split(": ", 1)[-1]) for u in drift["unvalued"])
            continue
        out["checked"] += 1
        broker = book["equity"] - start
        unit = _SMALLEST.get(drift["currency"], 0.01)
        tolerance = unit * (2 + drift["trades"] * 3)
        if abs(drift["actual"] - broker) > tolerance:
            out["mismatches"].append({"slave": account.id, "currency": drift["currency"],
                                      "ledger_actual": drift["actual"], "broker": round(broker, 2),
                                      "tolerance": round(tolerance, 2)})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--seed", type=int, default=35000)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    results = []
    with Pool(args.jobs) as pool:
        results = list(pool.imap_unordered(check_seed, range(args.seed, args.seed + args.count)))
    results.sort(key=lambda r: r["seed"])
    unvalued = Counter(u for r in results for u in r.get("unvalued", ()))
    mismatches = [{"seed": r["seed"], **m} for r in results for m in r.get("mismatches", ())]
    summary = {
        "benchmark": "drift_campaign",
        "first_seed": args.seed,
        "scenarios": len(results),
        "errors": [r for r in results if "error" in r],
        "slaves_checked": sum(r.get("checked", 0) for r in results),
        "slaves_with_unvalued_trades": sum(r.get("unvalued_slaves", 0) for r in results),
        "mismatches": mismatches,
        "unvalued_reasons": dict(unvalued.most_common(12)),
    }
    json.dump(summary, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
