"""The prop campaign: seeds give the same valid scenarios, runs pass the oracle, and the oracle,
written apart from the copier's limit code, catches each kind of wrong run it is there for."""

from __future__ import annotations

import copy
from functools import cache

import pytest

from copier_gui.replay.campaign.prop_generator import generate, reset_instants, scenario
from copier_gui.replay.campaign.prop_oracle import judge
from copier_gui.replay.runner import run_scenario

# Seeds whose runs reach limits: a daily loss and a maximum loss with stop_entries (2), flatten (5).
SEEDS = (2, 5, 6, 9)


@cache
def run(seed: int) -> dict:
    return run_scenario(scenario(seed))


def test_a_seed_is_always_the_same_valid_scenario():
    assert generate(7) == generate(7) != generate(8)
    scenario(7)


def test_resets_are_found_in_each_zone_across_daylight_saving():
    # 17:00 New York is 22:00 UTC in winter and 21:00 UTC in summer.
    assert [r % 86400 for r in reset_instants("17:00 America/New_York", 1_795_000_000, 1_795_000_000 + 3 * 86400)] \
        == [22 * 3600] * 3
    assert [r % 86400 for r in reset_instants("17:00 America/New_York", 1_782_000_000, 1_782_000_000 + 86400)] \
        == [21 * 3600]


@pytest.mark.parametrize("seed", SEEDS)
def test_random_prop_runs_pass_the_oracle(seed):
    report = run(seed)
    assert judge(generate(seed), report) == []


def _kinds(data: dict, report: dict) -> set[str]:
    return {v.kind for v in judge(data, report)}


def test_the_oracle_catches_a_breach_never_announced_and_entries_after_one():
    data, report = generate(2), copy.deepcopy(run(2))
    said = [r for r in report["refusals"] if r["account"] == "s1" and r["reason"].startswith("risk: daily loss ")]
    assert said
    report["refusals"] = [r for r in report["refusals"] if r not in said]
    assert "missed breach" in _kinds(data, report)
    report = copy.deepcopy(run(2))
    late = {**next(c for c in report["copies"] if c["slave"] == "s1" and c["action"] == "open"),
            "request_sent_at_s": said[0]["at_s"] + 20.0, "master_ticket": 1}
    report["copies"].append(late)
    assert "entry after breach" in _kinds(data, report)


def test_the_oracle_catches_a_false_breach_a_flatten_not_done_an_orphan_and_a_duplicate():
    data, report = generate(2), copy.deepcopy(run(2))
    report["refusals"].insert(0, {"at_s": 4.0, "account": "s0", "master_ticket": 0,
                                  "reason": "risk: daily loss 999.00 USD >= 450.00 USD (made up)"})
    assert "false breach" in _kinds(data, report)
    data, report = generate(5), copy.deepcopy(run(5))
    flattened = next(e for e in report["events"] if "-> halted" in e["text"])
    slave = flattened["account"]
    copied = next(c for c in report["copies"] if c["slave"] == slave and c["action"] == "open")
    for cp in report["checkpoints"]:
        if cp["at_s"] > flattened["at_s"] + 10:
            cp["accounts"][slave]["positions"] = [{"symbol": copied["symbol"], "volume": 0.1, "tag": "cg|1|0"}]
    assert "held after flatten" in _kinds(data, report)
    report["accounts"][slave]["positions"] = [{"symbol": copied["symbol"], "volume": 0.1, "tag": "cg|1|0"}]
    report["copies"].append(dict(copied))
    assert {"orphan", "duplicate"} <= _kinds(data, report)
