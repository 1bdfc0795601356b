"""What goes wrong in a generated scenario, and when it is quiet enough to look.

Faults (copier crashes right after master actions, with a slow slave around them so a request is
in flight; disconnects, latency, rejections of any code, requotes, partial fills), terminal
switches on any account (AutoTrading, the connection, trading from Python), and checkpoints placed
only in quiet spells, once everything before them has had time to settle.
"""

from __future__ import annotations

import math
import random

from copier_gui.sim.faults import INJECTABLE_REJECTIONS

# A checkpoint comes this long after the last action and the end of the last fault, so copies in
# flight (slow brokers, a restart, a reconnect with its back-off) have landed by then. The longest
# wait the copier makes by design is for an unanswered netting deal (10 s, docs/faults.md), then a
# reconciliation pass (2 s); a refused entry retried later has a journaled reason meanwhile.
SETTLE_S = 15.0


def _free(busy: list[tuple[float, float]], start: float, end: float) -> bool:
    return all(end <= a or start >= b for a, b in busy)


def faults(rng: random.Random, times: list[float], slaves: list[str], master: str,
           last: float) -> list[dict]:
    """The scenario's ``faults``: ``times`` are the master's action times, ``last`` the latest."""
    out: list[dict] = []
    crashes: list[tuple[float, float]] = []
    for _ in range(rng.choice([1, 2, 2, 3, 3, 4])):
        for _attempt in range(10):
            if rng.random() < 0.8:
                # Right after a master action: the copier dies mid fan-out, or between a send and
                # its bookkeeping when a slave is slow.
                at = rng.choice(times) + rng.choice([0.001, 0.004, 0.01, 0.02, 0.05, 0.12])
            else:
                at = rng.uniform(0.5, last)
            restart = rng.choice([0, 20, 100, 500, 1500, 4000])
            if crashes and rng.random() < 0.1:
                # While the copier is down or starting: the restart is postponed.
                first, end = rng.choice(crashes)
                at = first + (end - first) * rng.uniform(0.2, 1.2)
                crashes.append((round(at, 3), round(at, 3)))
                out.append({"at": round(at, 3), "kind": "copier_crash", "restart_after_ms": restart})
                break
            at = round(at, 3)
            if _free(crashes, at, at + restart / 1000.0 + 0.001):
                crashes.append((at, at + restart / 1000.0 + 0.001))
                out.append({"at": at, "kind": "copier_crash", "restart_after_ms": restart})
                break
    busy: dict[tuple[str, str], list[tuple[float, float]]] = {}

    def spell(kind: str, account: str, at: float, duration_ms: int) -> bool:
        spans = busy.setdefault((kind, account), [])
        if _free(spans, at, at + duration_ms / 1000.0):
            spans.append((at, at + duration_ms / 1000.0))
            return True
        return False

    for at, _ in list(crashes):
        if rng.random() < 0.6:
            # A slow slave around the crash: its request is in flight when the copier dies, so
            # the crash falls between the send and the bookkeeping of its answer.
            account = rng.choice(slaves)
            start = round(max(0.0, at - rng.uniform(0.2, 1.0)), 3)
            duration = rng.choice([1500, 3000])
            if spell("latency", account, start, duration):
                out.append({"at": start, "kind": "latency", "account": account,
                               "median_ms": rng.choice([40, 80, 150, 300]), "duration_ms": duration})
    for account in [*slaves, master]:
        if rng.random() < (0.35 if account != master else 0.1):
            at = round(rng.uniform(0.0, last), 3)
            duration = rng.choice([2000, 5000, 15000])
            if spell("latency", account, at, duration):
                out.append({"at": at, "kind": "latency", "account": account,
                               "median_ms": rng.choice([30, 100, 300, 700]), "duration_ms": duration})
    for _ in range(rng.choice([0, 1, 1, 2])):
        account = master if rng.random() < 0.2 else rng.choice(slaves)
        at = round(rng.choice(times) + rng.uniform(-1.0, 0.5) if rng.random() < 0.6
                   else rng.uniform(0.5, last), 3)
        at = max(0.0, at)
        duration = rng.choice([300, 1500, 5000, 12000])
        if spell("disconnect", account, at, duration):
            out.append({"at": at, "kind": "disconnect", "account": account, "duration_ms": duration})
    for _ in range(rng.choice([0, 1, 1, 2])):
        out.append({"at": round(max(0.0, rng.choice(times) - 0.001), 3), "kind": "reject",
                       "account": rng.choice(slaves), "retcode": rng.choice(INJECTABLE_REJECTIONS),
                       "count": rng.randint(1, 3)})
    if rng.random() < 0.3:
        out.append({"at": round(max(0.0, rng.choice(times) - 0.001), 3), "kind": "requote",
                       "account": rng.choice(slaves), "count": rng.randint(1, 4)})
    if rng.random() < 0.3:
        out.append({"at": round(max(0.0, rng.choice(times) - 0.001), 3), "kind": "partial_fill",
                       "account": rng.choice(slaves), "count": rng.randint(1, 2)})
    return out


