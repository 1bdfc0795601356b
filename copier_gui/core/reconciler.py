"""Reconciliation: compare what a slave holds (by tag) with what it should hold, and list the steps
that converge the two.

This one comparison serves the event path (a master change just happened), the start-up pass, the
pass after a reconnect and the periodic pass, so a restart, a crash or a lost connection all end
in the same state. Exits are never gated: anything the master no longer holds is closed, whatever
the toggles and risk say. Entries are listed only when entries are allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

from copier_gui.core import tags
from copier_gui.core.model import PendingOrder, Position, Side, SymbolSpec
from copier_gui.core.planner import DesiredOrder, DesiredPosition, SlavePlan


@dataclass(frozen=True, slots=True)
class OpenStep:
    desired: DesiredPosition
    volume: float
    top_up: bool = False


@dataclass(frozen=True, slots=True)
class ReduceStep:
    master_ticket: int
    position: Position
    volume: float
    reason: str

    @property
    def closes_all(self) -> bool:
        return self.volume >= self.position.volume - 1e-9


@dataclass(frozen=True, slots=True)
class NetStep:
    """One master position's share of a netting account's position on one symbol changes by one deal
    of ``volume`` towards ``side``, tagged with that master position.

    ``is_exit``: the share moves towards zero because the master closed or reduced that position,
    even when the deal grows the account's net position (a hedge leg closed at the master): exits
    are never gated, and no delay limit applies to them. ``held`` is the share before, signed.
    """

    master_ticket: int
    symbol: str
    side: Side
    volume: float
    is_exit: bool
    desired: DesiredPosition | None
    position: Position | None
    reason: str
    held: float = 0.0


@dataclass(frozen=True, slots=True)
class ModifyStep:
    master_ticket: int
    position: Position
    sl: float
    tp: float


@dataclass(frozen=True, slots=True)
class PlaceStep:
    desired: DesiredOrder


@dataclass(frozen=True, slots=True)
class AmendStep:
    order: PendingOrder
    desired: DesiredOrder


@dataclass(frozen=True, slots=True)
class CancelStep:
    master_ticket: int
    order: PendingOrder
    reason: str


Step = OpenStep | ReduceStep | NetStep | ModifyStep | PlaceStep | AmendStep | CancelStep


def _ours(items, magic: int, instance: str = ""):
    """Tagged items by master ticket; items without our tag are the trader's own, and items tagged by
    another copier are that copier's: both are left alone."""
    out: dict[int, list] = {}
    for item in items:
        if item.magic != magic or not tags.is_ours(item.comment, instance):
            continue
        ticket = tags.master_ticket_of(item.comment)
        if ticket is not None:
            out.setdefault(ticket, []).append(item)
    return out


def _stops_differ(a: float, b: float, spec: SymbolSpec | None) -> bool:
    tolerance = (spec.point / 2) if spec else 1e-9
    return abs(a - b) > tolerance


