"""One Open API link per cTrader ID and endpoint, shared by every connector of that ID's accounts.

A token refresh spends the refresh token for every account of one cTrader ID, and the Open API
takes any number of accounts on one link, so connectors with the same host, port, application and
token store share one :class:`SharedLink`: one TLS connection, one session, one refresh. The link
routes each event to the connector of the account it names, tells every connector when it closes
or an account's session is lost for good, and refreshes the access token before it expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf.message import Message

from copier_gui import ctrader_messages as cm
from copier_gui.clock import Clock
from copier_gui.connectors.ctrader.connection import OpenApiConnection
from copier_gui.connectors.ctrader.errors import OpenApiError
from copier_gui.connectors.ctrader.session import (
    AppCredentials,
    OpenApiSession,
    TokenPair,
    TokenStore,
)
from copier_gui.core.tasks import cancel_and_wait

log = logging.getLogger(__name__)

M = cm.messages

# Refresh this long before the access token ends (it lives about 30 days); a link opened closer
# to the end than this refreshes at once.
REFRESH_MARGIN_S = 24 * 3600.0
# A refresh that failed on a live link is tried again after this long.
REFRESH_RETRY_S = 300.0
_TOKEN_ERRORS = frozenset({"OA_AUTH_TOKEN_EXPIRED", "CH_ACCESS_TOKEN_INVALID"})
# The Open API allows 50 requests a second on a link, 5 of them for history; a little under both,
# so a clock a few milliseconds off the server's does not cross them.
PER_SECOND = 45
HISTORICAL_PER_SECOND = 4
HISTORICAL = frozenset({
    "ProtoOADealListReq", "ProtoOADealListByPositionIdReq", "ProtoOAOrderListReq", "ProtoOAOrderListByPositionIdReq",
    "ProtoOAOrderDetailsReq", "ProtoOAGetTrendbarsReq", "ProtoOAGetTickDataReq", "ProtoOACashFlowHistoryListReq",
    "ProtoOADealOffsetListReq",
})


class LinkUnavailable(Exception):
    """The link cannot be opened or used; ``message`` says why, in the trader's words."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True, slots=True)
class AccountEntry:
    """What the access token says of one of its accounts."""

    account_id: int
    is_live: bool
    login: int
    broker: str


class Member:
    """A connector's hooks on the link (the connector implements these)."""

    def on_event(self, message: Message, client_msg_id: str | None) -> None: ...

    def on_link_down(self, reason: str) -> None: ...

    def on_account_lost(self, reason: str) -> None: ...

    def on_reauthorized(self) -> None: ...

    def on_session_ended(self, reason: str) -> None: ...


class Pacer:
    """Keeps one link's requests under the Open API's rates: each waits, on the loop, until the
    last second holds fewer than its class's limit."""

    def __init__(self, now: Callable[[], float], *, per_second: int = PER_SECOND,
                 historical_per_second: int = HISTORICAL_PER_SECOND, sleep=asyncio.sleep) -> None:
        self._now = now
        self._sleep = sleep
        self._limits = {False: per_second, True: historical_per_second}
        self._sent: dict[bool, deque[float]] = {False: deque(), True: deque()}
        self.waited = 0.0

    async def pace(self, request: str) -> None:
        historical = request in HISTORICAL
        # Every request counts against the overall rate, history against its own as well.
        for kind in ((False, True) if historical else (False,)):
            sent, limit = self._sent[kind], self._limits[kind]
            while True:
                now = self._now()
                while sent and now - sent[0] >= 1.0:
                    sent.popleft()
                if len(sent) < limit:
                    break
                wait = 1.0 - (now - sent[0]) + 1e-3
                self.waited += wait
                await self._sleep(wait)
        now = self._now()
        self._sent[False].append(now)
        if historical:
            self._sent[True].append(now)


