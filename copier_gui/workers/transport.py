"""How messages travel between the core and a worker (a ``Channel`` of bytes) and how a worker is
started (a ``WorkerHost``): local spawned processes and pipes today, a NATS host later.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import multiprocessing.connection
import os
import selectors
import sys
from collections.abc import Callable
from typing import Any, Protocol


class ChannelClosed(Exception):
    """The other end is gone (its process exited or closed the channel)."""


class Channel(Protocol):
    def send(self, data: bytes) -> None:
        """Send one message; raises ChannelClosed when the other end is gone."""

    def recv(self, timeout: float | None = None) -> bytes | None:
        """The next message, or None after ``timeout`` seconds; raises ChannelClosed."""

    def close(self) -> None: ...

    # Optional: ``fileno()`` returns a handle the event loop can watch for incoming messages
    # (``loop.add_reader``), or None; without it the core reads on a thread.


class WorkerProcess(Protocol):
    pid: int | None

    def alive(self) -> bool: ...

    def kill(self) -> None:
        """Stop it at once (a hung or runaway worker); safe to call when it is already gone."""

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for it to exit; True if it has."""

    @property
    def exitcode(self) -> int | None: ...


class WorkerHost(Protocol):
    def start(self, config: Any) -> tuple[Channel, WorkerProcess]:
        """Start one worker for ``config``; returns the core's end of its channel and its handle."""


class PipeChannel:
    """One end of a local worker channel: two one-way pipes, so sending and receiving never share
    a handle (a reader thread receives while the event loop sends)."""

    def __init__(self, incoming: multiprocessing.connection.Connection,
                 outgoing: multiprocessing.connection.Connection) -> None:
        self._in = incoming
        self._out = outgoing
        self._selector = None

    def __getstate__(self) -> dict:
        # Pickled once, when spawn hands this end to the new process; a selector does not travel.
        return {"_in": self._in, "_out": self._out, "_selector": None}

    def _wait(self, timeout: float) -> bool:
        """Is a message waiting, within ``timeout``? Connection.poll builds a selector on every call,
        which the worker's polling loop would pay hundreds of times a second."""
        if sys.platform == "win32":
            return self._in.poll(timeout)
        if self._selector is None:
            self._selector = selectors.DefaultSelector()
            self._selector.register(self._in.fileno(), selectors.EVENT_READ)
        return bool(self._selector.select(timeout))

    def send(self, data: bytes) -> None:
        try:
            self._out.send_bytes(data)
        except (OSError, EOFError, ValueError) as exc:  # ValueError: already closed here
            raise ChannelClosed(str(exc) or type(exc).__name__) from None

    def recv(self, timeout: float | None = None) -> bytes | None:
        try:
            if timeout is not None and not self._wait(max(timeout, 0.0)):
                return None
            return self._in.recv_bytes()
        except (OSError, EOFError, ValueError) as exc:
            raise ChannelClosed(str(exc) or type(exc).__name__) from None

    def fileno(self) -> int | None:
        # Windows pipe handles cannot be watched by a selector; POSIX ones can.
        if sys.platform == "win32" or self._in.closed:
            return None
        return self._in.fileno()

    def close(self) -> None:
        if self._selector is not None:
            self._selector.close()
            self._selector = None
        for conn in (self._in, self._out):
            with contextlib.suppress(OSError):
                conn.close()


class _LocalProcess:
    def __init__(self, process: multiprocessing.process.BaseProcess) -> None:
        self._process = process
        self.pid = process.pid

    def alive(self) -> bool:
        return self._process.is_alive()

    def kill(self) -> None:
        if self._process.is_alive():
            self._process.kill()

    def wait(self, timeout: float) -> bool:
        self._process.join(timeout)
        return not self._process.is_alive()

    @property
    def exitcode(self) -> int | None:
        return self._process.exitcode


class PipeHost:
    """Starts each worker as a local process with the spawn start method.

    Spawn, not fork: Windows has nothing else, and a forked copy of the core would inherit its
    event loop, threads and open terminals. ``target(channel, config)`` is the worker's main.
    """

    def __init__(self, target: Callable[[Any, Any], None]) -> None:
        # Given, not looked up here: the worker's main imports this module, and a transport that
        # imported the worker back would tie the two into a cycle.
        self._target = target
        self._context = multiprocessing.get_context("spawn")

    def start(self, config: Any) -> tuple[PipeChannel, _LocalProcess]:
        to_worker_r, to_worker_w = self._context.Pipe(duplex=False)
        to_core_r, to_core_w = self._context.Pipe(duplex=False)
        name = f"copier-worker-{getattr(config, 'account_id', 'worker')}"
        nice = _nice_here(config)
        if nice:
            # Lowered here, so the worker does not lower itself a second time.
            config = dataclasses.replace(config, nice=0)
        # Daemonic: should the core exit without stopping its workers, they go with it.
        process = self._context.Process(target=self._target, args=(PipeChannel(to_worker_r, to_core_w), config),
                                        name=name, daemon=True)
        try:
            process.start()
        except BaseException:
            to_core_r.close()
            to_worker_w.close()
            raise
        finally:
            # The child has its own copies now; closing ours lets either side see the other's exit.
            to_worker_r.close()
            to_core_w.close()
        if nice:
            _lower(process.pid, nice)
        return PipeChannel(to_core_r, to_worker_w), _LocalProcess(process)


def _nice_here(config: Any) -> int:
    """How far below the core to start ``config``'s worker from here: on POSIX, right after the
    spawn, before the new interpreter has imported anything. A new worker spends its first fraction
    of a second importing the copier on a full core; twenty of them at the core's own priority
    starved the window while the demo started (loop stalls of 200-460 ms). Elsewhere (Windows) the
    worker lowers itself once it runs."""
    nice = getattr(config, "nice", 0)
    if sys.platform == "win32" or not hasattr(os, "setpriority") or not isinstance(nice, int) or nice <= 0:
        return 0
    if not dataclasses.is_dataclass(config):
        return 0
    return nice


def _lower(pid: int | None, nice: int) -> None:
    # Relative to this thread's own priority, as the worker's os.nice() would have been.
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, pid, min(19, os.getpriority(os.PRIO_PROCESS, 0) + nice))
