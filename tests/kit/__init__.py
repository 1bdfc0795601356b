"""The shared test kit: fixtures and recording doubles used across unit, integration and GUI tests.

Fixtures defined here are registered for every test by ``pytest_plugins`` in tests/conftest.py.
"""

from __future__ import annotations

import datetime as _dt
import time

import pytest

from copier_gui.clock import VirtualClock

# A Wednesday at noon UTC: every simulated market is open, and stays open for nine hours.
WEEKDAY_NOON_UTC = _dt.datetime(2026, 11, 25, 12, 0, tzinfo=_dt.UTC).timestamp()


class WeekdayClock:
    """Real time, running from a weekday noon (UTC): markets open, latencies real.

    For tests that run simulated brokers in real time: on the system clock they would find every
    market but crypto closed from Friday 21:00 UTC to Sunday 22:00 UTC, whenever the suite runs."""

    def __init__(self) -> None:
        self._t0 = time.time()

    def time(self) -> float:
        return WEEKDAY_NOON_UTC + (time.time() - self._t0)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


@pytest.fixture
def weekday_clock() -> VirtualClock:
    """A virtual clock on a weekday during market hours; advance it to move prices."""
    return VirtualClock(WEEKDAY_NOON_UTC)


@pytest.fixture
def make_terminal(weekday_clock):
    """Build and initialize a simulated terminal on the weekday clock: make_terminal(profile, **kw)."""
    from copier_gui.sim import new_terminal

    def make(profile: str, *, seed: int = 7, **kwargs):
        terminal = new_terminal(profile, seed=seed, clock=weekday_clock, **kwargs)
        assert terminal.initialize(), terminal.last_error()
        return terminal

    return make
