"""What the benchmarks that run a copier share: counting copies as they arrive, the master's own
deal on the simulated terminal, and stopping a copier with its worker connectors."""

from __future__ import annotations

import asyncio
import gc
import time
from collections import Counter

from copier_gui.core.copier import Copier


class Copies:
    """Copies per master ticket, as the copier reports them."""

    def __init__(self, copier: Copier) -> None:
        self.arrived: Counter = Counter()
        copier.subscribe(self._on)

    def _on(self, notice) -> None:
        if notice.kind == "copy":
            self.arrived[notice.master_ticket] += 1

    async def until(self, ticket: int, count: int, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while self.arrived[ticket] < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.arrived[ticket]} of {count} copies of #{ticket} arrived")
            await asyncio.sleep(0.002)


def deal(side: int, bid: float, ask: float, position: int = 0) -> dict:
    """The master's market deal on BTCUSD, as its own trader sends it (closing ``position`` if set)."""
    request = {"action": 1, "symbol": "BTCUSD", "volume": 0.1, "type": side, "price": ask if side == 0 else bid,
               "type_filling": 1}
    if position:
        request["position"] = position
    return request


async def stop_with_workers(copier: Copier, connectors, journal) -> None:
    """Abandon the copier, ask every worker to wind down at once, then wait for each."""
    copier.abandon()
    for connector in connectors:
        connector.request_shutdown()
    for connector in connectors:
        await connector.aclose()
    journal.close()
    gc.unfreeze()


PROFILES = ("harbor_fx", "summit_netting", "apex_prop", "meridian_ecn")


def worker_fleet(n_slaves: int, anchor: float):
    """A master and ``n_slaves`` slaves, each terminal in its own worker process as the application
    runs them: the master polled every 5 ms, the slaves at their production pace (10 times a
    second while trading, once a second at rest), over the four broker profiles in turn."""
    from copier_gui.workers.config import SimTerminal, WorkerConfig
    from copier_gui.workers.connector import WorkerConnector

    def config(account_id: str, profile: str, login: int, **kw) -> WorkerConfig:
        return WorkerConfig(account_id, SimTerminal(profile, seed=5, anchor=anchor,
                                                    account={"login": login, "balance": 1e9}), **kw)

    master = WorkerConnector(config("master", "meridian_ecn", 1, poll_idle_s=0.005), hello_timeout_s=300)
    slaves = [WorkerConnector(config(f"s{i}", PROFILES[i % len(PROFILES)], 100 + i, poll_idle_s=0.1,
                                     poll_rest_s=1.0, rest_after_s=5.0), hello_timeout_s=300)
              for i in range(n_slaves)]
    return master, slaves
