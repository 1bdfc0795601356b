"""The core's connector for an account whose terminal lives in a worker process: requests go out
as messages, and replies, snapshot pushes and heartbeats come back to the event loop without it
ever waiting on a worker. A worker that dies or hangs is restarted, with backoff, on ``connect()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import os
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.connectors.mt5.capabilities import UNCONNECTED
from copier_gui.core.model import (
    AccountState,
    CancelPending,
    CashFlow,
    ClosePosition,
    Deal,
    ExecutionReport,
    ModifyPending,
    ModifyStops,
    OpenPosition,
    PendingOrder,
    PlacePending,
    Position,
    Reason,
    Snapshot,
    Status,
    SymbolSpec,
)
from copier_gui.core.ports import Capabilities, ConnectorError
from copier_gui.workers import protocol
from copier_gui.workers.config import WorkerConfig
from copier_gui.workers.transport import Channel, ChannelClosed, PipeHost, WorkerHost, WorkerProcess
from copier_gui.workers.worker import main as worker_main

log = logging.getLogger(__name__)

# last_error()'s "IPC call failed": the request's fate is unknown, the next snapshot tells.
_IPC_CALL_FAILED = -10000
_NO_CONNECTION = -10004

StateListener = Callable[[str, str, str], None]

# How many workers may boot (be spawned and import the copier, up to their hello) at once. Booting
# takes a full core; twenty demo workers booting together left the window's process half of one
# and stalled its loop. A few at a time, they boot as fast overall (the work is the same, the cores
# as many), and the core keeps its share. Connecting to terminals, which mostly waits, is not held.
BOOTING_AT_ONCE = max(2, os.cpu_count() or 2)

_boot_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _booting(loop: asyncio.AbstractEventLoop) -> asyncio.Semaphore:
    slots = _boot_slots.get(loop)
    if slots is None:
        slots = _boot_slots[loop] = asyncio.Semaphore(BOOTING_AT_ONCE)
    return slots


class WorkerDown(ConnectorError):
    """No worker is running for the account; nothing was sent."""


class WorkerLost(ConnectorError):
    """The worker died or hung while a request was in flight; its outcome is unknown."""


class RequestTimeout(ConnectorError):
    """The worker did not answer in time; the request may still complete."""


@dataclass(eq=False)
class _Pending:
    op: str
    future: asyncio.Future
    timeout: float
    # Started when the request is written (_flush), not when it is made: a fan-out makes every
    # slave's request in one turn, and what can wait for the write does not hold the others up.
    timer: asyncio.TimerHandle | None = None

    def stop_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()


# Per loop, the links with requests made in this turn: all written by one callback on the next.
_to_write: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[tuple[WorkerConnector, _Link]]] = \
    weakref.WeakKeyDictionary()


def _write_later(loop: asyncio.AbstractEventLoop, connector: WorkerConnector, link: _Link) -> None:
    batch = _to_write.get(loop)
    if batch is None:
        batch = _to_write[loop] = []
        loop.call_soon(_write_all, loop)
    batch.append((connector, link))


def _write_all(loop: asyncio.AbstractEventLoop) -> None:
    for connector, link in _to_write.pop(loop, ()):
        try:
            connector._flush(link)
        except Exception:
            # A bug in one link's write must not keep the other slaves' requests unwritten; its
            # own requests time out (their timers started first) and the next pass looks.
            log.exception("%s: writing the requests to its worker failed", connector.account_id)


@dataclass(eq=False)
class _Link:
    """One worker process and what the core knows of it."""

    generation: int
    channel: Channel
    process: WorkerProcess
    started: float
    hello: asyncio.Future
    last_heard: float
    pending: dict[int, _Pending] = field(default_factory=dict)
    offset: float = float("inf")  # core monotonic minus worker monotonic (plus transit)
    dead: bool = False
    reason: str = ""
    worker_state: str = "connecting"
    worker_detail: str = ""
    seq: int = -1
    positions: dict[int, Position] = field(default_factory=dict)
    orders: dict[int, PendingOrder] = field(default_factory=dict)
    snapshot: Snapshot | None = None
    valid: bool = False
    last_beat: float = float("-inf")
    lagging: bool = False
    busy: str | None = None
    busy_for: float = 0.0
    watchdog: asyncio.TimerHandle | None = None
    reader_fd: int | None = None
    delivered: bool = False  # the channel hands its messages over itself (see _read_on_loop)
    # Requests made this turn of the loop, written at the start of the next (see _request).
    outbox: list[tuple[int, str, dict]] = field(default_factory=list)


class WorkerConnector:
    """One account behind a worker process, as the core's connector port.

    ``host`` starts workers (local spawned processes by default). ``journal``, if given, gets the
    worker's state changes and every message it dropped. States: connecting, connected, degraded,
    disconnected; listeners added with :meth:`subscribe` hear ``(account_id, state, detail)``.

    ``snapshot()`` answers from the pushed snapshot while the worker vouches for it: its session is
    up, a heartbeat came within ``snapshot_max_age_s`` (default 2.5 heartbeats) and said it is
    polling on schedule. The worker pushes every change it polls at once, and pushes before it
    replies to a trade, so the cached snapshot is never older than the worker's poll interval and
    always shows the copier's own orders. Otherwise it asks the worker.
    """

    def __init__(self, config: WorkerConfig, *, host: WorkerHost | None = None, clock: Clock = SYSTEM_CLOCK,
                 journal=None, hello_timeout_s: float = 60.0, heartbeat_timeout_s: float | None = None,
                 snapshot_max_age_s: float | None = None, request_timeout_s: float = 90.0, busy_warning_s: float = 10.0,
                 max_in_flight: int = 64, restart_backoff_s: tuple[float, ...] = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0),
                 stable_after_s: float = 60.0) -> None:
        self.config = config
        self.account_id = config.account_id
        self.journal = journal
        self._host = host or PipeHost(worker_main)
        self._clock = clock
        self._hello_timeout_s = hello_timeout_s
        # Five missed heartbeats: a worker busy in a long terminal call still beats from its thread.
        self._heartbeat_timeout_s = heartbeat_timeout_s or 5.0 * config.heartbeat_s
        self._max_age_s = snapshot_max_age_s if snapshot_max_age_s is not None else 2.5 * config.heartbeat_s
        # A worker busy longer than this in one call is not polling on schedule.
        self._lag_s = max(0.25, 2 * config.poll_idle_s)
        self._request_timeout_s = request_timeout_s
        self._busy_warning_s = busy_warning_s
        self._max_in_flight = max_in_flight
        self._restart_backoff_s = restart_backoff_s
        self._stable_after_s = stable_after_s
        # The worker's connector reports the account's own at connect.
        self._capabilities = UNCONNECTED
        self._link: _Link | None = None
        self._generations = itertools.count(1)
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listeners: list[StateListener] = []
        self._failures = 0
        self._restart_at = float("-inf")
        self._last_reason = "not started"
        self._closed = False
        self._starting: asyncio.Future | None = None
        self.state = "disconnected"
        self.state_detail = "not started"
        self.dropped = 0  # messages from the worker that failed the schema
        self.restarts = 0

    def __repr__(self) -> str:
        return f"WorkerConnector({self.account_id!r}, state={self.state!r}, pid={self.pid})"

    # ------------------------------------------------------------------ introspection
    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    @property
    def pid(self) -> int | None:
        link = self._link
        return link.process.pid if link is not None and not link.dead else None

    def in_flight(self) -> list[str]:
        """The ops of the requests waiting for the worker's answer, oldest first."""
        link = self._link
        return [p.op for p in link.pending.values()] if link is not None else []

    def subscribe(self, listener: StateListener) -> None:
        self._listeners.append(listener)

    # ------------------------------------------------------------------ the port: session
    async def connect(self) -> AccountState:
        link = await self._ensure_worker()
        result = await self._request(link, "connect", {})
        try:
            account = protocol.account_from_wire(result["account"])
            self._capabilities = protocol.capabilities_from_wire(result["capabilities"])
        except (protocol.ProtocolError, KeyError, TypeError) as exc:
            raise ConnectorError(f"the worker for {self.account_id} answered connect with a malformed "
                                 f"reply ({exc})") from None
        self._failures = 0
        return account

    async def close_session(self) -> None:
        link = self._link
        if link is None or link.dead:
            return
        with contextlib.suppress(ConnectorError):
            await self._request(link, "close_session", {}, timeout=10.0)

    async def account(self) -> AccountState:
        return self._decode(protocol.account_from_wire, await self._request(self._alive(), "account", {}), "account")

    async def symbols(self) -> dict[str, SymbolSpec]:
        result = await self._request(self._alive(), "symbols", {})
        if not isinstance(result, dict):
            raise ConnectorError(f"the worker for {self.account_id} sent a malformed symbol list")
        return {name: self._decode(protocol.spec_from_wire, spec, "symbols") for name, spec in result.items()}

    async def symbol(self, name: str) -> SymbolSpec | None:
        result = await self._request(self._alive(), "symbol", {"name": name})
        return None if result is None else self._decode(protocol.spec_from_wire, result, "symbol")

    async def position_deals(self, position_id: int = 0, *, order: int = 0) -> tuple[Deal, ...]:
        result = await self._request(self._alive(), "position_deals", {"position": int(position_id),
                                                                       "order": int(order)})
        return self._decode(protocol.position_deals_from_wire, result, "position deals")

    async def deals_since(self, since_msc: int) -> tuple[Deal, ...]:
        result = await self._request(self._alive(), "deals_since", {"since_msc": int(since_msc)})
        return self._decode(protocol.position_deals_from_wire, result, "recent deals")

    async def cash_flows(self) -> tuple[CashFlow, ...]:
        result = await self._request(self._alive(), "cash_flows", {})
        return self._decode(protocol.cash_flows_from_wire, result, "cash flows")

    def _decode(self, decoder, value, what: str):
        try:
            return decoder(value)
        except protocol.ProtocolError as exc:
            self._dropped(self._link, f"malformed {what} reply: {exc}")
            raise ConnectorError(f"the worker for {self.account_id} sent a malformed {what} reply") from None

    # ------------------------------------------------------------------ the port: snapshot
    async def snapshot(self) -> Snapshot:
        link = self._alive()
        if self._fresh(link):
            return link.snapshot
        result = await self._request(link, "snapshot", {"full": not link.valid})
        # The worker pushes before it replies and the channel keeps order, so the push is in.
        wanted = result.get("seq") if isinstance(result, dict) else None
        if link.valid and link.snapshot is not None and isinstance(wanted, int) and link.seq >= wanted:
            return link.snapshot
        raise ConnectorError(f"the worker for {self.account_id} sent an inconsistent snapshot; "
                             "it will be read again in full")

    def _fresh(self, link: _Link) -> bool:
        return (link.valid and link.snapshot is not None and not link.lagging
                and link.worker_state in ("connected", "degraded")
                and self._clock.monotonic() - link.last_beat <= self._max_age_s)

    # ------------------------------------------------------------------ the port: trading
    async def open(self, request: OpenPosition) -> ExecutionReport:
        return await self._trade("open", request)

    async def close(self, request: ClosePosition) -> ExecutionReport:
        return await self._trade("close", request)

    async def modify(self, request: ModifyStops) -> ExecutionReport:
        return await self._trade("modify", request)

    async def place_pending(self, request: PlacePending) -> ExecutionReport:
        return await self._trade("place_pending", request)

    async def modify_pending(self, request: ModifyPending) -> ExecutionReport:
        return await self._trade("modify_pending", request)

    async def cancel(self, request: CancelPending) -> ExecutionReport:
        return await self._trade("cancel", request)

    async def _trade(self, op: str, request) -> ExecutionReport:
        sent_at = self._clock.time()

        def unreachable(message: str, code: int, **extra) -> ExecutionReport:
            return ExecutionReport(Status.UNREACHABLE, code, message, sent_at=sent_at,
                                   received_at=self._clock.time(), extra=extra, reason=Reason.NO_CONNECTION,
                                   sent=extra.get("sent", True))

        try:
            link = self._alive()
            # Put in its wire form when written (_flush): a fan-out hands every slave its request
            # in one turn, and what can wait for the write does not hold the other slaves up.
            result = await self._request(link, op, {"request": request})
        except WorkerDown as exc:
            return unreachable(f"not sent: {exc.message}", _NO_CONNECTION, sent=False)
        except (WorkerLost, RequestTimeout) as exc:
            return unreachable(f"{exc.message}: the request may or may not have reached the broker; the next "
                               "snapshot shows whether it did", _IPC_CALL_FAILED, outcome="unknown")
        except ConnectorError as exc:
            return unreachable(f"the worker for {self.account_id} failed the request ({exc.message}); the next "
                               "snapshot shows whether it reached the broker", exc.code or _IPC_CALL_FAILED,
                               outcome="unknown")
        try:
            return protocol.report_from_wire(result)
        except protocol.ProtocolError as exc:
            self._dropped(link, f"malformed {op} reply: {exc}")
            return unreachable(f"the worker for {self.account_id} sent a malformed answer to {op}; the next "
                               "snapshot shows whether it reached the broker", _IPC_CALL_FAILED, outcome="unknown")

    # ------------------------------------------------------------------ extras
    async def ping(self) -> float:
        """One round trip to the worker, in seconds."""
        started = self._clock.monotonic()
        await self._request(self._alive(), "ping", {})
        return self._clock.monotonic() - started

    async def sim(self, lever: str, *args: Any) -> Any:
        """Pull a simulated terminal's lever in the worker (refused for a real terminal)."""
        return await self._request(self._alive(), "sim", {"lever": lever, "args": list(args)})

    # ------------------------------------------------------------------ requests
    def _alive(self) -> _Link:
        link = self._link
        if link is None or link.dead:
            raise WorkerDown(f"the worker process for {self.account_id} is not running ({self._last_reason}); "
                             "it is restarted on the next connection attempt")
        return link

    async def _request(self, link: _Link, op: str, args: dict, *, timeout: float | None = None) -> Any:
        if link.dead:
            raise WorkerDown(f"the worker process for {self.account_id} is not running ({link.reason})")
        if len(link.pending) >= self._max_in_flight:
            raise ConnectorError(f"the worker for {self.account_id} is not keeping up "
                                 f"({len(link.pending)} requests waiting)")
        loop = self._loop
        request_id = next(self._ids)
        future = loop.create_future()
        link.pending[request_id] = _Pending(op, future, timeout or self._request_timeout_s)
        # Written on the loop's next turn, with every other request made in this one (by every
        # connector on this loop): a fan-out plans all its slaves in one turn, and a write there
        # woke each worker to compete with the core for the CPU while the rest were being planned.
        if not link.outbox:
            _write_later(loop, self, link)
        link.outbox.append((request_id, op, args))
        try:
            return await future
        finally:
            # Reached on the answer, and also when the caller is cancelled: forget the request.
            pending = link.pending.pop(request_id, None)
            if pending is not None:
                pending.stop_timer()

    def _flush(self, link: _Link) -> None:
        outbox, link.outbox = link.outbox, []
        # Every reply's clock starts before any write: a write that fails midway leaves none of
        # these requests waiting without a timeout.
        loop = self._loop
        for request_id, _, _ in outbox:
            pending = link.pending.get(request_id)
            if pending is not None and pending.timer is None:
                pending.timer = loop.call_later(pending.timeout, self._expire, link, request_id)
        for i, (request_id, op, args) in enumerate(outbox):
            if op in protocol.REQUEST_TYPES:
                args = {"request": protocol.dataclass_to_wire(args["request"])}
            try:
                link.channel.send(protocol.encode("request", id=request_id, op=op, args=args))
            except ChannelClosed as exc:
                self._fail_unsent(link, outbox[i:])
                self._lost(link, f"its channel closed ({exc})")
                return

    def _fail_unsent(self, link: _Link, unsent: list[tuple[int, str, dict]]) -> None:
        """Requests that never reached the channel: known not sent, so not "outcome unknown"."""
        for request_id, _, _ in unsent:
            pending = link.pending.pop(request_id, None)
            if pending is not None:
                pending.stop_timer()
                if not pending.future.done():
                    pending.future.set_exception(WorkerDown(
                        f"the worker process for {self.account_id} is gone ({link.reason or 'its channel closed'})"))

    def _expire(self, link: _Link, request_id: int) -> None:
        pending = link.pending.pop(request_id, None)
        if pending is not None and not pending.future.done():
            pending.future.set_exception(RequestTimeout(
                f"the worker for {self.account_id} did not answer {pending.op} in time"))

    # ------------------------------------------------------------------ worker lifecycle
    async def _ensure_worker(self) -> _Link:
        link = self._link
        if link is not None and not link.dead:
            return link
        if self._closed:
            raise WorkerDown(f"the connector for {self.account_id} is closed")
        if self._starting is not None:
            # A second caller during start-up waits for the same worker, not a second one.
            return await asyncio.shield(self._starting)
        loop = asyncio.get_running_loop()
        self._starting = loop.create_future()
        try:
            link = await self._start(loop)
        except BaseException as exc:
            if not self._starting.done():
                self._starting.set_exception(exc if isinstance(exc, ConnectorError)
                                             else ConnectorError(f"could not start the worker: {exc!r}"))
                self._starting.exception()  # retrieved: nobody else may be waiting
            raise
        else:
            self._starting.set_result(link)
            return link
        finally:
            self._starting = None

    async def _start(self, loop: asyncio.AbstractEventLoop) -> _Link:
        now = self._clock.monotonic()
        if now < self._restart_at:
            raise WorkerDown(f"the worker for {self.account_id} stopped ({self._last_reason}); restarting it "
                             f"in {self._restart_at - now:.1f} s")
        self._loop = loop
        self._set_state("connecting", "starting the worker process")
        async with _booting(loop):
            return await self._spawn(loop)

    async def _spawn(self, loop: asyncio.AbstractEventLoop) -> _Link:
        try:
            adopt = getattr(self._host, "adopt_loop", None)
            if adopt is not None:
                adopt(loop)  # a bus's client runs on the copier's loop, not on a thread beside it
            # Starting a process takes milliseconds of blocking work: not on the loop.
            channel, process = await loop.run_in_executor(None, self._host.start, self.config)
        except Exception as exc:
            self._note_failure(f"could not start it: {type(exc).__name__}: {exc}")
            self._set_state("disconnected", self._last_reason)
            raise WorkerDown(f"could not start the worker process for {self.account_id} "
                             f"({type(exc).__name__}: {exc})") from None
        started = self._clock.monotonic()
        link = _Link(next(self._generations), channel, process, started, loop.create_future(), started)
        if self._link is not None:
            self.restarts += 1
        self._link = link
        if not self._read_on_loop(link, loop):
            threading.Thread(target=self._read, args=(link, loop), name=f"worker-reader-{self.account_id}",
                             daemon=True).start()
        try:
            await asyncio.wait_for(asyncio.shield(link.hello), self._hello_timeout_s)
        except TimeoutError:
            self._lost(link, f"it did not start within {self._hello_timeout_s:.0f} s")
            raise WorkerDown(f"the worker process for {self.account_id} did not start") from None
        except ConnectorError:
            raise WorkerDown(f"the worker process for {self.account_id} stopped while starting "
                             f"({link.reason})") from None
        self._arm_watchdog(link)
        log.info("%s: worker process %s started", self.account_id, process.pid)
        return link

    def _read_on_loop(self, link: _Link, loop: asyncio.AbstractEventLoop) -> bool:
        """Take the channel's messages on the loop: handed over as they come by a channel that runs
        on it (the bus's client on the copier's loop), else watched from the loop's own selector
        where there is one (POSIX selector loops, qasync): no thread hand-off and no GIL contention
        per message. False: use a thread."""
        deliver_to = getattr(link.channel, "deliver_to", None)
        if deliver_to is not None and deliver_to(loop, functools.partial(self._take, link),
                                                 functools.partial(self._channel_closed, link, loop)):
            link.delivered = True
            return True
        fileno = getattr(link.channel, "fileno", None)
        fd = fileno() if fileno is not None else None
        if fd is None:
            return False
        try:
            loop.add_reader(fd, self._readable, link, loop)
        except (NotImplementedError, RuntimeError, ValueError, OSError):
            return False  # e.g. the proactor loop on Windows
        link.reader_fd = fd
        return True

    def _readable(self, link: _Link, loop: asyncio.AbstractEventLoop) -> None:
        try:
            # Bounded, so one chatty worker cannot hold the loop; the selector calls again.
            for _ in range(64):
                data = link.channel.recv(0)
                if data is None:
                    return
                self._take(link, data)
                if link.dead:
                    return
        except ChannelClosed:
            self._channel_closed(link, loop)

    def _take(self, link: _Link, data: bytes) -> None:
        """One message from the worker, decoded and handled (a malformed one is dropped, noted)."""
        if link.dead:
            return
        try:
            message = protocol.decode(data)
        except protocol.ProtocolError as exc:
            self._dropped(link, str(exc), data[:120])
            return
        self._on_message(link, message, self._clock.monotonic())

    def _channel_closed(self, link: _Link, loop: asyncio.AbstractEventLoop) -> None:
        self._stop_reading(link)
        threading.Thread(target=self._reap, args=(link, loop), name=f"worker-reaper-{self.account_id}",
                         daemon=True).start()

    def _stop_reading(self, link: _Link) -> None:
        if link.delivered:
            link.delivered = False
            link.channel.stop_delivering()
        if link.reader_fd is not None and self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(Exception):
                self._loop.remove_reader(link.reader_fd)
        link.reader_fd = None

    def _read(self, link: _Link, loop: asyncio.AbstractEventLoop) -> None:
        """The reader thread: decode off the loop, hand each message to the loop in order."""
        clock = self._clock
        try:
            while True:
                try:
                    data = link.channel.recv(None)
                except ChannelClosed:
                    break
                try:
                    message = protocol.decode(data)
                except protocol.ProtocolError as exc:
                    loop.call_soon_threadsafe(self._dropped, link, str(exc), data[:120])
                    continue
                loop.call_soon_threadsafe(self._on_message, link, message, clock.monotonic())
        except RuntimeError:
            return  # the loop is closed: the application is gone
        self._reap(link, loop)

    def _reap(self, link: _Link, loop: asyncio.AbstractEventLoop) -> None:
        """After the channel closed: why the worker went, without leaving a zombie behind."""
        link.process.wait(2.0)
        code = link.process.exitcode
        # A transport that knows why (a remote host's lease lapsed, the host said so) says it; a
        # local process has only its exit code.
        told = getattr(link.process, "reason", "")
        reason = "its process exited" if code is None else f"its process exited with code {code}"
        if told:
            reason = told
        elif code is not None and code < 0:
            reason = f"its process was killed by signal {-code}"
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._lost, link, reason)

    def _arm_watchdog(self, link: _Link) -> None:
        link.watchdog = self._loop.call_later(self._heartbeat_timeout_s / 4, self._watch, link)

    def _watch(self, link: _Link) -> None:
        if link.dead:
            return
        silent = self._clock.monotonic() - link.last_heard
        if silent > self._heartbeat_timeout_s:
            self._lost(link, f"no heartbeat for {silent:.1f} s: it hung and was stopped")
            return
        self._arm_watchdog(link)

    def _lost(self, link: _Link, reason: str) -> None:
        if link.dead:
            return
        link.dead = True
        link.reason = reason
        if link.watchdog is not None:
            link.watchdog.cancel()
        with contextlib.suppress(Exception):
            link.process.kill()  # a hung worker must not come back to life mid-order
        self._stop_reading(link)  # before the close: the selector must not watch a closed handle
        link.channel.close()
        unsent, link.outbox = link.outbox, []
        self._fail_unsent(link, unsent)
        for pending in list(link.pending.values()):
            pending.stop_timer()
            if not pending.future.done():
                pending.future.set_exception(WorkerLost(
                    f"the worker for {self.account_id} stopped during {pending.op} ({reason})"))
        link.pending.clear()
        if not link.hello.done():
            link.hello.set_exception(WorkerLost(reason))
            link.hello.exception()
        if link is not self._link:
            return
        if self._closed:
            self._set_state("disconnected", "stopped")
            return
        self._note_failure(reason, lived=self._clock.monotonic() - link.started)
        log.warning("%s: worker process %s lost: %s", self.account_id, link.process.pid, reason)
        self._set_state("disconnected", f"the worker process stopped: {reason}")

    def _note_failure(self, reason: str, lived: float = 0.0) -> None:
        self._last_reason = reason
        if lived >= self._stable_after_s:
            self._failures = 0
        self._failures += 1
        backoff = self._restart_backoff_s[min(self._failures - 1, len(self._restart_backoff_s) - 1)]
        self._restart_at = self._clock.monotonic() + backoff

    # ------------------------------------------------------------------ messages
    def _on_message(self, link: _Link, message: protocol.Message, received: float) -> None:
        if link is not self._link or link.dead:
            return  # from a worker already given up on
        link.last_heard = received
        handler = _HANDLERS.get(message.kind)
        if handler is None:
            self._dropped(link, f"unexpected {message.kind} message from a worker")
            return
        try:
            handler(self, link, message, received)
        except (protocol.ProtocolError, KeyError, TypeError, ValueError) as exc:
            self._dropped(link, f"malformed {message.kind} message: {exc}")

    def _on_hello(self, link: _Link, message: protocol.Message, received: float) -> None:
        link.offset = min(link.offset, received - message["mono"])
        link.last_beat = received
        if message["account"] != self.account_id:
            self._lost(link, f"it introduced itself as {message['account']!r}")
            return
        if not link.hello.done():
            link.hello.set_result(message["pid"])

    def _on_reply(self, link: _Link, message: protocol.Message, received: float) -> None:
        pending = link.pending.pop(message["id"], None)
        if pending is None:
            log.debug("%s: a late reply to request %s", self.account_id, message["id"])
            return
        pending.stop_timer()
        if pending.future.done():
            return
        if message["ok"]:
            pending.future.set_result(message.get("result"))
            return
        error = message["error"]
        text = error.get("message") if isinstance(error.get("message"), str) else "no reason given"
        code = error.get("code") if isinstance(error.get("code"), int) else None
        pending.future.set_exception(ConnectorError(text, code=code))

    def _on_snapshot(self, link: _Link, message: protocol.Message, received: float) -> None:
        base = message["base"]
        if base is None:
            positions, orders = {}, {}
        elif base == link.seq and link.valid:
            positions, orders = dict(link.positions), dict(link.orders)
        else:
            link.valid = False  # a gap: the next snapshot() asks for a full one
            self._dropped(link, f"snapshot {message['seq']} builds on {base}, but {link.seq} is the last one")
            return
        try:
            for row in message["pos"]:
                p = protocol.position_from_wire(row)
                positions[p.ticket] = p
            for row in message["ord"]:
                o = protocol.order_from_wire(row)
                orders[o.ticket] = o
            for ticket in protocol.tickets_from_wire(message["gone_pos"], "gone_pos"):
                positions.pop(ticket, None)
            for ticket in protocol.tickets_from_wire(message["gone_ord"], "gone_ord"):
                orders.pop(ticket, None)
        except protocol.ProtocolError:
            link.valid = False
            raise
        offset = link.offset if link.offset != float("inf") else received - message["taken_at"]
        taken_at = message["taken_at"] + offset
        link.positions, link.orders, link.seq, link.valid = positions, orders, message["seq"], True
        link.snapshot = Snapshot(taken_at, tuple(positions.values()), tuple(orders.values()), message["offset"])

    def _on_heartbeat(self, link: _Link, message: protocol.Message, received: float) -> None:
        link.offset = min(link.offset, received - message["mono"])
        link.last_beat = received
        busy, busy_for = message["busy"], message["busy_for"]
        link.busy, link.busy_for = busy, busy_for
        link.lagging = busy is not None and busy_for > self._lag_s
        if busy and busy_for > self._busy_warning_s and self.state == "connected":
            self._set_state("degraded", f"the terminal has not finished a {busy} for {busy_for:.0f} s")
        elif not busy and self.state == "degraded" and self.state_detail.startswith("the terminal has not"):
            self._set_state(link.worker_state, link.worker_detail)

    def _on_state(self, link: _Link, message: protocol.Message, received: float) -> None:
        link.worker_state, link.worker_detail = message["state"], message["detail"]
        self._set_state(message["state"], message["detail"])

    def _on_error(self, link: _Link, message: protocol.Message, received: float) -> None:
        log.error("%s: the worker reported: %s", self.account_id, message["message"])
        if self.journal is not None:
            self.journal.record("error", f"worker of {self.account_id}: {message['message']}",
                                account=self.account_id, code=message["code"])

    def _on_log(self, link: _Link, message: protocol.Message, received: float) -> None:
        level = message["level"]
        level = level if 0 < level <= logging.CRITICAL else logging.INFO
        logging.getLogger(message["logger"] or "copier_gui.workers.remote").log(
            level, "%s", message["message"], extra={"worker": self.account_id, "worker_pid": link.process.pid})

    def _dropped(self, link: _Link | None, reason: str, sample: bytes = b"") -> None:
        self.dropped += 1
        pid = link.process.pid if link is not None else None
        log.warning("%s: dropped a message from worker %s: %s%s", self.account_id, pid, reason,
                    f" ({sample!r})" if sample else "")
        if self.journal is not None:
            self.journal.record("error", f"dropped a malformed message from the worker of {self.account_id}: "
                                f"{reason}", account=self.account_id)

    def _set_state(self, state: str, detail: str) -> None:
        if (state, detail) == (self.state, self.state_detail):
            return
        self.state, self.state_detail = state, detail
        text = f"{self.account_id} worker {state}" + (f": {detail}" if detail else "")
        if self.journal is not None:
            self.journal.record("state", text, account=self.account_id, state=state, source="worker")
        for listener in list(self._listeners):
            try:
                listener(self.account_id, state, detail)
            except Exception:
                log.exception("%s: a state listener failed", self.account_id)

    # ------------------------------------------------------------------ shutdown
    def request_shutdown(self) -> None:
        """Ask the worker to close its session and exit; see :meth:`wait_closed`."""
        self._closed = True
        link = self._link
        if link is not None and not link.dead:
            self._flush(link)  # what was asked before the shutdown goes first
            if link.dead:
                return
            with contextlib.suppress(ChannelClosed):
                link.channel.send(protocol.encode("shutdown"))

    def wait_closed(self, timeout: float = 5.0) -> None:
        """Wait for the worker to exit (killing it after ``timeout``); blocking, for shutdown paths."""
        link = self._link
        if link is None:
            return
        if not link.process.wait(timeout):
            link.process.kill()
            link.process.wait(timeout)
        self._mark_gone(link)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the worker process, blocking for at most about ``timeout`` seconds.

        (``close`` is the port's close-a-position request, hence the name.)"""
        self.request_shutdown()
        self.wait_closed(timeout)

    async def aclose(self, timeout: float = 5.0) -> None:
        """Stop the worker process without blocking the loop."""
        self.request_shutdown()
        link = self._link
        if link is None:
            return
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(None, link.process.wait, timeout):
            link.process.kill()
            await loop.run_in_executor(None, link.process.wait, timeout)
        self._lost(link, "stopped")

    def _mark_gone(self, link: _Link) -> None:
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None or running is loop or loop.is_closed():
            if loop is None or loop.is_closed():
                # No loop to resolve futures on any more; just drop the link.
                link.dead = True
                link.reader_fd = None
                link.channel.close()
                self._set_state("disconnected", "stopped")
            else:
                self._lost(link, "stopped")
        else:
            loop.call_soon_threadsafe(self._lost, link, "stopped")


_HANDLERS: dict[str, Callable[[WorkerConnector, _Link, protocol.Message, float], None]] = {
    "hello": WorkerConnector._on_hello,
    "reply": WorkerConnector._on_reply,
    "snapshot": WorkerConnector._on_snapshot,
    "heartbeat": WorkerConnector._on_heartbeat,
    "state": WorkerConnector._on_state,
    "error": WorkerConnector._on_error,
    "log": WorkerConnector._on_log,
}
