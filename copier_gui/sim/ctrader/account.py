"""One simulated cTrader trading account: the shared trade engine, spoken to in Open API terms.

Requests arrive as Open API messages and leave as the events a cTrader server sends: an order is
ORDER_ACCEPTED, then ORDER_FILLED with its deal and a position snapshot; a close carries
``closingOrder`` and a deal with ``closePositionDetail``; a pending order gets a CREATED position.
Underneath, the same :class:`~copier_gui.sim.engine.TradeEngine` as the simulated MT5 terminal
fills, nets, triggers stops and stops out, on the same market, in lots of the symbol's lot size.

Ids: an order's id is the engine's order ticket, a position's id the engine's position
identifier (the opening order's ticket, so a pending order's CREATED position has its order's id),
a deal's id the engine's deal ticket. On a netted account an opposite order larger than the
position turns it over; whether a real server keeps the position's id then is undocumented, so
``reversal_policy`` chooses: "keep" (one deal, the same id) or "new" (the position closes in one
deal and the rest opens a new id in a second, both deals of the one order).
Stops on a netted account: the order that opens or turns over the position brings its relative
stops; one that only reduces it leaves the position's (its own would sit on the wrong side of the
market). What an order adding to the position does to its stops is undocumented too, so
``netted_stops_policy`` chooses: "replace" (the order's stops become the position's, as on a
netting MetaTrader account) or "keep" (the position keeps its own). Either way the fill event
shows the position with the stops it has after the fill.
Label, comment and clientOrderId, which the engine has no room for, are kept here by id.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from copier_gui.clock import Clock
from copier_gui.ctrader_messages import messages as M
from copier_gui.ctrader_messages import model as MM
from copier_gui.sim import constants as mt5
from copier_gui.sim.account import AccountSettings, Position
from copier_gui.sim.ctrader.history import DealBook
from copier_gui.sim.ctrader.profiles import NETTED, CTraderBroker, CTraderSymbol, Holiday
from copier_gui.sim.ctrader.refusal import TradeRefusal
from copier_gui.sim.ctrader.symbols import SymbolBook
from copier_gui.sim.engine import TradeEngine
from copier_gui.sim.market import Market
from copier_gui.sim.structs import TradeDeal, TradeRequest

_DIGITS_OF = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0}
_REFUSALS = {
    mt5.TRADE_RETCODE_INVALID_VOLUME: ("TRADING_BAD_VOLUME", "Order volume is invalid for the symbol"),
    mt5.TRADE_RETCODE_MARKET_CLOSED: ("MARKET_CLOSED", "Market is closed"),
    mt5.TRADE_RETCODE_NO_MONEY: ("NOT_ENOUGH_MONEY", "Not enough money"),
    mt5.TRADE_RETCODE_TRADE_DISABLED: ("TRADING_DISABLED", "Trading is disabled for the symbol"),
    mt5.TRADE_RETCODE_INVALID_PRICE: ("TRADING_BAD_PRICES", "Price is on the wrong side of the market"),
    mt5.TRADE_RETCODE_INVALID_EXPIRATION: ("TRADING_BAD_EXPIRATION_DATE", "Expiration date is in the past"),
    mt5.TRADE_RETCODE_LIMIT_ORDERS: ("TOO_MANY_POSITIONS", "Too many pending orders"),
    mt5.TRADE_RETCODE_POSITION_CLOSED: ("POSITION_NOT_FOUND", "Position not found"),
    mt5.TRADE_RETCODE_INVALID_CLOSE_VOLUME: ("TRADING_BAD_VOLUME", "Volume exceeds the position's"),
}
# The rest of the trade server's return codes a scenario may force, in the Open API's nearest
# terms (a market-execution cTrader broker does not requote: it has no price).
_FORCED = {
    10004: ("NO_QUOTES", "No quotes"), 10006: ("UNKNOWN_ERROR", "Request rejected"),
    10007: ("UNKNOWN_ERROR", "Request canceled"), 10011: ("UNKNOWN_ERROR", "Request processing error"),
    10012: ("TIMEOUT_ERROR", "Deal execution is reached timeout and rejected"),
    10013: ("INVALID_REQUEST", "Invalid request"), 10016: ("TRADING_BAD_STOPS", "Invalid stops"),
    10020: ("NO_QUOTES", "Prices changed"), 10021: ("NO_QUOTES", "No quotes"),
    10023: ("CONCURRENT_MODIFICATION", "Order state changed"),
    10024: ("REQUEST_FREQUENCY_EXCEEDED", "You have reached the rate limit of requests"),
    10025: ("INVALID_REQUEST", "No changes"), 10026: ("TRADING_NOT_ALLOWED", "Trading is not allowed"),
    10027: ("TRADING_NOT_ALLOWED", "Trading is not allowed"), 10028: ("POSITION_LOCKED", "Position is locked"),
    10029: ("POSITION_LOCKED", "Position is locked"), 10030: ("INVALID_REQUEST", "Unsupported filling"),
    10031: ("CH_SERVER_NOT_REACHABLE", "Trading server is not reachable"),
    10032: ("TRADING_NOT_ALLOWED", "Only real accounts allowed"),
    10034: ("MAX_EXPOSURE_REACHED", "Maximum exposure reached"), 10035: ("INVALID_REQUEST", "Invalid order type"),
    10039: ("PENDING_EXECUTION", "A close is already pending"), 10040: ("TOO_MANY_POSITIONS", "Too many positions"),
    10041: ("UNKNOWN_ERROR", "Pending order activation rejected"),
    10042: ("SHORT_SELLING_NOT_ALLOWED", "Short selling is not allowed"),
    10043: ("TRADING_DISABLED", "Only short positions are allowed"),
    10044: ("TRADING_DISABLED", "Only closing positions is allowed"), 10045: ("INVALID_REQUEST", "FIFO rule violation"),
}
_PENDING = {
    (MM.LIMIT, MM.BUY): mt5.ORDER_TYPE_BUY_LIMIT, (MM.LIMIT, MM.SELL): mt5.ORDER_TYPE_SELL_LIMIT,
    (MM.STOP, MM.BUY): mt5.ORDER_TYPE_BUY_STOP, (MM.STOP, MM.SELL): mt5.ORDER_TYPE_SELL_STOP,
    # The engine's stop-limit: at the stop price it becomes a limit order (see _pending for the price).
    (MM.STOP_LIMIT, MM.BUY): mt5.ORDER_TYPE_BUY_STOP_LIMIT, (MM.STOP_LIMIT, MM.SELL): mt5.ORDER_TYPE_SELL_STOP_LIMIT,
}
_MARKET_TYPES = (MM.MARKET, MM.MARKET_RANGE)
_PENDING_TYPES = (MM.LIMIT, MM.STOP, MM.STOP_LIMIT)
# String limits of ProtoOANewOrderReq (OpenApiMessages.proto comments).
LABEL_MAX, COMMENT_MAX, CLIENT_ORDER_ID_MAX = 100, 512, 50


@dataclass(slots=True)
class OrderTags:
    """What an order carries that the engine does not: its Open API type, tags and terms."""

    order_type: int
    side: int
    volume: int  # cents
    symbol_id: int
    created_ms: int
    label: str = ""
    comment: str = ""
    client_order_id: str = ""
    time_in_force: int = MM.GOOD_TILL_CANCEL
    expiration_ms: int = 0
    limit_price: float = 0.0
    stop_price: float = 0.0
    stop_loss: float = 0.0
    take_profit: float = 0.0
    relative_sl: int = 0
    relative_tp: int = 0
    slippage: int = 0  # points, for MARKET_RANGE and STOP_LIMIT
    trailing: bool = False
    base_slippage_price: float = 0.0
    position_id: int = 0
    closing: bool = False
    status: int = MM.ORDER_STATUS_ACCEPTED
    executed: int = 0  # cents
    execution_price: float = 0.0
    updated_ms: int = 0
    is_stop_out: bool = False
    stops_land: bool = False  # a fill of this order opened, turned over or (policy) added to its position


@dataclass(slots=True)
class _Seen:
    """A position as last reported: what a later closing deal's detail needs."""

    price: float
    volume: float
    buy: bool
    symbol: CTraderSymbol
    commission: float = 0.0
    sl: float = 0.0
    tp: float = 0.0


