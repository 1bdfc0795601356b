"""The simulated server's history and account queries, asked by the connector's own link: deal
lists by time window and by position, order details, orders of a position, unrealized PnL, and
what a deposit or a withdrawal pushes."""

from __future__ import annotations

import pytest

from copier_gui import ctrader_messages as cm
from copier_gui.connectors.ctrader.errors import OpenApiError
from tests.unit.sim.ctrader.rig import Events, connected, running_server

M = cm.messages
MM = cm.model

pytestmark = pytest.mark.asyncio


def _buy(account, cents=100_000, **fields):
    return M.ProtoOANewOrderReq(ctidTraderAccountId=account.account_id, symbolId=1, orderType=MM.MARKET,
                                tradeSide=MM.BUY, volume=cents, **fields)


async def _filled(link, events, request):
    """Send a market order; return (ACCEPTED reply, the ORDER_FILLED that follows)."""
    accepted = await link.request(request)
    filled = await events.wait_for(lambda e: isinstance(e, M.ProtoOAExecutionEvent)
                                   and e.executionType == MM.ORDER_FILLED and e.order.orderId == accepted.order.orderId)
    return accepted, filled


async def test_deal_list_by_position_and_order_details_join_deals_to_their_orders():
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        events = Events(link)
        _, opened = await _filled(link, events, _buy(account, 200_000, label="cg", clientOrderId="c-1"))
        position_id = opened.position.positionId
        close = await link.request(M.ProtoOAClosePositionReq(ctidTraderAccountId=account.account_id,
                                                             positionId=position_id, volume=100_000))
        await events.wait_for(lambda e: getattr(e, "executionType", 0) == MM.ORDER_FILLED
                              and e.order.orderId == close.order.orderId)
        reply = await link.request(M.ProtoOADealListByPositionIdReq(ctidTraderAccountId=account.account_id,
                                                                     positionId=position_id))
        assert isinstance(reply, M.ProtoOADealListByPositionIdRes) and reply.HasField("hasMore")
        assert [d.positionId for d in reply.deal] == [position_id, position_id] and not reply.hasMore
        assert reply.deal[0].dealId == opened.deal.dealId and reply.deal[1].HasField("closePositionDetail")
        details = await link.request(M.ProtoOAOrderDetailsReq(ctidTraderAccountId=account.account_id,
                                                              orderId=opened.order.orderId))
        assert details.order.clientOrderId == "c-1" and details.order.orderStatus == MM.ORDER_STATUS_FILLED
        assert [d.dealId for d in details.deal] == [opened.deal.dealId]
        orders = await link.request(M.ProtoOAOrderListByPositionIdReq(ctidTraderAccountId=account.account_id,
                                                                       positionId=position_id))
        # newest first, as the proto says
        assert [o.orderId for o in orders.order] == [close.order.orderId, opened.order.orderId]
        with pytest.raises(OpenApiError) as caught:
            await link.request(M.ProtoOAOrderDetailsReq(ctidTraderAccountId=account.account_id, orderId=12345))
        assert caught.value.code == "ORDER_NOT_FOUND"
        await link.close()


async def test_deal_list_takes_a_time_window_and_max_rows_and_says_when_there_is_more():
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        events = Events(link)
        start_ms = int(server.clock.time() * 1000)
        fills = []
        for _ in range(3):
            fills.append((await _filled(link, events, _buy(account)))[1].deal)
            server.clock.advance(60)
        ask = M.ProtoOADealListReq(ctidTraderAccountId=account.account_id, fromTimestamp=start_ms,
                                   toTimestamp=int(server.clock.time() * 1000))
        reply = await link.request(ask)
        assert [d.dealId for d in reply.deal] == [d.dealId for d in fills] and reply.hasMore is False
        ask.maxRows = 2
        reply = await link.request(ask)
        assert len(reply.deal) == 2 and reply.hasMore is True
        ask.ClearField("maxRows")
        ask.fromTimestamp = fills[1].executionTimestamp
        reply = await link.request(ask)
        assert [d.dealId for d in reply.deal] == [fills[1].dealId, fills[2].dealId]
        ask.toTimestamp = ask.fromTimestamp - 1
        with pytest.raises(OpenApiError) as caught:
            await link.request(ask)
        assert caught.value.code == "INCORRECT_BOUNDARIES"
        await link.close()


async def test_unrealized_pnl_per_position_in_money_digits():
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        events = Events(link)
        _, filled = await _filled(link, events, _buy(account, 10_000_000))
        reply = await link.request(M.ProtoOAGetPositionUnrealizedPnLReq(ctidTraderAccountId=account.account_id))
        assert reply.moneyDigits == 2
        (pnl,) = reply.positionUnrealizedPnL
        assert pnl.positionId == filled.position.positionId
        pos = next(iter(account.engine.positions.values()))
        gross = account.engine.position_profit(pos)[1]
        assert abs(pnl.grossUnrealizedPnL - round(gross * 100)) <= 2  # the market may tick in between
        assert pnl.netUnrealizedPnL == pnl.grossUnrealizedPnL + filled.position.commission  # open commission
        await link.close()


