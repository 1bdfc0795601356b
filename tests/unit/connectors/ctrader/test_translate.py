"""The cTrader connector's pure translations and refusal mapping: units, money, tags, symbols,
positions, orders, deals and the port's statuses and reasons."""

from __future__ import annotations

import pytest

from copier_gui import ctrader_messages as cm
from copier_gui.connectors.ctrader import reasons
from copier_gui.connectors.ctrader import translate as t
from copier_gui.connectors.ctrader.capabilities import UNCONNECTED, capabilities_for
from copier_gui.core.capabilities import PositionModel
from copier_gui.core.model import PendingKind, Reason, Side, Status, TradeMode, VolumeUnit

MM = cm.model


def _symbol(**fields):
    base = dict(symbolId=131, digits=2, pipPosition=1, minVolume=1_000, stepVolume=100, maxVolume=500_000,
                lotSize=10_000)
    base.update(fields)
    return MM.ProtoOASymbol(**base)


def test_units_cents_money_and_prices():
    assert t.units(2_000_000) == 20_000 and t.cents(0.01) == 1 and t.cents(20_000) == 2_000_000
    assert t.money(10053099944, 8) == pytest.approx(100.53099944) and t.money(-60, 2) == -0.6
    assert t.spot_price(108_392) == pytest.approx(1.08392)
    assert t.round_price(1.234567, 5) == 1.23457 and t.round_price(0, 5) == 0.0


def test_the_magic_travels_in_the_label_and_only_a_number_reads_back():
    assert t.label_for(4242) == "4242" and t.label_for(0) == ""
    assert t.magic_of("4242") == 4242 and t.magic_of("") == 0 and t.magic_of("manual") == 0
    assert t.magic_of("cg:m1:p7") == 0 and t.magic_of("٣") == 0  # a non-ASCII digit is not a magic
    with pytest.raises(t.Refusal):
        t.label_for(-1)


def test_a_symbol_is_specified_in_units_with_its_lot_size_and_trading_mode():
    light = MM.ProtoOALightSymbol(symbolId=131, symbolName="GOLD", description="Spot Gold")
    spec = t.to_symbol_spec(light, _symbol(), base="XAU", quote="USD", quote_to_deposit=0.9, bid=2000.5, ask=2001.0)
    assert spec.volume_unit is VolumeUnit.UNITS
    assert (spec.volume_min, spec.volume_step, spec.volume_max, spec.contract_size) == (10, 1, 5_000, 100)
    assert (spec.digits, spec.point, spec.tick_size) == (2, 0.01, 0.01)
    assert spec.tick_value == pytest.approx(0.009) and spec.trade_mode is TradeMode.FULL
    assert t.trade_mode(_symbol(tradingMode=MM.CLOSE_ONLY_MODE)) is TradeMode.CLOSE_ONLY
    assert t.trade_mode(_symbol(tradingMode=MM.DISABLED_WITH_PENDINGS_EXECUTION)) is TradeMode.DISABLED
    assert t.trade_mode(_symbol(enableShortSelling=False)) is TradeMode.LONG_ONLY
    assert t.stops_distance(_symbol(slDistance=30, tpDistance=20)) == 30
    assert t.stops_distance(_symbol(slDistance=30, distanceSetIn=MM.SYMBOL_DISTANCE_IN_PERCENTAGE)) == 0


def test_currencies_come_from_assets_or_a_pairs_name_and_convert_to_the_deposit():
    assert t.currencies(MM.ProtoOALightSymbol(symbolId=1, symbolName="EUR/USD"), {}) == ("EUR", "USD")
    assert t.currencies(MM.ProtoOALightSymbol(symbolId=1, symbolName="GOLD", baseAssetId=7, quoteAssetId=8),
                        {7: "XAU", 8: "USD"}) == ("XAU", "USD")
    assert t.currencies(MM.ProtoOALightSymbol(symbolId=1, symbolName="US 30"), {}) == ("", "")
    mids = {("EUR", "USD"): 1.25}
    assert t.conversion("USD", "USD", mids) == 1.0
    assert t.conversion("USD", "EUR", mids) == pytest.approx(0.8)
    assert t.conversion("EUR", "USD", mids) == 1.25 and t.conversion("JPY", "EUR", mids) == 0.0
    mids[("USD", "JPY")] = 150.0
    assert t.conversion("JPY", "EUR", mids) == pytest.approx(1 / 150 / 1.25)  # through the dollar


def test_volumes_off_the_step_or_limits_are_refused_before_sending():
    light = MM.ProtoOALightSymbol(symbolId=131, symbolName="GOLD")
    spec = t.to_symbol_spec(light, _symbol(), base="", quote="", quote_to_deposit=0)
    assert t.fit_volume(12, spec) == 1_200
    for volume, words in ((5, "below the minimum"), (6_000, "above the maximum"), (12.5, "not a multiple")):
        with pytest.raises(t.Refusal) as caught:
            t.fit_volume(volume, spec)
        assert caught.value.code == "TRADING_BAD_VOLUME" and words in caught.value.message


def test_relative_stops_are_distances_from_the_entry_on_the_right_side():
    assert t.relative_stops(buy=True, entry=1.1, sl=1.099, tp=1.102) == (100, 200)
    assert t.relative_stops(buy=False, entry=1.1, sl=1.101, tp=1.098) == (100, 200)
    assert t.relative_stops(buy=True, entry=1.1, sl=1.2, tp=0) == (0, 0)  # wrong side: not sent


