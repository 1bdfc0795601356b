"""The copier: connect, reconcile, then watch the master and fan every change out to the slaves.

It owns the core's state and runs on one asyncio loop (Qt's through qasync in the app, a plain
loop headless, a virtual-time loop in replay). Each slave has its own lock and tasks, so a slow or
disconnected slave never holds up the others; a lost connection is retried with backoff and the
slave is reconciled before copying resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from copier_gui.clock import Clock
from copier_gui.core import fanout_quiet, hedge_guard, tags
from copier_gui.core.capabilities import EventDelivery
from copier_gui.core.copybook import CopyBook
from copier_gui.core.events import EventKind, MasterEvent, diff
from copier_gui.core.executor import (
    Notice,
    SlaveExecutor,
    StepContext,
    Throttled,
    TradingDisabled,
    Unreachable,
)
from copier_gui.core.flatten import FlattenItem, as_flattened, describe_items, flatten_items
from copier_gui.core.journal import Journal
from copier_gui.core.lineage import ORDER, POSITION, SHARE, LeftCopy, Lineage
from copier_gui.core.metrics import Metrics
from copier_gui.core.model import AccountState, Deal, Snapshot, SymbolSpec, VolumeUnit
from copier_gui.core.planner import (
    DesiredPosition,
    MasterContext,
    Refusal,
    SlaveContext,
    SlavePlan,
    plan_slave,
)
from copier_gui.core.ports import Connector, ConnectorError
from copier_gui.core.prop_news import NewsEvent
from copier_gui.core.prop_rules import HedgingGuard, PropRules
from copier_gui.core.prop_stops import unprotected
from copier_gui.core.reconciler import (
    AmendStep,
    CancelStep,
    ModifyStep,
    NetStep,
    OpenStep,
    PlaceStep,
    ReduceStep,
    held_tickets,
    netting_shares,
    reconcile,
    working_tickets,
)
from copier_gui.core.risk import RiskGate, TradingState, describe_reset
from copier_gui.core.riskstore import RiskRecord, RiskStore, RiskStoreError
from copier_gui.core.room_watch import NEAR_LIMIT, RoomWatch
from copier_gui.core.round_trips import RoundTrip, round_trips
from copier_gui.core.rules import CopyRules, LimitAction
from copier_gui.core.symbols import SymbolMap
from copier_gui.core.tasks import cancel_and_wait

DEFAULT_MAGIC = 7_340_021
# A position dated only as "open when this run started" is put this far before the start, so it
# sorts before the moment copying to any slave starts.
_BEFORE = 0.001
_UNSEEN_MARGIN_MS = 60_000

# Reads a prop profile's news calendar: its events, and what went wrong ("" when read).
NewsSource = Callable[[PropRules], tuple[tuple[NewsEvent, ...], str]]


class LinkState(Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DEGRADED = "degraded"
    DISCONNECTED = "disconnected"


class SlaveMode(Enum):
    """What the trader lets the copier do at one slave.

    Close-only takes no new entry but mirrors every exit; paused sends nothing at all (no entry,
    no exit, no stop change) and journals each master change it leaves unfollowed, until a mode
    that sends is chosen again and a full pass brings the slave back.
    """

    COPYING = "copying"
    CLOSE_ONLY = "close_only"
    PAUSED = "paused"

    @property
    def label(self) -> str:
        return {"copying": "Copying", "close_only": "Close-only", "paused": "Paused"}[self.value]


@dataclass
class SlaveLink:
    """One slave: its connector and rules, and the copier's runtime view of it."""

    id: str
    connector: Connector
    rules: CopyRules = field(default_factory=CopyRules)
    broker: str = ""
    copy_enabled: bool = True  # kept in step with ``mode`` (True only while copying), for views
    magic: int = DEFAULT_MAGIC
    state: LinkState = LinkState.DISCONNECTED
    account: AccountState | None = None
    symbols: dict[str, SymbolSpec] = field(default_factory=dict)
    symbol_map: SymbolMap | None = None
    refused: dict[int, str] = field(default_factory=dict)
    # When a look is booked for the next copy that must carry a stop by then (a prop rule).
    stop_look_at: float | None = None
    stopless_seen: dict[int, float] = field(default_factory=dict)  # position ticket -> first seen with no stop
    hedge_warned: set[int] = field(default_factory=set)  # master tickets whose hedge was warned of
    room_watch: RoomWatch = field(default_factory=RoomWatch)  # says once when 80% of a prop limit is used
    last_error: str = ""
    executor: SlaveExecutor | None = None
    lock: asyncio.Lock | None = None
    reconnect_task: asyncio.Task | None = None
    watch_task: asyncio.Task | None = None  # waits for trading to be allowed again
    waiting: dict[int, tuple] = field(default_factory=dict)  # master ticket -> (why, master state) journaled
    exits_waiting: dict[int, tuple] = field(default_factory=dict)  # master ticket -> (why, master state)
    deferred_task: asyncio.Task | None = None  # one later pass, for stop changes held back
    other_copiers: tuple[str, ...] = ()  # other copiers whose trades are on this account
    throttled_until: float = float("-inf")  # monotonic; the broker asked for fewer requests
    throttle_strikes: int = 0
    server_offset_s: float | None = None
    last_snapshot: Snapshot | None = None
    deals_read: bool = False  # the deals of the copies it held when this copier first looked
    risk_gate: RiskGate | None = None
    synced_taken_at: float = float("-inf")  # the master snapshot the last full pass planned from
    mode: SlaveMode | None = None  # None: from ``copy_enabled`` (off is close-only)
    flattening: bool = False  # the trader asked to close every copy here; passes do until none is left
    flattened: set[int] = field(default_factory=set)  # master tickets whose copy a flatten closed

    def __post_init__(self) -> None:
        if self.mode is None:
            self.mode = SlaveMode.COPYING if self.copy_enabled else SlaveMode.CLOSE_ONLY
        self.mode = SlaveMode(self.mode)
        self.copy_enabled = self.mode is SlaveMode.COPYING


