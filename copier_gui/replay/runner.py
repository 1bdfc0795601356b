"""Replay: run a scenario's timeline and faults against the real copier on virtual time.

Everything is the production path (simulated terminals behind the MT5 connector, the copier, its
journal and copy book), except that the event loop's clock is virtual and a broker call's latency
passes on that clock without holding up the loop. So the master's timeline, the other accounts and
the faults go on while a slave's request is in flight, as they do live. The report is serialised
with sorted keys and fixed float formatting, so the same scenario and seed give the same bytes.
Each slave's drift comes from the run's journal through the same fold a live report uses, so a
replayed figure and a live one mean the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from copier_gui.assembly import Stores, assemble_copier
from copier_gui.clock import VirtualClock
from copier_gui.connectors.mt5 import MT5Connector
from copier_gui.connectors.mt5.invoker import VirtualLatencyInvoker
from copier_gui.core.copier import Copier
from copier_gui.core.copybook import CopyBook
from copier_gui.core.drift_ledger import SlaveDrift
from copier_gui.core.executor import Notice
from copier_gui.core.journal import Journal
from copier_gui.core.metrics import CopyMetrics, Metrics
from copier_gui.core.riskstore import RISK_FILE, RiskStore
from copier_gui.core.view import room_left
from copier_gui.replay.ctrader_side import CTraderBrokers
from copier_gui.replay.ctrader_trader import CTraderMasterTrader
from copier_gui.replay.process import CopierProcess
from copier_gui.replay.report import (
    account_report,
    copy_times,
    drift_report,
    journal_report,
    report_bytes,
    room_report,
    slave_drifts,
    terminal_marks,
)
from copier_gui.replay.scenario import (
    CopierCrashFault,
    DisconnectFault,
    LatencyFault,
    MovePriceAction,
    PartialFillFault,
    RejectFault,
    RequoteFault,
    Scenario,
    TerminalAction,
    load_scenario,
)
from copier_gui.replay.trader import ActionFailed, MasterTrader, move_price, pull_lever
from copier_gui.replay.virtual_loop import run_virtual
from copier_gui.runtime import Connection
from copier_gui.settings import AccountSettings, Settings
from copier_gui.sim import Faults, Latency, Market, new_terminal
from copier_gui.sim import constants as _mt5
from copier_gui.sim.catalog import ALL_PROFILES as PROFILES
from copier_gui.sim.faults import NO_FAULTS

__all__ = ["Replay", "play", "report_bytes", "run_scenario", "run_scenario_file"]


@dataclass(frozen=True)
class Replay:
    """One run's report, and the parts of it other reports are drawn from."""

    scenario: Scenario
    report: dict
    drifts: dict[str, SlaveDrift]
    copies: list[CopyMetrics]

    @property
    def end_wall(self) -> float:
        """When the run ended, in UTC seconds on its virtual clock."""
        return self.scenario.start.timestamp() + self.scenario.end_s


@dataclass
class _Account:
    id: str
    role: str
    profile: str
    terminal: object  # a simulated MT5 terminal; None for an account at the run's cTrader server
    rules: object = None
    copy_enabled: bool = True
    ctrader: CTraderBrokers | None = None

    def view(self) -> tuple:
        """(account, positions, orders) as the broker's side shows them, for reports."""
        return self.ctrader.view(self.id) if self.ctrader is not None else self.terminal.sim.view()

    @property
    def settings(self) -> AccountSettings:
        return AccountSettings.model_construct(
            id=self.id, role=self.role, platform="demo", demo_profile=self.profile, copy_enabled=self.copy_enabled,
            rules=self.rules if self.role == "slave" else None, label=PROFILES[self.profile].company)


