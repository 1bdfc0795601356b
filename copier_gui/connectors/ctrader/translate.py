"""Translation between the Open API's messages and the copier's vocabulary.

Pure functions, no I/O: the connector reads the server, these decide what the copier sees and what
goes out. The units are the Open API's own and are converted here only: volumes travel in cents of
a unit (the port speaks units, ``SymbolSpec.volume_unit`` UNITS), money as integers scaled by
``moneyDigits``, spot prices as integers of 1/100000, timestamps in UTC milliseconds. A request the
server would refuse for a reason visible here (a volume off the symbol's step, a quote already
past the copier's worst price) raises :class:`Refusal` and is never sent.
"""

from __future__ import annotations

import math
import re

from copier_gui.connectors.ctrader.capabilities import HEDGED, MARKET_FILLINGS
from copier_gui.core.model import (
    AccountState,
    Deal,
    DealShare,
    Execution,
    PendingKind,
    PendingOrder,
    Position,
    Side,
    SymbolSpec,
    TradeMode,
    VolumeUnit,
)
from copier_gui.ctrader_messages import model as MM

PRICE_SCALE = 100_000  # spot prices and relative stops: integers of 1/100000 of a price
CENTS = 100  # volumes: cents of a unit
# A volume within this fraction of a step of a multiple is that multiple (float noise only).
_STEP_TOLERANCE = 1e-6
_PAIR = re.compile(r"^([A-Z]{3})/?([A-Z]{3})$")

_KINDS = {
    (MM.LIMIT, MM.BUY): PendingKind.BUY_LIMIT, (MM.LIMIT, MM.SELL): PendingKind.SELL_LIMIT,
    (MM.STOP, MM.BUY): PendingKind.BUY_STOP, (MM.STOP, MM.SELL): PendingKind.SELL_STOP,
    (MM.STOP_LIMIT, MM.BUY): PendingKind.BUY_STOP_LIMIT, (MM.STOP_LIMIT, MM.SELL): PendingKind.SELL_STOP_LIMIT,
}
_ORDER_TYPES = {kind: order_type for (order_type, _side), kind in _KINDS.items()}
PENDING_TYPES = frozenset({MM.LIMIT, MM.STOP, MM.STOP_LIMIT})


class Refusal(Exception):
    """A request not sent: ``code`` is the error name the server would have answered with."""

    def __init__(self, code: str, message: str, *, bid: float = 0.0, ask: float = 0.0) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.bid = bid
        self.ask = ask


# ----------------------------------------------------------------------- units


def units(cents: int) -> float:
    """A wire volume (cents of a unit) in units."""
    return round(int(cents) / CENTS, 8)


def cents(volume_units: float) -> int:
    return int(round(float(volume_units) * CENTS))


def money(value: int, money_digits: int) -> float:
    """An int64 amount scaled by ``moneyDigits`` (10053099944 with 8 digits is 100.53099944)."""
    return round(int(value) / 10 ** int(money_digits), int(money_digits))


def spot_price(value: int) -> float:
    return int(value) / PRICE_SCALE


def round_price(price: float, digits: int) -> float:
    return float(round(float(price), int(digits))) if price else 0.0


def side_of(trade_side: int) -> Side:
    return Side.BUY if trade_side == MM.BUY else Side.SELL


def trade_side(side: Side) -> int:
    return MM.BUY if side is Side.BUY else MM.SELL


# ----------------------------------------------------------------------- tags


def label_for(magic: int) -> str:
    """The label a copier order carries: its magic number in decimal; none for magic 0."""
    magic = int(magic)
    if magic < 0:
        raise Refusal("INVALID_REQUEST", f"magic number {magic} is negative")
    return str(magic) if magic else ""


def magic_of(label: str) -> int:
    """The magic number a label holds; 0 for a label that is not a whole number (not the copier's)."""
    return int(label) if label.isascii() and label.isdigit() and len(label) <= 20 else 0


def fit_text(text: str | None, limit: int) -> str:
    return str(text or "")[:limit]


# ----------------------------------------------------------------------- symbols


