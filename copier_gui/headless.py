"""Headless mode: the copier on a plain asyncio loop, printing one line per copy or refusal and a
drift summary per slave at the end (or on Ctrl-C). The same core the window runs."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
import sys
from collections.abc import Callable
from typing import TextIO

from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.core.copier import Copier
from copier_gui.core.copybook import CopyBook
from copier_gui.core.executor import Notice
from copier_gui.core.journal import Journal
from copier_gui.core.metrics import Metrics
from copier_gui.demo.rig import build_demo
from copier_gui.paths import UserPaths

_SHOWN = {"copy", "refusal", "failure", "state", "master"}


def format_notice(notice: Notice, clock: Clock) -> str:
    stamp = dt.datetime.fromtimestamp(clock.time(), tz=dt.UTC).strftime("%H:%M:%S.%f")[:-3]
    label = {"copy": "COPY", "refusal": "REFUSED", "failure": "FAILED", "state": "STATE",
             "master": "MASTER"}.get(notice.kind, notice.kind.upper())
    return f"{stamp} {label:<7} {notice.account:<9} {notice.text}"


def format_summary(metrics: Metrics, accounts: dict[str, str]) -> str:
    lines = ["", "Drift summary per slave (latency: master fill -> slave fill; slippage: + is worse for the trader)",
             f"{'slave':<10} {'broker':<24} {'copies':>6} {'refused':>7} {'failed':>6} "
             f"{'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'slip mean':>9} {'slip max':>9}"]
    summary = metrics.summary()
    for slave_id, broker in accounts.items():
        s = summary.get(slave_id)
        if s is None:
            lines.append(f"{slave_id:<10} {broker[:24]:<24} {0:>6} {0:>7} {0:>6}")
            continue
        lines.append(
            f"{slave_id:<10} {broker[:24]:<24} {s['copies']:>6} {s['refusals']:>7} {s['failures']:>6} "
            f"{s['latency_p50_ms']:>8.2f} {s['latency_p95_ms']:>8.2f} {s['latency_max_ms']:>8.2f} "
            f"{s['slippage_mean_points']:>9.2f} {s['slippage_max_points']:>9.2f}")
    return "\n".join(lines)


async def run_demo_headless(*, slaves: int, duration: float | None, paths: UserPaths, seed: int = 0,
                            poll_interval_s: float = 0.005, out: TextIO = sys.stdout,
                            clock: Clock = SYSTEM_CLOCK, strategy_interval_s: float = 2.0,
                            on_ready: Callable[[Copier], None] | None = None, workers: bool = True) -> Metrics:
    paths.ensure()
    # The demo's terminals run in worker processes, one per account, as real terminals do.
    rig = build_demo(slaves, clock=clock, seed=seed, strategy_interval_s=strategy_interval_s,
                     workers=workers, master_poll_s=poll_interval_s)
    journal = Journal(paths.journal_file, clock, backups_dir=paths.backups_dir)
    # The demo's brokers are new each run, so its copy book need not outlive the process.
    copybook = CopyBook(None)
    metrics = Metrics()
    copier = Copier(rig.master.connector, rig.links, journal=journal, clock=clock, copybook=copybook,
                    metrics=metrics, poll_interval_s=poll_interval_s)

    def show(notice: Notice) -> None:
        if notice.kind in _SHOWN:
            print(format_notice(notice, clock), file=out, flush=True)

    copier.subscribe(show)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    print(f"copier-gui demo: master at {rig.master.profile}, {slaves} slave(s) at "
          f"{', '.join(s.profile for s in rig.slaves)}; journal {paths.journal_file}", file=out, flush=True)
    try:
        await copier.start()
        if on_ready is not None:
            on_ready(copier)
        strategy = asyncio.create_task(rig.strategy.run(), name="demo-strategy")
        try:
            if duration is None:
                await stop.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=duration)
        finally:
            strategy.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await strategy
            # Give copies already in flight a moment to land before the summary.
            await asyncio.sleep(min(0.5, copier.poll_interval_s * 20))
            await copier.stop()
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)
            loop.remove_signal_handler(signal.SIGTERM)
        journal.close()
        copybook.close()
        rig.close()
    print(format_summary(metrics, {link.id: link.broker for link in rig.links}), file=out, flush=True)
    return metrics
