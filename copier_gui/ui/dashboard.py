"""The live page: accounts, mirrored positions, journal, charts and the per-slave summary.

Notices feed the journal, charts and tray; one timer refreshes every table model from the core's
views (10 Hz) and, in frames of their own, draws the charts and the tracking view. Commands reach the copier only through set_copying, set_copy_enabled, set_mode,
set_rules, resync, flatten and reset_risk; account changes (link, edit, reconnect, set as master,
remove) go out as signals for the app to carry out.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

from PySide6.QtCore import QByteArray, QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from copier_gui.core import view
from copier_gui.core.copier import Copier, SlaveMode
from copier_gui.core.executor import Notice
from copier_gui.core.room_watch import NEAR_LIMIT
from copier_gui.core.rules import CopyRules
from copier_gui.ui import account_actions, palette
from copier_gui.ui import format as fmt
from copier_gui.ui.attribution_view import AttributionView
from copier_gui.ui.charts import DriftCharts
from copier_gui.ui.fitted_columns import FittedColumns
from copier_gui.ui.models import (
    AccountsModel,
    JournalFilter,
    JournalModel,
    PositionsModel,
    SummaryModel,
)
from copier_gui.ui.models.journal import PROBLEMS
from copier_gui.ui.models.summary import SummaryCache
from copier_gui.ui.room_left import RoomLeftCard
from copier_gui.ui.rules_editor import RulesEditor
from copier_gui.ui.session import Session
from copier_gui.ui.widgets import (
    Card,
    PlaceholderTable,
    PlaceholderTree,
    RowHeightDelegate,
    SwitchDelegate,
    Tile,
    quiet_view,
    repolish,
    set_widths,
)

REFRESH_MS = 100  # table models: at most 10 updates a second
SLOW_EVERY = 5  # refreshes between the costlier figures (summary percentiles, header tiles)
JOURNAL_ROWS = 5000

KIND_FILTERS = (
    ("All kinds", frozenset()),
    ("Problems", PROBLEMS),
    ("Copies", frozenset({"copy"})),
    ("Refused", frozenset({"refusal"})),
    ("Failed", frozenset({"failure"})),
    ("Master", frozenset({"master"})),
    ("State", frozenset({"state"})),
)


class Dashboard(QWidget):
    """Everything about one running session. ``notify(topic, text)`` reaches the tray."""

    copyingChanged = Signal(bool)
    copyEnabledChanged = Signal(str, bool)
    modeChanged = Signal(str, str)  # account id, SlaveMode value: the trader changed a slave's mode
    statusChanged = Signal(dict)
    # Account actions the app carries out (the dashboard only asks, non-modally where it must).
    linkAccountRequested = Signal()
    editAccountRequested = Signal(str)
    reconnectRequested = Signal(str)
    setMasterRequested = Signal(str)
    removeAccountRequested = Signal(str, bool)  # account id, close its copies first

    def __init__(self, session: Session, *, clock: Callable[[], float],
                 notify: Callable[[str, str], None] | None = None, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.copier: Copier = session.copier
        self._clock = clock
        self._notify = notify or (lambda topic, text: None)
        self._ticks = 0
        self._last_copy: tuple[str, str, float, float] | None = None  # slave, symbol, ms, wall
        self._states: dict[str, str] = {}
        self._summary = SummaryCache()
        slave_ids = list(self.copier.slaves)

        # ---------------------------------------------------------------- models
        self.accounts_model = account_actions.ModeAccountsModel(
            lambda: account_actions.rows_with_mode(view.accounts(self.copier), self.copier), self._toggle_slave, self)
        self.positions_model = PositionsModel(lambda: view.mirrored_positions(self.copier), self)
        self.journal_model = JournalModel(JOURNAL_ROWS, self)
        self.journal_filter = JournalFilter(self)
        self.journal_filter.setSourceModel(self.journal_model)
        self.summary_model = SummaryModel(lambda: self._summary.rows(self.copier), self)

        # ---------------------------------------------------------------- widgets
        self.header = self._build_header(session)
        self.accounts_view = PlaceholderTable(self)
        self.accounts_view.setModel(self.accounts_model)
        quiet_view(self.accounts_view)
        self.accounts_view.setItemDelegateForColumn(AccountsModel.COPY, SwitchDelegate(self.accounts_view))
        self.accounts_view.setSelectionMode(self.accounts_view.SelectionMode.NoSelection)
        header = self.accounts_view.horizontalHeader()
        widths = {0: 130, 1: 56, 2: 150, 3: 140, 4: 70, 5: 84, 6: 84, 7: 84, 8: 40, 9: 94, 10: 64, 11: 52, 12: 84}
        set_widths(header, widths)
        # The mode, last, takes what the broker and server leave when a narrow table sets them aside.
        header.setStretchLastSection(True)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        # Narrow (a 1366x768 laptop): server, login, broker, currency and role step aside first, so
        # the balances, drift, risk, copy switch and mode stay in view.
        self.accounts_columns = FittedColumns(self.accounts_view, widths, optional=[3, 4, 2, 8, 1])

        self.positions_view = PlaceholderTree(self)
        self.positions_view.placeholder = ("No open master positions. Each trade the master opens appears "
                                           "here with one row per slave.")
        self.positions_view.setModel(self.positions_model)
        quiet_view(self.positions_view)
        self.positions_view.setUniformRowHeights(True)
        self.positions_view.setRootIsDecorated(True)
        self.positions_view.setIndentation(16)
        self.positions_view.setItemDelegate(RowHeightDelegate(24, self.positions_view))
        widths = {0: 128, 1: 96, 2: 40, 3: 56, 4: 88, 5: 78, 6: 78, 7: 70, 8: 70}
        set_widths(self.positions_view.header(), widths)
        # Narrow: latency (also in the drift charts), then TP and SL step aside before the status.
        # The status ("3/3 mirrored", "Mirrored (netting)") fills what is left: about 110 pixels.
        self.positions_columns = FittedColumns(self.positions_view, {**widths, 9: 110}, optional=[8, 6, 5])
        self.positions_model.rowsInserted.connect(self._expand_new)
        self.positions_model.modelReset.connect(self.positions_view.expandAll)

        self.journal_view = PlaceholderTable(self)
        self.journal_view.placeholder = "Nothing journaled yet."
        self.journal_view.setModel(self.journal_filter)
        quiet_view(self.journal_view)
        self.journal_view.verticalHeader().setDefaultSectionSize(22)
        set_widths(self.journal_view.horizontalHeader(), {0: 96, 1: 70, 2: 80, 3: 84})

        self.summary_view = PlaceholderTable(self)
        self.summary_view.setModel(self.summary_model)
        quiet_view(self.summary_view)
        header = self.summary_view.horizontalHeader()
        set_widths(header, {0: 70, 1: 54, 2: 60, 3: 48, 4: 56, 5: 62, 6: 62, 7: 66, 8: 66})
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)

        # Behind the tracking-difference tab: its plots are built when first shown (see DriftCharts).
        self.charts = DriftCharts(slave_ids, clock=clock, lazy=True, parent=self)
        # A dashboard rebuilt while copying (a slave linked or removed) starts from the copies the
        # copier already measured, so the charts go on instead of starting empty.
        for m in self.copier.metrics.copies:
            if m.received_wall and m.slave in self.copier.slaves:
                self.charts.add(m.slave, m.received_wall, m.total_ms, m.slippage_bp)
        # Journal walls are on the copier's clock, so its periods are too.
        self.attribution = AttributionView(
            getattr(self.copier, "journal", None), slave_ids, session_start=self.copier.started_wall,
            clock=self.copier.clock.time, marks=self.copier.marks,
            notes=["Demo: simulated brokers; nothing real was traded."] if session.demo else (), parent=self)
        # Money first: what each slave made against the master is what a trader asks about first;
        # latency and slippage explain it.
        self.drift_tabs = QTabWidget(self)
        self.drift_tabs.setDocumentMode(True)
        self.drift_tabs.addTab(self.attribution, "Tracking difference")
        self.drift_tabs.addTab(self.charts, "Latency · slippage")

        # ---------------------------------------------------------------- layout
        self.account_filter = QComboBox(self)
        self.account_filter.addItem("All accounts", "")
        for account in [self.copier.master_id, *slave_ids]:
            self.account_filter.addItem(account, account)
        self.account_filter.currentIndexChanged.connect(
            lambda _i: self.journal_filter.set_account(self.account_filter.currentData() or ""))
        self.kind_filter = QComboBox(self)
        for label, kinds in KIND_FILTERS:
            self.kind_filter.addItem(label, kinds)
        self.kind_filter.currentIndexChanged.connect(
            lambda _i: self.journal_filter.set_kinds(self.kind_filter.currentData() or frozenset()))
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search text or ticket")
        self.search.setClearButtonEnabled(True)
        self.search.setFixedWidth(200)
        self.search.textChanged.connect(self.journal_filter.set_text)

        self.rules_editors: dict[str, RulesEditor] = {}
        self.rules_button = QToolButton(self)
        self.rules_button.setText("Edit rules…")
        self.rules_button.setToolTip("Edit a slave's copy rules (also: right-click a slave's row)")
        self.rules_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        rules_menu = QMenu(self.rules_button)
        for slave_id in slave_ids:
            rules_menu.addAction(slave_id, lambda sid=slave_id: self.edit_rules(sid))
        self.rules_button.setMenu(rules_menu)
        self.accounts_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.accounts_view.customContextMenuRequested.connect(self._accounts_menu)
        self.accounts_card = Card("Accounts", self.accounts_view,
                                  hint="copy switches stop new entries per slave; exits are always mirrored",
                                  tools=[self.rules_button])
        self.positions_card = Card("Mirrored positions", self.positions_view,
                                   hint="each master position and what every slave holds for it")
        self.journal_card = Card("Journal", self.journal_view, hint="newest first",
                                 tools=[self.account_filter, self.kind_filter, self.search])
        self.charts_card = Card("Execution drift", self.drift_tabs, hint="per slave")
        self.summary_card = Card("Drift summary per slave", self.summary_view,
                                 hint="latency in ms (p50 · p95 · max), slippage in basis points and money")

        # Prop-firm slaves' room left, under the accounts: shown while any slave has a profile.
        self.room_card = RoomLeftCard(self)
        left = QSplitter(Qt.Orientation.Vertical, self)
        for card in (self.accounts_card, self.room_card, self.positions_card, self.journal_card):
            left.addWidget(card)
        left.setChildrenCollapsible(False)
        # The accounts card fits every row up to ten accounts; past that it scrolls.
        accounts_height = 84 + 26 * min(10, 1 + len(slave_ids))
        self.accounts_card.setMinimumHeight(min(accounts_height, 84 + 26 * 4))
        left.setSizes([accounts_height, 0, 440, 300])
        left.setStretchFactor(0, 0)
        left.setStretchFactor(1, 0)
        left.setStretchFactor(2, 3)
        left.setStretchFactor(3, 2)
        right = QSplitter(Qt.Orientation.Vertical, self)
        right.addWidget(self.charts_card)
        right.addWidget(self.summary_card)
        right.setChildrenCollapsible(False)
        summary_height = 96 + 26 * min(8, len(slave_ids))
        self.summary_card.setMinimumHeight(96 + 26 * min(3, len(slave_ids)))
        right.setSizes([900 - summary_height, summary_height])
        right.setStretchFactor(0, 1)
        right.setStretchFactor(1, 0)
        body = QSplitter(Qt.Orientation.Horizontal, self)
        body.addWidget(left)
        body.addWidget(right)
        body.setChildrenCollapsible(False)
        body.setStretchFactor(0, 5)
        body.setStretchFactor(1, 3)
        body.setSizes([960, 640])
        for splitter in (left, right, body):
            splitter.setHandleWidth(8)
        self.splitters = {"left": left, "right": right, "body": body}

        page = QVBoxLayout(self)
        page.setContentsMargins(0, 0, 0, 0)
        page.setSpacing(0)
        page.addWidget(self.header)
        inner = QVBoxLayout()
        inner.setContentsMargins(10, 10, 10, 10)
        inner.addWidget(body, 1)
        page.addLayout(inner, 1)

        # ---------------------------------------------------------------- feeds
        self.copier.subscribe(self._on_notice)
        # One clock for the tables, the charts and the tracking view, each in frames of its own,
        # so a table refresh, a chart frame and a tracking tick (and their repaints) never share a
        # loop pass and stall the copier's loop for their sum. Timers of their own drift into one
        # pass: Qt nudges ordinary timers onto shared 50 and 100 ms boundaries (measured: 94% of
        # the tracking view's ticks in the tables' pass, 50 ms stalls every two seconds).
        self.charts.timer.stop()
        self.attribution.timer.stop()
        self._frame = 0
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(REFRESH_MS // 4)
        self.timer.timeout.connect(self._next_frame)
        self.timer.start()
        self._show_copying()
        self.refresh()

    # ---------------------------------------------------------------- header
    def _build_header(self, session: Session) -> QWidget:
        bar = QFrame(self)
        bar.setObjectName("header")
        icon = QLabel(bar)
        icon.setPixmap(palette.app_icon().pixmap(34, 34))
        title = QLabel("copier_gui", bar)
        title.setObjectName("appTitle")
        slaves = len(self.copier.slaves)
        self.subtitle = QLabel(f"master → {slaves} slave{'s' if slaves != 1 else ''}", bar)
        self.subtitle.setObjectName("appSubtitle")
        names = QVBoxLayout()
        names.setSpacing(0)
        names.addWidget(title)
        names.addWidget(self.subtitle)

        layout = QHBoxLayout(bar)
        layout.setContentsMargins(16, 10, 16, 10)
        layout.setSpacing(12)
        layout.addWidget(icon)
        layout.addLayout(names)
        if session.demo:
            badge = QLabel("DEMO · SIMULATED BROKERS", bar)
            badge.setObjectName("demoBadge")
            badge.setToolTip("Every account here is a simulated broker; no real money is traded")
            layout.addWidget(badge, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addStretch(1)

        self.tiles = {
            "positions": Tile("Open positions", "Master positions open now"),
            "copies": Tile("Copies", "Fills at slaves: entries, partial closes and exits"),
            "refused": Tile("Refused · failed", "Copies refused by a rule or tolerance · rejected by a broker"),
            "latency": Tile("Median latency", "Median copy latency over every slave's recent copies"),
            "uptime": Tile("Uptime", "Time since the copier started"),
        }
        for tile in self.tiles.values():
            layout.addWidget(tile)
        layout.addSpacing(12)

        self.copy_state = QLabel(bar)
        self.copy_state.setObjectName("copyState")
        self.kill_switch = QPushButton(bar)
        self.kill_switch.setObjectName("killSwitch")
        self.kill_switch.setCursor(Qt.CursorShape.PointingHandCursor)
        self.kill_switch.clicked.connect(self.toggle_copying)
        state_box = QVBoxLayout()
        state_box.setSpacing(2)
        state_box.addWidget(self.kill_switch)
        state_box.addWidget(self.copy_state, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addLayout(state_box)
        return bar

    # ---------------------------------------------------------------- commands
    def toggle_copying(self) -> None:
        """The kill switch: off stops every new entry at once; exits are still mirrored."""
        self.copier.set_copying(not self.copier.copying)
        self._show_copying()
        self.accounts_model.refresh()
        self.positions_model.refresh()

    def _toggle_slave(self, slave_id: str, enabled: bool) -> None:
        self.copier.set_copy_enabled(slave_id, enabled)
        self.copyEnabledChanged.emit(slave_id, enabled)
        self.modeChanged.emit(slave_id, self.copier.slaves[slave_id].mode.value)

    def set_mode(self, slave_id: str, mode: SlaveMode) -> None:
        """The row menu's Copying / Close-only / Paused: journaled by the copier, saved by the app."""
        self.copier.set_mode(slave_id, mode, by="the window")
        self.modeChanged.emit(slave_id, SlaveMode(mode).value)
        self.accounts_model.refresh()

    def flatten(self, slave_ids: list[str]) -> QMessageBox:
        """Ask first, naming every position that closes (non-modal); on Flatten the copier closes them."""
        return account_actions.flatten_box(self, slave_ids)

    def remove_account(self, slave_id: str) -> QMessageBox:
        """Ask whether to keep or close its copies (non-modal); the answer goes out as removeAccountRequested."""
        return account_actions.remove_box(self, slave_id)

    def _accounts_menu(self, pos: QPoint) -> None:
        index = self.accounts_view.indexAt(pos)
        if not index.isValid():
            return
        row = self.accounts_model.row_at(index.row())
        menu = self.account_menu(row.id)
        menu.popup(self.accounts_view.viewport().mapToGlobal(pos))

    def account_menu(self, account_id: str) -> QMenu:
        """A row's menu: a slave's rules, resync, mode, flatten and risk reset, then the account's actions."""
        return account_actions.build_menu(self, account_id)

    def reset_risk(self, slave_id: str) -> QMessageBox:
        """Ask first (non-modal, answered through ``finished``); on Yes the copier resets and journals it."""
        row = next(r for r in self.accounts_model.rows() if r.id == slave_id)
        box = QMessageBox(QMessageBox.Icon.Warning, "Reset risk halt", f"Reset the risk state of {slave_id}?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setInformativeText(
            f"{row.trading_detail or 'No risk limit is holding it now.'}\n\nNew entries will be copied to "
            f"{slave_id} again. Its daily loss and drawdown then count from its balance and equity now, "
            "not from the start of the day or its earlier peak. The reset is journaled.")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        yes = box.button(QMessageBox.StandardButton.Yes)
        yes.setText("Reset")
        box.finished.connect(lambda _result: self._risk_reset_answered(slave_id, box.clickedButton() is yes, box))
        box.open()
        return box

    def _risk_reset_answered(self, slave_id: str, confirmed: bool, box: QMessageBox) -> None:
        box.deleteLater()
        if confirmed:
            self.copier.reset_risk(slave_id, by="the window")
            self.accounts_model.refresh()

    def edit_rules(self, slave_id: str) -> RulesEditor:
        """Open (or bring forward) the rules editor for one slave; non-modal, the copier keeps running."""
        editor = self.rules_editors.get(slave_id)
        if editor is None:
            editor = RulesEditor(slave_id, self.copier.slaves[slave_id].rules,
                                 saved_to_file=self.session.store is not None, parent=self)
            editor.rulesSaved.connect(lambda sid, rules, e=editor: self._save_rules(sid, rules, e))
            editor.finished.connect(lambda _r, sid=slave_id: self._editor_closed(sid))
            self.rules_editors[slave_id] = editor
            editor.open()
        else:
            editor.show()
            editor.raise_()
            editor.activateWindow()
        return editor

    def _editor_closed(self, slave_id: str) -> None:
        editor = self.rules_editors.pop(slave_id, None)
        if editor is not None:
            editor.deleteLater()

    def _save_rules(self, slave_id: str, rules: CopyRules, editor: RulesEditor) -> None:
        store = self.session.store
        if store is None:
            self.copier.set_rules(slave_id, rules)
            editor.show_result("Applied to the running copier only: the demo has no settings file.")
            return
        if store.settings is None:
            # A file that failed to load is never written over.
            editor.show_result(f"Not saved: the settings file could not be loaded. {store.error}", ok=False)
            return
        if not store.set_rules(slave_id, rules):
            editor.show_result(f"Not saved: {store.error or 'the account is not in the settings'}", ok=False)
            return
        self.copier.set_rules(slave_id, rules)
        editor.show_result("Saved to the settings and applied to the running copier.")

    def _show_copying(self) -> None:
        copying = self.copier.copying
        self.kill_switch.setText("■  Stop copying" if copying else "▶  Start copying")
        self.kill_switch.setToolTip(
            "Stop every new entry on every slave at once. Exits and partial closes are still mirrored."
            if copying else "Resume copying new entries to the slaves whose copy switch is on.")
        self.copy_state.setText("● COPYING" if copying else "■ STOPPED · exits still mirrored")
        for widget in (self.kill_switch, self.copy_state):
            if widget.property("copying") != copying:
                widget.setProperty("copying", copying)
                repolish(widget)
        self.copyingChanged.emit(copying)

    # ---------------------------------------------------------------- feeds
    def _on_notice(self, notice: Notice) -> None:
        # Runs inside the copier's notify on the loop: queue and count only; drawing waits for
        # the timers.
        now = self._clock()
        self.journal_model.add(notice, now)
        if notice.kind == "copy" and notice.metrics is not None:
            m = notice.metrics
            self.charts.add(notice.account, now, m.total_ms, m.slippage_bp)
            self._last_copy = (notice.account, m.symbol, m.total_ms, now)
        elif notice.kind == "refusal":
            self._notify("refusal", f"{notice.account}: {notice.text}")
        elif notice.kind == "failure":
            self._notify("failure", f"{notice.account}: {notice.text}")
        if notice.state == NEAR_LIMIT:  # 80% of a prop limit used (the copier's watch)
            self._notify("risk", f"{notice.account}: {notice.text}")

    def _next_frame(self) -> None:
        """Every 25 ms, in turn: the accounts and the tree; a chart frame; the tracking view; a
        chart frame with the journal and the summary. Each frame's repaint stays short."""
        self._frame += 1
        slot = self._frame % 4
        if slot == 0:
            self._refresh_live()
        elif slot == 2:
            self.attribution.tick()
        else:
            self.charts.tick()
            if slot == 3:
                self._refresh_records()

    def refresh(self) -> None:
        """The one table refresh: journal rows, accounts, the tree; slower figures every 5th."""
        self._refresh_live()
        self._refresh_records()

    def _refresh_live(self) -> None:
        self._ticks += 1
        self.accounts_model.refresh()
        self.positions_model.refresh()
        self._watch_connections()

    def _refresh_records(self) -> None:
        # New journal rows shift the whole view, a full repaint: five times a second is enough.
        if self._ticks % 2:
            self.journal_model.flush()
        if self._ticks % SLOW_EVERY == 1:
            self.refresh_room()
            self.summary_model.refresh()
            self._update_tiles()
            if self.copier.copying != self.kill_switch.property("copying"):
                self._show_copying()

    def refresh_room(self) -> None:
        """The room left, twice a second: the countdown moves and the figures follow the equity."""
        rows = view.room_left(self.copier)
        if self.room_card.refresh(rows):
            # Just appeared (a profile was given): room for its rows, taken from the positions and
            # the journal alike.
            left = self.splitters["left"]
            sizes = left.sizes()
            want = self.room_card.wanted_height()
            self.room_card.setMinimumHeight(min(want, self.room_card.wanted_height(2)))
            sizes[1], sizes[2], sizes[3] = want, max(sizes[2] - want // 2, 120), max(sizes[3] - want // 2, 90)
            left.setSizes(sizes)

    def _expand_new(self, parent: QModelIndex, first: int, last: int) -> None:
        if not parent.isValid():
            for row in range(first, last + 1):
                self.positions_view.expand(self.positions_model.index(row, 0))

    def _watch_connections(self) -> None:
        for row in self.accounts_model.rows():
            before = self._states.get(row.id)
            self._states[row.id] = row.state
            if row.role == "slave" and row.state == "disconnected" and before in ("connected", "degraded"):
                self._notify("disconnect", f"{row.id} at {row.broker} disconnected"
                             + (f": {row.detail}" if row.detail else "") + ". It reconnects by itself.")

    def _update_tiles(self) -> None:
        metrics = self.copier.metrics
        stats = list(metrics.slaves.values())
        copies = sum(s.copies for s in stats)
        refused = sum(s.refusals for s in stats)
        failed = sum(s.failures for s in stats)
        recent = [v for s in stats for v in list(s.latency_ms)[-200:]]
        self.tiles["positions"].set(str(self.positions_model.rowCount()))
        self.tiles["copies"].set(f"{copies:,}")
        self.tiles["refused"].set(f"{refused:,} · {failed:,}")
        self.tiles["latency"].set(f"{statistics.median(recent):,.1f} ms" if recent else fmt.DASH)
        self.tiles["uptime"].set(fmt.duration(self.copier.uptime_s()))
        self.statusChanged.emit(self.status())

    def status(self) -> dict:
        """What the status bar shows, as plain values."""
        last = None
        if self._last_copy is not None:
            slave, symbol, ms, wall = self._last_copy
            last = f"{fmt.latency_ms(ms)} ms ({slave}, {symbol}, {fmt.clock_time(wall)[:8]})"
        return {"copying": self.copier.copying, "master": self.copier.master_state.value,
                "uptime": fmt.duration(self.copier.uptime_s()), "last_copy": last}

    # ---------------------------------------------------------------- layout memory
    def splitter_states(self) -> dict[str, bytes]:
        return {name: bytes(s.saveState().data()) for name, s in self.splitters.items()}

    def restore_splitters(self, states: dict[str, bytes]) -> None:
        for name, state in states.items():
            if name in self.splitters:
                self.splitters[name].restoreState(QByteArray(state))

    def stop(self) -> None:
        self.timer.stop()
        self.charts.timer.stop()
        self.attribution.stop()
