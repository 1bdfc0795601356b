"""Cost of ``Journal.record()`` on the copier's hot path, and how long the writer takes to catch up.

Records entries shaped like the copier's own (a plan with a few fields, an Enum, a nested dict)
into a journal file in a temporary folder, timing each call with perf_counter_ns, then times the
flush that commits them all. Prints JSON with p50/p99 in microseconds. The target: p50 <= 10 us.

Run: python bench/journal_record.py [--calls N]
"""

from __future__ import annotations

import argparse
import enum
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

from bench_stats import percentile, summary

from copier_gui.clock import SystemClock
from copier_gui.core.journal import Journal, Kind

TARGET_P50_US = 10.0


class Side(enum.Enum):
    BUY = "buy"
    SELL = "sell"


def timer_overhead_ns(n: int = 10_000) -> int:
    """The cost of two back-to-back perf_counter_ns calls, included in every sample above."""
    samples = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        samples.append(time.perf_counter_ns() - t0)
    return int(percentile(samples, 50))


def bench(calls: int, folder: Path, *, with_data: bool) -> dict:
    clock = SystemClock()
    record_ns: list[int] = []
    with Journal(folder / f"journal-{with_data}.sqlite3", clock) as journal:
        perf = time.perf_counter_ns
        for i in range(calls):
            if with_data:
                t0 = perf()
                journal.record(
                    Kind.PLAN,
                    "open slave leg",
                    account="slave-7",
                    copy_id=f"m1:{i}:s7:0",
                    symbol="EURUSD.m",
                    side=Side.BUY if i % 2 else Side.SELL,
                    volume=0.37,
                    price=1.08345,
                    limits={"max_slippage_points": 20, "max_delay_ms": 500},
                )
                record_ns.append(perf() - t0)
            else:
                t0 = perf()
                journal.record(Kind.INFO, "heartbeat", account="slave-7")
                record_ns.append(perf() - t0)
        t0 = perf()
        journal.flush(timeout=120.0)
        flush_ms = (perf() - t0) / 1e6
        written = journal.entries_written
        batches = journal.batches_written
    return {
        "record": summary(record_ns),
        "flush_after_last_record_ms": round(flush_ms, 2),
        "entries_written": written,
        "batches_written": batches,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50_000)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter_ns()
        plan = bench(args.calls, folder, with_data=True)
        plan["total_record_and_flush_ms"] = round((time.perf_counter_ns() - t0) / 1e6, 2)
        bare = bench(args.calls, folder, with_data=False)

    report = {
        "benchmark": "journal_record",
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "timer_overhead_ns_p50": timer_overhead_ns(),
        "plan_entry_with_data": plan,
        "entry_without_data": bare,
        "target_p50_us": TARGET_P50_US,
        "meets_target": plan["record"]["p50_us"] <= TARGET_P50_US,
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0 if report["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
