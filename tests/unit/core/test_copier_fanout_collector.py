"""A fan-out is not cut by the garbage collector: Python's collector waits while every slave's
pass hands its request over (and the requests are written), then runs as before."""

from __future__ import annotations

import asyncio
import gc

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
    from copier_gui.core.fanout_gc import hold_collector

    rig = Rig(slaves=("harbor_fx",))

    async def script():
        copier = rig.copier()
        await copier.start()
        hold_collector(asyncio.get_running_loop())
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
    import time

    from copier_gui.core.fanout_gc import LONGEST_PAUSE_S, collector_held, hold_collector

    loop = asyncio.new_event_loop()
    try:
        hold_collector(loop)  # its resume is queued on a loop that never runs again
        assert not gc.isenabled() and collector_held()
        deadline = time.monotonic() + LONGEST_PAUSE_S + 2.0
        while not gc.isenabled() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gc.isenabled() and not collector_held()
    finally:
        loop.close()
        gc.enable()


def test_a_second_fan_out_while_the_first_holds_the_collector_keeps_it_paused_and_resumes_it():
    from copier_gui.core.fanout_gc import collector_held, hold_collector

    async def two_fan_outs() -> list[bool]:
        loop = asyncio.get_running_loop()
        hold_collector(loop)
        hold_collector(loop)  # the pause is this module's: it is renewed, not taken for someone else's
        seen = [gc.isenabled()]
        for _ in range(3):
            await asyncio.sleep(0)
        seen.append(gc.isenabled())
        return seen

    try:
        assert asyncio.run(two_fan_outs()) == [False, True]
        assert not collector_held()
    finally:
        gc.enable()