class SharedLink:
    """One endpoint, application and token store; opened on demand, closed with its last member."""

    def __init__(self, key: tuple, *, host: str, port: int, app: AppCredentials, store: TokenStore,
                 clock: Clock, ssl_context: ssl.SSLContext | None = None, connection_options: dict | None = None,
                 on_empty: Callable[[SharedLink], None] | None = None) -> None:
        self.key = key
        self.host = host
        self.port = port
        self._app = app
        self._store = store
        self._clock = clock
        self._ssl_context = ssl_context
        self._options = dict(connection_options or {})
        self._on_empty = on_empty
        self._members: dict[int, Member] = {}
        self._lock = asyncio.Lock()
        self.session: OpenApiSession | None = None
        self.accounts: dict[int, AccountEntry] = {}
        self.can_trade = True
        self._tasks: set[asyncio.Task] = set()
        self.refreshes = 0
        self.pacer = Pacer(asyncio.get_running_loop().time)
        self.server_said = ""  # the reason of the server's ProtoOAClientDisconnectEvent, if it sent one

    def __repr__(self) -> str:
        return f"SharedLink({self.host}:{self.port}, accounts={sorted(self._members)})"

    # ------------------------------------------------------------------ members
    def attach(self, account_id: int, member: Member) -> None:
        other = self._members.get(account_id)
        if other is not None and other is not member:
            raise LinkUnavailable(f"cTrader account {account_id} is already driven by another connector "
                                  "in this copier")
        self._members[account_id] = member

    async def detach(self, account_id: int, member: Member) -> None:
        if self._members.get(account_id) is member:
            del self._members[account_id]
            session = self.session
            if session is not None and account_id in session.authorized and self.up:
                # Out of the session's set first: the logout's own AccountDisconnectEvent must not
                # make the session authorize the account again.
                session.authorized.discard(account_id)
                with contextlib.suppress(OpenApiError):
                    await session.connection.request(M.ProtoOAAccountLogoutReq(ctidTraderAccountId=account_id),
                                                     timeout=5.0)
        if not self._members:
            await self.close()
            if self._on_empty is not None:
                self._on_empty(self)

    @property
    def up(self) -> bool:
        return self.session is not None and not self.session.connection.closed.is_set()

    # ------------------------------------------------------------------ opening
    async def ensure(self) -> OpenApiSession:
        """The open, application-authorized session; opened (again) when there is none."""
        async with self._lock:
            if self.up:
                return self.session
            await self._drop_session()
            self.server_said = ""
            try:
                tokens = await self._store.load() if hasattr(self._store, "load") else None
            except Exception as exc:
                # Never the exception's text beyond a store's own message: it may quote the entry.
                message = getattr(exc, "message", None) or f"the cTrader tokens could not be read ({type(exc).__name__})"
                raise LinkUnavailable(message, code="TOKEN_STORE_FAILED") from None
            if tokens is None:
                raise LinkUnavailable("no cTrader authorization is stored for this account: authorize the copier "
                                      "for your cTrader ID in the account settings", code="NO_TOKENS")
            try:
                connection = await OpenApiConnection.open(self.host, self.port, ssl_context=self._ssl_context,
                                                          **self._options)
            except OpenApiError as exc:
                raise LinkUnavailable(f"cannot reach the cTrader Open API at {self.host}:{self.port} "
                                      f"({exc.description}): check the network connection", code=exc.code) from None
            session = OpenApiSession(connection, self._app, tokens, self._store, clock=self._clock)
            session.add_listener(self._route)
            session.on_account_lost(self._lost)
            # After the session's own listener, which authorizes the account again.
            connection.add_listener(self._session_event)
            try:
                await self._open(session)
            except BaseException:
                await session.close()
                raise
            self.session = session
            self._spawn(self._watch(session), "ctrader-link-watch")
            self._spawn(self._keep_fresh(session), "ctrader-token-refresh")
            log.info("Open API link to %s:%d open for %d account(s) of one cTrader ID",
                     self.host, self.port, len(self.accounts))
            return session

    async def _open(self, session: OpenApiSession) -> None:
        try:
            await session.authorize_application()
        except OpenApiError as exc:
            if exc.code in ("CH_CLIENT_AUTH_FAILURE", "CH_OA_CLIENT_NOT_FOUND"):
                raise LinkUnavailable(f"the cTrader Open API refused the application {self._app.client_id!r} "
                                      f"({exc.code}): check its id and secret, and that Spotware has activated it",
                                      code=exc.code) from None
            raise _unavailable(exc, self.host, self.port) from None
        if session.tokens.expires_at - self._clock.time() < REFRESH_MARGIN_S:
            await self._refresh(session)
        try:
            reply = await self._account_list(session)
        except OpenApiError as exc:
            if exc.code not in _TOKEN_ERRORS:
                raise _unavailable(exc, self.host, self.port) from None
            # Expired early, or revoked: one refresh, and the list again.
            await self._refresh(session)
            try:
                reply = await self._account_list(session)
            except OpenApiError as again:
                raise _unavailable(again, self.host, self.port) from None
        self.can_trade = reply.permissionScope == cm.model.SCOPE_TRADE if reply.HasField("permissionScope") else True
        self.accounts = {a.ctidTraderAccountId: AccountEntry(a.ctidTraderAccountId, a.isLive, a.traderLogin,
                                                             a.brokerTitleShort)
                         for a in reply.ctidTraderAccount}

    async def _account_list(self, session: OpenApiSession):
        return await session.connection.request(
            M.ProtoOAGetAccountListByAccessTokenReq(accessToken=session.tokens.access_token))

    async def _refresh(self, session: OpenApiSession) -> TokenPair:
        try:
            pair = await session.refresh_tokens()
        except OpenApiError as exc:
            if exc.code == "TOKEN_STORE_FAILED":
                raise LinkUnavailable(f"{exc.description}: the cTrader authorization must be given again",
                                      code=exc.code) from None
            if exc.code in _TOKEN_ERRORS:
                raise LinkUnavailable("the cTrader authorization is no longer valid (the refresh token was refused): "
                                      "authorize the copier for your cTrader ID again", code=exc.code) from None
            raise _unavailable(exc, self.host, self.port) from None
        self.refreshes += 1
        for member in list(self._members.values()):
            member.on_reauthorized()
        return pair

    async def authorize(self, account_id: int) -> None:
        session = self.session
        if session is None or not self.up:
            raise LinkUnavailable("the link to the cTrader Open API is down", code="CONNECTION_LOST")
        if account_id in session.authorized:
            return
        try:
            await session.authorize_account(account_id)
        except OpenApiError as exc:
            raise _unavailable(exc, self.host, self.port, account_id=account_id) from None

    async def refresh_now(self) -> TokenPair:
        """Refresh the tokens at once (normally done before they expire)."""
        session = await self.ensure()
        return await self._refresh(session)

    # ------------------------------------------------------------------ life
    async def _watch(self, session: OpenApiSession) -> None:
        await session.connection.closed.wait()
        reason = session.connection.close_reason or "the link closed"
        if self.server_said:
            reason = f"{reason}; the server said: {self.server_said}"
        for member in list(self._members.values()):
            member.on_link_down(reason)

    async def _keep_fresh(self, session: OpenApiSession) -> None:
        while not session.connection.closed.is_set():
            wait = session.tokens.expires_at - REFRESH_MARGIN_S - self._clock.time()
            if wait > 0:
                await asyncio.sleep(min(wait, 3600.0))
                continue
            try:
                await self._refresh(session)
            except LinkUnavailable as exc:
                log.warning("refreshing the cTrader tokens failed: %s", exc.message)
                await asyncio.sleep(REFRESH_RETRY_S)

    def _route(self, message: Message, client_msg_id: str | None) -> None:
        account_id = getattr(message, "ctidTraderAccountId", None)
        if account_id is None:
            return
        member = self._members.get(int(account_id))
        if member is not None:
            member.on_event(message, client_msg_id)

    def _session_event(self, message: Message, client_msg_id: str | None) -> None:
        if isinstance(message, M.ProtoOAClientDisconnectEvent):
            # The server ends the whole link next; its reason goes with the members' notice.
            self.server_said = message.reason or "it ends the connection"
            return
        if isinstance(message, M.ProtoOAAccountDisconnectEvent):
            ids, reason = [message.ctidTraderAccountId], "the server ended the account's session"
        elif isinstance(message, M.ProtoOAAccountsTokenInvalidatedEvent):
            ids, reason = list(message.ctidTraderAccountIds), message.reason or "the access token was invalidated"
        else:
            return
        for account_id in ids:
            member = self._members.get(account_id)
            if member is not None:
                member.on_session_ended(reason)

    def _lost(self, account_id: int, reason: str) -> None:
        member = self._members.get(account_id)
        if member is not None:
            member.on_account_lost(reason)

    def _spawn(self, coro, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drop_session(self) -> None:
        session, self.session = self.session, None
        current = asyncio.current_task()
        await cancel_and_wait(task for task in self._tasks if task is not current)
        if session is not None:
            with contextlib.suppress(Exception):
                await session.close()

    async def close(self) -> None:
        await self._drop_session()

    def drop(self) -> None:
        """Cut the link now (tests of a lost connection use the server's drop instead)."""
        if self.session is not None:
            self.session.connection._shut("dropped by the copier")


def _unavailable(exc: OpenApiError, host: str, port: int, *, account_id: int | None = None) -> LinkUnavailable:
    code = exc.code
    whose = f"cTrader account {account_id}" if account_id is not None else "the cTrader ID"
    texts = {
        "CH_ACCESS_TOKEN_INVALID": f"the access token of {whose} is no longer valid: authorize the copier again",
        "OA_AUTH_TOKEN_EXPIRED": f"the access token of {whose} has expired: authorize the copier again",
        "CH_CTID_TRADER_ACCOUNT_NOT_FOUND": f"{whose} is not among the accounts the authorization covers: "
                                            "authorize the copier for it, or correct the account id",
        "ACCOUNT_NOT_AUTHORIZED": f"{whose} is not authorized for this application",
        "RET_NO_SUCH_LOGIN": f"{whose} does not exist at the broker",
        "RET_ACCOUNT_DISABLED": f"{whose} is disabled at the broker",
        "CANT_ROUTE_REQUEST": f"{whose} is not served at {host}: live accounts use live.ctraderapi.com, demo "
                              "accounts demo.ctraderapi.com",
        "SERVER_IS_UNDER_MAINTENANCE": "the cTrader Open API is under maintenance: the copier tries again",
        "CONNECTION_LOST": f"the link to the cTrader Open API at {host}:{port} was lost ({exc.description})",
        "REQUEST_TIMEOUT": f"the cTrader Open API at {host}:{port} did not answer in time",
    }
    text = texts.get(code) or f"the cTrader Open API refused the session ({code}: {exc.description})"
    end = _maintenance_end(exc) if code == "SERVER_IS_UNDER_MAINTENANCE" else None
    if end is not None:
        text = text.replace("under maintenance", f"under maintenance until {end:%Y-%m-%d %H:%M} UTC")
    return LinkUnavailable(text, code=code)


def _maintenance_end(exc: OpenApiError):
    """When maintenance ends, from the refusal: seconds in ProtoOAErrorRes, milliseconds in
    ProtoErrorRes (their .proto comments disagree, and each is taken at its word)."""
    reply = exc.message
    if reply is None or not reply.HasField("maintenanceEndTimestamp") or not reply.maintenanceEndTimestamp:
        return None
    stamp = int(reply.maintenanceEndTimestamp)
    seconds = stamp / 1000 if isinstance(reply, cm.common.ProtoErrorRes) else stamp
    with contextlib.suppress(OverflowError, OSError, ValueError):
        return datetime.fromtimestamp(seconds, UTC)
    return None


class LinkPool:
    """The shared links of one process, by (loop, host, port, application, token store key)."""

    def __init__(self) -> None:
        self._links: dict[tuple, SharedLink] = {}

    def link(self, *, host: str, port: int, app: AppCredentials, store: TokenStore, clock: Clock,
             ssl_context: ssl.SSLContext | None = None, connection_options: dict | None = None) -> SharedLink:
        store_key = getattr(store, "key", None) or f"store-{id(store):x}"
        key = (id(asyncio.get_running_loop()), host, int(port), app.client_id, store_key)
        link = self._links.get(key)
        if link is None:
            link = SharedLink(key, host=host, port=port, app=app, store=store, clock=clock, ssl_context=ssl_context,
                              connection_options=connection_options, on_empty=self._forget)
            self._links[key] = link
        return link

    def _forget(self, link: SharedLink) -> None:
        if self._links.get(link.key) is link:
            del self._links[link.key]

    def __len__(self) -> int:
        return len(self._links)


# The process's pool: every connector of one cTrader ID on one endpoint shares its link.
POOL = LinkPool()
