"""One TLS link to a cTrader Open API proxy: frames, request/reply correlation, heartbeats, deadlines.

Every message travels as a 4-byte big-endian length and a serialized ``ProtoMessage`` envelope.
A request carries a fresh ``clientMsgId``; the first message that comes back with that id is its
answer, and every other message (the fill after an ORDER_ACCEPTED, spots, another app's trades)
is an event handed to the listeners with the id it carried, if any. Errors in any of the three
forms the server uses are raised from :meth:`OpenApiConnection.request` as
:class:`~copier_gui.connectors.ctrader.errors.OpenApiError`. Heartbeats go out every 10 s, as the
Open API asks; a server silent for longer than ``idle_timeout`` is taken as gone.

Everything runs on the caller's asyncio loop and nothing blocks it. Message contents are never
logged: they carry access and refresh tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import ssl
import struct
from collections.abc import Callable

from google.protobuf.message import DecodeError, Message

from copier_gui import ctrader_messages as cm
from copier_gui.connectors.ctrader.errors import (
    ConnectionLost,
    OpenApiError,
    OrderError,
    OrderRejected,
    ProtocolError,
    RequestTimeout,
)

log = logging.getLogger(__name__)

# The Open API asks for a heartbeat every 10 s; the server's own interval is undocumented, so the
# link is judged dead only after a minute without any message from it.
HEARTBEAT_INTERVAL = 10.0
IDLE_TIMEOUT = 60.0
# A slow fill at a busy broker can take several seconds; 5 s (the official SDK's default) is short.
REQUEST_TIMEOUT = 30.0
# Symbol and deal lists can be large; the official SDK accepts 15 MB, the asyncio client 1 MiB.
MAX_FRAME = 16 * 1024 * 1024

_LENGTH = struct.Struct(">I")
_HEARTBEAT = cm.common.ProtoHeartbeatEvent
_HEARTBEAT_TYPE = cm.payload_type(_HEARTBEAT())
_ORDER_REJECTED = cm.model.ORDER_REJECTED

Listener = Callable[[Message, str | None], None]


def frame(envelope: cm.ProtoMessage) -> bytes:
    body = envelope.SerializeToString()
    return _LENGTH.pack(len(body)) + body


def _refusal(reply: Message, request: str) -> OpenApiError | None:
    """The exception a reply stands for, or None when it is an answer."""
    if isinstance(reply, cm.messages.ProtoOAOrderErrorEvent):
        return OrderError(reply.errorCode, reply.description, message=reply, request=request)
    if isinstance(reply, cm.messages.ProtoOAErrorRes | cm.common.ProtoErrorRes):
        return OpenApiError(reply.errorCode, reply.description, message=reply, request=request)
    if isinstance(reply, cm.messages.ProtoOAExecutionEvent) and reply.executionType == _ORDER_REJECTED:
        return OrderRejected(reply.errorCode or "ORDER_REJECTED", "", message=reply, request=request)
    return None


class OpenApiConnection:
    """A connected link. Build it with :meth:`open`; close it with :meth:`close`."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
        idle_timeout: float = IDLE_TIMEOUT,
        request_timeout: float = REQUEST_TIMEOUT,
        max_frame: int = MAX_FRAME,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.heartbeat_interval = heartbeat_interval
        self.idle_timeout = idle_timeout
        self.request_timeout = request_timeout
        self.max_frame = max_frame
        self._loop = asyncio.get_running_loop()
        self._ids = itertools.count(1)
        self._id_prefix = secrets.token_hex(3)  # ids of one link never meet another link's replies
        self._pending: dict[str, tuple[asyncio.Future[Message], str]] = {}
        self._listeners: list[Listener] = []
        self._send_lock = asyncio.Lock()
        self._last_received = self._loop.time()
        self.closed = asyncio.Event()
        self.close_reason = ""
        self.heartbeats_sent = 0
        self.heartbeats_received = 0
        self._tasks = {
            self._loop.create_task(self._read_loop(), name="ctrader-read"),
            self._loop.create_task(self._heartbeat_loop(), name="ctrader-heartbeat"),
        }

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext | None = None,
        connect_timeout: float = 10.0,
        **options,
    ) -> OpenApiConnection:
        """Connect over TLS (the Open API's TCP ports accept nothing else) and start the link."""
        context = ssl_context or ssl.create_default_context()
        try:
            async with asyncio.timeout(connect_timeout):
                reader, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=host)
        except TimeoutError:
            raise ConnectionLost(f"no TLS connection to {host}:{port} within {connect_timeout:g} s") from None
        except (OSError, ssl.SSLError) as exc:
            raise ConnectionLost(f"cannot connect to {host}:{port}: {exc}") from exc
        return cls(reader, writer, **options)

    # ------------------------------------------------------------------ public
    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(message, client_msg_id)`` for each event; returns the way to stop."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    async def request(self, message: Message, *, timeout: float | None = None) -> Message:
        """Send ``message`` and return the server's answer to it, or raise what it refused with."""
        name = message.DESCRIPTOR.name
        if self.closed.is_set():
            raise ConnectionLost(self.close_reason, request=name)
        client_msg_id = f"{self._id_prefix}-{next(self._ids)}"
        future: asyncio.Future[Message] = self._loop.create_future()
        self._pending[client_msg_id] = (future, name)
        seconds = self.request_timeout if timeout is None else timeout
        try:
            await self._send(cm.wrap(message, client_msg_id))
            async with asyncio.timeout(seconds):
                reply = await future
        except TimeoutError:
            raise RequestTimeout(name, seconds) from None
        finally:
            self._pending.pop(client_msg_id, None)
        refusal = _refusal(reply, name)
        if refusal is not None:
            raise refusal
        return reply

    async def send(self, message: Message) -> None:
        """Send a message that expects no answer (a heartbeat, for instance)."""
        if self.closed.is_set():
            raise ConnectionLost(self.close_reason, request=message.DESCRIPTOR.name)
        await self._send(cm.wrap(message))

    async def close(self, reason: str = "closed by the copier") -> None:
        self._shut(reason)
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        for task in self._tasks:
            if task is not current:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()

    @property
    def pending(self) -> int:
        """Requests sent and not yet answered."""
        return len(self._pending)

    # ------------------------------------------------------------------ internals
    async def _send(self, envelope: cm.ProtoMessage) -> None:
        data = frame(envelope)
        async with self._send_lock:
            if self.closed.is_set():
                raise ConnectionLost(self.close_reason)
            try:
                self._writer.write(data)
                await self._writer.drain()
            except (OSError, ConnectionError) as exc:
                self._shut(f"sending failed: {exc}")
                raise ConnectionLost(self.close_reason) from exc

    async def _read_loop(self) -> None:
        reason = "the server closed the connection"
        try:
            while True:
                head = await self._reader.readexactly(_LENGTH.size)
                (length,) = _LENGTH.unpack(head)
                if length > self.max_frame:
                    raise ProtocolError(f"a frame of {length} bytes exceeds the {self.max_frame}-byte limit")
                body = await self._reader.readexactly(length)
                self._last_received = self._loop.time()
                self._dispatch(body)
        except asyncio.IncompleteReadError:
            pass
        except ProtocolError as exc:
            reason = str(exc)
        except (OSError, ConnectionError, ssl.SSLError) as exc:
            reason = f"connection error: {exc}"
        except asyncio.CancelledError:
            reason = self.close_reason or "closed"
            raise
        finally:
            self._shut(reason)

    def _dispatch(self, body: bytes) -> None:
        try:
            envelope = cm.ProtoMessage.FromString(body)
        except DecodeError:
            log.warning("dropped a frame that is not a ProtoMessage (%d bytes)", len(body))
            return
        if envelope.payloadType == _HEARTBEAT_TYPE:
            self.heartbeats_received += 1
            return
        client_msg_id = envelope.clientMsgId if envelope.HasField("clientMsgId") else None
        waiting = self._pending.get(client_msg_id) if client_msg_id is not None else None
        try:
            inner = cm.unwrap(envelope)
        except DecodeError as exc:
            if waiting is not None and not waiting[0].done():
                waiting[0].set_exception(ProtocolError(f"the answer to {waiting[1]} does not parse: {exc}"))
            log.warning("dropped an unparsable %s", cm.payload_name(envelope.payloadType))
            return
        if inner is None:
            log.info("ignored an unknown %s", cm.payload_name(envelope.payloadType))
            return
        if waiting is not None and not waiting[0].done():
            waiting[0].set_result(inner)
            return
        for listener in list(self._listeners):
            try:
                listener(inner, client_msg_id)
            except Exception:
                log.exception("a listener failed on %s", inner.DESCRIPTOR.name)

    async def _heartbeat_loop(self) -> None:
        beat = cm.wrap(_HEARTBEAT())
        tick = min(self.heartbeat_interval, self.idle_timeout / 4)
        last_beat = self._loop.time()
        while not self.closed.is_set():
            await asyncio.sleep(tick)
            now = self._loop.time()
            silent = now - self._last_received
            if silent > self.idle_timeout:
                self._shut(f"no message from the server for {silent:.1f} s")
                return
            if now - last_beat < self.heartbeat_interval:
                continue
            last_beat = now
            try:
                await self._send(beat)
                self.heartbeats_sent += 1
            except ConnectionLost:
                return

    def _shut(self, reason: str) -> None:
        """Mark the link closed and fail every request still waiting, at once."""
        if self.closed.is_set():
            return
        self.close_reason = reason
        self.closed.set()
        log.info("Open API link closed: %s", reason)
        for future, name in list(self._pending.values()):
            if not future.done():
                future.set_exception(ConnectionLost(reason, request=name))
        self._pending.clear()
        with contextlib.suppress(Exception):
            self._writer.close()
