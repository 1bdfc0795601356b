"""The main window: a welcome page on first run, the live dashboard once a session is attached.

Closing asks the application for an ordered shutdown first; geometry is exposed as base64 text.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QByteArray, QRect, QSize, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QGuiApplication, QKeySequence, QScreen
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QStatusBar,
    QVBoxLayout,
    QWidget,
)

from copier_gui import __version__
from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.core import journal_archive
from copier_gui.core.journal import JournalError
from copier_gui.ui import palette
from copier_gui.ui.dashboard import Dashboard
from copier_gui.ui.docs_viewer import DocsWindow
from copier_gui.ui.journal_health import JournalHealth
from copier_gui.ui.logs_folder import open_folder
from copier_gui.ui.session import Session
from copier_gui.ui.trade_ticket import TradeTicketLauncher
from copier_gui.ui.tray import Tray
from copier_gui.ui.welcome import WelcomePage
from copier_gui.ui.widgets import save_dialog

APP_TITLE = "copier_gui"


class StatusBar(QStatusBar):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        self.copying = QLabel("", self)
        self.master = QLabel("", self)
        self.uptime = QLabel("", self)
        self.last_copy = QLabel("", self)
        self.mode = QLabel("", self)
        for label in (self.copying, self.master, self.uptime, self.last_copy):
            self.addWidget(label)
        self.addPermanentWidget(self.mode)

    def show_status(self, status: dict) -> None:
        theme = palette.current()
        copying = status.get("copying")
        colour = theme.ok if copying else theme.bad
        self.copying.setText(f"<span style='color:{colour}'>{'● Copying' if copying else '■ Copying stopped'}</span>")
        self.master.setText(f"Master: {status.get('master', '')}")
        self.uptime.setText(f"Uptime {status.get('uptime', '')}")
        last = status.get("last_copy")
        self.last_copy.setText(f"Last copy: {last}" if last else "Last copy: none yet")


# The size the dashboard is laid out for, and the least it stays usable at; a smaller screen still
# gets the whole window on it (a 1024x600 netbook), with the panels scrolling instead.
PREFERRED = QSize(1600, 1000)
MINIMUM = QSize(1024, 640)


def screen_key(screen: QScreen) -> str:
    """Which screen a remembered layout belongs to: its name, size and scale."""
    size = screen.size()
    return f"{screen.name()} {size.width()}x{size.height()}@{screen.devicePixelRatio():g}"


class MainWindow(QMainWindow):
    quitRequested = Signal()
    linkRequested = Signal()
    demoRequested = Signal()
    themeChosen = Signal(str)  # View → Theme: "auto", "light" or "dark", for the settings
    dashboardAttached = Signal(object)  # each dashboard built (a session attached, or a slave came or went)

    def __init__(self, *, clock: Callable[[], float] = SYSTEM_CLOCK.time, tray: bool = True,
                 logs_dir: Path | None = None) -> None:
        super().__init__()
        self._clock = clock
        self.logs_dir = logs_dir
        self.setWindowTitle(APP_TITLE)
        self.setWindowIcon(palette.app_icon())
        self.setMinimumSize(MINIMUM)
        self.dashboard: Dashboard | None = None
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is not None:
            self.fit_to_screen(screen.availableGeometry())
        else:
            self.resize(PREFERRED)
        self.pages = QStackedWidget(self)
        self.pages.setObjectName("pages")
        self.welcome = WelcomePage(self)
        self.welcome.linkRequested.connect(self.linkRequested)
        self.welcome.demoRequested.connect(self.demoRequested)
        self.pages.addWidget(self.welcome)
        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        # Above every page, so a journal that stopped saving is seen whatever the trader looks at.
        self.journal_health = JournalHealth(self)
        central = QWidget(self)
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.journal_health.banner)
        column.addWidget(self.pages, 1)
        self.setCentralWidget(central)
        self.status.addPermanentWidget(self.journal_health.size_label)
        file_menu = self.menuBar().addMenu("&File")
        self.export_journal_action = file_menu.addAction("Export &journal…", self.export_journal)
        self.export_journal_action.setToolTip("Every journal entry, archived ones first, as a CSV file")
        self.export_report_action = file_menu.addAction("Export &drift report…", self.export_drift_report)
        self.export_report_action.setToolTip("Each slave's tracking difference and where it came from, as one "
                                             "HTML file")
        file_menu.addSeparator()
        self.quit_action = file_menu.addAction("&Quit", self.quitRequested.emit)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.setToolTip("Stop copying in order (exits mirrored to the end) and close")
        self._exports_enabled(False)
        self.accounts_menu = self.menuBar().addMenu("&Accounts")
        self.accounts_menu.aboutToShow.connect(self._fill_accounts_menu)
        self.link_action = QAction("&Link another account…", self)
        self.link_action.setShortcut(QKeySequence("Ctrl+L"))
        self.link_action.setToolTip("Add a master or slave with the linking wizard; the running copier takes it at once")
        self.link_action.triggered.connect(self.linkRequested)
        self.addAction(self.link_action)  # the shortcut works before the menu was ever opened
        self.copying_action = QAction("Stop copying", self)
        self.copying_action.triggered.connect(self._tray_toggle)
        # Buy, sell, change stops and close on a simulated master, so copying can be tried by hand.
        self.trade_ticket = TradeTicketLauncher(self)
        self.addAction(self.trade_ticket.action)  # Ctrl+T before the menu was ever opened
        self._fill_accounts_menu()
        self._build_view_menu()
        help_menu = self.menuBar().addMenu("&Help")
        self.docs_action = help_menu.addAction("&Documentation", self.show_documentation)
        self.docs_action.setShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents))
        self.docs_action.setToolTip("The user guide: getting started, copy rules, drift, faults, alerts")
        self.docs_window: DocsWindow | None = None
        self.open_logs_action = help_menu.addAction("Open logs folder", self.open_logs_folder)
        self.open_logs_action.setToolTip("Show the folder with copier_gui's log files, to read them or send "
                                         "them with a question")
        self.open_logs_action.setEnabled(logs_dir is not None)
        self.about_action = help_menu.addAction(f"About {APP_TITLE}", self.show_about)
        self.tray = Tray(clock, parent=self) if tray else None
        if self.tray is not None:
            self.tray.showRequested.connect(self.bring_to_front)
            self.tray.quitRequested.connect(self.quitRequested)
            self.tray.copyingToggled.connect(self._tray_toggle)
        self._may_close = False

    # ---------------------------------------------------------------- pages
    def show_welcome(self, message: str = "") -> None:
        self.welcome.show_message(message)
        self.pages.setCurrentWidget(self.welcome)
        self.status.mode.setText("No accounts linked")

    def attach(self, session: Session) -> Dashboard:
        """Show the live dashboard for this session (replacing any earlier one: a rebuilt dashboard
        of the same session, after a slave came or went, keeps the panels as the trader left them)."""
        kept_splitters: dict[str, bytes] = {}
        hidden: list[str] = []
        if self.dashboard is not None:
            if self.dashboard.session is session:
                kept_splitters = self.dashboard.splitter_states()
                hidden = [title for title, card in self.panels().items() if card.isHidden()]
            self.dashboard.stop()
            self.pages.removeWidget(self.dashboard)
            self.dashboard.deleteLater()
        self.dashboard = Dashboard(session, clock=self._clock, notify=self._tray_notify, parent=self)
        self._first_splitters = self.dashboard.splitter_states()  # for View → Reset layout
        if kept_splitters:
            self.dashboard.restore_splitters(kept_splitters)
        for title in hidden:
            self.show_panel(title, False)
        self.trade_ticket.set_session(session)
        self._exports_enabled(True)
        self.dashboard.statusChanged.connect(self.status.show_status)
        self.dashboard.copyingChanged.connect(self._copying_changed)
        self.pages.addWidget(self.dashboard)
        self.pages.setCurrentWidget(self.dashboard)
        if session.demo:
            self.setWindowTitle(f"{APP_TITLE} · DEMO (simulated brokers)")
            self.status.mode.setText(f"{session.title}. Nothing real is traded.")
        else:
            self.setWindowTitle(APP_TITLE)
            self.status.mode.setText(session.title)
        self.status.show_status(self.dashboard.status())
        self._copying_changed(session.copier.copying)
        self.journal_health.watch(getattr(session.copier, "journal", None))
        self.dashboardAttached.emit(self.dashboard)
        return self.dashboard

    # ---------------------------------------------------------------- menus
    def _fill_accounts_menu(self) -> None:
        """Rebuilt each time it opens, so it lists the accounts linked now: one submenu per slave
        with the same actions as its row's menu in the accounts table."""
        menu = self.accounts_menu
        for action in menu.actions():
            if action.menu() is not None:
                action.menu().deleteLater()
        menu.clear()
        menu.addAction(self.link_action)
        dashboard = self.dashboard
        self.copying_action.setEnabled(dashboard is not None)
        copying = dashboard is not None and dashboard.copier.copying
        self.copying_action.setText("Stop copying (all slaves)" if copying else "Start copying")
        menu.addAction(self.copying_action)
        menu.addAction(self.trade_ticket.action)
        if dashboard is None:
            return
        menu.addSeparator()
        for account_id in dashboard.copier.slaves:
            submenu = dashboard.account_menu(account_id)
            submenu.setTitle(account_id)
            submenu.setParent(menu, submenu.windowFlags())
            menu.addMenu(submenu)

    def _build_view_menu(self) -> None:
        view = self.menuBar().addMenu("&View")
        theme = view.addMenu("&Theme")
        self.theme_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for choice, label in (("auto", "Follow the system"), ("light", "Light"), ("dark", "Dark")):
            action = theme.addAction(label, lambda c=choice: self.set_theme(c))
            action.setCheckable(True)
            action.setChecked(choice == palette.choice())
            group.addAction(action)
            self.theme_actions[choice] = action
        self.panels_menu = view.addMenu("&Panels")
        self.panels_menu.aboutToShow.connect(self._fill_panels_menu)
        view.addSeparator()
        self.reset_layout_action = view.addAction("&Reset layout", self.reset_layout)
        self.reset_layout_action.setToolTip("Every panel back in view at its first size, the window fitted to this "
                                            "screen")
        self.full_screen_action = view.addAction("&Full screen", self.toggle_full_screen)
        self.full_screen_action.setCheckable(True)
        self.full_screen_action.setShortcut(QKeySequence(QKeySequence.StandardKey.FullScreen))
        self.addAction(self.full_screen_action)
        self.find_action = view.addAction("Find in journal", self.find_in_journal)
        self.find_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Find))
        self.addAction(self.find_action)

    def panels(self) -> dict[str, QWidget]:
        """The dashboard's cards by title, which View → Panels shows and hides."""
        if self.dashboard is None:
            return {}
        d = self.dashboard
        return {"Accounts": d.accounts_card, "Mirrored positions": d.positions_card, "Journal": d.journal_card,
                "Execution drift": d.charts_card, "Drift summary": d.summary_card}

    def _fill_panels_menu(self) -> None:
        self.panels_menu.clear()
        panels = self.panels()
        for title, card in panels.items():
            action = self.panels_menu.addAction(title)
            action.setCheckable(True)
            action.setChecked(not card.isHidden())
            action.toggled.connect(lambda on, t=title: self.show_panel(t, on))
        self.panels_menu.setEnabled(bool(panels))

    def show_panel(self, title: str, shown: bool) -> None:
        card = self.panels().get(title)
        if card is not None:
            card.setVisible(shown)

    def set_theme(self, choice: str) -> None:
        app = QApplication.instance()
        if app is not None:
            palette.follow_os(app, choice)
        self.theme_actions[choice].setChecked(True)
        self.themeChosen.emit(choice)

    def reset_layout(self) -> None:
        for card in self.panels().values():
            card.setVisible(True)
        if self.dashboard is not None:
            self.dashboard.restore_splitters(self._first_splitters)
        if self.isFullScreen():
            self.toggle_full_screen()
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is not None:
            self.showNormal()
            self.fit_to_screen(screen.availableGeometry())

    def toggle_full_screen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()
        self.full_screen_action.setChecked(self.isFullScreen())

    def find_in_journal(self) -> None:
        if self.dashboard is not None:
            self.dashboard.journal_card.setVisible(True)
            self.dashboard.search.setFocus()
            self.dashboard.search.selectAll()

    def show_documentation(self) -> DocsWindow:
        """The user guide in a window of its own (non-modal; kept, so it reopens where it was)."""
        if self.docs_window is None:
            self.docs_window = DocsWindow(self)
        self.docs_window.show()
        self.docs_window.raise_()
        self.docs_window.activateWindow()
        return self.docs_window

    def _exports_enabled(self, enabled: bool) -> None:
        self.export_journal_action.setEnabled(enabled)
        self.export_report_action.setEnabled(enabled)

    def export_journal(self) -> QFileDialog:
        """Ask where to save (non-modal; answered through ``fileSelected``), then write the CSV."""
        return save_dialog(self, "Export journal", "copier-journal", "csv", self._clock(), self.export_journal_to)

    def export_journal_to(self, out: Path) -> bool:
        """The journal's archives and then its live entries as CSV (as ``copier-gui journal export``
        writes it); a message box says why when it cannot be written."""
        journal = self.dashboard.copier.journal if self.dashboard is not None else None
        path = journal.path if journal is not None else None
        if path is None:
            QMessageBox.warning(self, "Export journal", "This copier keeps no journal file to export.")
            return False
        if out.is_dir():
            QMessageBox.warning(self, "Export journal", f"{out} is a folder: choose a file name such as "
                                                        f"{out / 'journal.csv'}.")
            return False
        try:
            journal.flush()
            rows = journal_archive.export_csv(out, path, journal_archive.archives(journal_archive.archive_folder(path)))
        except (OSError, JournalError) as exc:
            QMessageBox.warning(self, "Export journal", f"Could not write {out}: {getattr(exc, 'strerror', None) or exc}")
            return False
        self.status.showMessage(f"{rows} journal entries written to {out}", 10000)
        return True

    def export_drift_report(self) -> None:
        if self.dashboard is not None:
            self.dashboard.attribution.export_report()

    def show_about(self) -> None:
        QMessageBox.about(self, f"About {APP_TITLE}",
                          f"<b>{APP_TITLE}</b> {__version__}<br>A trade copier that measures and bounds execution "
                          "drift: the gap between what the master did and what each slave got.<br>"
                          "Passwords stay in the system keyring.")

    def open_logs_folder(self) -> bool:
        if self.logs_dir is None:
            return False
        if not open_folder(self.logs_dir):
            self.status.showMessage(f"Could not open {self.logs_dir}; the log files are there.", 10000)
            return False
        return True

    def _copying_changed(self, copying: bool) -> None:
        if self.tray is not None:
            self.tray.set_copying(copying)
        if self.dashboard is not None:
            self.status.show_status(self.dashboard.status())

    def _tray_toggle(self) -> None:
        if self.dashboard is not None:
            self.dashboard.toggle_copying()

    def _tray_notify(self, topic: str, text: str) -> None:
        if self.tray is not None:
            self.tray.notify(topic, text)

    def bring_to_front(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    # ---------------------------------------------------------------- closing
    def allow_close(self) -> None:
        """Called by the application once its shutdown is done; the next close really closes."""
        self._may_close = True
        self.journal_health.stop()
        if self.dashboard is not None:
            self.dashboard.stop()
        if self.tray is not None:
            self.tray.hide()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._may_close:
            event.accept()
            return
        # The copier must stop in order first; the application closes the window when it is done.
        event.ignore()
        self.quitRequested.emit()

    def fit_to_screen(self, area: QRect) -> None:
        """Open at the preferred size, or all of ``area`` (a screen's available geometry, without
        its taskbar) when that is smaller, centred in it: on a 1366x768 laptop every panel and the
        global switch are on screen from the start."""
        self.setMinimumSize(MINIMUM.boundedTo(area.size()))
        # The frame (title bar, borders) is outside the client size; before the window is shown
        # the platform may not know it yet, so a margin is kept for it.
        frame = self.frameGeometry().size() - self.geometry().size()
        margin = QSize(max(frame.width(), 0), max(frame.height(), 0 if self.isVisible() else 32))
        size = PREFERRED.boundedTo(area.size() - margin)
        self.resize(size)
        outer = size + margin
        self.move(area.x() + (area.width() - outer.width()) // 2, area.y() + (area.height() - outer.height()) // 2)

    # ---------------------------------------------------------------- layout memory
    def layout_state(self) -> dict[str, str]:
        """Geometry and splitter positions as base64 text, ready for a JSON settings file."""
        state = {"geometry": base64.b64encode(bytes(self.saveGeometry().data())).decode("ascii")}
        if self.dashboard is not None:
            for name, data in self.dashboard.splitter_states().items():
                state[f"splitter.{name}"] = base64.b64encode(data).decode("ascii")
        return state

    def restore_layout_state(self, state: dict[str, str]) -> bool:
        """Restore what :meth:`layout_state` gave; a damaged entry is skipped, never fatal."""
        ok = True
        try:
            if "geometry" in state:
                ok = self.restoreGeometry(QByteArray(base64.b64decode(state["geometry"])))
            if self.dashboard is not None:
                self.dashboard.restore_splitters({k.split(".", 1)[1]: base64.b64decode(v)
                                                  for k, v in state.items() if k.startswith("splitter.")})
        except (ValueError, TypeError):
            return False
        return ok
