"""Who may speak on an Open API link: the application, the trader's token, and each trading account.

The order is fixed by the protocol: the application authorizes first on every link, then the
trader's access token lists the accounts it may use, then each account is authorized on the link.
A refresh spends the single-use refresh token and ends the accounts' sessions that used the old
access token, so the new pair is handed to the caller's :class:`TokenStore` before anything uses
it, and the accounts are authorized again with it. A report that an account's session ended is
checked with a request before it is believed; an account that cannot be authorized again is lost
for good (a rejected re-authorization is final: the trader must authorize again).

Tokens and the application secret never reach a log, an exception text or a repr.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from google.protobuf.message import Message

from copier_gui import ctrader_messages as cm
from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.connectors.ctrader.connection import OpenApiConnection
from copier_gui.connectors.ctrader.errors import (
    ConnectionLost,
    OpenApiError,
    RequestTimeout,
    TokenStoreError,
)

log = logging.getLogger(__name__)

M = cm.messages


@dataclass(frozen=True, slots=True)
class AppCredentials:
    """The Open API application's id and secret (from the application's page at Spotware)."""

    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class TokenPair:
    """The trader's OAuth tokens; ``expires_at`` is the access token's end, seconds since the epoch."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: float
    token_type: str = "bearer"


class TokenStore(Protocol):
    """Where a refreshed pair is kept (the keyring). ``save`` must not return before the pair is
    durable: the old refresh token no longer works once the server has answered."""

    async def save(self, tokens: TokenPair) -> None: ...


@dataclass(frozen=True, slots=True)
class TraderAccount:
    """One trading account the access token may use."""

    account_id: int  # ctidTraderAccountId, the id every request names (not the login)
    is_live: bool
    trader_login: int
    broker: str


AccountLost = Callable[[int, str], None]
EventListener = Callable[[Message, str | None], None]

# Errors that say the account's authorization is gone, as opposed to a request that failed.
_NOT_AUTHORIZED = frozenset({
    "ACCOUNT_NOT_AUTHORIZED", "OA_AUTH_TOKEN_EXPIRED", "CH_ACCESS_TOKEN_INVALID",
    "CH_CTID_TRADER_ACCOUNT_NOT_FOUND", "RET_NO_SUCH_LOGIN", "RET_ACCOUNT_DISABLED",
})
_SESSION_EVENTS = (
    M.ProtoOAAccountsTokenInvalidatedEvent, M.ProtoOAAccountDisconnectEvent, M.ProtoOAClientDisconnectEvent,
)


