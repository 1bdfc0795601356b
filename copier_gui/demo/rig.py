"""The demo rig: one master and N slaves at simulated brokers, wired exactly as real accounts are.

Each account is a simulated MetaTrader 5 terminal behind the same MT5 connector a real terminal
uses; only the module under the connector differs. Slaves cycle through the broker profiles so the
demo shows suffixes, aliases, lot steps, contract sizes, a netting JPY account and a prop-firm
server side by side. With ``workers=True`` each terminal lives in its own worker process behind a
WorkerConnector, the code path real terminals take.
"""

from __future__ import annotations

from dataclasses import dataclass

from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector, ThreadInvoker
from copier_gui.core.copier import SlaveLink
from copier_gui.core.rules import CopyRules, Sizing, SizingMode, SymbolMapping, Tolerances
from copier_gui.demo.strategy import LocalTrader, MasterStrategy, WorkerTrader
from copier_gui.sim import PROFILES, new_terminal

MASTER_PROFILE = "meridian_ecn"
SLAVE_PROFILES = ("harbor_fx", "summit_netting", "apex_prop", "meridian_ecn")

# Sizing that varies by slave, so the demo shows every rule at work.
_SIZINGS = (
    Sizing(mode=SizingMode.LOT_MULTIPLIER, multiplier=1.0),
    Sizing(mode=SizingMode.BALANCE_RATIO, multiplier=1.0),
    Sizing(mode=SizingMode.LOT_MULTIPLIER, multiplier=2.0),
    Sizing(mode=SizingMode.LOT_MULTIPLIER, multiplier=0.5),
)


@dataclass
class DemoAccount:
    id: str
    profile: str
    terminal: object  # None when the terminal lives in a worker process
    connector: object  # MT5Connector, or WorkerConnector with workers
    invoker: InlineInvoker | ThreadInvoker | None


@dataclass
class DemoRig:
    master: DemoAccount
    slaves: list[DemoAccount]
    links: list[SlaveLink]
    strategy: MasterStrategy

    def close(self) -> None:
        accounts = [self.master, *self.slaves]
        for account in accounts:
            if account.invoker is not None:
                account.invoker.close()
        workers = [a.connector for a in accounts if a.invoker is None]
        # Ask every worker first, then wait: they wind down in parallel.
        for connector in workers:
            connector.request_shutdown()
        for connector in workers:
            connector.wait_closed()


def build_demo(n_slaves: int, *, clock: Clock, seed: int = 0, inline: bool = False,
               strategy_interval_s: float = 2.0, workers: bool = False,
               master_poll_s: float = 0.005) -> DemoRig:
    """The demo's accounts. ``workers=True`` runs each simulated terminal in its own worker process;
    the master's worker then polls every ``master_poll_s`` (match the copier's poll interval)."""
    if n_slaves < 1:
        raise ValueError(f"the demo needs at least one slave, not {n_slaves}")
    if workers and clock is not SYSTEM_CLOCK:
        raise ValueError("worker processes run on the machine's clock; a virtual clock needs workers=False")
    anchor = clock.time()  # every process's market starts its price path here, so they all agree

    def account(account_id: str, profile: str, index: int, **overrides) -> DemoAccount:
        if workers:
            from copier_gui.workers.config import SimTerminal, WorkerConfig
            from copier_gui.workers.connector import WorkerConnector

            master = index == 0
            terminal = SimTerminal(profile, seed=seed, anchor=anchor,
                                   account={"login": 7_000_000 + index, **overrides})
            # The master is watched for new trades, so it never rests; slaves may.
            config = WorkerConfig(account_id, terminal, poll_fast_s=min(0.002, master_poll_s),
                                  poll_idle_s=master_poll_s if master else 0.1,
                                  poll_rest_s=None if master else 1.0)
            return DemoAccount(account_id, profile, None, WorkerConnector(config, clock=clock), None)
        terminal = new_terminal(profile, seed=seed, clock=clock, login=7_000_000 + index, **overrides)
        invoker = InlineInvoker() if inline else ThreadInvoker(name=account_id)
        connector = MT5Connector(account_id, terminal, invoker=invoker, clock=clock)
        return DemoAccount(account_id, profile, terminal, connector, invoker)

    master = account("master", MASTER_PROFILE, 0, balance=25_000.0, name="Demo Master")
    slaves = []
    links = []
    for i in range(n_slaves):
        profile = SLAVE_PROFILES[i % len(SLAVE_PROFILES)]
        slave = account(f"slave-{i + 1}", profile, i + 1, name=f"Demo Slave {i + 1}")
        slaves.append(slave)
        # Crypto and index quotes move thousands of points between ticks; the demo's tolerance is
        # wide enough to copy them, and refusals still show whenever a quote runs away.
        rules = CopyRules(sizing=_SIZINGS[i % len(_SIZINGS)], symbols=SymbolMapping(),
                          tolerances=Tolerances(max_price_deviation_points=3000))
        links.append(SlaveLink(slave.id, slave.connector, rules, broker=PROFILES[profile].company))
    # The strategy trades the master from this process either way; only how it reaches the
    # terminal differs.
    trader = WorkerTrader(master.connector) if workers else LocalTrader(master.terminal)
    strategy = MasterStrategy(trader, seed=seed, interval_s=strategy_interval_s)
    return DemoRig(master, slaves, links, strategy)
