"""When the transport knows why a worker went (a remote host's lease lapsed, the host said so), the
connector says that, not the local-process guess "its process exited"."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest

from copier_gui.workers.config import SimTerminal, WorkerConfig
from copier_gui.workers.connector import WorkerConnector
from tests.kit.workers import RecordingHost

pytestmark = [pytest.mark.asyncio,
              pytest.mark.skipif(sys.platform == "win32", reason="kills workers with POSIX signals")]

LAPSED = "its worker host's lease lapsed (no renewal for 5 s)"


class _Told:
    """A worker handle whose transport gives the reason it went, as a NATS worker's does."""

    def __init__(self, process) -> None:
        self._process = process
        self.pid = process.pid

    def alive(self) -> bool:
        return self._process.alive()

    def kill(self) -> None:
        self._process.kill()

    def wait(self, timeout: float) -> bool:
        return self._process.wait(timeout)

    @property
    def exitcode(self) -> int | None:
        return None

    @property
    def reason(self) -> str:
        return "" if self._process.alive() else LAPSED


class TellingHost(RecordingHost):
    def start(self, config):
        channel, process = super().start(config)
        return channel, _Told(process)


async def test_the_transports_reason_is_what_the_state_and_the_error_say():
    config = WorkerConfig("w1", SimTerminal("meridian_ecn", seed=4, account={"login": 11}), heartbeat_s=0.05)
    connector = WorkerConnector(config, host=TellingHost(), hello_timeout_s=30, request_timeout_s=30,
                                restart_backoff_s=(5.0,))
    details: list[str] = []
    connector.subscribe(lambda account, state, detail: details.append(detail))
    try:
        await connector.connect()
        os.kill(connector.pid, signal.SIGKILL)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while connector.state != "disconnected":
            assert loop.time() < deadline, "the worker's end was not seen"
            await asyncio.sleep(0.01)
        assert connector.state_detail == f"the worker process stopped: {LAPSED}"
        assert not any("its process exited" in d or "killed by signal" in d for d in details), details
        with pytest.raises(Exception, match="lease lapsed"):
            await connector.account()
    finally:
        await connector.aclose()
