"""Shrinking a failing scenario: drop slaves, trades and faults one at a time while the same kind
of violation still shows, so the scenario handed to whoever fixes it is as small as it can be.

Greedy and budgeted: each try is a full replay. What is left still fails the same way, by the
same oracle; it is not guaranteed to be the smallest such scenario, only one where nothing more
can be dropped alone.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator

from copier_gui.replay.campaign.disruptions import busy_spans
from copier_gui.replay.campaign.generator import QUIET_TAIL_S
from copier_gui.replay.campaign.judge import judge
from copier_gui.replay.scenario import ScenarioError, parse_scenario


def _fails(data: dict, kind: str, account: str) -> bool:
    return any(v.kind == kind and v.account == account for v in judge(data)[2])


def _retimed(data: dict) -> dict:
    ends = [end for _, end in busy_spans(data["timeline"], data["faults"]) if end != math.inf]
    data["duration_s"] = round(max(ends, default=0.0) + QUIET_TAIL_S, 3)
    data["checkpoints"] = [c for c in data.get("checkpoints", ()) if c < data["duration_s"]]
    used = {a["broker"] for a in data["accounts"]}
    data["brokers"] = {name: b for name, b in data["brokers"].items() if name in used}
    return data


def _smaller(data: dict, keep_account: str) -> Iterator[tuple[str, dict]]:
    """Every scenario one step smaller than ``data``, with what was dropped."""
    master = next(a["id"] for a in data["accounts"] if a["role"] == "master")
    for account in data["accounts"]:
        if account["id"] in (master, keep_account):
            continue
        out = copy.deepcopy(data)
        out["accounts"] = [a for a in out["accounts"] if a["id"] != account["id"]]
        out["timeline"] = [a for a in out["timeline"] if a.get("account") != account["id"]]
        out["faults"] = [f for f in out["faults"] if f.get("account") != account["id"]]
        yield f"slave {account['id']}", out
    for name in dict.fromkeys(a["id"] for a in data["timeline"] if "id" in a):
        out = copy.deepcopy(data)
        out["timeline"] = [a for a in out["timeline"] if a.get("id") != name]
        yield f"trade {name}", out
    for i, fault in enumerate(data["faults"]):
        out = copy.deepcopy(data)
        del out["faults"][i]
        yield f"fault {fault['kind']} at {fault['at']:g}", out
    for i, action in enumerate(data["timeline"]):
        if "account" in action:
            # A switch goes with its switching back, or the failure may change its nature (a
            # slave left off for good fails in ways the original did not).
            if action["action"].endswith(("_off", "_lost")):
                out = copy.deepcopy(data)
                out["timeline"] = [a for j, a in enumerate(data["timeline"])
                                   if j != i and j != _switched_back(data["timeline"], i)]
                yield f"{action['action']} on {action['account']} at {action['at']:g}", out
        elif action["action"] not in ("open", "place_pending"):
            out = copy.deepcopy(data)
            del out["timeline"][i]
            yield f"{action['action']} {action['id']} at {action['at']:g}", out


def _switched_back(timeline: list[dict], i: int) -> int | None:
    """The index of the action that undoes switch ``timeline[i]``, if any."""
    off = timeline[i]
    lever = off["action"].rsplit("_", 1)[0]
    later = [(a["at"], j) for j, a in enumerate(timeline)
             if a.get("account") == off["account"] and a["action"].rsplit("_", 1)[0] == lever
             and a["action"].endswith(("_on", "_restored")) and a["at"] >= off["at"]]
    return min(later)[1] if later else None


def shrink(data: dict, kind: str, account: str, *, budget: int = 80,
           fails: Callable[[dict, str, str], bool] = _fails) -> tuple[dict, list[str]]:
    """The smallest scenario found where the oracle still finds ``kind`` on slave ``account``,
    and what was dropped, in order. At most ``budget`` replays."""
    current = copy.deepcopy(data)
    dropped: list[str] = []
    tries = 0
    progress = True
    while progress and tries < budget:
        progress = False
        for what, candidate in _smaller(current, account):
            if tries >= budget:
                break
            candidate = _retimed(candidate)
            try:
                parse_scenario(candidate)
            except ScenarioError:
                continue
            tries += 1
            if fails(candidate, kind, account):
                current, progress = candidate, True
                dropped.append(what)
                break
    current["description"] = f"{data.get('description', '')} (shrunk: {len(dropped)} parts dropped)"
    return current, dropped