@dataclass
class _Run:
    scenario: Scenario
    clock: VirtualClock
    accounts: list[_Account]
    journal: Journal
    copybook_path: Path
    metrics: Metrics = field(default_factory=lambda: Metrics(keep_copies=None))  # every copy, for the report
    refusals: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    master_tickets: dict[str, int] = field(default_factory=dict)
    former_tickets: dict[str, list[int]] = field(default_factory=dict)  # before a reversal (MT5)
    checkpoints: list[dict] = field(default_factory=list)
    crashes: int = 0
    ctrader: CTraderBrokers | None = None
    market: Market | None = None
    process: CopierProcess | None = None
    room: dict = field(default_factory=dict)

    @property
    def master(self) -> _Account:
        return next(a for a in self.accounts if a.role == "master")

    def at(self) -> float:
        return round(self.clock.time() - self.scenario.start.timestamp(), 6)

    def event(self, account: str, text: str) -> None:
        self.events.append({"at_s": self.at(), "account": account, "text": text})

    # ------------------------------------------------------------------ the copier process
    def build_copier(self) -> tuple[Copier, list]:
        """A fresh copier process: new connectors and state, the same terminals and files."""
        connections = {a.id: Connection(a.settings, a.terminal, None, _connector(a, self.clock)) for a in self.accounts}
        # A dying process's sockets die with it: the cTrader server sees its links drop.
        links = [_Link(c.connector) for c in connections.values() if hasattr(c.connector, "abort")]
        copybook = CopyBook(self.copybook_path)
        # The risk state lives beside the copy book, so a simulated crash and restart keep it too.
        risk_store = RiskStore(self.copybook_path.with_name(RISK_FILE))
        stores = Stores(self.journal, copybook, risk_store, self.metrics)
        # Tags without a copier name, as the scenario's expected comments are written.
        copier = assemble_copier(self.settings, connections, stores, self.clock, instance="",
                                 reconcile_interval_s=self.scenario.reconcile_interval_s)
        copier.copying = True
        copier.subscribe(self.on_notice)
        # A dead process's handles on its files go with it.
        return copier, [copybook, risk_store, *links]

    @property
    def settings(self) -> Settings:
        # The scenario's accounts were validated by its own schema (ids of its own alphabet), so
        # they go into the builder's settings as they are.
        return Settings.model_construct(accounts=[a.settings for a in self.accounts],
                                        poll_interval_ms=self.scenario.poll_interval_ms, copying=True)

    def on_notice(self, notice: Notice) -> None:
        if notice.kind == "refusal":
            self.refusals.append({"at_s": self.at(), "account": notice.account,
                                  "master_ticket": notice.master_ticket, "reason": notice.text})
        elif notice.kind == "failure":
            self.failures.append({"at_s": self.at(), "account": notice.account,
                                  "master_ticket": notice.master_ticket, "reason": notice.text})
        elif notice.kind in ("state", "master", "info") or (notice.kind == "copy" and notice.metrics is None):
            self.event(notice.account, notice.text)

    def checkpoint(self, at_s: float) -> None:
        self.checkpoints.append({"at_s": at_s, "accounts": self.accounts_report(), "room_left": self.room_left()})

    def room_left(self) -> dict:
        """The prop-firm slaves' room left as the running copier sees it; empty while it is down."""
        copier = self.process.copier if self.process is not None else None
        return room_report(room_left(copier)) if copier is not None else {}

    def accounts_report(self) -> dict:
        return {a.id: account_report(a.role, a.profile, a.view(), self.master_tickets) for a in self.accounts}


class _Link:
    """A cTrader connector's socket as a file a crash closes."""

    def __init__(self, connector) -> None:
        self._connector = connector

    def close(self) -> None:
        self._connector.abort()


def _connector(account: _Account, clock: VirtualClock):
    """The copier's connector to one account: an MT5 terminal's calls' latency passing on the loop's
    clock, or a cTrader account over the wire to the run's server (its latency is the server's)."""
    if account.ctrader is not None:
        return account.ctrader.connector(account.id)
    terminal = account.terminal
    terminal.sim.defer_latency(True)

    def latency(fn) -> float:
        # A trade goes to the broker's server and back; every other call is a local read.
        return terminal.sim.draw_latency(trade=getattr(fn, "__func__", None) is MT5Connector._trade)

    return MT5Connector(account.id, terminal, invoker=VirtualLatencyInvoker(latency), clock=clock)


def _terminal_for(scenario: Scenario, index: int, account, market: Market, clock: VirtualClock):
    profile = scenario.brokers[account.broker].profile
    terminal = new_terminal(profile, seed=scenario.seed, clock=clock, market=market,
                            login=8_000_000 + index, **account.terminal_overrides())
    return profile, terminal


