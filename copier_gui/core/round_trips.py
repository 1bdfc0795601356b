"""Master positions opened and closed while no copier watched the master, read from its deals.

A copier that was not running (or had lost the master) sees neither the open nor the close of a
position that lived only in that time: no snapshot ever held it, so no event names it, and no
slave journals why it has no copy. The master's deals still show it: a position whose deals since
some moment sum to nothing was opened and closed after that moment (had it been open before, its
earlier volume would be left over).
"""

from __future__ import annotations

from dataclasses import dataclass

from copier_gui.core.model import Deal, Side


@dataclass(frozen=True, slots=True)
class RoundTrip:
    ticket: int  # the position's id, which names a master position everywhere in the copier
    symbol: str
    side: Side
    volume: float  # the most it held on that side
    opened_msc: int  # the platform's trade time, as the deals give it
    closed_msc: int
    # A netting position that reversed in place before it closed: each later side, with the most it
    # held there.
    reversals: tuple[tuple[Side, float], ...] = ()

    def describe(self, *, units: bool = False) -> str:
        amount = f"{self.volume:g} units of" if units else f"{self.volume:g}"
        text = f"{self.side.value} {amount} {self.symbol or 'an unnamed symbol'}".replace("  ", " ")
        return text + "".join(f", reversed to {side.value} {volume:g}" for side, volume in self.reversals)


def round_trips(deals: tuple[Deal, ...] | list[Deal]) -> list[RoundTrip]:
    """Each position whose deals here open and close it completely, oldest first."""
    by_position: dict[int, list[Deal]] = {}
    for deal in deals:
        if deal.position_id:
            by_position.setdefault(deal.position_id, []).append(deal)
    found = []
    for ticket, held in by_position.items():
        held.sort(key=lambda d: d.time_msc)
        net = 0.0
        legs: list[list] = []  # [side, the most held on it], a new one each time the side flips
        for deal in held:
            net += deal.side.sign * deal.volume
            if abs(net) <= 1e-12:
                continue
            side = Side.BUY if net > 0 else Side.SELL
            if not legs or legs[-1][0] is not side:
                legs.append([side, 0.0])
            legs[-1][1] = max(legs[-1][1], abs(net))
        peak = max((volume for _, volume in legs), default=0.0)
        # Volumes are lot fractions in floats: what is left of a full close is rounding, not a lot.
        if peak <= 0 or abs(net) > peak * 1e-9:
            continue
        first = held[0]
        found.append(RoundTrip(ticket, first.symbol, legs[0][0], round(legs[0][1], 8), first.time_msc,
                               held[-1].time_msc, tuple((side, round(volume, 8)) for side, volume in legs[1:])))
    return sorted(found, key=lambda r: (r.opened_msc, r.ticket))
