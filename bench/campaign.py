"""Fault campaign: random valid scenarios (hedging and netting slaves at every broker profile,
pending orders, copier crashes, disconnects, rejections, latency) replayed and judged by an oracle
written apart from the planner.

Prints JSON: scenarios, crashes, violations by kind with a few examples of each, and each failing
seed with a one-line description of each of its violations.
A seed replays its scenario (``copier_gui.replay.campaign.generate(seed)``); with ``--out`` each
failing scenario is also written there as YAML, its violations as comments at the top, and with
``--shrink`` the first one of each kind is cut down to a minimal scenario that still fails. The target
is 0 violations in 1,000 scenarios with at least 2,000 crashes.

Run: python bench/campaign.py --count N [--seed S] [--jobs J] [--out DIR] [--shrink REPLAYS]
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys

from copier_gui.replay.campaign import run_campaign

TARGET_SCENARIOS = 1_000
TARGET_CRASHES = 2_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100, help="scenarios to run")
    parser.add_argument("--seed", type=int, default=0, help="the first scenario's seed")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--out", default=None, help="folder for the failing scenarios as YAML")
    parser.add_argument("--shrink", type=int, default=0, metavar="REPLAYS",
                        help="shrink the first scenario of each violation kind, at most REPLAYS "
                             "replays each, to a minimal one (written to --out)")
    parser.add_argument("--all", action="store_true",
                        help="list every failing scenario and violation, not only the first ones")
    args = parser.parse_args()
    # The copier logs every refusal; the JSON on stdout is the report.
    logging.disable(logging.WARNING)
    result = run_campaign(args.count, seed=args.seed, jobs=max(1, args.jobs), out=args.out,
                          shrink_budget=args.shrink)
    if not args.all:
        result["failing"] = [{**f, "violations": f["violations"][:5]} for f in result["failing"][:30]]
    report = {"python": platform.python_version(), **result,
              "target": {"scenarios": TARGET_SCENARIOS, "crashes": TARGET_CRASHES, "violations": 0}}
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
