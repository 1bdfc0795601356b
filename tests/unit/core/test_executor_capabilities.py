"""The executor acts on what the slave's connector says it can do: a price-chasing limit order at
the master's price is placed only where the account takes limit orders; elsewhere the entry is
refused with the requotes that stopped it."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector
from copier_gui.core.capabilities import Capabilities, OrderType
from copier_gui.core.copier import Copier, SlaveLink
from copier_gui.core.copybook import CopyBook
from copier_gui.core.rules import CopyRules, DeviationPolicy, Tolerances
from copier_gui.sim import constants as mt5
from tests.kit.rig import Rig


class MarketOnly(MT5Connector):
    """An account whose platform takes market orders only."""

    @property
    def capabilities(self) -> Capabilities:
        return replace(super().capabilities, order_types=frozenset({OrderType.MARKET}))


@pytest.mark.parametrize("connector", [MT5Connector, MarketOnly])
def test_a_limit_at_the_masters_price_only_where_limit_orders_exist(connector):
    rules = CopyRules(tolerances=Tolerances(requote_retries=1,
                                            on_price_deviation=DeviationPolicy.LIMIT_AT_MASTER_PRICE))
    rig = Rig(slaves=("meridian_ecn",), rules=rules)
    slave = rig.slaves["s0"]

    async def script():
        links = [SlaveLink("s0", connector("s0", slave, invoker=InlineInvoker(), clock=rig.clock), rules)]
        master = MT5Connector("master", rig.master, invoker=InlineInvoker(), clock=rig.clock)
        copier = Copier(master, links, journal=rig.journal, clock=rig.clock, copybook=CopyBook(None),
                        poll_interval_s=0.005, reconcile_interval_s=1.0)
        copier.subscribe(rig.notices.append)
        await copier.start()
        slave.sim.force_retcodes(*[mt5.TRADE_RETCODE_REQUOTE] * 2)
        rig.trade("EURUSD", mt5.ORDER_TYPE_BUY, 0.5)
        await asyncio.sleep(1.0)
        await copier.stop()

    rig.run(script)
    chased = [n.text for n in rig.notices if n.kind == "copy" and "instead of chasing the market" in n.text]
    refusals = [n.text for n in rig.notices if n.kind == "refusal"]
    if connector is MT5Connector:
        assert len(chased) == 1 and chased[0].startswith("placed buy_limit 0.5 EURUSD @ "), chased
        assert refusals == []
    else:
        assert chased == []
        assert [r.split(" by ")[0] for r in refusals] == ["skipped: requoted 2 times"], refusals
