"""A TCP proxy that can cut its link: the network between a worker host and the NATS server in the
fault tests. ``cut()`` drops every connection through it (both ends reset) and refuses new ones
until ``restore()``; the processes at either end keep running, as on a real link that went down.
``cut(hold=True)`` is the quieter fault: nothing passes, but nothing is reset either, so neither
end notices until ``restore()`` lets through what waited, as a route that blackholes and returns.
It runs on a thread of its own, so a test's event loop and blocking calls alike can drive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine
from typing import Any


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TcpCut:
    """Forwards 127.0.0.1:``port`` to ``target_host``:``target_port`` until cut.

    ``accepted`` counts the connections it carried and ``refused`` the attempts made while cut (a
    client that keeps knocking), so a test can tell the link was really tried and really down."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = _free_port()
        self.accepted = 0
        self.refused = 0
        self._cut = False
        self._flowing: asyncio.Event | None = None  # clear while held: bytes wait, nothing is reset
        self._server: asyncio.Server | None = None
        self._links: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-cut", daemon=True)

    # ---------------------------------------------------------------- driving it, from any thread
    def start(self) -> TcpCut:
        self._thread.start()
        self._call(self._listen())
        return self

    @property
    def is_cut(self) -> bool:
        return self._cut

    def cut(self, *, hold: bool = False) -> None:
        """Reset every connection through the proxy, and every new one at once, until :meth:`restore`;
        with ``hold``, let no byte through either way instead, and reset nothing."""
        self._call(self._hold() if hold else self._cut_now())

    def restore(self) -> None:
        """Accept and forward again; clients reconnect on their own."""
        self._call(self._restore())

    def close(self) -> None:
        if self._loop.is_running():
            with contextlib.suppress(Exception):
                self._call(self._shut())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5.0)
        if not self._loop.is_running():
            self._loop.close()

    def __enter__(self) -> TcpCut:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, coro: Coroutine) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10.0)

    # ---------------------------------------------------------------- on the proxy's loop
    async def _listen(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)

    async def _cut_now(self) -> None:
        self._cut = True
        for client, upstream in list(self._links):
            self._reset(client)
            self._reset(upstream)
        self._links.clear()

    async def _hold(self) -> None:
        self._cut = True
        self._flowing.clear()

    async def _restore(self) -> None:
        self._cut = False
        self._flowing.set()

    async def _shut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for client, upstream in list(self._links):
            client.transport.abort()
            upstream.transport.abort()
        self._links.clear()

    @staticmethod
    def _reset(writer: asyncio.StreamWriter) -> None:
        # Linger 0: the close sends a reset, as a link that went down answers the next packet.
        sock = writer.get_extra_info("socket")
        with contextlib.suppress(OSError):
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # While cut, a new connection is reset before a byte passes: refused, and counted. While
        # held, it is taken and waits like the others.
        if self._cut and self._flowing.is_set():
            self.refused += 1
            self._reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            self._reset(writer)
            return
        if self._cut and self._flowing.is_set():  # cut while connecting upstream
            self._reset(writer)
            self._reset(up_writer)
            return
        self.accepted += 1
        link = (writer, up_writer)
        self._links.add(link)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        self._links.discard(link)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            # One side ended (or was reset): the other goes too, as through a real connection.
            writer.transport.abort()


__all__ = ["TcpCut"]
