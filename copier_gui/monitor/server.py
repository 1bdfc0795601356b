"""The monitoring endpoint: an aiohttp server on the copier's own event loop (plain asyncio when
headless, qasync in the window), read-only.

``/metrics`` is the Prometheus text format, ``/api/status`` the status page's JSON, ``/`` the page.
Handlers read the copier's views on the loop that owns its state, so a request never races a
copy. Only GET and HEAD are served.
"""

from __future__ import annotations

import json
import logging
import ssl

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from copier_gui.core.copier import Copier
from copier_gui.core.journal import Journal
from copier_gui.monitor import page
from copier_gui.monitor.access import token_matches
from copier_gui.monitor.bind import parse_bind, url_host
from copier_gui.monitor.metrics import CopierMetrics
from copier_gui.monitor.status import RecentLines, status
from copier_gui.netaddr import is_loopback

log = logging.getLogger(__name__)

_READ_ONLY = frozenset({"GET", "HEAD"})
_COMMON_HEADERS = {
    "Cache-Control": "no-store",  # balances and positions are not for shared caches
    "Referrer-Policy": "no-referrer",  # a ?token= must not leak through a Referer
    "X-Content-Type-Options": "nosniff",
}


class MonitorRefused(ValueError):
    """The endpoint cannot start as asked; the message says why and what to do."""


class MonitorServer:
    """Serves ``copier``'s metrics and status at ``bind`` (``HOST:PORT``; port 0 picks a free port).

    A loopback address needs nothing more. Any other address needs ``token`` (every request must
    carry it) and ``tls`` (so the token and the account figures never cross the network in clear).
    ``journal``, when given, seeds the page's journal lines at start.
    """

    def __init__(self, copier: Copier, *, bind: str, token: str | None, journal: Journal | None = None,
                 tls: ssl.SSLContext | None = None) -> None:
        self.host, self.port = parse_bind(bind)
        self.copier = copier
        self.token = token
        self.tls = tls
        self.journal = journal
        self.loopback = is_loopback(self.host)
        self.metrics = CopierMetrics(copier)
        self.recent = RecentLines(copier)
        self.url: str | None = None
        self._runner: web.AppRunner | None = None
        self._attached = False

    def _check(self) -> None:
        if self.loopback:
            return
        where = f"{self.host}:{self.port}"
        if not self.token:
            raise MonitorRefused(f"--http {where} is reachable from other machines and needs an access token; "
                                 "bind 127.0.0.1 to serve this machine only")
        if self.tls is None:
            raise MonitorRefused(f"--http {where} is reachable from other machines, and plain HTTP would send the "
                                 "access token and account figures in clear: give a TLS certificate and key "
                                 "(--http-cert, --http-key), or bind 127.0.0.1 and reach it through an SSH tunnel")

    async def start(self) -> str:
        """Listen, and return the URL to open (without the token)."""
        self._check()
        if not self._attached:
            self.copier.subscribe(self.metrics.on_notice)
            self.copier.subscribe(self.recent.on_notice)
            self._attached = True
        if self.journal is not None:
            try:
                await self.recent.seed(self.journal)
            except Exception as exc:  # the page still works; it shows new lines only
                log.warning("monitor: could not read the journal's latest lines: %s", exc)
        app = web.Application(middlewares=[self._guard])
        app.router.add_get("/", self._page)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/api/status", self._status)
        # access_log=None: aiohttp's access log would write every ?token= into the log file.
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, ssl_context=self.tls, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise MonitorRefused(f"cannot listen on {url_host(self.host)}:{self.port}: {exc.strerror or exc}") from None
        self._runner = runner
        self.port = runner.addresses[0][1]  # the port the system picked, for port 0
        scheme = "https" if self.tls is not None else "http"
        self.url = f"{scheme}://{url_host(self.host)}:{self.port}/"
        log.info("monitor: serving metrics and the status page at %s", self.url)
        return self.url

    async def aclose(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
            log.info("monitor: stopped")

    # ------------------------------------------------------------------ requests
    @web.middleware
    async def _guard(self, request: web.Request, handler):
        if request.method not in _READ_ONLY:
            return _text(405, "read-only: only GET and HEAD are served", Allow="GET, HEAD")
        if self.loopback:
            # Another site's page in this machine's browser could rename itself to 127.0.0.1 (DNS
            # rebinding) and read the status: only answer requests addressed to a loopback name.
            host = (request.url.host or "").strip("[]")
            if not (is_loopback(host) or host == self.host):
                return _text(403, f"this endpoint answers only requests addressed to {url_host(self.host)}")
        elif not token_matches(self.token or "", request.headers.get("Authorization"),
                               request.query.get("token")):
            return _text(401, "an access token is needed: send 'Authorization: Bearer <token>' or open the "
                              "link with ?token=<token> (`copier-gui http-token` shows it)",
                         **{"WWW-Authenticate": 'Bearer realm="copier_gui"'})
        response = await handler(request)
        response.headers.update(_COMMON_HEADERS)
        return response

    async def _page(self, request: web.Request) -> web.Response:
        return web.Response(text=page.HTML, content_type="text/html", charset="utf-8",
                            headers={"Content-Security-Policy": page.CSP})

    async def _metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _status(self, request: web.Request) -> web.Response:
        return web.Response(text=json.dumps(status(self.copier, self.recent), allow_nan=False),
                            content_type="application/json")


def _text(code: int, text: str, **headers: str) -> web.Response:
    return web.Response(status=code, text=text + "\n", headers={**_COMMON_HEADERS, **headers})
