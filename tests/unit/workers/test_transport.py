"""Starting local worker processes: each runs below the core from its first instruction."""

from __future__ import annotations

import os
import sys

import pytest

from copier_gui.workers.config import SimTerminal, WorkerConfig
from copier_gui.workers.connector import WorkerConnector
from copier_gui.workers.transport import PipeHost
from tests.kit.workers import silent_worker

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX priorities")


def config(nice: int) -> WorkerConfig:
    return WorkerConfig("w1", SimTerminal("meridian_ecn", seed=4, account={"login": 11}), heartbeat_s=0.05,
                        nice=nice)


def below_the_core(nice: int) -> int:
    return min(19, os.getpriority(os.PRIO_PROCESS, 0) + nice)


def test_a_worker_runs_below_the_core_before_it_has_imported_anything():
    # A new interpreter importing the copier takes a core for a moment; twenty of them at the
    # core's priority starved the window while the demo started. The worker here never lowers
    # itself: the priority it has is the one it was started with.
    channel, process = PipeHost(silent_worker).start(config(nice=7))
    try:
        assert os.getpriority(os.PRIO_PROCESS, process.pid) == below_the_core(7)
    finally:
        process.kill()
        process.wait(5.0)
        channel.close()


def test_a_running_worker_is_lowered_once_not_twice():
    import asyncio

    async def run() -> int:
        connector = WorkerConnector(config(nice=3), hello_timeout_s=30, request_timeout_s=30)
        try:
            await connector.connect()
            return os.getpriority(os.PRIO_PROCESS, connector.pid)
        finally:
            await connector.aclose()

    assert asyncio.run(run()) == below_the_core(3)


def test_nice_zero_leaves_the_worker_at_the_core_priority():
    channel, process = PipeHost(silent_worker).start(config(nice=0))
    try:
        assert os.getpriority(os.PRIO_PROCESS, process.pid) == os.getpriority(os.PRIO_PROCESS, 0)
    finally:
        process.kill()
        process.wait(5.0)
        channel.close()