def currencies(light, assets: dict[int, str]) -> tuple[str, str]:
    """(base, quote) of a light symbol: from the asset list when the server gave one, else from a
    pair's name ("EUR/USD", "EURUSD"); "" where neither says."""
    base = assets.get(light.baseAssetId, "") if light.HasField("baseAssetId") else ""
    quote = assets.get(light.quoteAssetId, "") if light.HasField("quoteAssetId") else ""
    if base and quote:
        return base, quote
    match = _PAIR.match(light.symbolName.upper())
    if match:
        return base or match.group(1), quote or match.group(2)
    return base, quote


def _rate(source: str, target: str, mids: dict[tuple[str, str], float]) -> float:
    if source == target:
        return 1.0
    direct = mids.get((source, target), 0.0)
    if direct > 0:
        return direct
    inverse = mids.get((target, source), 0.0)
    return 1.0 / inverse if inverse > 0 else 0.0


def conversion(quote: str, deposit: str, mids: dict[tuple[str, str], float]) -> float:
    """Deposit money per unit of ``quote`` money, from pairs' mid prices keyed (base, quote),
    directly or through one other currency (JPY to EUR through USD/JPY and EUR/USD); 0 when no
    pair links them."""
    if not quote or not deposit:
        return 0.0
    rate = _rate(quote, deposit, mids)
    if rate > 0:
        return rate
    # Through the dollar first, the currency most pairs are quoted against.
    between = sorted({c for pair in mids for c in pair} - {quote, deposit}, key=lambda c: (c != "USD", c))
    for other in between:
        first, second = _rate(quote, other, mids), _rate(other, deposit, mids)
        if first > 0 and second > 0:
            return first * second
    return 0.0


def trade_mode(symbol) -> TradeMode:
    mode = symbol.tradingMode
    if mode == MM.CLOSE_ONLY_MODE:
        return TradeMode.CLOSE_ONLY
    if mode in (MM.DISABLED_WITHOUT_PENDINGS_EXECUTION, MM.DISABLED_WITH_PENDINGS_EXECUTION):
        return TradeMode.DISABLED
    if symbol.HasField("enableShortSelling") and not symbol.enableShortSelling:
        return TradeMode.LONG_ONLY
    return TradeMode.FULL


def stops_distance(symbol) -> int:
    """The broker's minimum SL/TP distance in points of the symbol; 0 when it is set as a
    percentage (not a fixed distance) or not at all."""
    if symbol.HasField("distanceSetIn") and symbol.distanceSetIn == MM.SYMBOL_DISTANCE_IN_PERCENTAGE:
        return 0
    return max(int(symbol.slDistance), int(symbol.tpDistance), 0)


def to_symbol_spec(light, symbol, *, base: str, quote: str, quote_to_deposit: float, bid: float = 0.0,
                   ask: float = 0.0) -> SymbolSpec:
    """A symbol in units: its volumes, lot size (the contract size), digits and trading mode.

    ``tick_value`` is the deposit money one tick makes on one unit: the tick in the quote
    currency times ``quote_to_deposit`` (0 where no conversion is known).
    """
    digits = int(symbol.digits)
    point = 10.0 ** -digits
    return SymbolSpec(
        name=light.symbolName, description=light.description or light.symbolName, digits=digits, point=point,
        contract_size=units(symbol.lotSize) if symbol.lotSize else 1.0,
        volume_min=units(symbol.minVolume), volume_step=units(symbol.stepVolume) if symbol.stepVolume else 0.0,
        volume_max=units(symbol.maxVolume), stops_level=stops_distance(symbol), freeze_level=0,
        fillings=MARKET_FILLINGS, execution=Execution.MARKET, trade_mode=trade_mode(symbol),
        currency_base=base, currency_profit=quote, tick_size=point, tick_value=point * quote_to_deposit,
        bid=bid, ask=ask, pending_kinds=frozenset(PendingKind), expiry_specified=True,
        volume_unit=VolumeUnit.UNITS)


