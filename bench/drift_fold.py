"""Cost of drift attribution from the journal: reading it, folding it, and the figures per refresh.

Writes a journal file shaped like a busy copier's (per master trade: its events, a request and a
result per slave, each slave's fills, costs, and marks every minute) through ``Journal.record``,
then times, in the same run:

- ``read``: ``Journal.entries()`` of the whole file: the baseline every fold pays;
- ``fold``: a fresh ``DriftLedger`` fed the whole journal, then ``drift()``;
- ``refresh``: ``drift()`` on a ledger already fed, what the window recomputes on each tick;
- ``feed_new``: feeding the newest 100 entries to a ledger fed with the rest (and refreshed once,
  as the window's previous tick did), then the figures again: the window's tick.

Prints JSON with p50/p99 in milliseconds and the fold's ratio to the read.

Run: python bench/drift_fold.py [--trades N] [--slaves N] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

from bench_stats import percentile

from copier_gui.clock import VirtualClock
from copier_gui.core.drift_ledger import DriftLedger
from copier_gui.core.journal import Journal

K = 100_000.0


def write_journal(path: Path, trades: int, slaves: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    clock = VirtualClock(1_790_000_000.0)
    journal = Journal(path, clock)
    ids = [f"slave{i}" for i in range(slaves)]
    journal.record("state", "copier starting", account="master", slaves=ids)
    for sid in ids:
        journal.record("state", f"{sid} connected", account=sid, state="connected", currency="USD")
    last_marks = clock.time()
    for ticket in range(1, trades + 1):
        side = rng.choice(("buy", "sell"))
        entry = 1.1 + rng.uniform(-0.01, 0.01)
        exit_ = entry + rng.uniform(-0.003, 0.003)
        volume = round(rng.uniform(0.1, 2.0), 2)
        journal.record("master_event", f"master #{ticket} opened", account="master", ticket=ticket,
                       kind_of_event="opened", symbol="EURUSD", master_time_msc=0, side=side, volume=volume,
                       previous_volume=0.0, price_open=entry, price=entry)
        for sid in ids:
            quote = entry + rng.uniform(-0.0002, 0.0002)
            cid = f"master:{ticket}:{sid}:open"
            journal.record("request", "open", account=sid, copy_id=cid, request={"symbol": "EURUSD", "volume": volume})
            journal.record("result", "filled", account=sid, copy_id=cid, retcode=10009)
            journal.record("info", "copied open", account=sid, copy_id=cid, metrics={
                "slave": sid, "master_ticket": ticket, "symbol": "EURUSD", "action": "open", "volume": volume,
                "slave_price": quote + 0.00001, "master_price": entry, "side": side, "ideal_volume": volume,
                "sized_volume": volume, "master_volume": volume, "quote": quote, "money_per_price_lot": K,
                "entry_price": 0.0, "total_ms": rng.uniform(5, 50)})
        clock.advance(rng.uniform(5, 120))
        journal.record("master_event", f"master #{ticket} closed", account="master", ticket=ticket,
                       kind_of_event="closed", symbol="EURUSD", master_time_msc=0, side=side, volume=volume,
                       previous_volume=volume, price_open=entry, price=exit_)
        journal.record("costs", "", account="master", master_ticket=ticket, position=ticket, commission=-7.0 * volume,
                       swap=0.0)
        for sid in ids:
            journal.record("info", "copied close", account=sid, metrics={
                "slave": sid, "master_ticket": ticket, "symbol": "EURUSD", "action": "close", "volume": volume,
                "slave_price": exit_ + rng.uniform(-0.0001, 0.0001), "master_price": exit_, "side": side,
                "money_per_price_lot": K, "entry_price": entry})
            journal.record("costs", "", account=sid, master_ticket=ticket, position=ticket + 10**6,
                           commission=-5.0 * volume, swap=0.0)
        if clock.time() - last_marks >= 60:
            last_marks = clock.time()
            journal.record("marks", "prices of open positions", account="master",
                           marks={"master": {"EURUSD": {"buy": entry}}})
    journal.flush()
    count = len(journal.entries(limit=None))
    journal.close()
    return count


def summary(ms: list[float]) -> dict:
    return {"runs": len(ms), "p50": round(percentile(ms, 50), 2), "p99": round(percentile(ms, 99), 2),
            "max": round(max(ms), 2)}


def timed(fn, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000.0)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=2000)
    parser.add_argument("--slaves", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "journal.sqlite3"
        count = write_journal(path, args.trades, args.slaves)
        journal = Journal(path, VirtualClock(1_900_000_000.0))
        entries = journal.entries(newest_first=False)

        def read():
            journal.entries(newest_first=False)

        def fold():
            ledger = DriftLedger()
            ledger.feed(journal.entries(newest_first=False))
            ledger.drift()

        fed = DriftLedger()
        fed.feed(entries)

        def refresh():
            fed.drift()

        def feed_new():
            ledger = DriftLedger()
            ledger.feed(entries[:-100])
            ledger.drift()  # the window's previous tick: the trades closed by then are kept
            t0 = time.perf_counter()
            ledger.feed(entries[-100:])
            ledger.drift()
            return (time.perf_counter() - t0) * 1000.0

        read_ms = timed(read, args.repeat)
        fold_ms = timed(fold, args.repeat)
        refresh_ms = timed(refresh, args.repeat)
        feed_new_ms = [feed_new() for _ in range(args.repeat)]
        journal.close()
    result = {
        "benchmark": "drift_fold",
        "python": platform.python_version(),
        "entries": count,
        "trades": args.trades,
        "slaves": args.slaves,
        "read_ms": summary(read_ms),
        "fold_ms": summary(fold_ms),
        "refresh_ms": summary(refresh_ms),
        "feed_new_100_and_refresh_ms": summary(feed_new_ms),
        "fold_over_read_p50": round(summary(fold_ms)["p50"] / summary(read_ms)["p50"], 2),
    }
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
