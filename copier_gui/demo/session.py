"""The demo in the window: its generated accounts and automated master, as a Session."""

from __future__ import annotations

from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.demo.rig import build_demo_runtime
from copier_gui.paths import UserPaths
from copier_gui.ui.session import Session


def demo_session(n_slaves: int, paths: UserPaths, *, seed: int = 0, poll_interval_s: float = 0.005,
                 strategy_interval_s: float = 2.0, clock: Clock = SYSTEM_CLOCK, inline: bool = False,
                 workers: bool = False, trade: bool = True, services=()) -> Session:
    """The demo: simulated master and slaves, the automated strategy trading the master.

    Terminals run on worker threads, or in worker processes with ``workers`` (as headless mode and
    real accounts do), never on the loop; ``inline`` (tests) runs them on it. ``trade=False``
    leaves the master to the caller.
    """
    runtime, terminals = build_demo_runtime(n_slaves, paths, clock=clock, seed=seed, poll_interval_s=poll_interval_s,
                                            strategy_interval_s=strategy_interval_s, workers=workers, inline=inline,
                                            trade=trade, services=services)
    return Session(runtime, demo=True, title=f"Demo: {n_slaves} simulated slave{'s' if n_slaves != 1 else ''}",
                   rig=terminals)
