"""The cTrader connector behind the core's port, against the simulated Open API server over TLS:
sessions, symbols in units, trades on hedged and netted accounts, refusals, tags, the pushed
mirror, a lost link, token refresh and accounts sharing one link."""

from __future__ import annotations

import pytest

from copier_gui import ctrader_messages as cm
from copier_gui.connectors.ctrader.links import LinkPool
from copier_gui.core.capabilities import EventDelivery, OrderType, PositionModel
from copier_gui.core.model import (
    CancelPending,
    ClosePosition,
    ModifyStops,
    OpenPosition,
    PendingKind,
    PlacePending,
    Reason,
    Side,
    Status,
    VolumeUnit,
)
from copier_gui.core.ports import Connector, ConnectorError
from copier_gui.sim.ctrader.tokens import TokenRefused
from tests.unit.connectors.ctrader.connector_rig import connected, connector_for, store_for, until
from tests.unit.connectors.ctrader.test_trading import trader_on
from tests.unit.sim.ctrader.rig import running_server

M = cm.messages
MM = cm.model

pytestmark = pytest.mark.asyncio


def _requests(server, name: str) -> int:
    return sum(1 for n, _ in server.requests if n == name)


async def test_connect_reads_the_account_and_its_capabilities_and_is_a_connector():
    async with running_server() as server, connected(server, server.hedged, server.netted) as (hedged, netted):
        assert isinstance(hedged, Connector)
        state = await hedged.account()
        assert (state.login, state.balance, state.leverage, state.hedging) == (server.hedged.login, 10_000.0, 500,
                                                                                True)
        assert state.company == "Lumen Prime Ltd" and state.trade_allowed and state.trading_blocked == ""
        caps = hedged.capabilities
        assert caps.position_model is PositionModel.HEDGING and caps.volume_unit is VolumeUnit.UNITS
        assert caps.events is EventDelivery.PUSHED and caps.order_types == frozenset(OrderType)
        assert [(f.name, f.max_length) for f in caps.tag_fields] == [("label", 100), ("comment", 256),
                                                                     ("clientOrderId", 50)]
        assert netted.capabilities.position_model is PositionModel.NETTING
        assert not (await netted.account()).hedging


async def test_an_account_the_tokens_do_not_cover_is_refused_with_what_to_do():
    async with running_server() as server:
        other = server.add_account("lumen_ctrader")  # not in the grant
        connector = connector_for(server, other, store_for(server), LinkPool())
        with pytest.raises(ConnectorError) as caught:
            await connector.connect()
        assert "not among the accounts this authorization covers" in caught.value.message
        with pytest.raises(ConnectorError):
            await connector.snapshot()
        await connector.close_session()


async def test_symbols_come_in_units_with_the_lot_size_as_contract_size():
    async with running_server() as server, connected(server, server.hedged, server.netted) as (hedged, netted):
        specs = await netted.symbols()
        eur = specs["EUR/USD"]
        assert eur.volume_unit is VolumeUnit.UNITS
        assert (eur.volume_min, eur.volume_step, eur.volume_max, eur.contract_size) == (10_000, 1_000, 10_000_000,
                                                                                        100_000)
        assert (eur.digits, eur.point, eur.currency_base, eur.currency_profit) == (5, 1e-5, "EUR", "USD")
        assert eur.to_lots(25_000) == 0.25 and eur.from_lots(0.1) == 10_000 and eur.base_per_volume == 1.0
        assert specs["US 30"].volume_min == 0.1 and specs["GOLD"].contract_size == 100
        gold = await hedged.symbol("XAUUSD")
        assert gold.bid > 0 and gold.ask > gold.bid and gold.digits == 2
        assert await hedged.symbol("EUR/USD") is None  # the other broker's name