class OpenApiSession:
    """The authorizations of one link. Events other than the session's own go to the listeners."""

    def __init__(
        self,
        connection: OpenApiConnection,
        credentials: AppCredentials,
        tokens: TokenPair,
        store: TokenStore,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.connection = connection
        self._credentials = credentials
        self._tokens = tokens
        self._store = store
        self._clock = clock
        self._refresh_lock = asyncio.Lock()
        self.app_authorized = False
        self.authorized: set[int] = set()
        self.lost: dict[int, str] = {}
        self._listeners: list[EventListener] = []
        self._lost_listeners: list[AccountLost] = []
        self._tasks: set[asyncio.Task] = set()
        connection.add_listener(self._on_message)

    @property
    def tokens(self) -> TokenPair:
        return self._tokens

    def add_listener(self, listener: EventListener) -> None:
        """Execution, spot, trader and other events of the link, with the clientMsgId they carried."""
        self._listeners.append(listener)

    def on_account_lost(self, listener: AccountLost) -> None:
        """Called with (account id, reason) when an account cannot be authorized again."""
        self._lost_listeners.append(listener)

    # ------------------------------------------------------------------ authorizations
    async def authorize_application(self) -> None:
        await self.connection.request(M.ProtoOAApplicationAuthReq(
            clientId=self._credentials.client_id, clientSecret=self._credentials.client_secret))
        self.app_authorized = True

    async def accounts(self) -> list[TraderAccount]:
        """The trading accounts the access token may use."""
        reply = await self.connection.request(
            M.ProtoOAGetAccountListByAccessTokenReq(accessToken=self._tokens.access_token))
        return [
            TraderAccount(a.ctidTraderAccountId, a.isLive, a.traderLogin, a.brokerTitleShort)
            for a in reply.ctidTraderAccount
        ]

    async def authorize_account(self, account_id: int) -> None:
        try:
            await self.connection.request(
                M.ProtoOAAccountAuthReq(ctidTraderAccountId=account_id, accessToken=self._tokens.access_token))
        except OpenApiError as exc:
            if exc.code != "ALREADY_LOGGED_IN":
                raise
        self.authorized.add(account_id)
        self.lost.pop(account_id, None)

    async def refresh_tokens(self) -> TokenPair:
        """Spend the refresh token for a new pair, save it, then authorize the accounts with it."""
        async with self._refresh_lock:
            reply = await self.connection.request(
                M.ProtoOARefreshTokenReq(refreshToken=self._tokens.refresh_token))
            pair = TokenPair(reply.accessToken, reply.refreshToken,
                             self._clock.time() + reply.expiresIn, reply.tokenType or "bearer")
            try:
                await self._store.save(pair)
            except Exception as exc:
                # Never the exception's text: a store may quote what it was asked to save.
                raise TokenStoreError(f"the refreshed tokens could not be saved ({type(exc).__name__})") from None
            self._tokens = pair
            for account_id in sorted(self.authorized):
                await self._reauthorize(account_id, "the access token was refreshed")
            return pair

    # ------------------------------------------------------------------ events
    def _on_message(self, message: Message, client_msg_id: str | None) -> None:
        if isinstance(message, _SESSION_EVENTS):
            self._on_session_event(message)
            return
        for listener in list(self._listeners):
            try:
                listener(message, client_msg_id)
            except Exception:
                log.exception("an Open API event listener failed on %s", message.DESCRIPTOR.name)

    def _on_session_event(self, message: Message) -> None:
        if isinstance(message, M.ProtoOAClientDisconnectEvent):
            log.warning("the Open API server is ending the link: %s", message.reason or "no reason given")
            return
        if isinstance(message, M.ProtoOAAccountsTokenInvalidatedEvent):
            ids, reason = list(message.ctidTraderAccountIds), message.reason or "the access token was invalidated"
        else:
            ids, reason = [message.ctidTraderAccountId], "the server ended the account's session"
        for account_id in ids:
            if account_id in self.authorized:
                self._spawn(self._verify(account_id, reason), f"ctrader-verify-{account_id}")

    async def _verify(self, account_id: int, reason: str) -> None:
        """Believe a reported end of an account's session only once a request says so: a token
        rotation reports it for sessions that the new token already holds."""
        async with self._refresh_lock:  # a refresh in flight authorizes the account itself
            try:
                try:
                    await self.connection.request(M.ProtoOATraderReq(ctidTraderAccountId=account_id))
                    return
                except OpenApiError as exc:
                    if exc.code not in _NOT_AUTHORIZED:
                        raise
                await self._reauthorize(account_id, reason)
            except OpenApiError as exc:
                log.warning("could not check account %d after %s: %s", account_id, reason, exc.code)

    async def _reauthorize(self, account_id: int, reason: str) -> None:
        try:
            await self.authorize_account(account_id)
        except (ConnectionLost, RequestTimeout):
            raise  # the link failed, not the authorization: whoever reconnects authorizes again
        except OpenApiError as exc:
            self.authorized.discard(account_id)
            text = f"{reason}; authorizing it again failed: {exc.code}"
            self.lost[account_id] = text
            for listener in list(self._lost_listeners):
                listener(account_id, text)

    def _spawn(self, coro, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.connection.close()
