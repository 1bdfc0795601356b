"""The trade ticket: a trader who linked demo-broker accounts by hand trades the simulated master
from the window, and the running copier copies each trade to the slave."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QItemSelectionModel, Qt
from PySide6.QtWidgets import QWidget

from copier_gui.paths import user_paths
from copier_gui.settings import AccountSettings, Settings
from copier_gui.ui.session import SettingsStore
from copier_gui.ui.ticket_model import REAL_MASTER
from copier_gui.ui.trade_ticket import TicketUnavailable, TradeTicket, TradeTicketLauncher
from tests.gui.conftest import WeekdayClock, dispose, until

MASTER = AccountSettings(id="master", role="master", platform="demo", demo_profile="meridian_ecn")
SLAVE = AccountSettings(id="harbor", role="slave", platform="demo", demo_profile="harbor_fx")


def linked_session(tmp_path, master: AccountSettings = MASTER):
    """The accounts as the wizard saves demo-broker accounts linked by hand."""
    store = SettingsStore(user_paths(tmp_path / "home"))
    store.settings = Settings(accounts=[master, SLAVE])
    return store.session(WeekdayClock())


@pytest.fixture
def session(qapp, loop, run, tmp_path):
    """A started copier on a simulated master and slave, terminals on worker threads."""
    session = linked_session(tmp_path)

    async def start():
        await session.begin()
        await until(lambda: session.copier.master_symbols, what="the master's symbols")

    run(start)
    try:
        yield session
    finally:
        run(session.shutdown)


@pytest.fixture
def ticket(session, qtbot):
    ticket = TradeTicket(session)
    ticket.open()
    try:
        yield ticket
    finally:
        dispose(ticket)


def terminal(session, account_id: str):
    return session.runtime.connections[account_id].api


def positions(session, account_id: str) -> list:
    return list(terminal(session, account_id).positions_get() or ())


def click(qtbot, button) -> None:
    assert button.isEnabled(), f"{button.text()} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def busy_buttons(ticket) -> list[bool]:
    return [b.isEnabled() for b in (ticket.buy_button, ticket.sell_button, ticket.modify_button, ticket.close_button)]


def test_buy_modify_and_close_from_the_ticket_are_copied_to_the_slave(session, ticket, qtbot, run, model_check):
    model_check(ticket.positions_model)
    assert not ticket.isModal()
    assert "meridian_ecn" not in ticket.windowTitle() and "Meridian Markets Ltd" in ticket.windowTitle()

    async def script():
        await until(lambda: ticket.symbol_box.count() > 0, what="the symbols")
        ticket.symbol_box.setCurrentText("EURUSD")
        await until(lambda: "min 0.01, step 0.01, max 500" in ticket.limits_label.text(), what="the lot limits")
        await until(lambda: "Bid" in ticket.quote_label.text(), what="the quote")
        ticket.volume_edit.setText("0.1")

        # Buy: every trading button waits while the request is at the broker.
        click(qtbot, ticket.buy_button)
        assert busy_buttons(ticket) == [False, False, False, False]
        await until(lambda: not ticket.busy, what="the buy's answer")
        assert ticket.answer.text().startswith("Buy 0.1 EURUSD: ticket "), ticket.answer.text()
        assert "Filled by Meridian Markets Ltd" in ticket.answer.text()
        (master,) = positions(session, "master")
        assert (master.volume, master.magic, master.comment) == (0.1, 0, "")
        assert f"ticket {master.ticket} at " in ticket.answer.text()
        await until(lambda: len(positions(session, "harbor")) == 1, what="the slave's copy")
        (copy,) = positions(session, "harbor")
        assert copy.symbol == "EURUSD.m" and copy.sl == 0.0

        # The master's position is listed; select it and set a stop loss.
        await until(lambda: ticket.positions_model.rowCount() == 1, what="the position in the list")
        assert ticket.positions_model.row_at(0).id == master.ticket
        ticket.positions_view.selectionModel().select(
            ticket.positions_model.index(0, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        assert ticket.selected_ticket() == master.ticket
        sl = round(master.price_open - 0.0050, 5)
        ticket.sl_stop_edit.setText(f"{sl:.5f}")
        click(qtbot, ticket.modify_button)
        assert busy_buttons(ticket) == [False, False, False, False]
        await until(lambda: not ticket.busy, what="the modify's answer")
        assert ticket.answer.text().startswith(f"Stops of ticket {master.ticket}: SL {sl:.5f}, no TP"), \
            ticket.answer.text()
        assert positions(session, "master")[0].sl == sl
        # The copy's stop follows, at the slave's own quote (two points off the master's).
        await until(lambda: positions(session, "harbor")[0].sl != 0.0, what="the copy's stop loss")
        assert abs(positions(session, "harbor")[0].sl - sl) < 0.0005

        # Close it all: the copy is closed too.
        click(qtbot, ticket.close_button)
        await until(lambda: not ticket.busy, what="the close's answer")
        assert ticket.answer.text().startswith(f"Close 0.1 of ticket {master.ticket}: at "), ticket.answer.text()
        assert positions(session, "master") == []
        await until(lambda: positions(session, "harbor") == [], what="the copy closed")
        await until(lambda: ticket.positions_model.rowCount() == 0, what="the list emptied")

    run(script)


def test_sell_then_close_part_of_it(session, ticket, qtbot, run):
    async def script():
        await until(lambda: ticket.symbol_box.count() > 0, what="the symbols")
        ticket.symbol_box.setCurrentText("GBPUSD")
        ticket.volume_edit.setText("0.5")
        await until(lambda: ticket.sell_button.isEnabled(), what="the ticket ready")
        click(qtbot, ticket.sell_button)
        await until(lambda: not ticket.busy, what="the sell's answer")
        assert ticket.answer.text().startswith("Sell 0.5 GBPUSD: ticket "), ticket.answer.text()
        await until(lambda: ticket.positions_model.rowCount() == 1, what="the position in the list")
        ticket.positions_view.selectRow(0)
        assert ticket.close_volume_edit.placeholderText() == "all 0.5"
        ticket.close_volume_edit.setText("0.6")
        assert ticket.position_error.text() == "Close volume: 0.6 lots is more than the position's 0.5"
        click(qtbot, ticket.close_button)
        await until(lambda: not ticket.busy, what="the close's check")
        assert ticket.position_error.text().startswith("Close volume: 0.6 lots")
        assert positions(session, "master")[0].volume == 0.5, "nothing was sent"
        ticket.close_volume_edit.setText("0.2")
        assert ticket.position_error.text() == ""
        click(qtbot, ticket.close_button)
        await until(lambda: not ticket.busy, what="the close's answer")
        assert positions(session, "master")[0].volume == 0.3
        await until(lambda: [p.volume for p in positions(session, "harbor")] == [0.3], what="the copy reduced")

    run(script)


def test_an_invalid_volume_shows_the_error_and_sends_nothing(session, ticket, qtbot, run):
    async def script():
        await until(lambda: ticket.symbol_box.count() > 0, what="the symbols")
        ticket.symbol_box.setCurrentText("EURUSD")
        await until(lambda: "step 0.01" in ticket.limits_label.text(), what="the lot limits")
        ticket.volume_edit.setText("0.015")
        # Said as it is typed, naming the field and the symbol's limits.
        assert ticket.order_error.text() == ("Volume: 0.015 lots is not a multiple of EURUSD's lot step 0.01 "
                                             "(minimum 0.01, maximum 500)")
        assert ticket.volume_edit.property("invalid") is True
        click(qtbot, ticket.buy_button)
        assert not ticket.busy, "nothing went to the broker"
        assert ticket.order_error.text().startswith("Volume: 0.015 lots")
        await asyncio.sleep(0.2)
        master = terminal(session, "master")
        now = int(session.runtime.copier.clock.time())
        assert master.history_orders_total(now - 86400, now + 86400) == 0 and positions(session, "master") == []
        ticket.volume_edit.setText("0.02")
        assert ticket.order_error.text() == "" and ticket.volume_edit.property("invalid") is False

    run(script)


def test_a_real_master_gets_no_ticket_and_the_reason(qapp, tmp_path, qtbot):
    session = linked_session(tmp_path, AccountSettings(id="live", role="master", platform="mt5_bridge",
                                                       login=5001, server="Broker-Live"))
    window = QWidget()
    qtbot.addWidget(window)
    try:
        with pytest.raises(TicketUnavailable, match=REAL_MASTER):
            TradeTicket(session)
        launcher = TradeTicketLauncher(window)
        launcher.set_session(session)
        assert not launcher.action.isEnabled()
        assert launcher.action.toolTip() == "The master is a real account: trade it in its own terminal"
        assert launcher.action.statusTip() == launcher.action.toolTip()
        assert launcher.open() is None and launcher.ticket is None
    finally:
        session.runtime.close()


def test_the_launcher_opens_one_ticket_per_session(session, qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    launcher = TradeTicketLauncher(window)
    assert not launcher.action.isEnabled()  # no session yet
    launcher.set_session(session)
    assert launcher.action.isEnabled() and launcher.action.text() == "&Trade the demo master…"
    launcher.action.trigger()
    ticket = launcher.ticket
    assert isinstance(ticket, TradeTicket) and ticket.isVisible() and not ticket.isModal()
    assert launcher.open() is ticket, "one ticket, raised again"
    launcher.set_session(None)
    assert launcher.ticket is None and not ticket.isVisible() and not launcher.action.isEnabled()


def test_a_ticket_dropped_with_a_request_in_flight_lets_the_order_stand(session, qtbot, run, loop):
    errors: list = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    window = QWidget()
    qtbot.addWidget(window)
    launcher = TradeTicketLauncher(window)
    launcher.set_session(session)
    ticket = launcher.open()

    async def script():
        await until(lambda: ticket.symbol_box.count() > 0 and "Bid" in ticket.quote_label.text(), what="the quote")
        ticket.volume_edit.setText("0.1")
        click(qtbot, ticket.buy_button)
        launcher.set_session(None)  # the window dropped the session: the ticket goes at once
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        await until(lambda: len(positions(session, "master")) == 1, what="the order at the master")
        await until(lambda: len(positions(session, "harbor")) == 1, what="the slave's copy")
        await asyncio.sleep(0.1)

    run(script)
    assert errors == []