def _accounts(scenario: Scenario, market: Market, clock: VirtualClock) -> tuple[list[_Account], CTraderBrokers]:
    """Every account at its broker: an MT5 terminal, or an account at the run's cTrader server."""
    ctrader = CTraderBrokers(clock, market, scenario.seed)
    accounts = []
    for i, acc in enumerate(scenario.accounts):
        if scenario.platform_of(acc.id) == "ctrader":
            profile = scenario.profile_of(acc.id)
            ctrader.add(acc.id, profile, login=8_000_000 + i, balance=acc.balance, margin_mode=acc.margin_mode,
                        leverage=acc.leverage)
            accounts.append(_Account(acc.id, acc.role, profile, None, acc.rules, acc.copy_enabled, ctrader))
        else:
            profile, terminal = _terminal_for(scenario, i, acc, market, clock)
            accounts.append(_Account(acc.id, acc.role, profile, terminal, acc.rules, acc.copy_enabled))
    return accounts, ctrader


# ---------------------------------------------------------------------- running


async def _play(run: _Run) -> None:
    scenario = run.scenario
    start = scenario.start.timestamp()
    loop = asyncio.get_running_loop()
    by_id = {a.id: a for a in run.accounts}
    ctrader = run.ctrader
    if ctrader is not None:
        await ctrader.start()
    master = run.master
    if master.ctrader is not None:
        trader = CTraderMasterTrader(ctrader, master.id, run.master_tickets)
    else:
        trader = MasterTrader(master.terminal, run.master_tickets, PROFILES[master.profile].server_utc_offset_hours * 3600,
                              run.former_tickets)

    def say(text: str) -> None:
        run.event("copier", text)
        run.journal.record("state", text, account="copier")

    process = run.process = CopierProcess(run.build_copier, say=say)
    pending: list[asyncio.Task] = []
    # The master's trader does one thing at a time, in the timeline's order: a cTrader order waits
    # for its fill over the Open API, and a close due at the same instant as its open must find the
    # position it closes. Each trade waits for the one before it in the timeline (timers due at the
    # same instant fire in no set order, so a lock would not keep that order).
    previous: asyncio.Future | None = None  # done when the timeline's latest trade so far is done

    async def at(seconds: float, fn) -> None:
        # Faults and actions fire at their time: nothing on the loop blocks it, so the clock is
        # never past a due time when its timer is reached.
        await asyncio.sleep(max(0.0, start + seconds - run.clock.time()))
        result = fn()
        if asyncio.iscoroutine(result):
            await result

    async def act(action, after: asyncio.Future | None = None, done: asyncio.Future | None = None) -> None:
        try:
            if after is not None:
                await after
            await _act(action)
        finally:
            if done is not None and not done.done():
                done.set_result(None)

    async def _act(action) -> None:
        if isinstance(action, MovePriceAction):
            run.event("market", move_price(run.market, PROFILES[master.profile], action))
            return
        if isinstance(action, TerminalAction):
            account = by_id[action.account]
            text = (ctrader.pull_lever(account.id, action) if account.ctrader is not None
                    else pull_lever(account.terminal, action))
            run.event(action.account, text)
            return
        try:
            done = trader.act(action)
            if asyncio.iscoroutine(done):
                await done
        except ActionFailed as exc:
            run.event(run.master.id, str(exc))

    def latency(fault: LatencyFault):
        account = by_id[fault.account]
        if account.ctrader is not None:
            return ctrader.slow_down(account.id, fault.median_ms / 1000.0, fault.duration_ms / 1000.0)
        terminal = account.terminal
        terminal.sim.faults = Faults(read_latency=Latency(fault.median_ms / 10), trade_latency=Latency(fault.median_ms))

        async def restore():
            await asyncio.sleep(fault.duration_ms / 1000.0)
            terminal.sim.faults = NO_FAULTS
        return restore()

    def schedule(seconds: float, fn) -> None:
        pending.append(loop.create_task(at(seconds, fn)))

    def disconnect(fault: DisconnectFault) -> None:
        account = by_id[fault.account]
        if account.ctrader is not None:
            ctrader.disconnect(account.id, fault.duration_ms / 1000)
        else:
            account.terminal.sim.disconnect(fault.duration_ms / 1000)

    def reject(fault: RejectFault) -> None:
        account = by_id[fault.account]
        if account.ctrader is not None:
            ctrader.reject(account.id, *[fault.retcode] * fault.count)
        else:
            account.terminal.sim.force_retcodes(*[fault.retcode] * fault.count)

    process.launch()
    for _, action in scenario.ordered_timeline():
        if isinstance(action, MovePriceAction | TerminalAction):
            schedule(action.at, lambda a=action: act(a))
            continue
        done = loop.create_future()
        schedule(action.at, lambda a=action, after=previous, d=done: act(a, after, d))
        previous = done
    for _, fault in scenario.ordered_faults():
        account = by_id[fault.account] if hasattr(fault, "account") else None
        sim = account.terminal.sim if account is not None and account.terminal is not None else None
        if isinstance(fault, CopierCrashFault):
            schedule(fault.at, lambda f=fault: process.crash(f.restart_after_ms / 1000.0))
        elif isinstance(fault, DisconnectFault):
            schedule(fault.at, lambda f=fault: disconnect(f))
        elif isinstance(fault, RejectFault):
            schedule(fault.at, lambda f=fault: reject(f))
        elif isinstance(fault, PartialFillFault):
            schedule(fault.at, lambda s=sim, f=fault: s.force_retcodes(*[_mt5.TRADE_RETCODE_DONE_PARTIAL] * f.count))
        elif isinstance(fault, RequoteFault):
            schedule(fault.at, lambda s=sim, f=fault: s.force_retcodes(*[_mt5.TRADE_RETCODE_REQUOTE] * f.count))
        elif isinstance(fault, LatencyFault):
            schedule(fault.at, lambda f=fault: latency(f))
    for seconds in sorted(scenario.checkpoints):
        schedule(seconds, lambda s=seconds: run.checkpoint(s))
    await asyncio.sleep(max(0.0, start + scenario.end_s - run.clock.time()))
    for task in pending:
        task.cancel()
    for task in pending:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    run.room = run.room_left()
    await process.stop()
    if isinstance(trader, CTraderMasterTrader):
        await trader.aclose()
    if ctrader is not None:
        await ctrader.stop()
    run.crashes = process.crashes