def switches(rng: random.Random, times: list[float], slaves: list[str], master: str,
             last: float) -> list[dict]:
    """Terminal actions: AutoTrading, the connection and trading from Python switched off on one
    account, mostly back on later (an account left off must show reasons, not silence)."""
    out: list[dict] = []
    spans: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(rng.choice([0, 0, 1, 1, 2])):
        lever = rng.choice(["autotrading", "connection", "python_api"])
        account = master if rng.random() < 0.2 else rng.choice(slaves)
        at = round(rng.choice(times) + rng.choice([-0.5, -0.01, 0.002, 0.02, 0.5])
                   if rng.random() < 0.7 else rng.uniform(0.5, last), 3)
        at = max(0.0, at)
        back = None if rng.random() < 0.15 else round(at + rng.choice([0.3, 1.5, 4.0, 10.0]), 3)
        span = (at, back if back is not None else math.inf)
        busy = spans.setdefault((lever, account), [])
        if not _free(busy, *span):
            continue
        busy.append(span)
        off, on = {"autotrading": ("autotrading_off", "autotrading_on"),
                   "connection": ("connection_lost", "connection_restored"),
                   "python_api": ("python_api_off", "python_api_on")}[lever]
        out.append({"at": at, "action": off, "account": account})
        if back is not None:
            out.append({"at": back, "action": on, "account": account})
    return out


def busy_spans(timeline: list[dict], faults: list[dict]) -> list[tuple[float, float]]:
    """When something happens or is out of order: actions, faults, switches left off."""
    spans = [(a["at"], a["at"]) for a in timeline]
    for f in faults:
        spans.append((f["at"], f["at"] + (f.get("duration_ms", 0) + f.get("restart_after_ms", 0)) / 1000.0))
    # A switch turned off on an account is an outage until it is turned back on (or the end).
    off: dict[tuple[str, str], float] = {}
    for a in sorted((a for a in timeline if "account" in a), key=lambda a: a["at"]):
        key = (a["action"].rsplit("_", 1)[0], a["account"])
        if a["action"].endswith(("_off", "_lost")):
            off[key] = a["at"]
        else:
            spans.append((off.pop(key, a["at"]), a["at"]))
    spans.extend((at, math.inf) for at in off.values())
    return sorted(spans)


def checkpoints(timeline: list[dict], faults: list[dict]) -> list[float]:
    """Times in quiet spells, SETTLE_S after everything before them has ended."""
    out = []
    settled = 0.0
    for start, end in busy_spans(timeline, faults):
        if start > settled + SETTLE_S + 0.5 and settled > 0:
            out.append(round(settled + SETTLE_S, 3))
        settled = max(settled, end)
    return out
