"""The accounts table over ``core.view.accounts``: one row per linked account.

A slave's Copy cell calls ``set_copy_enabled`` and re-reads the view, so it shows the core's state.
Its Risk cell shows the risk gate's state; the dashboard's row menu resets a halt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QColor

from copier_gui.core.view import AccountRow
from copier_gui.ui import format as fmt
from copier_gui.ui import palette
from copier_gui.ui.models.base import CENTER, RIGHT, Column, Index, RowsTableModel

DRIFT_TEXT = {"ok": "Within limits", "warn": "Near limits", "bad": "Out of limits", "idle": "No copies yet"}
DRIFT_TIP = {
    "ok": "Recent copies are well inside this slave's latency and slippage tolerances.",
    "warn": "Recent copies used more than half of a tolerance, or a copy was refused.",
    "bad": "A tolerance was exceeded, or the account is not connected or cannot trade.",
    "idle": "Connected; nothing copied yet.",
}
_STATE_COLOUR = {"connected": "ok", "degraded": "warn", "disconnected": "bad", "connecting": "text_dim"}
RISK_TEXT = {"active": "Active", "reducing": "Exits only", "halted": "Halted"}
_RISK_COLOUR = {"reducing": "warn", "halted": "bad"}
# States a trader may reset from the window: a halt, and a hold or stop that only a reset lifts early.
RESETTABLE = frozenset({"reducing", "halted"})


def _risk_tip(row: AccountRow) -> str:
    if row.role != "slave":
        return ""
    if row.trading == "active":
        return "No risk limit is stopping new entries"
    reset = " Right-click the row to reset it." if row.trading in RESETTABLE else ""
    return f"{RISK_TEXT.get(row.trading, row.trading)}: {row.trading_detail}.{reset}"


def drift_colour(drift: str) -> str:
    return getattr(palette.current(), {"ok": "ok", "warn": "warn", "bad": "bad"}.get(drift, "idle"))


def _state_tip(row: AccountRow) -> str:
    return f"{row.state}: {row.detail}" if row.detail else row.state


# How the platforms are named where the accounts span more than one.
PLATFORM_NAMES = {"mt5": "MT5", "ctrader": "cTrader"}


def _account_text(r) -> str:
    return f"{r.id} · {PLATFORM_NAMES.get(r.platform, r.platform)}" if r.platform else r.id


def _account_tip(r) -> str:
    """Who the account is, whichever columns a narrow table has set aside."""
    platform = PLATFORM_NAMES.get(r.platform, r.platform)
    where = " · ".join(part for part in (platform, r.broker, r.server, f"login {r.login}" if r.login else "") if part)
    head = f"{r.id} ({r.role}{', ' + where if where else ''})"
    return f"{head}: {DRIFT_TEXT.get(r.drift, r.drift).lower()}" if r.role == "slave" else head


class AccountsModel(RowsTableModel):
    RISK = 10
    COPY = 11

    columns = (
        Column("Account", _account_text, decoration=lambda r: palette.dot_icon(drift_colour(r.drift)),
               tooltip=lambda r: _account_tip(r)),
        Column("Role", lambda r: r.role.capitalize(),
               foreground=lambda r: palette.current().color("accent") if r.role == "master" else None),
        Column("Broker", lambda r: r.broker or fmt.DASH, tooltip=lambda r: r.broker),
        Column("Server", lambda r: r.server or fmt.DASH, tooltip=lambda r: r.server),
        Column("Login", lambda r: fmt.login(r.login), RIGHT),
        Column("Connection", lambda r: r.state.capitalize(),
               foreground=lambda r: palette.current().color(_STATE_COLOUR.get(r.state, "text")),
               tooltip=_state_tip),
        Column("Balance", lambda r: fmt.money(r.balance, r.currency) if r.currency else fmt.DASH, RIGHT,
               tooltip=lambda r: f"balance {fmt.money(r.balance, r.currency)} {r.currency}" if r.currency else ""),
        Column("Equity", lambda r: fmt.money(r.equity, r.currency) if r.currency else fmt.DASH, RIGHT,
               tooltip=lambda r: f"equity {fmt.money(r.equity, r.currency)} {r.currency}" if r.currency else ""),
        Column("Ccy", lambda r: r.currency or fmt.DASH),
        Column("Drift", lambda r: DRIFT_TEXT.get(r.drift, r.drift) if r.role == "slave" else fmt.DASH,
               foreground=lambda r: palette.current().color("text_dim") if r.drift == "idle" else
               QColor(drift_colour(r.drift)),
               tooltip=lambda r: DRIFT_TIP.get(r.drift, "") if r.role == "slave" else "",
               header_tip="Execution drift against this slave's tolerances (latency and slippage)"),
        Column("Risk", lambda r: RISK_TEXT.get(r.trading, r.trading) if r.role == "slave" else fmt.DASH,
               foreground=lambda r: palette.current().color(_RISK_COLOUR[r.trading])
               if r.role == "slave" and r.trading in _RISK_COLOUR else None,
               tooltip=_risk_tip,
               header_tip="Risk limits: Active; Exits only (a limit stopped new entries); Halted (flattened, "
                          "until you reset it from the row's menu)"),
        Column("Copy", lambda r: "", CENTER,
               tooltip=lambda r: ("Copying new trades to this slave: click to stop (exits are still mirrored)"
                                  if r.copy_enabled else "Not copying new trades to this slave: click to resume")
               if r.role == "slave" else "The master's trades are the source; use Start/Stop copying for all",
               header_tip="Copy new trades to this slave; exits are always mirrored"),
    )

    def __init__(self, source: Callable[[], Sequence[AccountRow]] | None = None,
                 on_toggle: Callable[[str, bool], None] | None = None, parent=None) -> None:
        super().__init__(source, parent)
        self._on_toggle = on_toggle

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == self.COPY and self._rows[index.row()].role == "slave":
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def cells(self, row: AccountRow):
        out = super().cells(row)
        if row.role == "slave":
            out[self.COPY][int(Qt.ItemDataRole.CheckStateRole)] = (
                Qt.CheckState.Checked if row.copy_enabled else Qt.CheckState.Unchecked)
        return out

    def setData(self, index: Index, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.CheckStateRole or not index.isValid() or index.column() != self.COPY:
            return False
        row = self._rows[index.row()]
        if row.role != "slave" or self._on_toggle is None:
            return False
        enabled = value if isinstance(value, bool) else Qt.CheckState(value) == Qt.CheckState.Checked
        self._on_toggle(row.id, enabled)
        self.refresh()
        return True

    def copy_index(self, account_id: str) -> QModelIndex:
        for i, row in enumerate(self._rows):
            if row.id == account_id:
                return self.index(i, self.COPY)
        return QModelIndex()
