"""The trade ticket: buy, sell, move stops and close on a simulated (demo-broker) master, so a
trader who linked demo accounts by hand can try copying without an expert trading the master.

Orders go through the master's connector as the trader's own (no copier tag), and the running
copier copies them like any trade made in the terminal. A real master gets no ticket. Open it
with ``open()``: it is not modal, so the window and its kill switch stay in reach.

In a window: ``launcher = TradeTicketLauncher(window)``, put ``launcher.action`` in a menu, and call
``launcher.set_session(session)`` whenever the window attaches (or drops) a session.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from copier_gui.assembly import broker_name
from copier_gui.core.model import Side, SymbolSpec, TradeMode
from copier_gui.ui import format as fmt
from copier_gui.ui import palette
from copier_gui.ui.models.base import RIGHT, Column, RowsTableModel
from copier_gui.ui.session import Session
from copier_gui.ui.ticket_model import (
    Answer,
    MasterDesk,
    PositionRow,
    TicketError,
    check_stops,
    parse_close_volume,
    parse_stop,
    parse_volume,
    position_rows,
    volume_hint,
    why_no_ticket,
)
from copier_gui.ui.widgets import quiet_view, set_widths

log = logging.getLogger(__name__)

# Positions and the quote are re-read this often while the ticket is shown: a manual ticket needs
# no faster, and the quote costs one call on the master's terminal.
REFRESH_MS = 250
QUOTE_EVERY = 4  # refreshes: a fresh quote each second


class TicketUnavailable(Exception):
    """The session's master may not be traded from the window; the message says why."""


def _side_colour(row: PositionRow):
    return palette.current().color("buy" if row.position.side is Side.BUY else "sell")


def _price(row: PositionRow, value: float) -> str:
    return fmt.price(value, row.digits)


class MasterPositionsModel(RowsTableModel):
    """The master's open positions, from the copier's latest snapshot of it."""

    columns = (
        Column("Ticket", lambda r: str(r.position.ticket), RIGHT),
        Column("Symbol", lambda r: r.position.symbol),
        Column("Side", lambda r: r.position.side.value.capitalize(), foreground=_side_colour),
        Column("Volume", lambda r: fmt.volume(r.position.volume), RIGHT),
        Column("Open price", lambda r: _price(r, r.position.price_open), RIGHT),
        Column("SL", lambda r: _price(r, r.position.sl), RIGHT),
        Column("TP", lambda r: _price(r, r.position.tp), RIGHT),
        Column("Price", lambda r: _price(r, r.position.price_current), RIGHT),
        Column("Profit", lambda r: fmt.money_signed(r.position.profit), RIGHT,
               foreground=lambda r: palette.current().color("ok" if r.position.profit >= 0 else "bad")),
    )


