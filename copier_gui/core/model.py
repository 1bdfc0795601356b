"""The copier's own vocabulary for accounts, symbols, positions, orders and execution results.

Connectors translate their platform's objects into these immutable values; the core plans and
reconciles with nothing else, so it never depends on how a platform spells things.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Side(Enum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class PendingKind(Enum):
    BUY_LIMIT = "buy_limit"
    SELL_LIMIT = "sell_limit"
    BUY_STOP = "buy_stop"
    SELL_STOP = "sell_stop"
    BUY_STOP_LIMIT = "buy_stop_limit"
    SELL_STOP_LIMIT = "sell_stop_limit"

    @property
    def side(self) -> Side:
        return Side.BUY if self.value.startswith("buy") else Side.SELL

    def reversed(self) -> PendingKind:
        """The same order the other way round (a buy limit becomes a sell limit)."""
        name = self.value.replace("buy", "@").replace("sell", "buy").replace("@", "sell")
        return PendingKind(name)


class Filling(Enum):
    FOK = "fok"
    IOC = "ioc"
    RETURN = "return"


class Execution(Enum):
    REQUEST = "request"
    INSTANT = "instant"
    MARKET = "market"
    EXCHANGE = "exchange"

    @property
    def needs_price(self) -> bool:
        return self in (Execution.REQUEST, Execution.INSTANT)


class VolumeUnit(Enum):
    """What a symbol's volumes count. MetaTrader counts lots, each ``contract_size`` units of the base
    asset; cTrader counts the units themselves. Sizing goes through units of the base asset, so a
    master in lots and a slave in units hold the same exposure."""

    LOTS = "lots"
    UNITS = "units"


class TradeMode(Enum):
    DISABLED = "disabled"
    LONG_ONLY = "long_only"
    SHORT_ONLY = "short_only"
    CLOSE_ONLY = "close_only"
    FULL = "full"


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """What a broker says about one symbol: enough to size, price and route an order."""

    name: str
    description: str
    digits: int
    point: float
    contract_size: float
    volume_min: float
    volume_step: float
    volume_max: float
    stops_level: int
    freeze_level: int
    fillings: frozenset[Filling]
    execution: Execution
    trade_mode: TradeMode
    currency_base: str
    currency_profit: str
    tick_size: float
    tick_value: float
    bid: float = 0.0
    ask: float = 0.0
    pending_kinds: frozenset[PendingKind] = frozenset(PendingKind)
    expiry_specified: bool = True  # the broker accepts an order expiring at a given time
    # What volume, volume_min, volume_step and volume_max count. ``contract_size`` is always the
    # units of the base asset in one lot, and ``tick_value`` the money one tick makes on one volume
    # unit of this symbol (a lot, or a unit).
    volume_unit: VolumeUnit = VolumeUnit.LOTS

    @property
    def base_per_volume(self) -> float:
        """Units of the base asset in one volume unit of this symbol: a lot's contract, or one."""
        if self.volume_unit is VolumeUnit.UNITS:
            return 1.0
        return self.contract_size

    def to_lots(self, volume: float) -> float:
        """A volume of this symbol in lots, the unit traders and the copy rules speak in."""
        if self.volume_unit is VolumeUnit.LOTS or self.contract_size <= 0:
            return volume
        return volume / self.contract_size

    def from_lots(self, lots: float) -> float:
        """Lots (a copy rule's ``lots``, ``min_lot``, ``max_lot``) as a volume of this symbol."""
        if self.volume_unit is VolumeUnit.LOTS or self.contract_size <= 0:
            return lots
        return lots * self.contract_size


@dataclass(frozen=True, slots=True)
class AccountState:
    login: int
    server: str
    company: str
    name: str
    currency: str
    balance: float
    equity: float
    margin: float
    margin_free: float
    leverage: int
    hedging: bool
    trade_allowed: bool
    # Why trading is off, in words the trader can act on (which switch, where); empty when on.
    trading_blocked: str = ""


@dataclass(frozen=True, slots=True)
class DealShare:
    """One deal of a netting position: who sent it (magic number and comment) and its volume, signed
    (+ bought, - sold). A netting account folds every fill on a symbol into one position whose own
    comment is the first deal's; its deals still say which master position each fill copied."""

    magic: int
    comment: str
    volume: float


