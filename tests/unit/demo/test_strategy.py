"""The demo's master trader: seeded decisions through the MetaTrader5 API, from the copier's process."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from copier_gui.clock import VirtualClock
from copier_gui.demo.strategy import LocalTrader, MasterStrategy
from copier_gui.sim import new_terminal

WEDNESDAY_NOON_UTC = 1_795_003_200.0  # markets open


def _trade(seed: int, steps: int = 40):
    clock = VirtualClock(WEDNESDAY_NOON_UTC)
    terminal = new_terminal("meridian_ecn", seed=seed, clock=clock, balance=25_000.0)
    assert terminal.initialize()  # the copier's connector would have opened the session
    strategy = MasterStrategy(LocalTrader(terminal), seed=seed)

    async def run() -> None:
        for _ in range(steps):
            await strategy.step()
            clock.advance(2.0)

    asyncio.run(run())
    return strategy, terminal


def test_the_strategy_opens_modifies_reduces_and_closes_at_the_master():
    strategy, terminal = _trade(seed=1)
    stats = strategy.stats
    assert stats.opened >= 3 and stats.closed >= 1 and stats.modified >= 1
    assert len(terminal.positions_get() or ()) <= strategy.max_positions


def test_the_same_seed_trades_the_same_way():
    first, _ = _trade(seed=5)
    second, _ = _trade(seed=5)
    assert first.stats == second.stats


def test_a_worker_process_never_loads_demo_code():
    # What a spawned worker imports: its own module and what that pulls in, nothing of the demo.
    code = ("import sys, copier_gui.workers.worker, copier_gui.workers.connector\n"
            "print(sorted(m for m in sys.modules if m.startswith('copier_gui.demo')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"