class Copier:
    def __init__(self, master: Connector, slaves: list[SlaveLink], *, journal: Journal, clock: Clock,
                 copybook: CopyBook, metrics: Metrics | None = None, master_id: str = "master",
                 poll_interval_s: float = 0.005, reconcile_interval_s: float = 2.0,
                 backoff_s: tuple[float, ...] = (0.25, 0.5, 1.0), risk_store: RiskStore | None = None,
                 instance: str = "", news_source: NewsSource | None = None) -> None:
        if poll_interval_s <= 0:
            raise ValueError("poll_interval_s must be positive")
        self.master = master
        self.master_id = master_id
        self.slaves = {s.id: s for s in slaves}
        self.journal = journal
        self.clock = clock
        self.copybook = copybook
        self.lineage = Lineage.of(copybook)  # which master each slave's copies belong to
        # Entries sent and not yet in their slave's snapshot, for the hedging guard (core.hedge_guard).
        self._in_flight = hedge_guard.InFlight()
        self._guarding = False  # whether any slave has the guard: only then are entries in flight kept
        self._note_guards()
        self.master_identity = ""  # login@server of the master, once connected
        self._lineage_seen: set[str] = set()  # slaves whose copies were attributed in this run
        self.metrics = metrics or Metrics()
        self.poll_interval_s = poll_interval_s
        self.reconcile_interval_s = reconcile_interval_s
        self.backoff_s = backoff_s
        self.copying = True
        self.master_state = LinkState.DISCONNECTED
        self.master_account: AccountState | None = None
        self.master_symbols: dict[str, SymbolSpec] = {}
        self.master_snapshot: Snapshot | None = None
        self._fill_wall: dict[int, float] = {}
        self._next_unseen_look = 0.0  # monotonic: when the master's latest deals are read next
        self._unseen_read_to = 0  # the newest deal time those reads saw (the platform's clock)
        self._master_looked_wall: float | None = None  # UTC: the last look at the master that answered
        self._last_alive: float | None = None  # when the previous run was last seen alive
        self._exit_price: dict[int, float] = {}
        self.instance = instance  # this copier's name in its tags (see tags.comment_for)
        self._foreign_seen: set[tuple[str, str]] = set()  # (slave, other copier) already warned about
        self._change_wall: dict[int, float] = {}  # master ticket -> when it was last increased (UTC s)
        self._listeners: list[Callable[[Notice], None]] = []
        self._tasks: set[asyncio.Task] = set()
        self._deal_tasks: set[asyncio.Task] = set()  # reading positions' deals
        # (slave, master ticket) -> the slave positions that copy filled into, so the deals of one
        # closed at the slave (its stop, a stop-out) can be read too
        self._copy_positions: dict[tuple[str, int], set[int]] = {}
        # slave -> copy position id -> its volume when last looked at or after our last deal on it,
        # so a fill the broker made by itself (the working rest of a partly filled order) gets its
        # deals read too
        self._copy_volumes: dict[str, dict[int, float]] = {}
        self._running = False
        self.started_wall = clock.time()
        # Each slave's risk figures and halts; in memory unless the caller gives a file-backed store.
        self.risk_store = risk_store if risk_store is not None else RiskStore(None)
        # Reads a prop profile's news calendar (a file: the runtime's business, not the core's).
        self.news_source = news_source
        self._risk_store_errors: set[str] = set()
        # The loop whose current turn already looked for resets written by another process: a
        # fan-out runs every slave's pass in one turn, and one look serves them all. (A loop, not
        # a flag: a loop that ends before its next turn leaves no stale "already looked".)
        self._resets_looked_on: asyncio.AbstractEventLoop | None = None
        if self.risk_store.recovered:
            self._risk_state_lost(self.risk_store.recovered)

    # ------------------------------------------------------------------ observers and commands
    def subscribe(self, listener: Callable[[Notice], None]) -> None:
        self._listeners.append(listener)

    def _notify(self, notice: Notice) -> None:
        for listener in list(self._listeners):
            try:
                listener(notice)
            except Exception as exc:  # a broken display must never stop copying
                self.journal.record("error", f"listener failed: {exc!r}")

    def set_copying(self, enabled: bool) -> None:
        """The global switch. Off stops new entries at once; exits are still mirrored."""
        self.copying = enabled
        text = "copying started" if enabled else "copying stopped: no new entries; exits still mirrored"
        self.journal.record("state", text, account=self.master_id, copying=enabled)
        self._notify(Notice("state", self.master_id, text))
        self._spawn_all_syncs("copy switch")

    def set_copy_enabled(self, slave_id: str, enabled: bool, *, by: str = "the window") -> str:
        """The slave's copy switch: on is copying, off is close-only."""
        return self.set_mode(slave_id, SlaveMode.COPYING if enabled else SlaveMode.CLOSE_ONLY, by=by)

    def set_mode(self, slave_id: str, mode: SlaveMode | str, *, by: str = "the window") -> str:
        """Copying, close-only or paused for one slave, journaled with who asked; a full pass of the
        slave follows at once (after a pause, that pass brings it back to the master's positions).
        Returns the journal's text."""
        slave = self.slaves[slave_id]
        mode = SlaveMode(mode)
        slave.mode = mode
        slave.copy_enabled = mode is SlaveMode.COPYING
        what = {SlaveMode.COPYING: "copying new trades and exits",
                SlaveMode.CLOSE_ONLY: "close-only: no new entries; exits still mirrored",
                SlaveMode.PAUSED: "paused: nothing is sent to it (no entries, exits or stop changes) and each "
                                  "master change it does not follow is journaled, until it resumes"}[mode]
        text = f"{slave_id} {what} (asked by {by})"
        self.journal.record("state", text, account=slave_id, mode=mode.value, copy_enabled=slave.copy_enabled,
                            by=by)
        self._notify(Notice("state", slave_id, text, state=mode.value))
        if self._running:
            self._spawn(self._sync(slave, reason=f"{mode.label.lower()} mode"), f"sync:{slave_id}")
        return text

    def resync(self, slave_id: str, *, by: str = "the window") -> str:
        """The trader's "Resync now": a full pass for this slave at once (its positions read from
        the broker and brought to the master's), not at the next periodic one. Journaled; returns
        the journal's text."""
        slave = self.slaves[slave_id]
        if self._running and slave.mode is SlaveMode.PAUSED:
            text = (f"resync of {slave_id} asked by {by}: it is paused, so it is only read now; nothing is sent to "
                    "it until it resumes")
            self._spawn(self._sync(slave, reason="resync"), f"sync:{slave_id}")
        elif self._running and slave.state in (LinkState.CONNECTED, LinkState.DEGRADED):
            text = f"resync of {slave_id} asked by {by}: reading it and bringing it to the master's positions now"
            self._spawn(self._sync(slave, reason="resync"), f"sync:{slave_id}")
        else:
            text = (f"resync of {slave_id} asked by {by}: it is {slave.state.value}; it is reconciled in full as "
                    "soon as it is connected")
        self.journal.record("state", text, account=slave_id)
        self._notify(Notice("state", slave_id, text))
        return text

    def set_rules(self, slave_id: str, rules: CopyRules) -> None:
        """Give a slave new rules: its link, executor, symbol map and a fresh risk gate.

        Open copies are left as they are; the next pass plans with the new rules.
        """
        slave = self.slaves[slave_id]
        slave.rules = rules
        self._note_guards()
        if slave.executor is not None:
            slave.executor.rules = rules
        slave.symbol_map = SymbolMap(list(slave.symbols), rules.symbols)
        # The same figures and halt under the new limits: a rule edit never lifts a halt.
        if slave.risk_gate is not None:
            slave.risk_gate = slave.risk_gate.with_risk(rules.risk)
            self._give_news(slave, slave.risk_gate)
        else:
            slave.risk_gate = self._risk_gate(slave)
        text = f"rules changed for {slave_id}"
        self.journal.record("state", text, account=slave_id)
        self._notify(Notice("state", slave_id, text))

    # ------------------------------------------------------------------ accounts while copying
    # How long a removal waits for its flatten's closes before it removes the slave anyway.
    REMOVE_FLATTEN_S = 15.0

    def _slave(self, slave_id: str) -> SlaveLink:
        slave = self.slaves.get(slave_id)
        if slave is None:
            raise KeyError(f"{slave_id} is not a linked slave")
        return slave

    async def add_slave(self, link: SlaveLink, *, by: str = "the window") -> str:
        """Link a slave while copying: it connects, is reconciled, then copies. The master's open
        positions are existing ones to it, so its ``copy_existing`` rule decides them. Returns the
        journal's text."""
        if link.id in self.slaves or link.id == self.master_id:
            raise ValueError(f"{link.id} is already linked")
        self.slaves[link.id] = link
        self._note_guards()
        link.lock = asyncio.Lock()
        owner = self.lineage.owner(link.id)
        if self.master_identity and (owner is None or owner[0] == self.master_identity):
            # Copying to it starts now, even for an account id linked before (a copy book entry
            # from then would make the master's positions since then look late, not existing).
            self.lineage.set_owner(link.id, self.master_identity, self.clock.time())
        text = f"slave {link.id} linked while copying (asked by {by}); mode {link.mode.label.lower()}"
        self.journal.record("state", text, account=link.id, linked=True, mode=link.mode.value, by=by)
        self._notify(Notice("state", link.id, text))
        if self._running:
            if await self._connect_slave(link):
                await self._sync(link, reason="linked")
            else:
                self._note_unreachable(link)
                self._schedule_reconnect(link)
        return text

    async def remove_slave(self, slave_id: str, *, flatten: bool, by: str = "the window") -> str:
        """Unlink a slave while copying. With ``flatten`` its copies are closed first (waiting at
        most REMOVE_FLATTEN_S); whatever stays open is journaled with its tickets as left open,
        no longer managed. Its tasks stop and its session closes. Returns the journal's text."""
        slave = self._slave(slave_id)
        if flatten and self._running:
            if slave.mode is not SlaveMode.CLOSE_ONLY:
                self.set_mode(slave_id, SlaveMode.CLOSE_ONLY, by=by)
            slave.flattening = True
            deadline = self.clock.monotonic() + self.REMOVE_FLATTEN_S
            while slave.flattening and self.clock.monotonic() < deadline:
                if slave.state in (LinkState.CONNECTED, LinkState.DEGRADED):
                    await self._sync(slave, reason="flatten before removal")
                if slave.flattening:
                    await asyncio.sleep(0.25)
        # Out of the table first, so no new pass starts for it; then its passes end.
        del self.slaves[slave_id]
        self._note_guards()
        await self._end_tasks(slave_id)
        left: list[FlattenItem] = []
        if slave.state in (LinkState.CONNECTED, LinkState.DEGRADED):
            with contextlib.suppress(ConnectorError, Unreachable, asyncio.TimeoutError):
                slave.last_snapshot = self._own_copies(slave, await asyncio.wait_for(slave.connector.snapshot(), 5.0))
        left = flatten_items(slave.last_snapshot, magic=slave.magic, instance=self.instance,
                             left_shares=self._left_shares(slave))
        with contextlib.suppress(Exception):
            await slave.connector.close_session()
        for key in [k for k in self._copy_positions if k[0] == slave_id]:
            del self._copy_positions[key]
        self._copy_volumes.pop(slave_id, None)
        self._lineage_seen.discard(slave_id)
        head = f"{slave_id} removed (asked by {by})"
        count = f"{len(left)} cop{'y' if len(left) == 1 else 'ies'}"
        if not left:
            text = f"{head}: every copy of this copier there is closed"
        elif flatten:
            text = f"{head}: its {count} could not be closed and are left open, no longer managed: {describe_items(left)}"
        else:
            text = f"{head}: its {count} left open, no longer managed: {describe_items(left)}"
        self.journal.record("state", text, account=slave_id, removed=True, by=by,
                            tickets=[i.ticket for i in left], positions=[list(i) for i in left])
        self._notify(Notice("state", slave_id, text, state="removed"))
        return text

    async def _end_tasks(self, slave_id: str) -> None:
        """Cancel a slave's passes, watches and retries; its deal reads may finish (bounded)."""
        mine = [t for t in self._tasks if t.get_name().split(":")[1:2] == [slave_id]]
        reads = [t for t in mine if t.get_name().startswith("deals:")]
        if reads:
            await asyncio.wait(reads, timeout=5.0)
        await cancel_and_wait({t for t in mine if not t.done()})

    async def reconnect(self, slave_id: str, *, by: str = "the window") -> str:
        """Drop a slave's session and establish it again now; a full pass follows. Journaled."""
        slave = self._slave(slave_id)
        text = f"reconnect of {slave_id} asked by {by}: its session is closed and opened again now"
        self.journal.record("state", text, account=slave_id, by=by)
        self._notify(Notice("state", slave_id, text))
        await self._renew(slave, "reconnecting, as asked")
        return text

    async def replace_connector(self, slave_id: str, connector: Connector, *, by: str = "the window") -> str:
        """A slave's terminal, login, server or password changed: it reconnects through the new
        connection and is reconciled. The caller closes the old connection. Journaled."""
        slave = self._slave(slave_id)
        text = f"{slave_id} uses a new connection (its terminal or login changed, asked by {by}): reconnecting"
        self.journal.record("state", text, account=slave_id, by=by)
        self._notify(Notice("state", slave_id, text))
        before = slave.account
        held = self.flatten_preview(slave_id)
        await self._renew(slave, "moving to the new connection", connector)
        after = slave.account
        if before is not None and held and after is not None and (after.login, after.server) != (before.login,
                                                                                                 before.server):
            moved = (f"{slave_id} is now {after.login}@{after.server}: its copies at {before.login}@{before.server} "
                     f"are left open there, no longer managed: {describe_items(held)}")
            self.journal.record("state", moved, account=slave_id, tickets=[i.ticket for i in held])
            self._notify(Notice("state", slave_id, moved))
        return text

    async def _renew(self, slave: SlaveLink, why: str, connector: Connector | None = None) -> None:
        await cancel_and_wait({t for t in (slave.reconnect_task, slave.watch_task) if t is not None})
        lock = slave.lock or asyncio.Lock()
        async with lock:  # no pass is sending while the session goes
            with contextlib.suppress(Exception):
                await slave.connector.close_session()
            self._set_slave_state(slave, LinkState.DISCONNECTED, why)
            if connector is not None:
                # Perhaps another account: nothing read from the old one is kept.
                slave.connector = connector
                slave.last_snapshot = None
                slave.deals_read = False
                slave.server_offset_s = None
                slave.synced_taken_at = float("-inf")
                self._copy_volumes.pop(slave.id, None)
                self._lineage_seen.discard(slave.id)
        if not self._running:
            return
        if await self._connect_slave(slave):
            self._note_missed_round_trips(slave)
            await self._sync(slave, reason="reconnect")
        else:
            self._schedule_reconnect(slave)

    # ------------------------------------------------------------------ flatten
    def flatten_preview(self, slave_id: str) -> list[FlattenItem]:
        """What ``flatten`` would close at this slave, as last read from its broker: this copier's
        copies only, never the trader's own trades or another copier's."""
        slave = self.slaves[slave_id]
        return flatten_items(slave.last_snapshot, magic=slave.magic, instance=self.instance,
                             left_shares=self._left_shares(slave))

    def flatten(self, slave_id: str, *, by: str = "the window") -> str:
        """Close every copy this copier holds at one slave. The slave goes close-only first, so
        nothing opens them again; each close is journaled as "flattened by the trader", and one
        that fails is retried by the following passes until none is left. Returns the journal's text."""
        slave = self.slaves[slave_id]
        if slave.mode is not SlaveMode.CLOSE_ONLY:
            self.set_mode(slave_id, SlaveMode.CLOSE_ONLY, by=by)
        slave.flattening = True
        found = self.flatten_preview(slave_id)
        what = describe_items(found) if found else "nothing of this copier's was open at the last look"
        text = f"flatten of {slave_id} asked by {by}: closing every copy of this copier there ({what})"
        if not self._running or slave.state not in (LinkState.CONNECTED, LinkState.DEGRADED):
            text += f"; {slave_id} is {slave.state.value}, so it is flattened as soon as it can trade"
        self.journal.record("state", text, account=slave_id, flatten=True, by=by,
                            positions=[list(i) for i in found])
        self._notify(Notice("state", slave_id, text))
        if self._running:
            self._spawn(self._sync(slave, reason="flatten"), f"flatten:{slave_id}")
        return text

    def flatten_all(self, *, by: str = "the window") -> list[str]:
        """``flatten`` for every slave; the journal's text for each."""
        return [self.flatten(slave_id, by=by) for slave_id in list(self.slaves)]

    async def _flatten_done(self, slave: SlaveLink) -> None:
        """After a flatten pass: a look at the slave, and the flatten ends once nothing is left."""
        slave.last_snapshot = await slave.connector.snapshot()
        left = self.flatten_preview(slave.id)
        if left:
            return  # the failures are journaled; the next pass tries again
        slave.flattening = False
        text = f"{slave.id} flattened: no copy of this copier is open there; it stays close-only"
        self.journal.record("state", text, account=slave.id, flatten=False)
        self._notify(Notice("state", slave.id, text))

    def entries_allowed(self, slave: SlaveLink) -> bool:
        return (self.copying and slave.mode is SlaveMode.COPYING and self.master_state is LinkState.CONNECTED
                and not slave.other_copiers)

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Connect, reconcile, and only then copy."""
        self._running = True
        self.journal.record("state", "copier starting", account=self.master_id,
                            slaves=list(self.slaves), poll_interval_ms=self.poll_interval_s * 1000)
        for slave in self.slaves.values():
            slave.lock = asyncio.Lock()
        self._last_alive = self.copybook.fact("last_alive")
        self._change_wall.update(self.copybook.change_walls())
        now = self.clock.time()
        # Alive from now: a crash before the first heartbeat still bounds what opened meanwhile.
        self.copybook.set_fact("last_alive", now)
        if self.copying:
            # Copying starts now for a slave that never copied before, even if it connects later.
            for slave in self.slaves.values():
                if slave.mode is SlaveMode.COPYING:
                    self.copybook.remember_start(slave.id, now)
        await self._connect_master_with_retry()
        links = list(self.slaves.values())
        connected = await asyncio.gather(*(self._connect_slave(s) for s in links))
        for slave, ok in zip(links, connected, strict=True):
            if not ok:
                self._note_unreachable(slave)
                self._schedule_reconnect(slave)
        await asyncio.gather(*(self._sync(s, reason="start") for s in links if s.state is LinkState.CONNECTED))
        self._spawn(self._poll_loop(), "poll")
        self._spawn(self._reconcile_loop(), "reconcile")
        self._spawn(self._heartbeat(), "heartbeat")

    async def stop(self) -> None:
        self._running = False
        fanout_quiet.release()
        # Deals being read are journaled, not cut off: a report of this session counts them.
        if self._deal_tasks:
            await asyncio.wait(set(self._deal_tasks), timeout=5.0)
        await cancel_and_wait(self._tasks)
        self._tasks.clear()
        # What open positions were worth when copying stopped: a report of this session values them.
        await asyncio.gather(*(self._refresh_snapshot(s) for s in self.slaves.values()
                               if s.state is LinkState.CONNECTED))
        self._journal_marks()
        for connector in [self.master] + [s.connector for s in self.slaves.values()]:
            with contextlib.suppress(Exception):
                await connector.close_session()
        self.journal.record("state", "copier stopped", account=self.master_id)

    def abandon(self) -> None:
        """Drop every task without any clean-up, as a crash would (for crash tests and replay)."""
        self._running = False
        fanout_quiet.release()
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()

    def _spawn(self, coro, name: str) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            self.journal.record("error", f"task {task.get_name()} failed: {exc!r}", account=self.master_id)
            self._notify(Notice("failure", self.master_id, f"internal error in {task.get_name()}: {exc}"))

    def _spawn_all_syncs(self, reason: str) -> None:
        if not self._running:
            return
        for slave in self.slaves.values():
            if slave.state is LinkState.CONNECTED:
                self._spawn(self._sync(slave, reason=reason), f"sync:{slave.id}")

    # ------------------------------------------------------------------ connections
    def _set_master_state(self, state: LinkState, detail: str = "") -> None:
        if state is self.master_state:
            return
        self.master_state = state
        text = f"master {state.value}" + (f": {detail}" if detail else "")
        self.journal.record("state", text, account=self.master_id, state=state.value)
        self._notify(Notice("state", self.master_id, text, state=state.value))

    def _set_slave_state(self, slave: SlaveLink, state: LinkState, detail: str = "") -> None:
        if state is slave.state and detail == slave.last_error:
            return
        slave.state = state
        slave.last_error = detail
        text = f"{slave.id} {state.value}" + (f": {detail}" if detail else "")
        # The currency its money figures are in, so a report from the journal alone can say it.
        currency = {"currency": slave.account.currency} if slave.account is not None else {}
        self.journal.record("state", text, account=slave.id, state=state.value, **currency)
        self._notify(Notice("state", slave.id, text, state=state.value))

    async def _connect_master_with_retry(self) -> None:
        attempt = 0
        while True:
            self._set_master_state(LinkState.CONNECTING)
            try:
                self.master_account = await self.master.connect()
                self.master_symbols = await self.master.symbols()
                self.master_snapshot = await self.master.snapshot()
            except ConnectorError as exc:
                self._set_master_state(LinkState.DISCONNECTED, exc.message)
                await asyncio.sleep(self.backoff_s[min(attempt, len(self.backoff_s) - 1)])
                attempt += 1
                continue
            self._take_master(self.master_account)
            newest_seen = self.copybook.newest_seen_msc()  # before this look's positions count as seen
            self._master_looked_wall = self.clock.time()
            self._remember_fills(self.master_snapshot, at_start=True)
            self._journal_held(self.master_snapshot)
            self._read_closed_while_down(self.master_snapshot)
            self._set_master_state(LinkState.CONNECTED)
            self._look_for_unseen_round_trips(newest_seen, "while the copier was not running",
                                              watched_before=self._last_alive is not None)
            return

    async def _connect_slave(self, slave: SlaveLink) -> bool:
        if slave.state is not LinkState.DISCONNECTED or not slave.last_error:
            # A retry of a link already known to be down is not journaled as a new attempt each time.
            self._set_slave_state(slave, LinkState.CONNECTING)
        try:
            slave.account = await slave.connector.connect()
            slave.symbols = await slave.connector.symbols()
        except ConnectorError as exc:
            self._set_slave_state(slave, LinkState.DISCONNECTED, exc.message)
            return False
        slave.symbol_map = SymbolMap(list(slave.symbols), slave.rules.symbols)
        if slave.risk_gate is None:
            slave.risk_gate = self._risk_gate(slave)
        with contextlib.suppress(ConnectorError):  # read again at the next look at the account
            await self._follow_cash(slave)
        slave.executor = SlaveExecutor(
            slave.id, slave.broker or slave.account.company, slave.connector, slave.rules, magic=slave.magic,
            journal=self.journal, metrics=self.metrics, copybook=self.copybook, clock=self.clock,
            notify=self._notify, refused=slave.refused)
        slave.executor.started_wall = self._started_wall(slave, self.copybook.started_wall(slave.id))
        slave.executor.instance = self.instance
        slave.executor.currency = slave.account.currency
        slave.executor.specs = slave.symbols
        # Read at each use, so it follows the master's symbols across its reconnections.
        slave.executor.master_spec = lambda name: self.master_symbols.get(name)
        slave.executor.defer = lambda delay, slave=slave: self._defer_sync(slave, delay)
        if slave.account.trade_allowed:
            self._set_slave_state(slave, LinkState.CONNECTED)
        else:
            self._trading_off(slave, _blocked_text(slave.account))
        return True

    # ------------------------------------------------------------------ trading switched off
    # How often a slave whose trading is off is asked whether it is back on: well inside the
    # second a trader waits after pressing the button.
    TRADING_WATCH_S = 0.25

    def _trading_off(self, slave: SlaveLink, detail: str) -> None:
        """Trading is off at the slave: show it, and watch until it is allowed again."""
        if slave.state is not LinkState.DEGRADED:
            self._set_slave_state(slave, LinkState.DEGRADED, detail)
        if self._running and (slave.watch_task is None or slave.watch_task.done()):
            slave.watch_task = self._spawn(self._watch_trading(slave), f"watch:{slave.id}")

    async def _watch_trading(self, slave: SlaveLink) -> None:
        while self._running and slave.state is LinkState.DEGRADED:
            await asyncio.sleep(self.TRADING_WATCH_S)
            try:
                account = await slave.connector.account()
            except ConnectorError as exc:
                self._set_slave_state(slave, LinkState.DISCONNECTED, exc.message)
                # What waited on trading being switched on now waits on the link: say so.
                self._note_unfollowed(slave, None)
                self._schedule_reconnect(slave)
                return
            slave.account = account
            with contextlib.suppress(ConnectorError):
                await self._follow_cash(slave)
            if account.trade_allowed:
                if slave.executor is not None:
                    # Refusals caused by the switch were not the trades' fault: try them again now.
                    slave.executor.failed.clear()
                self._set_slave_state(slave, LinkState.CONNECTED, "")
                self.journal.record("state", f"{slave.id}: trading is allowed again; copying what is missing",
                                    account=slave.id)
                self._note_missed_round_trips(slave)
                await self._sync(slave, reason="trading allowed again")
                # The pass may have found trading off again (this task is still the watch, so none
                # other was started): the loop goes on while the slave is degraded.

    def _defer_sync(self, slave: SlaveLink, delay: float) -> None:
        """One more pass for this slave after ``delay``; requests for more while one waits merge into it."""
        if not self._running or (slave.deferred_task is not None and not slave.deferred_task.done()):
            return

        async def later() -> None:
            await asyncio.sleep(delay)
            await self._sync(slave, reason="stop changes held back")
        slave.deferred_task = self._spawn(later(), f"deferred:{slave.id}")

    def _throttle(self, slave: SlaveLink, message: str) -> None:
        """The broker said "too many requests": pause this slave, longer each time it repeats."""
        pause = min(8.0, 0.5 * 2 ** slave.throttle_strikes)
        slave.throttle_strikes += 1
        slave.throttled_until = self.clock.monotonic() + pause
        text = f"{slave.id}: {message}; next request in {pause:g} s"
        self.journal.record("correction", text, account=slave.id, pause_s=pause)
        self._notify(Notice("info", slave.id, text))

        async def resume() -> None:
            await asyncio.sleep(pause)
            await self._sync(slave, reason="after throttling")
        self._spawn(resume(), f"resume:{slave.id}")

    def _schedule_reconnect(self, slave: SlaveLink) -> None:
        if not self._running or (slave.reconnect_task is not None and not slave.reconnect_task.done()):
            return
        slave.reconnect_task = self._spawn(self._reconnect(slave), f"reconnect:{slave.id}")

    async def _reconnect(self, slave: SlaveLink) -> None:
        """Retry with backoff; once connected, reconcile before copying resumes."""
        attempt = 0
        while self._running:
            await asyncio.sleep(self.backoff_s[min(attempt, len(self.backoff_s) - 1)])
            attempt += 1
            if await self._connect_slave(slave):
                self._note_missed_round_trips(slave)
                await self._sync(slave, reason="reconnect")
                if slave.state is not LinkState.DISCONNECTED:
                    return
                # The pass lost the link again; this task is still the reconnect, so it goes on.
                attempt = 0

    # ------------------------------------------------------------------ the master
    def _remember_fills(self, snapshot: Snapshot, *, at_start: bool = False) -> None:
        """When each master position filled, in UTC, for the maximum-delay rule, latency, and to
        tell positions opened while the copier was down from ones held before copying started.

        Trade times are the server's; its offset from UTC is learnt from fresh records and kept
        on disk. A position first seen in a poll filled within that poll, so "now" is a fine
        stand-in until the offset is known. At start-up, a position this copier saw before keeps
        the fill time it had. One it never saw was opened after the previous run was last alive
        (it would have been seen otherwise), which bounds its age even with no offset known. On
        the very first run with no offset, its age is unknown: it counts as an existing position,
        dated just before copying starts.
        """
        offset = snapshot.server_offset_s
        if offset is not None:
            self.copybook.set_fact("master_offset_s", offset)
        stored_offset = self.copybook.fact("master_offset_s")
        now = self.clock.time()
        new: dict[int, float] = {}
        seen: dict[int, int] = {}
        for pos in snapshot.positions:
            self._exit_price[pos.ticket] = pos.price_current
            if pos.ticket in self._fill_wall:
                continue
            seen[pos.ticket] = pos.time_msc
            fill = self.copybook.fill_wall(pos.ticket)
            # An MT5 netting position reversed takes the reversing order's ticket and keeps its
            # first fill's open time: when it took this side is known only from when it was seen.
            dated = pos.identifier == pos.ticket or not pos.identifier
            if fill is None:
                if offset is not None and dated:
                    fill = pos.time_msc / 1000.0 - offset
                elif not at_start:
                    fill = now
                elif self._last_alive is not None:
                    guess = pos.time_msc / 1000.0 - stored_offset if stored_offset is not None and dated else None
                    fill = min(now, max(self._last_alive, guess) if guess is not None else self._last_alive)
                else:
                    # The first run ever, and no offset: all that is known is that it is open now,
                    # before copying to any slave starts, so it is an existing position everywhere.
                    fill = now - _BEFORE
                new[pos.ticket] = fill
            self._fill_wall[pos.ticket] = fill
        self.copybook.remember_fills(new, seen=seen)

    async def _next_look(self) -> None:
        """Wait until the master is worth looking at: the poll interval, or less when its platform
        pushes changes and one has arrived (its connector then answers a snapshot from what was
        pushed, so the look costs no round trip)."""
        if self.master.capabilities.events is EventDelivery.PUSHED:
            await self.master.wait_for_change(self.poll_interval_s)
        else:
            await asyncio.sleep(self.poll_interval_s)

    async def _poll_loop(self) -> None:
        attempt = 0
        while self._running:
            await self._next_look()
            try:
                snapshot = await self.master.snapshot()
            except ConnectorError as exc:
                self._set_master_state(LinkState.DISCONNECTED, exc.message)
                await asyncio.sleep(self.backoff_s[min(attempt, len(self.backoff_s) - 1)])
                attempt += 1
                try:
                    self.master_account = await self.master.connect()
                except ConnectorError:
                    continue
                self._set_master_state(LinkState.CONNECTED, "reconnected")
                self._look_for_unseen_round_trips(self.copybook.newest_seen_msc(),
                                                  "while the copier could not reach the master", watched_before=True)
                continue
            attempt = 0
            self._master_looked_wall = self.clock.time()
            if self.master_state is not LinkState.CONNECTED:
                self._set_master_state(LinkState.CONNECTED)
            previous = self.master_snapshot
            self.master_snapshot = snapshot
            if previous is None:
                self._remember_fills(snapshot)
                continue
            events = diff(previous, snapshot, wall=self.clock.time(), mono=self.clock.monotonic())
            self._remember_fills(snapshot)
            if events:
                self._on_events(events, snapshot)

    def _on_events(self, events: list[MasterEvent], snapshot: Snapshot) -> None:
        changes: dict[int, float] = {}
        for event in events:
            if event.kind is EventKind.CLOSED and event.position is not None:
                self._exit_price.setdefault(event.ticket, event.position.price_current)
            if event.kind in (EventKind.INCREASED, EventKind.REVERSED):
                # The maximum delay of what the change asks for counts from the change.
                self._change_wall[event.ticket] = changes[event.ticket] = event.detected_wall
            if event.kind is EventKind.REVERSED:
                for slave in self.slaves.values():
                    if slave.executor is not None:
                        slave.executor.reversed.add(event.ticket)
            if event.kind is EventKind.PENDING_TRIGGERED:
                # A refusal of the order (copy_pending off, a move refused) was about the order;
                # the position it became is judged afresh.
                for slave in self.slaves.values():
                    if slave.executor is not None:
                        slave.executor.forget_refusal(event.ticket)
        first = events[0]
        ctx = self._context(first.detected_wall, first.detected_mono)
        tickets = {e.ticket for e in events}
        # A brand-new master position cannot have a copy yet, so those slaves need no fresh
        # snapshot before the request goes out. A pending order that filled might have filled at
        # the slave too, so that case still looks first.
        fresh = all(e.kind is EventKind.OPENED for e in events)
        opened = [e.ticket for e in events
                  if e.kind in (EventKind.OPENED, EventKind.PENDING_TRIGGERED, EventKind.PENDING_PLACED)]
        for slave in self.slaves.values():
            if slave.state in (LinkState.CONNECTED, LinkState.DEGRADED):
                self._spawn(self._sync(slave, only=tickets, ctx=ctx, reason="master change", fresh=fresh,
                                       event_taken_at=snapshot.taken_at), f"copy:{slave.id}")
            else:
                for ticket in opened:
                    self._waiting(slave, ticket, self._entries_blocked(slave))
                self._note_exits_missed(slave, events)
        loop = asyncio.get_running_loop()
        # The collector and the journal's writer wait until the requests are out (fanout_quiet):
        # either took milliseconds of a fan-out to 100 slaves when it fell there.
        fanout_quiet.hold(loop)
        # Journaling waits until the slaves' requests are out, and so does the copy book's note of
        # the changes (kept for a restart, which a crash inside this turn would lose anyway).
        loop.call_soon(self._journal_events, events)
        if changes:
            loop.call_soon(self._remember_changes, changes)

    def _remember_changes(self, changes: dict[int, float]) -> None:
        if self._running:  # a copier abandoned within the turn has let its copy book go
            self.copybook.remember_changes(changes)

    def _journal_held(self, snapshot: Snapshot) -> None:
        """The master's positions as copying starts, with when each was filled: a position opened
        while no copier ran is otherwise in no journal entry, and drift reports could not value its
        copies."""
        for p in snapshot.positions:
            self.journal.record("master_event", f"master #{p.ticket} held at start: {p.side.value} {p.volume:g} "
                                f"{p.symbol} @ {p.price_open:g}", account=self.master_id, ticket=p.ticket,
                                kind_of_event="held", symbol=p.symbol, master_time_msc=p.time_msc,
                                side=p.side.value, volume=p.volume, previous_volume=0.0, price_open=p.price_open,
                                price=p.price_current, opened_wall=self._fill_wall.get(p.ticket))
            # Read again: the previous run's read may have been cut off by a crash.
            self._collect_deals(self.master_id, self.master, p.identifier, p.ticket)

    def _read_held_copies(self, slave: SlaveLink, actual: Snapshot, hedging: bool) -> None:
        """The deals of the copies a slave holds when this copier first looks: a read the previous
        run started may have been cut off by a crash, and a fill meanwhile journaled nowhere."""
        for p in actual.positions:
            shares = {tags.master_ticket_of(p.comment)} if hedging else {
                tags.master_ticket_of(d.comment) for d in p.deals or ()}
            for ticket in sorted(t for t in shares if t is not None):
                if hedging:
                    self._copy_positions.setdefault((slave.id, ticket), set()).add(p.identifier)
                self._collect_deals(slave.id, slave.connector, p.identifier, ticket, tagged=not hedging)

    def _read_changed_copies(self, slave: SlaveLink, actual: Snapshot) -> None:
        for position_id, ticket in self._changed_copies(slave, actual):
            self._collect_deals(slave.id, slave.connector, position_id, ticket)

    def _changed_copies(self, slave: SlaveLink, actual: Snapshot) -> list[tuple[int, int]]:
        """The (position id, master ticket) of copies whose volume changed with no deal of ours."""
        seen = self._copy_volumes.setdefault(slave.id, {})
        now: dict[int, float] = {}
        changed = []
        for p in actual.positions:
            ticket = tags.master_ticket_of(p.comment)
            if ticket is None:
                continue
            before = seen.get(p.identifier)
            if before is not None and abs(before - p.volume) > 1e-9:
                changed.append((p.identifier, ticket))
            now[p.identifier] = p.volume
        self._copy_volumes[slave.id] = now
        return changed

    def _read_closed_while_down(self, snapshot: Snapshot) -> None:
        """Master positions a slave still has a copy entry for but the master no longer holds were
        closed while no copier ran: their deals give drift reports the master's exit."""
        held = {p.ticket for p in snapshot.positions} | {o.ticket for o in snapshot.orders}
        gone = {t for s in self.slaves.values() for t in self.copybook.tickets(s.id)} - held
        for ticket in sorted(gone):
            self._collect_deals(self.master_id, self.master, ticket, ticket)

    def _journal_events(self, events: list[MasterEvent]) -> None:
        for event in events:
            text = event.describe(units=self._in_units(event.symbol))
            self.journal.record("master_event", text, account=self.master_id,
                                ticket=event.ticket, kind_of_event=event.kind.value, symbol=event.symbol,
                                master_time_msc=event.master_time_msc, **_position_data(event))
            if event.position is not None and event.kind in (EventKind.CLOSED, EventKind.OPENED,
                                                             EventKind.PENDING_TRIGGERED, EventKind.INCREASED,
                                                             EventKind.PARTIALLY_CLOSED, EventKind.REVERSED):
                self._collect_deals(self.master_id, self.master, event.position.identifier, event.ticket)
            if event.kind is EventKind.CLOSED:
                # A copy its slave's broker closed first (its own stop) has no exit of ours: its
                # deals hold it. A copy still open here is read again after its exit fills.
                for slave in self.slaves.values():
                    for position_id in self._copy_positions.pop((slave.id, event.ticket), ()):
                        self._collect_deals(slave.id, slave.connector, position_id, event.ticket,
                                            tagged=not slave.connector.capabilities.hedging)
            self._notify(Notice("master", self.master_id, text, event.ticket))

    def _in_units(self, symbol: str) -> bool:
        """Whether the master counts ``symbol``'s volume in units of the asset (cTrader), not lots."""
        spec = self.master_symbols.get(symbol)
        return spec is not None and spec.volume_unit is VolumeUnit.UNITS

    def _context(self, wall: float, mono: float) -> StepContext:
        return StepContext(self.master_id, self.master_snapshot.server_offset_s if self.master_snapshot else None,
                           wall, mono, self._fill_wall, self._exit_price, self._change_wall)

    # ------------------------------------------------------------------ a slave
    async def _sync(self, slave: SlaveLink, *, only: set[int] | None = None, ctx: StepContext | None = None,
                    reason: str, fresh: bool = False, event_taken_at: float = 0.0) -> None:
        """Bring one slave to its desired state (or only the given master tickets).

        ``fresh``: the tickets are master positions opened just now, so the slave cannot hold a
        copy of them yet and its snapshot is not read first (a netting slave's always is: its
        one position per symbol sums every master position).
        """
        if slave.lock is None or slave.executor is None or self.master_snapshot is None:
            return
        async with slave.lock:
            if slave.state not in (LinkState.CONNECTED, LinkState.DEGRADED):
                # It went while this pass waited its turn: the changes it was for are journaled as
                # waiting, as when a change finds the slave already away.
                if only is not None:
                    self._note_unfollowed(slave, only)
                return
            if self.clock.monotonic() < slave.throttled_until:
                return  # a pass is already scheduled for when the pause ends
            master = self.master_snapshot
            if ctx is None:
                ctx = self._context(self.clock.time(), self.clock.monotonic())
            try:
                hedging = slave.connector.capabilities.hedging
                gate = slave.risk_gate
                if gate is not None and slave.account is not None:
                    self._risk_update(slave, gate)
                paused = slave.mode is SlaveMode.PAUSED
                # A paused slave is sent nothing, not even a flatten: the trader's pause wins.
                halted = gate is not None and gate.flatten and not paused
                flattening = slave.flattening and not paused
                if halted or flattening:
                    # Flatten: everything of ours goes, whatever the master holds; a full look first.
                    fresh, only = False, None
                if slave.id not in self._lineage_seen:
                    fresh = False  # whose copies this slave holds is settled by a first full look
                if slave.synced_taken_at >= event_taken_at:
                    # A full pass already saw this master snapshot (it may have run first while
                    # this task waited for the lock) and may have copied the new position: look.
                    fresh = False
                if fresh and only is not None and hedging:
                    actual = Snapshot(self.clock.monotonic(), (), (), slave.server_offset_s)
                    positions = tuple(p for p in master.positions if p.ticket in only)
                    orders = ()
                else:
                    actual = self._own_copies(slave, await slave.connector.snapshot())
                    slave.last_snapshot = actual
                    self._in_flight.seen(slave.id, actual.taken_at)
                    slave.synced_taken_at = master.taken_at
                    slave.server_offset_s = actual.server_offset_s or slave.server_offset_s
                    if not slave.deals_read:
                        slave.deals_read = True
                        self._read_held_copies(slave, actual, hedging)
                    elif hedging:
                        self._read_changed_copies(slave, actual)
                    positions, orders = master.positions, master.orders
                plan = plan_slave(
                    positions, orders,
                    MasterContext(self.master_id, self.master_account.balance if self.master_account else 0.0,
                                  self.master_symbols, self.master_account.currency if self.master_account else "",
                                  master.server_offset_s, self.clock.time(),
                                  self.master_account.equity if self.master_account else 0.0,
                                  self.master_account.margin_free if self.master_account else 0.0),
                    SlaveContext(slave.id, slave.executor.broker, slave.rules, slave.symbols, slave.symbol_map,
                                 slave.account.balance if slave.account else 0.0,
                                 slave.account.currency if slave.account else "", slave.server_offset_s,
                                 slave.account.equity if slave.account else 0.0,
                                 slave.account.margin_free if slave.account else 0.0),
                    self.copybook)
                master_tickets = {p.ticket for p in master.positions} | {o.ticket for o in master.orders}
                looked = not (fresh and only is not None and hedging)
                if looked and hedging:
                    self._close_unprotected(slave, actual, plan)
                if gate is not None and slave.rules.risk.prop is not None and slave.rules.risk.prop.news is not None:
                    self._close_for_news(slave, gate, plan)
                shares, unsettled = (None, frozenset()) if hedging else self._settle_netting(slave, actual)
                # What this slave holds copies of, read once for the whole pass: positions (by tag,
                # or by share on a netting account) and working pending copies.
                held = held_tickets(actual.positions, slave.magic, self.instance) if shares is None else {
                    t for by_ticket in shares.values() for t, v in by_ticket.items() if v}
                working = working_tickets(actual.orders, slave.magic, self.instance)
                # What a halted slave is not given stays noted as waiting, so it is journaled once,
                # not at every pass.
                still_waiting: frozenset[int] = frozenset()
                if halted:
                    for ticket in plan.positions:
                        if (only is None or ticket in only) and ticket not in held:
                            self._waiting(slave, ticket, _risk_reason(gate.reason),
                                          plan.positions[ticket])
                    still_waiting = frozenset(plan.positions)
                    plan = SlavePlan()
                    master_tickets = set()
                # The trader's flatten closes every copy of ours whatever the master holds; the
                # copy book keeps the entries of master positions still open, so the slave never
                # opens them again (see _not_again).
                exits_only = halted or flattening
                if flattening:
                    slave.flattened |= held | working
                    plan = SlavePlan()
                for ticket, refusal in plan.refusals.items():
                    if only is None or ticket in only:
                        slave.executor.refuse(ticket, refusal.reason, candidates=list(refusal.candidates),
                                              **({"drift": refusal.drift} if refusal.drift else {}))
                entries_ok = self.entries_allowed(slave) and slave.state is LinkState.CONNECTED
                if entries_ok and slave.executor.started_wall is None:
                    slave.executor.started_wall = self._started_wall(
                        slave, self.copybook.remember_start(slave.id, self.clock.time()))
                if looked:
                    self._leave_foreign_copies(slave, plan, actual, held)
                    entries_ok = self.entries_allowed(slave) and slave.state is LinkState.CONNECTED
                    self._adopt_copies(slave, actual, master, plan)
                    self._not_again(slave, plan, held | working)
                self._note_waiting(slave, plan, held | working, only, entries_ok, still_waiting)
                master_orders = set() if exits_only else {o.ticket for o in master.orders}
                if paused:
                    # Nothing is sent: what the slave would do is journaled as not followed, with
                    # the pause as the reason; resuming runs a full pass.
                    pending = reconcile(plan, actual.positions, actual.orders, magic=slave.magic,
                                        instance=self.instance, shares=shares, unsettled=unsettled,
                                        hedging=hedging, symbols=slave.symbols, entries_allowed=False,
                                        master_tickets=master_tickets, master_orders=master_orders, only=only,
                                        follow_stops=slave.rules.stops.follow_modifications)
                    self._note_exits_waiting(slave, pending)
                    return
                if slave.state is LinkState.DEGRADED:
                    # Trading is off there: nothing can pass, and the watch runs a full pass the
                    # moment it is back on. Sending now would only repeat the same refusal; what
                    # waits is journaled instead.
                    pending = reconcile(plan, actual.positions, actual.orders, magic=slave.magic,
                                        instance=self.instance, shares=shares, unsettled=unsettled,
                                        hedging=hedging, symbols=slave.symbols, entries_allowed=False,
                                        master_tickets=master_tickets,
                                        master_orders=master_orders, only=only)
                    self._note_exits_waiting(slave, pending)
                    return
                slave.exits_waiting.clear()
                steps = reconcile(plan, actual.positions, actual.orders, magic=slave.magic, instance=self.instance,
                                  shares=shares, unsettled=unsettled,
                                  hedging=hedging, symbols=slave.symbols,
                                  entries_allowed=entries_ok,
                                  master_tickets=set() if flattening else master_tickets,
                                  master_orders=master_orders,
                                  follow_stops=slave.rules.stops.follow_modifications,
                                  only=only)
                if flattening:
                    steps = as_flattened(steps)
                if gate is not None:
                    tally = actual.positions if actual.positions or slave.last_snapshot is None \
                        else slave.last_snapshot.positions
                    steps, refused, warnings = gate.screen(steps, tally, slave.symbols)
                    for step, why, rule in refused:
                        desired = step.desired if isinstance(step, OpenStep | NetStep) else None
                        slave.executor.refuse(_master_ticket_of(step), why, rule=f"risk:{rule}",
                                              **({"drift": slave.executor.missed(desired)} if desired else {}))
                    for breach in warnings:
                        self.journal.record("refusal", f"warning: {breach.text}", account=slave.id)
                        self._notify(Notice("info", slave.id, f"warning: {breach.text}"))
                # Entries refused for good (too late, beyond tolerance) come back in every plan; they
                # were journaled once and are not steps.
                steps = [s for s in steps if not _refused_entry(s, slave.refused)]
                if slave.rules.risk.prop is not None and slave.rules.risk.prop.hedging is not None:
                    steps = self._guard_hedges(slave, slave.rules.risk.prop.hedging, steps)
                if steps and self._guarding:
                    # Every slave's, guarded or not: another's guard must see them before they fill.
                    sent_at = self.clock.monotonic()
                    for holding in hedge_guard.entries_sent(slave.id, steps, slave.symbols):
                        self._in_flight.add(sent_at, holding)
                await slave.executor.run(steps, ctx, slave.symbols)
                deals = slave.executor.take_deals_due()
                if deals and gate is not None:
                    gate.note_deal(self.clock.time())  # a prop firm counts the days with a deal
                for position_id, ticket, symbol, order, volume, booked in deals:
                    if position_id and hedging:
                        self._copy_positions.setdefault((slave.id, ticket), set()).add(position_id)
                        self._copy_volumes.setdefault(slave.id, {})[position_id] = volume
                    self._collect_deals(slave.id, slave.connector, position_id, ticket, tagged=not hedging,
                                        symbol=symbol, order=order, booked=booked)
                slave.throttle_strikes = 0
                if steps:
                    self.journal.record("plan", f"{len(steps)} step(s) for {slave.id} ({reason})", account=slave.id,
                                        steps=[type(s).__name__ for s in steps])
                if looked:
                    self._forget_finished(slave, master_tickets, held, working)
                if flattening:
                    await self._flatten_done(slave)
                elif not looked and steps:
                    # The fast path sent without looking; look now, after the fact, so views and
                    # the next pass see the new copy.
                    slave.last_snapshot = await slave.connector.snapshot()
                    self._in_flight.seen(slave.id, slave.last_snapshot.taken_at)
                    if hedging:
                        # Books the look at which a copy just opened without a stop falls due.
                        self._close_unprotected(slave, slave.last_snapshot, plan)
            except TradingDisabled as exc:
                self._trading_off(slave, str(exc))
                self._note_unfollowed(slave, only)
            except Throttled as exc:
                self._throttle(slave, str(exc))
            except (ConnectorError, Unreachable) as exc:
                message = exc.message if isinstance(exc, ConnectorError) else str(exc)
                self._set_slave_state(slave, LinkState.DISCONNECTED, message)
                self._note_unfollowed(slave, only)
                self._schedule_reconnect(slave)

    def _note_guards(self) -> None:
        # Whenever the slaves or their rules change: a guard added by a rule edit sees the entries
        # sent from then on (those already in flight are in their slaves' next snapshots).
        self._guarding = any(s.rules.risk.prop is not None and s.rules.risk.prop.hedging is not None
                             for s in self.slaves.values())

    def _guard_hedges(self, slave: SlaveLink, rule: HedgingGuard, steps: list) -> list:
        """A prop account's entries that would hedge another linked account's position (or an entry
        on its way there) on the same instrument: refused for good, or sent with a warning journaled
        once. The accounts are the rule's, or every account this copier links."""
        accounts = (set(rule.accounts) or {self.master_id, *self.slaves}) - {slave.id}
        others: list[hedge_guard.Holding] = []
        for account in sorted(accounts):
            if account == self.master_id:
                if self.master_snapshot is not None:
                    others += hedge_guard.holdings(account, self.master_snapshot.positions, self.master_symbols)
            elif (link := self.slaves.get(account)) is not None and link.last_snapshot is not None:
                others += hedge_guard.holdings(account, link.last_snapshot.positions, link.symbols)
        others += self._in_flight.of(accounts)
        steps, refused, warned = hedge_guard.screen(slave.id, steps, rule, slave.symbols, others)
        for hedge in refused:
            slave.executor.refuse(hedge.master_ticket, hedge.text, rule="prop.hedging")
        for hedge in warned:
            if hedge.master_ticket not in slave.hedge_warned:
                slave.hedge_warned.add(hedge.master_ticket)
                self.journal.record("refusal", hedge.text, account=slave.id, master_ticket=hedge.master_ticket,
                                    limit="prop.hedging", action="warn")
                self._notify(Notice("info", slave.id, hedge.text, hedge.master_ticket))
        return steps

    def _close_for_news(self, slave: SlaveLink, gate: RiskGate, plan: SlavePlan) -> None:
        """Under a news rule with ``flatten``: the copies and working orders on the instruments an
        event moves leave the plan as refusals while its window is open, so they are closed as exits
        and not opened again (an exit is never held back by the window itself)."""
        symbols = gate.flatten_symbols(slave.symbols)
        if not symbols:
            return
        for desired_map in (plan.positions, plan.orders):
            for ticket in [t for t, d in desired_map.items() if d.symbol in symbols]:
                symbol = desired_map.pop(ticket).symbol
                plan.refusals[ticket] = Refusal(ticket, f"skipped: risk.prop.news: a news window is open or opens within "
                                                        f"a minute on {symbol}; its copies are closed before it "
                                                        "(action flatten)")

    def _close_unprotected(self, slave: SlaveLink, actual: Snapshot, plan: SlavePlan) -> None:
        """A prop account's copies still without a stop loss the firm's seconds after opening leave
        the plan as refusals: closed as exits, journaled, not copied again. A look is booked for
        when the next one falls due, so a copy is closed on time even when nothing else moves."""
        prop = slave.rules.risk.prop
        found = unprotected(prop.stop_loss if prop is not None else None, actual.positions, plan.positions,
                            magic=slave.magic, now=self.clock.time(), server_offset_s=slave.server_offset_s,
                            first_seen=slave.stopless_seen)
        for ticket, reason in found.to_close.items():
            plan.positions.pop(ticket, None)
            plan.refusals[ticket] = Refusal(ticket, reason)
        if found.next_due is not None and found.next_due != slave.stop_look_at:
            slave.stop_look_at = found.next_due
            delay = max(0.0, found.next_due - self.clock.time()) + 0.05

            def look() -> None:
                if self._running and slave.id in self.slaves and slave.stop_look_at == found.next_due:
                    self._spawn(self._sync(slave, reason="stop loss due"), f"stop-due:{slave.id}")

            asyncio.get_running_loop().call_later(delay, look)

    # ------------------------------------------------------------------ whose copies
    def _take_master(self, account: AccountState) -> None:
        """Record which account is the master. After a change of master, the copies slaves hold of
        the old one are not this master's: what the copier knew of them goes, and each slave's are
        attributed (left open, journaled) at the first look at it (see _own_copies)."""
        identity = f"{account.login}@{account.server}"
        if identity == self.master_identity:
            return  # the same master, reconnected
        self.master_identity = identity
        previous = self.lineage.master()
        if previous is not None and previous != identity:
            text = (f"the master is now {identity} (it was {previous}): the copies slaves hold of {previous} are "
                    "left open and no longer managed; each slave's are journaled with their tickets when it is read")
            self.journal.record("state", text, account=self.master_id, master=identity, previous_master=previous)
            self._notify(Notice("state", self.master_id, text))
            # The old master's positions and times say nothing of this one's: its positions open
            # now are existing positions to every slave (copy_existing decides).
            self._last_alive = None
            self._master_looked_wall = None
            self._change_wall.clear()
            self.copybook.forget_fills(set())
            self.copybook.forget_master_seen()
            # Its server's clock too: the next master may trade in another time zone.
            self.copybook.forget_fact("master_offset_s")
            for slave in self.slaves.values():
                owner = self.lineage.owner(slave.id)
                if owner is not None and owner[0] != identity:
                    self._clear_book(slave.id)
        self.lineage.set_master(identity, self.clock.time())

    def _clear_book(self, slave_id: str) -> None:
        """Forget what the copy book holds for a slave: it was another master's."""
        book = self.copybook
        for ticket in book.tickets(slave_id):
            book.forget(slave_id, ticket)
        for ticket in book.order_tickets(slave_id):
            book.forget_order(slave_id, ticket)
        for symbol in book.share_symbols(slave_id):
            book.set_shares(slave_id, symbol, {})
        for intent in book.intents(slave_id):
            book.settle(intent.id, 0.0)

    def _started_wall(self, slave: SlaveLink, wall: float | None) -> float | None:
        """When copying to this slave started, for this master: a slave handed over from another
        master starts at the hand-over, so the new master's positions held then are existing ones."""
        owner = self.lineage.owner(slave.id)
        if wall is None or owner is None or owner[0] != self.master_identity:
            return wall
        return max(wall, owner[1])

    def _own_copies(self, slave: SlaveLink, actual: Snapshot) -> Snapshot:
        """The slave's snapshot without the copies left open from another master: no pass closes,
        resizes or counts them. At the first look in a run, a slave that was copying from another
        master hands its tagged copies over as left open, journaled once with their tickets."""
        if slave.id not in self._lineage_seen and self.master_identity:
            self._lineage_seen.add(slave.id)
            self._attribute(slave, actual)
        left = self.lineage.left(slave.id)
        if not left:
            return actual
        positions = {p.ticket for p in actual.positions}
        symbols = {p.symbol for p in actual.positions}
        orders = {o.ticket for o in actual.orders}
        self.lineage.forget([c for c in left if (c.kind == POSITION and c.ticket not in positions)
                             or (c.kind == ORDER and c.ticket not in orders)
                             or (c.kind == SHARE and c.symbol not in symbols)])
        kept_positions = {c.ticket for c in left if c.kind == POSITION}
        kept_orders = {c.ticket for c in left if c.kind == ORDER}
        return Snapshot(actual.taken_at, tuple(p for p in actual.positions if p.ticket not in kept_positions),
                        tuple(o for o in actual.orders if o.ticket not in kept_orders), actual.server_offset_s)

    def _attribute(self, slave: SlaveLink, actual: Snapshot) -> None:
        identity = self.master_identity
        now = self.clock.time()
        owner = self.lineage.owner(slave.id)
        # Copies already recorded as left (of any master) are not the previous master's to hand over.
        known = {(c.kind, c.ticket, c.symbol) for c in self.lineage.left(slave.id)}
        back = [c for c in self.lineage.left(slave.id) if c.master == identity]
        if back:
            # Copies of this master left open while another was the master: its own again.
            self.lineage.forget(back)
            text = (f"{slave.id}: {len(back)} cop{'y' if len(back) == 1 else 'ies'} of {identity} left open while "
                    "another account was the master are managed again")
            self.journal.record("state", text, account=slave.id, tickets=[c.ticket for c in back])
            self._notify(Notice("state", slave.id, text))
        if owner is None:
            # Never attributed (a new slave, or a copy book from before masters were recorded):
            # what it holds is taken as this master's, as before.
            self.lineage.set_owner(slave.id, identity, 0.0)
            return
        if owner[0] == identity:
            return
        left: list[LeftCopy] = []
        for p in actual.positions:
            if (POSITION, p.ticket, p.symbol) in known:
                continue
            if p.deals is not None:
                for ticket, volume in netting_shares(p, slave.magic, self.instance).items():
                    if (SHARE, ticket, p.symbol) in known:
                        continue
                    left.append(LeftCopy(slave.id, SHARE, ticket, p.symbol, owner[0], ticket, volume))
            elif p.magic == slave.magic and tags.is_ours(p.comment, self.instance):
                left.append(LeftCopy(slave.id, POSITION, p.ticket, p.symbol, owner[0],
                                     tags.master_ticket_of(p.comment) or 0, p.side.sign * p.volume))
        for o in actual.orders:
            if (ORDER, o.ticket, o.symbol) not in known and o.magic == slave.magic and tags.is_ours(o.comment,
                                                                                                 self.instance):
                left.append(LeftCopy(slave.id, ORDER, o.ticket, o.symbol, owner[0],
                                     tags.master_ticket_of(o.comment) or 0, o.volume))
        self._clear_book(slave.id)
        self.lineage.hand_over(slave.id, identity, now, left)
        if slave.executor is not None:
            slave.executor.started_wall = self._started_wall(slave, slave.executor.started_wall)
        if left:
            listed = ", ".join(f"{c.symbol} {c.volume:+g} #{c.ticket}" for c in left)
            text = (f"{slave.id}: {len(left)} cop{'y' if len(left) == 1 else 'ies'} of the previous master {owner[0]} "
                    f"left open, no longer managed (not closed, resized or copied again): {listed}")
        else:
            text = f"{slave.id} now copies from {identity} (it held no copy of the previous master {owner[0]})"
        self.journal.record("state", text, account=slave.id, master=identity, previous_master=owner[0],
                            left=[[c.kind, c.ticket, c.symbol, c.master_ticket, c.volume] for c in left])
        self._notify(Notice("state", slave.id, text))

    def _left_shares(self, slave: SlaveLink) -> dict[str, dict[int, float]]:
        out: dict[str, dict[int, float]] = {}
        for c in self.lineage.left(slave.id):
            if c.kind == SHARE:
                out.setdefault(c.symbol, {})[c.ticket] = c.volume
        return out

    def _note_unfollowed(self, slave: SlaveLink, only: set[int] | None) -> None:
        """A pass that broke off: the master changes it was for are journaled as waiting."""
        if self.master_snapshot is None:
            return
        master = {p.ticket for p in self.master_snapshot.positions} | {o.ticket for o in self.master_snapshot.orders}
        copied = self._known_copies(slave)
        # A full pass is also the one that closes copies of master positions that went while no
        # event could reach this slave (closed while the copier was down or the slave away): only
        # the copies name them, so they are journaled from there.
        tickets = master | copied if only is None else only
        why = self._entries_blocked(slave)
        positions = {p.ticket for p in self.master_snapshot.positions}
        changes = []
        for ticket in sorted(tickets):
            if ticket in positions and ticket not in copied:
                self._waiting(slave, ticket, why)
            else:
                # A copy it holds, or a master order placed, moved or cancelled: a pending copy is
                # in no book, so the change is journaled whether or not this slave holds one.
                changes.append(_Change(ticket))
        self._note_exits_waiting(slave, changes)

    # ------------------------------------------------------------------ no silent gaps
    def _entries_blocked(self, slave: SlaveLink) -> str:
        """Why entries cannot reach this slave now, in words a trader understands."""
        if slave.mode is SlaveMode.PAUSED:
            return f"{slave.id} is paused by the trader (nothing is sent to it until it resumes)"
        if self.master_state is not LinkState.CONNECTED:
            return f"the master is {self.master_state.value}"
        if not self.copying:
            return "copying is stopped (the global switch)"
        if slave.state is not LinkState.CONNECTED:
            return f"{slave.id} is {slave.state.value}" + (f" ({slave.last_error})" if slave.last_error else "")
        if slave.mode is SlaveMode.CLOSE_ONLY:
            return f"{slave.id} is close-only (no new entries; exits still mirrored)"
        if slave.other_copiers:
            return (f"another copier ({', '.join(slave.other_copiers)}) trades {slave.id}; new entries wait "
                    "until its trades are gone")
        return ""

    def _waiting(self, slave: SlaveLink, ticket: int, why: str, desired: DesiredPosition | None = None) -> None:
        """Journal why a master position is not (yet) at this slave: once, and again when the
        master's position changes (an order that fills, a volume that grows). With the position
        as planned, drift reports can value the trade if it is never copied."""
        key = (why, self._master_state(ticket))
        if slave.waiting.get(ticket) == key:
            return
        slave.waiting[ticket] = key
        text = f"not copied yet: {why}; it is copied when that changes, within tolerances"
        drift = {"drift": slave.executor.missed(desired)} if desired is not None and slave.executor else {}
        self.journal.record("refusal", text, account=slave.id, master_ticket=ticket, **drift)
        self._notify(Notice("refusal", slave.id, f"{text} (master #{ticket})", ticket))

    def _note_waiting(self, slave: SlaveLink, plan: SlavePlan, held: set[int], only: set[int] | None,
                      entries_ok: bool, still_waiting: frozenset[int] = frozenset()) -> None:
        for ticket in list(slave.waiting):
            if ticket in held or (ticket not in plan.positions and ticket not in plan.orders
                                  and ticket not in still_waiting):
                del slave.waiting[ticket]
        if entries_ok:
            return
        why = self._entries_blocked(slave)
        for ticket in (*plan.positions, *plan.orders):
            if (only is None or ticket in only) and ticket not in held:
                self._waiting(slave, ticket, why, plan.positions.get(ticket))

    # A deal sent just before a crash may still reach the broker after the restart; until this long
    # after it was sent, an intent the broker's net does not show yet is waited for, not dropped.
    NET_INTENT_GRACE_S = 10.0

    def _settle_netting(self, slave: SlaveLink, actual: Snapshot) -> tuple[dict[str, dict[int, float]], frozenset[int]]:
        """Each master ticket's share of this netting slave's positions, from the copy book, checked
        against the broker's own net: deals whose answer never came are settled by what the broker
        holds, and a change made outside the copier (a stop hit at the slave, a manual close) is
        taken into the shares and journaled."""
        book = self.copybook
        ours: dict[str, float] = {}
        for p in actual.positions:
            if p.deals is not None:
                net = sum(d.volume for d in p.deals if d.magic == slave.magic and tags.is_ours(d.comment, self.instance))
            else:
                net = p.side.sign * p.volume if p.magic == slave.magic else 0.0
            ours[p.symbol] = round(ours.get(p.symbol, 0.0) + net, 8)
        left = self._left_shares(slave)
        for symbol, by_ticket in left.items():
            # Another master's shares left open are not ours to count (see _own_copies).
            ours[symbol] = round(ours.get(symbol, 0.0) - sum(by_ticket.values()), 8)
        symbols = set(book.share_symbols(slave.id)) | {i.symbol for i in book.intents(slave.id)} | set(ours)
        unsettled: set[int] = set()
        out: dict[str, dict[int, float]] = {}
        now = self.clock.time()
        for symbol in sorted(symbols):
            spec = slave.symbols.get(symbol)
            half_step = (spec.volume_step if spec else 0.01) / 2
            held = ours.get(symbol, 0.0)
            pending = book.intents(slave.id, symbol)
            if pending:
                gap = round(held - sum(book.shares(slave.id, symbol).values()), 8)
                filled = _matching_intents(pending, gap, half_step)
                for intent in pending:
                    if filled is not None and intent in filled:
                        book.settle(intent.id, intent.volume)
                        self.journal.record("correction", f"the deal for master #{intent.master_ticket} sent before the "
                                            f"copier stopped did fill at {slave.id}", account=slave.id,
                                            copy_id=intent.copy_id)
                    elif now - intent.sent_wall >= self.NET_INTENT_GRACE_S:
                        book.settle(intent.id, 0.0)
                    else:
                        unsettled.add(intent.master_ticket)
            shares = book.shares(slave.id, symbol)
            gap = round(held - sum(shares.values()), 8)
            if not unsettled & set(shares) and abs(gap) >= half_step and not book.intents(slave.id, symbol):
                shares = _absorb(shares, held, half_step * 2)
                if shares is None:
                    # Nothing to scale: take the shares from the tags on the position's own deals.
                    position = next((p for p in actual.positions if p.symbol == symbol), None)
                    shares = {t: v for t, v in netting_shares(position, slave.magic, self.instance).items()
                              if t not in left.get(symbol, {})}
                book.set_shares(slave.id, symbol, shares)
                text = (f"{symbol} at {slave.id} changed outside the copier (a stop or target hit at the slave, a "
                        f"stop-out or a manual trade): {gap:+g} {spec.volume_unit.value if spec else 'lots'}; "
                        "each master position's share follows")
                self.journal.record("correction", text, account=slave.id, symbol=symbol)
                self._notify(Notice("info", slave.id, text))
            out[symbol] = shares
        return out, frozenset(unsettled)

    def _adopt_copies(self, slave: SlaveLink, actual: Snapshot, master: Snapshot, plan: SlavePlan) -> None:
        """A copy the broker shows that the copy book has no entry for (the copier stopped between
        the fill and its bookkeeping) is written in now, so a later restart knows this slave holds
        it. Its size is the one the rules give for the master's volume now, as the plan already
        uses: the volume at entry is not known, and the master may have reduced meanwhile."""
        masters = master.positions_by_ticket()
        for p in actual.positions:
            if p.deals is not None or p.magic != slave.magic or not tags.is_ours(p.comment, self.instance):
                continue
            ticket = tags.master_ticket_of(p.comment)
            d = plan.positions.get(ticket)
            if d is not None and ticket in masters and self.copybook.get(slave.id, ticket) is None:
                # Its side as held: a copy on the side the master has left is closed for the
                # reversal, and the copy book must not take its absence then for a close at the slave.
                self.copybook.remember(slave.id, ticket, masters[ticket].volume, d.volume, p.side)

    def _not_again(self, slave: SlaveLink, plan: SlavePlan, held: set[int]) -> None:
        """A copy that filled and is gone while its master position is still open was closed at the
        slave (its own stop or target, a stop-out, a risk flatten, by hand): it is not opened again,
        which would buy the same trade twice, and the reason is journaled. ``held``: the master
        tickets the slave holds a position or a pending copy for."""
        for ticket in list(plan.positions):
            entry = self.copybook.get(slave.id, ticket)
            if ticket in held or entry is None or ticket in slave.executor.reversed:
                continue
            if entry.side is not None and entry.side is not plan.positions[ticket].side:
                # The master reversed in place since this copy was entered (a cTrader position keeps
                # its id), and the copier closed the copy for it before a restart: the new side is
                # still to enter. The maximum delay counts from the reversal, as the copy book kept it.
                slave.executor.reversed.add(ticket)
                continue
            del plan.positions[ticket]
            reason = ("skipped: the copy was closed at the slave while the master's position stayed open (a stop "
                      "or target hit there, a stop-out, a risk flatten or a manual close); it is not opened again")
            if ticket in slave.flattened:
                reason = f"skipped: the copy was closed when the trader flattened {slave.id}; it is not opened again"
            plan.refusals[ticket] = Refusal(ticket, reason, drift=CLOSED_AT_SLAVE)
            if slave.executor.refused.get(ticket) != reason:
                # Closed by the slave's broker or trader, not by a request of ours: the exit is
                # only in its deals.
                for position_id in self._copy_positions.get((slave.id, ticket), ()):
                    self._collect_deals(slave.id, slave.connector, position_id, ticket,
                                        tagged=not slave.connector.capabilities.hedging)
            slave.executor.refuse(ticket, reason, drift=CLOSED_AT_SLAVE)

    def _leave_foreign_copies(self, slave: SlaveLink, plan: SlavePlan, actual: Snapshot, held: set[int]) -> None:
        """Another copier's tagged positions or orders on this slave: warn, and never fight.

        Its copies are not this copier's to close or resize (the reconciler leaves them alone), a
        master position it already copied here is not copied a second time, and new entries to this
        slave wait while its trades are there: two copiers racing to the same account is how users of
        other copiers get duplicates and loops. Exits of this copier's own copies go on.
        """
        foreign: dict[int, set[str]] = {}
        for item in (*actual.positions, *actual.orders):
            comments = [d.comment for d in item.deals if d.magic == slave.magic] \
                if getattr(item, "deals", None) is not None else ([item.comment] if item.magic == slave.magic else [])
            for comment in comments:
                ticket = tags.master_ticket_of(comment)
                if ticket is not None and not tags.is_ours(comment, self.instance):
                    foreign.setdefault(ticket, set()).add(tags.instance_of(comment))
        others = sorted(set().union(*foreign.values())) if foreign else []
        if tuple(others) != slave.other_copiers:
            if not others:
                self.journal.record("state", f"{slave.id}: no other copier's trades remain; new entries resume",
                                    account=slave.id)
            slave.other_copiers = tuple(others)
        if not foreign:
            return
        for other in others:
            if (slave.id, other) not in self._foreign_seen:
                self._foreign_seen.add((slave.id, other))
                text = (f"another copier is trading {slave.id}: it holds positions or orders tagged by copier "
                        f"{other}, which this copier did not send. Two copiers on one account duplicate trades: "
                        f"stop one of them. This copier leaves that copier's trades alone and holds new "
                        f"entries to {slave.id} until they are gone.")
                self.journal.record("error", text, account=slave.id, other_copier=other)
                self._notify(Notice("failure", slave.id, text))
        for ticket, owners in foreign.items():
            if ticket in held or (ticket not in plan.positions and ticket not in plan.orders):
                continue
            plan.positions.pop(ticket, None)
            plan.orders.pop(ticket, None)
            plan.refusals[ticket] = Refusal(ticket, f"skipped: another copier ({', '.join(sorted(owners))}) already "
                                                    f"copied this master position to {slave.id}; a second copy "
                                                    "would double it")
            slave.executor.refuse(ticket, plan.refusals[ticket].reason)

    def _master_state(self, ticket: int) -> tuple:
        """What the master holds for a ticket now, to tell one change of it from the next."""
        master = self.master_snapshot
        if master is not None:
            for p in master.positions:
                if p.ticket == ticket:
                    return ("position", p.volume, p.sl, p.tp)
            for o in master.orders:
                if o.ticket == ticket:
                    return ("order", o.volume, o.price, o.sl, o.tp)
        return ("gone",)

    def _note_exits_waiting(self, slave: SlaveLink, steps: list, *, held: bool = False) -> None:
        why = self._entries_blocked(slave)
        for step in steps:
            if isinstance(step, OpenStep | PlaceStep | AmendStep) or (isinstance(step, NetStep) and not step.is_exit):
                continue
            ticket = _master_ticket_of(step)
            # Journaled again for each change of the master's position, not for each pass.
            key = (why, self._master_state(ticket))
            if slave.exits_waiting.get(ticket) == key:
                continue
            slave.exits_waiting[ticket] = key
            text = (f"not followed yet: {why}; the copy of master #{ticket} is brought in step with it (stops, "
                    "size) when that changes" if held else
                    f"not followed yet: {why}; the master's change to #{ticket} is mirrored when that changes")
            self.journal.record("refusal", text, account=slave.id, master_ticket=ticket)
            self._notify(Notice("refusal", slave.id, text, ticket))

    def _copied_tickets(self, slave: SlaveLink) -> set[int]:
        """Master tickets the copy book says this slave was given a copy of (positions and orders)."""
        held = set(self.copybook.tickets(slave.id)) | self.copybook.order_tickets(slave.id)
        for symbol in self.copybook.share_symbols(slave.id):
            held |= set(self.copybook.shares(slave.id, symbol))
        return held

    def _known_copies(self, slave: SlaveLink) -> set[int]:
        """What a slave that cannot be read now holds copies of: what it held when last seen, and
        what the copy book says it was given (a copier started while the slave was already out of
        reach has never seen it)."""
        copied = self._copied_tickets(slave)
        seen = slave.last_snapshot
        if seen is not None:
            copied |= held_tickets(seen.positions, slave.magic, self.instance)
            copied |= working_tickets(seen.orders, slave.magic, self.instance)
        return copied

    def _note_unreachable(self, slave: SlaveLink) -> None:
        """A slave out of reach at start-up: what it cannot follow now, from the copy book."""
        if self.master_snapshot is None:
            return
        copied = self._copied_tickets(slave)
        positions = {p.ticket for p in self.master_snapshot.positions}
        orders = {o.ticket for o in self.master_snapshot.orders}
        open_now = positions | orders
        why = self._entries_blocked(slave)
        # A master order with no copy at this slave waits too: it is no trade yet, but placing its
        # copy is what the slave cannot do now.
        for ticket in sorted(open_now - copied):
            self._waiting(slave, ticket, why)
        self._note_exits_waiting(slave, [_Change(t) for t in sorted(copied - open_now)])
        # Copies of positions the master still holds: whatever it changed while the copier was down
        # (a stop, a partial close) cannot be read against the slave now, so each is named too.
        self._note_exits_waiting(slave, [_Change(t) for t in sorted(copied & positions)], held=True)

    def _note_exits_missed(self, slave: SlaveLink, events: list[MasterEvent]) -> None:
        """The master changed positions this slave holds copies of while it cannot be reached."""
        held = self._known_copies(slave)
        changes = (EventKind.CLOSED, EventKind.PARTIALLY_CLOSED, EventKind.STOPS_MODIFIED,
                   EventKind.PENDING_CANCELLED, EventKind.PENDING_MODIFIED, EventKind.INCREASED,
                   EventKind.REVERSED)
        # A pending copy placed in the pass the slave was lost in is not in any snapshot or book:
        # changes to master orders are journaled for every slave that cannot follow them.
        orders = (EventKind.PENDING_CANCELLED, EventKind.PENDING_MODIFIED)
        steps = [_Change(e.ticket) for e in events
                 if e.kind in changes and (e.ticket in held or e.kind in orders)]
        self._note_exits_waiting(slave, steps)

    def _note_missed_round_trips(self, slave: SlaveLink) -> None:
        """After an outage: master positions opened and closed while this slave could not trade."""
        open_now = {p.ticket for p in self.master_snapshot.positions} if self.master_snapshot else set()
        for ticket in [t for t in slave.waiting if t not in open_now]:
            del slave.waiting[ticket]
            text = (f"not copied: master #{ticket} was opened and closed at the master while {slave.id} "
                    "was disconnected or could not trade")
            self.journal.record("refusal", text, account=slave.id, master_ticket=ticket)
            self._notify(Notice("refusal", slave.id, text, ticket))

    def _look_for_unseen_round_trips(self, newest_seen: int | None, why: str, *, watched_before: bool) -> None:
        """After a time no copier watched the master: the positions it opened and closed meanwhile.

        ``newest_seen`` is how far the copier watched, in the master's trade time. It is None when
        nothing watched this master with its server clock known: on the first run, or on an MT5
        master that neither traded nor held an order while watched, whose deals cannot be told
        apart by time. That is journaled: until the clock is learnt, neither this gap nor a
        position opened and closed between two looks can be looked for."""
        if not self._running:
            return
        if newest_seen is not None:
            self._spawn(self._note_unseen_round_trips(newest_seen, why), "unseen round trips")
        elif self.copybook.fact("master_offset_s") is None:
            gap = f"{why}, or " if watched_before else ""
            text = (f"master positions opened and closed {gap}between two of the copier's looks at the master cannot "
                    "be looked for yet: how far the master's server clock is from UTC is not known (the copier "
                    "learns it from the first trade or order it sees there), so its deals cannot be dated")
            # Journaled, not shown as a notice: it says what cannot be checked, not that anything
            # was missed (a position missed and found is named for every slave, and shown).
            self.journal.record("info", text, account=self.master_id)

    async def _note_unseen_round_trips(self, newest_seen: int, why: str) -> None:
        """Read the master's deals until they can be read (a look that cannot be made is journaled
        once), then journal what they show no copier saw."""
        attempt = 0
        while True:
            try:
                deals = await self.master.deals_since(max(0, newest_seen - _UNSEEN_MARGIN_MS))
                break
            except ConnectorError as exc:
                if attempt == 0:
                    text = (f"cannot read the master's recent deals yet ({exc.message}), so positions it opened and "
                            f"closed {why} are not known; reading again")
                    self.journal.record("error", text, account=self.master_id)
                    self._notify(Notice("failure", self.master_id, text))
                await asyncio.sleep(self.backoff_s[min(attempt, len(self.backoff_s) - 1)])
                attempt += 1
        self._name_unseen(deals, why)

    async def _look_between_looks(self) -> None:
        """A position opened and closed between two looks at the master (a scalp shorter than the
        time between them, or while its worker polls at rest) is in no snapshot either: the
        master's latest deals are read now and then for one. A read that fails is made next time."""
        now = self.clock.monotonic()
        newest_seen = self.copybook.newest_seen_msc()
        if newest_seen is None or now < self._next_unseen_look:
            return
        self._next_unseen_look = now + self.UNSEEN_LOOK_S
        # From where the last read that answered ended (a read that failed moves nothing on): a
        # position open longer than the margin was in a snapshot.
        since = (self._unseen_read_to or newest_seen) - _UNSEEN_MARGIN_MS
        with contextlib.suppress(ConnectorError):
            deals = await self.master.deals_since(max(0, since))
            self._unseen_read_to = max(self._unseen_read_to, newest_seen)
            self._name_unseen(deals, "between two of the copier's looks at the master")

    def _name_unseen(self, deals: tuple[Deal, ...], why: str) -> None:
        """Journal, for every slave, each master position the deals show opened and closed that no
        snapshot held: no pass could copy it or say why not. A position opened a little before
        the newest one seen (a platform whose position times run ahead of their deals') is told
        by its ticket."""
        if deals:
            self._unseen_read_to = max(self._unseen_read_to, deals[-1].time_msc)
        master = self.master_snapshot
        open_now = {p.ticket for p in master.positions} | {p.identifier for p in master.positions} if master else set()
        unseen = [trip for trip in round_trips(deals)
                  if trip.ticket not in open_now and trip.ticket not in self._fill_wall
                  and not self.copybook.master_seen(trip.ticket)]
        for trip in unseen:
            self._note_unseen(trip, why)
        # Named once: a restart before the next master trade would find them again.
        self.copybook.see_master({trip.ticket: trip.opened_msc for trip in unseen})

    def _note_unseen(self, trip: RoundTrip, why: str) -> None:
        what = trip.describe(units=self._in_units(trip.symbol))
        span = f"opened {_server_time(trip.opened_msc)}, closed {_server_time(trip.closed_msc)} (server time)"
        text = f"master #{trip.ticket} ({what}) was opened and closed {why}: no slave copied it; {span}"
        self.journal.record("info", text, account=self.master_id, ticket=trip.ticket, symbol=trip.symbol,
                            side=trip.side.value, volume=trip.volume, opened_msc=trip.opened_msc,
                            closed_msc=trip.closed_msc,
                            **({"reversals": [[side.value, volume] for side, volume in trip.reversals]}
                               if trip.reversals else {}))
        self._notify(Notice("master", self.master_id, text, trip.ticket))
        for slave in self.slaves.values():
            refusal = f"not copied: master #{trip.ticket} ({what}) was opened and closed {why}; {span}"
            self.journal.record("refusal", refusal, account=slave.id, master_ticket=trip.ticket)
            self._notify(Notice("refusal", slave.id, refusal, trip.ticket))

    async def _follow_cash(self, slave: SlaveLink) -> None:
        """A prop slave's deposits and withdrawals, read when its balance moved since the gate's last
        reading (and once at the start), taken into the gate before it measures that balance: a
        payout must not read as a loss, nor a deposit as profit. Off the copy path: the account is
        read here, not in a pass."""
        gate = slave.risk_gate
        if gate is None or slave.rules.risk.prop is None or slave.account is None:
            return
        seen = gate.last_reading
        if gate.cash_seen is not None and seen is not None and seen.balance == slave.account.balance:
            return
        flows = await slave.connector.cash_flows()
        for note in gate.note_cash(flows, slave.account.currency):
            self.journal.record("info", note.text, account=slave.id, limit=note.limit)
            self._notify(Notice("info", slave.id, note.text))

    def _risk_update(self, slave: SlaveLink, gate: RiskGate) -> None:
        self._take_outside_resets()
        before = gate.state
        day = int((self.clock.time() + (slave.server_offset_s or 0.0)) // 86400)
        for breach in gate.update(slave.account, day):
            self.journal.record("refusal", breach.text, account=slave.id, limit=breach.limit,
                                action=breach.action.value)
            self._notify(Notice("refusal" if breach.action is not LimitAction.WARN else "info", slave.id,
                                breach.text))
        for crossing in slave.room_watch.feed(gate.room_left()):
            self.journal.record("state", crossing.text, account=slave.id, limit=crossing.limit,
                                used=round(crossing.used, 4))
            self._notify(Notice("info", slave.id, crossing.text, state=NEAR_LIMIT))
        if gate.state is not before:
            text = f"{slave.id} trading state {before.value} -> {gate.state.value}"
            self.journal.record("state", text, account=slave.id, trading_state=gate.state.value)
            self._notify(Notice("state", slave.id, text, state=gate.state.value))

    # ------------------------------------------------------------------ risk state
    def reset_risk(self, slave_id: str, *, by: str = "the window") -> str:
        """The trader's reset of a slave's risk state: its halt lifts and its daily loss and drawdown
        count again from the account's next reading. Journaled; returns the journal's text."""
        slave = self.slaves[slave_id]
        if slave.risk_gate is None:
            slave.risk_gate = self._risk_gate(slave)
        gate = slave.risk_gate
        before_state = gate.state
        before = gate.reset(by)
        text = self._journal_reset(slave, before, before_state, f"risk reset for {slave_id} by {by}")
        if self._running:
            self._spawn(self._sync(slave, reason="risk reset"), f"sync:{slave_id}")
        return text

    def _journal_reset(self, slave: SlaveLink, before: RiskRecord, before_state: TradingState, head: str) -> str:
        ccy = slave.account.currency if slave.account else ""
        state = slave.risk_gate.state
        text = f"{head}: {describe_reset(before, ccy)}; trading state {before_state.value} -> {state.value}"
        halt = before.halt
        self.journal.record("state", text, account=slave.id, risk_reset=True, trading_state=state.value,
                            halt_limit=halt.limit if halt else None, halt_text=halt.text if halt else None,
                            day_start_balance=before.day_start_balance, peak_equity=before.peak_equity)
        self._notify(Notice("state", slave.id, text))
        return text

    def _risk_gate(self, slave: SlaveLink) -> RiskGate:
        gate = RiskGate.open(slave.rules.risk, self.risk_store, slave.id, now=self.clock.time,
                             on_store_error=lambda message, s=slave: self._risk_store_failed(s, message))
        self._give_news(slave, gate)
        return gate

    def _give_news(self, slave: SlaveLink, gate: RiskGate) -> None:
        """The events of the slave's news calendar, read afresh (at start and on every rule edit); a
        calendar that cannot be read is journaled and told, and no blackout holds until it can."""
        prop = slave.rules.risk.prop
        if self.news_source is None or prop is None or prop.news is None:
            gate.set_news(())
            return
        events, error = self.news_source(prop)
        gate.set_news(events)
        if error:
            text = f"{slave.id}: the news calendar could not be read: {error}"
            self.journal.record("state", text, account=slave.id, limit="prop.news", calendar=prop.news.calendar)
            self._notify(Notice("refusal", slave.id, text))

    def _take_outside_resets(self) -> None:
        """A reset written to the store by another process (the command line) takes effect here."""
        loop = asyncio.get_running_loop()
        if self._resets_looked_on is loop:
            return
        self._resets_looked_on = loop
        loop.call_soon(self._look_for_resets_again)
        try:
            if not self.risk_store.changed_elsewhere():
                return
        except RiskStoreError as exc:
            self._risk_store_failed(None, exc.message)
            return
        for slave in self.slaves.values():
            record = self.risk_store.load(slave.id)
            gate = slave.risk_gate
            if gate is None or record is None or record.resets <= gate.resets:
                continue  # a gate made later starts from the store as it is then
            before_state = gate.state
            before = gate.adopt_reset(record.resets)
            self._journal_reset(slave, before, before_state,
                                f"risk reset for {slave.id} by {record.reset_by or 'another process'} took effect")

    def _look_for_resets_again(self) -> None:
        self._resets_looked_on = None

    def _risk_store_failed(self, slave: SlaveLink | None, message: str) -> None:
        # The gates go on from memory; say so once per distinct failure, not on every pass.
        if message in self._risk_store_errors:
            return
        self._risk_store_errors.add(message)
        account = slave.id if slave is not None else self.master_id
        text = f"{message}; the risk limits still apply, from memory"
        self.journal.record("error", text, account=account)
        self._notify(Notice("failure", account, text))

    def _risk_state_lost(self, what: str) -> None:
        """The store was unreadable and moved aside: every slave holds exits only until reset."""
        self.journal.record("error", f"risk state lost: {what}", account=self.master_id)
        self.risk_store.recovered = ""
        for slave in self.slaves.values():
            slave.risk_gate = self._risk_gate(slave)
            slave.risk_gate.hold("risk_state_lost", "risk: the risk state file could not be read; new entries "
                                 "stopped until this slave's risk state is reset")

    def _forget_finished(self, slave: SlaveLink, master_tickets: set[int], held: set[int],
                         working: set[int]) -> None:
        """Drop memory of copies whose master position is gone and whose slave side is flat."""
        for ticket in list(slave.refused):
            if ticket not in master_tickets:
                slave.executor.forget_refusal(ticket)
        slave.executor.reversed &= master_tickets
        for ticket in self.copybook.tickets(slave.id):
            if ticket not in master_tickets and ticket not in held:
                self.copybook.forget(slave.id, ticket)
        # Only once the master's order is gone too: this pass's snapshot predates what it placed.
        for ticket in self.copybook.order_tickets(slave.id) - working - master_tickets:
            self.copybook.forget_order(slave.id, ticket)

    # How often the copier notes on disk that it is alive: after a crash, a master position it never
    # saw was opened at most this long before the crash, which bounds its age on restart.
    HEARTBEAT_S = 1.0
    # How often the master's latest deals are read for a position opened and closed between looks.
    UNSEEN_LOOK_S = 10.0

    # How often the prices of open positions are journaled: a drift report from the journal values
    # a trade still open at the end of its period at the last of these before that end.
    MARKS_INTERVAL_S = 60.0

    async def _heartbeat(self) -> None:
        marked = self.clock.monotonic()
        while self._running:
            # How far the master was watched, in its trade time, for the look after a restart.
            offset, looked = self.copybook.fact("master_offset_s"), self._master_looked_wall
            watched = int((looked + offset) * 1000) if offset is not None and looked is not None else None
            self.copybook.mark_alive(self.clock.time(), watched)
            if self.clock.monotonic() - marked >= self.MARKS_INTERVAL_S:
                marked = self.clock.monotonic()
                self._journal_marks()
            await asyncio.sleep(self.HEARTBEAT_S)

    def marks(self) -> dict[str, dict[str, dict[str, float]]]:
        """account -> symbol -> side -> the price a position on that side closes at now (its
        ``price_current``), from the latest snapshots."""
        snapshots = {self.master_id: self.master_snapshot}
        snapshots.update({s.id: s.last_snapshot for s in self.slaves.values()})
        marks: dict[str, dict[str, dict[str, float]]] = {}
        for account, snapshot in snapshots.items():
            for p in snapshot.positions if snapshot is not None else ():
                if p.price_current > 0:
                    marks.setdefault(account, {}).setdefault(p.symbol, {})[p.side.value] = p.price_current
        return marks

    async def _refresh_snapshot(self, slave: SlaveLink) -> None:
        """A last look at a slave as copying stops; copies its broker changed by itself since the
        last look (the working rest of an order that filled) have their deals journaled now."""
        with contextlib.suppress(ConnectorError, Unreachable, asyncio.TimeoutError):
            slave.last_snapshot = await asyncio.wait_for(slave.connector.snapshot(), 5.0)
            if slave.connector.capabilities.hedging and slave.deals_read:
                await asyncio.wait_for(asyncio.gather(*(
                    self._journal_deals(slave.id, slave.connector, position_id, ticket, False)
                    for position_id, ticket in self._changed_copies(slave, slave.last_snapshot))), 5.0)

    def _collect_deals(self, account: str, connector: Connector, position_id: int, master_ticket: int, *,
                       tagged: bool = False, symbol: str = "", order: int = 0,
                       booked: tuple[Deal, ...] | None = None) -> None:
        """Journal a position's deals as its broker booked them (fills, profit, commission, fee,
        swap), read after the fact, off the copy path. Drift attribution takes fills and costs from
        them: they hold a fill whose report a crash kept from the journal. ``tagged``: the position
        is a netting slave's, shared by several copies, and only the deals tagged with this master
        ticket are this copy's; with no position id, it is the one ``order`` traded, else the one
        ``symbol`` has now. Read after each entry and after the exit, each record holds everything
        the position did so far. ``booked``: the position's deals as the trade's report carried them,
        journaled without a read."""
        if booked is not None:
            self._journal_booked(account, position_id or next((d.position_id for d in booked if d.position_id), 0),
                                 master_ticket, booked, tagged)
            return
        if not self._running:
            return  # stopping: a read started now would be cut off (the next start reads the master)
        task = self._spawn(self._journal_deals(account, connector, position_id, master_ticket, tagged, symbol,
                                               order),
                           f"deals:{account}:{position_id}:{master_ticket}")
        self._deal_tasks.add(task)
        task.add_done_callback(self._deal_tasks.discard)

    async def _journal_deals(self, account: str, connector: Connector, position_id: int, master_ticket: int,
                             tagged: bool, symbol: str = "", order: int = 0) -> None:
        try:
            if position_id:
                deals = await connector.position_deals(position_id)
            elif order:
                deals = await connector.position_deals(order=order)
                position_id = next((d.position_id for d in deals if d.position_id), 0)
            else:
                held = await connector.snapshot()
                position_id = next((p.identifier for p in held.positions if p.symbol == symbol), 0)
                if not position_id:
                    return
                deals = await connector.position_deals(position_id)
        except (ConnectorError, Unreachable) as exc:
            text = exc.message if isinstance(exc, ConnectorError) else str(exc)
            self.journal.record("info", f"the deals of {account} position #{position_id} (master #{master_ticket}) "
                                f"were not read, so drift reports take its fills from the journal and count no "
                                f"costs for it: {text}", account=account)
            return
        self._journal_booked(account, position_id, master_ticket, deals, tagged)

    def _journal_booked(self, account: str, position_id: int, master_ticket: int, deals: tuple[Deal, ...],
                        tagged: bool) -> None:
        if tagged:
            deals = tuple(d for d in deals if tags.master_ticket_of(d.comment) == master_ticket)
        if account != self.master_id and position_id:
            # Read again when the master closes: a copy closed by us just before a lost report, or
            # by the slave's broker, has its exit only here. Netting shares' positions come and go.
            self._copy_positions.setdefault((account, master_ticket), set()).add(position_id)
        commission = math.fsum(d.commission + d.fee for d in deals)
        swap = math.fsum(d.swap for d in deals)
        self.journal.record("deals", f"{account} position #{position_id} (master #{master_ticket}): {len(deals)} "
                            f"deal(s), commission {commission:+.2f}, swap {swap:+.2f}", account=account,
                            master_ticket=master_ticket, position=position_id,
                            deals=[[d.side.value, d.volume, d.price, d.commission + d.fee, d.swap, d.profit]
                                   for d in deals])

    def _journal_marks(self) -> None:
        marks = self.marks()
        if marks:
            self.journal.record("marks", "prices of open positions", account=self.master_id, marks=marks)

    async def _reconcile_loop(self) -> None:
        while self._running:
            await asyncio.sleep(self.reconcile_interval_s)
            if self.master_state is not LinkState.CONNECTED:
                continue
            if self.master_snapshot is not None:
                self.copybook.forget_fills({p.ticket for p in self.master_snapshot.positions})
                self._forget_closed_tickets()
            await self._look_between_looks()
            with contextlib.suppress(ConnectorError):
                self.master_account = await self.master.account()
            # A copy of the table: a slave may be linked or removed while this loop waits.
            for slave in list(self.slaves.values()):
                if slave.id in self.slaves and slave.state in (LinkState.CONNECTED, LinkState.DEGRADED):
                    with contextlib.suppress(ConnectorError):
                        slave.account = await slave.connector.account()
                        await self._follow_cash(slave)
                    if slave.id not in self.slaves:
                        continue
                    if slave.state is LinkState.CONNECTED and slave.account and not slave.account.trade_allowed:
                        self._trading_off(slave, _blocked_text(slave.account))
                    self._spawn(self._sync(slave, reason="periodic"), f"reconcile:{slave.id}")

    def _forget_closed_tickets(self) -> None:
        """Drop what the copier keeps per master ticket once nothing can need it again (a slave's own
        memory of refusals and copies goes in ``_forget_finished``), so a copier that runs
        for months holds only what is open: the master's positions and orders, and every ticket a
        slave still holds a copy or a netting share of. Until every slave has been seen, nothing
        is dropped: an unseen slave may still hold a copy whose exit needs its master's price."""
        if any(s.last_snapshot is None for s in self.slaves.values()):
            return
        master = self.master_snapshot
        keep = {p.ticket for p in master.positions} | {o.ticket for o in master.orders}
        for slave in self.slaves.values():
            keep.update(self.copybook.tickets(slave.id))
            keep.update(self.copybook.order_tickets(slave.id))
            for symbol in self.copybook.share_symbols(slave.id):
                keep.update(self.copybook.shares(slave.id, symbol))
            for held in (*slave.last_snapshot.positions, *slave.last_snapshot.orders):
                ticket = tags.master_ticket_of(held.comment)
                if ticket is not None:
                    keep.add(ticket)
        for key in [k for k in self._copy_positions if k[1] not in keep]:
            del self._copy_positions[key]
        for kept in (self._fill_wall, self._exit_price, self._change_wall):
            for ticket in [t for t in kept if t not in keep]:
                del kept[ticket]
        # A slave's ``waiting`` is left alone: after an outage it says which round trips were missed.
        for slave in self.slaves.values():
            if slave.executor is not None:
                held = {p.ticket for p in slave.last_snapshot.positions} | {o.ticket for o in slave.last_snapshot.orders}
                slave.executor.forget_gone(keep, held)
        self.metrics.forget_entries(keep)

    # ------------------------------------------------------------------ views
    def uptime_s(self) -> float:
        return self.clock.time() - self.started_wall


# Drift attribution: the copy filled, then its position closed at the slave; its exit is read from
# the slave's deals.
CLOSED_AT_SLAVE = {"cause": "closed_at_slave"}


def _position_data(event: MasterEvent) -> dict:
    """The master position as the event left it, for drift attribution from the journal alone: a
    close's ``price`` is the last price seen before it closed."""
    p = event.position
    if p is None:
        return {}
    return {"side": p.side.value, "volume": p.volume, "previous_volume": event.previous_volume,
            "price_open": p.price_open, "price": p.price_current}


def _master_ticket_of(step) -> int:
    if isinstance(step, OpenStep | PlaceStep | AmendStep):
        return step.desired.master_ticket
    if isinstance(step, ReduceStep | NetStep | ModifyStep | CancelStep | _Change):
        return step.master_ticket
    return 0


def _blocked_text(account: AccountState) -> str:
    why = account.trading_blocked or "trading is not allowed"
    return f"trading is off: {why}; copying resumes by itself once it is switched on"



def _matching_intents(pending, gap: float, half_step: float):
    """The pending deals whose volumes add up to what the broker holds beyond the known shares."""
    pending = pending[:12]  # a pass sends a deal per changed share; more in flight at once is not seen
    for mask in range(1 << len(pending)):
        chosen = [p for i, p in enumerate(pending) if mask >> i & 1]
        if abs(sum(p.volume for p in chosen) - gap) < half_step:
            return chosen
    return None


def _absorb(shares: dict[int, float], held: float, step: float) -> dict[int, float] | None:
    """Shares that add up to ``held`` again after a change made outside the copier.

    A position closed at the slave leaves no share. Otherwise shares on the side the account is
    on are scaled to it; shares on the other side are kept (the change cannot have grown them).
    """
    if abs(held) <= 1e-9:
        return {}
    same = {t: v for t, v in shares.items() if (v > 0) == (held > 0)}
    other = {t: v for t, v in shares.items() if t not in same}
    target = held - sum(other.values())
    total = sum(same.values())
    if not same or (target > 0) != (held > 0):
        return None
    # Scaled shares stay on the lot step (an exit of a fraction of a step would be refused); what
    # rounding leaves over goes to the largest share, so they still add up to what is held.
    factor = target / total
    scaled = {t: round(round(v * factor / step) * step, 8) for t, v in same.items()}
    largest = max(scaled, key=lambda t: (abs(scaled[t]), -t))
    scaled[largest] = round(scaled[largest] + target - sum(scaled.values()), 8)
    return {**other, **{t: v for t, v in scaled.items() if abs(v) > 1e-9}}


@dataclass(frozen=True, slots=True)
class _Change:
    """A master change a slave could not follow, for the journal (no step can be planned offline)."""

    master_ticket: int


def _risk_reason(reason: str) -> str:
    """Why a halted slave takes no entry, said with "risk:" once (a gate's reasons mostly carry it)."""
    reason = reason or "this slave is halted"
    return reason if reason.startswith("risk:") else f"risk: {reason}"


def _refused_entry(step, refused: dict[int, str]) -> bool:
    if isinstance(step, OpenStep):
        return not step.top_up and step.desired.master_ticket in refused
    if isinstance(step, NetStep):
        return not step.is_exit and not step.held and step.master_ticket in refused
    return False


def _server_time(msc: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(msc / 1000))
