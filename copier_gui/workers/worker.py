"""The worker process: it owns one account's MetaTrader5 API, logs in with a password it reads from
the keyring itself, polls and pushes snapshot changes and heartbeats, and runs the core's requests.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector, retcodes
from copier_gui.core.model import ExecutionReport, Snapshot, Status
from copier_gui.core.ports import ConnectorError
from copier_gui.workers import protocol
from copier_gui.workers.config import BridgeTerminal, RealTerminal, SimTerminal, WorkerConfig
from copier_gui.workers.transport import Channel, ChannelClosed

log = logging.getLogger(__name__)

# Levers the "sim" request may pull on a simulated terminal, by name.
# Trades that make deals: their replies carry the deals of the position they went into.
_DEALING_OPS = frozenset({"open", "close"})
_SIM_LEVERS = ("trader", "set_algo_trading", "set_tradeapi_disabled", "disconnect", "force_retcodes")
# What the "trader" lever reaches: the functions a person or an expert advisor trading the account
# uses. Never the session's own (initialize, login, shutdown): those belong to the copier.
_TRADER_FUNCTIONS = frozenset({"account_info", "positions_get", "orders_get", "symbol_info", "symbol_info_tick",
                               "order_check", "order_send"})


def main(channel: Channel, config: WorkerConfig) -> None:
    """Process entry point (the spawn target)."""
    # Ctrl-C reaches every process of the console; the core decides when its workers stop, so an
    # order in flight is not cut short here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    worker = None
    try:
        lower_priority(config.nice)
        worker = Worker(channel, config)
        worker.install_logging()
        worker.run()
    except ChannelClosed:
        pass  # the core went away before this worker could greet it
    except Exception as exc:
        # Tell the core why, so the reason reaches its log and journal, not only this stderr.
        message = f"the worker crashed: {type(exc).__name__}: {exc}"
        with contextlib.suppress(Exception):
            if worker is not None:
                worker.send("error", message=message, code=None)  # scrubbed of any secret it read
            else:
                channel.send(protocol.encode("error", message=message, code=None))
        raise
    finally:
        channel.close()


def lower_priority(nice: int) -> None:
    """Run below the core. A worker woken by a request would otherwise preempt the core while it
    is still handing out the same fan-out to the other slaves (measured: copies twice as slow
    with 50 workers on 2 cores). Workers mostly wait on their terminals, so this costs them little."""
    if nice <= 0:
        return
    try:
        if sys.platform == "win32":
            import ctypes

            below_normal = 0x4000
            kernel32 = ctypes.windll.kernel32
            kernel32.SetPriorityClass(kernel32.GetCurrentProcess(), below_normal)
        else:
            os.nice(nice)
    except (OSError, AttributeError) as exc:
        log.debug("could not lower the worker's priority: %s", exc)


def build_api(spec, *, on_secret: Callable[[str], None] | None = None) -> Any:
    """The MetaTrader5 API object a terminal spec names; ``on_secret`` sees every secret read for
    it (a bridge's shared secret), so the worker can scrub it from what it sends."""
    if isinstance(spec, SimTerminal):
        from copier_gui.sim import Market, new_terminal

        anchor = spec.anchor if spec.anchor is not None else SYSTEM_CLOCK.time()
        market = Market(spec.seed, SYSTEM_CLOCK, anchor=anchor)
        return new_terminal(spec.profile, seed=spec.seed, market=market, faults=spec.faults, **spec.account)
    if isinstance(spec, BridgeTerminal) and spec.server_kind != "copier":
        from copier_gui.bridge.mt5linux import MT5LinuxBridge

        # An mt5linux server the trader runs: no secret; refused beyond loopback unless allowed.
        return MT5LinuxBridge(spec.host, spec.port, allow_remote=spec.server_kind == "mt5linux_remote",
                              timeout=spec.timeout_s)
    if isinstance(spec, BridgeTerminal):
        from copier_gui.bridge import MT5Bridge
        from copier_gui.bridge.pairing import WHAT, bridge_secret_key
        from copier_gui.secrets import get_secret

        key = spec.secret_key or bridge_secret_key(spec.host, spec.port)

        def bridge_secret() -> str | None:
            # Read at each connection, from the keyring: a bridge paired again is picked up.
            secret = get_secret(key, what=WHAT)
            if secret and on_secret is not None:
                on_secret(secret)
            return secret

        return MT5Bridge(spec.host, spec.port, terminal=spec.terminal, timeout=spec.timeout_s,
                         secret=bridge_secret)
    if isinstance(spec, RealTerminal):
        import MetaTrader5  # Windows only; the worker is the one process bound to this terminal

        return MetaTrader5
    raise TypeError(f"unknown terminal spec {spec!r}")


def run_inline(coro: Coroutine) -> Any:
    """Run a connector coroutine that never suspends, as every one does with an InlineInvoker.

    An event loop per call would cost more than the terminal call itself.
    """
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise RuntimeError("a connector call suspended inside the worker")


class _Scrubber:
    """Secrets this process has read, removed from every outgoing byte as a second line of defence."""

    def __init__(self) -> None:
        self._secrets: list[tuple[str, str]] = []

    def add(self, secret: str) -> None:
        # Also its JSON-escaped form, which is how it would appear inside an encoded message.
        escaped = json.dumps(secret)[1:-1]
        pair = (secret, escaped)
        if secret and pair not in self._secrets:
            self._secrets.append(pair)

    def text(self, text: str) -> str:
        for secret, escaped in self._secrets:
            if secret in text:
                text = text.replace(secret, "***")
            if escaped != secret and escaped in text:
                text = text.replace(escaped, "***")
        return text

    def __bool__(self) -> bool:
        return bool(self._secrets)


class _ChannelLogHandler(logging.Handler):
    """Forwards this process's log records to the core, which re-emits them in its own logging."""

    def __init__(self, worker: Worker, level: int) -> None:
        super().__init__(level)
        self._worker = worker
        self._local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._local, "busy", False):
            return  # a record logged while sending a record would recurse
        self._local.busy = True
        try:
            message = record.getMessage()
            if record.exc_info:
                message = f"{message}\n{logging.Formatter().formatException(record.exc_info)}"
            self._worker.send("log", level=record.levelno, logger=record.name, message=message)
        except Exception:
            pass  # logging must never take the worker down; the core sees a dead channel anyway
        finally:
            self._local.busy = False