def reconcile(
    plan: SlavePlan,
    positions: tuple[Position, ...],
    orders: tuple[PendingOrder, ...],
    *,
    magic: int,
    hedging: bool,
    symbols: dict[str, SymbolSpec],
    entries_allowed: bool,
    master_tickets: set[int],
    master_orders: set[int] = frozenset(),
    only: set[int] | None = None,
    follow_stops: bool = True,
    instance: str = "",
    shares: dict[str, dict[int, float]] | None = None,
    unsettled: frozenset[int] = frozenset(),
) -> list[Step]:
    """Steps that bring the slave to ``plan``. ``only`` limits the pass to some master tickets.

    On a netting account ``shares`` gives each master ticket's signed share per symbol (the copy
    book's); without it they are read from the positions' deals. Tickets in ``unsettled`` have a
    deal whose outcome is not known yet, and are left alone until it is.

    Exits come first in the list, so a slow broker never delays a close behind an entry.
    """
    steps_exit: list[Step] = []
    steps_entry: list[Step] = []
    held = _ours(positions, magic, instance)
    working = _ours(orders, magic, instance)

    def wanted(ticket: int) -> bool:
        return only is None or ticket in only

    # A slave's copy of a pending order can fill before the master's (its quotes differ by a few
    # points). That position is the copy of a trade the master is about to make, not an orphan:
    # it stays while the master's order is pending, and no second order is placed for it.
    early = {t for t in held if t in master_orders and t not in plan.positions}
    # A limit order at the master's price, placed when the market ran beyond the tolerance
    # (tolerances.on_price_deviation): it is this copy's entry, working; keep it, open nothing.
    # Known by its tag: a slave's copy of a master pending order that has since filled looks the
    # same otherwise, and taking it for the entry would leave the slave flat.
    chasing = {t for t, items in working.items() if any(tags.is_chase(o.comment) for o in items)
               and t in plan.positions and t not in held and hedging and entries_allowed}

    # ---- pending orders
    for ticket, slave_orders in working.items():
        if not wanted(ticket):
            continue
        # A netting account merges fills into one position per symbol, so an early fill there
        # could not be told apart; netting slaves take pending trades at market when they fill.
        if ticket in chasing:
            keep = next(o for o in slave_orders if tags.is_chase(o.comment))
            for order in slave_orders:
                if order is not keep:
                    steps_exit.append(CancelStep(ticket, order, "duplicate order"))
            continue
        desired = plan.orders.get(ticket) if entries_allowed and hedging else None
        keep = slave_orders[0] if desired is not None else None
        for order in slave_orders:
            if order is keep:
                continue
            reason = ("master order filled; its position is copied at market" if ticket in plan.positions
                      and not tags.is_chase(order.comment)
                      else "master order no longer pending" if ticket not in plan.orders
                      else "copying is off for this slave" if not entries_allowed
                      else "netting accounts copy pending trades when they fill" if not hedging
                      else "duplicate order")
            steps_exit.append(CancelStep(ticket, order, reason))
        if keep is not None:
            spec = symbols.get(keep.symbol)
            if (_stops_differ(keep.price, desired.price, spec) or _stops_differ(keep.stoplimit, desired.stoplimit, spec)
                    or _stops_differ(keep.sl, desired.sl, spec) or _stops_differ(keep.tp, desired.tp, spec)
                    or keep.expiration != desired.expiration):
                steps_entry.append(AmendStep(keep, desired))
    if entries_allowed and hedging:
        for ticket, desired in plan.orders.items():
            if wanted(ticket) and ticket not in working and ticket not in early:
                steps_entry.append(PlaceStep(desired))

    # ---- positions
    if hedging:
        for ticket, slave_positions in held.items():
            if not wanted(ticket) or ticket in early:
                continue
            desired = plan.positions.get(ticket)
            total = sum(p.volume for p in slave_positions)
            if desired is None:
                reason = _exit_reason(ticket, None, plan, master_tickets)
                for p in slave_positions:
                    steps_exit.append(ReduceStep(ticket, p, p.volume, reason))
                continue
            spec = symbols.get(desired.symbol)
            step = spec.volume_step if spec else 0.01
            # A netting master's position that took the other side under the same id (cTrader):
            # copies on the old side close, and the new side is an entry of its own.
            reversed_ = [p for p in slave_positions if p.side is not desired.side]
            if reversed_:
                for p in reversed_:
                    steps_exit.append(ReduceStep(ticket, p, p.volume, "master position reversed"))
                slave_positions = [p for p in slave_positions if p.side is desired.side]
                total = sum(p.volume for p in slave_positions)
                if not slave_positions:
                    if entries_allowed:
                        steps_entry.append(OpenStep(desired, desired.volume))
                    continue
            if total > desired.volume + step / 2:
                excess = round(total - desired.volume, 8)
                # Newest first: the most recent top-up is undone before the original entry.
                for p in sorted(slave_positions, key=lambda p: (p.time_msc, p.ticket), reverse=True):
                    if excess <= 1e-9:
                        break
                    cut = min(p.volume, excess)
                    steps_exit.append(ReduceStep(ticket, p, round(cut, 8), "master position reduced"))
                    excess = round(excess - cut, 8)
            elif total < desired.volume - step / 2 and entries_allowed:
                steps_entry.append(OpenStep(desired, round(desired.volume - total, 8), top_up=True))
            for p in slave_positions:
                if follow_stops and (_stops_differ(p.sl, desired.sl, spec) or _stops_differ(p.tp, desired.tp, spec)):
                    steps_exit.append(ModifyStep(ticket, p, desired.sl, desired.tp))
        if entries_allowed:
            for ticket, desired in plan.positions.items():
                if wanted(ticket) and ticket not in held and ticket not in chasing:
                    steps_entry.append(OpenStep(desired, desired.volume))
    else:
        # One netting position may carry several master positions, so a netting pass always covers
        # every symbol in full; ``only`` would make the sums wrong.
        steps_exit_n, steps_entry_n = _reconcile_netting(plan, positions, magic, symbols, entries_allowed,
                                                         follow_stops, master_tickets, instance, shares,
                                                         unsettled)
        steps_exit.extend(steps_exit_n)
        steps_entry.extend(steps_entry_n)
    return steps_exit + steps_entry


