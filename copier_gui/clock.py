"""Time as an injected object, so live runs read the machine's clock and replay runs virtual time.

Everything that needs "now" (the simulated market, the engine, the journal) takes a clock. Replay
hands in a :class:`VirtualClock`, which makes the same scenario and seed produce the same result.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def time(self) -> float:
        """Wall-clock seconds since the Unix epoch, UTC."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for measuring durations."""

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds`` of this clock's time."""


class SystemClock:
    """The machine's clocks."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


class VirtualClock:
    """A clock that moves only when told to; ``sleep`` advances it instead of waiting."""

    def __init__(self, start: float) -> None:
        self._now = float(start)
        self._origin = float(start)

    def time(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now - self._origin

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._now += seconds

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a virtual clock cannot go back ({seconds} s)")
        self._now += seconds

    def set(self, when: float) -> None:
        if when < self._now:
            raise ValueError(f"a virtual clock cannot go back (from {self._now} to {when})")
        self._now = float(when)
