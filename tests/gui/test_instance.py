"""One copier per user folder, as a user meets it: a second start brings the running window forward."""

from __future__ import annotations

import asyncio
import functools
import subprocess
import sys

import pytest

from copier_gui.instance import EXIT_ALREADY_RUNNING, InstanceLock
from copier_gui.paths import user_paths
from copier_gui.ui.app import Application, GuiOptions
from copier_gui.ui.instance import RaiseServer, raise_running_window
from tests.gui.conftest import dispose, until


@pytest.fixture
def paths(tmp_path):
    return user_paths(tmp_path / "home")


def test_a_second_window_start_brings_the_running_one_forward_and_exits(qapp, run, paths):
    lock = InstanceLock(paths).acquire()  # what the command line does before the first window opens
    app = Application(qapp, paths, GuiOptions())
    raised: list[bool] = []

    async def script() -> subprocess.CompletedProcess:
        task = asyncio.ensure_future(app.run())
        await until(lambda: app.window is not None and app.window.isVisible())
        app.beacon.raiseRequested.connect(lambda: raised.append(True))
        app.window.showMinimized()
        # A real second start, in its own process, on the same folder.
        second = functools.partial(subprocess.run, [sys.executable, "-m", "copier_gui", "--home", str(paths.root)],
                                   capture_output=True, text=True, timeout=60)
        result = await asyncio.get_running_loop().run_in_executor(None, second)
        await until(lambda: raised, what="the raise request")
        assert not app.window.isMinimized() and app.window.isVisible()
        app.request_quit()
        await task
        return result

    try:
        result = run(script)
    finally:
        lock.release()
        if app.window is not None:
            dispose(app.window)
    assert result.returncode == EXIT_ALREADY_RUNNING, result.stderr
    assert f"already running for the user folder {paths.root}" in result.stderr
    assert "its window was brought to the front" in result.stderr
    assert "Traceback" not in result.stderr


def test_without_a_running_window_nobody_answers(paths):
    assert raise_running_window(paths, timeout_ms=500) is False


def test_the_beacon_of_one_folder_does_not_answer_for_another(qapp, run, tmp_path):
    beacon = RaiseServer(user_paths(tmp_path / "one"))
    assert beacon.listen()
    heard: list[bool] = []
    beacon.raiseRequested.connect(lambda: heard.append(True))

    async def ask(home):
        # From another process, as a second start asks; Qt's blocking socket calls are not made
        # for a thread of the process that serves the answer.
        code = ("import sys; from copier_gui.paths import user_paths; "
                "from copier_gui.ui.instance import raise_running_window; "
                "print(raise_running_window(user_paths(sys.argv[1]), 2000))")
        second = functools.partial(subprocess.run, [sys.executable, "-c", code, str(home)], capture_output=True,
                                   text=True, timeout=60, check=True)
        result = await asyncio.get_running_loop().run_in_executor(None, second)
        return result.stdout.strip() == "True"

    try:
        assert run(lambda: ask(tmp_path / "two")) is False
        assert not heard
        assert run(lambda: ask(tmp_path / "one")) is True
        assert heard == [True]
    finally:
        beacon.close()
        dispose(beacon)