def netting_shares(position: Position | None, magic: int, instance: str = "") -> dict[int, float]:
    """Each master ticket's signed share (+ long, - short) of one netting position, from its deals.

    The copier keeps the shares in its copy book (they outlive a position that nets to zero); this
    reading from the broker is what a pass falls back on where the book cannot say (a change made
    at the slave). Without deals (a connector that cannot read them) the whole position belongs to
    the master ticket its own tag names.
    """
    if position is None:
        return {}
    if position.deals is None:
        ours = position.magic == magic and tags.is_ours(position.comment, instance)
        ticket = tags.master_ticket_of(position.comment) if ours else None
        return {} if ticket is None else {ticket: position.side.sign * position.volume}
    shares: dict[int, float] = {}
    for deal in position.deals:
        ours = deal.magic == magic and tags.is_ours(deal.comment, instance)
        ticket = tags.master_ticket_of(deal.comment) if ours else None
        if ticket is not None:
            shares[ticket] = round(shares.get(ticket, 0.0) + deal.volume, 8)
    return {t: v for t, v in shares.items() if abs(v) > 1e-9}


def held_tickets(positions: tuple[Position, ...], magic: int, instance: str = "") -> set[int]:
    """Master tickets a slave holds a copy of, on either kind of account."""
    held: set[int] = set()
    for p in positions:
        if p.deals is not None:
            held |= set(netting_shares(p, magic, instance))
        elif p.magic == magic and tags.is_ours(p.comment, instance):
            held.add(tags.master_ticket_of(p.comment))
    return held


def working_tickets(orders: tuple[PendingOrder, ...], magic: int, instance: str = "") -> set[int]:
    """Master tickets a slave has a pending copy (or the copier's own limit order) for."""
    return set(_ours(orders, magic, instance))


def _reconcile_netting(plan: SlavePlan, positions, magic: int, symbols: dict[str, SymbolSpec],
                       entries_allowed: bool, follow_stops: bool, master_tickets: set[int], instance: str,
                       known_shares: dict[str, dict[int, float]] | None, unsettled: frozenset[int]):
    """A netting account holds one position per symbol, built from deals each tagged with the master
    position it copies: converge each master position's share, one tagged deal per share that
    changes, so the attribution per master ticket stays exact whatever the interleaving."""
    exits: list[Step] = []
    entries: list[Step] = []
    wanted: dict[str, dict[int, DesiredPosition]] = {}
    for d in plan.positions.values():
        wanted.setdefault(d.symbol, {})[d.master_ticket] = d
    by_symbol: dict[str, Position] = {}
    for p in positions:
        by_symbol.setdefault(p.symbol, p)
    if known_shares is not None:
        shares_of = {symbol: dict(shares) for symbol, shares in known_shares.items()}
    else:
        shares_of = {symbol: netting_shares(p, magic, instance) for symbol, p in by_symbol.items()}
    for symbol in sorted(set(wanted) | {s for s, shares in shares_of.items() if shares}):
        pos = by_symbol.get(symbol)
        shares = shares_of.get(symbol, {})
        desired = wanted.get(symbol, {})
        spec = symbols.get(symbol)
        step = spec.volume_step if spec else 0.01
        for ticket in sorted(set(shares) | set(desired)):
            if ticket in unsettled:
                continue
            d = desired.get(ticket)
            want = d.side.sign * d.volume if d else 0.0
            have = shares.get(ticket, 0.0)
            if abs(want - have) < step / 2:
                continue
            after = have
            if have and (want == 0 or (want > 0) != (have > 0) or abs(want) < abs(have)):
                cut = have if (want == 0 or (want > 0) != (have > 0)) else round(have - want, 8)
                exits.append(NetStep(ticket, symbol, Side.SELL if cut > 0 else Side.BUY, round(abs(cut), 8), True,
                                     d, pos, _exit_reason(ticket, d, plan, master_tickets), held=have))
                after = round(have - cut, 8)
            grow = round(want - after, 8)
            if abs(grow) >= step / 2 and entries_allowed and d is not None:
                entries.append(NetStep(ticket, symbol, Side.BUY if grow > 0 else Side.SELL, abs(grow), False, d, pos,
                                       "master position opened" if not after else "master position increased",
                                       held=after))
        # One position carries one stop loss and one take profit: those of the largest master
        # position on the side the account is on (by the master's volume: with fixed-lot sizing
        # every share is the same size). A stop of the other side's position would sit on
        # the wrong side of the market and close everything at once.
        same_side = [d for d in desired.values() if pos is not None and d.side is pos.side]
        if same_side and follow_stops:
            lead = max(same_side, key=lambda d: (d.master_volume, d.volume, -d.master_ticket))
            if _stops_differ(pos.sl, lead.sl, spec) or _stops_differ(pos.tp, lead.tp, spec):
                exits.append(ModifyStep(lead.master_ticket, pos, lead.sl, lead.tp))
    return exits, entries


def _exit_reason(ticket: int, d: DesiredPosition | None, plan: SlavePlan, master_tickets: set[int]) -> str:
    if d is not None:
        return "master position reduced"
    if ticket in master_tickets and ticket in plan.refusals:
        return f"master position no longer copyable ({plan.refusals[ticket].reason.replace('skipped: ', '')})"
    return "master position closed"
