"""Translation between the copier's vocabulary and the MetaTrader5 module's: our requests become
order_send dicts that obey the module's argument rules, and its result tuples become our model.

Pure functions, no I/O: the connector reads the terminal, these decide what to send. A request the
broker would refuse for a reason we can see (a volume off the lot step, no usable filling mode)
raises :class:`Refusal` and is never sent.
"""

from __future__ import annotations

import math

from copier_gui.core.model import (
    AccountState,
    Execution,
    Filling,
    PendingKind,
    PendingOrder,
    Position,
    Side,
    SymbolSpec,
    TradeMode,
)

# The package's constants, written out rather than read off the api object: their values are the
# same in every release, and on the Linux bridge each attribute read would be a network round trip.
TRADE_ACTION_DEAL = 1
TRADE_ACTION_PENDING = 5
TRADE_ACTION_SLTP = 6
TRADE_ACTION_MODIFY = 7
TRADE_ACTION_REMOVE = 8
ORDER_TYPE_BUY = 0
ORDER_TYPE_SELL = 1
ORDER_FILLING_FOK = 0
ORDER_FILLING_IOC = 1
ORDER_FILLING_RETURN = 2
ORDER_TIME_GTC = 0
ORDER_TIME_SPECIFIED = 2
POSITION_TYPE_BUY = 0
DEAL_TYPE_BUY = 0
DEAL_TYPE_SELL = 1
# Money moved by the back office, not by trading: DEAL_TYPE_BALANCE, _CREDIT, _CORRECTION, _BONUS.
CASH_DEAL_TYPES = frozenset({2, 3, 5, 6})
ACCOUNT_MARGIN_MODE_RETAIL_HEDGING = 2

# Bits of SymbolInfo.filling_mode. MQL5 defines them as SYMBOL_FILLING_*; the Python package does
# not export them, so code that reads them off the module works on a fake and fails on Windows.
SYMBOL_FILLING_FOK = 1
SYMBOL_FILLING_IOC = 2

# The module refuses strings over 29 UTF-16 units, and one broker build was seen refusing 29; 27
# leaves room for both.
COMMENT_LIMIT = 27

_PENDING_TYPES = {
    PendingKind.BUY_LIMIT: 2, PendingKind.SELL_LIMIT: 3, PendingKind.BUY_STOP: 4,
    PendingKind.SELL_STOP: 5, PendingKind.BUY_STOP_LIMIT: 6, PendingKind.SELL_STOP_LIMIT: 7,
}
_PENDING_KINDS = {code: kind for kind, code in _PENDING_TYPES.items()}
_STOP_LIMIT_KINDS = (PendingKind.BUY_STOP_LIMIT, PendingKind.SELL_STOP_LIMIT)
_EXECUTIONS = {0: Execution.REQUEST, 1: Execution.INSTANT, 2: Execution.MARKET, 3: Execution.EXCHANGE}
_TRADE_MODES = {0: TradeMode.DISABLED, 1: TradeMode.LONG_ONLY, 2: TradeMode.SHORT_ONLY,
                3: TradeMode.CLOSE_ONLY, 4: TradeMode.FULL}
_FILLING_CODES = {Filling.FOK: ORDER_FILLING_FOK, Filling.IOC: ORDER_FILLING_IOC,
                  Filling.RETURN: ORDER_FILLING_RETURN}
# A volume within this fraction of a lot step of a multiple is that multiple (float noise only).
_STEP_TOLERANCE = 1e-6
_U64 = 2**64


class Refusal(Exception):
    """A request not sent, with the retcode the broker would have answered and the reason."""

    def __init__(self, retcode: int, message: str, *, bid: float = 0.0, ask: float = 0.0) -> None:
        super().__init__(message)
        self.retcode = retcode
        self.message = message
        self.bid = bid
        self.ask = ask


# ----------------------------------------------------------------------- field rules


def fit_comment(text: str | None, limit: int = COMMENT_LIMIT) -> str:
    """The comment cut to ``limit`` UTF-16 units, as the terminal counts them."""
    text = str(text or "")[:limit]
    while len(text.encode("utf-16-le")) // 2 > limit:
        text = text[:-1]
    return text


def round_price(price: float, digits: int) -> float:
    return float(round(float(price), int(digits))) if price else 0.0


def _number(value: float) -> str:
    return f"{value:.10g}"


