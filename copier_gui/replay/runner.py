"""Replay: run a scenario's master timeline and faults against the real copier on virtual time.

Everything is the production path (simulated terminals behind the MT5 connector, the copier, its
journal and copy book), except that the event loop's clock is virtual and connector calls run
inline. The report is serialised with sorted keys and fixed float formatting, so the same scenario
and seed give the same bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from copier_gui.clock import VirtualClock
from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector
from copier_gui.core import tags
from copier_gui.core.copier import Copier, SlaveLink
from copier_gui.core.copybook import CopyBook
from copier_gui.core.executor import Notice
from copier_gui.core.journal import Journal
from copier_gui.core.metrics import Metrics
from copier_gui.core.model import Side
from copier_gui.replay.scenario import (
    CancelPendingAction,
    CloseAction,
    CopierCrashFault,
    DisconnectFault,
    LatencyFault,
    ModifyAction,
    ModifyPendingAction,
    OpenAction,
    PartialCloseAction,
    PartialFillFault,
    PlacePendingAction,
    RejectFault,
    RequoteFault,
    Scenario,
    load_scenario,
)
from copier_gui.replay.virtual_loop import run_virtual
from copier_gui.sim import PROFILES, Faults, Latency, Market, new_terminal
from copier_gui.sim.faults import NO_FAULTS

_PENDING_TYPES = {"buy_limit": 2, "sell_limit": 3, "buy_stop": 4, "sell_stop": 5}


@dataclass
class _Account:
    id: str
    role: str
    profile: str
    terminal: object
    rules: object = None
    copy_enabled: bool = True


@dataclass
class _Run:
    scenario: Scenario
    clock: VirtualClock
    accounts: list[_Account]
    journal: Journal
    copybook_path: Path
    metrics: Metrics = field(default_factory=Metrics)
    refusals: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    master_tickets: dict[str, int] = field(default_factory=dict)
    copier: Copier | None = None
    copybook: CopyBook | None = None
    crashes: int = 0

    @property
    def master(self) -> _Account:
        return next(a for a in self.accounts if a.role == "master")

    def at(self) -> float:
        return round(self.clock.time() - self.scenario.start.timestamp(), 6)

    # ------------------------------------------------------------------ the copier process
    def build_copier(self) -> Copier:
        """A fresh copier process: new connectors and state, the same terminals and files."""
        def connector(account: _Account) -> MT5Connector:
            return MT5Connector(account.id, account.terminal, invoker=InlineInvoker(), clock=self.clock)

        links = [SlaveLink(a.id, connector(a), a.rules, broker=PROFILES[a.profile].company,
                           copy_enabled=a.copy_enabled) for a in self.accounts if a.role == "slave"]
        self.copybook = CopyBook(self.copybook_path)
        copier = Copier(connector(self.master), links, journal=self.journal, clock=self.clock,
                        copybook=self.copybook, metrics=self.metrics, master_id=self.master.id,
                        poll_interval_s=self.scenario.poll_interval_ms / 1000.0,
                        reconcile_interval_s=self.scenario.reconcile_interval_s)
        copier.subscribe(self.on_notice)
        return copier

    def on_notice(self, notice: Notice) -> None:
        if notice.kind == "refusal":
            self.refusals.append({"at_s": self.at(), "account": notice.account,
                                  "master_ticket": notice.master_ticket, "reason": notice.text})
        elif notice.kind == "failure":
            self.failures.append({"at_s": self.at(), "account": notice.account,
                                  "master_ticket": notice.master_ticket, "reason": notice.text})
        elif notice.kind in ("state", "master", "info") or (notice.kind == "copy" and notice.metrics is None):
            self.events.append({"at_s": self.at(), "account": notice.account, "text": notice.text})


def _terminal_for(scenario: Scenario, index: int, account, market: Market, clock: VirtualClock):
    profile = scenario.brokers[account.broker].profile
    terminal = new_terminal(profile, seed=scenario.seed, clock=clock, market=market,
                            login=8_000_000 + index, **account.terminal_overrides())
    return profile, terminal


# ---------------------------------------------------------------------- the master's timeline


class _MasterTrader:
    """Carries out the scenario's actions on the master terminal, as the trader would."""

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.t = run.master.terminal

    def _point(self, symbol: str):
        info = self.t.symbol_info(symbol)
        return info, info.point

    def act(self, action) -> None:
        t = self.t
        ids = self.run.master_tickets
        try:
            if isinstance(action, OpenAction):
                info, point = self._point(action.symbol)
                tick = t.symbol_info_tick(action.symbol)
                buy = action.side is Side.BUY
                price = tick.ask if buy else tick.bid
                sl = tp = 0.0
                if action.sl_points:
                    sl = round(price - action.sl_points * point if buy else price + action.sl_points * point, info.digits)
                if action.tp_points:
                    tp = round(price + action.tp_points * point if buy else price - action.tp_points * point, info.digits)
                result = t.order_send({"action": t.TRADE_ACTION_DEAL, "symbol": action.symbol,
                                       "volume": float(action.volume), "type": 0 if buy else 1, "price": price,
                                       "sl": sl, "tp": tp, "deviation": 50, "type_filling": _filling(info),
                                       "magic": int(action.magic or 0), "comment": action.comment or ""})
                self._check(action, result)
                ids[action.id] = result.order
            elif isinstance(action, ModifyAction):
                pos = self._position(action.id)
                info, point = self._point(pos.symbol)
                buy = pos.type == 0
                sl, tp = pos.sl, pos.tp
                if action.sl_points is not None:
                    sl = 0.0 if action.sl_points == 0 else round(
                        pos.price_open - action.sl_points * point if buy else pos.price_open + action.sl_points * point,
                        info.digits)
                if action.tp_points is not None:
                    tp = 0.0 if action.tp_points == 0 else round(
                        pos.price_open + action.tp_points * point if buy else pos.price_open - action.tp_points * point,
                        info.digits)
                self._check(action, t.order_send({"action": t.TRADE_ACTION_SLTP, "symbol": pos.symbol,
                                                  "position": pos.ticket, "sl": sl, "tp": tp}))
            elif isinstance(action, PartialCloseAction | CloseAction):
                pos = self._position(action.id)
                info, _ = self._point(pos.symbol)
                volume = pos.volume if isinstance(action, CloseAction) else float(action.volume)
                tick = t.symbol_info_tick(pos.symbol)
                buy = pos.type == 0
                self._check(action, t.order_send({
                    "action": t.TRADE_ACTION_DEAL, "symbol": pos.symbol, "volume": float(volume),
                    "type": 1 if buy else 0, "position": pos.ticket, "price": tick.bid if buy else tick.ask,
                    "deviation": 50, "type_filling": _filling(info)}))
            elif isinstance(action, PlacePendingAction):
                info, point = self._point(action.symbol)
                price = self._pending_price(action.symbol, action.kind, action.offset_points)
                buy = action.kind.startswith("buy")
                sl = round(price - action.sl_points * point if buy else price + action.sl_points * point,
                           info.digits) if action.sl_points else 0.0
                tp = round(price + action.tp_points * point if buy else price - action.tp_points * point,
                           info.digits) if action.tp_points else 0.0
                request = {"action": t.TRADE_ACTION_PENDING, "symbol": action.symbol,
                           "volume": float(action.volume), "type": _PENDING_TYPES[action.kind], "price": price,
                           "sl": sl, "tp": tp, "type_filling": t.ORDER_FILLING_RETURN}
                if action.expiration_s:
                    server_now = int(t.symbol_info_tick(action.symbol).time) + _offset(self.run.master.profile)
                    request.update(type_time=t.ORDER_TIME_SPECIFIED,
                                   expiration=int(server_now + action.expiration_s))
                result = t.order_send(request)
                self._check(action, result)
                ids[action.id] = result.order
            elif isinstance(action, ModifyPendingAction):
                order = self._order(action.id)
                kind = {v: k for k, v in _PENDING_TYPES.items()}[order.type]
                price = self._pending_price(order.symbol, kind, action.offset_points)
                self._check(action, t.order_send({"action": t.TRADE_ACTION_MODIFY, "order": order.ticket,
                                                  "price": price, "sl": order.sl, "tp": order.tp,
                                                  "type_time": order.type_time,
                                                  "expiration": order.time_expiration}))
            elif isinstance(action, CancelPendingAction):
                order = self._order(action.id)
                self._check(action, t.order_send({"action": t.TRADE_ACTION_REMOVE, "order": order.ticket}))
        except _MasterActionFailed as exc:
            self.run.events.append({"at_s": self.run.at(), "account": self.run.master.id, "text": str(exc)})

    def _pending_price(self, symbol: str, kind: str, offset_points: int) -> float:
        info, point = self._point(symbol)
        tick = self.t.symbol_info_tick(symbol)
        offset = offset_points * point
        price = {"buy_limit": tick.ask - offset, "sell_limit": tick.bid + offset,
                 "buy_stop": tick.ask + offset, "sell_stop": tick.bid - offset}[kind]
        return round(price, info.digits)

    def _position(self, name: str):
        ticket = self.run.master_tickets.get(name)
        found = self.t.positions_get(ticket=ticket) if ticket else ()
        if not found:
            raise _MasterActionFailed(f"master action on {name!r} skipped: the position is no longer open")
        return found[0]

    def _order(self, name: str):
        ticket = self.run.master_tickets.get(name)
        found = self.t.orders_get(ticket=ticket) if ticket else ()
        if not found:
            raise _MasterActionFailed(f"master action on {name!r} skipped: the order is no longer pending")
        return found[0]

    def _check(self, action, result) -> None:
        if result is None or result.retcode not in (10008, 10009, 10010):
            detail = self.t.last_error() if result is None else (result.retcode, result.comment)
            raise _MasterActionFailed(f"master {action.action} {action.id!r} refused by the broker: {detail}")