def test_positions_orders_and_deals_translate_with_their_tags():
    trade = MM.ProtoOATradeData(symbolId=1, volume=2_000_000, tradeSide=MM.SELL, openTimestamp=1_700_000_000_123,
                                label="77", comment="CG:7")
    p = MM.ProtoOAPosition(positionId=5, tradeData=trade, positionStatus=MM.POSITION_STATUS_OPEN, swap=0,
                           price=1.0839712, stopLoss=1.09)
    position = t.to_position(p, name="EURUSD", digits=5)
    assert (position.ticket, position.side, position.volume, position.price_open) == (5, Side.SELL, 20_000, 1.08397)
    assert (position.sl, position.tp, position.magic, position.comment) == (1.09, 0.0, 77, "CG:7")
    assert position.time_msc == 1_700_000_000_123
    order = MM.ProtoOAOrder(orderId=9, tradeData=trade, orderType=MM.STOP_LIMIT, orderStatus=MM.ORDER_STATUS_ACCEPTED,
                            stopPrice=1.08, slippageInPoints=20, expirationTimestamp=1_700_000_100_000,
                            executedVolume=500_000)
    pending = t.to_pending_order(order, name="EURUSD", digits=5)
    assert (pending.kind, pending.price, pending.stoplimit, pending.volume) == (PendingKind.SELL_STOP_LIMIT, 1.08,
                                                                                1.0798, 15_000)
    assert pending.expiration == 1_700_000_100 and pending.magic == 77
    assert t.to_pending_order(MM.ProtoOAOrder(orderId=1, tradeData=trade, orderType=MM.MARKET,
                                              orderStatus=MM.ORDER_STATUS_FILLED), name="x", digits=5) is None
    deal = MM.ProtoOADeal(dealId=3, orderId=9, positionId=5, volume=2_000_000, filledVolume=1_000_000, symbolId=1,
                          createTimestamp=1, executionTimestamp=2, tradeSide=MM.BUY, dealStatus=MM.FILLED,
                          executionPrice=1.1, commission=-30, moneyDigits=2)
    deal.closePositionDetail.CopyFrom(MM.ProtoOAClosePositionDetail(entryPrice=1.2, grossProfit=1234, swap=-5,
                                                                    commission=-30, balance=0, moneyDigits=2))
    booked = t.to_deal(deal, comment="CG:7", digits=5, money_digits=2)
    assert (booked.side, booked.volume, booked.price, booked.commission) == (Side.BUY, 10_000, 1.1, -0.3)
    assert (booked.profit, booked.swap, booked.position_id) == (12.34, -0.05, 5)
    share = t.deal_share(deal, order)
    assert (share.magic, share.comment, share.volume) == (77, "CG:7", 10_000)


def test_account_state_money_and_trading_blockers():
    trader = MM.ProtoOATrader(ctidTraderAccountId=1, balance=1_234_567, depositAssetId=3, moneyDigits=2,
                              leverageInCents=3_000, traderLogin=42, accountType=MM.NETTED,
                              accessRights=MM.CLOSE_ONLY)
    blocked = t.blockers(trader, can_trade_scope=False)
    state = t.to_account_state(trader, currency="EUR", server="s", company="c", equity=None, margin=100.0,
                               blocked=blocked)
    assert (state.balance, state.equity, state.margin_free, state.leverage) == (12_345.67, 12_345.67, 12_245.67, 30)
    assert not state.hedging and not state.trade_allowed
    assert "only closing" in state.trading_blocked and "authorize it again with trading access" in state.trading_blocked


def test_capabilities_follow_the_account_type():
    assert capabilities_for(MM.HEDGED).position_model is PositionModel.HEDGING
    assert capabilities_for(MM.NETTED).position_model is PositionModel.NETTING
    assert UNCONNECTED.position_model is PositionModel.NETTING and UNCONNECTED.max_comment_length == 256


@pytest.mark.parametrize(("code", "status", "reason"), [
    ("NOT_ENOUGH_MONEY", Status.REJECTED, Reason.NO_MONEY),
    ("TRADING_BAD_VOLUME", Status.REJECTED, Reason.INVALID_VOLUME),
    ("MARKET_CLOSED", Status.REJECTED, Reason.MARKET_CLOSED),
    ("SYMBOL_NOT_FOUND", Status.REJECTED, Reason.INVALID_REQUEST),
    ("NO_QUOTES", Status.REQUOTED, Reason.NO_QUOTE),
    ("PRICE_BEYOND_LIMIT", Status.REQUOTED, Reason.REQUOTE),
    ("ORDER_CANCELLED", Status.REQUOTED, Reason.NO_QUOTE),
    ("ORDER_REJECTED", Status.REJECTED, Reason.REFUSED),
    ("REQUEST_FREQUENCY_EXCEEDED", Status.THROTTLED, Reason.THROTTLED),
    ("TRADING_NOT_ALLOWED", Status.DISABLED, Reason.TRADING_DISABLED),
    ("REQUEST_TIMEOUT", Status.UNREACHABLE, Reason.NO_CONNECTION),
    ("CH_SERVER_NOT_REACHABLE", Status.UNREACHABLE, Reason.NO_CONNECTION),
    ("RET_ACCOUNT_DISABLED", Status.DISABLED, Reason.TRADING_DISABLED),
    ("SOMETHING_NEW", Status.REJECTED, Reason.REFUSED),
])
def test_refusal_codes_map_to_the_ports_status_and_reason(code, status, reason):
    assert reasons.status_for(code) is status and reasons.reason_for(code) is reason
    text = reasons.refusal_message(code, "the server's words", broker="Lumen")
    assert code in text and "the server's words" in text