def normalize_volume(volume: float, spec: SymbolSpec) -> float:
    """The volume on the symbol's lot step; Refusal (10014) if it is out of limits or off-step."""
    volume = float(volume)
    limits = (f"lot step {_number(spec.volume_step)}, minimum {_number(spec.volume_min)}, "
              f"maximum {_number(spec.volume_max)}")
    step = spec.volume_step
    tolerance = (step or 0.01) * _STEP_TOLERANCE
    # Limits first: "below the minimum" says more about 0.05 lots than "off the 0.1 step" does.
    if volume < spec.volume_min - tolerance or volume <= 0:
        raise Refusal(10014, f"volume {_number(volume)} lots of {spec.name} is below the minimum ({limits})")
    if spec.volume_max and volume > spec.volume_max + tolerance:
        raise Refusal(10014, f"volume {_number(volume)} lots of {spec.name} is above the maximum ({limits})")
    if step > 0:
        steps = volume / step
        whole = round(steps)
        if abs(steps - whole) > _STEP_TOLERANCE:
            raise Refusal(10014, f"volume {_number(volume)} lots of {spec.name} is not a multiple of "
                                 f"the lot step ({limits})")
        volume = round(whole * step, 10)
    return float(volume)


def fillings_of(filling_mode: int, execution: Execution) -> frozenset[Filling]:
    """Filling modes a market order on the symbol may use."""
    allowed = set()
    if filling_mode & SYMBOL_FILLING_FOK:
        allowed.add(Filling.FOK)
    if filling_mode & SYMBOL_FILLING_IOC:
        allowed.add(Filling.IOC)
    # RETURN has no bit: it is allowed exactly when the symbol is on market or exchange execution.
    if execution in (Execution.MARKET, Execution.EXCHANGE):
        allowed.add(Filling.RETURN)
    return frozenset(allowed)


def choose_filling(spec: SymbolSpec) -> Filling:
    """FOK if allowed, else IOC, else RETURN; Refusal (10030) when none is."""
    for filling in (Filling.FOK, Filling.IOC, Filling.RETURN):
        if filling in spec.fillings:
            return filling
    raise Refusal(10030, f"{spec.name} allows no filling mode for market orders "
                         f"({spec.execution.value} execution)")


def check_worst_price(*, buy: bool, bid: float, ask: float, worst: float, spec: SymbolSpec) -> None:
    """Refusal (10004, a requote) when the quote is already worse than the copier accepts."""
    if worst <= 0:
        return
    price = ask if buy else bid
    slack = (spec.point or 10.0**-spec.digits) * 1e-3
    if (price > worst + slack) if buy else (price < worst - slack):
        side, quote = ("buy", "ask") if buy else ("sell", "bid")
        raise Refusal(10004, f"the {quote} {price:.{spec.digits}f} of {spec.name} is already worse than "
                             f"the worst price {worst:.{spec.digits}f} accepted for this {side}",
                      bid=bid, ask=ask)


def widen_to_spreads(*, buy: bool, bid: float, ask: float, worst: float, reference: float, deviation: int,
                     spreads: float, spec: SymbolSpec) -> tuple[float, int]:
    """The worst price and the broker's deviation (points), each widened to ``spreads`` of the
    current spread (``ask - bid``) where that is wider than what the copier sent.

    The worst price is measured from ``reference`` (the master's fill); without one, or without a
    worst price, only the deviation widens.
    """
    if spreads <= 0:
        return worst, deviation
    point = spec.point or 10.0**-spec.digits
    wide = spreads * max(ask - bid, 0.0) / point
    # The spread is a whole number of points; the float division must not round 20 up to 21.
    deviation = max(deviation, math.ceil(wide - 1e-6))
    if worst > 0 and reference > 0:
        reach = round(reference + (wide if buy else -wide) * point, spec.digits)
        worst = max(worst, reach) if buy else min(worst, reach)
    return worst, deviation


def check_magic(magic: int) -> int:
    magic = int(magic)
    if not 0 <= magic < _U64:
        # The module would raise SystemError on a negative or oversized unsigned field.
        raise Refusal(10013, f"magic number {magic} is outside 0 to 2^64-1")
    return magic