@dataclass(frozen=True, slots=True)
class CashFlow:
    """Money the broker's back office moved into (``amount`` > 0) or out of the account: a deposit,
    a withdrawal, a credit, a correction. Not a trading result, so prop limits do not count it.
    ``id`` is the broker's own (a deal ticket, a balance history id), higher for a later one."""

    id: int
    amount: float
    comment: str = ""


@dataclass(frozen=True, slots=True)
class Deal:
    """One fill of a position as the broker booked it: its direction, volume and price, and what it
    made and cost in the account currency (a charge is negative). The comment says which master
    position a copy's deal was for. Drift attribution takes a position's fills and costs from here:
    the broker's own record, complete even when a fill's report never reached the journal."""

    comment: str
    side: Side
    volume: float
    price: float
    commission: float
    swap: float
    fee: float
    profit: float
    time_msc: int
    position_id: int = 0
    symbol: str = ""


@dataclass(frozen=True, slots=True)
class Position:
    ticket: int
    identifier: int
    symbol: str
    side: Side
    volume: float
    price_open: float
    sl: float
    tp: float
    magic: int
    comment: str
    time_msc: int
    price_current: float = 0.0
    profit: float = 0.0
    # Netting accounts only: the deals that built this position; None where not read (hedging).
    deals: tuple[DealShare, ...] | None = None


@dataclass(frozen=True, slots=True)
class PendingOrder:
    ticket: int
    symbol: str
    kind: PendingKind
    volume: float
    price: float
    stoplimit: float
    sl: float
    tp: float
    expiration: int
    magic: int
    comment: str
    time_setup_msc: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One account's open positions and working orders at one moment (``taken_at``: monotonic s)."""

    taken_at: float
    positions: tuple[Position, ...]
    orders: tuple[PendingOrder, ...]
    server_offset_s: float | None = None

    def positions_by_ticket(self) -> dict[int, Position]:
        return {p.ticket: p for p in self.positions}

    def orders_by_ticket(self) -> dict[int, PendingOrder]:
        return {o.ticket: o for o in self.orders}


# ----------------------------------------------------------------------- requests (core -> connector)


@dataclass(frozen=True, slots=True)
class OpenPosition:
    """Open at market. With ``worst_price`` set, the connector checks its fresh quote first and
    answers REQUOTED without sending when the price is already worse (higher for a buy, lower
    for a sell): the copier's price tolerance, applied with no extra round trip.

    ``max_deviation_spreads`` widens the tolerance (the worst price, measured from
    ``reference_price``, and the broker's deviation) to that many of the spreads in the quote the
    connector reads right before sending, where that is wider: only the connector sees the spread
    of that moment.
    """

    symbol: str
    side: Side
    volume: float
    sl: float
    tp: float
    magic: int
    comment: str
    price: float = 0.0
    max_deviation_points: int = 20
    worst_price: float = 0.0
    max_deviation_spreads: float = 0.0
    reference_price: float = 0.0  # the master's fill, which the worst price is measured from


@dataclass(frozen=True, slots=True)
class ClosePosition:
    ticket: int
    symbol: str
    side: Side  # the position's side; the closing deal goes the other way
    volume: float
    magic: int
    comment: str
    price: float = 0.0
    max_deviation_points: int = 50


@dataclass(frozen=True, slots=True)
class ModifyStops:
    ticket: int
    symbol: str
    sl: float
    tp: float


@dataclass(frozen=True, slots=True)
class PlacePending:
    symbol: str
    kind: PendingKind
    volume: float
    price: float
    stoplimit: float
    sl: float
    tp: float
    expiration: int
    magic: int
    comment: str


@dataclass(frozen=True, slots=True)
class ModifyPending:
    ticket: int
    symbol: str
    price: float
    stoplimit: float
    sl: float
    tp: float
    expiration: int


@dataclass(frozen=True, slots=True)
class CancelPending:
    ticket: int
    symbol: str


Request = OpenPosition | ClosePosition | ModifyStops | PlacePending | ModifyPending | CancelPending


# ----------------------------------------------------------------------- results (connector -> core)