class SimCTraderAccount:
    def __init__(self, account_id: int, login: int, broker: CTraderBroker, market: Market, clock: Clock,
                 *, balance: float | None = None, is_live: bool = False, seed: int = 0) -> None:
        self.account_id = account_id
        self.login = login
        self.broker = broker
        self.is_live = is_live
        self.clock = clock
        self.access_rights = MM.FULL_ACCESS
        profile = broker.engine_profile()
        settings = AccountSettings(
            login=login, password="", name="cTrader Trader",
            balance=broker.default_balance if balance is None else float(balance), currency=broker.currency,
            margin_mode=profile.margin_mode, leverage=broker.leverage, trade_mode=mt5.ACCOUNT_TRADE_MODE_DEMO,
            currency_digits=_DIGITS_OF[broker.currency])
        self.engine = TradeEngine(profile, settings, market, clock, random.Random(f"ctrader:{seed}:{account_id}"))
        self.money_digits = broker.money_digits
        self.balance_version = 1
        self.orders: dict[int, OrderTags] = {}
        self.position_tags: dict[int, tuple[str, str]] = {}
        self.registered_ms = int(clock.time() * 1000)
        self._by_name = {s.name: s for s in broker.symbols}
        self._deals_seen = len(self.engine.deals)
        self._seen: dict[int, _Seen] = {}
        self.history = DealBook()
        self.cash_flows: list[MM.ProtoOADepositWithdraw] = []
        # Ids of orders the engine never sees (protection orders, a MARKET_RANGE out of range),
        # far from the engine's own tickets.
        self._own_ids = itertools.count(90_000_000 + random.Random(f"ctrader-own:{seed}:{account_id}").randrange(1, 10**6))
        self._protection_ids: dict[int, int] = {}
        self.reversal_policy = "keep"  # or "new": see the module's docstring
        self.netted_stops_policy = "replace"  # or "keep": see the module's docstring
        # Engine order tickets that are a part of another order (the opening half of a reversal
        # under the "new" policy) -> that order's id.
        self._order_alias: dict[int, int] = {}
        self.symbols = SymbolBook(account_id, broker, clock)
        # Positions whose stop loss trails the market -> its distance in price. The engine has no
        # trailing stops: the account moves the stop at each poll.
        self._trailing: dict[int, float] = {}
        self._forced: list[int] = []  # trade server return codes the next trade requests get

    # ------------------------------------------------------------------ units
    def money(self, amount: float) -> int:
        return int(round(amount * 10**self.money_digits))

    @staticmethod
    def cents(lots: float, symbol: CTraderSymbol) -> int:
        return int(round(lots * symbol.lot_size * 100))

    @staticmethod
    def lots(cents: int, symbol: CTraderSymbol) -> float:
        return round(cents / 100 / symbol.lot_size, 10)

    def now_ms(self) -> int:
        return int(round(self.clock.time() * 1000))

    def symbol(self, symbol_id: int) -> CTraderSymbol:
        symbol = self.broker.by_id.get(symbol_id)
        if symbol is None:
            raise TradeRefusal("SYMBOL_NOT_FOUND", f"Symbol with id {symbol_id} not found", as_error_res=True)
        return symbol

    def quote(self, symbol: CTraderSymbol) -> tuple[float, float]:
        bid, ask, _ = self.engine.quote(self.engine.symbol(symbol.name))
        return bid, ask

    # ------------------------------------------------------------------ snapshots
    def _position_record(self, position_id: int) -> Position | None:
        for pos in self.engine.positions.values():
            if pos.identifier == position_id:
                return pos
        return None

    def position_message(self, pos: Position) -> MM.ProtoOAPosition:
        symbol = self._by_name[pos.spec.name]
        label, comment = self.position_tags.get(pos.identifier, ("", ""))
        trade = MM.ProtoOATradeData(
            symbolId=symbol.symbol_id, volume=self.cents(pos.volume, symbol),
            tradeSide=MM.BUY if pos.type == mt5.POSITION_TYPE_BUY else MM.SELL,
            openTimestamp=pos.time_msc, label=label, comment=comment)
        message = MM.ProtoOAPosition(
            positionId=pos.identifier, tradeData=trade, positionStatus=MM.POSITION_STATUS_OPEN,
            swap=self.money(pos.swap), price=pos.price_open, utcLastUpdateTimestamp=pos.time_update_msc,
            commission=self.money(self._open_commission(pos.identifier)), moneyDigits=self.money_digits,
            usedMargin=self.money(self.engine.margin_of(pos.spec, pos.volume, pos.price_open)))
        if pos.sl:
            message.stopLoss = pos.sl
        if pos.tp:
            message.takeProfit = pos.tp
        if pos.identifier in self._trailing:
            message.trailingStopLoss = True
        return message

    def _closed_position(self, position_id: int, seen: _Seen, ms: int) -> MM.ProtoOAPosition:
        label, comment = self.position_tags.get(position_id, ("", ""))
        trade = MM.ProtoOATradeData(symbolId=seen.symbol.symbol_id, volume=0,
                                    tradeSide=MM.BUY if seen.buy else MM.SELL, label=label, comment=comment,
                                    closeTimestamp=ms)
        return MM.ProtoOAPosition(positionId=position_id, tradeData=trade, positionStatus=MM.POSITION_STATUS_CLOSED,
                                  swap=0, price=seen.price, utcLastUpdateTimestamp=ms, moneyDigits=self.money_digits)

    def _created_position(self, order_id: int, tags: OrderTags) -> MM.ProtoOAPosition:
        trade = MM.ProtoOATradeData(symbolId=tags.symbol_id, volume=0, tradeSide=tags.side, label=tags.label,
                                    comment=tags.comment)
        return MM.ProtoOAPosition(positionId=order_id, tradeData=trade, positionStatus=MM.POSITION_STATUS_CREATED,
                                  swap=0, utcLastUpdateTimestamp=tags.created_ms, moneyDigits=self.money_digits)

    def _open_commission(self, position_id: int) -> float:
        return sum(d.commission for d in self.engine.deals
                   if d.position_id == position_id and d.entry == mt5.DEAL_ENTRY_IN)

    def order_message(self, order_id: int, tags: OrderTags) -> MM.ProtoOAOrder:
        trade = MM.ProtoOATradeData(symbolId=tags.symbol_id, volume=tags.volume, tradeSide=tags.side,
                                    openTimestamp=tags.created_ms, label=tags.label, comment=tags.comment)
        message = MM.ProtoOAOrder(
            orderId=order_id, tradeData=trade, orderType=tags.order_type, orderStatus=tags.status,
            executedVolume=tags.executed, utcLastUpdateTimestamp=tags.updated_ms or tags.created_ms,
            closingOrder=tags.closing, timeInForce=tags.time_in_force, isStopOut=tags.is_stop_out)
        # proto2 keeps presence: a field the order does not have is left unset, not sent as 0.
        for name, value in (("clientOrderId", tags.client_order_id), ("positionId", tags.position_id),
                             ("executionPrice", tags.execution_price), ("limitPrice", tags.limit_price),
                             ("stopPrice", tags.stop_price), ("stopLoss", tags.stop_loss),
                             ("takeProfit", tags.take_profit), ("relativeStopLoss", tags.relative_sl),
                             ("relativeTakeProfit", tags.relative_tp), ("slippageInPoints", tags.slippage),
                             ("baseSlippagePrice", tags.base_slippage_price),
                             ("expirationTimestamp", tags.expiration_ms)):
            if value:
                setattr(message, name, value)
        return message

    def trader(self) -> MM.ProtoOATrader:
        return MM.ProtoOATrader(
            ctidTraderAccountId=self.account_id, balance=self.money(self.engine.balance),
            balanceVersion=self.balance_version, depositAssetId=self.broker.deposit_asset_id,
            accessRights=self.access_rights, leverageInCents=self.broker.leverage * 100,
            totalMarginCalculationType=MM.MAX if self.broker.account_type != NETTED else MM.NET,
            traderLogin=self.login, accountType=self.broker.account_type, brokerName=self.broker.broker_name,
            registrationTimestamp=self.registered_ms, moneyDigits=self.money_digits)

    def reconcile(self, protection_orders: bool = False) -> tuple[list[MM.ProtoOAPosition], list[MM.ProtoOAOrder]]:
        """Open positions and working orders; with ``protection_orders``, also each position's
        SL/TP as the server's own STOP_LOSS_TAKE_PROFIT order (the positions keep their levels)."""
        self.engine.refresh()
        positions = [self.position_message(p) for p in self.engine.positions.values()]
        orders = [self.order_message(oid, self.orders[oid]) for oid in self.engine.orders if oid in self.orders]
        if protection_orders:
            orders.extend(self._protection_order(p) for p in self.engine.positions.values() if p.sl or p.tp)
        return positions, orders

    def _protection_order(self, pos: Position) -> MM.ProtoOAOrder:
        """One order per protected position, with a stable id, closing the whole position."""
        order_id = self._protection_ids.setdefault(pos.identifier, next(self._own_ids))
        symbol = self._by_name[pos.spec.name]
        label, comment = self.position_tags.get(pos.identifier, ("", ""))
        buy = pos.type == mt5.POSITION_TYPE_BUY
        trade = MM.ProtoOATradeData(symbolId=symbol.symbol_id, volume=self.cents(pos.volume, symbol),
                                    tradeSide=MM.SELL if buy else MM.BUY, openTimestamp=pos.time_update_msc,
                                    label=label, comment=comment)
        message = MM.ProtoOAOrder(orderId=order_id, tradeData=trade, orderType=MM.STOP_LOSS_TAKE_PROFIT,
                                  orderStatus=MM.ORDER_STATUS_ACCEPTED, executedVolume=0,
                                  utcLastUpdateTimestamp=pos.time_update_msc, closingOrder=True,
                                  timeInForce=MM.GOOD_TILL_CANCEL, positionId=pos.identifier)
        if pos.sl:
            message.stopLoss = pos.sl
        if pos.tp:
            message.takeProfit = pos.tp
        return message

    # The symbols as this account's broker sets them (SymbolBook), named as the server asks.
    def symbols_light(self) -> list[MM.ProtoOALightSymbol]:
        return self.symbols.light()

    def assets(self) -> list[MM.ProtoOAAsset]:
        return self.symbols.assets()

    def symbol_full(self, symbol: CTraderSymbol) -> MM.ProtoOASymbol:
        return self.symbols.full(symbol)

    def add_holiday(self, holiday: Holiday, *symbol_ids: int) -> None:
        self.symbols.add_holiday(holiday, *symbol_ids)

    def set_trading_mode(self, symbol_id: int, mode: int) -> None:
        self.symbol(symbol_id)
        self.symbols.set_trading_mode(symbol_id, mode)

    # ------------------------------------------------------------------ requests
    def _event(self, execution_type: int, **fields) -> M.ProtoOAExecutionEvent:
        return M.ProtoOAExecutionEvent(ctidTraderAccountId=self.account_id, executionType=execution_type, **fields)

    def _check_strings(self, req: M.ProtoOANewOrderReq) -> None:
        for name, limit in (("label", LABEL_MAX), ("comment", COMMENT_MAX), ("clientOrderId", CLIENT_ORDER_ID_MAX)):
            if len(getattr(req, name)) > limit:
                raise TradeRefusal("INVALID_REQUEST", f"{name} is longer than {limit} characters", as_error_res=True)

    def _check_volume(self, symbol: CTraderSymbol, cents: int) -> None:
        units = cents / 100
        steps = (units - symbol.min_volume) / symbol.step_volume
        if units < symbol.min_volume - 1e-9 or units > symbol.max_volume + 1e-9 or abs(steps - round(steps)) > 1e-7:
            raise TradeRefusal(
                "TRADING_BAD_VOLUME",
                f"Order volume = {units:g} units is invalid for {symbol.name}: min {symbol.min_volume:g}, "
                f"step {symbol.step_volume:g}, max {symbol.max_volume:g}")

    def _request(self, *, action: int, symbol: CTraderSymbol, volume: float = 0.0, order_type: int = 0,
                 price: float = 0.0, sl: float = 0.0, tp: float = 0.0, type_time: int = mt5.ORDER_TIME_GTC,
                 expiration: int = 0, filling: int = mt5.ORDER_FILLING_FOK, position: int = 0, order: int = 0,
                 comment: str = "", stoplimit: float = 0.0) -> TradeRequest:
        return TradeRequest((action, 0, order, symbol.name, volume, price, stoplimit, sl, tp, 0, order_type, filling,
                             type_time, expiration, comment[:31], position, 0))

    def new_order(self, req: M.ProtoOANewOrderReq, *, split: bool = False) -> list[M.ProtoOAExecutionEvent]:
        """``split``: a market order fills in two deals (an IOC order then cancels the rest)."""
        self._check_forced()
        self._check_access(closing=False)
        self._check_strings(req)
        symbol = self.symbol(req.symbolId)
        self._check_volume(symbol, req.volume)
        self.symbols.check_holiday(symbol)
        self.symbols.check_mode(symbol, closing=False)
        if req.orderType in _MARKET_TYPES:
            if req.HasField("stopLoss") or req.HasField("takeProfit"):
                raise TradeRefusal("TRADING_BAD_STOPS",
                                   "SL/TP in absolute values are allowed only for order types: [LIMIT, STOP, STOP_LIMIT]")
            return self._market(req, symbol, split=split)
        if (req.orderType, req.tradeSide) in _PENDING:
            return self._pending(req, symbol)
        raise TradeRefusal("INVALID_REQUEST", f"Order type {MM.ProtoOAOrderType.Name(req.orderType)} is not supported",
                           as_error_res=True)

    def force_refusals(self, *retcodes: int) -> None:
        """Refuse the next trade requests (new, close, amend, cancel), one per code, each with the
        Open API error nearest to the trade server's return code."""
        self._forced.extend(retcodes)

    def _check_forced(self) -> None:
        if self._forced:
            retcode = self._forced.pop(0)
            code, text = _REFUSALS.get(retcode) or _FORCED.get(retcode, ("UNKNOWN_ERROR", f"Refused ({retcode})"))
            raise TradeRefusal(code, text)

    def _check_access(self, *, closing: bool) -> None:
        if self.access_rights == MM.FULL_ACCESS or (closing and self.access_rights == MM.CLOSE_ONLY):
            return
        raise TradeRefusal("TRADING_NOT_ALLOWED", "Trading is not allowed for the account")

    def _refuse(self, retcode: int) -> TradeRefusal:
        code, text = _REFUSALS.get(retcode, ("INVALID_REQUEST", f"Request refused (engine code {retcode})"))
        return TradeRefusal(code, text)

    def _market(self, req: M.ProtoOANewOrderReq, symbol: CTraderSymbol, *,
                split: bool = False) -> list[M.ProtoOAExecutionEvent]:
        buy = req.tradeSide == MM.BUY
        ranged = req.orderType == MM.MARKET_RANGE
        if ranged and not (req.HasField("baseSlippagePrice") and req.HasField("slippageInPoints")):
            raise TradeRefusal("INVALID_REQUEST", "A MARKET_RANGE order needs baseSlippagePrice and slippageInPoints",
                               as_error_res=True)
        position = 0
        if req.HasField("positionId") and req.positionId and self.broker.account_type != NETTED:
            pos = self._position_record(req.positionId)
            if pos is None:
                raise TradeRefusal("POSITION_NOT_FOUND", f"Position not found with id {req.positionId}")
            position = pos.ticket
        ioc = req.timeInForce == MM.IMMEDIATE_OR_CANCEL
        filling = mt5.ORDER_FILLING_IOC if ioc else mt5.ORDER_FILLING_FOK
        if split and not ioc:
            filling = mt5.ORDER_FILLING_RETURN  # the engine keeps the rest working: it fills on the next tick
        request = self._request(action=mt5.TRADE_ACTION_DEAL, symbol=symbol, volume=self.lots(req.volume, symbol),
                                order_type=mt5.ORDER_TYPE_BUY if buy else mt5.ORDER_TYPE_SELL, filling=filling,
                                position=position, comment=req.comment)
        tags = OrderTags(order_type=req.orderType, side=req.tradeSide, volume=req.volume, symbol_id=symbol.symbol_id,
                         created_ms=self.now_ms(), label=req.label, comment=req.comment,
                         client_order_id=req.clientOrderId, time_in_force=req.timeInForce,
                         relative_sl=req.relativeStopLoss, relative_tp=req.relativeTakeProfit,
                         slippage=req.slippageInPoints if ranged else 0, trailing=req.trailingStopLoss,
                         base_slippage_price=req.baseSlippagePrice if ranged else 0.0,
                         position_id=req.positionId if position else 0, closing=bool(position))
        if ranged and not self._in_range(symbol, buy, req.baseSlippagePrice, req.slippageInPoints):
            return self._out_of_range(tags)
        if self.broker.account_type == NETTED and self.reversal_policy == "new" and not split:
            current = next((p for p in self.engine.positions.values() if p.spec.name == symbol.name), None)
            if current is not None and (current.type == mt5.POSITION_TYPE_BUY) != buy:
                held = self.cents(current.volume, symbol)
                if req.volume > held:
                    close = self._request(action=mt5.TRADE_ACTION_DEAL, symbol=symbol, volume=current.volume,
                                          order_type=request.type, filling=filling, comment=req.comment)
                    rest = self._request(action=mt5.TRADE_ACTION_DEAL, symbol=symbol,
                                         volume=self.lots(req.volume - held, symbol), order_type=request.type,
                                         filling=filling, comment=req.comment)
                    return self._reverse_as_new(close, rest, tags)
        return self._execute(request, tags, fault=mt5.TRADE_RETCODE_DONE_PARTIAL if split else 0)

    def _reverse_as_new(self, close: TradeRequest, rest: TradeRequest, tags: OrderTags) -> list[M.ProtoOAExecutionEvent]:
        """One order, two deals: the netted position closes, then the rest opens a new position."""
        self.engine.refresh()
        before = self._deals_seen
        self._remember_positions()
        outcome = self.engine.send(close)
        if outcome.retcode != mt5.TRADE_RETCODE_DONE:
            self._deals_seen = len(self.engine.deals)
            raise self._refuse(outcome.retcode)
        order_id = outcome.order
        self.orders[order_id] = tags
        events = [self._event(MM.ORDER_ACCEPTED, order=self.order_message(order_id, tags))]
        opened = self.engine.send(rest)
        if opened.retcode == mt5.TRADE_RETCODE_DONE:
            self._order_alias[opened.order] = order_id
        events.extend(self._fills(before))
        if tags.executed < tags.volume:
            # The new side was refused (margin, most likely): the order ends with what it closed.
            tags.status, tags.updated_ms = MM.ORDER_STATUS_CANCELLED, self.now_ms()
            events.append(self._event(MM.ORDER_CANCELLED, order=self.order_message(order_id, tags)))
        self._stops_after(order_id, tags, events)
        return events

    def _in_range(self, symbol: CTraderSymbol, buy: bool, base: float, points: int) -> bool:
        """A MARKET_RANGE order fills only at its base price or at most ``points`` worse."""
        self.engine.refresh()
        bid, ask = self.quote(symbol)
        reach = points * 10.0**-symbol.digits + 1e-9
        return ask <= base + reach if buy else bid >= base - reach

    def _out_of_range(self, tags: OrderTags) -> list[M.ProtoOAExecutionEvent]:
        """ACCEPTED, then CANCELLED with nothing executed (how a real server words this is undocumented)."""
        order_id = next(self._own_ids)
        self.orders[order_id] = tags
        accepted = self._event(MM.ORDER_ACCEPTED, order=self.order_message(order_id, tags))
        tags.status, tags.updated_ms = MM.ORDER_STATUS_CANCELLED, self.now_ms()
        return [accepted, self._event(MM.ORDER_CANCELLED, order=self.order_message(order_id, tags))]

    def _execute(self, request: TradeRequest, tags: OrderTags, *, fault: int = 0) -> list[M.ProtoOAExecutionEvent]:
        """Send a market deal to the engine and report it as ACCEPTED then FILLED."""
        self.engine.refresh()
        before = self._deals_seen
        self._remember_positions()
        outcome = self.engine.send(request, fault=fault)
        if outcome.retcode not in (mt5.TRADE_RETCODE_DONE, mt5.TRADE_RETCODE_DONE_PARTIAL):
            self._deals_seen = len(self.engine.deals)
            raise self._refuse(outcome.retcode)
        order_id = outcome.order
        self.orders[order_id] = tags
        accepted = self._event(MM.ORDER_ACCEPTED, order=self.order_message(order_id, tags))
        if tags.closing and tags.position_id:
            pos = self._position_record(tags.position_id)
            if pos is not None:
                accepted.position.CopyFrom(self.position_message(pos))
        events = [accepted]
        events.extend(self._fills(before))
        if (tags.time_in_force == MM.IMMEDIATE_OR_CANCEL and 0 < tags.executed < tags.volume
                and order_id not in self.engine.orders and len(events) > 1):
            # An IOC order filled in part: its last deal comes as ORDER_CANCELLED with the executed
            # volume and the position (the documented trading-events flow).
            tags.status = MM.ORDER_STATUS_CANCELLED
            last = next(e for e in reversed(events) if isinstance(e, M.ProtoOAExecutionEvent)
                        and e.executionType == MM.ORDER_FILLED)  # a close's trader update may follow it
            last.executionType = MM.ORDER_CANCELLED
            last.order.orderStatus = MM.ORDER_STATUS_CANCELLED
        self._stops_after(order_id, tags, events)
        return events

    def _apply_relative_stops(self, order_id: int, tags: OrderTags) -> bool:
        """Relative SL/TP (1/100000 of price) become absolute levels on the filled position, where
        the order's stops land (see :meth:`_lands_stops`); whether that changed them (again is
        harmless: the engine answers that nothing changed)."""
        if not (tags.relative_sl or tags.relative_tp) or tags.executed == 0 or tags.closing or not tags.stops_land:
            return False  # a closing order's stops would land on the position it reduces
        pos = self._position_record(self._position_of_order(order_id))
        buy = pos is not None and pos.type == mt5.POSITION_TYPE_BUY
        if pos is None or buy != (tags.side == MM.BUY):
            return False  # a position on the other side is one this order only reduced
        before = (pos.sl, pos.tp)
        sign = 1 if buy else -1
        digits = pos.spec.digits
        sl = round(tags.execution_price - sign * tags.relative_sl / 100_000, digits) if tags.relative_sl else 0.0
        tp = round(tags.execution_price + sign * tags.relative_tp / 100_000, digits) if tags.relative_tp else 0.0
        symbol = self._by_name[pos.spec.name]
        self.engine.send(self._request(action=mt5.TRADE_ACTION_SLTP, symbol=symbol, sl=sl, tp=tp,
                                       position=pos.ticket))
        if tags.trailing and tags.relative_sl:
            self._trailing[pos.identifier] = tags.relative_sl / 100_000
        return (pos.sl, pos.tp) != before

    def _stops_after(self, order_id: int, tags: OrderTags, events: list) -> None:
        """Stops set once the order ended (an IOC order filled in part) are in its last event's
        position: an event the server sends shows the position as it is, never an older state."""
        if not self._apply_relative_stops(order_id, tags):
            return
        pos = self._position_record(self._position_of_order(order_id))
        last = next((e for e in reversed(events) if isinstance(e, M.ProtoOAExecutionEvent)
                     and e.HasField("position") and e.position.positionId == pos.identifier), None)
        if last is not None:
            last.position.CopyFrom(self.position_message(pos))

    def _position_of_order(self, order_id: int) -> int:
        for deal in reversed(self.engine.deals):
            if self._order_alias.get(deal.order, deal.order) == order_id:
                return deal.position_id
        return 0

    def _pending(self, req: M.ProtoOANewOrderReq, symbol: CTraderSymbol) -> list[M.ProtoOAExecutionEvent]:
        """A LIMIT, STOP or STOP_LIMIT order. A cTrader STOP_LIMIT triggers at its stop price and
        then fills at most ``slippageInPoints`` worse; it waits as a limit at that price if the
        market has run past it."""
        price = req.limitPrice if req.orderType == MM.LIMIT else req.stopPrice
        if not price:
            raise TradeRefusal("INVALID_REQUEST", "A LIMIT order needs limitPrice, a STOP or STOP_LIMIT order stopPrice",
                               as_error_res=True)
        type_time, expiration = mt5.ORDER_TIME_GTC, 0
        if req.timeInForce == MM.GOOD_TILL_DATE:
            if not req.expirationTimestamp:
                raise TradeRefusal("TRADING_BAD_EXPIRATION_DATE", "GOOD_TILL_DATE needs expirationTimestamp")
            type_time = mt5.ORDER_TIME_SPECIFIED
            expiration = int(self.engine.server_time(req.expirationTimestamp / 1000))
        request = self._request(action=mt5.TRADE_ACTION_PENDING, symbol=symbol, volume=self.lots(req.volume, symbol),
                                order_type=_PENDING[(req.orderType, req.tradeSide)], price=price, sl=req.stopLoss,
                                tp=req.takeProfit, type_time=type_time, expiration=expiration,
                                filling=mt5.ORDER_FILLING_RETURN, comment=req.comment,
                                stoplimit=price if req.orderType == MM.STOP_LIMIT else 0.0)
        self.engine.refresh()
        outcome = self.engine.send(request)
        if outcome.retcode == mt5.TRADE_RETCODE_INVALID_STOPS:
            raise TradeRefusal("TRADING_BAD_STOPS", "Stop loss or take profit is on the wrong side of the order price")
        if outcome.retcode != mt5.TRADE_RETCODE_DONE:
            raise self._refuse(outcome.retcode)
        order_id = outcome.order
        if req.orderType == MM.STOP_LIMIT:
            self._set_stop_limit(order_id, symbol, req.tradeSide, price, req.slippageInPoints)
        tags = OrderTags(order_type=req.orderType, side=req.tradeSide, volume=req.volume, symbol_id=symbol.symbol_id,
                         created_ms=self.now_ms(), label=req.label, comment=req.comment,
                         client_order_id=req.clientOrderId, time_in_force=req.timeInForce,
                         expiration_ms=req.expirationTimestamp if type_time == mt5.ORDER_TIME_SPECIFIED else 0,
                         limit_price=req.limitPrice if req.orderType == MM.LIMIT else 0.0,
                         stop_price=req.stopPrice if req.orderType != MM.LIMIT else 0.0,
                         slippage=req.slippageInPoints if req.orderType == MM.STOP_LIMIT else 0,
                         relative_sl=req.relativeStopLoss, relative_tp=req.relativeTakeProfit,
                         trailing=req.trailingStopLoss, stop_loss=req.stopLoss, take_profit=req.takeProfit, position_id=order_id)
        self.orders[order_id] = tags
        self.position_tags.setdefault(order_id, (req.label, req.comment))
        return [self._event(MM.ORDER_ACCEPTED, order=self.order_message(order_id, tags),
                            position=self._created_position(order_id, tags))]

    def _set_stop_limit(self, order_id: int, symbol: CTraderSymbol, side: int, stop: float, points: int) -> None:
        """Put the limit of a triggered stop at the slippage beyond the stop price. MT5's stop-limit
        (which the engine checks) has its limit on the other side of the stop, so the engine's
        order is placed with the limit at the stop, then given cTrader's limit."""
        reach = points * 10.0**-symbol.digits
        limit = round(stop + reach if side == MM.BUY else stop - reach, symbol.digits)
        self.engine.orders[order_id].price_stoplimit = limit
        self.engine.version += 1

    def close_position(self, req: M.ProtoOAClosePositionReq) -> list[M.ProtoOAExecutionEvent]:
        self._check_forced()
        self._check_access(closing=True)
        self.engine.refresh()
        pos = self._position_record(req.positionId)
        if pos is None:
            raise TradeRefusal("POSITION_NOT_FOUND", f"Position not found with id {req.positionId}")
        symbol = self._by_name[pos.spec.name]
        self.symbols.check_holiday(symbol)
        self.symbols.check_mode(symbol, closing=True)
        open_cents = self.cents(pos.volume, symbol)
        if req.volume <= 0 or req.volume > open_cents:
            raise TradeRefusal("TRADING_BAD_VOLUME",
                               f"Close volume {req.volume / 100:g} is invalid; the position holds {open_cents / 100:g}")
        if req.volume < open_cents:
            self._check_volume(symbol, req.volume)
        buy = pos.type == mt5.POSITION_TYPE_BUY
        label, comment = self.position_tags.get(pos.identifier, ("", ""))
        request = self._request(action=mt5.TRADE_ACTION_DEAL, symbol=symbol, volume=self.lots(req.volume, symbol),
                                order_type=mt5.ORDER_TYPE_SELL if buy else mt5.ORDER_TYPE_BUY, position=pos.ticket)
        tags = OrderTags(order_type=MM.MARKET, side=MM.SELL if buy else MM.BUY, volume=req.volume,
                         symbol_id=symbol.symbol_id, created_ms=self.now_ms(), label=label, comment=comment,
                         time_in_force=MM.IMMEDIATE_OR_CANCEL, position_id=pos.identifier, closing=True)
        return self._execute(request, tags)

    def amend_position(self, req: M.ProtoOAAmendPositionSLTPReq) -> list[M.ProtoOAExecutionEvent]:
        self._check_forced()
        self.engine.refresh()
        pos = self._position_record(req.positionId)
        if pos is None:
            raise TradeRefusal("POSITION_NOT_FOUND", f"Position not found with id {req.positionId}")
        symbol = self._by_name[pos.spec.name]
        self.symbols.check_holiday(symbol)
        self.symbols.check_mode(symbol, closing=True)
        # A field left out removes that level: send both to keep both.
        sl = req.stopLoss if req.HasField("stopLoss") else 0.0
        tp = req.takeProfit if req.HasField("takeProfit") else 0.0
        outcome = self.engine.send(self._request(action=mt5.TRADE_ACTION_SLTP, symbol=symbol, sl=sl, tp=tp,
                                                 position=pos.ticket))
        if outcome.retcode == mt5.TRADE_RETCODE_INVALID_STOPS:
            raise TradeRefusal("TRADING_BAD_STOPS", self._bad_stops_text(pos, sl, tp))
        if outcome.retcode not in (mt5.TRADE_RETCODE_DONE, mt5.TRADE_RETCODE_NO_CHANGES):
            raise self._refuse(outcome.retcode)
        self._trailing.pop(pos.identifier, None)
        if req.trailingStopLoss and sl:
            bid, ask = self.quote(symbol)
            self._trailing[pos.identifier] = abs((bid if pos.type == mt5.POSITION_TYPE_BUY else ask) - sl)
        return [self._event(MM.ORDER_REPLACED, position=self.position_message(pos))]

    def _bad_stops_text(self, pos: Position, sl: float, tp: float) -> str:
        """The server's own wording (openapi-proto-messages#23)."""
        bid, ask, _ = self.engine.quote(pos.spec)
        digits = pos.spec.digits
        if pos.type == mt5.POSITION_TYPE_BUY:
            if tp and tp <= bid:
                return f"New TP for BUY position should be >= current BID price. current BID: {bid:.{digits}f}, TP: {tp:.{digits}f}"
            return f"New SL for BUY position should be <= current BID price. current BID: {bid:.{digits}f}, SL: {sl:.{digits}f}"
        if tp and tp >= ask:
            return f"New TP for SELL position should be <= current ASK price. current ASK: {ask:.{digits}f}, TP: {tp:.{digits}f}"
        return f"New SL for SELL position should be >= current ASK price. current ASK: {ask:.{digits}f}, SL: {sl:.{digits}f}"

    def amend_order(self, req: M.ProtoOAAmendOrderReq) -> list[M.ProtoOAExecutionEvent]:
        """Change a pending order: a price, volume or expiry left out stays; an SL or TP left out
        is removed (send both to keep both, as with positions)."""
        self._check_forced()
        self.engine.refresh()
        tags = self.orders.get(req.orderId)
        order = self.engine.orders.get(req.orderId)
        if tags is None or order is None or tags.order_type not in _PENDING_TYPES:
            raise TradeRefusal("ORDER_NOT_FOUND", f"Order with id {req.orderId} not found", order_id=req.orderId)
        symbol = self.symbol(tags.symbol_id)
        self.symbols.check_holiday(symbol)
        self.symbols.check_mode(symbol, closing=False)
        volume = req.volume if req.HasField("volume") else tags.volume
        if volume != tags.volume:
            self._check_volume(symbol, volume)
        # A STOP_LIMIT whose stop was reached is a limit order now: its stop price cannot move.
        stop_limit = order.type in (mt5.ORDER_TYPE_BUY_STOP_LIMIT, mt5.ORDER_TYPE_SELL_STOP_LIMIT)
        triggered = tags.order_type == MM.STOP_LIMIT and not stop_limit
        price = order.price_open
        if tags.order_type == MM.LIMIT and req.HasField("limitPrice"):
            price = req.limitPrice
        elif tags.order_type != MM.LIMIT and req.HasField("stopPrice") and not triggered:
            price = req.stopPrice
        slippage = tags.slippage
        if req.HasField("slippageInPoints") and tags.order_type == MM.STOP_LIMIT:
            slippage = req.slippageInPoints
        sl = req.stopLoss if req.HasField("stopLoss") else 0.0
        tp = req.takeProfit if req.HasField("takeProfit") else 0.0
        type_time, expiration, expiration_ms = order.type_time, order.time_expiration, tags.expiration_ms
        if req.HasField("expirationTimestamp"):
            type_time, expiration_ms = mt5.ORDER_TIME_SPECIFIED, req.expirationTimestamp
            expiration = int(self.engine.server_time(req.expirationTimestamp / 1000))
        outcome = self.engine.send(self._request(action=mt5.TRADE_ACTION_MODIFY, symbol=symbol, order=req.orderId,
                                                 price=price, sl=sl, tp=tp, type_time=type_time,
                                                 expiration=expiration, stoplimit=price if stop_limit else 0.0))
        if outcome.retcode == mt5.TRADE_RETCODE_INVALID_STOPS:
            raise TradeRefusal("TRADING_BAD_STOPS", "Stop loss or take profit is on the wrong side of the order price")
        if outcome.retcode not in (mt5.TRADE_RETCODE_DONE, mt5.TRADE_RETCODE_NO_CHANGES):
            raise self._refuse(outcome.retcode)  # ids 0: only ORDER_NOT_FOUND names the order
        if volume != tags.volume:
            # The engine's modify cannot resize an order; a working order's volume is its own field.
            order.volume_initial = order.volume_current = self.lots(volume, symbol)
            self.engine.version += 1
        if stop_limit:
            self._set_stop_limit(req.orderId, symbol, tags.side, price, slippage)
        tags.volume, tags.stop_loss, tags.take_profit, tags.slippage = volume, sl, tp, slippage
        if tags.order_type == MM.LIMIT:
            tags.limit_price = price
        elif not triggered:
            tags.stop_price = price
        if type_time == mt5.ORDER_TIME_SPECIFIED:
            tags.time_in_force, tags.expiration_ms = MM.GOOD_TILL_DATE, expiration_ms
        tags.updated_ms = self.now_ms()
        return [self._event(MM.ORDER_REPLACED, order=self.order_message(req.orderId, tags),
                            position=self._created_position(req.orderId, tags))]

    def cancel_rejected(self, order_id: int) -> list[M.ProtoOAExecutionEvent] | None:
        """ORDER_CANCEL_REJECTED for a working order, which stays; None when there is no such order."""
        tags = self.orders.get(order_id)
        if tags is None or order_id not in self.engine.orders:
            return None
        return [self._event(MM.ORDER_CANCEL_REJECTED, order=self.order_message(order_id, tags),
                            errorCode="UNABLE_TO_CANCEL_ORDER")]

    def cancel_order(self, req: M.ProtoOACancelOrderReq) -> list[M.ProtoOAExecutionEvent]:
        self._check_forced()
        self.engine.refresh()
        tags = self.orders.get(req.orderId)
        if tags is None or req.orderId not in self.engine.orders:
            raise TradeRefusal("ORDER_NOT_FOUND", f"Order with id {req.orderId} not found", order_id=req.orderId)
        symbol = self.symbol(tags.symbol_id)
        outcome = self.engine.send(self._request(action=mt5.TRADE_ACTION_REMOVE, symbol=symbol, order=req.orderId))
        if outcome.retcode != mt5.TRADE_RETCODE_DONE:
            raise TradeRefusal("UNABLE_TO_CANCEL_ORDER", "Order cannot be cancelled", order_id=req.orderId)
        tags.status = MM.ORDER_STATUS_CANCELLED
        tags.updated_ms = self.now_ms()
        return [self._event(MM.ORDER_CANCELLED, order=self.order_message(req.orderId, tags))]

    # ------------------------------------------------------------------ what the engine did
    def _remember_positions(self) -> None:
        for pos in self.engine.positions.values():
            self._seen[pos.identifier] = _Seen(pos.price_open, pos.volume, pos.type == mt5.POSITION_TYPE_BUY,
                                               self._by_name[pos.spec.name], sl=pos.sl, tp=pos.tp)

    def poll(self) -> list[M.ProtoOAExecutionEvent]:
        """Bring the engine up to the clock and report what it did on its own: pending fills and
        expiries, SL/TP and stop-out closes, and trades made on the account by anything else."""
        self._remember_positions()
        self.engine.refresh()
        events: list = self.symbols.take_notices()
        events.extend(self._fills(self._deals_seen))
        events.extend(self._gone_orders())
        events.extend(self._trail())
        return events

    def _trail(self) -> list[M.ProtoOATrailingSLChangedEvent]:
        """Move each trailing stop up to its distance behind the market, never back."""
        events = []
        for position_id, distance in list(self._trailing.items()):
            pos = self._position_record(position_id)
            if pos is None:
                del self._trailing[position_id]
                continue
            symbol = self._by_name[pos.spec.name]
            bid, ask = self.quote(symbol)
            buy = pos.type == mt5.POSITION_TYPE_BUY
            sl = round(bid - distance if buy else ask + distance, symbol.digits)
            if not pos.sl or (sl <= pos.sl if buy else sl >= pos.sl):
                continue
            outcome = self.engine.send(self._request(action=mt5.TRADE_ACTION_SLTP, symbol=symbol, sl=sl, tp=pos.tp,
                                                     position=pos.ticket))
            if outcome.retcode != mt5.TRADE_RETCODE_DONE:
                continue
            order_id = self._protection_ids.setdefault(position_id, next(self._own_ids))
            events.append(M.ProtoOATrailingSLChangedEvent(ctidTraderAccountId=self.account_id, positionId=position_id,
                                                          orderId=order_id, stopPrice=sl,
                                                          utcLastUpdateTimestamp=self.now_ms()))
        return events

    def _gone_orders(self) -> list[M.ProtoOAExecutionEvent]:
        events = []
        for order_id, tags in self.orders.items():
            if tags.status != MM.ORDER_STATUS_ACCEPTED or tags.order_type == MM.MARKET:
                continue
            if order_id in self.engine.orders:
                continue
            state = next((o.state for o in reversed(self.engine.history_orders) if o.ticket == order_id), None)
            if state == mt5.ORDER_STATE_EXPIRED:
                tags.status, kind = MM.ORDER_STATUS_EXPIRED, MM.ORDER_EXPIRED
            elif state == mt5.ORDER_STATE_REJECTED:
                tags.status, kind = MM.ORDER_STATUS_REJECTED, MM.ORDER_REJECTED
            else:
                continue
            tags.updated_ms = self.now_ms()
            events.append(self._event(kind, order=self.order_message(order_id, tags)))
        return events

    def _fills(self, start: int) -> list[M.ProtoOAExecutionEvent]:
        """ORDER_FILLED for each trade deal the engine booked since ``start``."""
        events = []
        deals = self.engine.deals
        for deal in deals[start:]:
            if deal.type == mt5.DEAL_TYPE_BALANCE:
                events.extend(self._cash_flow(deal))
                continue
            if deal.type not in (mt5.DEAL_TYPE_BUY, mt5.DEAL_TYPE_SELL):
                continue
            events.append(self._fill_event(deal))
            self.balance_version += 1
            if deal.entry in (mt5.DEAL_ENTRY_OUT, mt5.DEAL_ENTRY_INOUT, mt5.DEAL_ENTRY_OUT_BY):
                events.append(self.trader_updated())  # a close books its result: the balance moved
        self._deals_seen = len(deals)
        self._remember_positions()
        return events

    def _fill_event(self, deal: TradeDeal) -> M.ProtoOAExecutionEvent:
        symbol = self._by_name[deal.symbol]
        cents = self.cents(deal.volume, symbol)
        order_id = self._order_alias.get(deal.order, deal.order)
        tags = self.orders.get(order_id)
        server_event = False
        if tags is None:
            # An order the server made (SL/TP, stop-out) or another application placed.
            stop = deal.reason in (mt5.DEAL_REASON_SL, mt5.DEAL_REASON_TP)
            stop_out = deal.reason == mt5.DEAL_REASON_SO
            server_event = stop or stop_out
            label, comment = self.position_tags.get(deal.position_id, ("", ""))
            tags = OrderTags(order_type=MM.STOP_LOSS_TAKE_PROFIT if stop else MM.MARKET,
                             side=MM.BUY if deal.type == mt5.DEAL_TYPE_BUY else MM.SELL, volume=cents,
                             symbol_id=symbol.symbol_id, created_ms=deal.time_msc, label=label, comment=comment,
                             time_in_force=MM.IMMEDIATE_OR_CANCEL, position_id=deal.position_id,
                             closing=deal.entry in (mt5.DEAL_ENTRY_OUT, mt5.DEAL_ENTRY_OUT_BY), is_stop_out=stop_out)
            self.orders[order_id] = tags
        tags.executed += cents
        tags.execution_price = deal.price
        tags.position_id = deal.position_id
        tags.updated_ms = deal.time_msc
        if tags.executed >= tags.volume:
            tags.status = MM.ORDER_STATUS_FILLED
        if deal.entry == mt5.DEAL_ENTRY_IN and deal.position_id not in self.position_tags:
            self.position_tags[deal.position_id] = (tags.label, tags.comment)
        message = MM.ProtoOADeal(
            dealId=deal.ticket, orderId=order_id, positionId=deal.position_id, volume=tags.volume,
            filledVolume=cents, symbolId=symbol.symbol_id, createTimestamp=tags.created_ms,
            executionTimestamp=deal.time_msc, utcLastUpdateTimestamp=deal.time_msc, executionPrice=deal.price,
            tradeSide=MM.BUY if deal.type == mt5.DEAL_TYPE_BUY else MM.SELL, dealStatus=MM.FILLED,
            commission=self.money(deal.commission), moneyDigits=self.money_digits)
        seen = self._seen.get(deal.position_id)
        if deal.entry in (mt5.DEAL_ENTRY_OUT, mt5.DEAL_ENTRY_INOUT, mt5.DEAL_ENTRY_OUT_BY) and seen is not None:
            closed = seen.volume if deal.entry == mt5.DEAL_ENTRY_INOUT else deal.volume
            message.closePositionDetail.CopyFrom(MM.ProtoOAClosePositionDetail(
                entryPrice=seen.price, grossProfit=self.money(deal.profit), swap=self.money(deal.swap),
                commission=self.money(deal.commission), balance=self.money(self._balance_after(deal)),
                closedVolume=self.cents(closed, symbol), balanceVersion=self.balance_version + 1,
                moneyDigits=self.money_digits))
        self.history.record(message)
        if self._lands_stops(deal, seen):
            tags.stops_land = True
        elif deal.entry == mt5.DEAL_ENTRY_IN and seen is not None:
            self._keep_stops(deal.position_id, seen)
        if tags.executed >= tags.volume:
            # Set before the snapshot below, so the filled position shows its stops.
            self._apply_relative_stops(order_id, tags)
        pos = self._position_record(deal.position_id)
        position = (self.position_message(pos) if pos is not None
                    else self._closed_position(deal.position_id, seen or _Seen(deal.price, 0, True, symbol),
                                               deal.time_msc))
        return self._event(MM.ORDER_FILLED, order=self.order_message(order_id, tags), deal=message,
                           position=position, isServerEvent=server_event)

    def _lands_stops(self, deal: TradeDeal, seen: _Seen | None) -> bool:
        """Whether the order's stops become its position's with this deal: it opened the position
        or turned it over, or it added to a netted one under the "replace" policy."""
        if deal.entry == mt5.DEAL_ENTRY_INOUT:
            return True
        if deal.entry != mt5.DEAL_ENTRY_IN:
            return False  # a reduction leaves the position's stops
        if seen is None or not seen.volume:
            return True
        return self.broker.account_type != NETTED or self.netted_stops_policy == "replace"

    def _keep_stops(self, position_id: int, seen: _Seen) -> None:
        """Under the "keep" policy a fill adding to a netted position leaves its stops, whatever
        the order carried (the engine, like MetaTrader, puts a pending order's on the position)."""
        pos = self._position_record(position_id)
        if pos is None or self.broker.account_type != NETTED or (pos.sl, pos.tp) == (seen.sl, seen.tp):
            return
        self.engine.send(self._request(action=mt5.TRADE_ACTION_SLTP, symbol=self._by_name[pos.spec.name],
                                       sl=seen.sl, tp=seen.tp, position=pos.ticket))

    def _balance_after(self, deal: TradeDeal) -> float:
        """The balance right after ``deal``: today's, less what later deals booked."""
        balance = self.engine.balance
        for later in reversed(self.engine.deals):
            if later is deal:
                break
            balance -= later.profit + later.commission + later.swap
        return balance

    def _cash_flow(self, deal: TradeDeal) -> list:
        """A deposit or a withdrawal: the DEPOSIT_WITHDRAW execution (no order) and the trader."""
        self.balance_version += 1
        flow = MM.ProtoOADepositWithdraw(
            operationType=MM.BALANCE_DEPOSIT if deal.profit >= 0 else MM.BALANCE_WITHDRAW,
            balanceHistoryId=deal.ticket, balance=self.money(self._balance_after(deal)),
            delta=self.money(abs(deal.profit)), changeBalanceTimestamp=deal.time_msc, externalNote=deal.comment,
            balanceVersion=self.balance_version, equity=self.money(self.engine.equity()),
            moneyDigits=self.money_digits)
        self.cash_flows.append(flow)
        return [self._event(MM.DEPOSIT_WITHDRAW, depositWithdraw=flow), self.trader_updated()]

    def trader_updated(self) -> M.ProtoOATraderUpdatedEvent:
        return M.ProtoOATraderUpdatedEvent(ctidTraderAccountId=self.account_id, trader=self.trader())

    def deposit(self, amount: float, note: str = "") -> None:
        """Cash in (or out, when negative) by the broker's back office; the next poll reports it."""
        self.engine.deposit(amount, note or ("Deposit" if amount >= 0 else "Withdrawal"))

    # ------------------------------------------------------------------ queries
    def order_details(self, order_id: int) -> tuple[MM.ProtoOAOrder, list[MM.ProtoOADeal]]:
        tags = self.orders.get(order_id)
        if tags is None:
            raise TradeRefusal("ORDER_NOT_FOUND", f"Order with id {order_id} not found", order_id=order_id,
                               as_error_res=True)
        return self.order_message(order_id, tags), self.history.of_order(order_id)

    def orders_between(self, start: int, end: int, position_id: int | None = None) -> list[MM.ProtoOAOrder]:
        """Orders last updated in the window (of one position, if given), oldest first."""
        found = [(oid, tags) for oid, tags in self.orders.items()
                 if start <= (tags.updated_ms or tags.created_ms) <= end
                 and (position_id is None or tags.position_id == position_id)]
        found.sort(key=lambda item: (item[1].updated_ms or item[1].created_ms, item[0]))
        return [self.order_message(oid, tags) for oid, tags in found]

    def unrealized_pnl(self) -> list[MM.ProtoOAPositionUnrealizedPnL]:
        """Per open position: gross PnL at the current price, and net of swap and the opening
        commission (the closing commission is not in it, as the proto says)."""
        self.engine.refresh()
        rows = []
        for pos in self.engine.positions.values():
            gross = self.engine.position_profit(pos)[1]
            net = gross + pos.swap + self._open_commission(pos.identifier)
            rows.append(MM.ProtoOAPositionUnrealizedPnL(positionId=pos.identifier, grossUnrealizedPnL=self.money(gross),
                                                        netUnrealizedPnL=self.money(net)))
        return rows