async def test_a_hedged_open_modify_partial_and_full_close_with_tags_read_back():
    async with running_server() as server, connected(server) as c:
        spec = await c.symbol("EURUSD")
        sl, tp = round(spec.bid - 0.005, 5), round(spec.bid + 0.005, 5)
        report = await c.open(OpenPosition("EURUSD", Side.BUY, 20_000, sl, tp, magic=4242, comment="CG:7.ab"))
        assert report.status is Status.FILLED and report.reason is None and report.volume == 20_000
        assert report.price == spec.ask or report.price > 0
        assert report.extra["request"]["label"] == "4242" and report.extra["request"]["volume"] == 2_000_000
        (position,) = (await c.snapshot()).positions
        assert (position.symbol, position.side, position.volume) == ("EURUSD", Side.BUY, 20_000)
        assert (position.magic, position.comment) == (4242, "CG:7.ab")
        assert (position.sl, position.tp) == (sl, tp) and position.deals is None
        assert position.ticket == report.extra["position"] and position.time_msc > 0

        new_sl = round(spec.bid - 0.007, 5)
        moved = await c.modify(ModifyStops(position.ticket, "EURUSD", new_sl, tp))
        assert moved.status is Status.PLACED
        assert (await c.snapshot()).positions[0].sl == new_sl
        same = await c.modify(ModifyStops(position.ticket, "EURUSD", new_sl, tp))
        assert (same.status, same.reason, same.sent) == (Status.PLACED, Reason.NO_CHANGES, False)

        part = await c.close(ClosePosition(position.ticket, "EURUSD", Side.BUY, 5_000, 4242, "CG:7.ab"))
        assert part.status is Status.FILLED and part.volume == 5_000
        assert (await c.snapshot()).positions[0].volume == 15_000
        rest = await c.close(ClosePosition(position.ticket, "EURUSD", Side.BUY, 15_000, 4242, "CG:7.ab"))
        assert rest.status is Status.FILLED
        assert (await c.snapshot()).positions == ()
        deals = await c.position_deals(position.ticket)
        assert [(d.side, d.volume) for d in deals] == [(Side.BUY, 20_000), (Side.SELL, 5_000), (Side.SELL, 15_000)]
        assert deals[0].commission == pytest.approx(-0.6) and all(d.position_id == position.ticket for d in deals)


async def test_a_netted_account_keeps_one_position_whose_deals_say_which_master_each_share_copies():
    async with running_server() as server, connected(server, server.netted) as c:
        first = await c.open(OpenPosition("EUR/USD", Side.BUY, 20_000, 0, 0, magic=9, comment="CG:A"))
        second = await c.open(OpenPosition("EUR/USD", Side.BUY, 10_000, 0, 0, magic=9, comment="CG:B"))
        assert first.status is second.status is Status.FILLED
        (position,) = (await c.snapshot()).positions
        assert position.volume == 30_000 and (position.magic, position.comment) == (9, "CG:A")
        assert [(d.magic, d.comment, d.volume) for d in position.deals] == [(9, "CG:A", 20_000), (9, "CG:B", 10_000)]
        # Closing master B's share: the closing deal carries B's tag, not the position's first one.
        closed = await c.close(ClosePosition(position.ticket, "EUR/USD", Side.BUY, 10_000, 9, "CG:B"))
        assert closed.status is Status.FILLED
        (position,) = (await c.snapshot()).positions
        assert position.volume == 20_000
        assert [(d.comment, d.volume) for d in position.deals] == [("CG:A", 20_000), ("CG:B", 10_000),
                                                                   ("CG:B", -10_000)]
        # A close larger than the position would reverse it on a netted account: refused unsent.
        too_big = await c.close(ClosePosition(position.ticket, "EUR/USD", Side.BUY, 30_000, 9, "CG:A"))
        assert (too_big.status, too_big.reason, too_big.sent) == (Status.REJECTED, Reason.INVALID_VOLUME, False)


async def test_pending_orders_are_placed_mirrored_and_cancelled():
    async with running_server() as server, connected(server) as c:
        spec = await c.symbol("EURUSD")
        price = round(spec.bid - 0.01, 5)
        placed = await c.place_pending(PlacePending("EURUSD", PendingKind.BUY_LIMIT, 3_000, price, 0.0,
                                                    round(price - 0.005, 5), 0.0, 0, 77, "CG:P1"))
        assert placed.status is Status.PLACED and placed.order > 0
        (order,) = (await c.snapshot()).orders
        assert (order.ticket, order.kind, order.volume, order.price) == (placed.order, PendingKind.BUY_LIMIT, 3_000,
                                                                         price)
        assert (order.magic, order.comment, order.sl) == (77, "CG:P1", round(price - 0.005, 5))
        cancelled = await c.cancel(CancelPending(placed.order, "EURUSD"))
        assert cancelled.status is Status.PLACED
        assert (await c.snapshot()).orders == ()
        gone = await c.cancel(CancelPending(placed.order, "EURUSD"))
        assert (gone.status, gone.reason) == (Status.REJECTED, Reason.NOT_FOUND)
        assert "ORDER_NOT_FOUND" in gone.message


