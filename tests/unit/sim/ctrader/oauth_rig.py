"""The simulated OAuth endpoint beside the simulated Open API server, and a browser that follows
the consent page's redirect, for the tests of linking a cTrader account (flow, command line, window).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass, field

import httpx

from copier_gui.ctrader_auth import Endpoints
from copier_gui.sim.ctrader import SimulatedOpenApiServer
from copier_gui.sim.ctrader.oauth_server import SimulatedOAuthServer
from tests.unit.sim.ctrader.rig import CLIENT_ID, CLIENT_SECRET, running_server

__all__ = ["CLIENT_ID", "CLIENT_SECRET", "Browser", "Servers", "endpoints_of", "running_oauth", "servers_in_thread"]


@dataclass
class Servers:
    openapi: SimulatedOpenApiServer
    oauth: SimulatedOAuthServer
    endpoints: Endpoints


def endpoints_of(server: SimulatedOpenApiServer, oauth: SimulatedOAuthServer) -> Endpoints:
    # One simulated proxy stands for both: its accounts are demo ones, and live ones are refused there.
    return Endpoints(auth_url=oauth.auth_url, token_url=oauth.token_url, live_host=server.host,
                     live_port=server.port, demo_host=server.host, demo_port=server.port,
                     ssl_context=server.client_ssl_context())


@contextlib.asynccontextmanager
async def running_oauth(**options):
    """The Open API server of ``rig.running_server`` (a hedged and a netted account) and its OAuth
    endpoint, which grants both accounts."""
    async with running_server(**options) as server:
        oauth = SimulatedOAuthServer(server, {CLIENT_ID: CLIENT_SECRET})
        await oauth.start()
        try:
            yield Servers(server, oauth, endpoints_of(server, oauth))
        finally:
            await oauth.stop()


@dataclass
class Browser:
    """Opens a page as a browser would, following redirects; records what it was shown."""

    opened: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    available: bool = True

    def __call__(self, url: str) -> bool:
        self.opened.append(url)
        if not self.available:
            return False
        reply = httpx.get(url, follow_redirects=True, timeout=10)
        self.pages.append(reply.text)
        self.statuses.append(reply.status_code)
        return True


@contextlib.contextmanager
def servers_in_thread(**options):
    """The servers on a loop of their own in a thread, for code that runs its own loop (the
    command line's ``asyncio.run``)."""
    loop = asyncio.new_event_loop()
    ready: list[Servers] = []
    started = threading.Event()
    stop = asyncio.Event()
    errors: list[BaseException] = []

    async def main():
        nonlocal stop
        stop = asyncio.Event()
        try:
            async with running_oauth(**options) as servers:
                ready.append(servers)
                started.set()
                await stop.wait()
        except BaseException as exc:  # surfaced in the test's thread
            errors.append(exc)
            started.set()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    started.wait(30)
    if errors:
        raise errors[0]
    try:
        yield ready[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()
