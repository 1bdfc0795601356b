"""The cTrader connector against what real Open API servers do beyond the happy path, as the
simulated server scripts it: fills in two deals, a cancel refused, rate limits, sessions ended
while the link stays up, a netted position turned over under a new id, a symbol closed to
trading, amended and stop-limit orders, history and equity from the server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from copier_gui import ctrader_messages as cm
from copier_gui.connectors.ctrader.links import LinkPool, Pacer
from copier_gui.core.model import (
    CancelPending,
    ClosePosition,
    ModifyPending,
    OpenPosition,
    PendingKind,
    PlacePending,
    Reason,
    Side,
    Status,
    TradeMode,
)
from copier_gui.core.ports import ConnectorError
from copier_gui.core.round_trips import round_trips
from tests.unit.connectors.ctrader.connector_rig import connected, store_for, until
from tests.unit.connectors.ctrader.test_trading import trader_on
from tests.unit.sim.ctrader.rig import running_server

M = cm.messages
MM = cm.model

pytestmark = pytest.mark.asyncio


async def _positions(c):
    return (await c.snapshot()).positions


async def test_the_account_currency_and_a_tick_in_it_come_from_the_servers_assets():
    async with running_server() as server, connected(server, server.hedged, server.netted) as (hedged, netted):
        assert (await hedged.account()).currency == "USD" and (await netted.account()).currency == "EUR"
        usd_account = await hedged.symbol("EURUSD")
        assert usd_account.tick_value == pytest.approx(1e-5)  # a quote in the account's own currency
        eur_account = await netted.symbol("EUR/USD")
        mid = (eur_account.bid + eur_account.ask) / 2
        assert eur_account.tick_value == pytest.approx(1e-5 / mid, rel=1e-3)  # USD turned into EUR
        # The list has a tick value for every symbol whose quote currency a pair links to the EUR.
        listed = await netted.symbols()
        assert listed["GOLD"].tick_value == pytest.approx(0.01 / mid, rel=1e-2)
        assert listed["USD/JPY"].tick_value > 0 and listed["EUR/GBP"].tick_value > 0


async def test_a_market_order_filled_in_two_deals_is_reported_once_all_of_it_filled():
    async with running_server() as server, connected(server) as c:
        server.faults.split_fills = 1
        report = await c.open(OpenPosition("EURUSD", Side.BUY, 10_000, 0, 0, 3, "CG:1"))
        assert report.status is Status.FILLED and report.volume == 10_000
        (position,) = await _positions(c)
        assert position.volume == 10_000
        deals = await c.position_deals(position.ticket)
        assert len(deals) == 2 and sum(d.volume for d in deals) == 10_000 and report.deal > 0


async def test_a_cancel_the_broker_refuses_is_rejected_and_the_order_stays():
    async with running_server() as server, connected(server) as c:
        spec = await c.symbol("EURUSD")
        placed = await c.place_pending(PlacePending("EURUSD", PendingKind.SELL_LIMIT, 2_000,
                                                    round(spec.ask + 0.01, 5), 0, 0, 0, 0, 3, "CG:1"))
        server.faults.rejected_cancels = 1
        refused = await c.cancel(CancelPending(placed.order, "EURUSD"))
        assert (refused.status, refused.reason) == (Status.REJECTED, Reason.REFUSED)
        assert "UNABLE_TO_CANCEL_ORDER" in refused.message and "could not cancel" in refused.message
        assert [o.ticket for o in (await c.snapshot()).orders] == [placed.order]


async def test_a_pending_order_is_amended_keeping_what_the_request_does_not_change():
    async with running_server() as server, connected(server) as c:
        spec = await c.symbol("EURUSD")
        price = round(spec.bid - 0.01, 5)
        placed = await c.place_pending(PlacePending("EURUSD", PendingKind.BUY_LIMIT, 2_000, price, 0,
                                                    round(price - 0.003, 5), round(price + 0.003, 5), 0, 3, "CG:1"))
        new_price = round(price - 0.002, 5)
        changed = await c.modify_pending(ModifyPending(placed.order, "EURUSD", new_price, 0, round(new_price - 0.003, 5),
                                                       round(new_price + 0.003, 5), 0))
        assert changed.status is Status.PLACED
        (order,) = (await c.snapshot()).orders
        assert (order.price, order.volume, order.sl, order.tp) == (new_price, 2_000, round(new_price - 0.003, 5),
                                                                   round(new_price + 0.003, 5))
        assert (order.magic, order.comment) == (3, "CG:1")
        missing = await c.modify_pending(ModifyPending(999, "EURUSD", new_price, 0, 0, 0, 0))
        assert (missing.status, missing.reason, missing.sent) == (Status.REJECTED, Reason.NOT_FOUND, False)


async def test_a_stop_limit_order_keeps_its_limit_as_the_slippage_from_its_trigger():
    async with running_server() as server, connected(server) as c:
        spec = await c.symbol("EURUSD")
        trigger = round(spec.ask + 0.005, 5)
        limit = round(trigger + 0.0003, 5)
        expiry = int(server.clock.time()) + 3600
        placed = await c.place_pending(PlacePending("EURUSD", PendingKind.BUY_STOP_LIMIT, 1_000, trigger, limit, 0, 0,
                                                    expiry, 3, "CG:SL"))
        assert placed.status is Status.PLACED
        assert placed.extra["request"]["slippageInPoints"] == 30
        assert placed.extra["request"]["timeInForce"] == MM.GOOD_TILL_DATE
        (order,) = (await c.snapshot()).orders
        assert (order.kind, order.price, order.stoplimit) == (PendingKind.BUY_STOP_LIMIT, trigger, limit)
        assert order.expiration == expiry


async def test_a_rate_limited_trade_is_throttled_and_a_rate_limited_read_is_asked_again():
    async with running_server() as server, connected(server) as c:
        await c.symbol("EURUSD")
        server.faults.rate_limited_requests = 1
        throttled = await c.open(OpenPosition("EURUSD", Side.BUY, 1_000, 0, 0, 3, "CG:1"))
        assert (throttled.status, throttled.reason, throttled.sent) == (Status.THROTTLED, Reason.THROTTLED, True)
        assert "REQUEST_FREQUENCY_EXCEEDED" in throttled.message
        assert await _positions(c) == ()
        server.faults.rate_limited_requests = 1
        state = await c.account()  # asked again after the refusal, a second later
        assert state.balance == 10_000.0


async def test_the_pacer_keeps_history_requests_under_five_a_second():
    now = [0.0]
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    pacer = Pacer(lambda: now[0], sleep=sleep)
    for _ in range(4):
        await pacer.pace("ProtoOADealListByPositionIdReq")
    await pacer.pace("ProtoOATraderReq")  # not history: no wait
    assert sleeps == []
    await pacer.pace("ProtoOAOrderListReq")
    assert len(sleeps) == 1 and 0.99 < sleeps[0] <= 1.01
    for _ in range(44):
        await pacer.pace("ProtoOATraderReq")
    assert len(sleeps) == 1  # 45 in the second since the wait: the overall limit, reached
    await pacer.pace("ProtoOATraderReq")
    assert len(sleeps) == 2


async def test_a_session_ended_on_a_live_link_stops_snapshots_until_it_is_back_and_reconciled():
    async with running_server() as server, connected(server) as c:
        server.end_sessions(server.hedged.account_id)
        # Trades of the gap, made by another application, reach no event of this connector.
        async with trader_on(server) as other:
            await other.market(server.hedged, 1, MM.SELL, 400_000, label="8", comment="gap")
        position = await until(lambda: _first_or_none(c), timeout=5)
        assert (position.side, position.volume, position.comment) == (Side.SELL, 4_000, "gap")
        report = await c.open(OpenPosition("EURUSD", Side.BUY, 1_000, 0, 0, 3, "CG:1"))
        assert report.status is Status.FILLED


async def _first_or_none(c):
    try:
        positions = (await c.snapshot()).positions
    except ConnectorError:
        return None
    return positions[0] if positions else None


async def test_a_netted_position_turned_over_under_a_new_id_is_one_position_with_its_own_deals():
    async with running_server() as server, connected(server, server.netted) as c:
        server.netted.reversal_policy = "new"
        await c.open(OpenPosition("EUR/USD", Side.BUY, 20_000, 0, 0, 9, "CG:A"))
        (first,) = await _positions(c)
        turned = await c.open(OpenPosition("EUR/USD", Side.SELL, 30_000, 0, 0, 9, "CG:B"))
        assert turned.status is Status.FILLED and turned.volume == 30_000
        (position,) = await _positions(c)
        assert position.ticket != first.ticket
        assert (position.side, position.volume) == (Side.SELL, 10_000)
        assert [(d.comment, d.volume) for d in position.deals] == [("CG:B", -10_000)]


async def test_a_netted_mirror_rebuilt_on_connect_reads_each_shares_tag_from_the_history():
    async with running_server() as server:
        store, pool = store_for(server), LinkPool()
        async with connected(server, server.netted, store=store, pool=pool) as c:
            await c.open(OpenPosition("EUR/USD", Side.SELL, 20_000, 0, 0, 9, "CG:A"))
            await c.open(OpenPosition("EUR/USD", Side.SELL, 10_000, 0, 0, 9, "CG:B"))
        async with connected(server, server.netted, store=store, pool=pool) as again:
            (position,) = await _positions(again)
            assert [(d.magic, d.comment, d.volume) for d in position.deals] == [(9, "CG:A", -20_000),
                                                                               (9, "CG:B", -10_000)]
            deals = await again.position_deals(position.ticket)
            assert [(d.comment, d.side, d.volume) for d in deals] == [("CG:A", Side.SELL, 20_000),
                                                                      ("CG:B", Side.SELL, 10_000)]


async def test_a_symbol_closed_to_new_trades_reads_close_only_and_refuses_an_entry():
    async with running_server() as server, connected(server) as c:
        server.hedged.set_trading_mode(1, MM.CLOSE_ONLY_MODE)
        assert (await c.symbol("EURUSD")).trade_mode is TradeMode.CLOSE_ONLY
        report = await c.open(OpenPosition("EURUSD", Side.BUY, 1_000, 0, 0, 3, "CG:1"))
        assert (report.status, report.reason) == (Status.REJECTED, Reason.TRADE_RESTRICTED)
        assert "TRADING_DISABLED" in report.message


async def test_equity_is_the_balance_plus_the_open_profit_the_server_reports():
    async with running_server() as server, connected(server) as c:
        await c.open(OpenPosition("EURUSD", Side.BUY, 100_000, 0, 0, 3, "CG:1"))
        state = await c.account()
        (position,) = await _positions(c)
        assert state.equity == pytest.approx(state.balance + position.profit, abs=0.011)
        assert position.profit != 0.0  # the spread at least
        assert state.margin > 0 and state.margin_free == pytest.approx(state.equity - state.margin, abs=0.011)


async def test_a_link_the_server_ends_with_a_reason_names_it_until_the_copier_reconnects():
    async with running_server() as server, connected(server) as c:
        server.disconnect_clients("Server restart for an update")
        await until(lambda: not c.live)
        with pytest.raises(ConnectorError) as caught:
            await c.snapshot()
        assert "Server restart for an update" in caught.value.message
        await c.connect()
        assert (await c.snapshot()).positions == ()


async def test_an_account_leaving_a_shared_link_logs_out_without_being_authorized_again():
    async with running_server() as server:
        store, pool = store_for(server), LinkPool()
        async with connected(server, server.hedged, server.netted, store=store, pool=pool) as (hedged, netted):
            auths = sum(1 for name, _ in server.requests if name == "ProtoOAAccountAuthReq")
            await hedged.close_session()
            await until(lambda: server.hedged.account_id not in server.links[0].accounts)
            await netted.snapshot()
            assert sum(1 for name, _ in server.requests if name == "ProtoOAAccountAuthReq") == auths
            assert server.netted.account_id in server.links[0].accounts


async def test_a_spurious_session_end_after_a_refresh_leaves_the_accounts_trading():
    async with running_server() as server:
        store = store_for(server)
        async with connected(server, server.hedged, server.netted, store=store) as (hedged, netted):
            server.faults.spurious_disconnect_on_refresh = True
            await hedged.link.refresh_now()
            await until(lambda: hedged.live and netted.live, timeout=5)
            report = await netted.open(OpenPosition("EUR/USD", Side.BUY, 10_000, 0, 0, 3, "CG:1"))
            assert report.status is Status.FILLED and store.saves == 1
            assert len((await netted.snapshot()).positions) == 1 and (await hedged.snapshot()).positions == ()


async def test_a_server_in_maintenance_is_named_when_reconnecting_and_passed_after_it():
    async with running_server() as server, connected(server) as c:
        end = int(server.clock.time() // 60 * 60 + 3600)
        server.start_maintenance(end)
        await until(lambda: not c.live)
        with pytest.raises(ConnectorError) as caught:
            await c.connect()
        assert f"under maintenance until {datetime.fromtimestamp(end, UTC):%Y-%m-%d %H:%M} UTC" in caught.value.message
        server.maintenance_until = None
        await c.connect()
        assert (await c.snapshot()).positions == ()


async def test_a_triggered_pending_order_becomes_a_position_under_the_same_ticket():
    async with running_server() as server, connected(server) as c:
        spec = await c.symbol("EURUSD")
        # Stops a point either side of the market: the next move triggers one of them.
        above = await c.place_pending(PlacePending("EURUSD", PendingKind.BUY_STOP, 1_000, round(spec.ask + 1e-5, 5),
                                                   0, 0, 0, 0, 3, "CG:UP"))
        below = await c.place_pending(PlacePending("EURUSD", PendingKind.SELL_STOP, 1_000, round(spec.bid - 1e-5, 5),
                                                   0, 0, 0, 0, 3, "CG:DOWN"))
        assert above.status is below.status is Status.PLACED
        position = await until(lambda: _first_or_none(c), timeout=10)
        assert position.ticket in (above.order, below.order)
        assert position.comment == ("CG:UP" if position.ticket == above.order else "CG:DOWN")
        assert position.ticket not in {o.ticket for o in (await c.snapshot()).orders}


@pytest.mark.parametrize("keeps", ["newest", "oldest"])
async def test_the_deals_since_a_moment_are_read_whole_across_replies_cut_short(keeps):
    async with running_server() as server, connected(server) as c:
        # Replies of two rows, cut on either side (real servers' choice is undocumented).
        server.history_chunk, server.history_cut_keeps = 2, keeps
        kept = await c.open(OpenPosition("EURUSD", Side.BUY, 10_000, 0, 0, 3, "CG:1"))
        start = kept.deals[0].time_msc if kept.deals else 0
        trips = []
        for volume in (20_000, 30_000):
            opened = await c.open(OpenPosition("EURUSD", Side.SELL, volume, 0, 0, 3, "CG:2"))
            position = next(p for p in await _positions(c) if p.volume == volume)
            closed = await c.close(ClosePosition(position.ticket, "EURUSD", Side.SELL, volume, 3, "CG:2"))
            assert opened.status.ok and closed.status.ok
            trips.append(position.ticket)
        deals = await c.deals_since(start)
        assert [d.time_msc for d in deals] == sorted(d.time_msc for d in deals)
        assert len(deals) == 5 and {d.symbol for d in deals} == {"EURUSD"}
        found = round_trips(deals)
        assert [(r.ticket, r.side, r.volume) for r in found] == [
            (trips[0], Side.SELL, 20_000), (trips[1], Side.SELL, 30_000)]
        later = await c.deals_since(deals[-1].time_msc + 1)
        assert later == ()
