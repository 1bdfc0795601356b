"""The accounts table's row menu and its confirmations: a slave's mode (copying, close-only,
paused), resync, flatten (one slave or all), risk reset, and the account actions the app carries
out (link, edit, reconnect, set as master, remove).

The dashboard owns the signals; this module builds the menu and the non-modal questions (opened
with ``open()``, answered through ``finished``) and calls the copier or emits a signal.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QMessageBox, QWidget

from copier_gui.core.copier import Copier, SlaveMode
from copier_gui.core.flatten import FlattenItem
from copier_gui.core.view import AccountRow
from copier_gui.ui import palette
from copier_gui.ui.models.accounts import RESETTABLE, AccountsModel
from copier_gui.ui.models.base import Column

# The functions below take the Dashboard (its copier, accounts model, signals and dialogs); it is
# named QWidget here because the dashboard imports this module, and the ui layer has no cycles.
Dashboard = QWidget

MODE_TIP = {
    "copying": "Copying: new trades and every exit are mirrored to this slave",
    "close_only": "Close-only: no new entries; exits and partial closes are still mirrored",
    "paused": "Paused: nothing is sent to this slave; every master change it misses is journaled, and "
              "choosing Copying or Close-only brings it back with a full pass",
}
_MODE_COLOUR = {"close_only": "warn", "paused": "bad"}


@dataclass(frozen=True, slots=True)
class ModeRow(AccountRow):
    """An accounts row with the slave's mode ("" for the master)."""

    mode: str = ""


def rows_with_mode(rows: list[AccountRow], copier: Copier) -> list[ModeRow]:
    out = []
    for row in rows:
        link = copier.slaves.get(row.id) if row.role == "slave" else None
        out.append(ModeRow(**{f.name: getattr(row, f.name) for f in fields(AccountRow)},
                           mode=link.mode.value if link is not None else ""))
    return out


class ModeAccountsModel(AccountsModel):
    """The accounts table with each slave's mode in a last column."""

    MODE = len(AccountsModel.columns)
    columns = (*AccountsModel.columns, Column(
        "Mode", lambda r: SlaveMode(r.mode).label if r.mode else "",
        foreground=lambda r: palette.current().color(_MODE_COLOUR[r.mode]) if r.mode in _MODE_COLOUR else None,
        tooltip=lambda r: MODE_TIP.get(r.mode, ""),
        header_tip="Copying, close-only (exits only) or paused (nothing sent); change it from the row's menu"))


def build_menu(dashboard: Dashboard, account_id: str) -> QMenu:
    """The row menu of ``account_id``: every per-slave control, then the account's own actions."""
    copier = dashboard.copier
    menu = QMenu(dashboard)
    link = copier.slaves.get(account_id)
    if link is not None:
        row = next(r for r in dashboard.accounts_model.rows() if r.id == account_id)
        menu.addAction(f"Edit rules for {account_id}…", lambda: dashboard.edit_rules(account_id))
        resync = menu.addAction(f"Resync {account_id} now", lambda: copier.resync(account_id, by="the window"))
        resync.setToolTip("Read what this slave holds from its broker and bring it to the master's positions "
                          "now, not at the next periodic pass")
        menu.addSeparator()
        group = QActionGroup(menu)
        group.setExclusive(True)
        for mode in SlaveMode:
            action = QAction(mode.label, menu)
            action.setCheckable(True)
            action.setChecked(link.mode is mode)
            action.setToolTip(MODE_TIP[mode.value])
            action.triggered.connect(lambda _checked=False, m=mode: dashboard.set_mode(account_id, m))
            group.addAction(action)
            menu.addAction(action)
        menu.addAction(f"Flatten {account_id}…", lambda: dashboard.flatten([account_id]))
        menu.addAction("Flatten all slaves…", lambda: dashboard.flatten(list(copier.slaves)))
        menu.addSeparator()
        reset = menu.addAction(f"Reset risk halt for {account_id}…", lambda: dashboard.reset_risk(account_id))
        reset.setEnabled(row.trading in RESETTABLE)
        reset.setToolTip(row.trading_detail or "No risk limit is holding this slave")
        menu.addSeparator()
    menu.addAction("Link another account…", dashboard.linkAccountRequested.emit)
    menu.addAction(f"Edit {account_id}…", lambda: dashboard.editAccountRequested.emit(account_id))
    if link is not None:
        menu.addAction(f"Reconnect {account_id}", lambda: dashboard.reconnectRequested.emit(account_id))
        menu.addAction(f"Set {account_id} as master…", lambda: dashboard.setMasterRequested.emit(account_id))
        menu.addAction(f"Remove {account_id}…", lambda: dashboard.remove_account(account_id))
    for action in menu.actions():
        action.setMenuRole(QAction.MenuRole.NoRole)
    menu.setToolTipsVisible(True)
    return menu


