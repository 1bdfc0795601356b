"""Planning: what one slave should hold for each master position and pending order.

Pure functions over immutable inputs: the master's snapshot, the slave's symbols and balance, its
copy rules and the copy book. The output is a desired state, plus a refusal with a reason a trader
understands for everything that will not be copied. Nothing here talks to a broker.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from copier_gui.core.copybook import CopyBook
from copier_gui.core.model import PendingKind, PendingOrder, Position, Side, SymbolSpec
from copier_gui.core.rules import CopyRules, SizingMode
from copier_gui.core.sizing import intended_volume, normalise
from copier_gui.core.symbols import SymbolMap


@dataclass(frozen=True, slots=True)
class DesiredPosition:
    master_ticket: int
    symbol: str
    side: Side
    volume: float
    intended: float  # before rounding to the slave's lot step
    sl: float
    tp: float
    master_price: float
    master_time_msc: int
    master_volume: float
    note: str | None = None


@dataclass(frozen=True, slots=True)
class DesiredOrder:
    master_ticket: int
    symbol: str
    kind: PendingKind
    volume: float
    price: float
    stoplimit: float
    sl: float
    tp: float
    expiration: int


@dataclass(frozen=True, slots=True)
class Refusal:
    master_ticket: int
    reason: str
    candidates: tuple[str, ...] = ()


@dataclass
class SlavePlan:
    positions: dict[int, DesiredPosition] = field(default_factory=dict)
    orders: dict[int, DesiredOrder] = field(default_factory=dict)
    refusals: dict[int, Refusal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SlaveContext:
    slave_id: str
    broker: str
    rules: CopyRules
    symbols: dict[str, SymbolSpec]
    symbol_map: SymbolMap
    balance: float
    currency: str = ""
    server_offset_s: float | None = None


@dataclass(frozen=True, slots=True)
class MasterContext:
    account_id: str
    balance: float
    symbols: dict[str, SymbolSpec]
    currency: str = ""
    server_offset_s: float | None = None
    now_wall: float = 0.0


def convert(amount: float, from_ccy: str, to_ccy: str, symbols: dict[str, SymbolSpec]) -> float | None:
    """``amount`` in another currency, priced from the account's own quotes; None if no pair.

    Balance-ratio sizing compares balances, which is only meaningful in one currency: a JPY
    account's 1,500,000 is about 10,000 USD, not 1.5 million.
    """
    if not from_ccy or not to_ccy or from_ccy == to_ccy:
        return amount
    for spec in symbols.values():
        mid = (spec.bid + spec.ask) / 2
        if mid <= 0:
            continue
        if spec.currency_base == from_ccy and spec.currency_profit == to_ccy:
            return amount * mid
        if spec.currency_base == to_ccy and spec.currency_profit == from_ccy:
            return amount / mid
    via_usd = None
    if "USD" not in (from_ccy, to_ccy):
        to_usd = convert(amount, from_ccy, "USD", symbols)
        via_usd = convert(to_usd, "USD", to_ccy, symbols) if to_usd is not None else None
    return via_usd


def _round_price(price: float, spec: SymbolSpec) -> float:
    return round(price, spec.digits) if price else 0.0


def _rule_volume(master_symbol: str, master_volume: float, spec: SymbolSpec, master: MasterContext,
                 slave: SlaveContext) -> float | None:
    master_spec = master.symbols.get(master_symbol)
    slave_balance = convert(slave.balance, slave.currency, master.currency, slave.symbols)
    if slave_balance is None:
        if slave.rules.sizing.mode is not SizingMode.BALANCE_RATIO:
            slave_balance = slave.balance
        else:
            return None
    return intended_volume(
        master_volume, slave.rules.sizing,
        master_contract=master_spec.contract_size if master_spec else spec.contract_size,
        slave_contract=spec.contract_size, master_balance=master.balance, slave_balance=slave_balance)


def _sized(ticket: int, raw: float | None, spec: SymbolSpec, master: MasterContext, slave: SlaveContext):
    """The volume to send, or a refusal that names the limit it broke."""
    if raw is None:
        return Refusal(ticket, f"skipped: cannot compare balances in {slave.currency} and "
                               f"{master.currency}: {slave.broker} quotes no pair for them")
    sized = normalise(raw, spec, slave.broker)
    return sized if sized.ok else Refusal(ticket, f"skipped: {sized.refusal}")


def _unmapped(ticket: int, resolution, slave: SlaveContext) -> Refusal:
    hint = f"; closest at {slave.broker}: {', '.join(resolution.candidates)}" if resolution.candidates else ""
    return Refusal(ticket, f"skipped: {resolution.how} at {slave.broker}{hint}", resolution.candidates)


def plan_position(pos: Position, master: MasterContext, slave: SlaveContext, book: CopyBook) -> DesiredPosition | Refusal:
    resolution = slave.symbol_map.resolve(pos.symbol)
    if resolution.slave_symbol is None:
        return _unmapped(pos.ticket, resolution, slave)
    spec = slave.symbols[resolution.slave_symbol]
    entry = book.get(slave.slave_id, pos.ticket)
    if entry is not None and entry.master_volume > 0:
        # Proportional to what this slave got at entry, so partial closes mirror exactly and a
        # balance that moved since does not resize an open copy.
        raw = entry.slave_volume * pos.volume / entry.master_volume
    else:
        raw = _rule_volume(pos.symbol, pos.volume, spec, master, slave)
    sized = _sized(pos.ticket, raw, spec, master, slave)
    if isinstance(sized, Refusal):
        return sized
    sl = _round_price(pos.sl, spec) if slave.rules.copy_stops else 0.0
    tp = _round_price(pos.tp, spec) if slave.rules.copy_stops else 0.0
    return DesiredPosition(pos.ticket, spec.name, pos.side, sized.volume, raw, sl, tp, pos.price_open,
                           pos.time_msc, pos.volume, sized.note)


def plan_order(order: PendingOrder, master: MasterContext, slave: SlaveContext) -> DesiredOrder | Refusal:
    if not slave.rules.copy_pending:
        return Refusal(order.ticket, "skipped: pending orders are not copied for this slave")
    resolution = slave.symbol_map.resolve(order.symbol)
    if resolution.slave_symbol is None:
        return _unmapped(order.ticket, resolution, slave)
    spec = slave.symbols[resolution.slave_symbol]
    raw = _rule_volume(order.symbol, order.volume, spec, master, slave)
    sized = _sized(order.ticket, raw, spec, master, slave)
    if isinstance(sized, Refusal):
        return sized
    sl = _round_price(order.sl, spec) if slave.rules.copy_stops else 0.0
    tp = _round_price(order.tp, spec) if slave.rules.copy_stops else 0.0
    expiration = _slave_expiration(order.expiration, master, slave)
    if expiration and slave.server_offset_s is not None and expiration <= master.now_wall + slave.server_offset_s + 1:
        return Refusal(order.ticket, "skipped: the master's order expires within a second")
    return DesiredOrder(order.ticket, spec.name, order.kind, sized.volume, _round_price(order.price, spec),
                        _round_price(order.stoplimit, spec), sl, tp, expiration)


def _slave_expiration(expiration: int, master: MasterContext, slave: SlaveContext) -> int:
    """The master's expiry in the slave's server time; GTC when either server's offset is unknown.

    Expiry times are trade-server times, and servers sit in different zones: copied as is, an
    order would expire an hour early (or be refused) at a broker one zone east. When the offset is
    unknown the slave's order is good till cancelled, and it is cancelled when the master's
    expires, like any master cancellation.
    """
    if not expiration or master.server_offset_s is None or slave.server_offset_s is None:
        return 0
    return int(expiration - master.server_offset_s + slave.server_offset_s)


def plan_slave(positions: tuple[Position, ...], orders: tuple[PendingOrder, ...], master: MasterContext,
               slave: SlaveContext, book: CopyBook) -> SlavePlan:
    plan = SlavePlan()
    for pos in positions:
        result = plan_position(pos, master, slave, book)
        if isinstance(result, Refusal):
            plan.refusals[pos.ticket] = result
        else:
            plan.positions[pos.ticket] = result
    for order in orders:
        result = plan_order(order, master, slave)
        if isinstance(result, Refusal):
            plan.refusals[order.ticket] = result
        else:
            plan.orders[order.ticket] = result
    return plan
