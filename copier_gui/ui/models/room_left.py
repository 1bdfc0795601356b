"""The room-left table: per slave with a prop-firm profile, what is left today and how much of it is
used, the time to the reset, the distance to the max-loss floor, the trading days and the gate's state.

Coloured by the share used, as the status page is: the theme's warning colour from 80% of either
limit, its danger colour at the limit. The words (the percentage, the state) say it too.
"""

from __future__ import annotations

from PySide6.QtCore import Qt

from copier_gui.core.room_watch import WARN_AT
from copier_gui.core.view import RoomLeftRow, describe_room
from copier_gui.ui import format as fmt
from copier_gui.ui import palette
from copier_gui.ui.models.base import RIGHT, Column, RowsTableModel

# The Used column's bar: (share used, level) for its delegate.
USED_ROLE = int(Qt.ItemDataRole.UserRole) + 1
_STATE_COLOUR = {"active": None, "reducing": "warn", "halted": "bad"}


def countdown(seconds: float) -> str:
    """To the reset, down to the second so a trader sees it move: "3 h 12 m 05 s"."""
    s = max(int(seconds), 0)
    hours, rest = divmod(s, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours} h {minutes:02d} m {secs:02d} s" if hours else f"{minutes} m {secs:02d} s"


def _money(value: float | None, row: RoomLeftRow) -> str:
    if value is None or not row.known:
        return fmt.DASH
    return f"{fmt.money(value, row.currency)} {row.currency}".rstrip()


def _share_colour(used: float | None):
    """Each figure in its own limit's colour: a daily loss near its limit says nothing of the floor."""
    if used is None or used < WARN_AT:
        return None
    return palette.current().color("bad" if used >= 1.0 else "warn")


def _used_text(row: RoomLeftRow) -> str:
    return fmt.DASH if row.used is None else f"{row.used:.0%}"


def _used_tip(row: RoomLeftRow) -> str:
    parts = []
    if row.daily_used is not None:
        parts.append(f"daily loss {row.daily_used:.0%} used")
    if row.max_loss_used is not None:
        parts.append(f"maximum loss {row.max_loss_used:.0%} used")
    return " · ".join(parts) + (" (the bar shows the nearer limit)" if len(parts) > 1 else "")


def _days(row: RoomLeftRow) -> str:
    if row.min_trading_days is None:
        return str(row.trading_days)
    return f"{row.trading_days} of {row.min_trading_days}"


def _state_colour(row: RoomLeftRow):
    name = _STATE_COLOUR.get(row.state)
    return palette.current().color(name) if name else None


class RoomLeftModel(RowsTableModel):
    SLAVE, LEFT, USED, RESET, FLOOR, DAYS, STATE = range(7)
    columns = (
        Column("Slave", lambda r: r.slave, tooltip=describe_room),
        Column("Left today", lambda r: _money(r.daily_left, r), RIGHT, foreground=lambda r: _share_colour(r.daily_used),
               tooltip=lambda r: None if r.daily_limit is None else f"of {_money(r.daily_limit, r)} today",
               header_tip="Money the slave may still lose today before its daily loss limit"),
        Column("Used", _used_text, RIGHT, tooltip=_used_tip,
               header_tip="Share of the nearer limit used: warning from 80%, danger at 100%"),
        Column("Reset in", lambda r: countdown(r.reset_in_s) if r.known else fmt.DASH, RIGHT,
               header_tip="Time to the firm's daily reset, in its own time zone"),
        Column("To the floor", lambda r: _money(r.to_floor, r), RIGHT,
               foreground=lambda r: _share_colour(r.max_loss_used),
               tooltip=lambda r: None if r.floor is None else f"max-loss floor at {_money(r.floor, r)}",
               header_tip="Equity above the maximum-loss floor"),
        Column("Days", _days, RIGHT, header_tip="Trading days done (days with a deal), of those the profile requires"),
        Column("Trading", lambda r: r.state, foreground=_state_colour, tooltip=lambda r: r.reason or None,
               header_tip="The risk gate: active, reducing (exits only) or halted"),
    )

    def key(self, row: RoomLeftRow) -> str:
        return row.slave

    def cells(self, row: RoomLeftRow):
        out = super().cells(row)
        out[self.USED][USED_ROLE] = (min(max(row.used or 0.0, 0.0), 1.0), row.level)
        return out