class _MasterActionFailed(Exception):
    pass


def _filling(info) -> int:
    if info.filling_mode & 1:
        return 0
    if info.filling_mode & 2:
        return 1
    return 2


def _offset(profile: str) -> int:
    return PROFILES[profile].server_utc_offset_hours * 3600


# ---------------------------------------------------------------------- running


async def _play(run: _Run) -> None:
    scenario = run.scenario
    start = scenario.start.timestamp()
    loop = asyncio.get_running_loop()
    trader = _MasterTrader(run)
    by_id = {a.id: a for a in run.accounts}
    run.copier = run.build_copier()
    await run.copier.start()
    pending: set[asyncio.Task] = set()

    async def at(seconds: float, fn) -> None:
        await asyncio.sleep(max(0.0, start + seconds - run.clock.time()))
        result = fn()
        if asyncio.iscoroutine(result):
            await result

    async def crash(fault: CopierCrashFault) -> None:
        run.crashes += 1
        run.events.append({"at_s": run.at(), "account": "copier", "text": "copier crashed"})
        run.copier.abandon()
        run.copybook.close()
        await asyncio.sleep(fault.restart_after_ms / 1000.0)
        run.events.append({"at_s": run.at(), "account": "copier", "text": "copier restarted"})
        run.copier = run.build_copier()
        await run.copier.start()

    def latency(fault: LatencyFault):
        terminal = by_id[fault.account].terminal
        terminal.sim.faults = Faults(read_latency=Latency(fault.median_ms / 10), trade_latency=Latency(fault.median_ms))

        async def restore():
            await asyncio.sleep(fault.duration_ms / 1000.0)
            terminal.sim.faults = NO_FAULTS
        return restore()

    for action in sorted(scenario.timeline, key=lambda a: a.at):
        pending.add(loop.create_task(at(action.at, lambda a=action: trader.act(a))))
    for fault in scenario.faults:
        terminal = by_id[fault.account].terminal if hasattr(fault, "account") else None
        if isinstance(fault, CopierCrashFault):
            pending.add(loop.create_task(at(fault.at, lambda f=fault: crash(f))))
        elif isinstance(fault, DisconnectFault):
            pending.add(loop.create_task(at(fault.at, lambda t=terminal, f=fault: t.sim.disconnect(f.duration_ms / 1000))))
        elif isinstance(fault, RejectFault):
            pending.add(loop.create_task(at(fault.at, lambda t=terminal, f=fault: t.sim.force_retcodes(*[f.retcode] * f.count))))
        elif isinstance(fault, PartialFillFault):
            pending.add(loop.create_task(at(fault.at, lambda t=terminal, f=fault: t.sim.force_retcodes(*[10010] * f.count))))
        elif isinstance(fault, RequoteFault):
            pending.add(loop.create_task(at(fault.at, lambda t=terminal, f=fault: t.sim.force_retcodes(*[10004] * f.count))))
        elif isinstance(fault, LatencyFault):
            pending.add(loop.create_task(at(fault.at, lambda f=fault: latency(f))))
    await asyncio.sleep(max(0.0, start + scenario.duration_s - run.clock.time()))
    for task in pending:
        task.cancel()
    for task in pending:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await run.copier.stop()
    run.copybook.close()