class Status(Enum):
    FILLED = "filled"
    PARTIAL = "partial"
    PLACED = "placed"  # a pending order accepted, or a modification or cancellation done
    REQUOTED = "requoted"
    REJECTED = "rejected"
    UNREACHABLE = "unreachable"  # the terminal did not answer: no connection, timeout
    # Trading is switched off at the account (AutoTrading, the API option, the server): nothing
    # can pass until the trader switches it back on, so the copier watches instead of retrying.
    DISABLED = "disabled"
    THROTTLED = "throttled"  # the broker asks for fewer requests; wait before the next one

    @property
    def ok(self) -> bool:
        return self in (Status.FILLED, Status.PARTIAL, Status.PLACED)


class Reason(Enum):
    """Why a request ended as it did, finer than its Status and the same on every platform: each
    connector maps its broker's codes here, and journals and listeners read it without knowing them.
    A fill or an accepted order has no reason, except a change the broker already held."""

    NO_CHANGES = "no_changes"  # PLACED: what was asked is already in place
    REQUOTE = "requote"  # REQUOTED: the broker offers another price
    PRICE_CHANGED = "price_changed"  # REQUOTED: the price moved while the request travelled
    NO_QUOTE = "no_quote"  # REQUOTED: no price to execute at
    INVALID_VOLUME = "invalid_volume"  # off the volume step, under the minimum, over the maximum
    INVALID_PRICE = "invalid_price"
    INVALID_STOPS = "invalid_stops"  # SL or TP too close to the price or on its wrong side
    INVALID_EXPIRATION = "invalid_expiration"
    INVALID_REQUEST = "invalid_request"
    UNSUPPORTED = "unsupported"  # a filling mode or order type the symbol does not take
    MARKET_CLOSED = "market_closed"
    TRADE_RESTRICTED = "trade_restricted"  # the symbol is disabled, close-only, long-only or short-only
    NO_MONEY = "no_money"
    LIMIT_REACHED = "limit_reached"  # the account's limit on positions, orders or volume
    NOT_FOUND = "not_found"  # the position or order is gone or changed meanwhile
    BUSY = "busy"  # the broker is still at an earlier request, or the level is frozen near the price
    ACCOUNT_RULE = "account_rule"  # the account forbids it (FIFO, no hedging, real accounts only)
    REFUSED = "refused"  # the broker said no and no more
    THROTTLED = "throttled"  # THROTTLED: too many requests
    TRADING_DISABLED = "trading_disabled"  # DISABLED: trading is off at the account or the terminal
    NO_CONNECTION = "no_connection"  # UNREACHABLE: the platform or its server did not answer


@dataclass(frozen=True, slots=True)
class ExecutionReport:
    """What came back for one request. The core reads ``status`` (and ``reason``, ``sent`` and
    ``rest_working``); ``retcode`` and ``message`` keep the broker's own code and words for the
    journal, ``extra`` what else the connector wants journaled."""

    status: Status
    retcode: int
    message: str
    volume: float = 0.0
    price: float = 0.0
    bid: float = 0.0
    ask: float = 0.0
    order: int = 0
    deal: int = 0
    sent_at: float = 0.0
    received_at: float = 0.0
    extra: dict = field(default_factory=dict)
    reason: Reason | None = None
    # False when the connector answered without sending (a check of its own refused the request):
    # an unreachable report with ``sent`` true may still have reached the broker.
    sent: bool = True
    # A partial fill whose rest the broker keeps working (it fills later under the same tag), rather
    # than cancelling it: topping up as well would buy that rest twice.
    rest_working: bool = False
    # What went to the broker after the connector fitted the request: the stops (None where the
    # request sets none, a close or a cancel), the price of its fresh quote for a market deal, and
    # the copier's price limit in points of the symbol as applied at that quote's spread.
    sent_sl: float | None = None
    sent_tp: float | None = None
    quote: float = 0.0
    deviation_limit_points: float | None = None
    # The deals of the position the trade went into, as the broker booked them, read right after it
    # by a connector that could do so at no extra round trip (a worker); None: the copier reads them.
    deals: tuple[Deal, ...] | None = None

    @property
    def broker_latency_s(self) -> float:
        return self.received_at - self.sent_at
