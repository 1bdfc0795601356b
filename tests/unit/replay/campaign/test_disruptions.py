"""Checkpoints go only where the scenario is quiet: after everything before them has settled."""

from __future__ import annotations

import random

from copier_gui.replay.campaign.disruptions import SETTLE_S, checkpoints, faults, switches


def test_a_checkpoint_waits_for_actions_and_faults_to_end():
    timeline = [{"at": 1.0, "action": "open"}, {"at": 7.0 + SETTLE_S + 1.0, "action": "close"}]
    trouble = [{"at": 2.0, "kind": "disconnect", "account": "s", "duration_ms": 5000}]
    assert checkpoints(timeline, trouble) == [7.0 + SETTLE_S]


def test_no_checkpoint_while_a_switch_is_off_or_the_gap_is_short():
    quiet = SETTLE_S + 5.0
    timeline = [{"at": 1.0, "action": "open"}, {"at": 5.0, "action": "close"},
                {"at": 5.0 + quiet, "action": "open"},
                {"at": 6.0 + quiet, "action": "autotrading_off", "account": "s"},
                {"at": 5.0 + 2 * quiet + 20.0, "action": "close"},
                {"at": 5.0 + 2 * quiet + 21.0, "action": "open"}]
    assert checkpoints(timeline, []) == [5.0 + SETTLE_S]
    back_on = [*timeline, {"at": 10.0 + quiet, "action": "autotrading_on", "account": "s"}]
    assert checkpoints(back_on, []) == [5.0 + SETTLE_S, 10.0 + quiet + SETTLE_S]


def test_crashes_follow_master_actions_within_a_few_milliseconds():
    rng = random.Random(3)
    times = [2.0, 9.0, 17.0, 30.0]
    after = total = 0
    for _ in range(50):
        for f in faults(rng, times, ["a", "b"], "master", times[-1]):
            if f["kind"] == "copier_crash":
                total += 1
                after += any(0 < f["at"] - t <= 0.15 for t in times)
    assert total >= 100 and after >= total * 0.6


def test_a_switch_turned_back_on_was_off_on_that_account_before():
    rng = random.Random(5)
    left_off = 0
    for _ in range(80):
        off: dict[tuple[str, str], float] = {}
        for action in sorted(switches(rng, [2.0, 10.0], ["a", "b"], "master", 10.0),
                             key=lambda a: a["at"]):
            lever, state = action["action"].rsplit("_", 1)
            key = (action["account"], lever)
            if state in ("off", "lost"):
                assert key not in off
                off[key] = action["at"]
            else:
                assert off.pop(key) < action["at"]
        left_off += len(off)
    assert left_off  # some accounts stay off to the end: their gaps need journaled reasons
