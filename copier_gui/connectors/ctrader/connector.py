"""The cTrader connector: one account over the Open API behind the core's async connector port.

cTrader pushes every execution, so ``snapshot()`` answers from a mirror of the account's positions
and pending orders that the execution events keep (:mod:`.mirror`), with no round trip: the
master's poll costs nothing on the wire. The mirror is rebuilt from ``ProtoOAReconcileReq`` on
every connect (so after every reconnect), when the server ended the account's session on a live
link, after a trade whose answer never came, and once a minute; while the link is down
``snapshot()`` raises, never returning a stale mirror as if it were live.

Tags: cTrader has no magic number, so the copier's magic travels as the label (in decimal) and its
comment as the comment; both come back on positions, orders and, through the order that made it,
on each deal of a netted position. Volumes are units on the port and cents of a unit on the wire.
Accounts of one cTrader ID share one link (:mod:`.links`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets as _secrets
import ssl

from google.protobuf.message import Message

from copier_gui import ctrader_messages as cm
from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.connectors.ctrader import orders, reasons
from copier_gui.connectors.ctrader.capabilities import (
    CLIENT_ORDER_ID_LIMIT,
    UNCONNECTED,
    account_capabilities,
)
from copier_gui.connectors.ctrader.errors import ConnectionLost, OpenApiError
from copier_gui.connectors.ctrader.history import History, Unsupported
from copier_gui.connectors.ctrader.links import (
    POOL,
    AccountEntry,
    LinkPool,
    LinkUnavailable,
    SharedLink,
)
from copier_gui.connectors.ctrader.mirror import Mirror, pending_ticket, signed_share
from copier_gui.connectors.ctrader.orders import NoChanges, Outgoing
from copier_gui.connectors.ctrader.session import AppCredentials, TokenStore
from copier_gui.connectors.ctrader.symbols import SymbolBook
from copier_gui.connectors.ctrader.translate import (
    PENDING_TYPES,
    Refusal,
    money,
    round_price,
    to_account_state,
    to_deal,
    units,
)
from copier_gui.connectors.ctrader.translate import blockers as trading_blockers
from copier_gui.core.model import (
    AccountState,
    CancelPending,
    CashFlow,
    ClosePosition,
    Deal,
    ExecutionReport,
    ModifyPending,
    ModifyStops,
    OpenPosition,
    PendingOrder,
    PlacePending,
    Position,
    Reason,
    Snapshot,
    Status,
    SymbolSpec,
)
from copier_gui.core.ports import Capabilities, ConnectorError
from copier_gui.core.tags import MagicFilter, magic_predicate
from copier_gui.core.tasks import cancel_and_wait

log = logging.getLogger(__name__)

M = cm.messages
MM = cm.model


# How long a market order may take from its acceptance to its last fill before the connector
# stops waiting (the order may still fill: the mirror shows it when it does).
FILL_TIMEOUT_S = 30.0
# The mirror is checked against the server this often even when nothing seems amiss.
RECONCILE_EVERY_S = 60.0
# Trade requests are never sent twice by the connector: a refusal goes back to the core as a report.
_TRADES = frozenset({"ProtoOANewOrderReq", "ProtoOAClosePositionReq", "ProtoOAAmendPositionSLTPReq",
                     "ProtoOAAmendOrderReq", "ProtoOACancelOrderReq"})
_RATE_LIMITED = frozenset({"REQUEST_FREQUENCY_EXCEEDED", "BLOCKED_PAYLOAD_TYPE"})
_READ_RETRIES = 3
# After the server ends an account's session on a live link, how often and how long the mirror
# is read again while the session is authorized anew.
_RECOVER_EVERY_S = 0.25
_RECOVER_FOR_S = 30.0



class CTraderConnector:
    """One cTrader account (``ctid_account_id``, the ctidTraderAccountId) through the Open API.

    ``tokens`` holds the trader's token pair (a :class:`~.token_keyring.KeyringTokenStore`); a
    refresh is saved there before it is used. ``magic_filter`` limits snapshots to matching
    positions and orders, as for MetaTrader 5. ``pool`` is the process's shared links unless a
    test gives its own; ``connection_options`` go to each link opened (deadlines, heartbeats).
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
        self._keep_magic = magic_predicate(magic_filter)
        self._pool = pool if pool is not None else POOL
        self._connection_options = connection_options
        self.fill_timeout = fill_timeout
        self.reconcile_every = reconcile_every
        self._link: SharedLink | None = None
        self._capabilities = UNCONNECTED
        self._trader = None
        self._company = "the cTrader broker"
        self._server = host
        self._pnl_unsupported = False
        self._symbols = SymbolBook(self.ctid, self._ask, clock)
        self._mirror = Mirror(on_open_symbol=self._follow_symbol)
        self._history = History(self.ctid, self._ask, clock, self._mirror.order_tags)
        self._live = False
        self._down = "not connected yet"
        # Set by every execution and by the link going down: the copier waits on it for a pushed
        # master instead of sleeping out its poll interval (wait_for_change).
        self._changed = asyncio.Event()
        self._buffer: list[Message] | None = None
        self._cached: tuple[tuple[int, int], tuple[Position, ...], tuple[PendingOrder, ...]] | None = None
        self._tasks: set[asyncio.Task] = set()
        self._reconcile_lock = asyncio.Lock()
        self._reconcile_task: asyncio.Task | None = None
        self._ids = itertools.count(1)
        self._id_prefix = f"cg{_secrets.token_hex(3)}"
        self._closed = False

    def __repr__(self) -> str:
        return f"CTraderConnector({self.account_id!r}, ctid={self.ctid}, host={self.host!r})"

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    @property
    def link(self) -> SharedLink | None:
        return self._link

    @property
    def live(self) -> bool:
        """The mirror follows the account now (snapshots answer)."""
        return self._live

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
            self._symbols.lost_subscriptions()
            await link.authorize(self.ctid)
            trader = (await self._ask(M.ProtoOATraderReq(ctidTraderAccountId=self.ctid))).trader
            self._remember(trader, entry)
            await self._symbols.load_assets(trader.depositAssetId)
            await self._symbols.load_list()
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
        await cancel_and_wait(task for task in self._tasks if task is not current)
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
        if not self._pnl_unsupported:
            try:
                reply = await self._ask(M.ProtoOAGetPositionUnrealizedPnLReq(ctidTraderAccountId=self.ctid))
                scale = reply.moneyDigits if reply.HasField("moneyDigits") else digits
                # There is no equity field: it is the balance and every position's net open profit.
                self._mirror.pnl = {p.positionId: money(p.netUnrealizedPnL, scale)
                                    for p in reply.positionUnrealizedPnL}
                self._mirror.version += 1
                equity = round(money(trader.balance, digits) + sum(self._mirror.pnl.values()), digits)
            except OpenApiError as exc:
                if exc.code != "UNSUPPORTED_MESSAGE":
                    raise self._read_error("the account's open profit", exc) from None
                self._pnl_unsupported = True
        margin = sum((money(p.usedMargin, p.moneyDigits if p.HasField("moneyDigits") else digits)
                      for p in self._mirror.positions.values() if p.HasField("usedMargin")), 0.0)
        link = self._link
        blocked = trading_blockers(trader, can_trade_scope=link.can_trade if link is not None else True)
        return to_account_state(trader, currency=self._symbols.currency, server=self._server, company=self._company,
                                equity=equity, margin=round(margin, digits), blocked=blocked)

    def _remember(self, trader, entry: AccountEntry) -> None:
        self._trader = trader
        self._capabilities = account_capabilities(trader)
        self._mirror.hedging = self._capabilities.hedging
        self._company = trader.brokerName or entry.broker or "the cTrader broker"
        self._server = f"{entry.broker or self._company} cTrader {'live' if entry.is_live else 'demo'}"

    def _money_digits(self) -> int:
        trader = self._trader
        return int(trader.moneyDigits) if trader is not None and trader.HasField("moneyDigits") else 2

    # ================================================================== link hooks
    def on_event(self, message: Message, client_msg_id: str | None) -> None:
        if isinstance(message, M.ProtoOASpotEvent):
            self._symbols.on_spot(message)
            return
        if self._buffer is not None:
            self._buffer.append(message)
        if isinstance(message, M.ProtoOAExecutionEvent):
            self._mirror.apply(message)
            self._changed.set()
        elif isinstance(message, M.ProtoOATraderUpdatedEvent):
            self._trader = message.trader
        elif isinstance(message, M.ProtoOASymbolChangedEvent):
            self._symbols.forget(message.symbolId)

    def on_link_down(self, reason: str) -> None:
        self._set_down(f"the link to the cTrader Open API closed: {reason}")

    def on_account_lost(self, reason: str) -> None:
        self._set_down(f"the session of cTrader account {self.ctid} ended and could not be authorized again "
                       f"({reason}): authorize the copier for it again")

    def on_reauthorized(self) -> None:
        self._symbols.lost_subscriptions()

    def on_session_ended(self, reason: str) -> None:
        """The server ended the account's session while the link stays up (weekends, a token
        rotation): events may have been missed, so the mirror is not live until the session is
        authorized again (the session does that) and the mirror reconciled."""
        self._set_down(f"the server ended the session of cTrader account {self.ctid} ({reason}); "
                       "authorizing it again")
        self._symbols.lost_subscriptions()
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
        self._mirror.wake_all()
        self._changed.set()

    async def wait_for_change(self, timeout: float) -> None:
        """Return once an execution arrived or the link went down since the last call, or after
        ``timeout`` seconds (the port's PushingConnector)."""
        if not self._changed.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout)
        self._changed.clear()

    def abort(self) -> None:
        """Cut the link at once, with no goodbye, as the death of the copier's process would: the
        server sees the connection drop. Other accounts on the same link lose it too, as they
        would. Nothing here waits, so a crash can call it from anywhere."""
        link = self._link
        if link is not None:
            link.drop()
        self._set_down("the copier's process ended")

    def _follow_symbol(self, symbol_id: int) -> None:
        """A position opened on this symbol: read its record and follow its price."""
        if not self._live:
            return  # the reconcile that brings the mirror up does both
        if symbol_id not in self._symbols.full:
            self._spawn(self._quietly(self._symbols.load_full([symbol_id])), f"ctrader-symbol-{symbol_id}")
        if symbol_id not in self._symbols.subscribed:
            self._spawn(self._quietly(self._symbols.subscribe([symbol_id])), f"ctrader-spots-{symbol_id}")

    # ================================================================== reconcile
    async def _reconcile(self) -> None:
        """Replace the mirror by the server's open positions and pending orders, with the events
        that came while the answer travelled replayed on top."""
        async with self._reconcile_lock:
            self._buffer = []
            try:
                reply = await self._ask(M.ProtoOAReconcileReq(ctidTraderAccountId=self.ctid))
                buffered = self._buffer
            finally:
                self._buffer = None
            self._mirror.reset(reply, buffered)
            await self._symbols.load_full(self._mirror.symbol_ids())
            await self._read_ledgers()
            self._live = True
            self._down = ""
            await self._quietly(self._symbols.subscribe(p.tradeData.symbolId for p in self._mirror.positions.values()))

    async def _read_ledgers(self) -> None:
        """The deals of each netted position not followed from its first fill, from the server's
        history, so each master ticket's share is the broker's record, not a guess."""
        for pid in self._mirror.missing_ledgers():
            try:
                deals = await self._history.deals(pid)
                tags = await self._history.order_tags(pid, {d.orderId for d in deals})
            except Unsupported:
                return  # the positions keep deals None: the core reads their own tags instead
            except OpenApiError as exc:
                log.info("%s: the deals of position %d were not read (%s)", self.account_id, pid, exc.code)
                continue
            self._mirror.fill_ledger(pid, {d.dealId: (int(d.executionTimestamp),
                                                      signed_share(d, *tags.get(d.orderId, ("", ""))))
                                           for d in deals})

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
        version = (self._mirror.version, self._symbols.version)
        cached = self._cached
        if cached is None or cached[0] != version:
            book = self._symbols
            positions = self._mirror.build_positions(name=book.name, digits=book.digits, quote=book.quote,
                                                     keep=self._keep_magic)
            pending = self._mirror.build_orders(name=book.name, digits=book.digits, keep=self._keep_magic)
            cached = self._cached = (version, positions, pending)
        # cTrader stamps trades in UTC: the server's offset is zero.
        return Snapshot(taken_at=taken_at, positions=cached[1], orders=cached[2], server_offset_s=0.0)

    async def symbols(self) -> dict[str, SymbolSpec]:
        self._require_link()
        book = self._symbols
        try:
            await book.load_list()
            await book.load_full(book.light, fresh=True)
            # The pairs that turn each quote currency into the account's, so every symbol's tick
            # has its value in the account currency (a handful of pairs, followed from now on).
            await book.follow({pair for symbol_id in book.full for pair in book.conversion_pairs(symbol_id)})
        except OpenApiError as exc:
            raise self._read_error("the symbol list", exc) from None
        # Prices are those of the symbols this connector follows; ``symbol(name)`` asks for one.
        return {light.symbolName: book.spec(symbol_id) for symbol_id, light in book.light.items()
                if symbol_id in book.full}

    async def symbol(self, name: str) -> SymbolSpec | None:
        self._require_link()
        book = self._symbols
        symbol_id = book.ids.get(name)
        if symbol_id is None:
            return None
        try:
            # A fresh read: the trading mode or the limits may have changed.
            await book.load_full([symbol_id], fresh=True)
            await book.fresh_quote(symbol_id)
            for pair in book.conversion_pairs(symbol_id):
                await book.fresh_quote(pair)
        except OpenApiError as exc:
            raise self._read_error(f"the symbol {name}", exc) from None
        return book.spec(symbol_id)

    async def position_deals(self, position_id: int = 0, *, order: int = 0) -> tuple[Deal, ...]:
        self._require_link()
        try:
            if not position_id and order:
                position_id = await self._position_of_order(order)
                if not position_id:
                    return ()
            try:
                deals = await self._history.deals(position_id)
                tags = await self._history.order_tags(position_id, {d.orderId for d in deals})
                items = [(d, tags.get(d.orderId, ("", ""))[1]) for d in deals]
            except Unsupported:
                # A server without deal history: the fills this connector saw, which is all of them
                # for a position it followed from its first fill.
                items = sorted(self._mirror.fills.get(position_id, {}).values(),
                               key=lambda item: (item[0].executionTimestamp, item[0].dealId))
                if not items:
                    raise ConnectorError(f"{self.account_id}: the cTrader server does not list the deals of "
                                         f"position {position_id}, and none were seen since connecting") from None
        except OpenApiError as exc:
            raise self._read_error(f"the deals of position {position_id}", exc) from None
        digits = self._money_digits()
        return tuple(to_deal(d, comment=comment, digits=self._symbols.digits(d.symbolId), money_digits=digits)
                     for d, comment in items)

    async def deals_since(self, since_msc: int) -> tuple[Deal, ...]:
        self._require_link()
        try:
            deals = await self._history.deals_since(since_msc)
        except OpenApiError as exc:
            raise self._read_error("the account's recent deals", exc) from None
        digits = self._money_digits()
        # A master's deals need no tags (an order's comment costs a request each): they are read to
        # see which positions opened and closed, not whose copies they were.
        return tuple(to_deal(d, comment="", digits=self._symbols.digits(d.symbolId), money_digits=digits,
                             symbol=self._symbols.name(d.symbolId)) for d in deals)

    async def cash_flows(self) -> tuple[CashFlow, ...]:
        self._require_link()
        try:
            flows = await self._history.cash_flows()
        except OpenApiError as exc:
            raise self._read_error("the account's deposits and withdrawals", exc) from None
        digits = self._money_digits()
        return tuple(CashFlow(int(f.balanceHistoryId), _signed(f) * money(
            f.delta, f.moneyDigits if f.HasField("moneyDigits") else digits), f.externalNote) for f in flows)

    async def _position_of_order(self, order: int) -> int:
        deals = self._mirror.order_deals(order)
        if deals:
            return int(deals[-1].positionId)
        try:
            found, made = await self._history.order_details(order)
        except Unsupported:
            return 0
        return next((int(d.positionId) for d in made if d.positionId), int(found.positionId))

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
        symbol_id = self._symbols.ids.get(name)
        if symbol_id is None:
            raise Refusal("SYMBOL_NOT_FOUND", f"{self._company} has no symbol {name!r} on this account")
        await self._symbols.load_full([symbol_id])
        return symbol_id, self._symbols.spec(symbol_id)

    async def _build_open(self, req: OpenPosition) -> Outgoing:
        symbol_id, spec = await self._trade_spec(req.symbol)
        bid, ask = await self._symbols.fresh_quote(symbol_id)
        if bid <= 0 or ask <= 0:
            raise Refusal("NO_QUOTES", f"there is no quote for {spec.name} to price the order with")
        joins = not self._capabilities.hedging and any(
            p.tradeData.symbolId == symbol_id for p in self._mirror.positions.values())
        return orders.open_market(self.ctid, symbol_id, spec, req, bid=bid, ask=ask,
                                  client_order_id=self._client_order_id(), joins=joins)

    async def _build_close(self, req: ClosePosition) -> Outgoing:
        symbol_id, spec = await self._trade_spec(req.symbol)
        bid, ask = self._symbols.quote(symbol_id)
        return orders.close_position(self.ctid, symbol_id, spec, req, self._mirror.positions.get(int(req.ticket)),
                                     hedging=self._capabilities.hedging, bid=bid, ask=ask,
                                     client_order_id=self._client_order_id())

    async def _build_modify(self, req: ModifyStops) -> Outgoing:
        _, spec = await self._trade_spec(req.symbol)
        return orders.amend_stops(self.ctid, spec, req, self._mirror.positions.get(int(req.ticket)))

    async def _build_pending(self, req: PlacePending) -> Outgoing:
        symbol_id, spec = await self._trade_spec(req.symbol)
        return orders.place_pending(self.ctid, symbol_id, spec, req, client_order_id=self._client_order_id())

    async def _build_modify_pending(self, req: ModifyPending) -> Outgoing:
        _, spec = await self._trade_spec(req.symbol)
        return orders.amend_pending(self.ctid, spec, req, self._mirror.pending_by_ticket(int(req.ticket)))

    async def _build_cancel(self, req: CancelPending) -> Outgoing:
        held = self._mirror.pending_by_ticket(int(req.ticket))
        # An order the mirror does not hold is still asked for: the server says whether it exists.
        return orders.cancel_pending(self.ctid, held.orderId if held is not None else int(req.ticket))

    async def _trade(self, build, request, *, deal: bool) -> ExecutionReport:
        report = await self._trade_once(build, request, deal=deal)
        if not report.status.ok and report.sent:
            # The broker may have changed what it allows (trading mode, volumes): read it again.
            symbol_id = self._symbols.ids.get(getattr(request, "symbol", ""))
            if symbol_id is not None:
                self._symbols.forget([symbol_id])
        return report

    async def _trade_once(self, build, request, *, deal: bool) -> ExecutionReport:
        """Build the message, send it, wait for a market order's fill, and report; never raises on
        a refusal."""
        now = self._clock.time()
        if not self._live or self._link is None or not self._link.up:
            text = f"not sent: cTrader account {self.ctid} is not connected ({self._down or 'link down'})"
            return ExecutionReport(Status.UNREACHABLE, 0, text, sent_at=now, received_at=now, extra={"sent": False},
                                   reason=Reason.NO_CONNECTION, sent=False)
        try:
            out: Outgoing = await build(request)
        except Refusal as refusal:
            text = f"not sent to {self._company}: {refusal.message}"
            log.info("%s: %s", self.account_id, text)
            return ExecutionReport(reasons.status_for(refusal.code), 0, text, bid=refusal.bid, ask=refusal.ask,
                                   sent_at=now, received_at=now, extra={"sent": False, "code": refusal.code},
                                   reason=reasons.reason_for(refusal.code), sent=False)
        except NoChanges as same:
            return ExecutionReport(Status.PLACED, 0, f"nothing to change at {self._company}: the levels are already "
                                   "set", sent_at=now, received_at=now, extra={"sent": False},
                                   reason=Reason.NO_CHANGES, sent=False, sent_sl=same.sl, sent_tp=same.tp)
        except OpenApiError as exc:
            return self._refused(exc, sent_at=now, out=Outgoing(None, extra={"sent": False}), sent=False)
        out.extra["sent"] = True
        out.extra["request"] = _summary(out.message)
        since = self._mirror.seq
        sent_at = self._clock.time()
        try:
            reply = await self._ask(out.message)
        except OpenApiError as exc:
            return self._refused(exc, sent_at=sent_at, out=out, sent=True)
        if not isinstance(reply, M.ProtoOAExecutionEvent):
            return self._refused(OpenApiError("UNKNOWN_ERROR", f"unexpected answer {reply.DESCRIPTOR.name}"),
                                 sent_at=sent_at, out=out, sent=True)
        self._mirror.apply(reply, reply_since=since)
        if deal:
            return await self._deal_report(reply, out, sent_at)
        return self._change_report(reply, out, sent_at)

    def _change_report(self, reply: M.ProtoOAExecutionEvent, out: Outgoing, sent_at: float) -> ExecutionReport:
        """A pending order placed, changed or cancelled, or a position's stops changed."""
        order = reply.order if reply.HasField("order") else None
        if reply.executionType == reasons.ORDER_CANCEL_REJECTED:
            code = reply.errorCode if reply.HasField("errorCode") and reply.errorCode else "UNABLE_TO_CANCEL_ORDER"
            return self._refused(OpenApiError(code, f"order {order.orderId if order else '?'} stays working"),
                                 sent_at=sent_at, out=out, sent=True)
        text = f"{reasons.execution_name(reply.executionType)} by {self._company}"
        ticket = 0
        if order is not None:
            ticket = pending_ticket(order) if order.orderType in PENDING_TYPES else int(order.orderId)
            out.extra["order_id"] = int(order.orderId)
            spec = out.spec
            if order.orderType in PENDING_TYPES and spec is not None:
                price = order.limitPrice if order.orderType == MM.LIMIT else order.stopPrice
                kind = MM.ProtoOAOrderType.Name(order.orderType).lower().replace("_", " ")
                side = "buy" if order.tradeData.tradeSide == MM.BUY else "sell"
                text += (f": {kind} {side} {units(order.tradeData.volume):g} units of {spec.name} at "
                         f"{price:.{spec.digits}f}, order {order.orderId}")
        return ExecutionReport(Status.PLACED, 0, text, volume=units(out.volume), order=ticket, sent_at=sent_at,
                               received_at=self._clock.time(), extra=out.extra, sent_sl=out.sl, sent_tp=out.tp)

    async def _deal_report(self, reply: M.ProtoOAExecutionEvent, out: Outgoing, sent_at: float) -> ExecutionReport:
        spec = out.spec
        order_id = reply.order.orderId
        requested = int(reply.order.tradeData.volume) or out.volume
        end = await self._mirror.order_end(order_id, requested, timeout=self.fill_timeout, alive=lambda: self._live)
        received_at = self._clock.time()
        extra = out.extra
        if end is None:
            self._later_reconcile()
            text = (f"{self._company} accepted order {order_id} but reported no fill within {self.fill_timeout:g} s "
                    f"({self._down or 'no event'}): it may still fill; the next snapshot shows whether it did")
            log.warning("%s: %s", self.account_id, text)
            return ExecutionReport(Status.UNREACHABLE, 0, text, order=order_id, bid=out.bid, ask=out.ask,
                                   sent_at=sent_at, received_at=received_at, extra=extra, reason=Reason.NO_CONNECTION,
                                   quote=out.quote, sent_sl=out.sl, sent_tp=out.tp,
                                   deviation_limit_points=extra.get("deviation_limit_points"))
        order = end.order
        executed = int(order.executedVolume)
        status = reasons.fill_status(executed_cents=executed, requested_cents=requested)
        if status is None:
            # Nothing filled: the order's end names why (ORDER_CANCELLED for a fill-or-kill not filled).
            code = end.errorCode if end.HasField("errorCode") and end.errorCode else \
                MM.ProtoOAExecutionType.Name(end.executionType)
            return self._refused(OpenApiError(code, ""), sent_at=sent_at, out=out, sent=True)
        deals = self._mirror.order_deals(order_id)
        price = round_price(order.executionPrice, spec.digits) if order.HasField("executionPrice") else 0.0
        verb = "bought" if order.tradeData.tradeSide == MM.BUY else "sold"
        head = "filled" if status is Status.FILLED else "partly filled"
        text = f"{head} by {self._company}: {verb} {units(executed):g} units of {spec.name} at {price:.{spec.digits}f}"
        if status is Status.PARTIAL:
            text += f" of {units(requested):g} requested; the rest was cancelled"
            extra["requested_volume"] = units(requested)
        note = await self._exact_stops(end, out)
        if note:
            text += f"; {note}"
            extra["adjusted"] = note
        if order.HasField("positionId"):
            extra["position"] = int(order.positionId)
        return ExecutionReport(status, 0, text, volume=units(executed), price=price, bid=out.bid, ask=out.ask,
                               order=order_id, deal=deals[-1].dealId if deals else 0, sent_at=sent_at,
                               received_at=received_at, extra=extra, sent_sl=out.sl, sent_tp=out.tp, quote=out.quote,
                               deviation_limit_points=extra.get("deviation_limit_points"))

    async def _exact_stops(self, end: M.ProtoOAExecutionEvent, out: Outgoing) -> str:
        """Relative stops land off the asked levels after a fill away from the quote (or not at
        all, where the server sets them after its fill event, or the order joined a netted
        position): the asked levels are set. A netted position the order only reduced stays on
        the other side, where the order's stops cannot sit: it keeps its own."""
        sl, tp = out.sl or 0.0, out.tp or 0.0
        if not (sl or tp) or not end.HasField("position"):
            return ""
        pid = end.position.positionId
        held = self._mirror.positions.get(pid)
        if held is None or orders.held_stops(held, out.spec.digits) == (sl, tp):
            return ""
        if held.tradeData.tradeSide != end.order.tradeData.tradeSide:
            return ""
        amend = orders.amend_stops(self.ctid, out.spec, ModifyStops(pid, out.spec.name, sl, tp), None).message
        since = self._mirror.seq
        try:
            reply = await self._ask(amend)
        except OpenApiError as exc:
            return f"the stops could not be set at the asked levels ({exc.code}: {exc.description})"
        if isinstance(reply, M.ProtoOAExecutionEvent):
            self._mirror.apply(reply, reply_since=since)
        return ""

    def _refused(self, exc: OpenApiError, *, sent_at: float, out: Outgoing, sent: bool) -> ExecutionReport:
        code = exc.code
        if code in reasons.OUTCOME_UNKNOWN:
            self._later_reconcile()
        text = reasons.refusal_message(code, exc.description, broker=self._company)
        extra = dict(out.extra)
        extra["code"] = code
        log.info("%s: %s", self.account_id, text)
        return ExecutionReport(reasons.status_for(code), 0, text, bid=out.bid, ask=out.ask, sent_at=sent_at,
                               received_at=self._clock.time(), extra=extra, reason=reasons.reason_for(code),
                               sent=sent, sent_sl=out.sl, sent_tp=out.tp, quote=out.quote)

    # ================================================================== plumbing
    async def _ask(self, message: Message, *, timeout: float | None = None) -> Message:
        """One request on the shared link, paced under the rate limits; a read refused for the
        rate is asked again after the wait the server names (a trade never is)."""
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


def _summary(message: Message) -> dict:
    """What went out, for the journal (trade requests carry no secret)."""
    out = {"type": message.DESCRIPTOR.name}
    for field, value in message.ListFields():
        if field.name not in ("payloadType", "ctidTraderAccountId"):
            out[field.name] = value
    return out


__all__ = ["CTraderConnector"]


def _signed(flow: MM.ProtoOADepositWithdraw) -> float:
    """-1 for money out: the operation's name says so (BALANCE_WITHDRAW, ..._WITHDRAW_...), its delta never does."""
    return -1.0 if "WITHDRAW" in MM.ProtoOAChangeBalanceType.Name(flow.operationType) else 1.0