def fit_volume(volume: float, spec: SymbolSpec) -> int:
    """The volume in cents, on the symbol's step and within its limits; Refusal otherwise."""
    volume = float(volume)
    limits = (f"step {spec.volume_step:g}, minimum {spec.volume_min:g}, maximum {spec.volume_max:g} units")
    step = spec.volume_step
    tolerance = (step or 0.01) * _STEP_TOLERANCE
    if volume <= 0 or volume < spec.volume_min - tolerance:
        raise Refusal("TRADING_BAD_VOLUME", f"volume {volume:g} units of {spec.name} is below the minimum ({limits})")
    if spec.volume_max and volume > spec.volume_max + tolerance:
        raise Refusal("TRADING_BAD_VOLUME", f"volume {volume:g} units of {spec.name} is above the maximum ({limits})")
    if step > 0:
        steps = volume / step
        if abs(steps - round(steps)) > _STEP_TOLERANCE:
            raise Refusal("TRADING_BAD_VOLUME",
                          f"volume {volume:g} units of {spec.name} is not a multiple of the step ({limits})")
        volume = round(round(steps) * step, 8)
    return cents(volume)


def check_worst_price(*, buy: bool, bid: float, ask: float, worst: float, spec: SymbolSpec) -> None:
    """Refusal (a requote) when the quote is already worse than the copier accepts."""
    if worst <= 0:
        return
    price = ask if buy else bid
    slack = spec.point * 1e-3
    if (price > worst + slack) if buy else (price < worst - slack):
        side, name = ("buy", "ask") if buy else ("sell", "bid")
        raise Refusal("PRICE_BEYOND_LIMIT", f"the {name} {price:.{spec.digits}f} of {spec.name} is already worse "
                                         f"than the worst price {worst:.{spec.digits}f} accepted for this {side}",
                      bid=bid, ask=ask)


def widen_to_spreads(*, buy: bool, bid: float, ask: float, worst: float, reference: float, spreads: float,
                     spec: SymbolSpec) -> float:
    """The worst price widened to ``spreads`` of the current spread, measured from ``reference``
    (the master's fill), where that is wider than what the copier sent."""
    if spreads <= 0 or worst <= 0 or reference <= 0:
        return worst
    wide = spreads * max(ask - bid, 0.0)
    reach = round(reference + (wide if buy else -wide), spec.digits)
    return max(worst, reach) if buy else min(worst, reach)


def relative_stops(*, buy: bool, entry: float, sl: float, tp: float) -> tuple[int, int]:
    """Absolute SL/TP as the distances from ``entry`` a MARKET order takes (1/100000 of a price):
    the Open API refuses absolute levels on market orders. 0 where a level is unset or on the
    wrong side of the entry (the server would refuse it; the position's modify sets it later)."""
    sign = 1 if buy else -1
    rel_sl = int(round((entry - sl) * sign * PRICE_SCALE)) if sl else 0
    rel_tp = int(round((tp - entry) * sign * PRICE_SCALE)) if tp else 0
    return max(rel_sl, 0), max(rel_tp, 0)


def pending_order_type(kind: PendingKind) -> int:
    return _ORDER_TYPES[kind]


def stop_limit_slippage(price: float, stoplimit: float, spec: SymbolSpec) -> int:
    """The points between a stop-limit's trigger and its limit price: what cTrader calls the
    order's slippage (it fills at the trigger or up to that many points worse)."""
    return int(round(abs(stoplimit - price) / spec.point)) if stoplimit else 0


# ----------------------------------------------------------------------- results


def to_position(p, *, name: str, digits: int, price_current: float = 0.0, profit: float = 0.0,
                deals: tuple[DealShare, ...] | None = None) -> Position:
    trade = p.tradeData
    return Position(
        ticket=int(p.positionId), identifier=int(p.positionId), symbol=name, side=side_of(trade.tradeSide),
        volume=units(trade.volume), price_open=round_price(p.price, digits),
        sl=round_price(p.stopLoss, digits) if p.HasField("stopLoss") else 0.0,
        tp=round_price(p.takeProfit, digits) if p.HasField("takeProfit") else 0.0,
        magic=magic_of(trade.label), comment=trade.comment,
        time_msc=int(trade.openTimestamp or p.utcLastUpdateTimestamp), price_current=price_current,
        profit=profit, deals=deals)


def pending_kind(order) -> PendingKind | None:
    return _KINDS.get((order.orderType, order.tradeData.tradeSide))


