"""What the benchmark scripts share: per-call timings as p50/p99 in microseconds, a process's
memory read from /proc (psutil where there is no /proc), and the share of the machine's CPU time its
hypervisor took while a run went on."""

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


def machine_cpu_ticks() -> tuple[int, int] | None:
    """(stolen, all) CPU ticks of the whole machine since boot, from /proc/stat; None elsewhere.

    On a virtual machine the hypervisor can run another guest on a core this one thinks it owns:
    that time ("steal") passes inside whatever the guest was running, so a Python step timed on its
    own thread's CPU clock looks slower than it is. A run's figures are read with its steal share.
    """
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    ticks = [int(v) for v in fields[1:]]
    # user nice system idle iowait irq softirq steal [guest guest_nice]: the guests are already
    # counted in user and nice.
    return (ticks[7] if len(ticks) > 7 else 0), sum(ticks[:8])


def steal_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """The share of all CPU time between two readings that the hypervisor took, or None."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return round((after[0] - before[0]) / (after[1] - before[1]), 3)