def fit_stops(*, buy: bool, reference: float, sl: float, tp: float, spec: SymbolSpec,
              reference_name: str) -> tuple[float, float, str]:
    """SL/TP rounded to digits and moved out of the broker's stops level around ``reference``.

    ``buy`` is the side the stops protect. A moved level goes one point beyond the minimum
    distance: a one-point tick between our quote and the server's check would otherwise turn the
    adjustment into the very 10016 rejection it is meant to avoid. Returns (sl, tp, note); the note
    is empty when nothing moved.
    """
    digits = spec.digits
    sl, tp = round_price(sl, digits), round_price(tp, digits)
    if reference <= 0:
        return sl, tp, ""
    point = spec.point or 10.0**-digits
    minimum = spec.stops_level * point
    # Tolerance of a thousandth of a point, so a level at exactly the minimum is left alone.
    slack = point * 1e-3
    target = (spec.stops_level + 1) * point
    moves = []
    if sl:
        distance = reference - sl if buy else sl - reference
        if distance < minimum - slack:
            new = round_price(reference - target if buy else reference + target, digits)
            moves.append(f"stop loss moved from {sl:.{digits}f} to {new:.{digits}f}")
            sl = new
    if tp:
        distance = tp - reference if buy else reference - tp
        if distance < minimum - slack:
            new = round_price(reference + target if buy else reference - target, digits)
            moves.append(f"take profit moved from {tp:.{digits}f} to {new:.{digits}f}")
            tp = new
    if not moves:
        return sl, tp, ""
    rule = (f"at least {spec.stops_level} points from" if spec.stops_level else "on the far side of")
    return sl, tp, f"{' and '.join(moves)}: {spec.name} needs stops {rule} {reference_name} {reference:.{digits}f}"


def pending_entry(kind: PendingKind, price: float, stoplimit: float) -> float:
    """The price a pending order's stops are measured from: the limit price of a stop-limit."""
    return stoplimit if kind in _STOP_LIMIT_KINDS else price


def pending_kind(order_type: int) -> PendingKind | None:
    return _PENDING_KINDS.get(order_type)



def time_fields(expiration: int) -> tuple[int, int]:
    """(type_time, expiration): good till cancelled, or until ``expiration`` (trade server time)."""
    expiration = int(expiration or 0)
    return (ORDER_TIME_SPECIFIED, expiration) if expiration > 0 else (ORDER_TIME_GTC, 0)


# ----------------------------------------------------------------------- requests


def deal_request(*, symbol: str, side: Side, volume: float, price: float, deviation: int, sl: float,
                 tp: float, magic: int, comment: str, filling: Filling, position: int = 0) -> dict:
    """A TRADE_ACTION_DEAL dict; ``position`` closes (part of) that position instead of opening."""
    request = {
        "action": TRADE_ACTION_DEAL,
        "symbol": str(symbol),
        "volume": float(volume),
        "type": ORDER_TYPE_BUY if side is Side.BUY else ORDER_TYPE_SELL,
        "price": float(price),
        "deviation": max(0, int(deviation)),
        "magic": int(magic),
        "comment": fit_comment(comment),
        "type_time": ORDER_TIME_GTC,
        "type_filling": _FILLING_CODES[filling],
    }
    if position:
        request["position"] = int(position)
    else:
        request["sl"] = float(sl)
        request["tp"] = float(tp)
    return request


def sltp_request(*, symbol: str, ticket: int, sl: float, tp: float) -> dict:
    return {"action": TRADE_ACTION_SLTP, "symbol": str(symbol), "position": int(ticket),
            "sl": float(sl), "tp": float(tp)}


def pending_request(*, symbol: str, kind: PendingKind, volume: float, price: float, stoplimit: float,
                    sl: float, tp: float, expiration: int, magic: int, comment: str) -> dict:
    type_time, expiration = time_fields(expiration)
    return {
        "action": TRADE_ACTION_PENDING,
        "symbol": str(symbol),
        "volume": float(volume),
        "type": _PENDING_TYPES[kind],
        "price": float(price),
        "stoplimit": float(stoplimit),
        "sl": float(sl),
        "tp": float(tp),
        "magic": int(magic),
        "comment": fit_comment(comment),
        # A pending order rests in the book, so RETURN is the filling every broker accepts for it.
        "type_filling": ORDER_FILLING_RETURN,
        "type_time": type_time,
        "expiration": expiration,
    }


def modify_request(*, ticket: int, symbol: str, price: float, stoplimit: float, sl: float, tp: float,
                   expiration: int) -> dict:
    type_time, expiration = time_fields(expiration)
    return {"action": TRADE_ACTION_MODIFY, "order": int(ticket), "symbol": str(symbol),
            "price": float(price), "stoplimit": float(stoplimit), "sl": float(sl), "tp": float(tp),
            "type_time": type_time, "expiration": expiration}


def remove_request(*, ticket: int) -> dict:
    return {"action": TRADE_ACTION_REMOVE, "order": int(ticket)}


# ----------------------------------------------------------------------- results


