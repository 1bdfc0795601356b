"""Prop-firm campaign: random scenarios with slaves under random daily-loss and maximum-loss rules
(every baseline, static and trailing floors, locks, stop_entries and flatten, resets in five zones),
the market pushed to and past the limits, copier crashes and disconnects; each run judged by an
oracle that works on the brokers' own balance and equity, apart from the copier's limit code.

Prints JSON: scenarios, crashes, breaches announced, violations by kind, and each failing seed with
its violations. A seed replays its scenario (``copier_gui.replay.campaign.prop_generator.generate``).

Run: python bench/prop_campaign.py --count N [--seed S]
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
from collections import Counter

from copier_gui.replay.campaign.prop_generator import generate, scenario
from copier_gui.replay.campaign.prop_oracle import judge
from copier_gui.replay.runner import run_scenario


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50, help="scenarios to run")
    parser.add_argument("--seed", type=int, default=0, help="the first scenario's seed")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the copier logs every refusal; the JSON is the report
    kinds: Counter = Counter()
    rules: Counter = Counter()
    failing, crashes, breaches, flattened = [], 0, 0, 0
    started = time.perf_counter()
    for seed in range(args.seed, args.seed + args.count):
        data = generate(seed)
        report = run_scenario(scenario(seed))
        crashes += report["scenario"]["crashes"]
        for account in data["accounts"][1:]:
            prop = account["rules"]["risk"]["prop"]
            for name in ("daily_loss", "max_loss"):
                if name in prop:
                    rules[f"{name} {prop[name].get('baseline') or prop[name]['mode']} {prop[name]['action']}"] += 1
        breaches += sum(r["reason"].startswith(("risk: daily loss ", "risk: equity ")) for r in report["refusals"])
        flattened += sum("-> halted" in e["text"] for e in report["events"])
        found = judge(data, report)
        kinds.update(v.kind for v in found)
        if found:
            failing.append({"seed": seed, "violations": [str(v) for v in found[:5]]})
    json.dump({"python": platform.python_version(), "scenarios": args.count, "first_seed": args.seed,
               "crashes": crashes, "breaches_announced": breaches, "flattened": flattened,
               "rules": dict(sorted(rules.items())), "violations": dict(kinds), "failing": failing[:30],
               "seconds": round(time.perf_counter() - started, 1)}, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
