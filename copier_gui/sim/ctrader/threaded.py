"""A simulated Open API server on a thread of its own, like a real one somewhere on the network:
the demo's cTrader broker.

It runs its own asyncio loop, so it is up before the copier connects and still up while the copier
closes its sessions (the copier's loop never waits on it, and it never waits on the copier's).
It quotes the same seeded market as the simulated MetaTrader 5 brokers built on the same seed and
clock, so an MT5 master and its cTrader slaves see the same prices. The demo's application and the
trader's grant are made here; the tokens stay in this process's memory, as a demo has no keyring
entries to leave behind.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

from copier_gui.clock import Clock
from copier_gui.sim.ctrader.account import SimCTraderAccount
from copier_gui.sim.ctrader.profiles import CTRADER_PROFILES
from copier_gui.sim.ctrader.server import SimulatedOpenApiServer

DEMO_CLIENT_ID = "demo_copier_gui"
_START_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class OpenedAccount:
    """What a client needs to reach one account at the server, and the broker's side of it."""

    host: str
    port: int
    client_id: str
    client_secret: str = field(repr=False)
    ctid_account_id: int = 0
    login: int = 0
    access_token: str = field(default="", repr=False)
    refresh_token: str = field(default="", repr=False)
    expires_at: float = 0.0
    ssl_context: object = None  # trusts the server's self-signed certificate
    account: SimCTraderAccount | None = None  # the broker's side, for reports and levers


class ThreadedOpenApiServer:
    """One simulated Open API server for every demo cTrader account, started at the first one."""

    def __init__(self, *, clock: Clock, seed: int = 0) -> None:
        self.clock = clock
        self.seed = seed
        # Made up at each start: the demo's application exists only inside this process.
        self._secret = f"demo-{id(self):x}"
        self._server: SimulatedOpenApiServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def server(self) -> SimulatedOpenApiServer | None:
        return self._server

    def open_account(self, profile: str, *, login: int, balance: float | None = None) -> OpenedAccount:
        """A new account at ``profile`` (a cTrader profile), authorized for the demo application."""
        if profile not in CTRADER_PROFILES:
            raise ValueError(f"{profile!r} is not a simulated cTrader broker ({', '.join(sorted(CTRADER_PROFILES))})")
        server = self._started()
        account = self._call(lambda: server.add_account(profile, login=login, balance=balance))
        grant = self._call(lambda: server.grant(account.account_id))
        return OpenedAccount(server.host, server.port, DEMO_CLIENT_ID, self._secret, account.account_id,
                             account.login, grant.access_token, grant.refresh_token, grant.expires_at,
                             server.client_ssl_context(), account)

    def close(self) -> None:
        """Stop the server and its thread; safe to call twice or before any account."""
        loop, thread, server = self._loop, self._thread, self._server
        self._loop = self._thread = self._server = None
        if loop is None or thread is None or server is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(_START_TIMEOUT_S)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(_START_TIMEOUT_S)

    # ------------------------------------------------------------------ the server's thread
    def _started(self) -> SimulatedOpenApiServer:
        if self._server is not None:
            return self._server
        loop = asyncio.new_event_loop()
        server = SimulatedOpenApiServer(clock=self.clock, seed=self.seed)
        server.add_application(DEMO_CLIENT_ID, self._secret)
        thread = threading.Thread(target=self._serve, args=(loop,), name="demo-ctrader-server", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(_START_TIMEOUT_S)
        self._server = server
        return server

    @staticmethod
    def _serve(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            loop.close()

    def _call(self, fn):
        """Run ``fn`` on the server's loop, where its state lives, and return what it returns."""
        assert self._loop is not None

        async def call():
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(_START_TIMEOUT_S)