def _listed(items: list[FlattenItem]) -> str:
    return "\n".join(f"  {i.symbol}  {i.side}  {i.volume:g}  (#{i.ticket})" for i in items)


def flatten_box(dashboard: Dashboard, slave_ids: list[str]) -> QMessageBox:
    """The question before a flatten, naming each position that closes; on Flatten the copier
    flattens each slave (close-only first) and the dashboard says so with ``modeChanged``."""
    copier = dashboard.copier
    found = {sid: copier.flatten_preview(sid) for sid in slave_ids}
    total = sum(len(v) for v in found.values())
    who = slave_ids[0] if len(slave_ids) == 1 else "all slaves"
    if total == 0:
        box = QMessageBox(QMessageBox.Icon.Information, "Flatten", f"Nothing to close at {who}",
                          QMessageBox.StandardButton.Ok, dashboard)
        box.setInformativeText("No copy made by this copier is open there (as last read from the broker). "
                               "Nothing was changed.")
        box.finished.connect(lambda _r: box.deleteLater())
        box.open()
        return box
    box = QMessageBox(QMessageBox.Icon.Warning, "Flatten",
                      f"Flatten {who}: close {total} position{'s' if total != 1 else ''} at market?",
                      QMessageBox.StandardButton.Cancel, dashboard)
    parts = []
    for sid, items in found.items():
        if items:
            parts.append(f"{sid} ({len(items)}):\n{_listed(items)}")
    box.setInformativeText(
        "\n\n".join(parts) + "\n\nEach slave is set to close-only first, so nothing opens them again. Only "
        "this copier's copies close; the account's own trades and other copiers' are not touched. Each "
        "close is journaled.")
    go = box.addButton("Flatten", QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.finished.connect(lambda _r: _flatten_answered(dashboard, slave_ids, box.clickedButton() is go, box))
    box.open()
    return box


def _flatten_answered(dashboard: Dashboard, slave_ids: list[str], confirmed: bool, box: QMessageBox) -> None:
    box.deleteLater()
    if not confirmed:
        return
    for sid in slave_ids:
        if sid in dashboard.copier.slaves:
            dashboard.copier.flatten(sid, by="the window")
            dashboard.modeChanged.emit(sid, SlaveMode.CLOSE_ONLY.value)
    dashboard.accounts_model.refresh()


def remove_box(dashboard: Dashboard, slave_id: str) -> QMessageBox:
    """"Remove X: keep its N copies open (no longer managed) or close them?" — Keep, Close them or
    Cancel; the answer goes out as ``removeAccountRequested(X, close_them)``."""
    items = dashboard.copier.flatten_preview(slave_id)
    count = f"{len(items)} cop{'y' if len(items) == 1 else 'ies'}"
    box = QMessageBox(QMessageBox.Icon.Question, "Remove account",
                      f"Remove {slave_id}: keep its {count} open (no longer managed) or close them?",
                      QMessageBox.StandardButton.Cancel, dashboard)
    box.setInformativeText(
        (f"{_listed(items)}\n\n" if items else "It holds no copy of this copier now.\n\n")
        + "Kept copies stay open at the broker and are no longer copied, closed or resized by this copier; "
        "their tickets are journaled.")
    keep = box.addButton("Keep", QMessageBox.ButtonRole.AcceptRole)
    close = box.addButton("Close them", QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)

    def answered(_result) -> None:
        box.deleteLater()
        clicked = box.clickedButton()
        if clicked is keep or clicked is close:
            dashboard.removeAccountRequested.emit(slave_id, clicked is close)

    box.finished.connect(answered)
    box.open()
    return box
