"""Linking a cTrader account: the trader's OAuth grant, and the accounts it lets the copier use.

Qt-free and asyncio, shared by the wizard's "cTrader account" page and ``copier-gui accounts link
--platform ctrader``. The browser flow: a one-shot listener on 127.0.0.1 receives the redirect
from Spotware's consent page (its ``state`` checked against CSRF), the code is exchanged for a
token pair over HTTPS, and the Open API lists the accounts the pair may use. A trader may instead
paste a pair made in Spotware's playground. Every endpoint is configurable (:class:`Endpoints`), so
tests and the demo point the whole flow at simulated servers.

The keyring keeps what this yields: the application's secret under :func:`app_secret_key`, and the
pair as JSON (:func:`tokens_to_json`: ``access_token``, ``refresh_token``, ``expires_at`` in
seconds since the epoch, ``token_type``) under :func:`token_key`. No token, code or secret is ever
logged, shown or put in an exception's text.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import secrets
import ssl
import urllib.parse
import webbrowser
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, replace

import httpx
from aiohttp import web

from copier_gui import ctrader_messages as cm
from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.connectors.ctrader import (
    AppCredentials,
    OpenApiConnection,
    OpenApiError,
    OpenApiSession,
    TokenPair,
    TraderAccount,
)

__all__ = [
    "ACCESS_TOKEN_SECONDS",
    "DEFAULT_ENDPOINTS",
    "AccessDenied",
    "AuthFailed",
    "AuthTimeout",
    "BrowserAuthorization",
    "Endpoints",
    "LinkableAccount",
    "RedirectListener",
    "StateMismatch",
    "app_secret_key",
    "authorization_url",
    "client_id_problem",
    "client_secret_problem",
    "exchange_code",
    "list_accounts",
    "pasted_tokens",
    "refresh_over_http",
    "token_key",
    "tokens_from_json",
    "tokens_to_json",
]

log = logging.getLogger(__name__)

ACCESS_TOKEN_SECONDS = 2_628_000  # about 30 days, as Spotware issues them
SCOPES = ("trading", "accounts")  # full access, or read-only
# Long enough to sign in (with two-factor authentication) and read the consent page.
BROWSER_TIMEOUT_S = 300.0
HTTP_TIMEOUT_S = 20.0
OPEN_API_TIMEOUT_S = 20.0
CALLBACK_PATH = "/callback"
_ACCOUNT_TYPES = {0: "hedged", 1: "netted", 2: "spread betting"}


@dataclass(frozen=True)
class Endpoints:
    """Where the OAuth pages and the Open API proxies are; Spotware's by default."""

    auth_url: str = "https://openapi.ctrader.com/apps/auth"
    token_url: str = "https://openapi.ctrader.com/apps/token"
    live_host: str = "live.ctraderapi.com"
    live_port: int = 5035
    demo_host: str = "demo.ctraderapi.com"
    demo_port: int = 5035
    # None: the system's trust store (Spotware's certificates); a simulated server brings its own.
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False, repr=False)
    http_verify: ssl.SSLContext | bool = field(default=True, compare=False, repr=False)

    def open_api(self, is_live: bool) -> tuple[str, int]:
        """The proxy an account is reached at: live and demo accounts live on separate ones."""
        return (self.live_host, self.live_port) if is_live else (self.demo_host, self.demo_port)


DEFAULT_ENDPOINTS = Endpoints()


class AuthFailed(Exception):
    """The authorization did not give a usable token pair; the message says why, in words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AccessDenied(AuthFailed):
    """The trader refused the application access on cTrader's consent page."""


class StateMismatch(AuthFailed):
    """The redirect carried another ``state`` than the one sent: not this flow's answer."""


class AuthTimeout(AuthFailed):
    """No redirect came back from the browser in time."""


# ---------------------------------------------------------------------------- names and checks

def app_secret_key(client_id: str) -> str:
    """The keyring entry of an Open API application's secret."""
    return f"ctrader-app:{client_id}"


def token_key(client_id: str, granted: Collection[int], linked: Iterable[object] = ()) -> str:
    """The keyring entry for the pair that authorizes the accounts ``granted`` (their ids).

    One pair serves every account of a cTrader ID, and authorizing again (or refreshing) spends
    the previous pair, so an account already linked through this application whose id is among
    ``granted`` belongs to the same cTrader ID: its entry is reused, and the new pair replaces the
    spent one for both. Otherwise the entry is named after the lowest granted account id.
    """
    for account in linked:
        if (getattr(account, "platform", None) == "ctrader" and getattr(account, "ctrader_client_id", None) == client_id
                and getattr(account, "ctrader_account_id", None) in set(granted)
                and getattr(account, "ctrader_token_key", None)):
            return account.ctrader_token_key
    return f"ctrader:{client_id}:{min(granted) if granted else 0}"


