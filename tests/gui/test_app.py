"""The application as ``copier-gui`` starts it: first run, the demo, saved accounts, shutdown.

Each test runs :class:`Application` on its own qasync loop, with the terminals on worker threads.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage

from copier_gui.assembly import build_runtime
from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.demo.rig import DemoTerminals, demo_settings
from copier_gui.demo.session import demo_session
from copier_gui.paths import user_paths
from copier_gui.settings import AccountSettings, Settings, save_settings
from copier_gui.ui.app import Application, GuiOptions
from copier_gui.ui.session import Session
from tests.gui.conftest import dispose, until


@pytest.fixture
def start(qapp, tmp_path):
    """Makes the Application under test; its window is deleted on this thread afterwards."""
    made: list[Application] = []

    def make(*, slaves: int = 3, strategy_interval_s: float = 2.0, **options) -> Application:
        paths = user_paths(tmp_path / "home")
        demo = functools.partial(demo_session, slaves, paths, strategy_interval_s=strategy_interval_s, workers=True)
        app = Application(qapp, paths, GuiOptions(**options), demo)
        made.append(app)
        return app

    yield make
    for app in made:
        if app.window is not None:
            app.window.allow_close()
            dispose(app.window)


def test_demo_runs_trades_saves_a_screenshot_and_shuts_down_in_order(start, run, tmp_path, capsys):
    shot = tmp_path / "shots" / "demo.png"
    app = start(demo=True, slaves=2, duration=4.0, screenshot=shot, strategy_interval_s=0.3)
    assert run(app.run) == 0

    image = QImage(str(shot))
    # The window fits the screen it opens on (the test platform's is 800x600), at most 1600 wide.
    screen = QGuiApplication.primaryScreen().availableGeometry()
    assert not image.isNull() and min(1024, screen.width()) <= image.width() <= 1600
    assert "screenshot saved to" in capsys.readouterr().out
    session = app.session
    assert session.demo and session._closed
    # The copier stopped, its workers are gone, and the window really closed.
    assert not session.copier._tasks
    for account in [session.rig.master, *session.rig.slaves]:
        if account.invoker is not None:
            assert account.invoker._executor._shutdown
        elif type(account.connector).__name__ == "CTraderConnector":
            # A cTrader slave's session ended with the copier, and the demo's server was stopped.
            assert account.connector._closed and session.rig.ctrader.server is None
        else:  # the demo's terminals run in worker processes: each one was shut down
            assert account.connector._closed and account.connector.pid is None
    assert not app.window.isVisible()
    assert session.copier.metrics.copies, "the strategy traded and the slaves copied"
    settings = json.loads((tmp_path / "home" / "settings.json").read_text())
    assert settings["window"]["geometry"], "the window's geometry is remembered"


def test_first_run_shows_the_welcome_and_try_the_demo_starts_it(start, run, tmp_path, qtbot):
    app = start()

    async def script():
        task = asyncio.ensure_future(app.run())
        await until(lambda: app.window is not None and app.window.isVisible())
        window = app.window
        assert window.pages.currentWidget() is window.welcome
        assert window.dashboard is None
        qtbot.mouseClick(window.welcome.demo_button, Qt.MouseButton.LeftButton)
        await until(lambda: window.dashboard is not None, what="the demo's dashboard")
        assert window.pages.currentWidget() is window.dashboard
        assert "DEMO" in window.windowTitle()
        await until(lambda: app.session.started, what="the demo copier to start")
        window.close()  # the close button asks for the ordered shutdown
        await task

    run(script)
    assert app.session._closed and not app.window.isVisible()


def test_link_an_account_opens_the_wizard_without_blocking(start, run, tmp_path, qtbot):
    app = start()

    async def script():
        task = asyncio.ensure_future(app.run())
        await until(lambda: app.window is not None and app.window.isVisible())
        qtbot.mouseClick(app.window.welcome.link_button, Qt.MouseButton.LeftButton)
        wizard = app._wizard
        assert wizard is not None and wizard.isVisible()
        await asyncio.sleep(0.05)  # the loop keeps running while the wizard is open
        wizard.reject()
        await until(lambda: app._wizard is None)
        app.request_quit()
        await task

    run(script)


def test_a_linked_master_without_slaves_says_what_is_missing(start, run, tmp_path):
    paths = user_paths(tmp_path / "home")
    master = AccountSettings(id="master", role="master", platform="demo", demo_profile="meridian_ecn")
    save_settings(Settings(accounts=[master]), paths.settings_file)
    app = start(duration=0.3)
    run(app.run)
    assert app.window.pages.currentWidget() is app.window.welcome
    text = app.window.welcome.message.text()
    assert "master (master)" in text and "at least one slave" in text


def test_a_corrupt_settings_file_is_explained_and_never_written_over(start, run, tmp_path):
    paths = user_paths(tmp_path / "home")
    paths.ensure()
    paths.settings_file.write_text('{"accounts": [ broken')
    app = start(duration=0.3)
    run(app.run)
    message = app.window.welcome.message.text()
    assert str(paths.settings_file) in message
    assert paths.settings_file.read_text() == '{"accounts": [ broken'


def test_saved_accounts_open_the_dashboard_and_switches_are_remembered(start, run, tmp_path):
    paths = user_paths(tmp_path / "home")
    save_settings(Settings(accounts=[
        AccountSettings(id="master", role="master", platform="demo", demo_profile="meridian_ecn"),
        AccountSettings(id="harbor", role="slave", platform="demo", demo_profile="harbor_fx"),
    ]), paths.settings_file)
    app = start()

    async def script():
        task = asyncio.ensure_future(app.run())
        await until(lambda: app.session is not None and app.session.started, what="the saved accounts")
        dashboard = app.window.dashboard
        assert "DEMO" not in app.window.windowTitle()
        assert list(dashboard.copier.slaves) == ["harbor"]
        dashboard.toggle_copying()
        model = dashboard.accounts_model
        model.setData(model.copy_index("harbor"), Qt.CheckState.Unchecked, Qt.ItemDataRole.CheckStateRole)
        app.request_quit()
        await task

    run(script)
    saved = json.loads(paths.settings_file.read_text())
    assert saved["copying"] is False
    assert [a["copy_enabled"] for a in saved["accounts"] if a["id"] == "harbor"] == [False]


def test_the_welcome_offers_the_demo_only_when_given_one(qapp, start, run, tmp_path):
    with_demo = start(duration=0.3)
    run(with_demo.run)
    assert not with_demo.window.welcome.demo_button.isHidden()

    without = Application(qapp, user_paths(tmp_path / "bare"), GuiOptions(duration=0.3))
    try:
        run(without.run)
        assert without.window.welcome.demo_button.isHidden()
    finally:
        dispose(without.window)


def test_a_damaged_journal_is_explained_in_the_window_and_left_untouched(start, run, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    journal = home / "journal.sqlite3"
    journal.write_bytes(b"not a journal\n" * 10)
    app = start(demo=True, duration=0.5)
    assert run(app.run) == 0
    assert app.session is None
    shown = app.window.welcome.message.text()
    assert shown.startswith("The demo could not start: cannot open the journal") and str(journal) in shown
    assert journal.read_bytes() == b"not a journal\n" * 10


class SlowDemoTerminals(DemoTerminals):
    """The demo's brokers, each taking 300 ms to reach: what a slow keyring or the MetaTrader5
    package's import costs a trader's own accounts."""

    def connect(self, account):
        time.sleep(0.3)
        return super().connect(account)


async def _tick(ticks: list[float]) -> None:
    while True:
        ticks.append(time.perf_counter())
        await asyncio.sleep(0.005)


def test_accounts_are_reached_off_the_loop_so_the_window_keeps_painting(qapp, run, tmp_path):
    paths = user_paths(tmp_path / "home")
    built: list[tuple[float, float]] = []

    def slow_demo() -> Session:
        began = time.perf_counter()
        terminals = SlowDemoTerminals(clock=SYSTEM_CLOCK)
        runtime = build_runtime(demo_settings(2), paths, SYSTEM_CLOCK, terminals=terminals, durable=False)
        built.append((began, time.perf_counter()))
        return Session(runtime, demo=True, title="slow demo", rig=terminals)

    app = Application(qapp, paths, GuiOptions(demo=True), slow_demo)
    ticks: list[float] = []

    async def script():
        probe = asyncio.ensure_future(_tick(ticks))
        task = asyncio.ensure_future(app.run())
        await until(lambda: app.session is not None and app.session.started, what="the slow demo to start")
        app.request_quit()
        await task
        probe.cancel()

    try:
        run(script)
    finally:
        app.window.allow_close()
        dispose(app.window)
    (began, ended), = built
    assert ended - began >= 0.9  # three accounts, 300 ms each
    # Every gap between the loop's ticks while the accounts were being reached, in ms (up to the
    # build's last moments: its end hands the session to the loop, which builds the dashboard).
    during = [(a, b) for a, b in zip(ticks, ticks[1:], strict=False) if b > began and a < ended - 0.02]
    worst = max(during, key=lambda gap: gap[1] - gap[0])
    assert len(during) > 20 and worst[1] - worst[0] < 0.05, (
        f"the loop stalled {(worst[1] - worst[0]) * 1000:.0f} ms while accounts connected "
        f"({worst[0] - began:+.3f} s from the start of the build, which took {ended - began:.3f} s)")
    assert app.session._closed


def test_the_dashboard_is_painted_before_the_copier_starts_and_stops_refreshing_at_quit(qapp, run, tmp_path):
    # A first paint (fonts, plots) takes 100-300 ms once; done before the copier starts, it never
    # holds up connecting or a first copy. At quit the copier's orderly stop has the loop alone.
    from PySide6.QtCore import QEvent, QObject

    from copier_gui.ui.dashboard import Dashboard

    paths = user_paths(tmp_path / "home")
    order: list[str] = []

    class Painted(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Paint and isinstance(obj, Dashboard) and "painted" not in order:
                order.append("painted")
            return False

    def demo() -> Session:
        session = demo_session(1, paths, inline=True, trade=False)
        begin = session.begin

        def begun():
            order.append("begun")
            return begin()

        session.begin = begun
        return session

    painted = Painted()
    qapp.installEventFilter(painted)
    app = Application(qapp, paths, GuiOptions(demo=True), demo)
    refreshing: list[bool] = []

    async def script():
        task = asyncio.ensure_future(app.run())
        await until(lambda: app.session is not None and app.session.started, what="the demo to start")
        dashboard = app.window.dashboard
        app.request_quit()
        await until(lambda: app.session._closed, what="the shutdown")
        refreshing.append(dashboard.timer.isActive())
        await task

    try:
        run(script)
    finally:
        qapp.removeEventFilter(painted)
        app.window.allow_close()
        dispose(app.window)
    assert order[:2] == ["painted", "begun"]
    assert refreshing == [False]


def test_a_new_master_restarts_the_session_and_the_theme_is_remembered(start, run, tmp_path):
    from copier_gui.ui import palette

    paths = user_paths(tmp_path / "home")
    save_settings(Settings(accounts=[
        AccountSettings(id="master", role="master", platform="demo", demo_profile="meridian_ecn"),
        AccountSettings(id="harbor", role="slave", platform="demo", demo_profile="harbor_fx"),
    ]), paths.settings_file)
    app = start()

    async def script():
        task = asyncio.ensure_future(app.run())
        await until(lambda: app.session is not None and app.session.started, what="the saved accounts")
        first = app.session
        app.window.theme_actions["light"].trigger()
        app.accounts.set_master("harbor")
        await until(lambda: app.session is not None and app.session is not first and app.session.started,
                    what="the session to restart with the new master")
        assert first._closed
        assert app.session.copier.master_id == "harbor" and list(app.session.copier.slaves) == ["master"]
        assert [r.id for r in app.window.dashboard.accounts_model.rows()] == ["harbor", "master"]
        app.request_quit()
        await task

    try:
        run(script)
    finally:
        palette.follow_os(QGuiApplication.instance(), "auto")
    saved = json.loads(paths.settings_file.read_text())
    assert saved["window"]["theme"] == "light"
    assert {a["id"]: a["role"] for a in saved["accounts"]} == {"master": "slave", "harbor": "master"}