async def test_a_deposit_or_withdrawal_pushes_the_cash_flow_and_the_trader():
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        events = Events(link)
        before = (await link.request(M.ProtoOATraderReq(ctidTraderAccountId=account.account_id))).trader
        server.deposit(account.account_id, 250.0)
        flow = await events.wait_for(lambda e: getattr(e, "executionType", 0) == MM.DEPOSIT_WITHDRAW)
        assert flow.depositWithdraw.operationType == MM.BALANCE_DEPOSIT
        assert flow.depositWithdraw.delta == 25_000 and flow.depositWithdraw.balance == before.balance + 25_000
        assert flow.depositWithdraw.moneyDigits == 2 and not flow.HasField("order")
        updated = await events.wait_for(lambda e: isinstance(e, M.ProtoOATraderUpdatedEvent))
        assert updated.trader.balance == before.balance + 25_000
        assert updated.trader.balanceVersion > before.balanceVersion
        server.deposit(account.account_id, -100.0)
        flow = await events.wait_for(lambda e: getattr(e, "executionType", 0) == MM.DEPOSIT_WITHDRAW)
        assert flow.depositWithdraw.operationType == MM.BALANCE_WITHDRAW and flow.depositWithdraw.delta == 10_000
        await link.close()


async def test_assets_name_the_deposit_currency_and_each_symbols_base_and_quote():
    async with running_server() as server:
        link = await connected(server, server.hedged, server.netted)
        for account, currency in ((server.hedged, "USD"), (server.netted, "EUR")):
            assets = await link.request(M.ProtoOAAssetListReq(ctidTraderAccountId=account.account_id))
            names = {a.assetId: a.name for a in assets.asset}
            trader = (await link.request(M.ProtoOATraderReq(ctidTraderAccountId=account.account_id))).trader
            assert names[trader.depositAssetId] == currency and len(names) == len(assets.asset)
            symbols = await link.request(M.ProtoOASymbolsListReq(ctidTraderAccountId=account.account_id))
            gold = next(s for s in symbols.symbol if s.symbolName in ("XAUUSD", "GOLD"))
            assert (names[gold.baseAssetId], names[gold.quoteAssetId]) == ("XAU", "USD")
        assert server.hedged.broker.asset_ids["EUR"] != server.netted.broker.asset_ids["EUR"]  # each broker's own
        await link.close()


async def test_cash_flow_history_lists_deposits_and_withdrawals_within_a_week():
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        start = int(server.clock.time() * 1000) - 1
        server.deposit(account.account_id, 500.0)
        server.deposit(account.account_id, -200.0)
        ask = M.ProtoOACashFlowHistoryListReq(ctidTraderAccountId=account.account_id, fromTimestamp=start,
                                              toTimestamp=int(server.clock.time() * 1000) + 1)
        reply = await link.request(ask)
        assert [(f.operationType, f.delta) for f in reply.depositWithdraw] == [
            (MM.BALANCE_DEPOSIT, 50_000), (MM.BALANCE_WITHDRAW, 20_000)]
        ask.toTimestamp = start + 604_800_001
        with pytest.raises(OpenApiError) as caught:
            await link.request(ask)
        assert caught.value.code == "INCORRECT_BOUNDARIES"
        await link.close()


async def test_deal_offsets_say_which_deals_closed_which():
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        events = Events(link)
        _, opened = await _filled(link, events, _buy(account, 300_000))
        position_id = opened.position.positionId
        closes = []
        for cents in (100_000, 200_000):
            close = await link.request(M.ProtoOAClosePositionReq(ctidTraderAccountId=account.account_id,
                                                                 positionId=position_id, volume=cents))
            closes.append((await events.wait_for(lambda e, oid=close.order.orderId: getattr(e, "executionType", 0)
                                                 == MM.ORDER_FILLED and e.order.orderId == oid)).deal)
        reply = await link.request(M.ProtoOADealOffsetListReq(ctidTraderAccountId=account.account_id,
                                                               dealId=opened.deal.dealId))
        assert [(o.dealId, o.volume) for o in reply.offsetBy] == [(closes[0].dealId, 100_000),
                                                                  (closes[1].dealId, 200_000)]
        assert list(reply.offsetting) == []
        reply = await link.request(M.ProtoOADealOffsetListReq(ctidTraderAccountId=account.account_id,
                                                               dealId=closes[1].dealId))
        assert [(o.dealId, o.volume) for o in reply.offsetting] == [(opened.deal.dealId, 200_000)]
        assert reply.offsetting[0].executionPrice == opened.deal.executionPrice
        with pytest.raises(OpenApiError) as caught:
            await link.request(M.ProtoOADealOffsetListReq(ctidTraderAccountId=account.account_id, dealId=1))
        assert caught.value.code == "ENTITY_NOT_FOUND"
        await link.close()


