"""The test loop stays the running loop while Qt runs its events between two ``run`` calls.

In the application, qasync's loop runs for the window's whole life, so every callback Qt fires finds
it running. A test runs the loop in pieces (``run``); in between, pytest-qt processes Qt's events
after each phase, and qasync does too as ``run_until_complete`` returns. A task whose timer falls
due then (the copier's 5 ms poll) was stepped with no running loop, and asyncio.get_running_loop()
raised in it: the copier's poll task died, and a test waited in vain for a copy.
"""

from __future__ import annotations

import asyncio
import time


def test_a_task_stepped_by_qt_between_runs_finds_its_loop_running(loop, run, qapp):
    steps: list[asyncio.AbstractEventLoop] = []

    async def ticker():
        while True:
            await asyncio.sleep(0.001)
            steps.append(asyncio.get_running_loop())

    task = None

    async def start():
        nonlocal task
        task = asyncio.get_running_loop().create_task(ticker())
        await asyncio.sleep(0.005)

    run(start)
    before = len(steps)
    deadline = time.monotonic() + 1.0
    while len(steps) == before and time.monotonic() < deadline:
        time.sleep(0.002)
        qapp.processEvents()  # as pytest-qt does between a test's setup and its call
    assert not task.done(), task.exception()
    assert len(steps) > before, "Qt's events did not step the task between runs"
    assert all(found is loop for found in steps)

    async def later():
        await asyncio.sleep(0.005)

    run(later)
    assert not task.done()
    task.cancel()
