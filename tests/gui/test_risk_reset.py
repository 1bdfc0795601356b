"""The window's risk reset: the Risk cell shows a halt, the row menu offers a reset, a confirmation guards it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from copier_gui.core.risk import TradingState
from copier_gui.core.rules import CopyRules, Limit, LimitAction, Risk
from copier_gui.ui.models import AccountsModel
from tests.gui.conftest import dispose, until


def _risk_cell(dashboard, slave_id: str) -> str:
    model = dashboard.accounts_model
    row = next(i for i, r in enumerate(model.rows()) if r.id == slave_id)
    return model.index(row, AccountsModel.RISK).data()


def _reset_action(dashboard, slave_id: str):
    menu = dashboard.account_menu(slave_id)
    action = next(a for a in menu.actions() if a.text().startswith("Reset risk halt"))
    return menu, action


def test_a_halted_slave_is_shown_and_reset_from_its_row_menu_after_confirmation(demo, run, qtbot):
    d, copier = demo.dashboard, demo.copier
    halting = CopyRules(risk=Risk(daily_loss=Limit(value=1, action=LimitAction.FLATTEN)))
    copier.set_rules("slave-1", halting)
    notices = []
    copier.subscribe(notices.append)
    assert _risk_cell(d, "slave-1") == "Active"
    menu, action = _reset_action(d, "slave-1")
    assert not action.isEnabled(), "nothing to reset while active"
    dispose(menu)

    async def halt():
        ticket = demo.trade("EURUSD", 1.0)
        # The spread's loss breaches 1 unit; the next periodic pass halts and flattens slave-1.
        await until(lambda: _risk_cell(d, "slave-1") == "Halted", timeout=20, what="the halt")
        demo.close(ticket)
        await until(lambda: not demo.slave_positions("slave-1"), what="the flatten")

    run(halt)
    model = d.accounts_model
    row = next(i for i, r in enumerate(model.rows()) if r.id == "slave-1")
    assert "daily loss" in model.index(row, AccountsModel.RISK).data(Qt.ItemDataRole.ToolTipRole)
    assert _risk_cell(d, "slave-2") == "Active"
    menu, action = _reset_action(d, "slave-1")
    assert action.isEnabled()
    dispose(menu)

    async def answer():
        # Clicked on the running loop, as in the app: the reset starts a pass at once.
        box = d.reset_risk("slave-1")
        assert box.isVisible(), "opened with open(), answered through finished"
        assert "Reset the risk state of slave-1?" in box.text()
        assert "daily loss" in box.informativeText() and "journaled" in box.informativeText()
        box.button(QMessageBox.StandardButton.Cancel).click()
        assert copier.slaves["slave-1"].risk_gate.state is TradingState.HALTED, "Cancel changes nothing"

        box = d.reset_risk("slave-1")
        box.button(QMessageBox.StandardButton.Yes).click()
        assert copier.slaves["slave-1"].risk_gate.state is TradingState.ACTIVE
        assert _risk_cell(d, "slave-1") == "Active"

    run(answer)
    resets = [n.text for n in notices if n.kind == "state" and n.text.startswith("risk reset for slave-1")]
    assert len(resets) == 1 and "by the window: halt lifted (daily_loss" in resets[0]
    assert copier.risk_store.load("slave-1").resets == 1
