"""Linking another account while the copier runs: a master and a slave are linked and copying,
and the wizard, open beside them, adds a third account without stopping anything."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget, QWizard

from copier_gui import secrets
from copier_gui.demo.session import demo_session
from copier_gui.paths import user_paths
from copier_gui.ui.wizard import LinkAccountWizard
from tests.gui.conftest import WeekdayClock, until

PASSWORD = "N3w-slave-pw"
W = LinkAccountWizard


@pytest.fixture
def copying(loop, run, tmp_path):
    """A running demo copier with two accounts, master and slave-1; the test trades the master."""
    session = demo_session(1, user_paths(tmp_path / "home"), clock=WeekdayClock(), inline=True, trade=False)

    async def start():
        await session.begin()

    run(start)
    try:
        yield session
    finally:
        run(session.shutdown)


def buy(terminal, symbol: str, volume: float) -> None:
    tick = terminal.symbol_info_tick(symbol)
    result = terminal.order_send({"action": terminal.TRADE_ACTION_DEAL, "symbol": symbol, "volume": volume,
                                  "type": terminal.ORDER_TYPE_BUY, "price": tick.ask, "deviation": 50,
                                  "type_filling": terminal.ORDER_FILLING_IOC, "magic": 11})
    assert result.retcode == terminal.TRADE_RETCODE_DONE, result


def click_next(wizard) -> None:
    button = wizard.button(QWizard.WizardButton.NextButton)
    assert button.isEnabled(), f"Next is not available on page {wizard.currentId()}"
    button.click()


def test_a_third_account_is_linked_beside_two_while_they_copy(copying, qtbot, run):
    accounts = copying.runtime.settings.accounts
    assert [a.id for a in accounts] == ["master", "slave-1"]
    master = copying.rig.master.terminal
    slave = copying.rig.slaves[0].terminal
    symbols = [s.name for s in master.symbols_get()]
    window = QWidget()  # the main window, whose global switch must stay in reach
    qtbot.addWidget(window)
    window.show()
    # The wizard's connection test opens its demo account on the copier's (weekday) clock, so the
    # test does not depend on the day it runs.
    wizard = LinkAccountWizard(window, accounts=accounts, master_symbols=symbols, discover=lambda: [],
                               clock=copying.copier.clock)
    linked = []
    wizard.accountLinked.connect(linked.append)
    wizard.open()
    assert wizard.isVisible()
    assert wizard.windowModality() == Qt.WindowModality.NonModal
    assert QApplication.activeModalWidget() is None

    async def steps():
        wizard.platform_page.buttons["demo"].setChecked(True)
        click_next(wizard)
        # The same broker as slave-1: the demo broker opens a new account, not slave-1's again.
        wizard.terminal_page.panel.select_profile("harbor_fx")
        click_next(wizard)
        page = wizard.login_page
        assert int(page.login.text()) != accounts[1].login
        page.password.setText(PASSWORD)
        click_next(wizard)
        # While the connection test runs, the master trades and slave-1 copies it.
        buy(master, "EURUSD", 0.3)
        await until(wizard.test_page.isComplete, what="the connection test")
        # Generous: on a loaded CI machine the copier's real-time loop shares the CPU with the wizard's test.
        await until(lambda: any(p.symbol == "EURUSD.m" for p in slave.positions_get() or ()), timeout=45.0,
                    what="slave-1 to copy the master's trade")
        click_next(wizard)
        role = wizard.role_page
        assert role.slave.isChecked() and role.rules_box.isVisible()
        assert role.table.rowCount() == len(symbols)
        # Choosing master while one is linked says how the master is changed, and not "unlink".
        role.master.setChecked(True)
        click_next(wizard)
        assert wizard.currentId() == W.ROLE_PAGE
        assert "'master' is already the master" in role.error.text()
        assert '"Set as master" in the accounts menu' in role.error.text()
        assert "unlink" not in role.error.text().lower()
        role.slave.setChecked(True)
        role.account_id.setText("slave-1")
        click_next(wizard)
        assert "already linked" in role.error.text()
        role.account_id.setText("harbor-2")
        click_next(wizard)
        assert wizard.currentId() == W.FINISH_PAGE
        wizard.button(QWizard.WizardButton.FinishButton).click()
        await until(lambda: not wizard.isVisible())

    run(steps)
    (account,) = linked
    assert (account.id, account.role, account.demo_profile) == ("harbor-2", "slave", "harbor_fx")
    assert account.login != accounts[1].login
    assert secrets.get_password(f"{account.server}:{account.login}") == PASSWORD


def test_beside_a_master_not_connected_the_preview_says_it_waits_for_it(qtbot, run, weekday_clock):
    from copier_gui.settings import AccountSettings

    master = AccountSettings(id="main", role="master", platform="demo", demo_profile="meridian_ecn",
                             login=7_000_000, server="MeridianMarkets-Demo")
    wizard = LinkAccountWizard(None, accounts=[master], clock=weekday_clock, discover=lambda: [])
    qtbot.addWidget(wizard)
    wizard.open()

    async def steps():
        click_next(wizard)
        click_next(wizard)
        wizard.login_page.password.setText(PASSWORD)
        click_next(wizard)
        await until(wizard.test_page.isComplete, what="the connection test")
        click_next(wizard)
        role = wizard.role_page
        assert role.slave.isChecked()
        assert "not known yet" in role.symbols_note.text()
        assert "Link the master first" not in role.symbols_note.text()

    run(steps)
