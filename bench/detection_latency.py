"""Detection latency, pushed against polled, in one run: how soon the copier sees a master's fill.

Two copiers run side by side on one event loop, each copying one master to one simulated MT5 slave:

* polled: an MT5 master, its simulated terminal in a worker process that polls it (the path a
  real terminal takes: MetaTrader 5 has no events), the copier watching the worker;
* pushed: a cTrader master at a simulated Open API server on a thread of its own (a broker on the
  network, over TLS on 127.0.0.1), whose execution events the cTrader connector receives as they
  happen.

Each master is traded from outside the copier, as its trader would (the MT5 one inside its
worker, the cTrader one over its own Open API link, as the cTrader app does), alternately, at
random gaps. Detection latency is the copier's own figure (master fill time at the broker ->
the copier noticed), from its metrics, for entries (an exit's is timed from when it was seen);
the report gives p50/p99 for each and their ratio.

Run: python bench/detection_latency.py [--events 40] [--poll-ms 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import time

from copier_gui import ctrader_messages as cm
from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.connectors.ctrader import (
    AppCredentials,
    OpenApiConnection,
    OpenApiSession,
    TokenPair,
)
from copier_gui.connectors.ctrader.connector import CTraderConnector
from copier_gui.connectors.ctrader.token_keyring import MemoryTokenStore
from copier_gui.connectors.mt5 import MT5Connector, ThreadInvoker
from copier_gui.core.copier import Copier, SlaveLink
from copier_gui.core.copybook import CopyBook
from copier_gui.core.journal import Journal
from copier_gui.core.metrics import Metrics, percentile
from copier_gui.core.rules import CopyRules, Tolerances
from copier_gui.sim import new_terminal
from copier_gui.sim.ctrader.threaded import ThreadedOpenApiServer
from copier_gui.workers.config import SimTerminal, WorkerConfig
from copier_gui.workers.connector import WorkerConnector

M = cm.messages
MM = cm.model
RULES = CopyRules(tolerances=Tolerances(max_price_deviation_points=1_000_000, max_delay_ms=60_000))
SEED = 9


class _Keep:
    async def save(self, tokens: TokenPair) -> None:
        self.tokens = tokens


def _stats(samples: list[float]) -> dict:
    if not samples:
        return {"n": 0}
    return {"n": len(samples), "p50_ms": round(percentile(samples, 50), 3), "p99_ms": round(percentile(samples, 99), 3),
            "max_ms": round(max(samples), 3)}


async def _copier(master, slave_id: str, slave, poll_s: float) -> tuple[Copier, Metrics, Journal]:
    journal = Journal(None, SYSTEM_CLOCK)
    metrics = Metrics()
    copier = Copier(master, [SlaveLink(slave_id, slave, RULES)], journal=journal, clock=SYSTEM_CLOCK,
                    copybook=CopyBook(None), metrics=metrics, poll_interval_s=poll_s, reconcile_interval_s=3600)
    await copier.start()
    return copier, metrics, journal


async def run(events: int, poll_s: float) -> dict:
    anchor = SYSTEM_CLOCK.time()
    server = ThreadedOpenApiServer(clock=SYSTEM_CLOCK, seed=SEED)
    opened = server.open_account("lumen_ctrader", login=3_300_001, balance=1e7)
    trader_side = opened  # the trader signs in to the same account with the same grant
    invokers: list[ThreadInvoker] = []
    copiers: list[Copier] = []
    journals: list[Journal] = []
    mt5_master = WorkerConnector(WorkerConfig("mt5-master", SimTerminal("meridian_ecn", seed=SEED, anchor=anchor,
                                                                         account={"login": 1, "balance": 1e9}),
                                              poll_idle_s=poll_s), hello_timeout_s=180)
    ct_master = CTraderConnector("ct-master", host=opened.host, port=opened.port,
                                 app=AppCredentials(opened.client_id, opened.client_secret),
                                 ctid_account_id=opened.ctid_account_id,
                                 tokens=MemoryTokenStore(TokenPair(opened.access_token, opened.refresh_token,
                                                                   opened.expires_at)),
                                 clock=SYSTEM_CLOCK, ssl_context=opened.ssl_context)

    def mt5_slave(name: str, login: int) -> MT5Connector:
        invokers.append(ThreadInvoker(name=name))
        terminal = new_terminal("harbor_fx", seed=SEED, clock=SYSTEM_CLOCK, balance=1e9, login=login)
        return MT5Connector(name, terminal, invoker=invokers[-1], clock=SYSTEM_CLOCK)

    trader: OpenApiSession | None = None
    try:
        polled, polled_metrics, j1 = await _copier(mt5_master, "slave-a", mt5_slave("slave-a", 101), poll_s)
        copiers.append(polled)
        journals.append(j1)
        pushed, pushed_metrics, j2 = await _copier(ct_master, "slave-b", mt5_slave("slave-b", 102), poll_s)
        copiers.append(pushed)
        journals.append(j2)

        # The cTrader master's own trader: a second client of the server, like the cTrader app.
        connection = await OpenApiConnection.open(trader_side.host, trader_side.port,
                                                  ssl_context=trader_side.ssl_context)
        trader = OpenApiSession(connection, AppCredentials(trader_side.client_id, trader_side.client_secret),
                                TokenPair(trader_side.access_token, trader_side.refresh_token,
                                          trader_side.expires_at), _Keep())
        await trader.authorize_application()
        await trader.authorize_account(trader_side.ctid_account_id)
        btc = next(s for s in trader_side.account.broker.symbols if s.instrument == "BTCUSD")

        async def trade_mt5(open_: bool, ticket: int) -> int:
            spec = await mt5_master.symbol("BTCUSD")
            request = {"action": 1, "symbol": "BTCUSD", "volume": 0.01, "type": 0 if open_ else 1,
                       "price": spec.ask if open_ else spec.bid, "deviation": 1000, "type_filling": 1}
            if not open_:
                request["position"] = ticket
            result = await mt5_master.sim("trader", "order_send", request)
            assert result is not None and result["retcode"] == 10009, result
            return result["order"]

        async def trade_ctrader(open_: bool, position: int) -> int:
            account = trader_side.ctid_account_id
            if open_:
                reply = await connection.request(M.ProtoOANewOrderReq(
                    ctidTraderAccountId=account, symbolId=btc.symbol_id, orderType=MM.MARKET, tradeSide=MM.BUY,
                    volume=int(round(0.01 * btc.lot_size * 100))))
                return reply.position.positionId or reply.order.orderId
            await connection.request(M.ProtoOAClosePositionReq(ctidTraderAccountId=account, positionId=position,
                                                               volume=int(round(0.01 * btc.lot_size * 100))))
            return position

        rng = random.Random(SEED)
        open_mt5 = open_ct = 0
        for i in range(events):
            await asyncio.sleep(rng.uniform(0.15, 0.4))
            if i % 2 == 0:
                open_mt5 = await trade_mt5(True, 0)
                await asyncio.sleep(rng.uniform(0.05, 0.2))
                open_ct = await trade_ctrader(True, 0)
            else:
                await trade_ctrader(False, open_ct)
                await asyncio.sleep(rng.uniform(0.05, 0.2))
                await trade_mt5(False, open_mt5)
        await asyncio.sleep(1.5)
        # Entries only: an exit is timed from when the copier saw it (the close's own fill time is
        # not in a snapshot), so its detection is zero by construction on every platform.
        polled_ms = [c.detection_ms for c in polled_metrics.copies if c.action == "open"]
        pushed_ms = [c.detection_ms for c in pushed_metrics.copies if c.action == "open"]
        result = {"polled_mt5_worker": _stats(polled_ms), "pushed_ctrader": _stats(pushed_ms)}
        if polled_ms and pushed_ms:
            result["ratio_pushed_to_polled"] = {
                "p50": round(percentile(pushed_ms, 50) / max(percentile(polled_ms, 50), 1e-9), 3),
                "p99": round(percentile(pushed_ms, 99) / max(percentile(polled_ms, 99), 1e-9), 3)}
        return result
    finally:
        if trader is not None:
            await trader.close()
        for copier in copiers:
            copier.abandon()
        with_shutdown = getattr(mt5_master, "request_shutdown", None)
        if with_shutdown:
            with_shutdown()
        await mt5_master.aclose()
        await ct_master.close_session()
        for invoker in invokers:
            invoker.close()
        for journal in journals:
            journal.close()
        server.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=80, help="master trades on each platform")
    parser.add_argument("--poll-ms", type=float, default=5.0, help="the copier's poll interval")
    args = parser.parse_args()
    started = time.monotonic()
    report = {"benchmark": "detection_latency", "python": platform.python_version(), "cpus": os.cpu_count(),
              "events": args.events, "poll_ms": args.poll_ms}
    report.update(asyncio.run(run(args.events, args.poll_ms / 1000.0)))
    report["seconds"] = round(time.monotonic() - started, 1)
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