def client_id_problem(client_id: str) -> str:
    """What is wrong with ``client_id`` as an Open API application id ("" when nothing)."""
    text = client_id.strip()
    if not text:
        return ("Enter the Open API application's client id (openapi.ctrader.com > Applications > "
                "Credentials).")
    if len(text) > 200 or any(c.isspace() for c in text):
        return "The application's client id has spaces in it or is too long: copy it again."
    return ""


def client_secret_problem(secret: str) -> str:
    if not secret.strip():
        return "Enter the Open API application's secret (its page at openapi.ctrader.com shows it)."
    if any(c.isspace() for c in secret.strip()):
        return "The application's secret has spaces in it: copy it again."
    return ""


def tokens_to_json(pair: TokenPair) -> str:
    """The pair as the keyring keeps it."""
    return json.dumps({"access_token": pair.access_token, "refresh_token": pair.refresh_token,
                       "expires_at": pair.expires_at, "token_type": pair.token_type})


def tokens_from_json(text: str) -> TokenPair:
    """The pair the keyring keeps; AuthFailed (never quoting the text) when it is not one."""
    try:
        data = json.loads(text)
        return TokenPair(str(data["access_token"]), str(data["refresh_token"]), float(data["expires_at"]),
                         str(data.get("token_type") or "bearer"))
    except (ValueError, TypeError, KeyError):
        raise AuthFailed("the cTrader tokens in the keyring are not readable: link the account again") from None


def pasted_tokens(access_token: str, refresh_token: str, *, expires_in: float = ACCESS_TOKEN_SECONDS,
                  clock: Clock = SYSTEM_CLOCK) -> TokenPair:
    """A pair the trader pasted (from Spotware's playground); AuthFailed naming the field wrong.

    Its age is unknown: it is taken as fresh, and the copier refreshes it when the server says it
    expired.
    """
    for name, value in (("access token", access_token), ("refresh token", refresh_token)):
        text = value.strip()
        if not text:
            raise AuthFailed(f"Paste the {name}.")
        if any(c.isspace() for c in text) or len(text) < 16 or len(text) > 4096:
            raise AuthFailed(f"That is not a cTrader {name}: copy the whole value from the playground, "
                             "without spaces.")
    if access_token.strip() == refresh_token.strip():
        raise AuthFailed("The access token and the refresh token are the same: paste each in its own field.")
    return TokenPair(access_token.strip(), refresh_token.strip(), clock.time() + expires_in)


def authorization_url(client_id: str, redirect_uri: str, *, state: str, scope: str = "trading",
                      endpoints: Endpoints = DEFAULT_ENDPOINTS) -> str:
    """The consent page the trader's browser opens."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    query = urllib.parse.urlencode({"client_id": client_id, "redirect_uri": redirect_uri, "scope": scope,
                                    "state": state})
    return f"{endpoints.auth_url}?{query}"


# ---------------------------------------------------------------------------- the redirect listener

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>copier_gui</title>
<style>body{{font-family:sans-serif;max-width:36em;margin:4em auto;color:#222}}h1{{font-size:1.4em}}</style>
</head><body><h1>{title}</h1><p>{text}</p></body></html>
"""