async def test_refusals_come_back_with_the_ports_status_reason_and_readable_text():
    async with running_server() as server, connected(server, server.hedged, server.netted) as (hedged, netted):
        broke = await netted.open(OpenPosition("EUR/USD", Side.BUY, 5_000_000, 0, 0, 1, "CG:1"))
        assert (broke.status, broke.reason, broke.sent) == (Status.REJECTED, Reason.NO_MONEY, True)
        assert "NOT_ENOUGH_MONEY" in broke.message and "not enough free margin" in broke.message
        odd = await netted.open(OpenPosition("EUR/USD", Side.BUY, 5_000, 0, 0, 1, "CG:1"))
        assert (odd.status, odd.reason, odd.sent) == (Status.REJECTED, Reason.INVALID_VOLUME, False)
        assert "below the minimum" in odd.message and "minimum 10000" in odd.message
        unknown = await hedged.open(OpenPosition("EUR/USD", Side.BUY, 1_000, 0, 0, 1, "CG:1"))
        assert (unknown.status, unknown.reason, unknown.sent) == (Status.REJECTED, Reason.INVALID_REQUEST, False)
        assert "no symbol 'EUR/USD'" in unknown.message
        gone = await hedged.close(ClosePosition(2416447, "EURUSD", Side.BUY, 1_000, 1, "CG:1"))
        assert (gone.status, gone.reason) == (Status.REJECTED, Reason.NOT_FOUND)
        assert await hedged.snapshot()  # nothing of that broke the session


async def test_a_closed_market_is_refused_as_market_closed():
    async with running_server() as server, connected(server) as c:
        await c.symbol("EURUSD")
        server.clock.advance(3 * 86400)  # Wednesday noon to Saturday noon
        report = await c.open(OpenPosition("EURUSD", Side.BUY, 1_000, 0, 0, 1, "CG:1"))
        assert (report.status, report.reason) == (Status.REJECTED, Reason.MARKET_CLOSED)
        assert "market for this symbol is closed" in report.message


async def test_the_snapshot_follows_pushed_events_without_a_round_trip():
    async with running_server() as server, connected(server) as c, trader_on(server) as other_app:
        assert (await c.snapshot()).positions == ()
        before = len(server.requests)
        # Another application trades on the account: only its events reach this connector.
        await other_app.market(server.hedged, 1, MM.BUY, 300_000, label="5", comment="manual")
        position = (await until(lambda: _one_position(c)))
        assert (position.volume, position.magic, position.comment) == (3_000, 5, "manual")
        # A position the copier did not label (a manual trade) has magic 0.
        await other_app.market(server.hedged, 1, MM.SELL, 100_000, comment="by hand")
        manual = await until(lambda: _labelless(c))
        assert (manual.magic, manual.comment, manual.side) == (0, "by hand", Side.SELL)
        for _ in range(50):
            await c.snapshot()
        mine = [name for name, _ in server.requests[before:] if name != "ProtoOASubscribeSpotsReq"]
        # The other application's two orders, and this connector reading the new symbol's record
        # once: the snapshots themselves sent nothing.
        assert sorted(mine) == ["ProtoOANewOrderReq", "ProtoOANewOrderReq", "ProtoOASymbolByIdReq"]


async def _labelless(c):
    return next((p for p in (await c.snapshot()).positions if p.comment == "by hand"), None)


async def _one_position(c):
    positions = (await c.snapshot()).positions
    return positions[0] if positions else None


