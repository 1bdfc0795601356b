"""Headless mode on the trader's linked accounts: what a VPS runs, built by the one builder."""

from __future__ import annotations

import asyncio
import io
import threading

import pytest

from copier_gui import secrets
from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.core.journal import Journal
from copier_gui.headless import run_linked_headless
from copier_gui.paths import user_paths
from copier_gui.runtime import LinkedTerminals
from copier_gui.settings import AccountSettings, Settings
from copier_gui.sim import PROFILES
from copier_gui.stop_signals import CTRL_C_EVENT, CTRL_CLOSE_EVENT, StopSignals
from tests.kit import WeekdayClock
from tests.kit.rig import master_trade

pytestmark = pytest.mark.asyncio


def _linked() -> Settings:
    accounts = [AccountSettings(id="master", role="master", platform="demo", demo_profile="meridian_ecn",
                                login=5001, server=PROFILES["meridian_ecn"].server),
                AccountSettings(id="harbor", role="slave", platform="demo", demo_profile="harbor_fx",
                                login=5002, server=PROFILES["harbor_fx"].server),
                AccountSettings(id="summit", role="slave", platform="demo", demo_profile="summit_netting",
                                login=5003, server=PROFILES["summit_netting"].server)]
    for a in accounts:
        secrets.store_password(secrets.password_key(login=a.login, server=a.server, account_id=a.id), f"pw-{a.id}")
    return Settings(accounts=accounts)


# Simulated brokers trading in real time: on a weekday, so their markets are open whenever this runs.
CLOCK = WeekdayClock()


class _Recording(LinkedTerminals):
    """The production factory, remembering each account's terminal so the test can trade the master."""

    def __init__(self) -> None:
        super().__init__(CLOCK, poll_s=0.005)
        self.apis: dict[str, object] = {}

    def connect(self, account):
        connection = super().connect(account)
        self.apis[account.id] = connection.api
        return connection


async def test_linked_accounts_copy_and_print_a_line_per_copy_and_a_summary(tmp_path):
    paths = user_paths(tmp_path / "home")
    terminals = _Recording()
    out = io.StringIO()

    def trade(copier) -> None:
        loop = asyncio.get_running_loop()
        master = terminals.apis["master"]
        # The master's own trader opens a position in a thread of its own, as a person would.
        loop.run_in_executor(None, master_trade, master, "EURUSD", 0, 0.3)

    metrics = await run_linked_headless(_linked(), paths, duration=4.0, out=out, terminals=terminals,
                                        on_ready=trade, clock=CLOCK)
    text = out.getvalue()
    assert text.startswith(f"copier-gui: master master (5001@{PROFILES['meridian_ecn'].server} at the demo broker "
                           "meridian_ecn), 2 slave(s): harbor"), text
    copies = [line for line in text.splitlines() if " COPY " in line]
    assert {line.split()[2] for line in copies} == {"harbor", "summit"}, text
    assert "Drift summary per slave" in text
    assert metrics.summary()["harbor"]["copies"] == 1
    # Stopped in order and released: the journal is closed and its file holds the run.
    with Journal(paths.journal_file, SYSTEM_CLOCK) as journal:
        kinds = [e.kind for e in journal.entries(newest_first=False)]
    assert "master_event" in kinds and "result" in kinds


async def test_a_stop_request_ends_the_run_in_order_with_the_summary(tmp_path):
    paths = user_paths(tmp_path / "home")
    out = io.StringIO()

    def stop_soon(copier) -> None:
        import os
        import signal

        asyncio.get_running_loop().call_later(0.5, os.kill, os.getpid(), signal.SIGTERM)

    await asyncio.wait_for(run_linked_headless(_linked(), paths, duration=None, out=out, on_ready=stop_soon),
                           timeout=30)
    text = out.getvalue()
    assert "stopping (asked to stop (SIGTERM)): no new entries" in text
    assert text.rstrip().splitlines()[-4].startswith("Drift summary per slave")


class _FakeKernel32:
    """Stands in for Windows' kernel32: remembers the console control handler it is given."""

    def __init__(self) -> None:
        self.handlers = []

    def SetConsoleCtrlHandler(self, routine, add):  # noqa: N802 - the Windows API's name
        if add:
            self.handlers.append(routine)
        else:
            self.handlers.remove(routine)
        return 1


async def test_a_windows_console_close_waits_for_the_copier_to_stop():
    loop = asyncio.get_running_loop()
    asked: list[str] = []
    kernel32 = _FakeKernel32()
    signals = StopSignals(loop, asked.append, platform="win32", kernel32=kernel32, handler_type=lambda fn: fn)
    signals.install()
    (handler,) = kernel32.handlers
    returned = threading.Event()
    answer: list[int] = []

    def windows_calls() -> None:  # Windows runs the handler on a thread of its own
        answer.append(handler(CTRL_CLOSE_EVENT))
        returned.set()

    threading.Thread(target=windows_calls).start()
    await asyncio.sleep(0.2)
    assert asked == ["console closed"]
    # Windows ends the process when the handler returns: it must wait for the copier to stop.
    assert not returned.is_set()
    signals.stopped()
    assert await loop.run_in_executor(None, returned.wait, 2.0)
    assert answer == [1]
    assert handler(CTRL_C_EVENT) == 1  # Ctrl-C is handled here too, and returns at once
    await asyncio.sleep(0)
    assert asked == ["console closed"], "the first request is the one acted on"
    signals.remove()
    assert kernel32.handlers == []


async def test_a_master_that_never_connects_still_stops_on_time(tmp_path):
    settings = _linked()
    asked: dict[str, int] = {}

    def lookup(key: str) -> str:
        # The broker learns the master's password when its terminal is made; every login after
        # that sends another one, as a password changed at the broker would.
        asked[key] = asked.get(key, 0) + 1
        return "wrong" if ":5001" in key and asked[key] > 1 else "right"

    terminals = LinkedTerminals(SYSTEM_CLOCK, poll_s=0.005, password_lookup=lookup)
    out = io.StringIO()
    await asyncio.wait_for(run_linked_headless(settings, user_paths(tmp_path / "home"), duration=2.0, out=out,
                                               terminals=terminals), timeout=20)
    text = out.getvalue()
    # Retried about every second, but shown once: the console is not flooded while it is down.
    assert text.count("login failed for account 5001") == 1, text
    assert "Drift summary per slave" in text

