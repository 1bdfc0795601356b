"""A live copier for the monitoring tests: simulated brokers in real time (on a weekday) and a real event
loop (the endpoint needs real sockets), with a master trade helper and a wait."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector
from copier_gui.core.copier import Copier, SlaveLink
from copier_gui.core.copybook import CopyBook
from copier_gui.core.journal import Journal
from copier_gui.core.rules import CopyRules, Tolerances
from copier_gui.sim import PROFILES, Market, new_terminal
from tests.kit import WeekdayClock
from tests.kit.rig import master_trade

SLAVE_PROFILES = ("harbor_fx", "summit_netting", "apex_prop")


class Live:
    def __init__(self, master, copier: Copier, journal: Journal) -> None:
        self.master = master
        self.copier = copier
        self.journal = journal

    def trade(self, symbol: str, order_type: int, volume: float, position: int = 0) -> int:
        # Inline invokers: the terminals are only ever called on this loop's thread.
        self.master.symbol_select(symbol, True)  # as a trader opens a chart first
        return master_trade(self.master, symbol, order_type, volume, position)

    def copies(self, slave: str) -> int:
        stats = self.copier.metrics.slaves.get(slave)
        return stats.copies if stats is not None else 0

    async def until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "timed out waiting for the copier"
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def live_copier(tmp_path, slaves: int = 2):
    clock = WeekdayClock()  # real time on a weekday: the markets are open whenever the suite runs
    market = Market(3, clock)
    master = new_terminal("meridian_ecn", seed=3, clock=clock, market=market, login=1, balance=25_000.0)
    assert master.initialize()  # the master's own trader is logged in already
    links = []
    for i in range(slaves):
        profile = SLAVE_PROFILES[i % len(SLAVE_PROFILES)]
        sid = f"slave-{i + 1}"
        terminal = new_terminal(profile, seed=3, clock=clock, market=market, login=10 + i)
        links.append(SlaveLink(sid, MT5Connector(sid, terminal, invoker=InlineInvoker(), clock=clock),
                               CopyRules(tolerances=Tolerances(max_price_deviation_points=3000)),
                               broker=PROFILES[profile].company))
    journal = Journal(tmp_path / "journal.sqlite", clock)
    copybook = CopyBook(None)
    copier = Copier(MT5Connector("master", master, invoker=InlineInvoker(), clock=clock), links,
                    journal=journal, clock=clock, copybook=copybook, poll_interval_s=0.005)
    try:
        await copier.start()
        yield Live(master, copier, journal)
    finally:
        await copier.stop()
        journal.close()
        copybook.close()


async def trade_a_session(live: Live) -> None:
    """Positions a trader would recognise: copied everywhere, one a slave has no symbol for, one a
    slave's lot step refuses, and a closed one behind them."""
    gone = live.trade("GBPUSD", 0, 0.1)
    live.trade("EURUSD", 0, 0.3)
    live.trade("XAUUSD", 1, 0.1)
    live.trade("USDJPY", 1, 0.2)
    live.trade("EURGBP", 0, 0.1)  # Summit has no EURGBP
    live.trade("US30", 0, 0.05)  # below Apex's 0.1 lot step
    await live.until(lambda: all(live.copies(s) >= 4 for s in live.copier.slaves))
    live.trade("GBPUSD", 1, 0.1, position=gone)
    await live.until(lambda: all(live.copies(s) >= 5 for s in live.copier.slaves))
    await live.until(lambda: all(s.last_snapshot and len(s.last_snapshot.positions) >= 3
                                 for s in live.copier.slaves.values()))
    await asyncio.sleep(0.3)  # the refusals' notices and the journal settle
