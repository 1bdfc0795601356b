"""A simulated Spotware OAuth endpoint on 127.0.0.1, issuing tokens the simulated Open API honours.

``/apps/auth`` stands for the consent page: it "signs the trader in" at once and redirects the
browser to ``redirect_uri`` with a one-minute, single-use code (or ``error=access_denied`` when
the trader is set to refuse), echoing ``state``. ``/apps/token`` answers the authorization-code
and refresh-token grants in the JSON shape Spotware's token service uses (``accessToken``,
``refreshToken``, ``expiresIn``, ``tokenType``, ``errorCode``, ``description``). The pairs come from
the :class:`SimulatedOpenApiServer`'s token book, so they authorize on that server, and a refresh
here spends the refresh token there too.
"""

from __future__ import annotations

import secrets
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import web

from copier_gui.sim.ctrader.server import SimulatedOpenApiServer
from copier_gui.sim.ctrader.tokens import SCOPE_TRADE, SCOPE_VIEW, TokenRefused

__all__ = ["CODE_SECONDS", "SimulatedOAuthServer"]

CODE_SECONDS = 60.0  # an authorization code lives one minute at Spotware
_SCOPES = {"trading": SCOPE_TRADE, "accounts": SCOPE_VIEW}


@dataclass(slots=True)
class _Code:
    client_id: str
    redirect_uri: str
    scope: int
    account_ids: tuple[int, ...]
    expires_at: float


class SimulatedOAuthServer:
    """The consent page and token service of one simulated cTrader ID.

    ``applications`` maps client ids to secrets. ``account_ids`` are the accounts the trader
    grants (all of ``server``'s by default); ``deny`` makes the trader refuse; ``answer_state``
    False drops ``state`` from the redirect and ``state_override`` replaces it, as a forged
    redirect would.
    """

    def __init__(self, server: SimulatedOpenApiServer, applications: dict[str, str], *,
                 account_ids: Iterable[int] | None = None, deny: bool = False) -> None:
        self.server = server
        self.applications = dict(applications)
        self.account_ids = None if account_ids is None else tuple(account_ids)
        self.deny = deny
        self.answer_state = True
        self.state_override: str | None = None
        self.consents = 0  # consent pages served
        self.token_requests: list[str] = []  # the grant type of each token request
        self.host = "127.0.0.1"
        self.port = 0
        self._codes: dict[str, _Code] = {}
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def auth_url(self) -> str:
        return f"{self.base_url}/apps/auth"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/apps/token"

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/apps/auth", self._auth)
        app.router.add_route("*", "/apps/token", self._token)
        # No access log: query strings carry codes, refresh tokens and the application's secret.
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, 0).start()
        self.port = self._runner.addresses[0][1]
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------------ the consent page
    async def _auth(self, request: web.Request) -> web.Response:
        query = request.query
        client_id = query.get("client_id", "")
        redirect_uri = query.get("redirect_uri", "")
        if client_id not in self.applications:
            return web.Response(status=400, text=f"Unknown application {client_id!r}")
        parsed = urllib.parse.urlsplit(redirect_uri)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            return web.Response(status=400, text="redirect_uri is not a registered redirect URI")
        scope = _SCOPES.get(query.get("scope", "trading"))
        if scope is None:
            return web.Response(status=400, text="scope must be trading or accounts")
        self.consents += 1
        answer: dict[str, str] = {}
        if self.deny:
            answer["error"] = "access_denied"
        else:
            code = secrets.token_urlsafe(24)
            granted = self.account_ids if self.account_ids is not None else tuple(self.server.accounts)
            self._codes[code] = _Code(client_id, redirect_uri, scope, granted,
                                      self.server.clock.time() + CODE_SECONDS)
            answer["code"] = code
        state = self.state_override if self.state_override is not None else query.get("state")
        if self.answer_state and state is not None:
            answer["state"] = state
        separator = "&" if parsed.query else "?"
        raise web.HTTPFound(f"{redirect_uri}{separator}{urllib.parse.urlencode(answer)}")

    # ------------------------------------------------------------------ the token service
    async def _token(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        if request.method == "POST":
            params.update(await request.post())
        grant_type = params.get("grant_type", "")
        self.token_requests.append(grant_type)
        client_id = params.get("client_id", "")
        if self.applications.get(client_id) != params.get("client_secret"):
            return _error(401, "ACCESS_DENIED", "Wrong client id or client secret")
        if grant_type == "authorization_code":
            code = self._codes.pop(params.get("code", ""), None)  # single use, spent even when refused
            if code is None or code.client_id != client_id:
                return _error(400, "ACCESS_DENIED", "Authorization code is invalid or was already used")
            if self.server.clock.time() > code.expires_at:
                return _error(400, "ACCESS_DENIED", "Authorization code expired")
            if params.get("redirect_uri") != code.redirect_uri:
                return _error(400, "INVALID_REQUEST", "redirect_uri does not match the authorization request")
            grant = self.server.grant(*code.account_ids, scope=code.scope)
        elif grant_type == "refresh_token":
            try:
                _old, grant = self.server.tokens.refresh(params.get("refresh_token", ""))
            except TokenRefused as exc:
                return _error(400, exc.code, exc.description)
        else:
            return _error(400, "INVALID_REQUEST", f"Unsupported grant_type {grant_type!r}")
        return web.json_response({"accessToken": grant.access_token, "tokenType": "bearer",
                                  "expiresIn": grant.expires_in, "refreshToken": grant.refresh_token,
                                  "errorCode": None, "description": None})


def _error(status: int, code: str, description: str) -> web.Response:
    return web.json_response({"errorCode": code, "description": description}, status=status)
