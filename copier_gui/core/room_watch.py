"""The 80% watch on a prop-firm profile's room left: says once when a limit is 80% used.

Fed a slave's ``RoomLeft`` on each pass, it returns the limits that have just crossed 80% used. A
limit crossed stays quiet until its share used falls back under 70% (so a loss that hovers around
80% is one alert, not one per pass) or a new trading day starts (so a slave still near its floor
hears it once each day). Pure: the copier journals and announces what it returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from copier_gui.core.prop_limits import DAILY_LOSS, MAX_LOSS

__all__ = ["NEAR_LIMIT", "REARM_AT", "WARN_AT", "Crossing", "Room", "RoomWatch", "countdown"]

WARN_AT = 0.8
REARM_AT = 0.7
# The ``state`` of the notice that announces a crossing, so alerts need not parse its text.
NEAR_LIMIT = "near_limit"


class Room(Protocol):
    """What the watch reads: a ``prop_limits.RoomLeft``, or a display's row with the same figures."""

    currency: str
    daily_limit: float | None
    daily_left: float | None
    daily_used: float | None
    next_reset: float
    reset_in_s: float
    floor: float | None
    to_floor: float | None
    max_loss_used: float | None


@dataclass(frozen=True, slots=True)
class Crossing:
    limit: str  # prop.daily_loss or prop.max_loss
    used: float  # the share used, 0.8 and up
    text: str


@dataclass
class RoomWatch:
    warn_at: float = WARN_AT
    rearm_at: float = REARM_AT
    _said: set[str] = field(default_factory=set)  # limits crossed and not yet re-armed
    _day: float | None = None  # the day's reset instant: a new one re-arms every limit

    def feed(self, room: Room | None) -> list[Crossing]:
        if room is None:
            return []
        if room.next_reset != self._day:
            self._day = room.next_reset
            self._said.clear()
        out = []
        for limit, used in ((DAILY_LOSS, room.daily_used), (MAX_LOSS, room.max_loss_used)):
            if used is None:
                continue
            if used < self.rearm_at:
                self._said.discard(limit)
            elif used >= self.warn_at and limit not in self._said:
                self._said.add(limit)
                out.append(Crossing(limit, used, _text(limit, used, room)))
        return out


def _text(limit: str, used: float, room: Room) -> str:
    ccy = room.currency
    if limit == DAILY_LOSS:
        return (f"prop-firm daily loss {used:.0%} used: {room.daily_left:,.2f} {ccy} left of the "
                f"{room.daily_limit:,.2f} {ccy} limit today (resets in {countdown(room.reset_in_s)})")
    return (f"prop-firm max loss {used:.0%} used: {room.to_floor:,.2f} {ccy} above the max-loss floor "
            f"{room.floor:,.2f} {ccy}")


def countdown(seconds: float) -> str:
    """A time to go as a trader says it: "3 h 12 m", "12 m 5 s", "42 s"."""
    s = max(int(seconds), 0)
    hours, rest = divmod(s, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} m"
    return f"{minutes} m {secs} s" if minutes else f"{secs} s"
