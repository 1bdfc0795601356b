"""Planning: what one slave should hold for each master position and pending order.

Pure functions over immutable inputs: the master's snapshot, the slave's symbols and balance, its
copy rules and the copy book. The output is a desired state, plus a refusal with a reason a trader
understands for everything that will not be copied. Nothing here talks to a broker.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from copier_gui.core import units
from copier_gui.core.copybook import CopyBook
from copier_gui.core.model import PendingKind, PendingOrder, Position, Side, SymbolSpec
from copier_gui.core.prop_rules import StopLossAction
from copier_gui.core.rules import CopyRules, Direction, SizingMode, StopsMode
from copier_gui.core.sizing import Figures, intended_volume, normalise
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
    master_symbol: str = ""  # the master's name for the symbol, which per-symbol tolerances use


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
    # For drift attribution (core.drift_ledger): "excluded" when the rules leave the trade out (it is
    # no part of what perfect copying under them would make); "sizing" with the volume the rules
    # asked for when lot limits sized it to nothing. Journaled with the refusal.
    drift: dict | None = None


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
    equity: float = 0.0
    free_margin: float = 0.0


@dataclass(frozen=True, slots=True)
class MasterContext:
    account_id: str
    balance: float
    symbols: dict[str, SymbolSpec]
    currency: str = ""
    server_offset_s: float | None = None
    now_wall: float = 0.0
    equity: float = 0.0
    free_margin: float = 0.0


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


def _figures(master: MasterContext, slave: SlaveContext) -> Figures | None:
    def in_master_ccy(amount: float) -> float | None:
        return convert(amount, slave.currency, master.currency, slave.symbols)

    converted = [in_master_ccy(v) for v in (slave.balance, slave.equity or slave.balance,
                                            slave.free_margin or slave.balance)]
    if any(v is None for v in converted):
        return None
    return Figures(master.balance, master.equity or master.balance, master.free_margin or master.balance,
                   *converted)


_BY_FIGURES = frozenset({SizingMode.BALANCE_RATIO, SizingMode.EQUITY_RATIO, SizingMode.FREE_MARGIN_RATIO})
_UNUSED_FIGURES = Figures(1, 1, 1, 1, 1, 1)


def _rule_volume(master_symbol: str, master_volume: float, spec: SymbolSpec, master: MasterContext,
                 slave: SlaveContext, sl_distance: float) -> tuple[float | None, str | None]:
    sizing = slave.rules.sizing
    # The balances are priced in the master's currency (a look through the slave's symbols) only
    # for a rule that sizes by them, its own or a fixed risk's fallback: not in every pass.
    priced = sizing.mode in _BY_FIGURES or (sizing.mode is SizingMode.FIXED_RISK
                                            and sizing.no_sl_fallback in _BY_FIGURES)
    figures = _figures(master, slave) if priced else None
    if figures is None:
        if sizing.mode in _BY_FIGURES:
            return None, None
        figures = _UNUSED_FIGURES
    master_spec = master.symbols.get(master_symbol)
    volume, note = intended_volume(
        master_volume, sizing,
        master_per_volume=(master_spec or spec).base_per_volume,
        slave_per_volume=spec.base_per_volume, figures=figures, sl_distance=sl_distance, spec=spec,
        slave_equity_own_currency=slave.equity or slave.balance)
    rule = slave.rules.symbols.per_symbol.get(master_symbol)
    if rule is not None:
        volume *= rule.volume_multiplier
    return volume, note


def _sized(ticket: int, raw: float | None, spec: SymbolSpec, master: MasterContext, slave: SlaveContext):
    """The volume to send, or a refusal that names the limit it broke."""
    if raw is None:
        return Refusal(ticket, f"skipped: cannot compare balances in {slave.currency} and "
                               f"{master.currency}: {slave.broker} quotes no pair for them")
    sizing = slave.rules.sizing
    sized = normalise(raw, spec, slave.broker, rounding=sizing.rounding, min_lot=sizing.min_lot,
                      max_lot=sizing.max_lot)
    return sized if sized.ok else Refusal(ticket, f"skipped: {sized.refusal}")


EXCLUDED = {"cause": "excluded"}


def drift_data(cause: str, spec: SymbolSpec | None, side: Side, ideal: float, sized: float,
               master_volume: float) -> dict:
    """What a refusal journals so drift attribution can value the trade the slave did not take:
    the slave symbol, direction and volumes, and the money one price unit on one lot makes there."""
    k = spec.tick_value / spec.tick_size if spec is not None and spec.tick_size > 0 else 0.0
    return {"cause": cause, "symbol": spec.name if spec is not None else "", "side": side.value,
            "ideal_volume": round(ideal, 8), "sized_volume": sized, "master_volume": master_volume,
            "money_per_price_lot": k}


def _unmapped(ticket: int, resolution, slave: SlaveContext) -> Refusal:
    hint = f"; closest at {slave.broker}: {', '.join(resolution.candidates)}" if resolution.candidates else ""
    return Refusal(ticket, f"skipped: {resolution.how} at {slave.broker}{hint}", resolution.candidates)


def filter_refusal(symbol: str, side: Side, magic: int, comment: str, slave: SlaveContext) -> str | None:
    """Why the slave's filters leave this master trade alone, naming the rule, or None."""
    f = slave.rules.filters
    if f.include_symbols and symbol not in f.include_symbols:
        return f"skipped: {symbol} is not in filters.include_symbols ({', '.join(f.include_symbols)})"
    if symbol in f.exclude_symbols:
        return f"skipped: {symbol} is in filters.exclude_symbols"
    rule = slave.rules.symbols.per_symbol.get(symbol)
    if rule is not None and not rule.enabled:
        return f"skipped: copying {symbol} is off for this slave (symbols.per_symbol)"
    if f.magic_numbers and magic not in f.magic_numbers:
        return f"skipped: master magic {magic} is not in filters.magic_numbers ({', '.join(map(str, f.magic_numbers))})"
    if f.comment_contains and f.comment_contains not in comment:
        return f"skipped: the master comment {comment!r} does not contain {f.comment_contains!r}"
    copied_side = side.opposite if f.reverse else side
    if f.direction is Direction.LONG_ONLY and copied_side is Side.SELL:
        return "skipped: this slave copies long trades only (filters.direction)"
    if f.direction is Direction.SHORT_ONLY and copied_side is Side.BUY:
        return "skipped: this slave copies short trades only (filters.direction)"
    return None


