"""Soak: the headless demo (10 slaves, a fast master strategy) for N minutes, sampled as it runs.

A VPS runs the copier for months, so memory must level off. This starts ``copier-gui --demo
--headless`` as a real process in a throwaway user folder and samples, every few seconds, the RSS of
the copier and of each worker process it started, and the journal's size. After the warm-up it
reports the copier's RSS growth: the target is within 5 % over 30 minutes.

Run: python bench/soak.py [--minutes 30] [--slaves 10] [--sample 10] [--warmup 3]
Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_stats import memory_mb


def _children(pid: int) -> list[int]:
    """The process's children (the workers), from /proc."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(c) for c in f.read().split()]
    except OSError:
        return []
    return found


def _sample(pid: int, journal: Path, started: float) -> dict:
    workers = [memory_mb(child)[0] for child in _children(pid)]
    return {"at_s": round(time.monotonic() - started, 1), "copier_rss_mb": round(memory_mb(pid)[0], 1),
            "workers": len(workers), "workers_rss_mb": [round(w, 1) for w in workers],
            "journal_mb": round(journal.stat().st_size / 2**20, 2) if journal.exists() else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--slaves", type=int, default=10)
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=3.0, help="minutes left out of the growth figure")
    parser.add_argument("--trade-interval", type=float, default=0.5, help="seconds between master trades")
    args = parser.parse_args()
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory(prefix="copier-gui-soak-") as home:
        journal = Path(home) / "journal.sqlite3"
        process = subprocess.Popen(
            [sys.executable, "-m", "copier_gui", "--home", home, "--demo", "--headless",
             "--slaves", str(args.slaves), "--trade-interval", str(args.trade_interval),
             "--duration", str(seconds), "--log-level", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        started = time.monotonic()
        samples = []
        while process.poll() is None:
            time.sleep(args.sample)
            if process.poll() is None:
                samples.append(_sample(process.pid, journal, started))
        errors = process.stderr.read()
    settled = [s for s in samples if s["at_s"] >= args.warmup * 60] or samples[-1:]
    first, last = (settled[0]["copier_rss_mb"], settled[-1]["copier_rss_mb"]) if settled else (0.0, 0.0)
    print(json.dumps({
        "python": platform.python_version(), "benchmark": "soak", "minutes": args.minutes,
        "slaves": args.slaves, "trade_interval_s": args.trade_interval, "exit_code": process.returncode,
        "stderr_tail": errors.strip().splitlines()[-3:],
        "copier_rss_after_warmup_mb": {"first": first, "last": last, "max": max(
            (s["copier_rss_mb"] for s in settled), default=0.0)},
        "copier_rss_growth_pct": round(100 * (last - first) / first, 2) if first else None,
        "target_growth_pct": 5.0,
        "journal_mb": samples[-1]["journal_mb"] if samples else 0.0,
        "samples": samples,
    }, indent=2))


if __name__ == "__main__":
    main()
