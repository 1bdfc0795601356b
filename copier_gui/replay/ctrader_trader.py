"""The master's trader on cTrader in a replay: its own cTrader app, a second client of the server.

The trader's orders go over their own Open API link, as the cTrader platform's would, so the
copier learns of them only from what the server pushes to its link: the path a real cTrader master
takes. A trade the server refuses, or cannot receive while the account is offline, is reported as
ActionFailed, never raised past the run. Scenario volumes are lots of the symbol's lot size and
stops are points from the fill, as on every platform.
"""

from __future__ import annotations

import asyncio
import contextlib

from copier_gui import ctrader_messages as cm
from copier_gui.connectors.ctrader import OpenApiConnection, OpenApiError, OpenApiSession, TokenPair
from copier_gui.core.model import Side
from copier_gui.replay.ctrader_side import CTraderBrokers
from copier_gui.replay.scenario import (
    CancelPendingAction,
    CloseAction,
    ModifyAction,
    ModifyPendingAction,
    OpenAction,
    PartialCloseAction,
    PlacePendingAction,
    ReverseAction,
)
from copier_gui.replay.trader import ActionFailed

M = cm.messages
MM = cm.model

_PENDING = {"buy_limit": (MM.LIMIT, MM.BUY), "sell_limit": (MM.LIMIT, MM.SELL),
            "buy_stop": (MM.STOP, MM.BUY), "sell_stop": (MM.STOP, MM.SELL)}
_REPLY_S = 10.0  # virtual seconds; the run's server answers at once unless a fault slows it


class _KeepTokens:
    async def save(self, tokens: TokenPair) -> None:
        self.tokens = tokens