def _stops(side: Side, entry: float, sl: float, tp: float, spec: SymbolSpec, slave: SlaveContext) -> tuple[float, float]:
    """The slave's SL/TP for a trade on ``side`` (already reversed if the slave reverses)."""
    rule = slave.rules.stops
    if rule.mode is StopsMode.NONE:
        return 0.0, 0.0
    if rule.mode is StopsMode.FIXED_OFFSET:
        gap_sl = (rule.sl_points or 0) * spec.point
        gap_tp = (rule.tp_points or 0) * spec.point
        new_sl = entry - side.sign * gap_sl if rule.sl_points else 0.0
        new_tp = entry + side.sign * gap_tp if rule.tp_points else 0.0
        return _round_price(new_sl, spec), _round_price(new_tp, spec)
    if slave.rules.filters.reverse:
        # The master's stop is the reversed trade's target and the other way round.
        sl, tp = tp, sl
    return _round_price(sl, spec), _round_price(tp, spec)


def _prop_stop(side: Side, entry: float, sl: float, spec: SymbolSpec, slave: SlaveContext) -> float:
    """The copy's stop under a prop firm's "stop loss required" rule with ``add_stop``: its own at
    the rule's distance from the entry when it would otherwise have none (a stop the master sets
    later replaces it, as any stop the copier follows). ValueError when the distance cannot apply
    to this symbol (pips on a coin): a prop account must not hold a copy it cannot protect."""
    prop = slave.rules.risk.prop
    rule = prop.stop_loss if prop is not None else None
    if sl or rule is None or rule.action is not StopLossAction.ADD_STOP or rule.distance is None:
        return sl
    gap = units.deviation_limit_points(rule.distance.value, rule.distance.unit, spec, entry, 0.0) * spec.point
    return _round_price(entry - side.sign * gap, spec)


def _with_prop_stop(ticket: int, side: Side, entry: float, sl: float, spec: SymbolSpec,
                    slave: SlaveContext) -> float | Refusal:
    try:
        return _prop_stop(side, entry, sl, spec, slave)
    except ValueError as exc:
        return Refusal(ticket, f"skipped: risk.prop.stop_loss: {exc}; a copy on this prop account must carry a "
                               "stop loss, so it is not opened")