async def test_a_symbol_changed_by_the_broker_is_announced():
    async with running_server() as server:
        account = server.hedged
        link = await connected(server, account)
        events = Events(link)
        account.set_trading_mode(2, MM.CLOSE_ONLY_MODE)
        changed = await events.wait_for(lambda e: isinstance(e, M.ProtoOASymbolChangedEvent))
        assert list(changed.symbolId) == [2] and changed.ctidTraderAccountId == account.account_id
        await link.close()


@pytest.mark.parametrize("keeps", ["newest", "oldest"])
async def test_a_list_cut_short_keeps_the_newest_or_oldest_rows_as_the_server_is_set(keeps):
    async with running_server() as server:
        account = server.hedged
        server.history_chunk, server.history_cut_keeps = 2, keeps
        link = await connected(server, account)
        events = Events(link)
        _, opened = await _filled(link, events, _buy(account, 300_000))
        position_id = opened.position.positionId
        deal_ids = [opened.deal.dealId]
        for _ in range(2):
            server.clock.advance(5)
            close = await link.request(M.ProtoOAClosePositionReq(ctidTraderAccountId=account.account_id,
                                                                 positionId=position_id, volume=100_000))
            deal_ids.append((await events.wait_for(lambda e, oid=close.order.orderId: getattr(
                e, "executionType", 0) == MM.ORDER_FILLED and e.order.orderId == oid)).deal.dealId)
        ask = M.ProtoOADealListByPositionIdReq(ctidTraderAccountId=account.account_id, positionId=position_id)
        first = await link.request(ask)
        assert first.hasMore and [d.dealId for d in first.deal] == (deal_ids[1:] if keeps == "newest" else deal_ids[:2])
        if keeps == "newest":  # page back in time, as a client does
            ask.toTimestamp = min(d.executionTimestamp for d in first.deal) - 1
        else:
            ask.fromTimestamp = max(d.executionTimestamp for d in first.deal) + 1
        rest = await link.request(ask)
        assert not rest.hasMore and [d.dealId for d in rest.deal] == ([deal_ids[0]] if keeps == "newest" else [deal_ids[2]])
        orders = await link.request(M.ProtoOAOrderListByPositionIdReq(ctidTraderAccountId=account.account_id,
                                                                       positionId=position_id))
        times = [o.utcLastUpdateTimestamp for o in orders.order]
        assert orders.hasMore and times == sorted(times, reverse=True)  # newest first, whatever is kept
        await link.close()


async def test_symbols_belong_to_categories_of_asset_classes():
    async with running_server() as server:
        account = server.netted
        link = await connected(server, account)
        classes = await link.request(M.ProtoOAAssetClassListReq(ctidTraderAccountId=account.account_id))
        categories = await link.request(M.ProtoOASymbolCategoryListReq(ctidTraderAccountId=account.account_id))
        class_names = {c.id: c.name for c in classes.assetClass}
        by_id = {c.id: c for c in categories.symbolCategory}
        assert set(class_names.values()) == {"Forex", "Metals", "Indices", "Crypto"}
        assert all(c.assetClassId in class_names for c in by_id.values())
        symbols = await link.request(M.ProtoOASymbolsListReq(ctidTraderAccountId=account.account_id))
        gold = next(s for s in symbols.symbol if s.symbolName == "GOLD")
        assert class_names[by_id[gold.symbolCategoryId].assetClassId] == "Metals"
        await link.close()


async def test_a_conversion_chain_links_two_assets_through_the_brokers_symbols():
    async with running_server() as server:
        account = server.netted  # EUR/USD, GBP/USD, USD/JPY, EUR/GBP, GOLD, US 30, BTC/USD
        link = await connected(server, account)
        ids = account.broker.asset_ids

        async def chain(first, last):
            reply = await link.request(M.ProtoOASymbolsForConversionReq(
                ctidTraderAccountId=account.account_id, firstAssetId=ids[first], lastAssetId=ids[last]))
            return [s.symbolName for s in reply.symbol]

        assert await chain("EUR", "USD") == ["EUR/USD"]
        assert await chain("USD", "EUR") == ["EUR/USD"]
        assert await chain("XAU", "EUR") == ["GOLD", "EUR/USD"]
        assert await chain("BTC", "JPY") == ["BTC/USD", "USD/JPY"]
        with pytest.raises(OpenApiError) as caught:
            await chain("USD", "ZAR")  # no symbol of this broker quotes rand
        assert caught.value.code == "SYMBOL_NOT_FOUND"
        await link.close()