class CTraderMasterTrader:
    """Carries out the scenario's actions on the master's cTrader account, as its trader would."""

    def __init__(self, brokers: CTraderBrokers, account_id: str, tickets: dict[str, int]) -> None:
        self.brokers = brokers
        self.account = brokers.accounts[account_id]
        self.account_id = account_id
        self.tickets = tickets  # the scenario's ids -> the master's position (or order) ids
        self._session: OpenApiSession | None = None
        self._executions: asyncio.Queue = asyncio.Queue()

    # ------------------------------------------------------------------ the link
    async def _link(self) -> OpenApiSession:
        session = self._session
        if session is not None and not session.connection.closed.is_set():
            return session
        server = self.brokers.server
        app, tokens, ctid = self.brokers.credentials(self.account_id)
        try:
            connection = await OpenApiConnection.open(server.host, server.port,
                                                      ssl_context=server.client_ssl_context())
            session = OpenApiSession(connection, app, tokens, _KeepTokens(), clock=self.brokers.clock)
            session.add_listener(self._on_event)
            await session.authorize_application()
            await session.authorize_account(ctid)
        except (OpenApiError, OSError) as exc:
            raise ActionFailed(f"the master's cTrader account cannot be reached ({exc})") from None
        self._session = session
        return session

    def _on_event(self, message, client_msg_id) -> None:
        if isinstance(message, M.ProtoOAExecutionEvent):
            self._executions.put_nowait(message)

    async def aclose(self) -> None:
        if self._session is not None:
            with contextlib.suppress(Exception):
                await self._session.close()
            self._session = None

    async def _request(self, action, message) -> None:
        session = await self._link()
        try:
            await session.connection.request(message, timeout=_REPLY_S)
        except (OpenApiError, OSError) as exc:
            raise ActionFailed(f"master {action.action} {action.id!r} refused: {exc}") from None

    async def _filled(self, order_id: int) -> M.ProtoOAExecutionEvent:
        """The fill of ``order_id``, pushed after the server accepted the order."""
        async with asyncio.timeout(_REPLY_S):
            while True:
                event = await self._executions.get()
                if event.order.orderId == order_id and event.executionType in (MM.ORDER_FILLED,
                                                                               MM.ORDER_PARTIAL_FILL):
                    return event

    # ------------------------------------------------------------------ actions
    async def act(self, action) -> None:
        """Raises ActionFailed with the reason when the action cannot be done."""
        while not self._executions.empty():
            self._executions.get_nowait()  # events of earlier actions and of the market's own doing
        if isinstance(action, OpenAction):
            self.tickets[action.id] = await self._open(action)
        elif isinstance(action, ModifyAction):
            await self._modify(action)
        elif isinstance(action, PartialCloseAction | CloseAction):
            await self._close(action)
        elif isinstance(action, ReverseAction):
            await self._reverse(action)
        elif isinstance(action, PlacePendingAction):
            self.tickets[action.id] = await self._place(action)
        elif isinstance(action, ModifyPendingAction):
            await self._move(action)
        elif isinstance(action, CancelPendingAction):
            await self._request(action, M.ProtoOACancelOrderReq(ctidTraderAccountId=self.account.account_id,
                                                                orderId=self._order(action.id)))

    def _symbol(self, name: str):
        symbol = next((s for s in self.account.broker.symbols if s.name == name), None)
        if symbol is None:
            raise ActionFailed(f"the master's cTrader broker has no symbol {name!r}")
        return symbol

    def _relative(self, points: int | None, symbol) -> int:
        # A relative stop is a distance in 1/100000 of the price; a point is 10**-digits of it.
        return int(round(points * 10 ** (5 - symbol.digits))) if points else 0

    async def _open(self, action: OpenAction) -> int:
        symbol = self._symbol(action.symbol)
        message = M.ProtoOANewOrderReq(
            ctidTraderAccountId=self.account.account_id, symbolId=symbol.symbol_id, orderType=MM.MARKET,
            tradeSide=MM.BUY if action.side is Side.BUY else MM.SELL,
            volume=int(round(action.volume * symbol.lot_size * 100)))
        if action.sl_points:
            message.relativeStopLoss = self._relative(action.sl_points, symbol)
        if action.tp_points:
            message.relativeTakeProfit = self._relative(action.tp_points, symbol)
        if action.magic:
            message.label = str(int(action.magic))
        if action.comment:
            message.comment = action.comment
        session = await self._link()
        try:
            accepted = await session.connection.request(message, timeout=_REPLY_S)
            filled = await self._filled(accepted.order.orderId)
        except (OpenApiError, OSError, TimeoutError) as exc:
            raise ActionFailed(f"master open {action.id!r} refused: {exc}") from None
        return filled.position.positionId

    def _position(self, name: str):
        ticket = self.tickets.get(name)
        for pos in self.account.engine.positions.values():
            if ticket and pos.identifier == ticket:
                return pos
        raise ActionFailed(f"master action on {name!r} skipped: the position is no longer open")

    def _order(self, name: str) -> int:
        ticket = self.tickets.get(name)
        if not ticket or ticket not in self.account.engine.orders:
            raise ActionFailed(f"master action on {name!r} skipped: the order is no longer pending")
        return ticket

    async def _modify(self, action: ModifyAction) -> None:
        pos = self._position(action.id)
        point = 10.0 ** -pos.spec.digits
        sign = 1 if pos.type == 0 else -1
        sl, tp = pos.sl, pos.tp
        if action.sl_points is not None:
            sl = round(pos.price_open - sign * action.sl_points * point, pos.spec.digits) if action.sl_points else 0.0
        if action.tp_points is not None:
            tp = round(pos.price_open + sign * action.tp_points * point, pos.spec.digits) if action.tp_points else 0.0
        message = M.ProtoOAAmendPositionSLTPReq(ctidTraderAccountId=self.account.account_id,
                                                positionId=pos.identifier)
        if sl:
            message.stopLoss = sl
        if tp:
            message.takeProfit = tp
        await self._request(action, message)

    async def _close(self, action: PartialCloseAction | CloseAction) -> None:
        pos = self._position(action.id)
        symbol = self._symbol(pos.spec.name)
        lots = pos.volume if isinstance(action, CloseAction) else float(action.volume)
        await self._request(action, M.ProtoOAClosePositionReq(
            ctidTraderAccountId=self.account.account_id, positionId=pos.identifier,
            volume=int(round(lots * symbol.lot_size * 100))))

    async def _reverse(self, action: ReverseAction) -> None:
        """One opposite market order for what the position holds and ``volume`` more: a netting
        account nets it into the same position, which keeps its id."""
        pos = self._position(action.id)
        symbol = self._symbol(pos.spec.name)
        message = M.ProtoOANewOrderReq(
            ctidTraderAccountId=self.account.account_id, symbolId=symbol.symbol_id, orderType=MM.MARKET,
            tradeSide=MM.SELL if pos.type == 0 else MM.BUY,
            volume=int(round((pos.volume + action.volume) * symbol.lot_size * 100)))
        session = await self._link()
        try:
            accepted = await session.connection.request(message, timeout=_REPLY_S)
            await self._filled(accepted.order.orderId)
        except (OpenApiError, OSError, TimeoutError) as exc:
            raise ActionFailed(f"master reverse {action.id!r} refused: {exc}") from None

    def _pending_price(self, symbol, kind: str, offset_points: int) -> float:
        bid, ask = self.account.quote(symbol)
        offset = offset_points * 10.0 ** -symbol.digits
        price = {"buy_limit": ask - offset, "sell_limit": bid + offset,
                 "buy_stop": ask + offset, "sell_stop": bid - offset}[kind]
        return round(price, symbol.digits)

    async def _place(self, action: PlacePendingAction) -> int:
        symbol = self._symbol(action.symbol)
        order_type, side = _PENDING[action.kind]
        price = self._pending_price(symbol, action.kind, action.offset_points)
        message = M.ProtoOANewOrderReq(ctidTraderAccountId=self.account.account_id, symbolId=symbol.symbol_id,
                                       orderType=order_type, tradeSide=side,
                                       volume=int(round(action.volume * symbol.lot_size * 100)))
        if order_type == MM.LIMIT:
            message.limitPrice = price
        else:
            message.stopPrice = price
        sign = 1 if side == MM.BUY else -1
        point = 10.0 ** -symbol.digits
        if action.sl_points:
            message.stopLoss = round(price - sign * action.sl_points * point, symbol.digits)
        if action.tp_points:
            message.takeProfit = round(price + sign * action.tp_points * point, symbol.digits)
        if action.expiration_s:
            message.timeInForce = MM.GOOD_TILL_DATE
            message.expirationTimestamp = int((self.brokers.clock.time() + action.expiration_s) * 1000)
        session = await self._link()
        try:
            accepted = await session.connection.request(message, timeout=_REPLY_S)
        except (OpenApiError, OSError, TimeoutError) as exc:
            raise ActionFailed(f"master place_pending {action.id!r} refused: {exc}") from None
        return accepted.order.orderId

    async def _move(self, action: ModifyPendingAction) -> None:
        order_id = self._order(action.id)
        order = self.account.engine.orders[order_id]
        tags = self.account.orders[order_id]
        symbol = self._symbol(order.spec.name)
        kind = next(k for k, (t, s) in _PENDING.items() if t == tags.order_type and s == tags.side)
        message = M.ProtoOAAmendOrderReq(ctidTraderAccountId=self.account.account_id, orderId=order_id,
                                         volume=tags.volume)
        price = self._pending_price(symbol, kind, action.offset_points)
        if tags.order_type == MM.LIMIT:
            message.limitPrice = price
        else:
            message.stopPrice = price
        await self._request(action, message)
