"""Replaying a generated scenario and judging it, with the copier given its next look at a slave
before a difference at the end is held against it.

A slave's own broker can close a copy on its own (the copy's stop or target hit there, a
stop-out). The copier only learns of it when it next reads that slave, at its next
reconciliation pass, and journals the reason then. A stop hit in the last moments of a run is
therefore at the broker with no reason journaled yet: the run ended before the copier looked.
The report holds only what the accounts ended with, not when the slave's broker closed what, so
the oracle cannot tell such a close from a missed copy. The same scenario run a little longer
can: a difference the copier explains or mends once it has looked was in flight at the
end, and one that is still there is a violation. The look comes within one reconciliation
interval; the longer run allows two.
"""

from __future__ import annotations

from collections.abc import Callable

from copier_gui.replay.campaign.oracle import MISSING, WRONG_VOLUME, Violation, check
from copier_gui.replay.runner import run_scenario
from copier_gui.replay.scenario import Scenario, parse_scenario

# What a close at the slave's own broker leaves at the end until the copier looks: less held than
# the rules give (a netting slave's share of a symbol, or a hedging slave's copy).
SLAVE_SIDE = frozenset({MISSING, WRONG_VOLUME})


def _key(v: Violation) -> tuple:
    return v.kind, v.account, v.symbol, v.master_ticket


def judge(data: dict, source: str = "campaign",
          run: Callable[[Scenario], dict] = run_scenario) -> tuple[Scenario, dict, list[Violation], list[Violation]]:
    """Replay ``data`` and check it: (scenario, report, violations, explained differences).

    A difference of a ``SLAVE_SIDE`` kind at the end is a violation only if the same scenario
    run two reconciliation intervals longer still shows it; otherwise it counts among the
    explained ones.
    """
    scenario = parse_scenario(data, source=source)
    report = run(scenario)
    explained: list[Violation] = []
    found = check(scenario, report, explained)
    at_end = [v for v in found if v.at == "end" and v.kind in SLAVE_SIDE]
    if at_end:
        look_s = 2 * scenario.reconcile_interval_s
        longer = parse_scenario({**data, "duration_s": round(data["duration_s"] + look_s, 3)}, source=source)
        still = {_key(v) for v in check(longer, run(longer)) if v.at == "end"}
        settled = [v for v in at_end if _key(v) not in still]
        found = [v for v in found if v not in settled]
        explained.extend(settled)
    return scenario, report, found, explained
