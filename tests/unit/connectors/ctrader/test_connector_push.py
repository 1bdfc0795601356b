"""The connector tells the copier when its account changed, so a pushed master is looked at as soon
as an execution arrives; and a dying copier's link can be cut without a goodbye."""

from __future__ import annotations

import asyncio
import time

import pytest

from copier_gui import ctrader_messages as cm
from copier_gui.core.model import OpenPosition, Side
from copier_gui.core.ports import PushingConnector
from tests.unit.connectors.ctrader.connector_rig import connected, until
from tests.unit.connectors.ctrader.test_trading import trader_on
from tests.unit.sim.ctrader.rig import running_server

MM = cm.model

pytestmark = pytest.mark.asyncio


async def test_wait_for_change_returns_when_an_execution_arrives_and_times_out_otherwise():
    async with running_server() as server, connected(server) as c, trader_on(server) as other_app:
        assert isinstance(c, PushingConnector)
        started = time.monotonic()
        await c.wait_for_change(0.2)  # whatever connecting left set is taken now
        await c.wait_for_change(0.2)
        assert time.monotonic() - started >= 0.19  # nothing happened: the full timeout
        waiting = asyncio.ensure_future(c.wait_for_change(5.0))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        started = time.monotonic()
        await other_app.market(server.hedged, 1, MM.BUY, 100_000, comment="manual")
        await asyncio.wait_for(waiting, 2.0)
        assert time.monotonic() - started < 1.0
        assert (await c.snapshot()).positions  # the change it announced is in the snapshot


async def test_a_lost_link_wakes_the_waiter_so_the_copier_finds_out_at_once():
    async with running_server() as server, connected(server) as c:
        await c.wait_for_change(0.05)
        waiting = asyncio.ensure_future(c.wait_for_change(5.0))
        await asyncio.sleep(0.05)
        server.drop_connections()
        await asyncio.wait_for(waiting, 2.0)


async def test_abort_cuts_the_link_like_a_dead_process():
    async with running_server() as server, connected(server) as c:
        await c.open(OpenPosition("EURUSD", Side.BUY, 1_000, 0, 0, 3, "CG:1"))
        links = len(server.links)
        c.abort()
        await until(lambda: len(server.links) < links)
        assert not c.live
