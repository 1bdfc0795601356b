"""Fixtures for the window's tests: a qasync loop per test (closed after it), a demo, model checks.

The demo runs inline, master traded by the test, on real time shifted to a weekday noon.
"""

from __future__ import annotations

import asyncio
import gc
import time

import pytest
import qasync
from PySide6.QtCore import QCoreApplication, QEvent

from copier_gui.demo.session import demo_session
from copier_gui.paths import user_paths
from copier_gui.ui.main_window import MainWindow
from tests.kit import WeekdayClock


@pytest.fixture(autouse=True)
def collect_on_the_gui_thread():
    """Free each test's garbage here, on the GUI thread, once the test is done.

    A qasync loop and its Qt helper objects form a reference cycle; left to the collector, they
    would be destroyed on whichever thread it next runs on (a journal writer, a terminal worker),
    and destroying Qt objects off the GUI thread crashes the process some tests later.
    """
    yield
    gc.collect()


class _TestLoop(qasync.QEventLoop):
    """qasync's loop, left the running loop between the pieces a test runs it in.

    The application runs its loop for the window's whole life, so every callback Qt fires finds it
    running. A test runs it piece by piece (``run``), and Qt's events are processed in between:
    by qasync as ``run_until_complete`` returns, and by pytest-qt after each phase of a test. A
    task whose timer fell due then (the copier's 5 ms poll) was stepped with no running loop, its
    asyncio.get_running_loop() raised, and the copier's poll task died mid-test."""

    def run_forever(self):
        try:
            return super().run_forever()
        finally:
            asyncio.events._set_running_loop(self)


@pytest.fixture
def loop(qapp):
    loop = _TestLoop(qapp)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        asyncio.events._set_running_loop(None)
        loop.close()
        asyncio.set_event_loop(None)


@pytest.fixture
def run(loop):
    def run(coro_fn, timeout: float = 60.0):
        return loop.run_until_complete(asyncio.wait_for(coro_fn(), timeout))

    return run


def dispose(*objects) -> None:
    """Close and delete Qt objects now, on this (the GUI) thread.

    Left to Python's garbage collector, a window would be destroyed whenever a collection runs,
    possibly on a terminal's worker thread, and Qt objects must die on the GUI thread.
    """
    for obj in objects:
        if hasattr(obj, "close"):
            obj.close()
        obj.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


async def until(predicate, timeout: float = 15.0, what: str = "the window") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
def model_check(request, qapp):
    """Attach pytest-qt's model tester and Qt's own to a model; both recheck every later change.

    pytest-qt's Python tester raises inside the slot (pytest-qt fails the test); Qt's C++ tester
    only logs "FAIL!" warnings, so those are collected here and fail the test at the end.
    """
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler
    from PySide6.QtTest import QAbstractItemModelTester
    from pytestqt.modeltest import ModelTester

    failures: list[str] = []

    def handler(kind, context, message):
        if kind != QtMsgType.QtDebugMsg and "FAIL!" in message:
            failures.append(message)

    previous = qInstallMessageHandler(handler)
    testers: list = []

    def check(model) -> None:
        python = ModelTester(request.config)
        python.check(model, force_py=True)
        native = QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Warning)
        testers.append((python, native))

    try:
        yield check
    finally:
        qInstallMessageHandler(previous)
        for python, _native in testers:
            python._cleanup()
    assert not failures, "\n".join(failures)


class Demo:
    """A live demo session in a main window; ``trade`` sends orders at the simulated master."""

    def __init__(self, window: MainWindow, session) -> None:
        self.window = window
        self.session = session
        self.copier = session.copier
        self.dashboard = window.dashboard
        self.master = session.rig.master.terminal

    def trade(self, symbol: str, volume: float, *, buy: bool = True, position: int | None = None) -> int:
        t = self.master
        tick = t.symbol_info_tick(symbol)
        request = {"action": t.TRADE_ACTION_DEAL, "symbol": symbol, "volume": float(volume),
                   "type": t.ORDER_TYPE_BUY if buy else t.ORDER_TYPE_SELL,
                   "price": tick.ask if buy else tick.bid, "deviation": 50,
                   "type_filling": t.ORDER_FILLING_IOC, "magic": 11}
        if position is not None:
            request["position"] = position
        result = t.order_send(request)
        assert result is not None and result.retcode == t.TRADE_RETCODE_DONE, result
        return result.order if position is None else position

    def close(self, ticket: int, volume: float | None = None) -> None:
        pos = next(p for p in self.master.positions_get() if p.ticket == ticket)
        self.trade(pos.symbol, volume if volume is not None else pos.volume,
                   buy=pos.type != self.master.POSITION_TYPE_BUY, position=ticket)

    def master_ticket(self) -> int:
        positions = self.master.positions_get()
        return positions[-1].ticket

    def slave_positions(self, slave_id: str) -> list:
        terminal = next(s.terminal for s in self.session.rig.slaves if s.id == slave_id)
        if not hasattr(terminal, "positions_get"):
            # A cTrader account has no terminal: its broker's own books, in the same shape.
            terminal.engine.refresh()
            return list(terminal.engine.positions_tuples())
        return list(terminal.positions_get() or ())


@pytest.fixture
def demo(qtbot, loop, run, tmp_path):
    """A started 3-slave demo in a shown main window; shut down and closed after the test."""
    clock = WeekdayClock()
    session = demo_session(3, user_paths(tmp_path / "home"), clock=clock, inline=True, trade=False)
    # Not handed to qtbot: it would close the window before this fixture shuts the copier down.
    window = MainWindow(clock=clock.time, tray=False)
    window.attach(session)
    window.show()

    async def start():
        await session.begin()

    run(start)
    try:
        yield Demo(window, session)
    finally:
        run(session.shutdown)
        window.allow_close()
        dispose(window)
