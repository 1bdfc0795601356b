"""``copier-gui --demo --headless``: the demo's generated accounts, run by headless mode."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.console_out import ConsoleOut
from copier_gui.core.copier import Copier
from copier_gui.core.metrics import Metrics
from copier_gui.demo.rig import build_demo_runtime
from copier_gui.headless import run_headless
from copier_gui.paths import UserPaths


async def run_demo_headless(*, slaves: int, duration: float | None, paths: UserPaths, seed: int = 0,
                            poll_interval_s: float = 0.005, out: TextIO = sys.stdout,
                            clock: Clock = SYSTEM_CLOCK, strategy_interval_s: float = 2.0,
                            on_ready: Callable[[Copier], None] | None = None, workers: bool = True,
                            services=()) -> Metrics:
    # The demo's terminals run in worker processes, one per account, as real terminals do.
    runtime, terminals = build_demo_runtime(slaves, paths, clock=clock, seed=seed, poll_interval_s=poll_interval_s,
                                            strategy_interval_s=strategy_interval_s, workers=workers,
                                            services=services)
    ConsoleOut(out).line(f"copier-gui demo: master at {terminals.master.profile}, {slaves} slave(s) at "
                         f"{', '.join(s.profile for s in terminals.slaves)}; journal {paths.journal_file}")
    return await run_headless(runtime, duration=duration, out=out, clock=clock, on_ready=on_ready)
