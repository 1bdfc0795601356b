"""Summaries the benchmark scripts share: per-call timings as p50/p99 in microseconds."""

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
