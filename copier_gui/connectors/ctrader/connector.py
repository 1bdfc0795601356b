"""The cTrader connector: one account over the Open API behind the core's async connector port.

cTrader pushes every execution, so ``snapshot()`` answers from a mirror of the account's positions
and pending orders that the execution events keep, with no round trip: the master's poll costs
nothing on the wire. The mirror is rebuilt from ``ProtoOAReconcileReq`` on every connect (so after
every reconnect), after a trade whose answer never came, and once a minute; while the link is down
``snapshot()`` raises, never returning a stale mirror as if it were live.

Tags: cTrader has no magic number, so the copier's magic travels as the label (in decimal) and
its comment as the comment; both come back on positions, orders and, through the order that made
it, on each deal of a netted position. Volumes are units on the port and cents of a unit on the
wire. Accounts of one cTrader ID share one link (:mod:`.links`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets as _secrets
import ssl
from collections import OrderedDict
from collections.abc import Callable, Iterable

from google.protobuf.message import Message

from copier_gui import ctrader_messages as cm
from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.connectors.ctrader import reasons
from copier_gui.connectors.ctrader.capabilities import (
    CLIENT_ORDER_ID_LIMIT,
    COMMENT_LIMIT,
    UNCONNECTED,
    account_capabilities,
)
from copier_gui.connectors.ctrader.errors import ConnectionLost, OpenApiError
from copier_gui.connectors.ctrader.links import POOL, LinkPool, LinkUnavailable, SharedLink
from copier_gui.connectors.ctrader.session import AppCredentials, TokenStore
from copier_gui.connectors.ctrader.translate import (
    PENDING_TYPES,
    Refusal,
    check_worst_price,
    conversion,
    currencies,
    deal_share,
    fit_text,
    fit_volume,
    label_for,
    magic_of,
    money,
    pending_order_type,
    relative_stops,
    round_price,
    spot_price,
    stop_limit_slippage,
    to_account_state,
    to_deal,
    to_pending_order,
    to_position,
    to_symbol_spec,
    trade_side,
    units,
    widen_to_spreads,
)
from copier_gui.connectors.ctrader.translate import blockers as trading_blockers
from copier_gui.core.model import (
    AccountState,
    CancelPending,
    ClosePosition,
    Deal,
    DealShare,
    ExecutionReport,
    Filling,
    ModifyPending,
    ModifyStops,
    OpenPosition,
    PendingOrder,
    PlacePending,
    Position,
    Reason,
    Side,
    Snapshot,
    Status,
    SymbolSpec,
)
from copier_gui.core.ports import Capabilities, ConnectorError

log = logging.getLogger(__name__)

M = cm.messages
MM = cm.model

MagicFilter = Callable[[int], bool] | Iterable[int] | int | None

# How long a market order may take from its acceptance to its last fill before the connector
# stops waiting (the order may still fill: the mirror shows it when it does).
FILL_TIMEOUT_S = 30.0
# A quote older than this is asked for again before it prices an order (a subscription can die
# silently with a session).
QUOTE_FRESH_S = 2.0
QUOTE_WAIT_S = 3.0
# The mirror is checked against the server this often even when nothing seems amiss.
RECONCILE_EVERY_S = 60.0
_ORDER_LOG = 512  # recent orders whose events are kept for a request waiting on them
_FINAL = frozenset({reasons.ORDER_CANCELLED, reasons.ORDER_EXPIRED, reasons.ORDER_REJECTED})
# Trade requests are never sent twice by the connector: a refusal goes back to the core as a report.
_TRADES = frozenset({"ProtoOANewOrderReq", "ProtoOAClosePositionReq", "ProtoOAAmendPositionSLTPReq",
                     "ProtoOAAmendOrderReq", "ProtoOACancelOrderReq"})
_RATE_LIMITED = frozenset({"REQUEST_FREQUENCY_EXCEEDED", "BLOCKED_PAYLOAD_TYPE"})
_READ_RETRIES = 3
# After the server ends an account's session on a live link, how often and how long the mirror
# is read again while the session is authorized anew.
_RECOVER_EVERY_S = 0.25
_RECOVER_FOR_S = 30.0


def _magic_predicate(magic_filter: MagicFilter) -> Callable[[int], bool] | None:
    if magic_filter is None:
        return None
    if callable(magic_filter):
        return magic_filter
    wanted = {int(magic_filter)} if isinstance(magic_filter, int) else {int(m) for m in magic_filter}
    return wanted.__contains__


class _Track:
    """The execution events of one order, for a request waiting on its end."""

    __slots__ = ("changed", "events")

    def __init__(self) -> None:
        self.events: list[M.ProtoOAExecutionEvent] = []
        self.changed = asyncio.Event()


class _Unsupported(Exception):
    """The server does not answer this kind of request."""


class CTraderConnector:
    """One cTrader account (``ctid_account_id``, the ctidTraderAccountId) through the Open API.

    ``tokens`` holds the trader's token pair (a :class:`~.token_keyring.KeyringTokenStore`); a
    refresh is saved there before it is used. ``magic_filter`` limits snapshots to matching
    positions and orders, as for MetaTrader 5. ``pool`` is the process's shared links unless a
    test gives its own.
    """

    def __init__(
        self,
        account_id: str,
        *,
        host: str,
        port: int,
        app: AppCredentials,
        ctid_account_id: int,
        tokens: TokenStore,
        clock: Clock = SYSTEM_CLOCK,
        ssl_context: ssl.SSLContext | None = None,
        magic_filter: MagicFilter = None,
        pool: LinkPool | None = None,
        connection_options: dict | None = None,
        fill_timeout: float = FILL_TIMEOUT_S,
        reconcile_every: float = RECONCILE_EVERY_S,
    ) -> None:
        self.account_id = account_id
        self.host = host
        self.port = int(port)
        self.ctid = int(ctid_account_id)
        self._app = app
        self._store = tokens
        self._clock = clock
        self._ssl_context = ssl_context
        self._keep_magic = _magic_predicate(magic_filter)
        self._pool = pool if pool is not None else POOL
        self._connection_options = connection_options
        self.fill_timeout = fill_timeout
        self.reconcile_every = reconcile_every
        self._link: SharedLink | None = None
        self._capabilities = UNCONNECTED
        self._trader = None
        self._company = "the cTrader broker"
        self._server = host
        self._currency = ""
        self._assets: dict[int, str] | None = None
        self._unsupported: set[str] = set()
        # Reference data, by symbol id and name.
        self._light: dict[int, MM.ProtoOALightSymbol] = {}
        self._names: dict[str, int] = {}
        self._full: dict[int, MM.ProtoOASymbol] = {}
        self._quotes: dict[int, tuple[float, float, float]] = {}  # id -> (bid, ask, monotonic at receipt)
        self._subscribed: set[int] = set()
        self._quote_arrived = asyncio.Event()
        # The mirror.
        self._live = False
        self._down = "not connected yet"
        self._positions: dict[int, MM.ProtoOAPosition] = {}
        self._orders: dict[int, MM.ProtoOAOrder] = {}
        self._closed_ids: set[int] = set()
        self._ledger: dict[int, dict[int, tuple[int, DealShare]]] = {}  # netted: position -> deal -> share
        self._complete: set[int] = set()  # netted positions whose ledger holds every deal
        self._fills: dict[int, dict[int, tuple[MM.ProtoOADeal, str]]] = {}  # position -> deal -> (deal, comment)
        self._order_tags: OrderedDict[int, tuple[str, str]] = OrderedDict()  # order -> (label, comment)
        self._pnl: dict[int, float] = {}
        self._seq = 0
        self._touched: dict[tuple[str, int], int] = {}
        self._buffer: list[Message] | None = None
        self._tracks: OrderedDict[int, _Track] = OrderedDict()
        self._version = 0
        self._cached: tuple[int, tuple[Position, ...], tuple[PendingOrder, ...]] | None = None
        self._tasks: set[asyncio.Task] = set()
        self._reconcile_lock = asyncio.Lock()
        self._ids = itertools.count(1)
        self._id_prefix = f"cg{_secrets.token_hex(3)}"
        self._closed = False
        self._reconcile_task: asyncio.Task | None = None

    def __repr__(self) -> str:
        return f"CTraderConnector({self.account_id!r}, ctid={self.ctid}, host={self.host!r})"

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    @property
    def link(self) -> SharedLink | None:
        return self._link

    # ================================================================== session
    async def connect(self) -> AccountState:
        self._closed = False
        link = self._link or self._pool.link(host=self.host, port=self.port, app=self._app, store=self._store,
                                             clock=self._clock, ssl_context=self._ssl_context,
                                             connection_options=self._connection_options)
        try:
            link.attach(self.ctid, self)
            self._link = link
            await link.ensure()
            entry = link.accounts.get(self.ctid)
            if entry is None:
                raise LinkUnavailable(f"cTrader account {self.ctid} is not among the accounts this authorization "
                                      "covers: authorize the copier for it, or correct the account id")
            self._subscribed.clear()
            await link.authorize(self.ctid)
            trader = (await self._ask(M.ProtoOATraderReq(ctidTraderAccountId=self.ctid))).trader
            self._remember(trader, entry)
            await self._load_assets()
            await self._load_symbols()
            await self._reconcile()
        except LinkUnavailable as exc:
            self._set_down(exc.message)
            raise ConnectorError(f"{self.account_id}: {exc.message}") from None
        except OpenApiError as exc:
            self._set_down(str(exc))
            raise ConnectorError(f"{self.account_id}: could not start the session of cTrader account {self.ctid} "
                                 f"({exc.code}: {exc.description})") from None
        if self._reconcile_task is None or self._reconcile_task.done():
            self._reconcile_task = self._spawn(self._reconcile_loop(), f"ctrader-reconcile-{self.ctid}")
        state = await self.account()
        if state.trading_blocked:
            log.warning("%s: connected to cTrader account %s, but copying to it cannot trade: %s",
                        self.account_id, state.login, state.trading_blocked)
        log.info("%s: connected to cTrader account %s (%s, %s)", self.account_id, state.login, self._company,
                 "hedged" if self._capabilities.hedging else "netted")
        return state

    async def close_session(self) -> None:
        """Leave the shared link (closing it when no account is left on it); safe to call twice."""
        self._closed = True
        self._set_down("the session was closed by the copier")
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        for task in list(self._tasks):
            if task is not current:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        link, self._link = self._link, None
        if link is not None:
            await link.detach(self.ctid, self)

    async def aclose(self) -> None:
        await self.close_session()

    async def account(self) -> AccountState:
        self._require_link()
        try:
            trader = (await self._ask(M.ProtoOATraderReq(ctidTraderAccountId=self.ctid))).trader
        except OpenApiError as exc:
            raise self._read_error("the account", exc) from None
        self._trader = trader
        digits = self._money_digits()
        equity = None
        if "pnl" not in self._unsupported:
            try:
                reply = await self._ask(M.ProtoOAGetPositionUnrealizedPnLReq(ctidTraderAccountId=self.ctid))
                scale = reply.moneyDigits if reply.HasField("moneyDigits") else digits
                self._pnl = {p.positionId: money(p.netUnrealizedPnL, scale) for p in reply.positionUnrealizedPnL}
                equity = round(money(trader.balance, digits) + sum(self._pnl.values()), digits)
                self._version += 1
            except OpenApiError as exc:
                if exc.code != "UNSUPPORTED_MESSAGE":
                    raise self._read_error("the account's open profit", exc) from None
                self._unsupported.add("pnl")
        margin = sum(money(p.usedMargin, p.moneyDigits if p.HasField("moneyDigits") else digits)
                     for p in self._positions.values() if p.HasField("usedMargin")) + 0.0
        link = self._link
        blocked = trading_blockers(trader, can_trade_scope=link.can_trade if link is not None else True)
        return to_account_state(trader, currency=self._currency, server=self._server, company=self._company,
                                equity=equity, margin=round(margin, digits), blocked=blocked)

    def _remember(self, trader, entry) -> None:
        self._trader = trader
        self._capabilities = account_capabilities(trader)
        self._company = trader.brokerName or entry.broker or "the cTrader broker"
        self._server = f"{entry.broker or self._company} cTrader {'live' if entry.is_live else 'demo'}"

    def _money_digits(self) -> int:
        trader = self._trader
        return int(trader.moneyDigits) if trader is not None and trader.HasField("moneyDigits") else 2

    async def _load_assets(self) -> None:
        if self._assets is None and "assets" not in self._unsupported:
            try:
                reply = await self._ask(M.ProtoOAAssetListReq(ctidTraderAccountId=self.ctid))
                self._assets = {a.assetId: a.name for a in reply.asset}
            except OpenApiError as exc:
                if exc.code != "UNSUPPORTED_MESSAGE":
                    raise
                self._unsupported.add("assets")
                log.info("%s: the Open API server lists no assets: the account currency stays unknown",
                         self.account_id)
        if self._assets and self._trader is not None:
            self._currency = self._assets.get(self._trader.depositAssetId, "")

    async def _load_symbols(self) -> None:
        reply = await self._ask(M.ProtoOASymbolsListReq(ctidTraderAccountId=self.ctid))
        self._light = {s.symbolId: s for s in reply.symbol}
        # Names are the broker's own ("EUR/USD", "US 30"); the core maps them per account.
        self._names = {s.symbolName: s.symbolId for s in reply.symbol}

    async def _load_full(self, ids: Iterable[int]) -> None:
        wanted = sorted({i for i in ids if i not in self._full and i in self._light})
        if not wanted:
            return
        reply = await self._ask(M.ProtoOASymbolByIdReq(ctidTraderAccountId=self.ctid, symbolId=wanted))
        for symbol in reply.symbol:
            self._full[symbol.symbolId] = symbol
        self._version += 1

    # ================================================================== link hooks
    def on_event(self, message: Message, client_msg_id: str | None) -> None:
        if isinstance(message, M.ProtoOASpotEvent):
            self._on_spot(message)
            return
        if self._buffer is not None:
            self._buffer.append(message)
        if isinstance(message, M.ProtoOAExecutionEvent):
            self._apply(message, reply_since=None)
        elif isinstance(message, M.ProtoOATraderUpdatedEvent):
            self._trader = message.trader
        elif isinstance(message, M.ProtoOASymbolChangedEvent):
            for symbol_id in message.symbolId:
                self._full.pop(symbol_id, None)
        elif isinstance(message, M.ProtoOAOrderErrorEvent) and message.orderId:
            # A pushed refusal of an order already accepted (a pending order that could not fill).
            track = self._tracks.get(message.orderId)
            if track is not None:
                track.changed.set()

    def on_link_down(self, reason: str) -> None:
        self._set_down(f"the link to the cTrader Open API closed: {reason}")

    def on_account_lost(self, reason: str) -> None:
        self._set_down(f"the session of cTrader account {self.ctid} ended and could not be authorized again "
                       f"({reason}): authorize the copier for it again")

    def on_reauthorized(self) -> None:
        # A new authorization starts without the old one's spot subscriptions.
        self._subscribed.clear()

    def on_session_ended(self, reason: str) -> None:
        """The server ended the account's session while the link stays up (weekends, a token
        rotation): events may have been missed, so the mirror is not live until the session is
        authorized again (the session does that) and the mirror reconciled."""
        self._set_down(f"the server ended the session of cTrader account {self.ctid} ({reason}); "
                       "authorizing it again")
        self._subscribed.clear()
        self._spawn(self._recover(), f"ctrader-recover-{self.ctid}")

    async def _recover(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _RECOVER_FOR_S
        pause = 0.02  # the session is usually authorized again at once
        while loop.time() < deadline and not self._closed:
            await asyncio.sleep(pause)
            pause = _RECOVER_EVERY_S
            link = self._link
            session = link.session if link is not None else None
            if session is None or not link.up or self.ctid in session.lost:
                return  # the link's own end, or a lost account, has said why already
            if self.ctid not in session.authorized:
                with contextlib.suppress(LinkUnavailable):
                    await link.authorize(self.ctid)
                continue
            try:
                await self._reconcile()
                log.info("%s: the session of cTrader account %d is back and its mirror reconciled",
                         self.account_id, self.ctid)
                return
            except OpenApiError as exc:
                log.info("%s: the mirror is not read yet after the session ended (%s)", self.account_id, exc.code)

    def _set_down(self, reason: str) -> None:
        self._live = False
        self._down = reason
        for track in self._tracks.values():
            track.changed.set()

    # ================================================================== the mirror
    def _touch(self, kind: str, key: int) -> None:
        self._touched[(kind, key)] = self._seq

    def _apply(self, event: M.ProtoOAExecutionEvent, *, reply_since: int | None) -> None:
        """Bring the mirror up to one execution event. A request's own reply (``reply_since`` the
        event sequence when the request left) may be older than events dispatched before it was
        read: whatever such an event touched, the reply leaves alone."""
        if reply_since is None:
            self._seq += 1

        def fresh(kind: str, key: int) -> bool:
            return reply_since is None or self._touched.get((kind, key), -1) <= reply_since

        order = event.order if event.HasField("order") else None
        if order is not None:
            self._order_tags[order.orderId] = (order.tradeData.label, order.tradeData.comment)
            self._order_tags.move_to_end(order.orderId)
            while len(self._order_tags) > 4 * _ORDER_LOG:
                self._order_tags.popitem(last=False)
            track = self._tracks.get(order.orderId)
            if track is None:
                track = self._tracks[order.orderId] = _Track()
                while len(self._tracks) > _ORDER_LOG:
                    self._tracks.popitem(last=False)
            track.events.append(event)
            track.changed.set()
        if event.HasField("deal") and event.deal.dealStatus in (MM.FILLED, MM.PARTIALLY_FILLED):
            self._record_deal(event.deal, order, event.position if event.HasField("position") else None)
        if event.HasField("position") and fresh("position", event.position.positionId):
            self._apply_position(event.position)
            if reply_since is None:
                self._touch("position", event.position.positionId)
        if order is not None and fresh("order", order.orderId):
            self._apply_order(event, order)
            if reply_since is None:
                self._touch("order", order.orderId)
        self._version += 1

    def _apply_position(self, p: MM.ProtoOAPosition) -> None:
        pid = p.positionId
        if p.positionStatus == MM.POSITION_STATUS_OPEN:
            if pid in self._closed_ids:
                return
            self._positions[pid] = p
            symbol_id = p.tradeData.symbolId
            if symbol_id not in self._full:
                self._spawn(self._quietly(self._load_full([symbol_id])), f"ctrader-symbol-{symbol_id}")
            self._want_quotes([symbol_id])
        elif p.positionStatus in (MM.POSITION_STATUS_CLOSED, MM.POSITION_STATUS_ERROR):
            self._positions.pop(pid, None)
            self._closed_ids.add(pid)
            self._ledger.pop(pid, None)
            self._complete.discard(pid)
            self._pnl.pop(pid, None)

    def _apply_order(self, event: M.ProtoOAExecutionEvent, o: MM.ProtoOAOrder) -> None:
        if o.orderType not in PENDING_TYPES or o.closingOrder:
            return
        if o.orderStatus == MM.ORDER_STATUS_ACCEPTED and event.executionType not in _FINAL:
            self._orders[o.orderId] = o
        else:
            self._orders.pop(o.orderId, None)

    def _record_deal(self, deal: MM.ProtoOADeal, order: MM.ProtoOAOrder | None, position) -> None:
        pid = deal.positionId
        label, comment = (order.tradeData.label, order.tradeData.comment) if order is not None else \
            self._order_tags.get(deal.orderId, ("", ""))
        self._fills.setdefault(pid, {})[deal.dealId] = (deal, comment)
        if self._capabilities.hedging:
            return
        ledger = self._ledger.setdefault(pid, {})
        if pid not in self._positions and position is not None and \
                position.positionStatus == MM.POSITION_STATUS_OPEN and \
                position.tradeData.volume == deal.filledVolume and not ledger:
            # This deal opened the position: its ledger starts complete.
            self._complete.add(pid)
        share = deal_share(deal, order) if order is not None else \
            DealShare(magic_of(label), comment, units(deal.filledVolume) * (1 if deal.tradeSide == MM.BUY else -1))
        ledger[deal.dealId] = (int(deal.executionTimestamp), share)

    def _on_spot(self, spot: M.ProtoOASpotEvent) -> None:
        old = self._quotes.get(spot.symbolId, (0.0, 0.0, 0.0))
        bid = spot_price(spot.bid) if spot.HasField("bid") else old[0]
        ask = spot_price(spot.ask) if spot.HasField("ask") else old[1]
        self._quotes[spot.symbolId] = (bid, ask, self._clock.monotonic())
        self._quote_arrived.set()
        self._version += 1

    async def _reconcile(self) -> None:
        """Replace the mirror by the server's open positions and pending orders, then replay the
        events that came while the answer travelled (each carries its entity's whole state, so the
        newest wins either way)."""
        async with self._reconcile_lock:
            self._buffer = []
            try:
                reply = await self._ask(M.ProtoOAReconcileReq(ctidTraderAccountId=self.ctid))
                buffered, self._buffer = self._buffer, None
            finally:
                self._buffer = None
            kept_ledgers = {pid: self._ledger[pid] for pid in self._complete if pid in self._ledger}
            self._positions = {p.positionId: p for p in reply.position
                               if p.positionStatus == MM.POSITION_STATUS_OPEN}
            self._orders = {o.orderId: o for o in reply.order if o.orderType in PENDING_TYPES}
            for o in reply.order:
                self._order_tags[o.orderId] = (o.tradeData.label, o.tradeData.comment)
            self._closed_ids.clear()
            self._complete = {pid for pid in kept_ledgers if pid in self._positions}
            self._ledger = {pid: kept_ledgers[pid] for pid in self._complete}
            for message in buffered:
                if isinstance(message, M.ProtoOAExecutionEvent):
                    self._apply(message, reply_since=None)
            self._version += 1
            symbol_ids = {p.tradeData.symbolId for p in self._positions.values()}
            symbol_ids |= {o.tradeData.symbolId for o in self._orders.values()}
            await self._load_full(symbol_ids)
            if not self._capabilities.hedging:
                await self._read_ledgers()
            self._live = True
            self._down = ""
            self._want_quotes(p.tradeData.symbolId for p in self._positions.values())

    async def _read_ledgers(self) -> None:
        """The deals of each netted position not already followed from its first fill, from the
        server's history, so each master ticket's share is the broker's record, not a guess."""
        for pid in [pid for pid in self._positions if pid not in self._complete]:
            try:
                shares = await self._history_shares(pid)
            except _Unsupported:
                return  # positions keep deals None: the core reads their own tags instead
            except OpenApiError as exc:
                log.info("%s: the deals of position %d were not read (%s)", self.account_id, pid, exc.code)
                continue
            ledger = self._ledger.setdefault(pid, {})
            for deal_id, item in shares.items():
                ledger.setdefault(deal_id, item)
            self._complete.add(pid)
        self._version += 1

    async def _history_shares(self, pid: int) -> dict[int, tuple[int, DealShare]]:
        deals = await self._history_deals(pid)
        tags = await self._history_order_tags(pid, {d.orderId for d in deals})
        out = {}
        for deal in deals:
            label, comment = tags.get(deal.orderId, ("", ""))
            signed = units(deal.filledVolume) * (1 if deal.tradeSide == MM.BUY else -1)
            out[deal.dealId] = (int(deal.executionTimestamp),
                                DealShare(magic_of(label), comment, signed))
        return out

    async def _history_deals(self, pid: int) -> list[MM.ProtoOADeal]:
        if "deals" in self._unsupported:
            raise _Unsupported
        deals: dict[int, MM.ProtoOADeal] = {}
        to_ms = int(self._clock.time() * 1000) + 60_000
        for _ in range(50):
            try:
                reply = await self._ask(M.ProtoOADealListByPositionIdReq(
                    ctidTraderAccountId=self.ctid, positionId=pid, fromTimestamp=0, toTimestamp=to_ms))
            except OpenApiError as exc:
                if exc.code == "UNSUPPORTED_MESSAGE":
                    self._unsupported.add("deals")
                    raise _Unsupported from None
                raise
            for deal in reply.deal:
                deals[deal.dealId] = deal
            if not reply.hasMore or not reply.deal:
                break
            to_ms = min(d.executionTimestamp for d in reply.deal) - 1
        return sorted((d for d in deals.values() if d.dealStatus in (MM.FILLED, MM.PARTIALLY_FILLED)),
                      key=lambda d: (d.executionTimestamp, d.dealId))

    async def _history_order_tags(self, pid: int, order_ids: set[int]) -> dict[int, tuple[str, str]]:
        tags = {oid: self._order_tags[oid] for oid in order_ids if oid in self._order_tags}
        if set(tags) >= order_ids or "orders" in self._unsupported:
            return tags
        try:
            reply = await self._ask(M.ProtoOAOrderListByPositionIdReq(
                ctidTraderAccountId=self.ctid, positionId=pid, fromTimestamp=0,
                toTimestamp=int(self._clock.time() * 1000) + 60_000))
            for o in reply.order:
                tags[o.orderId] = self._order_tags[o.orderId] = (o.tradeData.label, o.tradeData.comment)
        except OpenApiError as exc:
            if exc.code != "UNSUPPORTED_MESSAGE":
                raise
            self._unsupported.add("orders")
        for oid in order_ids - set(tags):
            try:
                reply = await self._ask(M.ProtoOAOrderDetailsReq(ctidTraderAccountId=self.ctid, orderId=oid))
            except OpenApiError as exc:
                if exc.code == "UNSUPPORTED_MESSAGE":
                    raise _Unsupported from None
                raise
            tags[oid] = self._order_tags[oid] = (reply.order.tradeData.label, reply.order.tradeData.comment)
        return tags

    async def _reconcile_loop(self) -> None:
        while True:
            await asyncio.sleep(self.reconcile_every)
            if self._live:
                await self._quietly(self._reconcile())

    def _later_reconcile(self) -> None:
        """After a request whose outcome is unknown: the events of an order the server executed
        without answering may never come, so the mirror is read again."""
        if self._live:
            self._spawn(self._quietly(self._reconcile()), f"ctrader-reconcile-now-{self.ctid}")

    # ================================================================== reads
    async def snapshot(self) -> Snapshot:
        if not self._live:
            raise ConnectorError(f"{self.account_id}: cTrader account {self.ctid} is not reachable: {self._down}")
        taken_at = self._clock.monotonic()
        cached = self._cached
        if cached is None or cached[0] != self._version:
            cached = self._cached = (self._version, self._build_positions(), self._build_orders())
        # cTrader stamps trades in UTC: the server's offset is zero.
        return Snapshot(taken_at=taken_at, positions=cached[1], orders=cached[2], server_offset_s=0.0)

    def _name(self, symbol_id: int) -> str:
        light = self._light.get(symbol_id)
        return light.symbolName if light is not None else f"#{symbol_id}"

    def _digits(self, symbol_id: int) -> int:
        full = self._full.get(symbol_id)
        return int(full.digits) if full is not None else 10

    def _build_positions(self) -> tuple[Position, ...]:
        keep = self._keep_magic
        netted = not self._capabilities.hedging
        out = []
        for p in sorted(self._positions.values(), key=lambda p: (p.tradeData.openTimestamp, p.positionId)):
            symbol_id = p.tradeData.symbolId
            deals = None
            if netted and p.positionId in self._complete:
                ledger = self._ledger.get(p.positionId, {})
                deals = tuple(share for _, share in sorted(ledger.values(), key=lambda item: item[0]))
            bid, ask, _ = self._quotes.get(symbol_id, (0.0, 0.0, 0.0))
            current = bid if p.tradeData.tradeSide == MM.BUY else ask
            position = to_position(p, name=self._name(symbol_id), digits=self._digits(symbol_id),
                                   price_current=current, profit=self._pnl.get(p.positionId, 0.0), deals=deals)
            if keep is None or keep(position.magic):
                out.append(position)
        return tuple(out)

    def _build_orders(self) -> tuple[PendingOrder, ...]:
        keep = self._keep_magic
        out = []
        for o in sorted(self._orders.values(), key=lambda o: o.orderId):
            symbol_id = o.tradeData.symbolId
            order = to_pending_order(o, name=self._name(symbol_id), digits=self._digits(symbol_id))
            if order is not None and (keep is None or keep(order.magic)):
                out.append(order)
        return tuple(out)

    async def symbols(self) -> dict[str, SymbolSpec]:
        self._require_link()
        try:
            await self._load_symbols()
            self._full.clear()
            await self._load_full(self._light)
        except OpenApiError as exc:
            raise self._read_error("the symbol list", exc) from None
        # Prices are those of the symbols this connector follows; ``symbol(name)`` asks for one.
        return {light.symbolName: self._spec(symbol_id) for symbol_id, light in self._light.items()
                if symbol_id in self._full}

    async def symbol(self, name: str) -> SymbolSpec | None:
        self._require_link()
        symbol_id = self._names.get(name)
        if symbol_id is None:
            return None
        try:
            self._full.pop(symbol_id, None)  # a fresh read: the trading mode or limits may have changed
            await self._load_full([symbol_id])
            await self._fresh_quote(symbol_id)
            base, quote = currencies(self._light[symbol_id], self._assets or {})
            pair = self._conversion_pair(quote)
            if pair is not None:
                await self._fresh_quote(pair)
        except OpenApiError as exc:
            raise self._read_error(f"the symbol {name}", exc) from None
        return self._spec(symbol_id)

    def _spec(self, symbol_id: int) -> SymbolSpec:
        light = self._light[symbol_id]
        base, quote = currencies(light, self._assets or {})
        bid, ask, _ = self._quotes.get(symbol_id, (0.0, 0.0, 0.0))
        return to_symbol_spec(light, self._full[symbol_id], base=base, quote=quote,
                              quote_to_deposit=conversion(quote, self._currency, self._mids()), bid=bid, ask=ask)

    def _mids(self) -> dict[tuple[str, str], float]:
        mids = {}
        for symbol_id, (bid, ask, _) in self._quotes.items():
            light = self._light.get(symbol_id)
            if light is not None and bid > 0 and ask > 0:
                pair = currencies(light, self._assets or {})
                if all(pair):
                    mids[pair] = (bid + ask) / 2
        return mids

    def _conversion_pair(self, quote: str) -> int | None:
        deposit = self._currency
        if not quote or not deposit or quote == deposit:
            return None
        for symbol_id, light in self._light.items():
            if currencies(light, self._assets or {}) in ((quote, deposit), (deposit, quote)):
                return symbol_id
        return None

    def _want_quotes(self, symbol_ids: Iterable[int]) -> None:
        wanted = sorted({i for i in symbol_ids if i not in self._subscribed})
        if wanted and self._live:
            self._spawn(self._quietly(self._subscribe(wanted)), "ctrader-spots")

    async def _subscribe(self, symbol_ids: list[int]) -> None:
        wanted = [i for i in symbol_ids if i not in self._subscribed]
        if not wanted:
            return
        self._subscribed.update(wanted)
        try:
            await self._ask(M.ProtoOASubscribeSpotsReq(ctidTraderAccountId=self.ctid, symbolId=wanted))
        except OpenApiError as exc:
            if exc.code != "ALREADY_SUBSCRIBED":
                self._subscribed.difference_update(wanted)
                raise

    async def _fresh_quote(self, symbol_id: int) -> tuple[float, float]:
        """The symbol's quote, at most ``QUOTE_FRESH_S`` old: a subscription's first spot event
        carries the latest price even when the market is quiet."""
        known = self._quotes.get(symbol_id)
        if known is not None and symbol_id in self._subscribed and \
                self._clock.monotonic() - known[2] <= QUOTE_FRESH_S:
            return known[0], known[1]
        if symbol_id in self._subscribed:
            with contextlib.suppress(OpenApiError):
                await self._ask(M.ProtoOAUnsubscribeSpotsReq(ctidTraderAccountId=self.ctid, symbolId=[symbol_id]))
            self._subscribed.discard(symbol_id)
        asked_at = self._clock.monotonic()
        await self._subscribe([symbol_id])
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(QUOTE_WAIT_S):
                while self._quotes.get(symbol_id, (0, 0, -1.0))[2] < asked_at:
                    self._quote_arrived.clear()
                    await self._quote_arrived.wait()
        bid, ask, _ = self._quotes.get(symbol_id, (0.0, 0.0, 0.0))
        return bid, ask

    async def position_deals(self, position_id: int = 0, *, order: int = 0) -> tuple[Deal, ...]:
        self._require_link()
        try:
            if not position_id and order:
                position_id = await self._position_of_order(order)
                if not position_id:
                    return ()
            try:
                deals = await self._history_deals(position_id)
                tags = await self._history_order_tags(position_id, {d.orderId for d in deals})
                items = [(d, tags.get(d.orderId, ("", ""))[1]) for d in deals]
            except _Unsupported:
                # A server without deal history: the fills this connector saw, which is all of them
                # for a position it followed from its first fill.
                items = sorted(self._fills.get(position_id, {}).values(),
                               key=lambda item: (item[0].executionTimestamp, item[0].dealId))
                if not items:
                    raise ConnectorError(f"{self.account_id}: the cTrader server does not list the deals of "
                                         f"position {position_id}, and none were seen since connecting") from None
        except OpenApiError as exc:
            raise self._read_error(f"the deals of position {position_id}", exc) from None
        digits = self._money_digits()
        return tuple(to_deal(d, comment=comment, digits=self._digits(d.symbolId), money_digits=digits)
                     for d, comment in items)

    async def _position_of_order(self, order: int) -> int:
        track = self._tracks.get(order)
        for event in reversed(track.events if track is not None else []):
            if event.HasField("deal"):
                return int(event.deal.positionId)
        if "details" in self._unsupported:
            return 0
        try:
            reply = await self._ask(M.ProtoOAOrderDetailsReq(ctidTraderAccountId=self.ctid, orderId=order))
        except OpenApiError as exc:
            if exc.code != "UNSUPPORTED_MESSAGE":
                raise
            self._unsupported.add("details")
            return 0
        return next((int(d.positionId) for d in reply.deal if d.positionId), int(reply.order.positionId))

    # ================================================================== trading
    async def open(self, request: OpenPosition) -> ExecutionReport:
        return await self._trade(self._build_open, request, deal=True)

    async def close(self, request: ClosePosition) -> ExecutionReport:
        return await self._trade(self._build_close, request, deal=True)

    async def modify(self, request: ModifyStops) -> ExecutionReport:
        return await self._trade(self._build_modify, request, deal=False)

    async def place_pending(self, request: PlacePending) -> ExecutionReport:
        return await self._trade(self._build_pending, request, deal=False)

    async def modify_pending(self, request: ModifyPending) -> ExecutionReport:
        return await self._trade(self._build_modify_pending, request, deal=False)

    async def cancel(self, request: CancelPending) -> ExecutionReport:
        return await self._trade(self._build_cancel, request, deal=False)

    def _client_order_id(self) -> str:
        return f"{self._id_prefix}-{next(self._ids)}"[:CLIENT_ORDER_ID_LIMIT]

    async def _trade_spec(self, name: str) -> tuple[int, SymbolSpec]:
        symbol_id = self._names.get(name)
        if symbol_id is None:
            raise Refusal("SYMBOL_NOT_FOUND", f"{self._company} has no symbol {name!r} on this account")
        await self._load_full([symbol_id])
        return symbol_id, self._spec(symbol_id)

    async def _quote(self, symbol_id: int, spec: SymbolSpec) -> tuple[float, float]:
        bid, ask = await self._fresh_quote(symbol_id)
        if bid <= 0 or ask <= 0:
            raise Refusal("NO_QUOTES", f"there is no quote for {spec.name} to price the order with")
        return bid, ask

    def _tags(self, message, magic: int, comment: str) -> None:
        label = label_for(magic)
        if label:
            message.label = label
        if comment:
            message.comment = fit_text(comment, COMMENT_LIMIT)
        message.clientOrderId = self._client_order_id()

    async def _build_open(self, req: OpenPosition):
        symbol_id, spec = await self._trade_spec(req.symbol)
        volume = fit_volume(req.volume, spec)
        buy = req.side is Side.BUY
        bid, ask = await self._quote(symbol_id, spec)
        worst = widen_to_spreads(buy=buy, bid=bid, ask=ask, worst=req.worst_price, reference=req.reference_price,
                                 spreads=req.max_deviation_spreads, spec=spec)
        check_worst_price(buy=buy, bid=bid, ask=ask, worst=worst, spec=spec)
        price = ask if buy else bid
        sl, tp = round_price(req.sl, spec.digits), round_price(req.tp, spec.digits)
        message = M.ProtoOANewOrderReq(ctidTraderAccountId=self.ctid, symbolId=symbol_id, orderType=MM.MARKET,
                                       tradeSide=trade_side(req.side), volume=volume,
                                       timeInForce=MM.FILL_OR_KILL)
        # Market orders take stops only as distances from the fill; the levels asked for are set
        # exactly after the fill when the fill moved them.
        rel_sl, rel_tp = relative_stops(buy=buy, entry=price, sl=sl, tp=tp)
        if rel_sl:
            message.relativeStopLoss = rel_sl
        if rel_tp:
            message.relativeTakeProfit = rel_tp
        self._tags(message, req.magic, req.comment)
        extra = {"filling": Filling.FOK.value, "client_order_id": message.clientOrderId}
        if worst > 0 and req.reference_price > 0:
            extra["deviation_limit_points"] = round(abs(worst - req.reference_price) / spec.point, 2)
        return message, spec, extra, {"bid": bid, "ask": ask, "quote": price, "sl": sl, "tp": tp, "volume": volume}

    async def _build_close(self, req: ClosePosition):
        symbol_id, spec = await self._trade_spec(req.symbol)
        volume = fit_volume(req.volume, spec) if req.volume > 0 else 0
        held = self._positions.get(int(req.ticket))
        if held is None:
            raise Refusal("POSITION_NOT_FOUND", f"position {req.ticket} is not open on this account")
        open_cents = int(held.tradeData.volume)
        if volume > open_cents or volume <= 0:
            raise Refusal("TRADING_BAD_VOLUME", f"cannot close {units(volume):g} units of position {req.ticket}: it "
                                                f"holds {units(open_cents):g}")
        bid, ask, _ = self._quotes.get(symbol_id, (0.0, 0.0, 0.0))
        extra = {}
        if self._capabilities.hedging:
            message = M.ProtoOAClosePositionReq(ctidTraderAccountId=self.ctid, positionId=int(req.ticket),
                                                volume=volume)
        else:
            # On a netted account the opposite order is the close, and it carries the copier's tags,
            # so the closing deal says which master position's share it took.
            side = MM.SELL if held.tradeData.tradeSide == MM.BUY else MM.BUY
            message = M.ProtoOANewOrderReq(ctidTraderAccountId=self.ctid, symbolId=symbol_id, orderType=MM.MARKET,
                                           tradeSide=side, volume=volume, timeInForce=MM.FILL_OR_KILL)
            self._tags(message, req.magic, req.comment)
            extra["client_order_id"] = message.clientOrderId
        price = bid if held.tradeData.tradeSide == MM.BUY else ask
        return message, spec, extra, {"bid": bid, "ask": ask, "quote": price, "volume": volume}

    async def _build_modify(self, req: ModifyStops):
        _, spec = await self._trade_spec(req.symbol)
        sl, tp = round_price(req.sl, spec.digits), round_price(req.tp, spec.digits)
        held = self._positions.get(int(req.ticket))
        if held is not None:
            now_sl = round_price(held.stopLoss, spec.digits) if held.HasField("stopLoss") else 0.0
            now_tp = round_price(held.takeProfit, spec.digits) if held.HasField("takeProfit") else 0.0
            if (now_sl, now_tp) == (sl, tp):
                raise _NoChanges(sl, tp)
        # A level left out is removed: both go every time.
        message = M.ProtoOAAmendPositionSLTPReq(ctidTraderAccountId=self.ctid, positionId=int(req.ticket))
        if sl:
            message.stopLoss = sl
        if tp:
            message.takeProfit = tp
        return message, spec, {}, {"sl": sl, "tp": tp}

    async def _build_pending(self, req: PlacePending):
        symbol_id, spec = await self._trade_spec(req.symbol)
        volume = fit_volume(req.volume, spec)
        price, stoplimit = round_price(req.price, spec.digits), round_price(req.stoplimit, spec.digits)
        sl, tp = round_price(req.sl, spec.digits), round_price(req.tp, spec.digits)
        order_type = pending_order_type(req.kind)
        message = M.ProtoOANewOrderReq(ctidTraderAccountId=self.ctid, symbolId=symbol_id, orderType=order_type,
                                       tradeSide=trade_side(req.kind.side), volume=volume)
        _set_entry(message, order_type, price, stoplimit, spec)
        if sl:
            message.stopLoss = sl
        if tp:
            message.takeProfit = tp
        _set_expiry(message, req.expiration)
        self._tags(message, req.magic, req.comment)
        return message, spec, {"filling": Filling.RETURN.value, "client_order_id": message.clientOrderId}, \
            {"sl": sl, "tp": tp, "volume": volume}

    async def _build_modify_pending(self, req: ModifyPending):
        _, spec = await self._trade_spec(req.symbol)
        held = self._orders.get(int(req.ticket))
        if held is None:
            raise Refusal("ORDER_NOT_FOUND", f"order {req.ticket} is not working on this account")
        price, stoplimit = round_price(req.price, spec.digits), round_price(req.stoplimit, spec.digits)
        sl, tp = round_price(req.sl, spec.digits), round_price(req.tp, spec.digits)
        # Every field is sent: one left out is cleared at the server.
        message = M.ProtoOAAmendOrderReq(ctidTraderAccountId=self.ctid, orderId=int(req.ticket),
                                         volume=int(held.tradeData.volume) - int(held.executedVolume))
        _set_entry(message, held.orderType, price, stoplimit, spec)
        if sl:
            message.stopLoss = sl
        if tp:
            message.takeProfit = tp
        if req.expiration > 0:
            message.expirationTimestamp = int(req.expiration) * 1000
        return message, spec, {}, {"sl": sl, "tp": tp}

    async def _build_cancel(self, req: CancelPending):
        return M.ProtoOACancelOrderReq(ctidTraderAccountId=self.ctid, orderId=int(req.ticket)), None, {}, {}

    async def _trade(self, build, request, *, deal: bool) -> ExecutionReport:
        report = await self._trade_once(build, request, deal=deal)
        if not report.status.ok and report.sent:
            # The broker may have changed what it allows (trading mode, volumes): read it again.
            symbol_id = self._names.get(getattr(request, "symbol", ""))
            if symbol_id is not None:
                self._full.pop(symbol_id, None)
        return report

    async def _trade_once(self, build, request, *, deal: bool) -> ExecutionReport:
        """Build the message, send it, wait for a market order's fill, and report; never raises on
        a refusal."""
        now = self._clock.time()
        if not self._live or self._link is None or not self._link.up:
            message = f"not sent: cTrader account {self.ctid} is not connected ({self._down or 'link down'})"
            return ExecutionReport(Status.UNREACHABLE, 0, message, sent_at=now, received_at=now,
                                   extra={"sent": False}, reason=Reason.NO_CONNECTION, sent=False)
        try:
            message, spec, extra, fitted = await build(request)
        except Refusal as refusal:
            text = f"not sent to {self._company}: {refusal.message}"
            log.info("%s: %s", self.account_id, text)
            return ExecutionReport(reasons.status_for(refusal.code), 0, text, bid=refusal.bid, ask=refusal.ask,
                                   sent_at=now, received_at=now, extra={"sent": False, "code": refusal.code},
                                   reason=reasons.reason_for(refusal.code), sent=False)
        except _NoChanges as same:
            return ExecutionReport(Status.PLACED, 0, f"nothing to change at {self._company}: the levels are "
                                   "already set", sent_at=now, received_at=now, extra={"sent": False},
                                   reason=Reason.NO_CHANGES, sent=False, sent_sl=same.sl, sent_tp=same.tp)
        except OpenApiError as exc:
            return self._refused(exc, sent_at=now, extra={"sent": False}, sent=False)
        extra["sent"] = True
        extra["request"] = _summary(message)
        since = self._seq
        sent_at = self._clock.time()
        try:
            reply = await self._ask(message)
        except OpenApiError as exc:
            return self._refused(exc, sent_at=sent_at, extra=extra, sent=True, fitted=fitted)
        if not isinstance(reply, M.ProtoOAExecutionEvent):
            return self._refused(OpenApiError("UNKNOWN_ERROR", f"unexpected answer {reply.DESCRIPTOR.name}"),
                                 sent_at=sent_at, extra=extra, sent=True)
        self._apply(reply, reply_since=since)
        if deal:
            return await self._deal_report(reply, spec, extra, fitted, sent_at)
        received_at = self._clock.time()
        order_id = reply.order.orderId if reply.HasField("order") else 0
        if reply.executionType == reasons.ORDER_CANCEL_REJECTED:
            code = reply.errorCode if reply.HasField("errorCode") and reply.errorCode else "UNABLE_TO_CANCEL_ORDER"
            return self._refused(OpenApiError(code, f"order {order_id} stays working"), sent_at=sent_at,
                                 extra=extra, sent=True)
        what = reasons.execution_name(reply.executionType)
        text = f"{what} by {self._company}"
        if reply.HasField("order") and reply.order.orderType in PENDING_TYPES and spec is not None:
            o = reply.order
            price = o.limitPrice if o.orderType == MM.LIMIT else o.stopPrice
            text += (f": {MM.ProtoOAOrderType.Name(o.orderType).lower().replace('_', ' ')} "
                     f"{'buy' if o.tradeData.tradeSide == MM.BUY else 'sell'} {units(o.tradeData.volume):g} units "
                     f"of {spec.name} at {price:.{spec.digits}f}, order {o.orderId}")
        return ExecutionReport(Status.PLACED, 0, text, volume=units(fitted.get("volume", 0)), order=order_id,
                               sent_at=sent_at, received_at=received_at, extra=extra,
                               sent_sl=fitted.get("sl"), sent_tp=fitted.get("tp"))

    async def _deal_report(self, reply: M.ProtoOAExecutionEvent, spec: SymbolSpec, extra: dict, fitted: dict,
                           sent_at: float) -> ExecutionReport:
        order_id = reply.order.orderId
        requested = int(reply.order.tradeData.volume) or int(fitted.get("volume", 0))
        end = await self._order_end(order_id, requested)
        received_at = self._clock.time()
        bid, ask, quote = fitted.get("bid", 0.0), fitted.get("ask", 0.0), fitted.get("quote", 0.0)
        if end is None:
            self._later_reconcile()
            text = (f"{self._company} accepted order {order_id} but reported no fill within {self.fill_timeout:g} s "
                    f"({self._down or 'no event'}): it may still fill; the next snapshot shows whether it did")
            log.warning("%s: %s", self.account_id, text)
            return ExecutionReport(Status.UNREACHABLE, 0, text, order=order_id, bid=bid, ask=ask, sent_at=sent_at,
                                   received_at=received_at, extra=extra, reason=Reason.NO_CONNECTION, quote=quote,
                                   sent_sl=fitted.get("sl"), sent_tp=fitted.get("tp"),
                                   deviation_limit_points=extra.get("deviation_limit_points"))
        order = end.order
        executed = int(order.executedVolume)
        status = reasons.fill_status(executed_cents=executed, requested_cents=requested)
        if status is None:
            code = end.errorCode if end.HasField("errorCode") else reasons.execution_name(end.executionType).upper()
            report = self._refused(OpenApiError(code or "ORDER_REJECTED", ""), sent_at=sent_at, extra=extra,
                                   sent=True, fitted=fitted)
            return report
        deals = self._order_deals(order_id)
        last_deal = deals[-1].dealId if deals else 0
        price = round_price(order.executionPrice, spec.digits) if order.HasField("executionPrice") else 0.0
        verb = "bought" if order.tradeData.tradeSide == MM.BUY else "sold"
        head = "filled" if status is Status.FILLED else "partly filled"
        text = f"{head} by {self._company}: {verb} {units(executed):g} units of {spec.name} at {price:.{spec.digits}f}"
        if status is Status.PARTIAL:
            text += f" of {units(requested):g} requested; the rest was cancelled"
            extra["requested_volume"] = units(requested)
        note = await self._exact_stops(end, fitted, spec)
        if note:
            text += f"; {note}"
            extra["adjusted"] = note
        if order.HasField("positionId"):
            extra["position"] = int(order.positionId)
        return ExecutionReport(status, 0, text, volume=units(executed), price=price, bid=bid, ask=ask, order=order_id,
                               deal=last_deal, sent_at=sent_at, received_at=received_at, extra=extra,
                               sent_sl=fitted.get("sl"), sent_tp=fitted.get("tp"), quote=quote,
                               deviation_limit_points=extra.get("deviation_limit_points"))

    async def _exact_stops(self, end: M.ProtoOAExecutionEvent, fitted: dict, spec: SymbolSpec) -> str:
        """After a fill away from the quote, relative stops landed off the asked levels: set them."""
        sl, tp = fitted.get("sl") or 0.0, fitted.get("tp") or 0.0
        if not (sl or tp) or not end.HasField("position"):
            return ""
        pid = end.position.positionId
        await asyncio.sleep(0)
        held = self._positions.get(pid)
        if held is None:
            return ""
        now_sl = round_price(held.stopLoss, spec.digits) if held.HasField("stopLoss") else 0.0
        now_tp = round_price(held.takeProfit, spec.digits) if held.HasField("takeProfit") else 0.0
        if (now_sl, now_tp) == (sl, tp):
            return ""
        amend = M.ProtoOAAmendPositionSLTPReq(ctidTraderAccountId=self.ctid, positionId=pid)
        if sl:
            amend.stopLoss = sl
        if tp:
            amend.takeProfit = tp
        since = self._seq
        try:
            reply = await self._ask(amend)
        except OpenApiError as exc:
            return f"the stops could not be set at the asked levels ({exc.code}: {exc.description})"
        self._apply(reply, reply_since=since)
        return ""

    def _order_deals(self, order_id: int) -> list[MM.ProtoOADeal]:
        track = self._tracks.get(order_id)
        return [e.deal for e in (track.events if track is not None else []) if e.HasField("deal")]

    async def _order_end(self, order_id: int, requested: int) -> M.ProtoOAExecutionEvent | None:
        """The event that ends a market order: its last fill, or its cancellation or rejection
        (with what filled before it); None when none comes in time or the link drops."""
        track = self._tracks.get(order_id)
        if track is None:
            track = self._tracks[order_id] = _Track()
        try:
            async with asyncio.timeout(self.fill_timeout):
                while True:
                    for event in track.events:
                        order = event.order
                        if event.executionType in _FINAL or order.orderStatus in (
                                MM.ORDER_STATUS_FILLED, MM.ORDER_STATUS_CANCELLED, MM.ORDER_STATUS_EXPIRED,
                                MM.ORDER_STATUS_REJECTED):
                            return event
                        if event.executionType == reasons.ORDER_FILLED and order.executedVolume >= requested:
                            return event
                    if not self._live:
                        return None
                    track.changed.clear()
                    await track.changed.wait()
        except TimeoutError:
            return None

    def _refused(self, exc: OpenApiError, *, sent_at: float, extra: dict, sent: bool,
                 fitted: dict | None = None) -> ExecutionReport:
        received_at = self._clock.time()
        code = exc.code
        if code in reasons.OUTCOME_UNKNOWN:
            self._later_reconcile()
        text = reasons.refusal_message(code, exc.description, broker=self._company)
        extra = dict(extra)
        extra["code"] = code
        log.info("%s: %s", self.account_id, text)
        fitted = fitted or {}
        return ExecutionReport(reasons.status_for(code), 0, text, bid=fitted.get("bid", 0.0),
                               ask=fitted.get("ask", 0.0), sent_at=sent_at, received_at=received_at, extra=extra,
                               reason=reasons.reason_for(code), sent=sent, sent_sl=fitted.get("sl"),
                               sent_tp=fitted.get("tp"), quote=fitted.get("quote", 0.0))

    # ================================================================== plumbing
    async def _ask(self, message: Message, *, timeout: float | None = None) -> Message:
        link = self._link
        session = link.session if link is not None else None
        name = message.DESCRIPTOR.name
        if session is None:
            raise ConnectionLost(self._down or "not connected", request=name)
        for attempt in range(_READ_RETRIES + 1):
            await link.pacer.pace(name)
            try:
                return await session.connection.request(message, timeout=timeout)
            except OpenApiError as exc:
                if exc.code not in _RATE_LIMITED or name in _TRADES or attempt == _READ_RETRIES:
                    raise
                retry_after = getattr(exc.message, "retryAfter", 0) if exc.message is not None else 0
                wait = float(retry_after) if retry_after else 1.0
                log.info("%s: %s was rate-limited (%s); asking again in %g s", self.account_id, name, exc.code, wait)
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    def _require_link(self) -> None:
        if self._link is None or not self._link.up:
            raise ConnectorError(f"{self.account_id}: cTrader account {self.ctid} is not reachable: "
                                 f"{self._down or 'the link is down'}")

    def _read_error(self, what: str, exc: OpenApiError) -> ConnectorError:
        return ConnectorError(f"{self.account_id}: could not read {what} of cTrader account {self.ctid} "
                              f"({exc.code}: {exc.description})")

    async def _quietly(self, coro) -> None:
        try:
            await coro
        except (OpenApiError, LinkUnavailable) as exc:
            log.info("%s: a background read failed: %s", self.account_id, exc)

    def _spawn(self, coro, name: str) -> asyncio.Task | None:
        if self._closed:
            coro.close()
            return None
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


class _NoChanges(Exception):
    def __init__(self, sl: float, tp: float) -> None:
        super().__init__("no changes")
        self.sl = sl
        self.tp = tp


def _set_entry(message, order_type: int, price: float, stoplimit: float, spec: SymbolSpec) -> None:
    if order_type == MM.LIMIT:
        message.limitPrice = price
    else:
        message.stopPrice = price
        if order_type == MM.STOP_LIMIT:
            message.slippageInPoints = stop_limit_slippage(price, stoplimit, spec)


def _set_expiry(message, expiration: int) -> None:
    if expiration and expiration > 0:
        message.timeInForce = MM.GOOD_TILL_DATE
        message.expirationTimestamp = int(expiration) * 1000
    else:
        message.timeInForce = MM.GOOD_TILL_CANCEL


def _summary(message: Message) -> dict:
    """What went out, for the journal (trade requests carry no secret)."""
    out = {"type": message.DESCRIPTOR.name}
    for field, value in message.ListFields():
        if field.name not in ("payloadType", "ctidTraderAccountId"):
            out[field.name] = value
    return out


__all__ = ["CTraderConnector"]
