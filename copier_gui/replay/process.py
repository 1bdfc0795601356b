"""The copier as one supervised process in a replay: started, killed by a crash, started again.

A crash may strike while the copier runs, while it is still starting, or while it is down; in every
case at most one copier exists, and it restarts once, when the last crash's delay is over.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Protocol

from copier_gui.core.copier import Copier


class _Closeable(Protocol):
    def close(self) -> None: ...


class CopierProcess:
    """Owns the one copier of a run.

    ``build()`` makes a fresh copier (new connectors, the same files) and the files it holds open,
    which a crash closes as a dying process's would be.
    """

    def __init__(self, build: Callable[[], tuple[Copier, list[_Closeable]]], *,
                 say: Callable[[str], None]) -> None:
        self._build = build
        self._say = say
        self._copier: Copier | None = None
        self._files: list[_Closeable] = []
        self._life: asyncio.Task | None = None
        self._restart: asyncio.Task | None = None
        self._restart_at = 0.0
        self.crashes = 0
        self.starts = 0

    @property
    def running(self) -> bool:
        return self._copier is not None

    @property
    def copier(self) -> Copier | None:
        """The copier running now; None while it is down."""
        return self._copier

    def launch(self) -> None:
        """Start a copier; its start-up (connect, reconcile) runs as this process's life task."""
        if self._copier is not None:
            raise RuntimeError("a copier is already running: replay never runs two at once")
        self._copier, self._files = self._build()
        self.starts += 1
        self._life = asyncio.get_running_loop().create_task(self._copier.start(), name="copier-start")
        self._life.add_done_callback(self._started)

    def _started(self, life: asyncio.Task) -> None:
        if not life.cancelled() and life.exception() is not None:
            # A bug, not a scenario's doing: the report says so instead of the run dying with it.
            self._say(f"copier failed while starting: {life.exception()!r}")

    def crash(self, restart_after_s: float) -> None:
        """Kill the copier wherever it is, with no clean-up, and restart it ``restart_after_s`` later.

        A crash while the copier is down only postpones the restart, if its delay ends later.
        """
        loop = asyncio.get_running_loop()
        self.crashes += 1
        if self._copier is not None:
            self._say("copier crashed")
            self._kill()
        else:
            self._say("copier crashed while down")
        self._restart_at = max(self._restart_at, loop.time() + restart_after_s)
        if self._restart is None:
            self._restart = loop.create_task(self._restart_later(), name="copier-restart")

    async def _restart_later(self) -> None:
        loop = asyncio.get_running_loop()
        while loop.time() < self._restart_at:
            await asyncio.sleep(self._restart_at - loop.time())
        self._restart = None
        self._say("copier restarted")
        self.launch()

    def _kill(self) -> None:
        assert self._copier is not None
        if self._life is not None and not self._life.done():
            self._life.cancel()
        self._copier.abandon()
        self._close_files()

    def _close_files(self) -> None:
        for file in self._files:
            file.close()
        self._copier, self._files, self._life = None, [], None

    async def stop(self) -> None:
        """The end of the run: a clean shutdown of whatever runs, and no restart after it."""
        if self._restart is not None:
            self._restart.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._restart
            self._restart = None
        if self._copier is None:
            return
        if self._life is not None and not self._life.done():
            # Still connecting (a master that never came back): stop waiting for it.
            self._life.cancel()
        if self._life is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._life
        await self._copier.stop()
        self._close_files()
