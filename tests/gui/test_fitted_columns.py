"""Tables fit their panel: on a 1366x768 screen the accounts table's copy switch and mode, and the
positions' status, are in view without scrolling sideways; the header's menu shows any column."""

from __future__ import annotations

from copier_gui.ui.account_actions import ModeAccountsModel
from copier_gui.ui.models.accounts import AccountsModel


def _visible_right_edge(view, column: int) -> int:
    header = view.horizontalHeader() if hasattr(view, "horizontalHeader") else view.header()
    return header.sectionViewportPosition(column) + header.sectionSize(column)


def _fits(view, columns) -> bool:
    return all(_visible_right_edge(view, c) <= view.viewport().width() for c in columns)


def test_on_a_laptop_screen_the_copy_switch_and_mode_are_in_view(demo, qtbot):
    window, dashboard = demo.window, demo.dashboard
    accounts, positions = dashboard.accounts_view, dashboard.positions_view
    header = accounts.horizontalHeader()
    copy, mode = AccountsModel.COPY, len(ModeAccountsModel.columns) - 1
    window.resize(1366, 740)
    window.layout().activate()
    assert header.isSectionHidden(3)  # the server column stepped aside
    assert _fits(accounts, [copy, mode]), (accounts.viewport().width(), _visible_right_edge(accounts, mode),
                                           [(c, header.isSectionHidden(c), header.sectionSize(c))
                                            for c in range(accounts.model().columnCount())])
    assert not header.isSectionHidden(copy) and not header.isSectionHidden(5)  # connection stays
    # No empty header strip after the last column: the mode fills what the hidden ones left.
    assert _visible_right_edge(accounts, mode) >= accounts.viewport().width() - 1
    status = positions.model().columnCount() - 1
    assert _fits(positions, [status])
    # What stepped aside is one hover away: the account's broker, server and login, its currency.
    from PySide6.QtCore import Qt

    model = dashboard.accounts_model
    model.refresh()  # the rows as the copier has them now that it is connected
    row = [r.id for r in model.rows()].index("slave-3")
    tip = model.index(row, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("slave-3 (slave, MT5 · Summit Securities") and "login 7000003" in tip, tip
    assert model.index(row, 6).data(Qt.ItemDataRole.ToolTipRole).endswith("JPY")
    ctrader = model.index([r.id for r in model.rows()].index("slave-2"), 0).data(Qt.ItemDataRole.ToolTipRole)
    assert ctrader.startswith("slave-2 (slave, cTrader · Lumen Prime Ltd"), ctrader


def test_columns_step_aside_in_order_and_come_back_as_the_view_widens(qtbot):
    from PySide6.QtGui import QStandardItemModel
    from PySide6.QtWidgets import QTableView

    from copier_gui.ui.fitted_columns import FittedColumns

    model = QStandardItemModel(2, 5)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.verticalHeader().hide()
    fitted = FittedColumns(view, {c: 100 for c in range(5)}, optional=[3, 1])
    view.resize(560, 200)
    view.show()
    header = view.horizontalHeader()
    qtbot.waitUntil(lambda: view.viewport().width() >= 500)
    assert [header.isSectionHidden(c) for c in range(5)] == [False, False, False, False, False]
    view.resize(460, 200)
    qtbot.waitUntil(lambda: header.isSectionHidden(3))
    assert not header.isSectionHidden(1)  # one column out was enough
    view.resize(340, 200)
    qtbot.waitUntil(lambda: header.isSectionHidden(1))
    assert fitted.fit() == [3, 1]
    view.resize(600, 200)
    qtbot.waitUntil(lambda: not header.isSectionHidden(3))
    assert not header.isSectionHidden(1)


def test_the_header_menu_shows_a_column_whatever_the_width(demo, qtbot):
    window, dashboard = demo.window, demo.dashboard
    header = dashboard.accounts_view.horizontalHeader()
    window.resize(1366, 740)
    window.layout().activate()
    assert header.isSectionHidden(3)
    menu = dashboard.accounts_columns.menu()
    server = next(a for a in menu.actions() if a.text() == "Server")
    assert not server.isChecked()
    server.trigger()  # the trader wants it: shown even though it is narrow
    assert not header.isSectionHidden(3)
    dashboard.accounts_columns.forget_choices()
    assert header.isSectionHidden(3)
