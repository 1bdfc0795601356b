"""The monitoring endpoint as a service of a running copier, from the command line's options.

It settles what ``MonitorServer`` needs before listening: for an address other machines can reach,
the TLS certificate and the access token (made on first use in the keyring, off the event loop).
The URL is printed to the console; a token made just now is printed with it, that once.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from copier_gui.console_out import ConsoleOut
from copier_gui.core.copier import Copier
from copier_gui.core.journal import Journal
from copier_gui.monitor.access import ensure_token, tls_context
from copier_gui.monitor.bind import parse_bind
from copier_gui.monitor.server import MonitorRefused, MonitorServer
from copier_gui.netaddr import is_loopback


def check_options(bind: str, cert: str | Path | None = None, key: str | Path | None = None) -> None:
    """ValueError with one line if ``--http`` and its TLS files cannot work together."""
    host, _ = parse_bind(bind)
    if (cert is None) != (key is None):
        raise ValueError("--http-cert and --http-key go together: give both, or neither")
    if is_loopback(host):
        return
    if cert is None:
        raise ValueError(f"--http {bind} is reachable from other machines, so it is served over TLS only: "
                         "give --http-cert and --http-key, or bind 127.0.0.1 and reach it through an SSH tunnel")
    tls_context(cert, key)


class HttpMonitor:
    """``start()`` serves ``copier`` at ``bind`` and prints where; ``aclose()`` stops it."""

    def __init__(self, copier: Copier, *, bind: str, journal: Journal | None = None,
                 cert: str | Path | None = None, key: str | Path | None = None, out: TextIO | None = None) -> None:
        self.copier = copier
        self.bind = bind
        self.journal = journal
        self.cert = cert
        self.key = key
        self.out = out
        self.server: MonitorServer | None = None

    async def start(self) -> str:
        try:
            check_options(self.bind, self.cert, self.key)
        except ValueError as exc:
            raise MonitorRefused(str(exc)) from None
        host, _ = parse_bind(self.bind)
        token, made, tls = None, False, None
        if not is_loopback(host):
            tls = tls_context(self.cert, self.key)
            # The keyring may be a D-Bus round trip: not on the copier's loop.
            token, made = await asyncio.get_running_loop().run_in_executor(None, ensure_token)
        self.server = MonitorServer(self.copier, bind=self.bind, token=token, journal=self.journal, tls=tls)
        url = await self.server.start()
        # A console whose reader has gone must not stop the endpoint: `copier-gui http-token`
        # shows the token again.
        out = ConsoleOut(self.out or sys.stdout)
        if made:
            out.line(f"copier-gui: monitoring at {url}?token={token}\n"
                     "  A new access token was made and kept in the system keyring; it is shown this once. "
                     "`copier-gui http-token` shows it again, `copier-gui http-token --renew` replaces it.")
        else:
            out.line(f"copier-gui: monitoring at {url} (metrics at {url}metrics)")
        return url

    async def aclose(self) -> None:
        if self.server is not None:
            await self.server.aclose()