class TradeTicket(QDialog):
    """A market-order ticket and a positions list for the session's simulated master.

    Raises TicketUnavailable (with the reason) for a real master: this window never trades one.
    """

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        reason = why_no_ticket(session)
        if reason:
            raise TicketUnavailable(reason)
        super().__init__(parent)
        self.session = session
        master = session.runtime.settings.master
        self.master_id = master.id
        self.desk = MasterDesk(session.runtime.connections[master.id].connector)
        self.busy = False
        self._tasks: set[asyncio.Task] = set()
        self._quote_task: asyncio.Task | None = None
        self._spec: SymbolSpec | None = None
        self._ticks = 0
        company = broker_name(master)
        self.setWindowTitle(f"Trade ticket · demo master {master.id} · {company}")
        self.resize(780, 560)

        self.intro = QLabel(
            f"The master <b>{master.id}</b> is a simulated account at {company}. Orders from here reach it "
            "as if placed by hand in its terminal (no copier tag), and the running copier copies them to "
            "the slaves under their rules.", self)
        self.intro.setWordWrap(True)
        self.copy_state = QLabel("", self)
        self.copy_state.setWordWrap(True)

        # ---- a new market order
        self.symbol_box = QComboBox(self)
        self.symbol_box.setMinimumContentsLength(10)
        self.symbol_box.currentTextChanged.connect(self._symbol_changed)
        self.quote_label = QLabel(fmt.DASH, self)
        self.quote_label.setObjectName("ticketQuote")
        self.limits_label = QLabel("", self)
        self.limits_label.setObjectName("cardHint")
        self.volume_edit = QLineEdit(self)
        self.volume_edit.setPlaceholderText("lots, e.g. 0.10")
        self.sl_edit = QLineEdit(self)
        self.sl_edit.setPlaceholderText("none")
        self.tp_edit = QLineEdit(self)
        self.tp_edit.setPlaceholderText("none")
        for edit in (self.volume_edit, self.sl_edit, self.tp_edit):
            edit.textChanged.connect(self._check_order)
        self.sell_button = QPushButton("Sell at market", self)
        self.sell_button.setObjectName("sellButton")
        self.sell_button.clicked.connect(lambda: self.send_order(Side.SELL))
        self.buy_button = QPushButton("Buy at market", self)
        self.buy_button.setObjectName("buyButton")
        self.buy_button.clicked.connect(lambda: self.send_order(Side.BUY))
        self.order_error = QLabel("", self)
        self.order_error.setObjectName("ticketError")
        self.order_error.setWordWrap(True)

        symbol_row = QHBoxLayout()
        symbol_row.addWidget(self.symbol_box)
        symbol_row.addWidget(self.quote_label, 1)
        form = QFormLayout()
        form.addRow("Symbol", symbol_row)
        volume_row = QHBoxLayout()
        volume_row.addWidget(self.volume_edit)
        volume_row.addWidget(self.limits_label, 1)
        form.addRow("Volume", volume_row)
        stops_row = QHBoxLayout()
        stops_row.addWidget(self.sl_edit)
        stops_row.addWidget(QLabel("Take profit", self))
        stops_row.addWidget(self.tp_edit)
        form.addRow("Stop loss", stops_row)
        sides = QHBoxLayout()
        sides.addWidget(self.sell_button)
        sides.addWidget(self.buy_button)
        order_box = QGroupBox("New order at market", self)
        order_layout = QVBoxLayout(order_box)
        order_layout.addLayout(form)
        order_layout.addLayout(sides)
        order_layout.addWidget(self.order_error)

        # ---- the master's open positions
        self.positions_model = MasterPositionsModel(parent=self)
        self.positions_view = QTableView(self)
        self.positions_view.setModel(self.positions_model)
        quiet_view(self.positions_view)
        self.positions_view.setMinimumHeight(120)
        set_widths(self.positions_view.horizontalHeader(), {0: 86, 1: 70, 2: 44, 3: 58, 4: 80, 5: 80, 6: 80, 7: 80})
        self.positions_view.selectionModel().selectionChanged.connect(self._position_selected)
        self.sl_stop_edit = QLineEdit(self)
        self.sl_stop_edit.setPlaceholderText("none")
        self.tp_stop_edit = QLineEdit(self)
        self.tp_stop_edit.setPlaceholderText("none")
        self.modify_button = QPushButton("Modify stops", self)
        self.modify_button.clicked.connect(self.modify_stops)
        self.close_volume_edit = QLineEdit(self)
        self.close_volume_edit.setPlaceholderText("all")
        self.close_button = QPushButton("Close", self)
        self.close_button.clicked.connect(self.close_position)
        self.position_error = QLabel("", self)
        self.position_error.setObjectName("ticketError")
        self.position_error.setWordWrap(True)
        for edit in (self.sl_stop_edit, self.tp_stop_edit, self.close_volume_edit):
            edit.textChanged.connect(self._check_position)
        actions = QHBoxLayout()
        actions.addWidget(QLabel("SL", self))
        actions.addWidget(self.sl_stop_edit)
        actions.addWidget(QLabel("TP", self))
        actions.addWidget(self.tp_stop_edit)
        actions.addWidget(self.modify_button)
        actions.addSpacing(16)
        actions.addWidget(QLabel("Lots", self))
        actions.addWidget(self.close_volume_edit)
        actions.addWidget(self.close_button)
        positions_box = QGroupBox("Open positions on the master", self)
        positions_layout = QVBoxLayout(positions_box)
        positions_layout.addWidget(self.positions_view, 1)
        positions_layout.addLayout(actions)
        positions_layout.addWidget(self.position_error)

        # ---- the broker's last answer
        self.answer = QLabel("", self)
        self.answer.setObjectName("ticketAnswer")
        self.answer.setWordWrap(True)
        self.answer.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.dismiss_button = QPushButton("Close ticket", self)
        self.dismiss_button.clicked.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.answer, 1)
        bottom.addWidget(self.dismiss_button, 0, Qt.AlignmentFlag.AlignBottom)

        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.copy_state)
        layout.addWidget(order_box)
        layout.addWidget(positions_box, 1)
        layout.addLayout(bottom)

        self._style(palette.current())
        palette.signals.changed.connect(self._style)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self._enable()
        self.refresh()

    # ---------------------------------------------------------------- showing
    def open(self) -> None:
        """Show without blocking anything: QDialog.open() would make the dialog window-modal."""
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.timer.start()
        self.show()
        self.raise_()
        self.activateWindow()

    def done(self, result: int) -> None:
        """Closed (and kept by its launcher, to be shown again): no more reads of the master. A
        request already sent is left to finish; its answer is there when the ticket reopens."""
        self.timer.stop()
        if self._quote_task is not None:
            self._quote_task.cancel()
        super().done(result)

    def _style(self, theme) -> None:
        self.setStyleSheet(f"""
            QPushButton#buyButton, QPushButton#sellButton {{ color: #ffffff; border: none; border-radius: 6px;
                                                            padding: 9px 18px; font-weight: 700; }}
            QPushButton#buyButton {{ background: {theme.buy}; }}
            QPushButton#sellButton {{ background: {theme.sell}; }}
            QPushButton#buyButton:disabled, QPushButton#sellButton:disabled {{ background: {theme.idle}; }}
            QLabel#ticketError {{ color: {theme.bad}; }}
            QLabel#ticketQuote {{ font-weight: 600; }}
            QLineEdit[invalid="true"] {{ border: 1px solid {theme.bad}; }}
        """)

    # ---------------------------------------------------------------- refreshing
    def refresh(self) -> None:
        """Symbols once the master is connected, its positions from the copier's latest snapshot
        (no extra call), and now and then a fresh quote."""
        copier = self.session.copier
        if self.symbol_box.count() == 0 and copier.master_symbols:
            self._load_symbols(copier.master_symbols)
        snapshot = copier.master_snapshot
        if snapshot is not None:
            self.positions_model.set_rows(position_rows(snapshot.positions, copier.master_symbols))
            self._enable()
        self.copy_state.setText(
            "Copying is on: the slaves follow each trade." if copier.copying else
            "Copying is stopped: trades here stay on the master until copying is switched on.")
        self._ticks += 1
        if self._ticks % QUOTE_EVERY == 1 and self.isVisible():
            self._request_quote()

    def _load_symbols(self, specs: dict[str, SymbolSpec]) -> None:
        names = sorted(name for name, spec in specs.items() if spec.trade_mode is not TradeMode.DISABLED)
        self.symbol_box.blockSignals(True)
        self.symbol_box.addItems(names)
        self.symbol_box.setCurrentIndex(names.index("EURUSD") if "EURUSD" in names else 0)
        self.symbol_box.blockSignals(False)
        self._symbol_changed(self.symbol_box.currentText())

    def _symbol_changed(self, name: str) -> None:
        spec = self.session.copier.master_symbols.get(name)
        self._spec = spec
        self.quote_label.setText(fmt.DASH)
        self._show_spec()
        self._request_quote()

    def _show_spec(self) -> None:
        spec = self._spec
        self.limits_label.setText(volume_hint(spec) if spec is not None else "")
        if spec is not None and spec.bid > 0 and spec.ask > 0:
            bid, ask = f"{spec.bid:.{spec.digits}f}", f"{spec.ask:.{spec.digits}f}"
            self.quote_label.setText(f"Bid {bid}   Ask {ask}")
            # A market order fills near these, at the bid for a sale and the ask for a purchase.
            self.sell_button.setText(f"Sell at market · {bid}")
            self.buy_button.setText(f"Buy at market · {ask}")
        else:
            self.sell_button.setText("Sell at market")
            self.buy_button.setText("Buy at market")
        self._check_order()
        self._enable()

    def _request_quote(self) -> None:
        name = self.symbol_box.currentText()
        if not name or (self._quote_task is not None and not self._quote_task.done()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # the loop is not running yet: the next refresh asks again
        self._quote_task = loop.create_task(self._quote(name), name="trade-ticket-quote")

    async def _quote(self, name: str) -> None:
        try:
            spec = await self.desk.spec(name)
        except TicketError as error:  # the master is out of reach, or lost the symbol
            if shiboken6.isValid(self) and name == self.symbol_box.currentText():
                self.quote_label.setText(error.problem)
            return
        if shiboken6.isValid(self) and name == self.symbol_box.currentText():
            self._spec = spec
            self._show_spec()

    # ---------------------------------------------------------------- checking as typed
    def _mark(self, edit: QLineEdit, invalid: bool) -> None:
        if edit.property("invalid") is not invalid:
            edit.setProperty("invalid", invalid)
            edit.style().unpolish(edit)
            edit.style().polish(edit)

    def _order_problem(self, side: Side | None = None) -> TicketError | None:
        spec = self._spec
        if spec is None:
            return None  # not known yet: the desk checks against a fresh one anyway
        try:
            if self.volume_edit.text().strip() or side is not None:
                parse_volume(self.volume_edit.text(), spec)
            sl, tp = parse_stop(self.sl_edit.text(), "Stop loss"), parse_stop(self.tp_edit.text(), "Take profit")
            if side is not None:
                check_stops(side, sl, tp, spec)
        except TicketError as error:
            return error
        return None

    def _check_order(self) -> None:
        self._show_order_problem(self._order_problem())

    def _show_order_problem(self, error: TicketError | None) -> None:
        self.order_error.setText(str(error) if error is not None else "")
        fields = {"Volume": self.volume_edit, "Stop loss": self.sl_edit, "Take profit": self.tp_edit}
        for field, edit in fields.items():
            self._mark(edit, error is not None and error.field == field)

    def _check_position(self) -> None:
        """The selected position's boxes as typed: stops are prices, a close volume fits the
        position and the symbol's lot grid (the desk checks again, against a fresh quote)."""
        row = self._selected_row()
        error: TicketError | None = None
        try:
            parse_stop(self.sl_stop_edit.text(), "Stop loss")
            parse_stop(self.tp_stop_edit.text(), "Take profit")
            spec = self.session.copier.master_symbols.get(row.symbol) if row is not None else None
            if spec is not None:
                parse_close_volume(self.close_volume_edit.text(), spec, row.position.volume)
        except TicketError as problem:
            error = problem
        self._show_position_problem(error)

    def _show_position_problem(self, error: TicketError | None) -> None:
        self.position_error.setText(str(error) if error is not None else "")
        fields = {"Stop loss": self.sl_stop_edit, "Take profit": self.tp_stop_edit,
                  "Close volume": self.close_volume_edit}
        for field, edit in fields.items():
            self._mark(edit, error is not None and error.field == field)

    # ---------------------------------------------------------------- positions
    def selected_ticket(self) -> int | None:
        row = self._selected_row()
        return row.id if row is not None else None

    def _selected_row(self) -> PositionRow | None:
        rows = self.positions_view.selectionModel().selectedRows()
        if not rows:
            return None
        return self.positions_model.row_at(rows[0].row())

    def _position_selected(self, *_args) -> None:
        row = self._selected_row()
        if row is not None:
            position = row.position
            self.sl_stop_edit.setText(f"{position.sl:.{row.digits}f}" if position.sl else "")
            self.tp_stop_edit.setText(f"{position.tp:.{row.digits}f}" if position.tp else "")
            self.close_volume_edit.clear()
            self.close_volume_edit.setPlaceholderText(f"all {fmt.volume(position.volume)}")
        self._check_position()
        self._enable()

    # ---------------------------------------------------------------- trading
    def send_order(self, side: Side) -> None:
        """Buy or sell at market; a value that cannot be sent is named and nothing goes out."""
        if self.busy:
            return
        problem = self._order_problem(side)
        if problem is not None:
            self._show_order_problem(problem)
            return
        self._run(self.desk.open(self.symbol_box.currentText(), side, self.volume_edit.text(),
                                 self.sl_edit.text(), self.tp_edit.text()), self._order_answered)

    def modify_stops(self) -> None:
        row = self._selected_row()
        if row is None or self.busy:
            return
        self._run(self.desk.modify(row.position, self.sl_stop_edit.text(), self.tp_stop_edit.text()),
                  self._position_answered)

    def close_position(self) -> None:
        row = self._selected_row()
        if row is None or self.busy:
            return
        self._run(self.desk.close(row.position, self.close_volume_edit.text()), self._position_answered)

    def _order_answered(self, answer: Answer) -> None:
        if answer.field:
            self._show_order_problem(TicketError(answer.field, answer.text[len(answer.field) + 2:]))
        else:
            self._show_answer(answer)

    def _position_answered(self, answer: Answer) -> None:
        if answer.field:
            self._show_position_problem(TicketError(answer.field, answer.text[len(answer.field) + 2:]))
        else:
            self._show_answer(answer)

    def _show_answer(self, answer: Answer) -> None:
        theme = palette.current()
        self.answer.setStyleSheet(f"color: {theme.ok if answer.ok else theme.bad}")
        self.answer.setText(answer.text)

    def _run(self, request: Coroutine[Any, Any, Answer], answered) -> None:
        """One request at a time, off the loop's critical path: the buttons wait until it is answered."""
        self.busy = True
        self._enable()
        self.answer.setStyleSheet("")
        self.answer.setText("Sent; waiting for the broker's answer…")
        task = asyncio.get_event_loop().create_task(self._answer(request), name="trade-ticket-request")
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._done(t, answered))

    @staticmethod
    async def _answer(request: Coroutine[Any, Any, Answer]) -> Answer:
        try:
            return await request
        except Exception as exc:  # never a traceback in the trader's face; the log keeps it
            log.exception("trade ticket request failed")
            return Answer(False, f"The request failed inside the copier ({type(exc).__name__}: {exc}); "
                                 "the master's positions list shows whether it reached the broker.")

    def _done(self, task: asyncio.Task, answered) -> None:
        self._tasks.discard(task)
        if not shiboken6.isValid(self):
            return  # the ticket went with its session; the order itself was sent and stands
        self.busy = False
        if task.cancelled():
            self.answer.setText("The request was cancelled; the positions list shows whether it was sent.")
        else:
            answered(task.result())
        self.refresh()
        self._enable()

    def _enable(self) -> None:
        idle = not self.busy
        ready = idle and self.symbol_box.count() > 0
        self.buy_button.setEnabled(ready)
        self.sell_button.setEnabled(ready)
        selected = idle and self._selected_row() is not None
        self.modify_button.setEnabled(selected)
        self.close_button.setEnabled(selected)