def _account_report(run: _Run, account: _Account) -> dict:
    t = account.terminal
    if not t.sim.connected:
        t.initialize()
    info = t.account_info()
    positions = sorted(t.positions_get() or (), key=lambda p: (p.symbol, p.comment, p.ticket))
    orders = sorted(t.orders_get() or (), key=lambda o: (o.symbol, o.comment, o.ticket))
    names = {v: k for k, v in run.master_tickets.items()}

    def link(comment: str, ticket: int) -> dict:
        master = tags.master_ticket_of(comment) if account.role == "slave" else ticket
        return {"tag": comment, "master_ticket": master, "master_id": names.get(master)}

    return {
        "role": account.role,
        "profile": account.profile,
        "currency": info.currency,
        "balance": info.balance,
        "equity": info.equity,
        "positions": [{"symbol": p.symbol, "side": "buy" if p.type == 0 else "sell", "volume": p.volume,
                       "price_open": p.price_open, "sl": p.sl, "tp": p.tp, "magic": p.magic,
                       **link(p.comment, p.ticket)} for p in positions],
        "orders": [{"symbol": o.symbol, "type": o.type, "volume": o.volume_current, "price": o.price_open,
                    "sl": o.sl, "tp": o.tp, "magic": o.magic, **link(o.comment, o.ticket)} for o in orders],
    }