def play(scenario: Scenario) -> Replay:
    """Run a scenario; the same scenario gives the same report and drift, to the byte."""
    clock = VirtualClock(scenario.start.timestamp())
    market = Market(scenario.seed, clock)
    accounts, ctrader = _accounts(scenario, market, clock)
    start = scenario.start.timestamp()
    with tempfile.TemporaryDirectory(prefix="copier-gui-replay-") as tmp:
        journal = Journal(None, clock)
        run = _Run(scenario, clock, accounts, journal, Path(tmp) / "copies.sqlite3", ctrader=ctrader, market=market)
        try:
            run_virtual(lambda: _play(run), clock)
            entries = journal.entries(newest_first=False)
        finally:
            journal.close()
        # Valued at the terminals' own prices when the run ends: there even when the copier is
        # down at the end and never journaled any.
        drifts = slave_drifts(entries, terminal_marks({a.id: a.view() for a in accounts}))
        copies = [m.as_dict() for m in run.metrics.copies]
        report = {
            "scenario": {"description": scenario.description, "seed": scenario.seed,
                         "start": scenario.start.isoformat(), "duration_s": scenario.duration_s,
                         "crashes": run.crashes},
            "master_ids": dict(sorted(run.master_tickets.items())),
            "former_master_ids": dict(sorted(run.former_tickets.items())),
            "accounts": run.accounts_report(),
            "checkpoints": run.checkpoints,
            "copies": copy_times(entries, copies, start),
            "refusals": run.refusals,
            "failures": run.failures,
            "events": run.events,
            "room_left": run.room,
            "journal": journal_report(entries, start),
            "summary": run.metrics.summary(),
            "drift": drift_report(drifts),
        }
        return Replay(scenario, report, drifts, list(run.metrics.copies))


def run_scenario(scenario: Scenario) -> dict:
    return play(scenario).report


def run_scenario_file(path: Path | str) -> bytes:
    """Load, run and serialise; raises ScenarioError (nothing written) for a bad scenario."""
    return report_bytes(run_scenario(load_scenario(path)))
