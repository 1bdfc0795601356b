"""The demo: generated settings (one master and N slaves at simulated brokers) and the terminals
they run on, assembled into a copier by the same builder as the trader's own accounts.

Each MetaTrader 5 account is a simulated terminal behind the same MT5 connector a real terminal
uses; only the module under the connector differs. Each cTrader account sits at a simulated Open
API server (one for the demo, on a thread of its own) behind the same cTrader connector a real
account uses, over TLS on 127.0.0.1. Slaves cycle through the broker profiles so the demo shows
both platforms side by side, and suffixes, aliases, lot steps, volumes in units, contract sizes,
netting accounts in JPY and EUR and a prop-firm server. With ``workers=True`` each MT5 terminal
lives in its own worker process behind a WorkerConnector, the code path real terminals take; a
cTrader account needs no worker (its connector is asyncio network code on the copier's loop).
"""

from __future__ import annotations

from dataclasses import dataclass

from copier_gui.assembly import Runtime, build_runtime
from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector, ThreadInvoker
from copier_gui.core.rules import CopyRules, PropRules, Risk, Sizing, SizingMode, SymbolMapping
from copier_gui.demo.strategy import LocalTrader, MasterStrategy, WorkerTrader
from copier_gui.paths import UserPaths
from copier_gui.runtime import Connection, open_demo_ctrader_connection, worker_log_level
from copier_gui.settings import AccountSettings, Settings
from copier_gui.sim import new_terminal
from copier_gui.sim.ctrader.threaded import ThreadedOpenApiServer

MASTER_PROFILE = "meridian_ecn"
MASTER_BALANCE = 25_000.0
FIRST_LOGIN = 7_000_000

# Each slave's broker and sizing, so the demo shows every rule at work; a sizing suits its broker's
# money and leverage (a JPY netting account at 1:100 follows the master's balance, not twice its lots).
_SLAVES = (
    ("harbor_fx", Sizing(mode=SizingMode.LOT_MULTIPLIER, multiplier=1.0)),
    ("lumen_ctrader", Sizing(mode=SizingMode.LOT_MULTIPLIER, multiplier=1.0)),
    ("summit_netting", Sizing(mode=SizingMode.BALANCE_RATIO, multiplier=1.0)),
    ("kestrel_netting", Sizing(mode=SizingMode.LOT_MULTIPLIER, multiplier=0.5)),
    ("apex_prop", Sizing(mode=SizingMode.LOT_MULTIPLIER, multiplier=2.0)),
    ("meridian_ecn", Sizing(mode=SizingMode.LOT_MULTIPLIER, multiplier=0.5)),
)
SLAVE_PROFILES = tuple(profile for profile, _ in _SLAVES)

# The prop-firm server's account runs a challenge's rules, so the demo shows the room left: a daily
# loss on the higher of balance and equity at 17:00 New York, a trailing maximum loss that locks at
# the starting balance, a stop on every copy, and the trading days to reach.
_PROP_DEMO = Risk(prop=PropRules.model_validate({
    "reset": "17:00 America/New_York",
    "daily_loss": {"percent": 5, "baseline": "higher", "action": "flatten"},
    "max_loss": {"percent": 10, "mode": "trailing_eod", "lock_at_initial": True, "action": "flatten"},
    "stop_loss": {"within_s": 60, "action": "add_stop", "distance": {"value": 100, "unit": "bp"}},
    "min_trading_days": 4}))


def demo_settings(n_slaves: int, *, poll_interval_ms: float = 5.0) -> Settings:
    """The demo's accounts as settings, exactly as the wizard would save linked demo accounts."""
    if n_slaves < 1:
        raise ValueError(f"the demo needs at least one slave, not {n_slaves}")
    accounts = [AccountSettings(id="master", role="master", platform="demo", demo_profile=MASTER_PROFILE,
                                login=FIRST_LOGIN)]
    for i in range(n_slaves):
        # No price tolerance is set: each symbol gets its asset class's default (pips on pairs,
        # basis points on gold, indices and coins), as a trader's new slave does.
        profile, sizing = _SLAVES[i % len(_SLAVES)]
        rules = CopyRules(sizing=sizing, symbols=SymbolMapping(),
                          risk=_PROP_DEMO if profile == "apex_prop" else Risk())
        accounts.append(AccountSettings(id=f"slave-{i + 1}", role="slave", platform="demo", demo_profile=profile,
                                        login=FIRST_LOGIN + i + 1, rules=rules))
    return Settings(accounts=accounts, poll_interval_ms=poll_interval_ms)


@dataclass
class DemoAccount:
    id: str
    profile: str
    terminal: object  # None when the terminal lives in a worker process; a SimCTraderAccount for cTrader
    connector: object  # MT5Connector, WorkerConnector with workers, or CTraderConnector
    invoker: InlineInvoker | ThreadInvoker | None