class TradeTicketLauncher(QObject):
    """The window's way in: an action that opens the ticket for the current session's master,
    enabled only for a simulated one (its tooltip and status tip say why not), and one ticket at
    a time, closed when the session goes."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.window = window
        self.session: Session | None = None
        self.ticket: TradeTicket | None = None
        self.action = QAction("&Trade the demo master…", window)
        self.action.setShortcut(QKeySequence("Ctrl+T"))
        self.action.triggered.connect(self.open)
        self.set_session(None)

    def set_session(self, session: Session | None) -> None:
        if session is not self.session:
            self._drop_ticket()
        self.session = session
        reason = why_no_ticket(session)
        self.action.setEnabled(not reason)
        tip = (f"{reason[:1].upper()}{reason[1:]}" if reason else
               "Buy, sell, move stops and close on the simulated master, to watch the slaves copy it")
        self.action.setToolTip(tip)
        self.action.setStatusTip(tip)

    def open(self) -> TradeTicket | None:
        """Show the ticket (raised if already open); None, with the reason shown, when there is none."""
        if self.ticket is None:
            try:
                self.ticket = TradeTicket(self.session, self.window)
            except TicketUnavailable as exc:
                box = QMessageBox(QMessageBox.Icon.Information, "No trade ticket",
                                  f"No trade ticket here: {exc}.", parent=self.window)
                box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
                box.setWindowModality(Qt.WindowModality.NonModal)
                box.show()
                return None
        self.ticket.open()
        return self.ticket

    def _drop_ticket(self) -> None:
        if self.ticket is not None:
            self.ticket.timer.stop()
            self.ticket.close()
            self.ticket.deleteLater()
            self.ticket = None
