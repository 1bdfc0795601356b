"""A fan-out is not cut by background work: Python's collector and the journal's writer wait while
every slave's pass hands its request over (and the requests are written), then run as before."""

from __future__ import annotations

import asyncio
import gc
import time

import pytest

from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.core import fanout_quiet
from copier_gui.core.journal import Journal
from tests.kit.rig import Rig


def test_the_collector_waits_while_a_master_change_is_handed_to_every_slave_then_runs_again():
    rig = Rig(slaves=("harbor_fx", "apex_prop", "summit_netting", "harbor_fx"))
    handed: list[tuple[str, bool]] = []
    after: list[bool] = []

    async def script():
        copier = rig.copier()
        for slave in copier.slaves.values():
            real = slave.connector.open

            async def open_(request, real=real, sid=slave.id):
                handed.append((sid, gc.isenabled()))
                return await real(request)

            slave.connector.open = open_
        await copier.start()
        assert gc.isenabled()
        rig.trade("EURUSD", 0, 0.4)
        for _ in range(200):
            await asyncio.sleep(0.01)
            if len(handed) == len(rig.slaves):
                break
        after.append(gc.isenabled())
        await copier.stop()

    rig.run(script)
    assert sorted(sid for sid, _ in handed) == sorted(rig.slaves)
    assert [on for _, on in handed] == [False] * len(rig.slaves)  # paused through every hand-over
    assert after == [True]  # and running again once they are out


def test_a_collector_someone_else_paused_stays_paused_after_a_fan_out():
    rig = Rig()

    async def script():
        copier = rig.copier()
        await copier.start()
        gc.disable()
        try:
            rig.trade("EURUSD", 0, 0.4)
            for _ in range(50):
                await asyncio.sleep(0.01)
            return gc.isenabled()
        finally:
            gc.enable()
            await copier.stop()

    assert rig.run(script) is False
    assert all(rig.held(sid) for sid in rig.slaves)


def test_a_copier_stopped_before_the_collector_resumed_turns_it_on_again():
    """A crash or a stop between the pause and its resume must not leave the process without one."""
    rig = Rig(slaves=("harbor_fx",))

    async def script():
        copier = rig.copier()
        await copier.start()
        fanout_quiet.hold(asyncio.get_running_loop())
        assert not gc.isenabled()
        copier.abandon()  # before the loop's next turn: the resume has not run
        return gc.isenabled()

    try:
        assert rig.run(script) is True
    finally:
        gc.enable()


def test_a_pause_whose_loop_never_turns_again_ends_by_itself():
    """A loop stopped or closed between the pause and its resume (a window closed mid fan-out, a
    test's loop torn down) must not leave the process without a collector for the rest of its life."""

    loop = asyncio.new_event_loop()
    try:
        fanout_quiet.hold(loop)  # its resume is queued on a loop that never runs again
        assert not gc.isenabled() and fanout_quiet.held()
        deadline = time.monotonic() + fanout_quiet.LONGEST_PAUSE_S + 2.0
        while not gc.isenabled() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gc.isenabled() and not fanout_quiet.held()
    finally:
        loop.close()
        gc.enable()


def test_a_second_fan_out_while_the_first_holds_the_collector_keeps_it_paused_and_resumes_it():
    async def two_fan_outs() -> list[bool]:
        loop = asyncio.get_running_loop()
        fanout_quiet.hold(loop)
        fanout_quiet.hold(loop)  # the pause is this module's: it is renewed, not taken for someone else's
        seen = [gc.isenabled()]
        for _ in range(3):
            await asyncio.sleep(0)
        seen.append(gc.isenabled())
        return seen

    try:
        assert asyncio.run(two_fan_outs()) == [False, True]
        assert not fanout_quiet.held()
    finally:
        gc.enable()


def _committed(path) -> int:
    import sqlite3

    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]


@pytest.fixture
def quiet_loop():
    """A loop that never turns: a hold made on it ends only by release() or the keeper."""
    loop = asyncio.new_event_loop()
    try:
        yield loop
    finally:
        fanout_quiet.release()
        loop.close()
        gc.enable()


@pytest.fixture
def journal_file(tmp_path):
    """A journal on a file, its writer beating every 10 ms, and how many entries it held at first."""
    path = tmp_path / "journal.sqlite3"
    journal = Journal(path, SYSTEM_CLOCK, batch_interval_s=0.01)
    journal.flush()
    try:
        yield journal, path, _committed(path)
    finally:
        journal.close()


def test_the_journal_writes_nothing_while_a_fan_out_holds_and_everything_once_it_ends(quiet_loop, journal_file):
    """The writer's batches fell inside fan-outs and took the interpreter from the loop there."""
    journal, path, before = journal_file
    fanout_quiet.hold(quiet_loop)
    for i in range(20):
        journal.record("copy", f"entry {i}")
    time.sleep(0.1)  # ten of the writer's beats
    held_count = _committed(path)
    fanout_quiet.release()
    journal.flush()
    assert held_count == before
    assert _committed(path) == before + 20


def test_a_hold_nobody_ends_holds_the_journal_no_longer_than_the_longest_pause(quiet_loop, journal_file):
    journal, path, before = journal_file
    fanout_quiet.hold(quiet_loop)
    started = time.monotonic()
    journal.record("copy", "held")
    time.sleep(0.05)  # the writer takes the entry and waits (a flush now would be served at once)
    while _committed(path) == before and time.monotonic() - started < fanout_quiet.LONGEST_PAUSE_S + 1.0:
        time.sleep(0.01)
    assert _committed(path) == before + 1
    deadline = time.monotonic() + fanout_quiet.LONGEST_PAUSE_S + 2.0
    while fanout_quiet.held() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not fanout_quiet.held()  # the keeper ended it


def test_a_collector_someone_else_paused_still_holds_the_journal_and_stays_paused(quiet_loop):
    gc.disable()
    fanout_quiet.hold(quiet_loop)
    assert fanout_quiet.held() and not fanout_quiet.wait_while_held(0.01)
    fanout_quiet.release()
    assert not fanout_quiet.held() and fanout_quiet.wait_while_held(0.01)
    assert not gc.isenabled()  # not this module's to turn on


def test_a_flush_during_a_fan_out_s_hold_is_served_at_once_not_after_the_hold(quiet_loop, journal_file):
    """A caller blocked on the writer, perhaps on the very loop whose next turn ends the hold (a
    read of the journal in the window's thread), must not wait for the hold to run out."""
    journal, path, before = journal_file
    started = _held_with(journal, quiet_loop, 200)
    journal.flush()
    waited = time.monotonic() - started
    assert fanout_quiet.held()  # the hold is still on: the flush did not wait it out
    assert _committed(path) == before + 200
    assert waited < fanout_quiet.LONGEST_PAUSE_S / 2


def _held_with(journal: Journal, loop: asyncio.AbstractEventLoop, entries: int) -> float:
    """A fan-out holds, with ``entries`` recorded meanwhile; the time now."""
    fanout_quiet.hold(loop)
    for i in range(entries):
        journal.record("copy", f"entry {i}")
    return time.monotonic()


def test_a_journal_closed_during_a_fan_out_s_hold_closes_at_once(quiet_loop, journal_file):
    journal, path, before = journal_file
    started = _held_with(journal, quiet_loop, 50)
    journal.close()
    assert time.monotonic() - started < fanout_quiet.LONGEST_PAUSE_S / 2
    assert _committed(path) == before + 50
