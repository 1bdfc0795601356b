"""An asyncio event loop on virtual time: where a real loop would wait, this one moves its clock.

Replay runs the copier on it unchanged; timers fire in due order at once in wall time, so a run
depends only on the scenario and its seed, never on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import math
import selectors
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from copier_gui.clock import VirtualClock

__all__ = ["DeadlockError", "VirtualTimeLoop", "run_virtual"]

T = TypeVar("T")

# A fixed resolution instead of the OS clock's (15.6 ms on some Windows machines), so timers that
# fire together do so on every platform. A VirtualClock holds Unix seconds, which near 2026 have
# a float step of about 0.24 us, so finer timing could not be told apart anyway.
CLOCK_RESOLUTION = 1e-6


class DeadlockError(RuntimeError):
    """The loop would wait for I/O that virtual time can never bring."""


class _VirtualSelector(selectors.BaseSelector):
    """Keeps the loop's own wake-up pipe working, and turns every wait into a clock jump."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._inner = selectors.DefaultSelector()

    def register(self, fileobj, events, data=None):
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj):
        return self._inner.unregister(fileobj)

    def modify(self, fileobj, events, data=None):
        return self._inner.modify(fileobj, events, data)

    def get_map(self):
        return self._inner.get_map()

    def close(self) -> None:
        self._inner.close()

    def select(self, timeout: float | None = None):
        # The only descriptor a replay registers is the loop's self-pipe (call_soon_threadsafe,
        # Ctrl+C). Its callbacks are already queued; reading it just drains the pipe. Polling
        # never blocks, so nothing here depends on wall time.
        ready = self._inner.select(0)
        if ready:
            return ready
        if timeout is None:
            raise DeadlockError(
                "deadlock: nothing scheduled. Every task waits for something that no timer or "
                "callback will bring (an executor, a thread, real I/O, or a future nobody sets)"
            )
        if timeout > 0:
            before = self._clock.monotonic()
            self._clock.advance(timeout)
            if self._clock.monotonic() == before:
                # The step was below the float resolution of the clock's epoch seconds: move one
                # representable step, or the loop would ask for the same tiny wait forever.
                self._clock.set(math.nextafter(self._clock.time(), math.inf))
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose ``time()`` is ``clock.monotonic()`` and that never sleeps.

    Code on this loop must call connectors on the loop, never through ``run_in_executor``: a
    worker thread runs in wall time, which virtual time cannot wait for, so the loop refuses
    executors. A call's latency should pass as an ``await`` (``VirtualLatencyInvoker``): anything
    that advances the clock itself (``clock.sleep``) moves time for every task at once, as a
    blocking call would stall a real loop.
    """

    def __init__(self, clock: VirtualClock) -> None:
        self._virtual_clock = clock
        super().__init__(selector=_VirtualSelector(clock))
        self._clock_resolution = CLOCK_RESOLUTION

    @property
    def clock(self) -> VirtualClock:
        return self._virtual_clock

    def time(self) -> float:
        return self._virtual_clock.monotonic()

    def run_in_executor(self, executor, func, *args):
        raise RuntimeError(
            "replay runs on virtual time and cannot wait for a worker thread: call connectors "
            "inline on the loop, not through run_in_executor or asyncio.to_thread"
        )


def run_virtual(
    coro_factory: Callable[[], Coroutine[Any, Any, T]], clock: VirtualClock, *, debug: bool = False
) -> T:
    """Run ``coro_factory()`` to completion on a new VirtualTimeLoop over ``clock``, then close it.

    Like ``asyncio.run``: tasks still pending at the end are cancelled, async generators are
    finalised, and the loop is closed even when the coroutine raises.
    """
    with asyncio.Runner(debug=debug, loop_factory=lambda: VirtualTimeLoop(clock)) as runner:
        return runner.run(coro_factory())