def run_scenario(scenario: Scenario) -> dict:
    clock = VirtualClock(scenario.start.timestamp())
    market = Market(scenario.seed, clock)
    accounts = []
    for i, acc in enumerate(scenario.accounts):
        profile, terminal = _terminal_for(scenario, i, acc, market, clock)
        accounts.append(_Account(acc.id, acc.role, profile, terminal, acc.rules, acc.copy_enabled))
    with tempfile.TemporaryDirectory(prefix="copier-gui-replay-") as tmp:
        journal = Journal(None, clock)
        run = _Run(scenario, clock, accounts, journal, Path(tmp) / "copies.sqlite3")
        try:
            run_virtual(lambda: _play(run), clock)
        finally:
            journal.close()
        copies = [m.as_dict() for m in run.metrics.copies]
        return {
            "scenario": {"description": scenario.description, "seed": scenario.seed,
                         "start": scenario.start.isoformat(), "duration_s": scenario.duration_s,
                         "crashes": run.crashes},
            "master_ids": dict(sorted(run.master_tickets.items())),
            "accounts": {a.id: _account_report(run, a) for a in accounts},
            "copies": copies,
            "refusals": run.refusals,
            "failures": run.failures,
            "events": run.events,
            "summary": run.metrics.summary(),
        }


def _rounded(value):
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


def report_bytes(report: dict) -> bytes:
    return (json.dumps(_rounded(report), indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def run_scenario_file(path: Path | str) -> bytes:
    """Load, run and serialise; raises ScenarioError (nothing written) for a bad scenario."""
    return report_bytes(run_scenario(load_scenario(path)))
