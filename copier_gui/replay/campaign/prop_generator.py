"""Random prop-firm scenarios from a seed: slaves under random daily-loss and maximum-loss rules
(every baseline, static and trailing floors, locks, stop_entries and flatten, firms' resets in
several zones), a master that trades while the market is pushed to and past their limits, deposits
and withdrawals, copier crashes and slave disconnects. prop_oracle judges each run on the brokers' own figures.

One seed gives one scenario, always the same: a failing seed is a bug report.
"""

from __future__ import annotations

import datetime as _dt
import random
from zoneinfo import ZoneInfo

from copier_gui.replay.scenario import Scenario, parse_scenario

# The resets firms publish: New York's 5 pm (the forex day), midnight in Prague (FTMO), midnight in
# UTC+2 (written the POSIX way), midnight UTC, and one in London's evening.
RESETS = ("17:00 America/New_York", "00:00 Europe/Prague", "00:00 Etc/GMT-2", "00:00 UTC", "22:00 Europe/London")
# Weekdays on which every forex session stays open through the evening resets (not Friday).
_DAYS = tuple(_dt.date(2026, 11, 23) + _dt.timedelta(days=d) for d in (0, 1, 2, 3, 7, 8, 9, 10))
SYMBOLS = ("EURUSD", "GBPUSD", "USDJPY")
SLAVE_PROFILES = ("meridian_ecn", "apex_prop", "harbor_fx")
INITIAL = 10_000.0
DURATION_S = 420.0
CHECKPOINT_EVERY_S = 2.0
QUIET_S = 6.0  # no price move this close to a reset: the day's baseline is read a pass after it
CLOSE_ALL_BEFORE_END_S = 40.0


def reset_instants(phrase: str, start: float, end: float) -> list[float]:
    """The resets of ``phrase`` ("17:00 America/New_York") in [start, end), as UTC seconds."""
    time, zone = phrase.split()
    hour, minute = map(int, time.split(":"))
    tz = ZoneInfo(zone)
    day = _dt.datetime.fromtimestamp(start, tz).date() - _dt.timedelta(days=1)
    found = []
    while True:
        at = _dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).timestamp()
        if at >= end:
            return found
        if at >= start:
            found.append(at)
        day += _dt.timedelta(days=1)


def _rule(rng: random.Random, reset: str) -> dict:
    prop: dict = {"reset": reset}
    kinds = rng.choice((("daily",), ("max",), ("daily", "max")))
    if "daily" in kinds:
        size = ({"amount": rng.choice((120, 200, 300, 450))} if rng.random() < 0.6
                else {"percent": rng.choice((1.5, 2, 3))})
        prop["daily_loss"] = {**size, "baseline": rng.choice(("balance", "equity", "higher")),
                              "action": rng.choice(("stop_entries", "flatten"))}
    if "max" in kinds:
        prop["max_loss"] = {"amount": rng.choice((250, 400, 600)), "initial_balance": INITIAL,
                            "mode": rng.choice(("static", "trailing_intraday", "trailing_intraday")),
                            "lock_at_initial": rng.random() < 0.4,
                            "action": rng.choice(("stop_entries", "flatten"))}
    return prop


def generate(seed: int) -> dict:
    """The scenario of ``seed`` as data (what a YAML file holds)."""
    rng = random.Random(f"copier_gui.prop_campaign:{seed}")
    reset = rng.choice(RESETS)
    day = rng.choice(_DAYS)
    (first,) = reset_instants(reset, _dt.datetime(day.year, day.month, day.day, tzinfo=_dt.UTC).timestamp(),
                              _dt.datetime(day.year, day.month, day.day, tzinfo=_dt.UTC).timestamp() + 86_400)
    # Half the runs cross the firm's reset, the others run inside one day.
    start = first - rng.uniform(60, 300) if rng.random() < 0.5 else first + rng.uniform(600, 3600)
    start = float(int(start))
    resets = [r - start for r in reset_instants(reset, start, start + DURATION_S)]
    slaves = []
    for i in range(rng.randint(1, 3)):
        slaves.append({"id": f"s{i}", "role": "slave", "broker": rng.choice(SLAVE_PROFILES), "balance": INITIAL,
                       "rules": {"sizing": {"mode": "lot_multiplier", "multiplier": rng.choice((0.5, 1.0, 2.0))},
                                 "risk": {"prop": _rule(rng, reset)}}})
    timeline: list[dict] = []
    held: dict[str, str] = {}  # id -> symbol
    at, n = 3.0, 0
    last = DURATION_S - CLOSE_ALL_BEFORE_END_S - 5
    while at < last:
        roll = rng.random()
        if (roll < 0.35 and len(held) < 4) or not held:
            n += 1
            name = f"p{n}"
            symbol = rng.choice(SYMBOLS)
            timeline.append({"at": round(at, 2), "action": "open", "id": name, "symbol": symbol,
                             "side": rng.choice(("buy", "sell")), "volume": rng.choice((0.2, 0.5, 1.0))})
            held[name] = symbol
        elif roll < 0.8:
            if all(abs(at - r) > QUIET_S for r in resets):
                symbol = rng.choice(sorted(set(held.values())))
                points = rng.choice((-1, -1, 1)) * rng.randrange(60, 500, 10)
                timeline.append({"at": round(at, 2), "action": "move_price", "symbol": symbol, "points": points})
        else:
            name = rng.choice(sorted(held))
            timeline.append({"at": round(at, 2), "action": "close", "id": name})
            del held[name]
        at += rng.uniform(2.0, 12.0)
    # The back office moves cash now and then (a payout, a top-up): not trading, to the firm or the copier.
    for slave in slaves:
        if rng.random() < 0.35:
            when = rng.uniform(8, last)
            if all(abs(when - r) > QUIET_S for r in resets):
                timeline.append({"at": round(when, 2), "account": slave["id"],
                                 "action": rng.choice(("deposit", "withdraw")),
                                 "amount": float(rng.choice((150, 400, 900)))})
    end_at = DURATION_S - CLOSE_ALL_BEFORE_END_S
    for i, name in enumerate(sorted(held)):
        timeline.append({"at": end_at + i * 0.5, "action": "close", "id": name})
    faults = []
    for _ in range(rng.choice((0, 1, 1, 2))):
        faults.append({"at": round(rng.uniform(5, last), 2), "kind": "copier_crash",
                       "restart_after_ms": rng.choice((300, 1000, 2500))})
    if rng.random() < 0.3:
        slave = rng.choice(slaves)["id"]
        faults.append({"at": round(rng.uniform(5, last), 2), "kind": "disconnect", "account": slave,
                       "duration_ms": rng.choice((1500, 4000))})
    checkpoints = sorted({round(t * CHECKPOINT_EVERY_S, 3) for t in range(1, int(DURATION_S / CHECKPOINT_EVERY_S))}
                         | {round(r, 3) for r in resets})
    return {
        "description": f"prop campaign seed {seed}: reset {reset}",
        "seed": seed,
        "start": _dt.datetime.fromtimestamp(start, _dt.UTC).isoformat(),
        "duration_s": DURATION_S,
        "poll_interval_ms": 20,
        "brokers": {"m": {"profile": "meridian_ecn"}, **{p: {"profile": p} for p in SLAVE_PROFILES}},
        "accounts": [{"id": "master", "role": "master", "broker": "m", "balance": INITIAL}, *slaves],
        "timeline": timeline,
        "faults": faults,
        "checkpoints": [c for c in checkpoints if c < DURATION_S],
    }


def scenario(seed: int) -> Scenario:
    return parse_scenario(generate(seed), source=f"prop campaign seed {seed}")
