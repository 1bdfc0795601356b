"""Headless mode: the copier on a plain asyncio loop, printing one line per copy or refusal and a
drift summary per slave at the end (or on Ctrl-C). The same runtime the window runs, from the same
builder; what it copies between (linked accounts, the demo's brokers) is the caller's choice."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import sys
from collections.abc import Callable
from typing import TextIO

from copier_gui.assembly import Runtime, build_runtime
from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.console_out import ConsoleOut
from copier_gui.core.copier import Copier
from copier_gui.core.executor import Notice
from copier_gui.core.metrics import Metrics
from copier_gui.paths import UserPaths
from copier_gui.runtime import LinkedTerminals
from copier_gui.settings import AccountSettings, Settings
from copier_gui.stop_signals import StopSignals

log = logging.getLogger(__name__)

_SHOWN = {"copy", "refusal", "failure", "state", "master"}
REPEAT_STATE_AFTER_S = 60.0
_LINK_STATES = {"connected", "connecting", "disconnected", "degraded"}


class ConsoleLines:
    """Which notices headless mode prints.

    A terminal that stays down is retried every second or so ("connecting", "disconnected: ...").
    While an account is down, a line already shown in the last minute is not shown again, so a
    server's console (and journalctl) is not flooded; "connected", and anything after it, always
    is, so the last line shown for an account is never a stale "connected". The journal keeps all.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._shown_at: dict[tuple[str, str], float] = {}
        self._up: dict[str, bool] = {}

    def wants(self, notice: Notice) -> bool:
        if notice.kind not in _SHOWN:
            return False
        if notice.kind != "state" or notice.state not in _LINK_STATES:
            return True
        key, now = (notice.account, notice.text), self.clock.monotonic()
        was_up = self._up.get(notice.account, False)
        self._up[notice.account] = notice.state == "connected"
        if not was_up and not self._up[notice.account] and now - self._shown_at.get(key, -1e18) < REPEAT_STATE_AFTER_S:
            return False
        self._shown_at[key] = now
        if len(self._shown_at) > 1_000:  # texts carry numbers; keep the memory bounded
            self._shown_at.clear()
        return True


def format_notice(notice: Notice, clock: Clock) -> str:
    stamp = dt.datetime.fromtimestamp(clock.time(), tz=dt.UTC).strftime("%H:%M:%S.%f")[:-3]
    label = {"copy": "COPY", "refusal": "REFUSED", "failure": "FAILED", "state": "STATE",
             "master": "MASTER"}.get(notice.kind, notice.kind.upper())
    return f"{stamp} {label:<7} {notice.account:<9} {notice.text}"


def format_summary(metrics: Metrics, accounts: dict[str, str]) -> str:
    lines = ["", "Drift summary per slave (latency: master fill -> slave fill; slippage in basis points of price "
                 "and in money: + is worse for the trader)",
             f"{'slave':<10} {'broker':<24} {'copies':>6} {'refused':>7} {'failed':>6} "
             f"{'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'slip bp':>8} {'max bp':>8} {'slip cost':>12}"]
    summary = metrics.summary()
    for slave_id, broker in accounts.items():
        s = summary.get(slave_id)
        if s is None:
            lines.append(f"{slave_id:<10} {broker[:24]:<24} {0:>6} {0:>7} {0:>6}")
            continue
        lines.append(
            f"{slave_id:<10} {broker[:24]:<24} {s['copies']:>6} {s['refusals']:>7} {s['failures']:>6} "
            f"{s['latency_p50_ms']:>8.2f} {s['latency_p95_ms']:>8.2f} {s['latency_max_ms']:>8.2f} "
            f"{s['slippage_mean_bp']:>8.2f} {s['slippage_max_bp']:>8.2f} {s['slippage_total_money']:>+12.2f}")
    return "\n".join(lines)


async def run_headless(runtime: Runtime, *, duration: float | None, out: TextIO = sys.stdout,
                       clock: Clock = SYSTEM_CLOCK, on_ready: Callable[[Copier], None] | None = None) -> Metrics:
    """Run ``runtime`` until ``duration`` seconds pass or a stop request (Ctrl-C, SIGTERM, SIGHUP, a
    Windows console close), printing a line per notice and the drift summary at the end.

    Stops in order (background, watchers, copier) and releases everything, however it ends.
    """
    copier = runtime.copier
    lines = ConsoleLines(clock)
    console = ConsoleOut(out)

    def show(notice: Notice) -> None:
        if not lines.wants(notice):
            return
        console.line(format_notice(notice, clock))

    copier.subscribe(show)
    stop = asyncio.Event()
    signals = StopSignals(asyncio.get_running_loop(), lambda why: (log.info("stopping: %s", why), stop.set()))
    signals.install()
    async def run_until_stopped() -> None:
        await runtime.start()
        for problem in runtime.problems:
            print(f"copier-gui: {problem}; copying goes on without it", file=sys.stderr, flush=True)
        if on_ready is not None:
            on_ready(copier)
        await stop.wait()

    try:
        # Starting waits for the master to connect, which may take a while (or never happen, with a
        # wrong password): a stop request or the duration ends the run even then.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(run_until_stopped(), timeout=duration)
        if signals.reason is not None:
            console.line(f"stopping ({signals.reason}): no new entries; waiting for copies in flight")
        # Give copies already in flight a moment to land before the summary.
        await asyncio.sleep(min(0.5, copier.poll_interval_s * 20))
    finally:
        try:
            await runtime.aclose()
        finally:
            signals.stopped()
            signals.remove()
    console.line(format_summary(runtime.metrics, runtime.brokers))
    return runtime.metrics


async def run_linked_headless(settings: Settings, paths: UserPaths, *, duration: float | None,
                              out: TextIO = sys.stdout, clock: Clock = SYSTEM_CLOCK, services=(),
                              on_ready: Callable[[Copier], None] | None = None,
                              terminals: LinkedTerminals | None = None) -> Metrics:
    """The trader's linked accounts, headless: what a VPS runs. RuntimeSetupError (before anything
    starts) when the accounts cannot copy together."""
    if terminals is None:
        terminals = LinkedTerminals(clock, poll_s=settings.poll_interval_ms / 1000.0)
    runtime = build_runtime(settings, paths, clock, terminals=terminals, services=services)
    master = settings.master
    slaves = ", ".join(f"{a.id} ({describe_account(a)})" for a in settings.slaves)
    copying = "" if settings.copying else "; copying is OFF in the settings: positions are watched, no entries"
    ConsoleOut(out).line(f"copier-gui: master {master.id} ({describe_account(master)}), {len(settings.slaves)} "
                         f"slave(s): {slaves}; journal {paths.journal_file}{copying}")
    return await run_headless(runtime, duration=duration, out=out, clock=clock, on_ready=on_ready)


def describe_account(account: AccountSettings) -> str:
    """Where an account is, in a few words: ``login@server``, the bridge, or the demo broker."""
    where = f"{account.login}@{account.server}" if account.login is not None and account.server else account.id
    if account.platform == "mt5_bridge":
        return f"{where} via the bridge at {account.bridge_host}:{account.bridge_port}"
    if account.platform == "demo":
        return f"{where} at the demo broker {account.demo_profile}"
    return where
