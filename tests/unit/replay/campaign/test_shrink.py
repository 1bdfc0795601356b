"""Shrinking keeps what the failure needs and drops the rest, within its budget."""

from __future__ import annotations

from copier_gui.replay.campaign.generator import generate
from copier_gui.replay.campaign.shrink import shrink
from copier_gui.replay.scenario import parse_scenario


def _needs_trade(name: str):
    def fails(data: dict, kind: str, account: str) -> bool:
        return any(a.get("id") == name for a in data["timeline"])
    return fails


def test_everything_the_failure_does_not_need_is_dropped():
    data = generate(5)
    keep = next(a["id"] for a in data["accounts"] if a["role"] == "slave")
    trade = data["timeline"][0]["id"]
    small, dropped = shrink(data, "duplicate", keep, fails=_needs_trade(trade), budget=500)
    parse_scenario(small)
    assert [a["id"] for a in small["accounts"]] == ["master", keep]
    assert {a.get("id") for a in small["timeline"]} == {trade}
    assert small["faults"] == []
    assert set(small["brokers"]) == {a["broker"] for a in small["accounts"]}
    assert dropped and "shrunk" in small["description"]


def test_the_budget_bounds_the_replays():
    calls = []

    def fails(data, kind, account):
        calls.append(1)
        return False

    data = generate(5)
    small, dropped = shrink(data, "duplicate", data["accounts"][1]["id"], fails=fails, budget=7)
    assert len(calls) == 7 and dropped == []
    assert small["timeline"] == data["timeline"]


def test_a_switch_is_dropped_with_its_switching_back():
    data = generate(5)
    slave = data["accounts"][1]["id"]
    off = {"at": 3.0, "action": "autotrading_off", "account": slave}
    on = {"at": 6.0, "action": "autotrading_on", "account": slave}
    data["timeline"] += [off, on]
    seen = []

    def fails(candidate, kind, account):
        seen.append((off in candidate["timeline"], on in candidate["timeline"]))
        return any("id" in a for a in candidate["timeline"])

    small, _ = shrink(data, "duplicate", slave, fails=fails, budget=500)
    assert set(seen) <= {(True, True), (False, False)} and (False, False) in seen
    assert off not in small["timeline"] and on not in small["timeline"]
