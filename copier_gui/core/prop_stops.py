"""A prop firm's "stop loss required" rule with ``close``: which copies must go because they still
carry no stop loss the firm's seconds after opening, and when the next one falls due.

Pure: the copier hands in the slave's positions and its plan, and takes the copies to close out of
the plan as refusals (so they are closed as exits, never blocked, and not copied again), then
looks again when the next copy's time is up. With ``add_stop`` the planner gives each copy a stop
of its own instead (core.planner), and nothing here applies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from copier_gui.core import tags
from copier_gui.core.model import Position
from copier_gui.core.planner import DesiredPosition
from copier_gui.core.prop_rules import StopLossAction, StopLossRequired


@dataclass(frozen=True, slots=True)
class Unprotected:
    to_close: dict[int, str]  # master ticket -> why its copy is closed
    next_due: float | None  # UTC seconds when the next copy without a stop falls due


def unprotected(rule: StopLossRequired | None, positions: Iterable[Position], desired: dict[int, DesiredPosition],
                *, magic: int, now: float, server_offset_s: float | None, first_seen: dict[int, float]) -> Unprotected:
    """Copies (ours by ``magic`` and tag) with no stop loss ``rule.within_s`` after opening, whose
    planned copy has none either: a stop the master set meanwhile is on its way and saves it.

    ``server_offset_s`` turns the broker's open times (trade-server time) into UTC; until it is
    known, a copy counts from when it was first seen without a stop (``first_seen``, by position
    ticket, kept by the caller and brought up to date here), which is never before it opened."""
    if rule is None or rule.action is not StopLossAction.CLOSE:
        first_seen.clear()
        return Unprotected({}, None)
    to_close: dict[int, str] = {}
    next_due: float | None = None
    bare = set()
    for p in positions:
        if p.magic != magic or p.sl:
            continue
        ticket = tags.master_ticket_of(p.comment)
        plan = desired.get(ticket) if ticket is not None else None
        if plan is None or plan.sl:
            continue
        bare.add(p.ticket)
        seen = first_seen.setdefault(p.ticket, now)
        opened = p.time_msc / 1000.0 - server_offset_s if server_offset_s is not None else seen
        due = min(opened, seen) + rule.within_s
        if now >= due:
            to_close[ticket] = (f"skipped: risk.prop.stop_loss: the copy had no stop loss within {rule.within_s:g} s "
                                "of opening, as this prop account requires (action close)")
        elif next_due is None or due < next_due:
            next_due = due
    for gone in set(first_seen) - bare:
        del first_seen[gone]
    return Unprotected(to_close, next_due)
