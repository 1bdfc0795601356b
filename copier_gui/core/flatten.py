"""The trader's flatten of a slave: what it closes, and the reason its closes carry.

Only this copier's tagged copies are listed and closed; the trader's own trades and other
copiers' trades on the same account are never touched. The copier turns the list into the
confirmation a trader reads before saying yes, and journals each close with ``REASON``.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

from copier_gui.core import tags
from copier_gui.core.model import Snapshot
from copier_gui.core.reconciler import CancelStep, NetStep, ReduceStep, Step, netting_shares

REASON = "flattened by the trader"


class FlattenItem(NamedTuple):
    """One thing a flatten closes: a copy position (side "buy"/"sell") or a pending copy (side
    such as "buy limit"), with the slave's ticket."""

    symbol: str
    side: str
    volume: float
    ticket: int


def flatten_items(snapshot: Snapshot | None, *, magic: int, instance: str,
          left_shares: dict[str, dict[int, float]] | None = None) -> list[FlattenItem]:
    """What a flatten of a slave that holds ``snapshot`` closes. ``left_shares``: on a netting
    account, the shares of another master's copies kept open, by symbol (not this copier's to close)."""
    if snapshot is None:
        return []
    out: list[FlattenItem] = []
    left_shares = left_shares or {}
    for p in snapshot.positions:
        if p.deals is not None:
            # A netting position: only the part our tagged deals built is ours to close.
            left = left_shares.get(p.symbol, {})
            net = round(sum(v for t, v in netting_shares(p, magic, instance).items() if t not in left), 8)
            if abs(net) > 1e-9:
                out.append(FlattenItem(p.symbol, "buy" if net > 0 else "sell", abs(net), p.ticket))
        elif p.magic == magic and tags.is_ours(p.comment, instance):
            out.append(FlattenItem(p.symbol, p.side.value, p.volume, p.ticket))
    for o in snapshot.orders:
        if o.magic == magic and tags.is_ours(o.comment, instance):
            out.append(FlattenItem(o.symbol, o.kind.value.replace("_", " "), o.volume, o.ticket))
    return sorted(out, key=lambda i: (i.symbol, i.ticket))


def as_flattened(steps: list[Step]) -> list[Step]:
    """The exits of a flatten pass, each carrying the flatten as its reason (journaled with it)."""
    return [dataclasses.replace(s, reason=REASON) if isinstance(s, ReduceStep | NetStep | CancelStep) else s
            for s in steps]


def describe_items(found: list[FlattenItem]) -> str:
    """"EURUSD.m buy 0.50 #123, ..." for a journal line or a confirmation."""
    return ", ".join(f"{i.symbol} {i.side} {i.volume:g} #{i.ticket}" for i in found)
