"""Headless mode: the copier on a plain asyncio loop, printing one line per copy or refusal and a
drift summary per slave at the end (or on Ctrl-C). The same core the window runs; what it copies
between (saved accounts, the demo's brokers) is built by the caller."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TextIO

from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.core.copier import Copier
from copier_gui.core.executor import Notice
from copier_gui.core.metrics import Metrics

_SHOWN = {"copy", "refusal", "failure", "state", "master"}

Background = Callable[[], Coroutine[Any, Any, Any]]


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


async def run_headless(copier: Copier, *, duration: float | None, out: TextIO = sys.stdout,
                       clock: Clock = SYSTEM_CLOCK, background: Sequence[tuple[str, Background]] = (),
                       on_ready: Callable[[Copier], None] | None = None) -> None:
    """Run ``copier`` until ``duration`` seconds pass or SIGINT/SIGTERM, printing a line per notice.

    ``background`` coroutines (named, for the task list) start once the copier has started and are
    cancelled before it stops. The caller owns what the copier was built on and closes it after.
    """

    def show(notice: Notice) -> None:
        if notice.kind in _SHOWN:
            print(format_notice(notice, clock), file=out, flush=True)

    copier.subscribe(show)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await copier.start()
        if on_ready is not None:
            on_ready(copier)
        tasks = [asyncio.create_task(factory(), name=name) for name, factory in background]
        try:
            if duration is None:
                await stop.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=duration)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            # Give copies already in flight a moment to land before the summary.
            await asyncio.sleep(min(0.5, copier.poll_interval_s * 20))
            await copier.stop()
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)
            loop.remove_signal_handler(signal.SIGTERM)