def to_position(p) -> Position:
    return Position(
        ticket=int(p.ticket), identifier=int(p.identifier), symbol=p.symbol,
        side=Side.BUY if p.type == POSITION_TYPE_BUY else Side.SELL, volume=float(p.volume),
        price_open=float(p.price_open), sl=float(p.sl), tp=float(p.tp), magic=int(p.magic),
        comment=p.comment, time_msc=int(p.time_msc), price_current=float(p.price_current),
        profit=float(p.profit))


def to_pending_order(o) -> PendingOrder | None:
    """A working pending order, or None for a market order still in progress (which has no kind)."""
    kind = _PENDING_KINDS.get(o.type)
    if kind is None:
        return None
    return PendingOrder(
        ticket=int(o.ticket), symbol=o.symbol, kind=kind, volume=float(o.volume_current),
        price=float(o.price_open), stoplimit=float(o.price_stoplimit), sl=float(o.sl), tp=float(o.tp),
        expiration=int(o.time_expiration), magic=int(o.magic), comment=o.comment,
        time_setup_msc=int(o.time_setup_msc))


def to_symbol_spec(info, tick=None) -> SymbolSpec:
    execution = _EXECUTIONS.get(info.trade_exemode, Execution.MARKET)
    return SymbolSpec(
        name=info.name, description=info.description, digits=int(info.digits), point=float(info.point),
        contract_size=float(info.trade_contract_size), volume_min=float(info.volume_min),
        volume_step=float(info.volume_step), volume_max=float(info.volume_max),
        stops_level=int(info.trade_stops_level), freeze_level=int(info.trade_freeze_level),
        fillings=fillings_of(int(info.filling_mode), execution), execution=execution,
        trade_mode=_TRADE_MODES.get(info.trade_mode, TradeMode.DISABLED),
        currency_base=info.currency_base, currency_profit=info.currency_profit,
        tick_size=float(info.trade_tick_size), tick_value=float(info.trade_tick_value),
        bid=float(tick.bid if tick is not None else info.bid),
        ask=float(tick.ask if tick is not None else info.ask),
        pending_kinds=pending_kinds_of(int(info.order_mode)),
        expiry_specified=bool(int(info.expiration_mode) & _EXPIRATION_SPECIFIED))


# SymbolInfo.order_mode and expiration_mode bits (MQL5's SYMBOL_ORDER_* / SYMBOL_EXPIRATION_*,
# which the Python package does not export).
_ORDER_LIMIT, _ORDER_STOP, _ORDER_STOP_LIMIT = 2, 4, 8
_EXPIRATION_SPECIFIED = 4


def pending_kinds_of(order_mode: int) -> frozenset[PendingKind]:
    kinds = set()
    if order_mode & _ORDER_LIMIT:
        kinds |= {PendingKind.BUY_LIMIT, PendingKind.SELL_LIMIT}
    if order_mode & _ORDER_STOP:
        kinds |= {PendingKind.BUY_STOP, PendingKind.SELL_STOP}
    if order_mode & _ORDER_STOP_LIMIT:
        kinds |= {PendingKind.BUY_STOP_LIMIT, PendingKind.SELL_STOP_LIMIT}
    return frozenset(kinds)


def to_account_state(account, terminal) -> AccountState:
    # Trading from Python needs all four switches; the trader sees which one is off in the log.
    trade_allowed = bool(terminal.trade_allowed and not terminal.tradeapi_disabled
                         and account.trade_allowed and account.trade_expert)
    return AccountState(
        login=int(account.login), server=account.server, company=account.company, name=account.name,
        currency=account.currency, balance=float(account.balance), equity=float(account.equity),
        margin=float(account.margin), margin_free=float(account.margin_free),
        leverage=int(account.leverage),
        hedging=account.margin_mode == ACCOUNT_MARGIN_MODE_RETAIL_HEDGING, trade_allowed=trade_allowed,
        trading_blocked="; ".join(trading_blockers(account, terminal)))


def trading_blockers(account, terminal) -> list[str]:
    """Why trading from Python is off, in words the trader can act on; empty when it is on."""
    reasons = []
    if not terminal.trade_allowed:
        reasons.append("the terminal's 'Algo Trading' button is off")
    if terminal.tradeapi_disabled:
        reasons.append("the terminal disables trading via the external Python API "
                       "(Tools > Options > Expert Advisors)")
    if not account.trade_allowed:
        reasons.append("the broker does not allow trading on this account")
    if not account.trade_expert:
        reasons.append("the broker does not allow automated trading on this account")
    return reasons