async def test_a_dropped_link_raises_then_reconnecting_reconciles_the_mirror():
    async with running_server() as server, connected(server) as c:
        opened = await c.open(OpenPosition("EURUSD", Side.BUY, 1_000, 0, 0, 3, "CG:1"))
        server.drop_connections()
        await until(lambda: not c.live)
        with pytest.raises(ConnectorError) as caught:
            await c.snapshot()
        assert "not reachable" in caught.value.message
        down = await c.open(OpenPosition("EURUSD", Side.BUY, 1_000, 0, 0, 3, "CG:2"))
        assert (down.status, down.reason, down.sent) == (Status.UNREACHABLE, Reason.NO_CONNECTION, False)
        # While the copier was away, the broker closed the position and another fill came in.
        async with trader_on(server) as other_app:
            await other_app.ask(M.ProtoOAClosePositionReq(ctidTraderAccountId=server.hedged.account_id,
                                                          positionId=opened.extra["position"], volume=100_000))
            await other_app.market(server.hedged, 2, MM.SELL, 200_000, label="3", comment="CG:9")
        await c.connect()
        (position,) = (await c.snapshot()).positions
        assert (position.symbol, position.side, position.volume, position.comment) == ("GBPUSD", Side.SELL, 2_000,
                                                                                       "CG:9")


async def test_an_order_the_server_never_answers_is_unreachable_and_the_mirror_finds_it():
    async with running_server() as server, connected(server, connection_options={"request_timeout": 0.3}) as c:
        server.faults.unanswered_orders = 1
        report = await c.open(OpenPosition("EURUSD", Side.BUY, 1_000, 0, 0, 3, "CG:lost"))
        assert (report.status, report.reason, report.sent) == (Status.UNREACHABLE, Reason.NO_CONNECTION, True)
        assert "may or may not have been executed" in report.message
        position = await until(lambda: _one_position(c))
        assert position.comment == "CG:lost"


async def test_tokens_near_their_end_are_refreshed_at_connect_and_saved_before_use():
    async with running_server() as server:
        store = store_for(server, expires_at=server.clock.time() + 60)
        old = store.tokens
        async with connected(server, server.hedged, store=store) as c:
            assert store.saves == 1 and store.tokens.refresh_token != old.refresh_token
            assert store.tokens.expires_at > server.clock.time() + 29 * 86400
            assert "access_token" not in repr(store.tokens) and old.access_token not in repr(store.tokens)
            report = await c.open(OpenPosition("EURUSD", Side.BUY, 1_000, 0, 0, 3, "CG:1"))
            assert report.status is Status.FILLED
            # The spent pair no longer works: only the saved one does.
            with pytest.raises(TokenRefused):
                server.tokens.check(old.access_token)
            server.tokens.check(store.tokens.access_token)


async def test_two_accounts_of_one_ctrader_id_share_one_link_and_one_refresh():
    async with running_server() as server:
        store, pool = store_for(server), LinkPool()
        async with connected(server, server.hedged, server.netted, store=store, pool=pool) as (hedged, netted):
            assert hedged.link is netted.link and len(pool) == 1 and len(server.links) == 1
            await hedged.link.refresh_now()
            assert store.saves == 1
            # The refresh ended both sessions at the server: each is authorized again with the new
            # token and its mirror reconciled, since events of the gap may be lost.
            await until(lambda: hedged.live and netted.live)
            a = await hedged.open(OpenPosition("EURUSD", Side.BUY, 1_000, 0, 0, 3, "CG:1"))
            b = await netted.open(OpenPosition("EUR/USD", Side.SELL, 10_000, 0, 0, 3, "CG:1"))
            assert a.status is b.status is Status.FILLED
            assert len((await hedged.snapshot()).positions) == len((await netted.snapshot()).positions) == 1
            await hedged.close_session()
            assert len(pool) == 1 and (await netted.snapshot()).positions  # the other account keeps the link
        assert len(pool) == 0
        await until(lambda: not server.links)


async def test_close_session_twice_is_harmless_and_a_closed_connector_can_connect_again():
    async with running_server() as server:
        pool = LinkPool()
        c = connector_for(server, server.hedged, store_for(server), pool)
        await c.connect()
        await c.close_session()
        await c.close_session()
        await c.aclose()
        with pytest.raises(ConnectorError):
            await c.snapshot()
        await c.connect()
        assert (await c.snapshot()).positions == ()
        await c.close_session()
        assert len(pool) == 0


async def test_deposits_and_withdrawals_are_read_signed_from_the_cash_flow_history():
    async with running_server() as server, connected(server) as c:
        before = await c.cash_flows()
        server.deposit(server.hedged.account_id, 500.0, "top up")
        server.deposit(server.hedged.account_id, -200.5, "payout")
        flows = await c.cash_flows()
        assert [(f.amount, f.comment) for f in flows[len(before):]] == [(500.0, "top up"), (-200.5, "payout")]
        assert flows[-1].id > flows[-2].id