class RedirectListener:
    """A one-shot HTTP listener on 127.0.0.1 for the consent page's redirect.

    The first request to ``/callback`` settles it: a code whose ``state`` matches, or an error
    (access denied, a wrong or missing state). The browser is shown a short page either way.
    """

    def __init__(self, *, state: str, port: int = 0, host: str = "127.0.0.1") -> None:
        self._state = state
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._result: asyncio.Future[str] | None = None
        self.port = 0

    @property
    def redirect_uri(self) -> str:
        return f"http://{self._host}:{self.port}{CALLBACK_PATH}"

    async def start(self) -> str:
        """Listen; returns the redirect URI to send to the consent page."""
        self._result = asyncio.get_running_loop().create_future()
        app = web.Application()
        app.router.add_get(CALLBACK_PATH, self._callback)
        # No access log: the request line carries the code and the state.
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        try:
            await site.start()
        except OSError as exc:
            await self.close()
            raise AuthFailed(f"cannot listen on {self._host}:{self._port} for the browser's answer: "
                             f"{exc.strerror or exc}") from None
        self.port = self._runner.addresses[0][1]
        return self.redirect_uri

    async def wait(self, timeout: float) -> str:
        """The authorization code, or AccessDenied, StateMismatch, AuthTimeout."""
        assert self._result is not None, "start the listener first"
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(self._result)
        except TimeoutError:
            raise AuthTimeout(f"no answer came back from the browser within {timeout:.0f} seconds: "
                              "sign in and allow access in the browser, then try again") from None

    async def close(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            with contextlib.suppress(Exception):
                await runner.cleanup()
        if self._result is not None and not self._result.done():
            self._result.cancel()

    async def _callback(self, request: web.Request) -> web.Response:
        query = request.query
        if self._result is None or self._result.done():
            return _page(409, "Already answered", "copier_gui has already received an answer for this "
                         "sign-in. You can close this tab.")
        error = query.get("error")
        state = query.get("state")
        if state is None or not secrets.compare_digest(state, self._state):
            self._result.set_exception(StateMismatch(
                "the browser's answer did not carry this sign-in's state (it may come from another page or "
                "an older attempt): nothing was authorized; start the sign-in again"))
            return _page(400, "Not this sign-in", "This answer does not belong to the sign-in copier_gui "
                         "started, so it was ignored. Start again from copier_gui. You can close this tab.")
        if error:
            if error == "access_denied":
                self._result.set_exception(AccessDenied(
                    "access was refused on cTrader's consent page: nothing was authorized; start again and "
                    "press Allow to link the account"))
            else:
                detail = query.get("error_description", "")
                self._result.set_exception(AuthFailed(
                    f"cTrader's sign-in answered with the error {_short(error)}"
                    + (f" ({_short(detail)})" if detail else "")))
            return _page(200, "Access not granted", "copier_gui was not given access. You can close this "
                         "tab and return to copier_gui.")
        code = query.get("code", "")
        if not code:
            self._result.set_exception(AuthFailed("the browser's answer carried no authorization code"))
            return _page(400, "No code", "The answer carried no authorization code. You can close this tab.")
        self._result.set_result(code)
        return _page(200, "copier_gui is authorized", "copier_gui received the authorization. You can close "
                     "this tab and return to copier_gui.")


def _page(status: int, title: str, text: str) -> web.Response:
    return web.Response(status=status, content_type="text/html",
                        text=_PAGE.format(title=html.escape(title), text=html.escape(text)))


def _short(text: str) -> str:
    return text[:80].replace("\n", " ")


# ---------------------------------------------------------------------------- code -> tokens

class _RedactQuery(logging.Filter):
    """httpx logs each request's URL at INFO; the token endpoint's query carries the code, the
    refresh token and the application's secret, so its query never reaches a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(a.copy_with(query=None) if isinstance(a, httpx.URL) and a.query else a
                                for a in record.args)
        return True


if not any(isinstance(f, _RedactQuery) for f in logging.getLogger("httpx").filters):
    logging.getLogger("httpx").addFilter(_RedactQuery())


async def exchange_code(code: str, redirect_uri: str, credentials: AppCredentials, *,
                        endpoints: Endpoints = DEFAULT_ENDPOINTS, clock: Clock = SYSTEM_CLOCK,
                        client: httpx.AsyncClient | None = None) -> TokenPair:
    """The token pair for an authorization code (valid one minute), as Spotware's SDK asks: a GET
    with the parameters in the query."""
    return await _token_request({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                                 "client_id": credentials.client_id, "client_secret": credentials.client_secret},
                                endpoints, clock, client)


async def refresh_over_http(refresh_token: str, credentials: AppCredentials, *,
                            endpoints: Endpoints = DEFAULT_ENDPOINTS, clock: Clock = SYSTEM_CLOCK,
                            client: httpx.AsyncClient | None = None) -> TokenPair:
    """A new pair for a refresh token through the token endpoint (the Open API's own refresh
    request does the same on a link)."""
    return await _token_request({"grant_type": "refresh_token", "refresh_token": refresh_token,
                                 "client_id": credentials.client_id, "client_secret": credentials.client_secret},
                                endpoints, clock, client)


async def _token_request(params: dict[str, str], endpoints: Endpoints, clock: Clock,
                         client: httpx.AsyncClient | None) -> TokenPair:
    where = urllib.parse.urlsplit(endpoints.token_url).netloc
    owned = client is None
    http = client or httpx.AsyncClient(timeout=HTTP_TIMEOUT_S, verify=endpoints.http_verify)
    try:
        reply = await http.get(endpoints.token_url, params=params)
    except httpx.HTTPError as exc:
        raise AuthFailed(f"cannot reach cTrader's token service at {where}: {type(exc).__name__}") from None
    finally:
        if owned:
            await http.aclose()
    try:
        data = reply.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise AuthFailed(f"cTrader's token service at {where} answered HTTP {reply.status_code} without "
                         "a token")
    error = data.get("errorCode") or data.get("error")
    if error:
        description = data.get("description") or data.get("error_description") or ""
        hint = (": the code is valid for one minute and once only; sign in again" if params["grant_type"] ==
                "authorization_code" else "")
        raise AuthFailed(f"cTrader's token service refused the {_grant_name(params)}: {_short(str(error))}"
                         + (f" ({_short(str(description))})" if description else "") + hint)
    # Spotware answers in camelCase; some clients read snake_case, so both are accepted.
    access = data.get("accessToken") or data.get("access_token")
    refresh = data.get("refreshToken") or data.get("refresh_token")
    expires_in = data.get("expiresIn") or data.get("expires_in") or ACCESS_TOKEN_SECONDS
    if not access or not refresh:
        raise AuthFailed(f"cTrader's token service at {where} answered HTTP {reply.status_code} without a "
                         "token pair")
    try:
        seconds = float(expires_in)
    except (TypeError, ValueError):
        seconds = ACCESS_TOKEN_SECONDS
    token_type = str(data.get("tokenType") or data.get("token_type") or "bearer")
    return TokenPair(str(access), str(refresh), clock.time() + seconds, token_type)


def _grant_name(params: dict[str, str]) -> str:
    return "authorization code" if params["grant_type"] == "authorization_code" else "refresh token"


# ---------------------------------------------------------------------------- the browser flow

Opener = Callable[[str], bool]


class BrowserAuthorization:
    """One sign-in through the trader's browser. ``await run()`` gives the pair.

    ``url`` is set once the listener runs, so a front end can show it for a browser that did not
    open; cancelling the task that awaits ``run`` closes the listener.
    """

    def __init__(self, credentials: AppCredentials, *, endpoints: Endpoints = DEFAULT_ENDPOINTS,
                 opener: Opener = webbrowser.open, port: int = 0, scope: str = "trading",
                 timeout: float = BROWSER_TIMEOUT_S, clock: Clock = SYSTEM_CLOCK) -> None:
        self._credentials = credentials
        self._endpoints = endpoints
        self._opener = opener
        self._port = port
        self._scope = scope
        self._timeout = timeout
        self._clock = clock
        self.url: str | None = None
        self.redirect_uri: str | None = None
        self.browser_opened: bool | None = None
        self.waiting = asyncio.Event()  # set once the browser was asked to open the page

    async def run(self) -> TokenPair:
        state = secrets.token_urlsafe(24)
        listener = RedirectListener(state=state, port=self._port)
        try:
            self.redirect_uri = await listener.start()
            self.url = authorization_url(self._credentials.client_id, self.redirect_uri, state=state,
                                         scope=self._scope, endpoints=self._endpoints)
            # Off the loop: some browsers' launchers wait until the page is shown.
            try:
                self.browser_opened = bool(await asyncio.to_thread(self._opener, self.url))
            except Exception as exc:  # no browser here: the trader opens the address by hand
                log.warning("could not open a web browser: %s", type(exc).__name__)
                self.browser_opened = False
            self.waiting.set()
            code = await listener.wait(self._timeout)
        finally:
            await listener.close()
        return await exchange_code(code, self.redirect_uri, self._credentials, endpoints=self._endpoints,
                                   clock=self._clock)


# ---------------------------------------------------------------------------- the accounts

@dataclass(frozen=True)
class LinkableAccount:
    """One account the pair may use, with what could be read of it (None where unknown)."""

    account_id: int  # ctidTraderAccountId
    login: int  # traderLogin, the number the trader sees
    broker: str  # brokerTitleShort
    is_live: bool
    host: str
    port: int
    account_type: str | None = None  # "hedged", "netted", "spread betting"
    broker_name: str = ""
    balance: float | None = None
    symbols: tuple[str, ...] = ()
    problem: str = ""  # why the details could not be read, when they could not

    @property
    def kind(self) -> str:
        return "live" if self.is_live else "demo"

    def describe(self) -> str:
        """One line: login, broker, live or demo, hedged or netted."""
        parts = [f"{self.login}", self.broker_name or self.broker, self.kind]
        if self.account_type:
            parts.append(self.account_type)
        return " · ".join(parts)


async def list_accounts(credentials: AppCredentials, tokens: TokenPair, *,
                        endpoints: Endpoints = DEFAULT_ENDPOINTS, details: bool = True,
                        timeout: float = OPEN_API_TIMEOUT_S) -> list[LinkableAccount]:
    """The accounts ``tokens`` may use, listed on the live proxy, each with its own proxy (live or
    demo, by its isLive) and, with ``details``, what its proxy says of it: hedged or netted, the
    broker's name, the balance and the symbols. AuthFailed naming what failed."""
    try:
        async with asyncio.timeout(timeout):
            listed = await _with_session(credentials, tokens, endpoints, endpoints.open_api(True),
                                         lambda session: session.accounts())
            accounts = [LinkableAccount(a.account_id, a.trader_login, a.broker, a.is_live,
                                        *endpoints.open_api(a.is_live)) for a in listed]
            if details and accounts:
                accounts = await _with_details(credentials, tokens, endpoints, accounts)
    except TimeoutError:
        raise AuthFailed(f"cTrader's Open API did not answer within {timeout:.0f} seconds") from None
    return sorted(accounts, key=lambda a: (not a.is_live, a.broker, a.login))


async def _with_session(credentials, tokens, endpoints, where, act):
    host, port = where
    try:
        connection = await OpenApiConnection.open(host, port, ssl_context=endpoints.ssl_context)
    except OpenApiError as exc:
        raise AuthFailed(f"cannot reach cTrader's Open API at {host}:{port}: {exc}") from None
    session = OpenApiSession(connection, credentials, tokens, _NoStore())
    try:
        try:
            await session.authorize_application()
        except OpenApiError as exc:
            raise AuthFailed(_app_refusal(exc)) from None
        try:
            return await act(session)
        except OpenApiError as exc:
            raise AuthFailed(_token_refusal(exc)) from None
    finally:
        await session.close()


async def _with_details(credentials, tokens, endpoints, accounts: list[LinkableAccount]) -> list[LinkableAccount]:
    by_host: dict[tuple[str, int], list[LinkableAccount]] = {}
    for account in accounts:
        by_host.setdefault((account.host, account.port), []).append(account)
    detailed: dict[int, LinkableAccount] = {}
    for where, group in by_host.items():
        async def read(session, group=group):
            return [await _details(session, account) for account in group]
        try:
            for account in await _with_session(credentials, tokens, endpoints, where, read):
                detailed[account.account_id] = account
        except AuthFailed as exc:  # the list is still worth showing without the details
            for account in group:
                detailed[account.account_id] = _replace(account, problem=exc.message)
    return [detailed[a.account_id] for a in accounts]


async def _details(session: OpenApiSession, account: LinkableAccount) -> LinkableAccount:
    M = cm.messages
    try:
        await session.authorize_account(account.account_id)
        trader = (await session.connection.request(M.ProtoOATraderReq(ctidTraderAccountId=account.account_id))).trader
        symbols = await session.connection.request(M.ProtoOASymbolsListReq(ctidTraderAccountId=account.account_id))
        with contextlib.suppress(OpenApiError):
            await session.connection.request(M.ProtoOAAccountLogoutReq(ctidTraderAccountId=account.account_id))
    except OpenApiError as exc:
        return _replace(account, problem=f"its details could not be read: {exc.code}")
    digits = trader.moneyDigits if trader.HasField("moneyDigits") else 2
    return _replace(account, account_type=_ACCOUNT_TYPES.get(trader.accountType),
                    broker_name=trader.brokerName or "", balance=trader.balance / 10 ** digits,
                    symbols=tuple(sorted(s.symbolName for s in symbols.symbol if s.symbolName)))


def _replace(account: LinkableAccount, **changes) -> LinkableAccount:
    return replace(account, **changes)


class _NoStore:
    """Listing refreshes nothing; a refresh here would be a bug, and is refused."""

    async def save(self, tokens: TokenPair) -> None:
        raise RuntimeError("listing accounts does not refresh tokens")


def _app_refusal(exc: OpenApiError) -> str:
    if exc.code in ("CH_CLIENT_AUTH_FAILURE", "CH_OA_CLIENT_NOT_FOUND"):
        return ("cTrader refused the application: check its client id and secret, and that the application "
                f"is Active at openapi.ctrader.com ({exc.code})")
    return f"cTrader refused the application ({exc.code})"


def _token_refusal(exc: OpenApiError) -> str:
    if exc.code in ("CH_ACCESS_TOKEN_INVALID", "OA_AUTH_TOKEN_EXPIRED", "ACCESS_DENIED"):
        return (f"cTrader refused the access token ({exc.code}): sign in again, or paste a fresh token from "
                "the playground")
    return f"cTrader's Open API refused the request: {exc.code}" + (f" ({exc.description})" if exc.description else "")


def trader_accounts(accounts: Iterable[LinkableAccount]) -> list[TraderAccount]:
    """The plain account list, as the connector's session gives it."""
    return [TraderAccount(a.account_id, a.is_live, a.login, a.broker) for a in accounts]
