"""``copier-gui --demo --headless``: the demo's brokers and automated master, run by headless mode."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.core.copier import Copier
from copier_gui.core.copybook import CopyBook
from copier_gui.core.journal import Journal
from copier_gui.core.metrics import Metrics
from copier_gui.demo.rig import build_demo
from copier_gui.headless import format_summary, run_headless
from copier_gui.paths import UserPaths


async def run_demo_headless(*, slaves: int, duration: float | None, paths: UserPaths, seed: int = 0,
                            poll_interval_s: float = 0.005, out: TextIO = sys.stdout,
                            clock: Clock = SYSTEM_CLOCK, strategy_interval_s: float = 2.0,
                            on_ready: Callable[[Copier], None] | None = None, workers: bool = True) -> Metrics:
    paths.ensure()
    # The demo's terminals run in worker processes, one per account, as real terminals do.
    rig = build_demo(slaves, clock=clock, seed=seed, strategy_interval_s=strategy_interval_s,
                     workers=workers, master_poll_s=poll_interval_s)
    journal = Journal(paths.journal_file, clock, backups_dir=paths.backups_dir)
    # The demo's brokers are new each run, so its copy book need not outlive the process.
    copybook = CopyBook(None)
    metrics = Metrics()
    copier = Copier(rig.master.connector, rig.links, journal=journal, clock=clock, copybook=copybook,
                    metrics=metrics, poll_interval_s=poll_interval_s)
    print(f"copier-gui demo: master at {rig.master.profile}, {slaves} slave(s) at "
          f"{', '.join(s.profile for s in rig.slaves)}; journal {paths.journal_file}", file=out, flush=True)
    try:
        await run_headless(copier, duration=duration, out=out, clock=clock, on_ready=on_ready,
                           background=[("demo-strategy", rig.strategy.run)])
    finally:
        journal.close()
        copybook.close()
        rig.close()
    print(format_summary(metrics, {link.id: link.broker for link in rig.links}), file=out, flush=True)
    return metrics
