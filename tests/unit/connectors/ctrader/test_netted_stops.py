"""The stops of a netted cTrader position the connector trades into, against the simulated server
under each of its rules for an order that adds to a held position (real servers' is undocumented):
an entry that only reduces the position leaves its stops and asks nothing of them, an entry that
joins it goes without relative stops (the server could land them where no event shows) and sets
the asked levels once filled, and the connector's positions always carry the server's stops."""

from __future__ import annotations

import pytest

from copier_gui.core.model import OpenPosition, Side, Status
from tests.unit.connectors.ctrader.connector_rig import connected
from tests.unit.sim.ctrader.rig import running_server

pytestmark = pytest.mark.asyncio

POLICIES = ["replace", "keep"]


async def _stops_here_and_there(c, server) -> tuple[tuple[float, float], tuple[float, float]]:
    """The one position's SL/TP as the connector reports it, and as the server holds it."""
    (mine,) = (await c.snapshot()).positions
    (held,) = server.netted.reconcile()[0]
    theirs = (held.stopLoss if held.HasField("stopLoss") else 0.0,
              held.takeProfit if held.HasField("takeProfit") else 0.0)
    return (mine.sl, mine.tp), theirs


def _spy_orders(account) -> list:
    """Every new-order request the account receives, as it arrives."""
    sent: list = []
    real = account.new_order

    def new_order(req, **options):
        sent.append(req)
        return real(req, **options)

    account.new_order = new_order
    return sent


@pytest.mark.parametrize("policy", POLICIES)
async def test_an_entry_that_only_reduces_a_netted_position_leaves_its_stops(policy):
    async with running_server() as server, connected(server, server.netted) as c:
        server.netted.netted_stops_policy = policy
        quote = await c.symbol("EUR/USD")
        bought = await c.open(OpenPosition("EUR/USD", Side.BUY, 50_000, round(quote.bid - 0.003, 5), 0, 9, "CG:A"))
        assert bought.status is Status.FILLED
        mine, theirs = await _stops_here_and_there(c, server)
        assert mine == theirs and theirs[0] == round(quote.bid - 0.003, 5)
        amends = sum(1 for name, _ in server.requests if name == "ProtoOAAmendPositionSLTPReq")
        # The sell's own stops (a stop above the market) cannot sit on the buy it reduces.
        sold = await c.open(OpenPosition("EUR/USD", Side.SELL, 10_000, round(quote.ask + 0.0029, 5),
                                         round(quote.ask - 0.002, 5), 9, "CG:B"))
        assert sold.status is Status.FILLED and "stops" not in sold.message
        assert sum(1 for name, _ in server.requests if name == "ProtoOAAmendPositionSLTPReq") == amends
        assert await _stops_here_and_there(c, server) == (theirs, theirs)


@pytest.mark.parametrize("policy", POLICIES)
async def test_an_entry_joining_a_held_netted_position_sets_its_stops_after_the_fill(policy):
    async with running_server() as server, connected(server, server.netted) as c:
        server.netted.netted_stops_policy = policy
        sent = _spy_orders(server.netted)
        quote = await c.symbol("EUR/USD")
        await c.open(OpenPosition("EUR/USD", Side.BUY, 20_000, round(quote.bid - 0.003, 5), 0, 9, "CG:A"))
        assert sent[-1].HasField("relativeStopLoss")  # nothing held yet: the order brings its stops
        wanted = (round(quote.bid - 0.0015, 5), round(quote.ask + 0.0025, 5))
        added = await c.open(OpenPosition("EUR/USD", Side.BUY, 10_000, *wanted, 9, "CG:B"))
        assert added.status is Status.FILLED
        assert not sent[-1].HasField("relativeStopLoss") and not sent[-1].HasField("relativeTakeProfit")
        assert await _stops_here_and_there(c, server) == (wanted, wanted)


@pytest.mark.parametrize("policy", POLICIES)
async def test_an_entry_turning_a_netted_position_over_gives_it_the_asked_stops(policy):
    async with running_server() as server, connected(server, server.netted) as c:
        server.netted.netted_stops_policy = policy
        quote = await c.symbol("EUR/USD")
        await c.open(OpenPosition("EUR/USD", Side.BUY, 20_000, round(quote.bid - 0.003, 5), 0, 9, "CG:A"))
        wanted = (round(quote.ask + 0.0029, 5), round(quote.bid - 0.002, 5))
        turned = await c.open(OpenPosition("EUR/USD", Side.SELL, 30_000, *wanted, 9, "CG:B"))
        assert turned.status is Status.FILLED and "stops" not in turned.message
        (position,) = (await c.snapshot()).positions
        assert position.side is Side.SELL
        assert await _stops_here_and_there(c, server) == (wanted, wanted)
