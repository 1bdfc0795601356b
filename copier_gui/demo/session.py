"""The demo in the window: simulated master and slaves and the automated strategy, as a Session."""

from __future__ import annotations

from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.core.copier import Copier
from copier_gui.core.copybook import CopyBook
from copier_gui.core.journal import Journal
from copier_gui.core.metrics import Metrics
from copier_gui.demo.rig import build_demo
from copier_gui.paths import UserPaths
from copier_gui.ui.session import Session


def demo_session(n_slaves: int, paths: UserPaths, *, seed: int = 0, poll_interval_s: float = 0.005,
                 strategy_interval_s: float = 2.0, clock: Clock = SYSTEM_CLOCK, inline: bool = False,
                 workers: bool = False, trade: bool = True) -> Session:
    """The demo: simulated master and slaves, the automated strategy trading the master.

    Terminals run on worker threads, or in worker processes with ``workers`` (as headless mode and
    real accounts do), never on the loop; ``inline`` (tests) runs them on it. ``trade=False``
    leaves the master to the caller.
    """
    paths.ensure()
    rig = build_demo(n_slaves, clock=clock, seed=seed, inline=inline, strategy_interval_s=strategy_interval_s,
                     workers=workers, master_poll_s=poll_interval_s)
    journal = Journal(paths.journal_file, clock, backups_dir=paths.backups_dir)
    # The demo's brokers are new each run, so its copy book need not outlive the process.
    copybook = CopyBook(None)
    copier = Copier(rig.master.connector, rig.links, journal=journal, clock=clock, copybook=copybook,
                    metrics=Metrics(), poll_interval_s=poll_interval_s)
    background = [("demo-strategy", rig.strategy.run)] if trade else []
    return Session(copier, [journal.close, copybook.close, rig.close], demo=True,
                   title=f"Demo: {n_slaves} simulated slave{'s' if n_slaves != 1 else ''}",
                   background=background, rig=rig)