def to_pending_order(o, *, name: str, digits: int, ticket: int = 0) -> PendingOrder | None:
    """A working pending order (known by ``ticket``, its order id by default); None for a market
    or protection order (no PendingKind)."""
    kind = pending_kind(o)
    if kind is None:
        return None
    point = 10.0 ** -digits
    stoplimit = 0.0
    if o.orderType == MM.LIMIT:
        price = o.limitPrice
    else:
        price = o.stopPrice
        if o.orderType == MM.STOP_LIMIT and o.slippageInPoints:
            sign = 1 if kind.side is Side.BUY else -1
            stoplimit = round_price(price + sign * o.slippageInPoints * point, digits)
    remaining = int(o.tradeData.volume) - int(o.executedVolume)
    return PendingOrder(
        ticket=int(ticket or o.orderId), symbol=name, kind=kind, volume=units(remaining), price=round_price(price, digits),
        stoplimit=stoplimit, sl=round_price(o.stopLoss, digits) if o.HasField("stopLoss") else 0.0,
        tp=round_price(o.takeProfit, digits) if o.HasField("takeProfit") else 0.0,
        expiration=int(o.expirationTimestamp // 1000) if o.HasField("expirationTimestamp") else 0,
        magic=magic_of(o.tradeData.label), comment=o.tradeData.comment,
        time_setup_msc=int(o.tradeData.openTimestamp or o.utcLastUpdateTimestamp))


def deal_share(deal, order) -> DealShare:
    """One fill of a netted position with the tags of the order that made it (a deal has none)."""
    signed = units(deal.filledVolume) * (1 if deal.tradeSide == MM.BUY else -1)
    trade = order.tradeData if order is not None else None
    return DealShare(magic_of(trade.label) if trade is not None else 0,
                     trade.comment if trade is not None else "", signed)


def to_deal(deal, *, comment: str, digits: int, money_digits: int, symbol: str = "") -> Deal:
    """A fill as the broker booked it; what a closing deal made and cost is in its close detail."""
    scale = int(deal.moneyDigits) if deal.HasField("moneyDigits") else money_digits
    profit = swap = fee = 0.0
    if deal.HasField("closePositionDetail"):
        detail = deal.closePositionDetail
        scale_d = int(detail.moneyDigits) if detail.HasField("moneyDigits") else scale
        profit = money(detail.grossProfit, scale_d)
        swap = money(detail.swap, scale_d)
        fee = -money(detail.pnlConversionFee, scale_d) if detail.pnlConversionFee else 0.0
    return Deal(comment=comment, side=side_of(deal.tradeSide), volume=units(deal.filledVolume),
                price=round_price(deal.executionPrice, digits), commission=money(deal.commission, scale),
                swap=swap, fee=fee, profit=profit, time_msc=int(deal.executionTimestamp),
                position_id=int(deal.positionId), symbol=symbol)


def blockers(trader, *, can_trade_scope: bool) -> list[str]:
    """Why the copier cannot trade on the account, in words the trader can act on; empty when it can."""
    reasons = []
    rights = trader.accessRights if trader.HasField("accessRights") else MM.FULL_ACCESS
    if rights == MM.CLOSE_ONLY:
        reasons.append("the broker allows only closing positions on this account")
    elif rights in (MM.NO_TRADING, MM.NO_LOGIN):
        reasons.append("the broker does not allow trading on this account")
    if not can_trade_scope:
        reasons.append("the copier was authorized to view this cTrader ID's accounts, not to trade: "
                       "authorize it again with trading access")
    return reasons


def to_account_state(trader, *, currency: str, server: str, company: str, equity: float | None,
                     margin: float, blocked: list[str]) -> AccountState:
    digits = int(trader.moneyDigits) if trader.HasField("moneyDigits") else 2
    balance = money(trader.balance, digits)
    equity = balance if equity is None else equity
    return AccountState(
        login=int(trader.traderLogin), server=server, company=company, name="", currency=currency,
        balance=balance, equity=equity, margin=margin, margin_free=round(equity - margin, digits),
        leverage=int(math.floor(trader.leverageInCents / 100)) if trader.leverageInCents else 0,
        hedging=trader.accountType == HEDGED, trade_allowed=not blocked, trading_blocked="; ".join(blocked))
