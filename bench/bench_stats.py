"""What the benchmark scripts share: per-call timings as p50/p99 in microseconds, and a process's
memory read from /proc (psutil where there is no /proc)."""

from __future__ import annotations

import statistics


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100.0 * (len(ordered) - 1))))
    return ordered[index]


def summary(samples_ns: list[int]) -> dict:
    """Per-call nanosecond timings as microsecond p50, p99, mean and max."""
    us = [s / 1000.0 for s in samples_ns]
    return {
        "calls": len(us),
        "p50_us": round(percentile(us, 50), 2),
        "p99_us": round(percentile(us, 99), 2),
        "mean_us": round(statistics.fmean(us), 2),
        "max_us": round(max(us), 2),
    }


def memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) in MB; PSS shares common pages fairly, so it adds up across processes."""
    rss = pss = 0.0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1]) / 1024
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1]) / 1024
    except OSError:
        import psutil

        rss = psutil.Process(pid).memory_info().rss / 2**20
    return rss, pss
