"""A simulated cTrader Open API proxy on 127.0.0.1: TLS, length-prefixed ``ProtoMessage`` frames,
the official messages, and the session rules a real proxy enforces.

A client must authorize its application first, may list the accounts of an access token, and
must authorize each account on its link before naming it in a request. Replies echo the request's
``clientMsgId``; pushed events (fills after an ORDER_ACCEPTED, spots, SL/TP closes, another
application's trades) carry none. Refusals take the form real servers use: ``ProtoOAErrorRes`` for
a request refused, ``ProtoErrorRes`` for a message it cannot take, and ``ProtoOAOrderErrorEvent``
with orderId and positionId 0 for a trade refused.

The accounts run on the shared trade engine and market of the simulated MT5 terminal
(:mod:`copier_gui.sim.ctrader.account`). :class:`ServerFaults` scripts what real servers do that
their documentation does not say.

What a faithful fake must reproduce, and where this one stands:

1. Wire - done: 4-byte big-endian length and ``ProtoMessage``; TLS, or plaintext with ``tls=False``;
   ``clientMsgId`` echoed on replies, none on pushed events; UNSUPPORTED_MESSAGE, INVALID_REQUEST,
   FRAME_TOO_LONG; the tag-91 protos with proto2 presence.
2. Session - done: CH_CLIENT_NOT_AUTHENTICATED / ALREADY_AUTHENTICATED / AUTH_FAILURE,
   ACCOUNT_NOT_AUTHORIZED, ALREADY_LOGGED_IN, CH_ACCESS_TOKEN_INVALID, OA_AUTH_TOKEN_EXPIRED,
   CH_CTID_TRADER_ACCOUNT_NOT_FOUND, CANT_ROUTE_REQUEST for live against demo, many accounts per
   link, CONNECTIONS_LIMIT_EXCEEDED when ``max_links_per_application`` is set.
3. Tokens - done: ``expiresIn`` 2628000, single-use refresh tokens, the old pair dead at once with
   an AccountsTokenInvalidatedEvent on every link that used it, an optional spurious account
   disconnect after a refresh.
4. Liveness - done: heartbeats, idle links dropped (``idle_timeout``), ``disconnect_clients``
   (ProtoOAClientDisconnectEvent), ``end_sessions`` (AccountDisconnectEvent, links kept: the
   weekend drop), ``drop_connections`` (raw TCP), ``start_maintenance`` (links cut, then
   SERVER_IS_UNDER_MAINTENANCE with ``maintenanceEndTimestamp`` in seconds until its end).
5. Rate limits - done: per link, 50 requests a second and 5 historical (deal and order lists,
   trendbars, ticks), refused with REQUEST_FREQUENCY_EXCEEDED and account id 0, or
   BLOCKED_PAYLOAD_TYPE with ``retryAfter`` (``rate_limit_code``); a single request refused on
   demand. Not done: the per-application limit some docs state instead (the docs disagree).
6. Reference data - done: symbol ids, names, volumes in cents, ``lotSize`` and ``digits`` per
   broker; the weekly ``schedule`` (UTC) and the broker's holidays (SYMBOL_HAS_HOLIDAY); a closed
   market refused with MARKET_CLOSED; ``tradingMode`` set per symbol (TRADING_DISABLED); assets
   with the deposit currency; a trader with ``moneyDigits``, ``accountType`` and ``accessRights``.
   ProtoOASymbolChangedEvent when the broker changes a symbol's mode or holidays; asset classes
   and symbol categories (one each per kind of instrument); conversion chains between assets.
7. Spots - done: reply, then a snapshot, then ticks in 1/100000; ALREADY_SUBSCRIBED; subscriptions
   lost with the session. Not done: depth, trendbars and tick data (UNSUPPORTED_MESSAGE; the
   copier reads none of them, and the shared market keeps no history from before it started).
8. Orders - done: MARKET (ACCEPTED without a position, then FILLED with deal and position),
   optionally in two deals (``split_fills``: each an ORDER_FILLED, or an IOC order cancelled with
   its executed volume); MARKET_RANGE (cancelled when out of range); LIMIT, STOP, STOP_LIMIT with a
   CREATED position, triggered, EXPIRED, REPLACED by AmendOrder, CANCELLED, CANCEL_REJECTED
   (``rejected_cancels``); TRADING_BAD_VOLUME, TRADING_BAD_STOPS in the server's words,
   NOT_ENOUGH_MONEY, TRADING_DISABLED, TRADING_NOT_ALLOWED, the 100/512/50 string limits; label,
   comment and clientOrderId kept everywhere, Reconcile included. A triggered STOP_LIMIT fills at
   most ``slippageInPoints`` beyond its stop, or waits as a limit there. Relative SL/TP are set
   from the fill price and shown on the filled position. Trailing stops (from a relative stop,
   or set by AmendPositionSLTP) follow the market at each poll, each move a
   ProtoOATrailingSLChangedEvent. Not done: guaranteed stops (no broker here is limited-risk)
   and stop trigger methods (the shared engine triggers stops on the trade side only).
9. Closes - done: full and partial; ``closingOrder``, the deal's ``closePositionDetail``, the
   CLOSED position, then a TraderUpdatedEvent; server-side SL/TP (STOP_LOSS_TAKE_PROFIT) and
   stop-out (``isStopOut``), both ``isServerEvent``; POSITION_NOT_FOUND in the server's words.
10. Queries - done: Reconcile with or without protection orders; DealList (window, ``maxRows``,
    ``hasMore``, INCORRECT_BOUNDARIES; at most ``history_chunk`` rows a reply, keeping the newest
    or the oldest when cut, ``history_cut_keeps``, since real servers' choice is undocumented),
    DealListByPositionId, OrderList, OrderListByPositionId, OrderDetails, DealOffsetList (first
    in, first out within a position), CashFlowHistoryList (a week at most); unrealized PnL;
    deposits and withdrawals (DEPOSIT_WITHDRAW and the trader). Not done: MarginChangedEvent
    (when a real server sends it is undocumented).
11. Netting - done: one position per symbol at its average price, opposite orders closing, an
    oversized one turning it over under either id policy (``reversal_policy`` per account, since
    the real rule is undocumented); the opening or turning order's relative stops on the position,
    a reducing order's never, an adding order's as ``netted_stops_policy`` says (undocumented too),
    and every fill event showing the position's stops as they are after it.
12. Faults - done: an order never answered (executed or not), an order filled then the link
    dropped before the reply, OrderErrorEvents with ids 0, trades by another application, a
    refused trade in any of the three forms (``refusal_channel``), UNKNOWN_ERROR (``unknown_errors``,
    and for any failure of the simulator itself); for scenarios, an account's next trades refused
    with the codes nearest the trade server's return codes (``SimCTraderAccount.force_refusals``),
    an account unreachable for a while (``take_offline``, ``bring_online``) and slow answers
    about an account (``set_latency``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import struct
from collections.abc import Callable
from dataclasses import dataclass

from google.protobuf.message import DecodeError, Message

from copier_gui import ctrader_messages as cm
from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.sim.ctrader.account import SimCTraderAccount, TradeRefusal
from copier_gui.sim.ctrader.certs import Certificate, self_signed
from copier_gui.sim.ctrader.history import CHUNK, BadWindow, cut, window
from copier_gui.sim.ctrader.limits import HISTORICAL_PER_SECOND, PER_SECOND, RateLimiter
from copier_gui.sim.ctrader.profiles import CTRADER_PROFILES, CTraderBroker
from copier_gui.sim.ctrader.tokens import SCOPE_TRADE, Grant, TokenBook, TokenRefused
from copier_gui.sim.market import Market, shared_market

log = logging.getLogger(__name__)

M = cm.messages
MM = cm.model
_LENGTH = struct.Struct(">I")
_HEARTBEAT = cm.common.ProtoHeartbeatEvent
_PRICE_SCALE = 100_000  # spot prices travel as integers of 1/100000
_CASH_FLOW_WINDOW_MS = 604_800_000  # ProtoOACashFlowHistoryListReq: at most one week


@dataclass(slots=True)
class ServerFaults:
    """What real servers do beyond their documentation; all off by default, changeable at any time."""

    # The next N new orders get no answer at all (OpenApiPy#47). ``execute_unanswered`` says
    # whether such an order is still executed (the dangerous case: the client must reconcile).
    unanswered_orders: int = 0
    execute_unanswered: bool = True
    # The next N new orders are filled, then the link drops before any reply leaves.
    drop_after_fill: int = 0
    # Whether the events after the first reply (the fill after ORDER_ACCEPTED) repeat the request's
    # clientMsgId; real servers' behaviour is undocumented.
    follow_ups_carry_id: bool = False
    # An account-session end reported after each token refresh even for sessions it did not end.
    spurious_disconnect_on_refresh: bool = False
    # The next N market orders fill in two deals: an IMMEDIATE_OR_CANCEL one is then cancelled with
    # its executed volume, any other fills its rest on the next tick (each deal an ORDER_FILLED).
    split_fills: int = 0
    # The next N cancels of a working order are answered ORDER_CANCEL_REJECTED; the order stays.
    rejected_cancels: int = 0
    # The next N requests are refused as over the rate limit whatever the rate (Mida#28: a single
    # ProtoOAOrderListReq was).
    rate_limited_requests: int = 0
    # Which of the three forms a refused trade takes (which one a real server uses for which
    # failure is undocumented): "order_error" (ProtoOAOrderErrorEvent, ids 0), "rejected" (an
    # ORDER_REJECTED execution with errorCode) or "error_res" (ProtoOAErrorRes).
    refusal_channel: str = "order_error"
    # The next N requests fail inside the server: UNKNOWN_ERROR, nothing done.
    unknown_errors: int = 0


class _Link:
    """One client connection: its authorizations, spot subscriptions and writer."""

    def __init__(self, server: SimulatedOpenApiServer, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.app_authorized = False
        self.client_id = ""
        self.accounts: dict[int, str] = {}  # authorized account -> the access token it used
        self.spots: dict[int, dict[int, tuple[float, float]]] = {}  # account -> symbol -> last sent
        self.last_received = asyncio.get_running_loop().time()
        self.heartbeats_received = 0
        self.closed = False
        self.limiter = (RateLimiter(asyncio.get_running_loop().time, per_second=server.per_second,
                                    historical_per_second=server.historical_per_second)
                        if server.per_second else None)

    def send(self, message: Message, client_msg_id: str | None = None) -> None:
        if self.closed:
            return
        body = cm.wrap(message, client_msg_id).SerializeToString()
        self.writer.write(_LENGTH.pack(len(body)) + body)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.writer.close()
        if self in self.server.links:
            self.server.links.remove(self)


class SimulatedOpenApiServer:
    """The proxy. ``add_application``, ``add_account`` and ``grant`` set it up; ``start`` listens."""

    def __init__(self, *, clock: Clock = SYSTEM_CLOCK, seed: int = 0, market: Market | None = None,
                 live: bool = False, heartbeat_interval: float = 10.0, idle_timeout: float | None = None,
                 max_frame: int = 1024 * 1024, poll_interval: float = 0.05, per_second: int | None = PER_SECOND,
                 historical_per_second: int = HISTORICAL_PER_SECOND, tls: bool = True) -> None:
        self.clock = clock
        self.seed = seed
        self.market = market or shared_market(seed, clock)
        self.live = live
        self.heartbeat_interval = heartbeat_interval
        self.idle_timeout = idle_timeout
        self.max_frame = max_frame
        self.poll_interval = poll_interval
        self.tls = tls  # real servers take only TLS on their TCP ports; plaintext is for debugging
        # Requests a link may send a second (None: unlimited), and how an excess is refused:
        # REQUEST_FREQUENCY_EXCEEDED, or BLOCKED_PAYLOAD_TYPE with retryAfter in seconds.
        self.per_second = per_second
        self.historical_per_second = historical_per_second
        self.rate_limit_code = "REQUEST_FREQUENCY_EXCEEDED"
        # Rows per history reply at most, and which a reply cut short keeps ("newest" or "oldest").
        self.history_chunk = CHUNK
        self.history_cut_keeps = "newest"
        self.maintenance_until: float | None = None  # UTC seconds; requests before then are refused
        # Concurrent authorized links per application (None: no limit). Older docs said 25 per
        # application; the limit real proxies apply is not documented now.
        self.max_links_per_application: int | None = None
        self._offline: dict[int, float] = {}  # account -> until when (UTC s) it cannot be reached
        self._latency: dict[int, float] = {}  # account -> median seconds its answers take
        self._latency_rng = random.Random(f"ctrader-latency:{seed}")
        self.faults = ServerFaults()
        self.tokens = TokenBook(clock, random.Random(f"ctrader-tokens:{seed}"))
        self.accounts: dict[int, SimCTraderAccount] = {}
        self.links: list[_Link] = []
        self.requests: list[tuple[str, str | None]] = []  # (message name, clientMsgId), as received
        self.host = "127.0.0.1"
        self.port = 0
        self._apps: dict[str, str] = {}
        self._certificate: Certificate | None = None
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task] = set()
        self._next_account = 40_000_000 + random.Random(f"ctrader-ids:{seed}").randrange(1, 1_000_000)
        self._handlers: dict[type, Callable] = {
            M.ProtoOAApplicationAuthReq: self._app_auth,
            M.ProtoOAGetAccountListByAccessTokenReq: self._account_list,
            M.ProtoOAAccountAuthReq: self._account_auth,
            M.ProtoOARefreshTokenReq: self._refresh,
            M.ProtoOAAccountLogoutReq: self._logout,
            M.ProtoOAVersionReq: self._version,
            M.ProtoOATraderReq: self._trader,
            M.ProtoOASymbolsListReq: self._symbols,
            M.ProtoOASymbolByIdReq: self._symbol_by_id,
            M.ProtoOAAssetListReq: self._assets,
            M.ProtoOAAssetClassListReq: self._asset_classes,
            M.ProtoOASymbolCategoryListReq: self._categories,
            M.ProtoOASymbolsForConversionReq: self._conversion,
            M.ProtoOAReconcileReq: self._reconcile,
            M.ProtoOANewOrderReq: self._new_order,
            M.ProtoOAClosePositionReq: self._close_position,
            M.ProtoOAAmendPositionSLTPReq: self._amend_position,
            M.ProtoOACancelOrderReq: self._cancel_order,
            M.ProtoOAAmendOrderReq: self._amend_order,
            M.ProtoOASubscribeSpotsReq: self._subscribe_spots,
            M.ProtoOAUnsubscribeSpotsReq: self._unsubscribe_spots,
            M.ProtoOADealListReq: self._deal_list,
            M.ProtoOADealListByPositionIdReq: self._deals_of_position,
            M.ProtoOAOrderListReq: self._order_list,
            M.ProtoOAOrderListByPositionIdReq: self._orders_of_position,
            M.ProtoOAOrderDetailsReq: self._order_details,
            M.ProtoOAGetPositionUnrealizedPnLReq: self._unrealized_pnl,
            M.ProtoOACashFlowHistoryListReq: self._cash_flow,
            M.ProtoOADealOffsetListReq: self._deal_offsets,
        }

    # ------------------------------------------------------------------ set-up
    def add_application(self, client_id: str, client_secret: str) -> None:
        self._apps[client_id] = client_secret

    def add_account(self, profile: str | CTraderBroker, *, balance: float | None = None, login: int | None = None,
                    is_live: bool | None = None) -> SimCTraderAccount:
        broker = profile if isinstance(profile, CTraderBroker) else CTRADER_PROFILES[profile]
        self._next_account += 1
        account_id = self._next_account
        account = SimCTraderAccount(account_id, login or 3_000_000 + len(self.accounts) + 1, broker, self.market,
                                    self.clock, balance=balance, is_live=self.live if is_live is None else is_live,
                                    seed=self.seed)
        self.accounts[account_id] = account
        return account

    def grant(self, *account_ids: int, scope: int = SCOPE_TRADE) -> Grant:
        """The trader authorizes the application for these accounts: a new token pair."""
        return self.tokens.issue(tuple(account_ids), scope=scope)

    def client_ssl_context(self):
        assert self._certificate is not None, "start the server first"
        return self._certificate.client_context()

    # ------------------------------------------------------------------ life
    async def start(self) -> int:
        self._certificate = self_signed()
        context = self._certificate.server_context() if self.tls else None
        self._server = await asyncio.start_server(self._serve, self.host, 0, ssl=context)
        self.port = self._server.sockets[0].getsockname()[1]
        self._spawn(self._poll_loop(), "ctrader-sim-poll")
        return self.port

    async def stop(self) -> None:
        for link in list(self.links):
            link.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def disconnect_clients(self, reason: str) -> None:
        """End every link the way the server announces it: a ProtoOAClientDisconnectEvent with the
        reason, then the TCP close."""
        for link in list(self.links):
            link.send(M.ProtoOAClientDisconnectEvent(reason=reason))
            link.close()

    def drop_connections(self) -> None:
        """Cut every link at the TCP level, with no goodbye."""
        for link in list(self.links):
            link.close()

    def start_maintenance(self, until: float, *, disconnect: bool = True) -> None:
        """Server maintenance until ``until`` (UTC seconds): the links are cut (unless
        ``disconnect`` is False) and every request until then is refused with
        SERVER_IS_UNDER_MAINTENANCE and the end time."""
        self.maintenance_until = until
        if disconnect:
            self.drop_connections()

    def take_offline(self, account_id: int, seconds: float | None = None) -> None:
        """The account cannot be reached for ``seconds`` of the server's clock (or until
        ``bring_online``): its links drop at once, and a link that authorizes it meanwhile is cut
        with no answer, as a network outage would."""
        self._offline[account_id] = float("inf") if seconds is None else self.clock.time() + seconds
        for link in [o for o in self.links if account_id in o.accounts]:
            link.close()

    def bring_online(self, account_id: int) -> None:
        self._offline.pop(account_id, None)

    def set_latency(self, account_id: int, median_s: float) -> None:
        """Every answer about the account takes about ``median_s`` (log-normal around it, from the
        server's seeded generator); 0 for none. A link waits for each answer in turn."""
        if median_s > 0:
            self._latency[account_id] = median_s
        else:
            self._latency.pop(account_id, None)

    def _unreachable(self, account_id: int) -> bool:
        until = self._offline.get(account_id)
        if until is None:
            return False
        if self.clock.time() >= until:
            del self._offline[account_id]
            return False
        return True

    def end_sessions(self, account_id: int | None = None) -> None:
        """Account sessions end while the links stay up, as at weekends: each gets an
        AccountDisconnectEvent and must be authorized again; its spot subscriptions are gone."""
        for link in self.links:
            for ended in [a for a in link.accounts if account_id is None or a == account_id]:
                del link.accounts[ended]
                link.spots.pop(ended, None)
                link.send(M.ProtoOAAccountDisconnectEvent(ctidTraderAccountId=ended))

    def deposit(self, account_id: int, amount: float, note: str = "") -> None:
        """The broker's back office moves cash in (or out, when negative); the account's links get the
        DEPOSIT_WITHDRAW execution and the updated trader at once."""
        account = self.accounts[account_id]
        account.deposit(amount, note)
        self._sync(account)

    def _sync(self, account: SimCTraderAccount) -> None:
        """Push what the account did on its own up to now, before a query reports its state."""
        for event in account.poll():
            self.push(event, account_id=account.account_id)

    def push(self, message: Message, *, account_id: int | None = None) -> None:
        """Send an event to every link (or every link that authorized ``account_id``)."""
        for link in self.links:
            if account_id is None or account_id in link.accounts:
                link.send(message)

    def _spawn(self, coro, name: str) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = _Link(self, reader, writer)
        self.links.append(link)
        beat = self._spawn(self._heartbeats(link), "ctrader-sim-heartbeat")
        try:
            while not link.closed:
                head = await reader.readexactly(_LENGTH.size)
                (length,) = _LENGTH.unpack(head)
                if length > self.max_frame:
                    link.send(cm.common.ProtoErrorRes(errorCode="FRAME_TOO_LONG",
                                                      description=f"Frame of {length} bytes is too long"))
                    await writer.drain()
                    break
                body = await reader.readexactly(length)
                link.last_received = asyncio.get_running_loop().time()
                await self._on_frame(link, body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            beat.cancel()
            link.close()

    async def _heartbeats(self, link: _Link) -> None:
        loop = asyncio.get_running_loop()
        tick = self.heartbeat_interval if self.idle_timeout is None else min(self.heartbeat_interval,
                                                                               self.idle_timeout / 4)
        last_beat = loop.time()
        while not link.closed:
            await asyncio.sleep(tick)
            now = loop.time()
            if self.idle_timeout is not None and now - link.last_received > self.idle_timeout:
                link.close()
                return
            if now - last_beat >= self.heartbeat_interval:
                last_beat = now
                link.send(_HEARTBEAT())

    async def _poll_loop(self) -> None:
        """Bring every account up to the clock; push what the server did on its own, and spots."""
        while True:
            await asyncio.sleep(self.poll_interval)
            for account in self.accounts.values():
                try:
                    events = account.poll()
                except Exception:
                    log.exception("the simulated account %d failed to update", account.account_id)
                    continue
                for event in events:
                    self.push(event, account_id=account.account_id)
            for link in list(self.links):
                self._push_spots(link)

    # ------------------------------------------------------------------ dispatch
    async def _on_frame(self, link: _Link, body: bytes) -> None:
        try:
            envelope = cm.ProtoMessage.FromString(body)
        except DecodeError:
            link.send(cm.common.ProtoErrorRes(errorCode="INVALID_REQUEST", description="Malformed message"))
            return
        client_msg_id = envelope.clientMsgId if envelope.HasField("clientMsgId") else None
        if envelope.payloadType == cm.payload_type(_HEARTBEAT()):
            link.heartbeats_received += 1
            return
        cls = cm.message_class(envelope.payloadType)
        handler = self._handlers.get(cls) if cls is not None else None
        name = cls.DESCRIPTOR.name if cls else str(envelope.payloadType)
        self.requests.append((name, client_msg_id))
        until = self.maintenance_until
        if until is not None and self.clock.time() < until:
            link.send(M.ProtoOAErrorRes(errorCode="SERVER_IS_UNDER_MAINTENANCE", maintenanceEndTimestamp=int(until),
                                        description="Server is under maintenance"), client_msg_id)
            return
        wait = link.limiter.admit(name) if link.limiter is not None else 0.0
        if self.faults.rate_limited_requests > 0:
            self.faults.rate_limited_requests -= 1
            wait = wait or 1.0
        if wait:
            # Real servers answer with account id 0, whatever the request named (Mida#28).
            refusal = M.ProtoOAErrorRes(errorCode=self.rate_limit_code, ctidTraderAccountId=0,
                                        description="You have reached the rate limit of requests")
            if self.rate_limit_code == "BLOCKED_PAYLOAD_TYPE":
                refusal.retryAfter = max(1, math.ceil(wait))
            link.send(refusal, client_msg_id)
            return
        if handler is None:
            link.send(cm.common.ProtoErrorRes(
                errorCode="UNSUPPORTED_MESSAGE",
                description=f"Unsupported message {cm.payload_name(envelope.payloadType)}"), client_msg_id)
            return
        try:
            request = cm.unwrap(envelope)
        except DecodeError as exc:
            link.send(M.ProtoOAErrorRes(errorCode="INVALID_REQUEST", description=str(exc)), client_msg_id)
            return
        named = request.ctidTraderAccountId if "ctidTraderAccountId" in request.DESCRIPTOR.fields_by_name else 0
        if named and self._unreachable(named):
            link.close()
            return
        median = self._latency.get(named, 0.0)
        if median:
            await asyncio.sleep(median * math.exp(self._latency_rng.gauss(0.0, 0.25)))
        try:
            if self.faults.unknown_errors > 0:
                self.faults.unknown_errors -= 1
                raise _Refused("UNKNOWN_ERROR", "Internal server error")
            await handler(link, request, client_msg_id)
        except _Refused as refused:
            link.send(M.ProtoOAErrorRes(errorCode=refused.code, description=refused.description,
                                        ctidTraderAccountId=refused.account_id), client_msg_id)
        except Exception:
            # A fault of this simulator, not of the client: answer as a real server's internal
            # error would, and keep the link, so the client's test fails on the answer, not a hang.
            log.exception("the simulated server failed on %s", type(request).__name__)
            link.send(M.ProtoOAErrorRes(errorCode="UNKNOWN_ERROR", description="Internal server error"),
                      client_msg_id)

    def _need_app(self, link: _Link) -> None:
        if not link.app_authorized:
            raise _Refused("CH_CLIENT_NOT_AUTHENTICATED", "Open API application is not authorized")

    def _need_account(self, link: _Link, account_id: int) -> SimCTraderAccount:
        self._need_app(link)
        account = self.accounts.get(account_id)
        if account is not None and account.is_live != self.live:
            raise _Refused("CANT_ROUTE_REQUEST", "Account is not on this environment (live/demo)", account_id)
        if account is None or account_id not in link.accounts:
            raise _Refused("ACCOUNT_NOT_AUTHORIZED", "Trading account is not authorized", account_id)
        token = link.accounts[account_id]
        try:
            self.tokens.check(token)
        except TokenRefused as exc:
            raise _Refused(exc.code, exc.description, account_id) from None
        return account

    # ------------------------------------------------------------------ session
    async def _app_auth(self, link, req, cid) -> None:
        if link.app_authorized:
            raise _Refused("CH_CLIENT_ALREADY_AUTHENTICATED", "Open API application is already authorized")
        if self._apps.get(req.clientId) != req.clientSecret:
            raise _Refused("CH_CLIENT_AUTH_FAILURE", "Client authorization failed: wrong client id or secret")
        limit = self.max_links_per_application
        if limit is not None and sum(1 for o in self.links if o.app_authorized and o.client_id == req.clientId) >= limit:
            raise _Refused("CONNECTIONS_LIMIT_EXCEEDED", f"The application already has {limit} connections")
        link.app_authorized = True
        link.client_id = req.clientId
        link.send(M.ProtoOAApplicationAuthRes(), cid)

    async def _account_list(self, link, req, cid) -> None:
        self._need_app(link)
        grant = self._check_token(req.accessToken)
        reply = M.ProtoOAGetAccountListByAccessTokenRes(accessToken=req.accessToken, permissionScope=grant.scope)
        for account_id in grant.account_ids:
            account = self.accounts[account_id]
            reply.ctidTraderAccount.add(ctidTraderAccountId=account_id, isLive=account.is_live,
                                        traderLogin=account.login, brokerTitleShort=account.broker.broker_title)
        link.send(reply, cid)

    def _check_token(self, token: str, account_id: int = 0) -> Grant:
        try:
            return self.tokens.check(token)
        except TokenRefused as exc:
            raise _Refused(exc.code, exc.description, account_id) from None

    async def _account_auth(self, link, req, cid) -> None:
        self._need_app(link)
        account_id = req.ctidTraderAccountId
        grant = self._check_token(req.accessToken, account_id)
        account = self.accounts.get(account_id)
        if account is None or account_id not in grant.account_ids:
            raise _Refused("CH_CTID_TRADER_ACCOUNT_NOT_FOUND", f"Trading account {account_id} not found", account_id)
        if account.is_live != self.live:
            raise _Refused("CANT_ROUTE_REQUEST", "Account is not on this environment (live/demo)", account_id)
        if link.accounts.get(account_id) == req.accessToken:
            raise _Refused("ALREADY_LOGGED_IN", "Trading account is already authorized in this channel", account_id)
        link.accounts[account_id] = req.accessToken
        link.spots.pop(account_id, None)  # subscriptions do not survive a new authorization
        link.send(M.ProtoOAAccountAuthRes(ctidTraderAccountId=account_id), cid)

    async def _refresh(self, link, req, cid) -> None:
        self._need_app(link)
        try:
            old, new = self.tokens.refresh(req.refreshToken)
        except TokenRefused as exc:
            raise _Refused(exc.code, exc.description) from None
        link.send(M.ProtoOARefreshTokenRes(accessToken=new.access_token, tokenType="bearer",
                                           expiresIn=new.expires_in, refreshToken=new.refresh_token), cid)
        # The old pair is dead at once: every session it held ends, on every link.
        for other in self.links:
            ended = [a for a, token in other.accounts.items() if token == old.access_token]
            for account_id in ended:
                del other.accounts[account_id]
                other.spots.pop(account_id, None)
            if ended:
                other.send(M.ProtoOAAccountsTokenInvalidatedEvent(ctidTraderAccountIds=ended,
                                                                  reason="Access token was refreshed"))
            if self.faults.spurious_disconnect_on_refresh:
                for account_id in ended:
                    other.send(M.ProtoOAAccountDisconnectEvent(ctidTraderAccountId=account_id))

    async def _logout(self, link, req, cid) -> None:
        self._need_account(link, req.ctidTraderAccountId)
        del link.accounts[req.ctidTraderAccountId]
        link.send(M.ProtoOAAccountLogoutRes(ctidTraderAccountId=req.ctidTraderAccountId), cid)

    async def _version(self, link, req, cid) -> None:
        link.send(M.ProtoOAVersionRes(version="91"), cid)

    # ------------------------------------------------------------------ reference data
    async def _trader(self, link, req, cid) -> None:
        account = self._need_account(link, req.ctidTraderAccountId)
        link.send(M.ProtoOATraderRes(ctidTraderAccountId=account.account_id, trader=account.trader()), cid)

    async def _symbols(self, link, req, cid) -> None:
        account = self._need_account(link, req.ctidTraderAccountId)
        reply = M.ProtoOASymbolsListRes(ctidTraderAccountId=account.account_id)
        reply.symbol.extend(account.symbols_light())
        link.send(reply, cid)

    async def _assets(self, link, req, cid) -> None:
        account = self._need_account(link, req.ctidTraderAccountId)
        link.send(M.ProtoOAAssetListRes(ctidTraderAccountId=account.account_id, asset=account.assets()), cid)

    async def _asset_classes(self, link, req, cid) -> None:
        account = self._need_account(link, req.ctidTraderAccountId)
        link.send(M.ProtoOAAssetClassListRes(ctidTraderAccountId=account.account_id,
                                             assetClass=account.symbols.asset_classes()), cid)

    async def _categories(self, link, req, cid) -> None:
        account = self._need_account(link, req.ctidTraderAccountId)
        link.send(M.ProtoOASymbolCategoryListRes(ctidTraderAccountId=account.account_id,
                                                 symbolCategory=account.symbols.categories()), cid)

    async def _conversion(self, link, req, cid) -> None:
        account = self._need_account(link, req.ctidTraderAccountId)
        chain = account.symbols.conversion(req.firstAssetId, req.lastAssetId)
        if chain is None:
            raise _Refused("SYMBOL_NOT_FOUND", f"No symbols convert asset {req.firstAssetId} into {req.lastAssetId}",
                           account.account_id)
        link.send(M.ProtoOASymbolsForConversionRes(ctidTraderAccountId=account.account_id, symbol=chain), cid)

    async def _symbol_by_id(self, link, req, cid) -> None:
        account = self._need_account(link, req.ctidTraderAccountId)
        reply = M.ProtoOASymbolByIdRes(ctidTraderAccountId=account.account_id)
        for symbol_id in req.symbolId:
            symbol = account.broker.by_id.get(symbol_id)
            if symbol is None:
                raise _Refused("SYMBOL_NOT_FOUND", f"Symbol with id {symbol_id} not found", account.account_id)
            reply.symbol.append(account.symbol_full(symbol))
        link.send(reply, cid)

    async def _reconcile(self, link, req, cid) -> None:
        account = self._need_account(link, req.ctidTraderAccountId)
        positions, orders = account.reconcile(protection_orders=req.returnProtectionOrders)
        reply = M.ProtoOAReconcileRes(ctidTraderAccountId=account.account_id)
        reply.position.extend(positions)
        reply.order.extend(orders)
        link.send(reply, cid)

    # ------------------------------------------------------------------ history and money
    def _window(self, req, account_id: int) -> tuple[int, int]:
        try:
            return window(req.fromTimestamp if req.HasField("fromTimestamp") else None,
                          req.toTimestamp if req.HasField("toTimestamp") else None)
        except BadWindow as exc:
            raise _Refused("INCORRECT_BOUNDARIES", str(exc), account_id) from None

    def _cut(self, rows: list, max_rows: int | None = None) -> tuple[list, bool]:
        return cut(rows, max_rows, chunk=self.history_chunk, newest=self.history_cut_keeps == "newest")

    async def _deal_list(self, link, req, cid) -> None:
        account = self._need_account(link, req.ctidTraderAccountId)
        start, end = self._window(req, account.account_id)
        self._sync(account)
        deals, more = self._cut(account.history.between(start, end), req.maxRows if req.HasField("maxRows") else None)
        link.send(M.ProtoOADealListRes(ctidTraderAccountId=account.account_id, deal=deals, hasMore=more), cid)

    async def _deals_of_position(self, link, req, cid) -> None:
        account = self._need_account(link, req.ctidTraderAccountId)
        start, end = self._window(req, account.account_id)
        self._sync(account)
        deals, more = self._cut(account.history.of_position(req.positionId, start, end))
        link.send(M.ProtoOADealListByPositionIdRes(ctidTraderAccountId=account.account_id, deal=deals,
                                                   hasMore=more), cid)

    async def _order_list(self, link, req, cid) -> None:
        account = self._need_account(link, req.ctidTraderAccountId)
        start, end = self._window(req, account.account_id)
        self._sync(account)
        orders, more = self._cut(account.orders_between(start, end))
        link.send(M.ProtoOAOrderListRes(ctidTraderAccountId=account.account_id, order=orders, hasMore=more), cid)

    async def _orders_of_position(self, link, req, cid) -> None:
        account = self._need_account(link, req.ctidTraderAccountId)
        start, end = self._window(req, account.account_id)
        self._sync(account)
        orders, more = self._cut(account.orders_between(start, end, req.positionId))
        orders.reverse()  # newest first, as the proto says
        link.send(M.ProtoOAOrderListByPositionIdRes(ctidTraderAccountId=account.account_id, order=orders,
                                                    hasMore=more), cid)

    async def _order_details(self, link, req, cid) -> None:
        account = self._need_account(link, req.ctidTraderAccountId)
        self._sync(account)
        try:
            order, deals = account.order_details(req.orderId)
        except TradeRefusal as refusal:
            raise _Refused(refusal.code, refusal.description, account.account_id) from None
        link.send(M.ProtoOAOrderDetailsRes(ctidTraderAccountId=account.account_id, order=order, deal=deals), cid)

    async def _cash_flow(self, link, req, cid) -> None:
        account = self._need_account(link, req.ctidTraderAccountId)
        start, end = self._window(req, account.account_id)
        if end - start > _CASH_FLOW_WINDOW_MS:
            raise _Refused("INCORRECT_BOUNDARIES", "toTimestamp - fromTimestamp must be at most one week",
                           account.account_id)
        self._sync(account)
        flows = [f for f in account.cash_flows if start <= f.changeBalanceTimestamp <= end]
        link.send(M.ProtoOACashFlowHistoryListRes(ctidTraderAccountId=account.account_id, depositWithdraw=flows), cid)

    async def _deal_offsets(self, link, req, cid) -> None:
        account = self._need_account(link, req.ctidTraderAccountId)
        self._sync(account)
        found = account.history.offsets(req.dealId)
        if found is None:
            raise _Refused("ENTITY_NOT_FOUND", f"Deal with id {req.dealId} not found", account.account_id)
        offset_by, offsetting = found
        link.send(M.ProtoOADealOffsetListRes(ctidTraderAccountId=account.account_id, offsetBy=offset_by,
                                             offsetting=offsetting), cid)

    async def _unrealized_pnl(self, link, req, cid) -> None:
        account = self._need_account(link, req.ctidTraderAccountId)
        self._sync(account)
        link.send(M.ProtoOAGetPositionUnrealizedPnLRes(ctidTraderAccountId=account.account_id,
                                                       positionUnrealizedPnL=account.unrealized_pnl(),
                                                       moneyDigits=account.money_digits), cid)

    # ------------------------------------------------------------------ trading
    async def _trade(self, link: _Link, cid: str | None, account_id: int, act: Callable[[], list]) -> None:
        account = self._need_account(link, account_id)
        try:
            events = act()
        except TradeRefusal as refusal:
            channel = self.faults.refusal_channel
            if refusal.as_error_res or channel == "error_res":
                raise _Refused(refusal.code, refusal.description, account.account_id) from None
            if channel == "rejected":
                link.send(M.ProtoOAExecutionEvent(ctidTraderAccountId=account.account_id,
                                                  executionType=MM.ORDER_REJECTED, errorCode=refusal.code), cid)
                return
            link.send(M.ProtoOAOrderErrorEvent(ctidTraderAccountId=account.account_id, errorCode=refusal.code,
                                               orderId=refusal.order_id, positionId=refusal.position_id,
                                               description=refusal.description), cid)
            return
        self._deliver(link, account, events, cid)

    def _deliver(self, link: _Link, account: SimCTraderAccount, events: list, cid: str | None) -> None:
        """The first event answers the request; the rest, and every other link's copies, are pushed."""
        for index, event in enumerate(events):
            for other in self.links:
                if other is link:
                    carry = cid if index == 0 or self.faults.follow_ups_carry_id else None
                    other.send(event, carry)
                elif account.account_id in other.accounts:
                    other.send(event)

    async def _new_order(self, link, req, cid) -> None:
        account = self._need_account(link, req.ctidTraderAccountId)
        if self.faults.unanswered_orders > 0:
            self.faults.unanswered_orders -= 1
            if self.faults.execute_unanswered:
                with contextlib.suppress(TradeRefusal):
                    account.new_order(req)
            return
        if self.faults.drop_after_fill > 0:
            self.faults.drop_after_fill -= 1
            with contextlib.suppress(TradeRefusal):
                account.new_order(req)
            link.close()
            return
        split = self.faults.split_fills > 0 and req.orderType in (MM.MARKET, MM.MARKET_RANGE)
        if split:
            self.faults.split_fills -= 1
        await self._trade(link, cid, req.ctidTraderAccountId, lambda: account.new_order(req, split=split))

    async def _close_position(self, link, req, cid) -> None:
        account = self._need_account(link, req.ctidTraderAccountId)
        await self._trade(link, cid, req.ctidTraderAccountId, lambda: account.close_position(req))

    async def _amend_position(self, link, req, cid) -> None:
        account = self._need_account(link, req.ctidTraderAccountId)
        await self._trade(link, cid, req.ctidTraderAccountId, lambda: account.amend_position(req))

    async def _amend_order(self, link, req, cid) -> None:
        account = self._need_account(link, req.ctidTraderAccountId)
        await self._trade(link, cid, req.ctidTraderAccountId, lambda: account.amend_order(req))

    async def _cancel_order(self, link, req, cid) -> None:
        account = self._need_account(link, req.ctidTraderAccountId)
        if self.faults.rejected_cancels > 0:
            events = account.cancel_rejected(req.orderId)
            if events is not None:
                self.faults.rejected_cancels -= 1
                self._deliver(link, account, events, cid)
                return
        await self._trade(link, cid, req.ctidTraderAccountId, lambda: account.cancel_order(req))

    # ------------------------------------------------------------------ spots
    async def _subscribe_spots(self, link, req, cid) -> None:
        account = self._need_account(link, req.ctidTraderAccountId)
        subscribed = link.spots.setdefault(account.account_id, {})
        for symbol_id in req.symbolId:
            if symbol_id not in account.broker.by_id:
                raise _Refused("SYMBOL_NOT_FOUND", f"Symbol with id {symbol_id} not found", account.account_id)
            if symbol_id in subscribed:
                raise _Refused("ALREADY_SUBSCRIBED", f"Already subscribed to spots of symbol {symbol_id}",
                               account.account_id)
        link.send(M.ProtoOASubscribeSpotsRes(ctidTraderAccountId=account.account_id), cid)
        for symbol_id in req.symbolId:
            subscribed[symbol_id] = (0.0, 0.0)
        self._push_spots(link)

    async def _unsubscribe_spots(self, link, req, cid) -> None:
        account = self._need_account(link, req.ctidTraderAccountId)
        subscribed = link.spots.get(account.account_id, {})
        for symbol_id in req.symbolId:
            subscribed.pop(symbol_id, None)
        link.send(M.ProtoOAUnsubscribeSpotsRes(ctidTraderAccountId=account.account_id), cid)

    def _push_spots(self, link: _Link) -> None:
        for account_id, subscribed in link.spots.items():
            account = self.accounts[account_id]
            for symbol_id, (last_bid, last_ask) in subscribed.items():
                symbol = account.broker.by_id[symbol_id]
                bid, ask = account.quote(symbol)
                if (bid, ask) == (last_bid, last_ask):
                    continue
                event = M.ProtoOASpotEvent(ctidTraderAccountId=account_id, symbolId=symbol_id,
                                           timestamp=int(self.clock.time() * 1000))
                if bid != last_bid:
                    event.bid = int(round(bid * _PRICE_SCALE))
                if ask != last_ask:
                    event.ask = int(round(ask * _PRICE_SCALE))
                subscribed[symbol_id] = (bid, ask)
                link.send(event)


class _Refused(Exception):
    def __init__(self, code: str, description: str, account_id: int = 0) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.account_id = account_id