def plan_position(pos: Position, master: MasterContext, slave: SlaveContext, book: CopyBook) -> DesiredPosition | Refusal:
    why = filter_refusal(pos.symbol, pos.side, pos.magic, pos.comment, slave)
    if why:
        return Refusal(pos.ticket, why, drift=EXCLUDED)
    resolution = slave.symbol_map.resolve(pos.symbol)
    if resolution.slave_symbol is None:
        return _unmapped(pos.ticket, resolution, slave)
    spec = slave.symbols[resolution.slave_symbol]
    side = pos.side.opposite if slave.rules.filters.reverse else pos.side
    entry = book.get(slave.slave_id, pos.ticket)
    note = None
    # A position that reversed in place since the copy was entered (its side is not the entry's)
    # is a new entry on its new side, sized by the rules like any other.
    if entry is not None and entry.master_volume > 0 and (entry.side is None or entry.side is side):
        # Proportional to what this slave got at entry, so partial closes mirror exactly and a
        # balance that moved since does not resize an open copy.
        master_volume = pos.volume if slave.rules.copy_partial_closes else max(pos.volume, entry.master_volume)
        raw = entry.slave_volume * master_volume / entry.master_volume
    else:
        raw, note = _rule_volume(pos.symbol, pos.volume, spec, master, slave,
                                 abs(pos.price_open - pos.sl) if pos.sl else 0.0)
    sized = _sized(pos.ticket, raw, spec, master, slave)
    if isinstance(sized, Refusal):
        if raw is None:
            return sized
        return replace(sized, drift=drift_data("sizing", spec, side, raw, 0.0, pos.volume))
    sl, tp = _stops(side, pos.price_open, pos.sl, pos.tp, spec, slave)
    sl = _with_prop_stop(pos.ticket, side, pos.price_open, sl, spec, slave)
    if isinstance(sl, Refusal):
        return sl
    return DesiredPosition(pos.ticket, spec.name, side, sized.volume, raw, sl, tp, pos.price_open,
                           pos.time_msc, pos.volume, "; ".join(n for n in (note, sized.note) if n) or None,
                           pos.symbol)


_REVERSED_KINDS = {
    PendingKind.BUY_LIMIT: PendingKind.SELL_STOP, PendingKind.SELL_LIMIT: PendingKind.BUY_STOP,
    PendingKind.BUY_STOP: PendingKind.SELL_LIMIT, PendingKind.SELL_STOP: PendingKind.BUY_LIMIT,
}


def plan_order(order: PendingOrder, master: MasterContext, slave: SlaveContext) -> DesiredOrder | Refusal:
    if not slave.rules.copy_pending:
        return Refusal(order.ticket, "skipped: pending orders are not copied for this slave (copy_pending)",
                       drift=EXCLUDED)
    why = filter_refusal(order.symbol, order.kind.side, order.magic, order.comment, slave)
    if why:
        return Refusal(order.ticket, why, drift=EXCLUDED)
    kind = order.kind
    if slave.rules.filters.reverse:
        # Reversed, an order to buy below the market is an order to sell below it: a sell stop.
        if kind not in _REVERSED_KINDS:
            return Refusal(order.ticket, f"skipped: a reversed {kind.value} has no equivalent order type")
        kind = _REVERSED_KINDS[kind]
    resolution = slave.symbol_map.resolve(order.symbol)
    if resolution.slave_symbol is None:
        return _unmapped(order.ticket, resolution, slave)
    spec = slave.symbols[resolution.slave_symbol]
    if kind not in spec.pending_kinds:
        # No order type means the same thing without the stop, so a stop-limit waits at the
        # master; when it fills there, the position is copied at market like any other.
        if kind in (PendingKind.BUY_STOP_LIMIT, PendingKind.SELL_STOP_LIMIT):
            return Refusal(order.ticket, f"skipped: {spec.name} at {slave.broker} takes no {kind.value} orders; "
                                         f"it is copied at market if it fills at the master")
        return Refusal(order.ticket, f"skipped: {spec.name} at {slave.broker} takes no {kind.value} orders")
    raw, _ = _rule_volume(order.symbol, order.volume, spec, master, slave,
                          abs(order.price - order.sl) if order.sl else 0.0)
    sized = _sized(order.ticket, raw, spec, master, slave)
    if isinstance(sized, Refusal):
        return sized
    entry = order.stoplimit or order.price
    sl, tp = _stops(kind.side, entry, order.sl, order.tp, spec, slave)
    sl = _with_prop_stop(order.ticket, kind.side, entry, sl, spec, slave)
    if isinstance(sl, Refusal):
        return sl
    expiration = _slave_expiration(order.expiration, master, slave) if spec.expiry_specified else 0
    if expiration and slave.server_offset_s is not None and expiration <= master.now_wall + slave.server_offset_s + 1:
        return Refusal(order.ticket, "skipped: the master's order expires within a second")
    return DesiredOrder(order.ticket, spec.name, kind, sized.volume, _round_price(order.price, spec),
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
