"""The Open API trade requests the cTrader connector sends for the core's requests.

Pure functions: the connector reads the symbol, the quote and the mirror's position or order,
these build the message (volumes in cents, prices rounded to the symbol's digits, tags in label
and comment, a clientOrderId for correlation) and say what was fitted, for the report. A request
the server would refuse for a reason visible here raises :class:`~.translate.Refusal`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from copier_gui import ctrader_messages as cm
from copier_gui.connectors.ctrader.capabilities import COMMENT_LIMIT
from copier_gui.connectors.ctrader.translate import (
    Refusal,
    cents,
    check_worst_price,
    fit_text,
    fit_volume,
    label_for,
    pending_order_type,
    relative_stops,
    round_price,
    stop_limit_slippage,
    trade_side,
    units,
    widen_to_spreads,
)
from copier_gui.core.model import (
    ClosePosition,
    Filling,
    ModifyPending,
    ModifyStops,
    OpenPosition,
    PlacePending,
    Side,
    SymbolSpec,
)

M = cm.messages
MM = cm.model


class NoChanges(Exception):
    """What a modification asks for is already in place: nothing is sent."""

    def __init__(self, sl: float, tp: float) -> None:
        super().__init__("no changes")
        self.sl = sl
        self.tp = tp


@dataclass(slots=True)
class Outgoing:
    """A message ready to send, with what the report says of it."""

    message: object
    spec: SymbolSpec | None = None
    extra: dict = field(default_factory=dict)
    volume: int = 0  # cents
    sl: float | None = None
    tp: float | None = None
    bid: float = 0.0
    ask: float = 0.0
    quote: float = 0.0


def _tag(message, magic: int, comment: str, client_order_id: str) -> None:
    label = label_for(magic)
    if label:
        message.label = label
    if comment:
        message.comment = fit_text(comment, COMMENT_LIMIT)
    message.clientOrderId = client_order_id


def _stops(message, sl: float, tp: float) -> None:
    # A level left out is removed where a request amends: both go every time they are set.
    if sl:
        message.stopLoss = sl
    if tp:
        message.takeProfit = tp


def held_stops(held, digits: int) -> tuple[float, float]:
    sl = round_price(held.stopLoss, digits) if held.HasField("stopLoss") else 0.0
    tp = round_price(held.takeProfit, digits) if held.HasField("takeProfit") else 0.0
    return sl, tp


def open_market(ctid: int, symbol_id: int, spec: SymbolSpec, req: OpenPosition, *, bid: float, ask: float,
                client_order_id: str, joins: bool = False) -> Outgoing:
    """A market order. ``joins``: it trades into a netted position already held, which takes no
    relative stops from it (what a server does with them there is undocumented, and it may set
    them where no event shows); the connector sets the asked levels after the fill instead."""
    volume = fit_volume(req.volume, spec)
    buy = req.side is Side.BUY
    worst = widen_to_spreads(buy=buy, bid=bid, ask=ask, worst=req.worst_price, reference=req.reference_price,
                             spreads=req.max_deviation_spreads, spec=spec)
    check_worst_price(buy=buy, bid=bid, ask=ask, worst=worst, spec=spec)
    price = ask if buy else bid
    sl, tp = round_price(req.sl, spec.digits), round_price(req.tp, spec.digits)
    # Fill or kill: the whole volume or nothing, so a copy is never left half open by the broker.
    message = M.ProtoOANewOrderReq(ctidTraderAccountId=ctid, symbolId=symbol_id, orderType=MM.MARKET,
                                   tradeSide=trade_side(req.side), volume=volume, timeInForce=MM.FILL_OR_KILL)
    # Market orders take stops only as distances from the fill; the connector sets the asked
    # levels exactly after a fill away from this quote.
    rel_sl, rel_tp = (0, 0) if joins else relative_stops(buy=buy, entry=price, sl=sl, tp=tp)
    if rel_sl:
        message.relativeStopLoss = rel_sl
    if rel_tp:
        message.relativeTakeProfit = rel_tp
    _tag(message, req.magic, req.comment, client_order_id)
    extra = {"filling": Filling.FOK.value, "client_order_id": client_order_id}
    if worst > 0 and req.reference_price > 0:
        extra["deviation_limit_points"] = round(abs(worst - req.reference_price) / spec.point, 2)
    return Outgoing(message, spec, extra, volume, sl, tp, bid, ask, price)


def close_position(ctid: int, symbol_id: int, spec: SymbolSpec, req: ClosePosition, held, *, hedging: bool,
                   bid: float, ask: float, client_order_id: str) -> Outgoing:
    if held is None:
        raise Refusal("POSITION_NOT_FOUND", f"position {req.ticket} is not open on this account")
    open_cents = int(held.tradeData.volume)
    # All of a position closes whatever the symbol's step says now; a part must be on the step.
    volume = open_cents if cents(req.volume) == open_cents else fit_volume(req.volume, spec)
    if volume > open_cents:
        # On a netted account the rest would open the other way.
        raise Refusal("TRADING_BAD_VOLUME", f"cannot close {units(volume):g} units of position {req.ticket}: it holds "
                                            f"{units(open_cents):g}")
    buy = held.tradeData.tradeSide == MM.BUY
    extra: dict = {}
    if hedging:
        message = M.ProtoOAClosePositionReq(ctidTraderAccountId=ctid, positionId=int(req.ticket), volume=volume)
    else:
        # On a netted account the opposite order is the close, and it carries the copier's tags,
        # so the closing deal says which master position's share it took.
        message = M.ProtoOANewOrderReq(ctidTraderAccountId=ctid, symbolId=symbol_id, orderType=MM.MARKET,
                                       tradeSide=MM.SELL if buy else MM.BUY, volume=volume,
                                       timeInForce=MM.FILL_OR_KILL)
        _tag(message, req.magic, req.comment, client_order_id)
        extra["client_order_id"] = client_order_id
    return Outgoing(message, spec, extra, volume, bid=bid, ask=ask, quote=bid if buy else ask)


def amend_stops(ctid: int, spec: SymbolSpec, req: ModifyStops, held) -> Outgoing:
    sl, tp = round_price(req.sl, spec.digits), round_price(req.tp, spec.digits)
    if held is not None and held_stops(held, spec.digits) == (sl, tp):
        raise NoChanges(sl, tp)
    message = M.ProtoOAAmendPositionSLTPReq(ctidTraderAccountId=ctid, positionId=int(req.ticket))
    _stops(message, sl, tp)
    return Outgoing(message, spec, sl=sl, tp=tp)


def _entry(message, order_type: int, price: float, stoplimit: float, spec: SymbolSpec) -> None:
    if order_type == MM.LIMIT:
        message.limitPrice = price
    else:
        message.stopPrice = price
        if order_type == MM.STOP_LIMIT:
            message.slippageInPoints = stop_limit_slippage(price, stoplimit, spec)


def place_pending(ctid: int, symbol_id: int, spec: SymbolSpec, req: PlacePending, *,
                  client_order_id: str) -> Outgoing:
    volume = fit_volume(req.volume, spec)
    price, stoplimit = round_price(req.price, spec.digits), round_price(req.stoplimit, spec.digits)
    sl, tp = round_price(req.sl, spec.digits), round_price(req.tp, spec.digits)
    order_type = pending_order_type(req.kind)
    message = M.ProtoOANewOrderReq(ctidTraderAccountId=ctid, symbolId=symbol_id, orderType=order_type,
                                   tradeSide=trade_side(req.kind.side), volume=volume)
    _entry(message, order_type, price, stoplimit, spec)
    _stops(message, sl, tp)
    if req.expiration and req.expiration > 0:
        message.timeInForce = MM.GOOD_TILL_DATE
        message.expirationTimestamp = int(req.expiration) * 1000  # cTrader times are UTC: no server offset
    else:
        message.timeInForce = MM.GOOD_TILL_CANCEL
    _tag(message, req.magic, req.comment, client_order_id)
    return Outgoing(message, spec, {"filling": Filling.RETURN.value, "client_order_id": client_order_id}, volume,
                    sl, tp)


def amend_pending(ctid: int, spec: SymbolSpec, req: ModifyPending, held) -> Outgoing:
    if held is None:
        raise Refusal("ORDER_NOT_FOUND", f"order {req.ticket} is not working on this account")
    price, stoplimit = round_price(req.price, spec.digits), round_price(req.stoplimit, spec.digits)
    sl, tp = round_price(req.sl, spec.digits), round_price(req.tp, spec.digits)
    # The volume and both levels go every time: a field left out may be cleared at the server.
    volume = int(held.tradeData.volume) - int(held.executedVolume)
    message = M.ProtoOAAmendOrderReq(ctidTraderAccountId=ctid, orderId=int(held.orderId), volume=volume)
    _entry(message, held.orderType, price, stoplimit, spec)
    _stops(message, sl, tp)
    if req.expiration > 0:
        # An amendment cannot make an order good-till-cancelled again (the request has no
        # timeInForce): an expiry of 0 leaves the order's own.
        message.expirationTimestamp = int(req.expiration) * 1000
    return Outgoing(message, spec, volume=volume, sl=sl, tp=tp)


def cancel_pending(ctid: int, order_id: int) -> Outgoing:
    return Outgoing(M.ProtoOACancelOrderReq(ctidTraderAccountId=ctid, orderId=int(order_id)))