class DemoTerminals:
    """Fresh simulated brokers for the demo's accounts, all quoting one seeded market.

    Terminals run in worker processes with ``workers`` (as real terminals do), on worker threads
    otherwise, or on the loop itself with ``inline`` (tests). The demo's brokers need no password.
    """

    def __init__(self, *, clock: Clock, seed: int = 0, workers: bool = False, inline: bool = False,
                 master_poll_s: float = 0.005) -> None:
        if workers and clock is not SYSTEM_CLOCK:
            raise ValueError("worker processes run on the machine's clock; a virtual clock needs workers=False")
        self.clock = clock
        self.seed = seed
        self.workers = workers
        self.inline = inline
        self.master_poll_s = master_poll_s
        self.anchor = clock.time()  # every process's market starts its price path here, so they all agree
        self.accounts: dict[str, DemoAccount] = {}
        self.ctrader = ThreadedOpenApiServer(clock=clock, seed=seed)

    @property
    def master(self) -> DemoAccount:
        return next(iter(self.accounts.values()))

    @property
    def slaves(self) -> list[DemoAccount]:
        return list(self.accounts.values())[1:]

    def connect(self, account: AccountSettings) -> Connection:
        master = account.role == "master"
        index = account.login - FIRST_LOGIN if account.login is not None else len(self.accounts)
        overrides = {"login": account.login if account.login is not None else FIRST_LOGIN + index,
                     "name": "Demo Master" if master else f"Demo Slave {index}"}
        if master:
            overrides["balance"] = MASTER_BALANCE
        if account.demo_platform == "ctrader":
            demo = self._ctrader_account(account, overrides)
        elif self.workers:
            from copier_gui.workers.config import SimTerminal, WorkerConfig
            from copier_gui.workers.connector import WorkerConnector

            terminal = SimTerminal(account.demo_profile, seed=self.seed, anchor=self.anchor, account=overrides)
            # The master is watched for new trades, so it never rests; slaves may.
            config = WorkerConfig(account.id, terminal, poll_fast_s=min(0.002, self.master_poll_s),
                                  poll_idle_s=self.master_poll_s if master else 0.1,
                                  poll_rest_s=None if master else 1.0, log_level=worker_log_level())
            demo = DemoAccount(account.id, account.demo_profile, None, WorkerConnector(config, clock=self.clock), None)
        else:
            sim = new_terminal(account.demo_profile, seed=self.seed, clock=self.clock, **overrides)
            invoker = InlineInvoker() if self.inline else ThreadInvoker(name=account.id)
            connector = MT5Connector(account.id, sim, invoker=invoker, clock=self.clock)
            demo = DemoAccount(account.id, account.demo_profile, sim, connector, invoker)
        self.accounts[account.id] = demo
        return Connection(account, demo.terminal, demo.invoker, demo.connector)

    def _ctrader_account(self, account: AccountSettings, overrides: dict) -> DemoAccount:
        connection = open_demo_ctrader_connection(account, self.ctrader, self.clock, login=overrides["login"],
                                                  balance=overrides.get("balance"))
        return DemoAccount(account.id, account.demo_profile, connection.api, connection.connector, None)

    def strategy(self, interval_s: float) -> MasterStrategy:
        """The automated master: trades the master's terminal from this process, as its owner would."""
        master = self.master
        trader = WorkerTrader(master.connector) if self.workers else LocalTrader(master.terminal)
        return MasterStrategy(trader, seed=self.seed, interval_s=interval_s)

    def close(self) -> None:
        """The cTrader server, once the copier has closed its sessions; the runtime closes the rest."""
        self.ctrader.close()


def build_demo_runtime(n_slaves: int, paths: UserPaths, *, clock: Clock = SYSTEM_CLOCK, seed: int = 0,
                       poll_interval_s: float = 0.005, strategy_interval_s: float = 2.0, workers: bool = False,
                       inline: bool = False, trade: bool = True, services=()) -> tuple[Runtime, DemoTerminals]:
    """The demo as a Runtime, with its automated master as background (unless ``trade`` is False,
    which leaves the master to the caller). The demo's brokers are new each run, so its copy book
    and risk state live in memory; its journal is kept in ``paths`` like any other."""
    settings = demo_settings(n_slaves, poll_interval_ms=poll_interval_s * 1000.0)
    terminals = DemoTerminals(clock=clock, seed=seed, workers=workers, inline=inline, master_poll_s=poll_interval_s)
    runtime = build_runtime(settings, paths, clock, terminals=terminals, durable=False, services=services)
    if trade:
        runtime.background.append(("demo-strategy", terminals.strategy(strategy_interval_s).run))
    return runtime, terminals