class Worker:
    def __init__(self, channel: Channel, config: WorkerConfig, *, clock: Clock = SYSTEM_CLOCK,
                 api: Any = None) -> None:
        self.channel = channel
        self.config = config
        self.clock = clock
        self._api = api
        self._api_error: str | None = None
        self._connector: MT5Connector | None = None
        self._send_lock = threading.Lock()
        self._scrub = _Scrubber()
        self._stop = threading.Event()
        self._nudge = threading.Event()  # wakes the watchdog: a request started, or the worker stops
        self._closed = False
        # Polling state.
        self._session = False
        self._failing = False
        self._next_poll = 0.0
        self._poll_every = config.poll_idle_s  # the interval the next poll was scheduled at
        self._streak = 0  # polls since the last change or request
        self._active_at = 0.0
        self._next_health = 0.0
        self._beat_at = 0.0  # when the last heartbeat went out, from either thread
        self._beat_busy = False  # and whether it said the loop was busy
        self._polled: float | None = None
        self._seq = 0
        self._pushed_positions: dict[int, list] = {}
        self._pushed_orders: dict[int, list] = {}
        self._pushed_offset: float | None = None
        self._pushed_at = 0.0
        self._price_dirty = False
        self._state: tuple[str, str] | None = None
        self._busy: tuple[str, float] | None = None
        self._terminal_info = None
        self._login_seen: int | None = None
        self._ops: dict[str, Callable[[dict], Any]] = {
            "connect": self._op_connect, "close_session": self._op_close_session, "account": self._op_account,
            "snapshot": self._op_snapshot, "symbols": self._op_symbols, "symbol": self._op_symbol,
            "ping": self._op_ping, "sim": self._op_sim, "position_deals": self._op_position_deals,
            "cash_flows": self._op_cash_flows, "deals_since": self._op_deals_since,
        }
        for op in protocol.TRADE_OPS:
            self._ops[op] = self._trade_op(op)

    # ------------------------------------------------------------------ plumbing
    def install_logging(self) -> None:
        root = logging.getLogger()
        for handler in list(root.handlers):
            root.removeHandler(handler)
        root.addHandler(_ChannelLogHandler(self, self.config.log_level))
        root.setLevel(self.config.log_level)

    def send(self, kind: str, **fields: Any) -> None:
        data = protocol.encode(kind, **fields)
        if self._scrub:
            data = self._scrub.text(data.decode()).encode()
        with self._send_lock:
            if self._closed:
                raise ChannelClosed("worker stopping")
            self.channel.send(data)

    def _set_state(self, state: str, detail: str = "") -> None:
        if self._state != (state, detail):
            self._state = (state, detail)
            self.send("state", state=state, detail=detail)

    @property
    def connector(self) -> MT5Connector:
        if self._connector is None:
            if self._api is None:
                try:
                    self._api = build_api(self.config.terminal, on_secret=self._scrub.add)
                except Exception as exc:  # e.g. MetaTrader5 not installed: tell the core, stay up
                    raise ConnectorError(f"could not load the MetaTrader 5 API for {self.config.account_id} "
                                         f"({type(exc).__name__}: {exc})") from None
            c = self.config
            self._connector = MT5Connector(c.account_id, self._api, invoker=InlineInvoker(), clock=self.clock,
                                           login=c.login, server=c.server, path=c.path,
                                           password_provider=self._password if c.password_key else None,
                                           magic_filter=c.magic_filter)
        return self._connector

    def _password(self) -> str | None:
        from copier_gui.secrets import get_password

        # None lets initialize() use the password the terminal saved itself, as MetaTrader 5 allows.
        password = get_password(self.config.password_key)
        if password is not None:
            self._scrub.add(password)
        return password

    # ------------------------------------------------------------------ main loop
    def run(self) -> None:
        api_kind = getattr(self.config.terminal, "kind", "unknown")
        self._beat_at = self.clock.monotonic()  # the hello is the first sign of life
        self.send("hello", account=self.config.account_id, pid=os.getpid(), mono=self._beat_at,
                  api=api_kind)
        watchdog = threading.Thread(target=self._watchdog, name="heartbeat", daemon=True)
        watchdog.start()
        try:
            while not self._stop.is_set():
                # One wake-up for whatever comes due first: a poll or a heartbeat. Every wake-up of
                # an idle process costs far more than the work it does (its caches are cold:
                # ~0.2 ms against ~15 us for a resting poll and a heartbeat), and fifty resting
                # workers add up, so the two share their wake-ups (see _slack).
                due = self._beat_at + self.config.heartbeat_s
                if self._session:
                    due = min(due, self._next_poll)
                try:
                    data = self.channel.recv(max(0.0, due - self.clock.monotonic()))
                except ChannelClosed:
                    break  # the core is gone: nothing left to serve
                if data is not None:
                    self._on_data(data)
                if self._session:
                    self._tick()
                # After the poll, so the beat vouches for the snapshot just pushed.
                if self.clock.monotonic() >= self._beat_at + self.config.heartbeat_s - self._slack():
                    self._beat()
        except ChannelClosed:
            pass  # the core went away while we were answering it
        finally:
            self._halt()
            self._release()
            watchdog.join(timeout=1.0)

    def _slack(self) -> float:
        """How early a poll, a health check or a heartbeat may be done to share a wake-up.

        Half the shorter of the poll interval and the heartbeat: a poll is never late (that would
        delay detection), only early, and by less than half its interval. Whatever the phase
        between them, after one round the resting poll and the heartbeat fall on the same
        wake-up, and a poll every ``poll_rest_s`` of at least the heartbeat keeps its pace."""
        if not self._session:
            return 0.0
        return 0.5 * min(self._poll_every, self.config.heartbeat_s)

    def _tick(self) -> None:
        now = self.clock.monotonic()
        slack = self._slack()
        try:
            if now >= self._next_poll - slack:
                self._poll()
                # Piggybacks on a poll: every wake-up costs CPU, and 50 idle workers add up.
                if now >= self._next_health - slack:
                    self._health_check()
        except ConnectorError:
            pass  # already reported as the state; polling goes on at the idle pace
        except ChannelClosed:
            raise
        except Exception:
            log.exception("%s: polling failed inside the worker", self.config.account_id)
            self._poll_every = self.config.poll_idle_s
            self._next_poll = now + self._poll_every

    def _release(self) -> None:
        """Leave the terminal as a clean exit should: session shut down, bridge connection closed."""
        try:
            if self._session:
                self._close_session()
        except (ChannelClosed, ConnectorError, OSError, EOFError):
            pass
        with self._send_lock:
            self._closed = True
        close = getattr(self._api, "close", None)
        if isinstance(self.config.terminal, BridgeTerminal) and close is not None:
            with contextlib.suppress(Exception):  # the bridge may already be gone
                close()

    def _beat(self) -> None:
        # Polled before seq: the main thread sets them the other way round, so a heartbeat sent
        # from the watchdog never vouches for a poll newer than the snapshot the core holds.
        polled = self._polled
        seq = self._seq
        busy = self._busy
        now = self.clock.monotonic()
        self._beat_at = now
        self._beat_busy = busy is not None
        self.send("heartbeat", mono=now, polled=polled, seq=seq,
                  busy=busy[0] if busy else None, busy_for=now - busy[1] if busy else 0.0)

    def _halt(self) -> None:
        self._stop.set()
        self._nudge.set()

    def _watchdog(self) -> None:
        """Beats for the loop while it is stuck in a terminal call (one that takes seconds must
        not look like a dead worker), saying which call and for how long.

        Once a worker rests (it polls no more often than it beats) the loop beats on its own
        every heartbeat, so this thread sleeps until a beat is overdue: 2.5 heartbeats after the
        last (not a whole number of heartbeats, which would wake it each time just as the loop
        beats), then every heartbeat while the loop stays stuck. A resting worker's watchdog
        wakes every other heartbeat, and the core (which gives a silent worker five) still hears
        from a stuck one in time. Otherwise it watches at the heartbeat's pace, as scheduling
        delays on a loaded machine eat into the core's margin: while polling faster (a master,
        a slave just after a change), while a request runs (the loop nudges it: a trade at a
        slow broker can take seconds) and until the session is up (the connect can take seconds
        too: imports, the terminal's start)."""
        beat_s = self.config.heartbeat_s
        stuck = False
        while True:
            busy = self._busy  # read after the nudge was cleared, so a later request nudges again
            resting = self._session and self._poll_every >= beat_s
            watched = stuck or not resting or (busy is not None and busy[0] != "poll")
            gap = beat_s if watched else 2.5 * beat_s
            self._nudge.wait(max(0.0, self._beat_at + gap - self.clock.monotonic()))
            if self._stop.is_set():
                return
            self._nudge.clear()
            if self.clock.monotonic() < self._beat_at + gap:
                stuck = False
                continue  # nudged, or the loop beat meanwhile
            stuck = self._busy is not None  # else the loop, free, is about to beat on its own
            try:
                self._beat()
            except ChannelClosed:
                return

    def _on_data(self, data: bytes) -> None:
        try:
            message = protocol.decode(data)
        except protocol.ProtocolError as exc:
            log.warning("%s: dropped a malformed message from the core: %s", self.config.account_id, exc)
            return
        if message.kind == "shutdown":
            self._halt()
        elif message.kind == "request":
            self._on_request(message)
        else:
            log.warning("%s: dropped a %s message: the core sends only requests and shutdown",
                        self.config.account_id, message.kind)

    def _on_request(self, message: protocol.Message) -> None:
        request_id, op, args = message["id"], message["op"], message["args"]
        handler = self._ops.get(op)
        if handler is None:
            log.warning("%s: refused unknown request %r", self.config.account_id, op)
            self._reply(request_id, ok=False, error=protocol.error_to_wire("protocol", f"unknown request {op!r}"))
            return
        self._busy = (op, self.clock.monotonic())
        self._nudge.set()  # one wake-up per request, not per poll: requests are rare at rest
        try:
            result = handler(args)
        except ConnectorError as exc:
            self._busy = None
            self._reply(request_id, ok=False, error=protocol.error_to_wire("connector", exc.message, exc.code))
            return
        except protocol.ProtocolError as exc:
            self._busy = None
            log.warning("%s: refused malformed %s request: %s", self.config.account_id, op, exc)
            self._reply(request_id, ok=False, error=protocol.error_to_wire("protocol", str(exc)))
            return
        except Exception as exc:
            self._busy = None
            log.exception("%s: %s failed inside the worker", self.config.account_id, op)
            self._reply(request_id, ok=False, error=protocol.error_to_wire("internal", f"{type(exc).__name__}: {exc}"))
            return
        finally:
            self._busy = None
        self._reply(request_id, ok=True, result=result)

    def _reply(self, request_id: Any, **fields: Any) -> None:
        # A request that kept the loop busy also kept it from beating (the watchdog waits longer
        # than a heartbeat), or the watchdog's last beat told the core it was busy: beat first,
        # so the core, going on as soon as it reads the reply, finds a recent heartbeat that
        # vouches for the snapshot pushed before it.
        if self._beat_busy or self.clock.monotonic() >= self._beat_at + self.config.heartbeat_s - self._slack():
            self._beat()
        self.send("reply", id=request_id, **fields)

    # ------------------------------------------------------------------ polling
    def _poll(self, *, push: bool = False, full: bool = False) -> int:
        """Read positions and orders, push what changed; returns the seq the core should hold."""
        now = self.clock.monotonic()
        own = self._busy is None
        if own:
            # A terminal that hangs in a read must show in the heartbeats like one hung in a trade.
            self._busy = ("poll", now)
        try:
            snapshot = run_inline(self.connector.snapshot())
        except ConnectorError as exc:
            self._failing = True
            self._poll_every = self.config.poll_idle_s
            self._next_poll = now + self._poll_every
            self._set_state("disconnected", exc.message)
            raise
        finally:
            if own:
                self._busy = None
        if self._failing:
            self._failing = False
            self._set_state(*self._session_state())
        changed = self._push(snapshot, force=push, full=full)
        self._polled = now
        if changed:
            self._active(now)
        self._poll_every = self._interval(now)
        self._next_poll = now + self._poll_every
        return self._seq

    def _active(self, now: float) -> None:
        self._streak = 0
        self._active_at = now

    def _interval(self, now: float) -> float:
        """Fast right after a change (more often follow: partial fills, a stop moved after an
        entry), doubling with every quiet poll up to the idle pace, and the rest pace after long
        quiet. Each wake-up costs CPU even when nothing changed, and dozens of workers add up."""
        c = self.config
        self._streak += 1
        if c.poll_rest_s is not None and now - self._active_at >= c.rest_after_s:
            return c.poll_rest_s
        return min(c.poll_idle_s, c.poll_fast_s * 2.0 ** min(self._streak - 1, 30))

    def _push(self, snapshot: Snapshot, *, force: bool, full: bool) -> bool:
        """Send the changes since the last push; True if something other than prices changed."""
        if full:
            self._pushed_positions, self._pushed_orders, self._pushed_offset = {}, {}, None
        positions = {p.ticket: protocol.position_to_wire(p) for p in snapshot.positions}
        orders = {o.ticket: protocol.order_to_wire(o) for o in snapshot.orders}
        old_p, old_o = self._pushed_positions, self._pushed_orders
        upsert_p = [row for t, row in positions.items() if old_p.get(t) != row]
        upsert_o = [row for t, row in orders.items() if old_o.get(t) != row]
        gone_p = [t for t in old_p if t not in positions]
        gone_o = [t for t in old_o if t not in orders]
        # Price and profit (the last two fields) move with every tick; anything else is a change
        # the core must see now.
        material = bool(full or gone_p or gone_o or upsert_o or snapshot.server_offset_s != self._pushed_offset
                        or any(row[0] not in old_p or old_p[row[0]][:-2] != row[:-2] for row in upsert_p))
        self._price_dirty = self._price_dirty or bool(upsert_p)
        now = self.clock.monotonic()
        due = self._price_dirty and now - self._pushed_at >= self.config.price_push_s
        if not (material or due or force):
            return False
        base = None if full else self._seq
        self._seq += 1
        self.send("snapshot", seq=self._seq, base=base, taken_at=snapshot.taken_at, offset=snapshot.server_offset_s,
                  pos=upsert_p, ord=upsert_o, gone_pos=gone_p, gone_ord=gone_o)
        self._pushed_positions, self._pushed_orders = positions, orders
        self._pushed_offset = snapshot.server_offset_s
        self._pushed_at = now
        self._price_dirty = False
        return material

    def _health_check(self) -> None:
        """Once a second: is the terminal still connected to its server, and may it trade?"""
        self._next_health = self.clock.monotonic() + self.config.health_check_s
        if self._failing:
            return
        try:
            terminal = self._api.terminal_info()
        except (OSError, EOFError) as exc:
            self._set_state("disconnected", f"the terminal stopped answering ({type(exc).__name__}: {exc})")
            return
        if terminal is None:
            return  # the next poll reports the reason
        self._terminal_info = terminal
        self._set_state(*self._session_state(terminal))

    def _session_state(self, terminal=None) -> tuple[str, str]:
        terminal = terminal if terminal is not None else self._terminal_info
        if terminal is None:
            return "connected", ""
        name = f"'{terminal.name}'"
        login = self._login_seen if self._login_seen is not None else self.config.login
        if login is not None:
            name = f"{name} (account {login})"
        if not terminal.connected:
            return "degraded", (f"the MetaTrader 5 terminal {name} has no connection to its trade server; "
                                "check its network connection and login")
        if terminal.tradeapi_disabled:
            return "degraded", retcodes.python_api_disabled_message(name)
        if not terminal.trade_allowed:
            return "degraded", retcodes.algo_trading_off_message(name)
        return "connected", ""

    # ------------------------------------------------------------------ requests
    def _op_ping(self, args: dict) -> dict:
        return {"mono": self.clock.monotonic()}

    def _op_connect(self, args: dict) -> dict:
        self._set_state("connecting", "")
        try:
            account = run_inline(self.connector.connect())
        except ConnectorError as exc:
            self._session = False
            self._set_state("disconnected", exc.message)
            raise
        self._session = True
        self._failing = False
        self._login_seen = account.login
        self._pushed_positions, self._pushed_orders, self._pushed_offset = {}, {}, None
        self._terminal_info = None
        self._health_check()
        self._active(self.clock.monotonic())
        self._poll(push=True, full=True)
        return {"account": protocol.dataclass_to_wire(account),
                "capabilities": protocol.dataclass_to_wire(self.connector.capabilities)}

    def _close_session(self) -> None:
        self._session = False
        with contextlib.suppress(ConnectorError):
            run_inline(self.connector.close_session())
        self._set_state("disconnected", "session closed")

    def _op_close_session(self, args: dict) -> None:
        self._close_session()
        return None

    def _op_account(self, args: dict) -> dict:
        return protocol.dataclass_to_wire(run_inline(self.connector.account()))

    def _op_snapshot(self, args: dict) -> dict:
        return {"seq": self._poll(push=True, full=bool(args.get("full")))}

    def _op_symbols(self, args: dict) -> dict:
        specs = run_inline(self.connector.symbols())
        return {name: protocol.dataclass_to_wire(spec) for name, spec in specs.items()}

    def _op_symbol(self, args: dict) -> dict | None:
        name = args.get("name")
        if not isinstance(name, str):
            raise protocol.ProtocolError("symbol request without a name")
        spec = run_inline(self.connector.symbol(name))
        return None if spec is None else protocol.dataclass_to_wire(spec)

    def _op_position_deals(self, args: dict) -> list:
        position = args.get("position")
        if not isinstance(position, int) or isinstance(position, bool):
            raise protocol.ProtocolError("position deals request without a position ticket")
        order = args.get("order", 0)
        if not isinstance(order, int) or isinstance(order, bool):
            raise protocol.ProtocolError("position deals request with an order that is not a ticket")
        deals = run_inline(self.connector.position_deals(position, order=order))
        return [protocol.dataclass_to_wire(d) for d in deals]

    def _op_deals_since(self, args: dict) -> list:
        since = args.get("since_msc")
        if not isinstance(since, int) or isinstance(since, bool) or since < 0:
            raise protocol.ProtocolError("recent deals request without a start time (since_msc)")
        return [protocol.dataclass_to_wire(d) for d in run_inline(self.connector.deals_since(since))]

    def _op_cash_flows(self, _args: dict) -> list:
        return [protocol.dataclass_to_wire(f) for f in run_inline(self.connector.cash_flows())]

    def _trade_op(self, op: str) -> Callable[[dict], dict]:
        method = op  # MT5Connector's coroutine of the same name

        def handle(args: dict) -> dict:
            request = protocol.request_from_wire(op, args.get("request"))
            report = run_inline(getattr(self.connector, method)(request))
            if op in _DEALING_OPS and report.status in (Status.FILLED, Status.PARTIAL) and report.order:
                report = self._with_deals(report)
            self._after_trade()
            return protocol.report_to_wire(report)

        return handle

    def _with_deals(self, report: ExecutionReport) -> ExecutionReport:
        """The report with the deals of the position its order went into: the copier journals them
        after every fill, and reading them here spares it a request and a reply per copy."""
        try:
            deals = run_inline(self.connector.position_deals(0, order=report.order))
        except ConnectorError:
            return report  # the copier reads them itself, and says so if it cannot
        # None when the history does not show the deal yet: the copier reads again later.
        return dataclasses.replace(report, deals=deals or None)

    def _after_trade(self) -> None:
        # Poll before replying, so the snapshot the core holds when the reply lands already shows
        # what this request did; a stale one could make the core send the same copy twice.
        self._active(self.clock.monotonic())
        if self._session:
            # A failed read is reported as the state; the reply still tells what the broker said.
            with contextlib.suppress(ConnectorError):
                self._poll(push=True)

    def _op_sim(self, args: dict) -> Any:
        api = self._api
        if api is None or not hasattr(api, "sim") or not isinstance(self.config.terminal, SimTerminal):
            raise ConnectorError(f"{self.config.account_id} is not a simulated terminal")
        lever = args.get("lever")
        values = args.get("args", [])
        if lever not in _SIM_LEVERS or not isinstance(values, list):
            raise protocol.ProtocolError(f"unknown simulator lever {lever!r}")
        if lever == "trader":
            # The account's own trader (a person, an EA, the demo's scripted master) trading the
            # terminal beside the copier, as it would on a real account.
            if not values or values[0] not in _TRADER_FUNCTIONS:
                raise protocol.ProtocolError(f"the trader lever reaches {', '.join(sorted(_TRADER_FUNCTIONS))}, "
                                             f"not {values[0] if values else None!r}")
            # No poll right after it: the copier sees the trade at its next poll, as it would see
            # one placed in the terminal by hand, so the demo's delays are the real ones.
            return _struct_to_plain(getattr(api, values[0])(*values[1:]))
        getattr(api.sim, lever)(*values)
        return None


def _struct_to_plain(value: Any) -> Any:
    if hasattr(value, "_asdict"):
        return {k: _struct_to_plain(v) for k, v in value._asdict().items()}
    if isinstance(value, tuple | list):
        return [_struct_to_plain(v) for v in value]
    return value
