"""Starts the window: QApplication, theme, and the qasync loop that the copier and Qt share.

Terminal calls run on worker threads or processes, never here; a session is built on a thread too
(terminals reached, files opened), so the window paints meanwhile. Quitting is an ordered async
shutdown: strategy, copier, journal, connectors; then the loop, and Qt with it, ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import qasync
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.paths import UserPaths
from copier_gui.ui import palette
from copier_gui.ui.account_changes import AccountChanges
from copier_gui.ui.instance import RaiseServer
from copier_gui.ui.main_window import MainWindow, screen_key
from copier_gui.ui.session import Session, SettingsStore

log = logging.getLogger(__name__)

# Builds the demo's session. Handed in by the caller, so the window never imports the demo. Called
# on a thread: it must not touch Qt.
DemoFactory = Callable[[], Session]


@dataclass(frozen=True)
class GuiOptions:
    demo: bool = False  # start the demo at once (needs a demo factory)
    duration: float | None = None  # quit by itself after this many seconds
    screenshot: Path | None = None  # saved just before quitting
    theme: str = "auto"
    http: Any = None  # a watchers.HttpOptions: serve monitoring there (see copier_gui.monitor)


class Application:
    """Owns the window and the running session, and the order things stop in.

    ``demo`` builds the demo's session for the welcome page's "Try the demo"; without one that
    button is hidden.
    """

    def __init__(self, app: QApplication, paths: UserPaths, options: GuiOptions,
                 demo: DemoFactory | None = None) -> None:
        self.app = app
        self.paths = paths
        self.options = options
        self.demo = demo
        self.beacon: RaiseServer | None = None
        self.session: Session | None = None
        self.window: MainWindow | None = None
        self.store = SettingsStore(paths)
        self.layout: dict[str, str] = {}  # splitter positions, kept for this run
        self._quit = asyncio.Event()
        self.accounts: AccountChanges | None = None
        self._opening: asyncio.Task | None = None  # a session being built
        self._leaving = False

    async def run(self) -> int:
        # The window's close button asks for an ordered shutdown; Qt must not end the loop first.
        self.app.setQuitOnLastWindowClosed(False)
        self.window = MainWindow(clock=SYSTEM_CLOCK.time, logs_dir=self.paths.logs_dir)
        self.window.quitRequested.connect(self.request_quit)
        self.window.demoRequested.connect(self.start_demo)
        # Linking, editing, removing accounts and a new master, taken by the running copier and saved.
        self.accounts = AccountChanges(self.window, self.store, session=lambda: self.session,
                                       open_saved=self.open_saved, restart=self.restart_saved)
        self.window.themeChosen.connect(self.store.set_theme)
        self.window.welcome.demo_button.setVisible(self.demo is not None)
        # A second start on this folder finds this window through the beacon and brings it forward.
        self.beacon = RaiseServer(self.paths, parent=self.window)
        self.beacon.raiseRequested.connect(self.bring_forward)
        self.beacon.listen()
        self.store.load()
        self._apply_saved_theme()
        geometry = self.store.geometry(screen_key(self.window.screen()))
        if geometry:
            self.window.restore_layout_state({"geometry": geometry})
        if self.options.demo:
            self.start_demo()
        else:
            self.open_saved()
        self.window.show()
        previous = self._install_sigint()
        try:
            if self.options.duration is None:
                await self._quit.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._quit.wait(), timeout=self.options.duration)
            if self.options.screenshot is not None:
                self.save_screenshot(self.options.screenshot)
        finally:
            signal.signal(signal.SIGINT, previous)
            await self.shutdown()
        return 0

    @property
    def leaving(self) -> bool:
        """The ordered shutdown has begun."""
        return self._leaving

    def request_quit(self) -> None:
        self._quit.set()

    def bring_forward(self) -> None:
        """Show the window in front, from the tray or minimized, as a second start asked."""
        window = self.window
        if window is None:
            return
        window.setWindowState(window.windowState() & ~Qt.WindowState.WindowMinimized)
        window.show()
        window.raise_()
        window.activateWindow()

    def _install_sigint(self):
        # Ctrl-C in the terminal quits in order too. Python sees the signal when the loop next
        # runs Python code, which the refresh timers make happen ten times a second.
        loop = asyncio.get_running_loop()
        return signal.signal(signal.SIGINT, lambda *_: loop.call_soon_threadsafe(self._quit.set))

    # ---------------------------------------------------------------- sessions
    def start_demo(self) -> None:
        if self.session is not None or self.demo is None or self._opening is not None:
            return
        self._open(self.demo, failure="The demo could not start: ", waiting="Starting the demo…")

    def open_saved(self) -> None:
        """The linked accounts' copier, or the welcome saying what is missing or wrong."""
        if self.session is not None or self._opening is not None:
            return
        if not self.store.ready():
            self.window.show_welcome(self.store.describe())
            return
        from copier_gui.watchers import watcher_factories

        build = functools.partial(self.store.session,
                                  services=watcher_factories(self.store.settings, http=self.options.http))
        self._open(build, failure="", waiting="Opening the linked accounts…")

    def _open(self, build: Callable[[], Session], *, failure: str, waiting: str) -> None:
        """Build a session on a thread (reaching terminals, opening the journal and the copy book can
        take a while: a keyring, a terminal package's import, a journal migration), then attach it."""
        self.window.welcome.demo_button.setEnabled(False)
        self.window.statusBar().showMessage(waiting)
        self._opening = asyncio.get_running_loop().create_task(self._build(build, failure),
                                                               name="session-build")

    async def _build(self, build: Callable[[], Session], failure: str) -> None:
        from copier_gui.core.copybook import CopyBookError
        from copier_gui.core.journal_schema import JournalError
        from copier_gui.runtime import RuntimeSetupError

        try:
            session = await _to_thread(build)
        except RuntimeSetupError as exc:
            self._not_opened(f"{failure}{exc.message}")
            return
        except (JournalError, CopyBookError) as exc:
            # A damaged or newer file in the user folder: say which, and leave it as it is.
            self._not_opened(f"{failure}{exc}")
            return
        except Exception as exc:  # a bug must reach the log, and the trader a sentence
            log.exception("building the session failed")
            self._not_opened(f"{failure or 'The copier could not start: '}{type(exc).__name__}: {exc}")
            return
        finally:
            self._opening = None
            if self.window is not None:
                self.window.welcome.demo_button.setEnabled(True)
        if self._leaving or self.window is None:
            await session.shutdown()  # quit while it was being built: it never ran
            return
        self.window.statusBar().clearMessage()
        # The dashboard's switches, modes and account actions are wired as it is built (AccountChanges).
        self.attach(session)

    def _not_opened(self, message: str) -> None:
        if self.window is None:
            return
        self.window.statusBar().clearMessage()
        self.window.show_welcome(message)

    def _apply_saved_theme(self) -> None:
        """The theme chosen in View → Theme last time, unless ``--theme`` chose one for this run."""
        settings = self.store.settings
        if self.options.theme == "auto" and settings is not None and settings.window.theme != palette.choice():
            palette.follow_os(self.app, settings.window.theme)
        self.window.theme_actions[palette.choice()].setChecked(True)

    async def restart_saved(self) -> None:
        """Stop the running session in order and open the saved accounts again (a new master)."""
        session, self.session = self.session, None
        if session is not None:
            self.window.statusBar().showMessage("Restarting the copier with the changed accounts…")
            if self.window.dashboard is not None:
                self.window.dashboard.stop()
            await session.shutdown()
        if not self._leaving:
            self.open_saved()

    def attach(self, session: Session) -> None:
        self.session = session
        self.window.attach(session)
        if self.layout:
            self.window.restore_layout_state(self.layout)
        if self.window.isVisible():
            # The dashboard's first paint (its fonts and plots, 100-300 ms once) happens now,
            # before the copier starts, so it never holds up connecting, reconciling or a copy.
            self.window.repaint()
        session.begin().add_done_callback(self._started)

    def _started(self, task: asyncio.Task) -> None:
        if task.cancelled() or task.exception() is None or self.window is None:
            return
        self.window.statusBar().showMessage(f"The copier could not start: {task.exception()}")

    def open_wizard(self) -> None:
        """Open the account-linking wizard without blocking the loop (``open()``, never ``exec()``)."""
        self.accounts.link()

    @property
    def _wizard(self):
        return self.accounts.wizard if self.window is not None else None

    # ---------------------------------------------------------------- leaving
    def save_screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.window.grab().save(str(path))
        dashboard = self.window.dashboard
        detail = ""
        if dashboard is not None:
            copies = sum(s.copies for s in dashboard.copier.metrics.slaves.values())
            detail = f" ({dashboard.positions_model.rowCount()} master positions, {copies} copies)"
        print(f"screenshot saved to {path}{detail}", flush=True)

    async def shutdown(self) -> None:
        self._leaving = True
        if self._opening is not None:
            # A session still being built is closed as soon as it is (see _build).
            with contextlib.suppress(Exception):
                await asyncio.shield(self._opening)
        if self.window is not None:
            if self.window.dashboard is not None:
                # Nothing more to show: the copier's orderly stop has the loop to itself.
                self.window.dashboard.stop()
            self.layout = self.window.layout_state()
            # Only into a settings file that loaded cleanly: a broken one is never written over.
            self.store.set_geometry(self.layout["geometry"], screen_key(self.window.screen()))
            if self._wizard is not None:
                self._wizard.reject()
        if self.beacon is not None:
            self.beacon.close()
        if self.session is not None:
            await self.session.shutdown()
        if self.window is not None:
            self.window.allow_close()
            self.window.close()


async def _to_thread(call: Callable[[], Session]) -> Session:
    """``call()`` on a thread, awaited to its end even if the caller is cancelled: a session built
    meanwhile would otherwise be left running, with its worker processes and files."""
    built = asyncio.ensure_future(asyncio.to_thread(call))
    try:
        return await asyncio.shield(built)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            session = await built
            await session.shutdown()
        raise


def run_gui(paths: UserPaths, options: GuiOptions, demo: DemoFactory | None = None) -> int:
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "copier-gui"])
    app.setApplicationName("copier_gui")
    app.setWindowIcon(palette.app_icon())
    app.setQuitOnLastWindowClosed(False)
    palette.follow_os(app, options.theme)
    # Python 3.11's asyncio.run has no loop_factory; asyncio.Runner is the same thing.
    with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
        return runner.run(Application(app, paths, options, demo).run())
