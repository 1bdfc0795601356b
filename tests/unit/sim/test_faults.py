"""Seeded fault injection: off by default, reproducible, and shaped like the real terminal's failures."""

from __future__ import annotations

import pytest

from copier_gui.sim import Faults, Latency, new_terminal
from copier_gui.sim.faults import INJECTABLE_REJECTIONS, REJECTION_COMMENTS


def buy(t, symbol="EURUSD", volume=0.1, filling=None):
    tick = t.symbol_info_tick(symbol)
    return t.order_send({
        "action": t.TRADE_ACTION_DEAL, "symbol": symbol, "volume": volume, "type": t.ORDER_TYPE_BUY,
        "price": tick.ask, "deviation": 20,
        "type_filling": t.ORDER_FILLING_IOC if filling is None else filling,
    })


def test_faults_off_by_default_every_minimum_order_fills(make_terminal, weekday_clock):
    t = make_terminal("meridian_ecn")
    for _ in range(200):
        result = buy(t, volume=0.01)
        assert result.retcode == t.TRADE_RETCODE_DONE and result.volume == 0.01
        weekday_clock.advance(0.05)


@pytest.mark.parametrize("retcode", INJECTABLE_REJECTIONS)
def test_forced_rejection_is_a_result_not_an_exception(make_terminal, retcode):
    t = make_terminal("meridian_ecn")
    t.sim.force_retcodes(retcode)
    result = buy(t)
    assert result.retcode == retcode
    assert result.deal == 0 and result.order == 0 and result.comment
    assert t.positions_total() == 0
    assert t.last_error() == (1, "Success")
    assert buy(t).retcode == t.TRADE_RETCODE_DONE  # only the next request was affected


def test_injected_requote_carries_fresh_prices(make_terminal):
    t = make_terminal("meridian_ecn", faults=Faults(requote=1.0))
    result = buy(t)
    assert result.retcode == t.TRADE_RETCODE_REQUOTE and result.comment == "Requote"
    tick = t.symbol_info_tick("EURUSD")
    assert (result.bid, result.ask) == (tick.bid, tick.ask)


def test_partial_fill_with_ioc_cancels_the_rest(make_terminal):
    t = make_terminal("meridian_ecn", faults=Faults(partial_fill=1.0))
    result = buy(t, volume=1.0)
    assert result.retcode == t.TRADE_RETCODE_DONE_PARTIAL
    assert 0 < result.volume < 1.0
    (position,) = t.positions_get()
    assert position.volume == result.volume
    assert t.orders_total() == 0


def test_partial_fill_with_return_keeps_the_rest_working(make_terminal, weekday_clock):
    t = make_terminal("apex_prop", faults=Faults(partial_fill=1.0))
    result = buy(t, "EURUSD.raw", volume=1.0, filling=t.ORDER_FILLING_RETURN)
    assert result.retcode == t.TRADE_RETCODE_DONE_PARTIAL and result.volume < 1.0
    (working,) = t.orders_get()
    assert working.ticket == result.order and working.state == t.ORDER_STATE_PARTIAL
    assert working.volume_current == pytest.approx(1.0 - result.volume)
    while t.orders_total():
        weekday_clock.advance(0.5)
    total = sum(p.volume for p in t.positions_get())
    assert total == pytest.approx(1.0)


def test_fok_is_never_partly_filled(make_terminal):
    t = make_terminal("harbor_fx", faults=Faults(partial_fill=1.0))
    result = buy(t, "EURUSD.m", volume=1.0, filling=t.ORDER_FILLING_FOK)
    assert result.retcode == t.TRADE_RETCODE_DONE and result.volume == 1.0


def test_ipc_timeout_returns_none_with_code(make_terminal):
    t = make_terminal("meridian_ecn", faults=Faults(ipc_timeout=1.0))
    assert t.positions_get() is None
    assert t.last_error() == (-10005, "IPC timeout")


def test_lost_connection_needs_initialize_again(make_terminal, weekday_clock):
    t = make_terminal("meridian_ecn")
    t.sim.disconnect(5.0)
    assert t.order_send({"action": 1}) is None
    assert t.last_error() == (-10004, "No IPC connection")
    assert t.terminal_info().connected is False
    assert t.initialize() is False  # the terminal does not answer during the outage
    weekday_clock.advance(6.0)
    assert t.positions_get() is None and t.last_error() == (-10004, "No IPC connection")
    assert t.initialize() is True
    assert t.terminal_info().connected is True
    assert t.positions_get() == ()


def test_random_disconnects_are_reported(make_terminal):
    t = make_terminal("meridian_ecn", faults=Faults(disconnect=1.0, disconnect_seconds=2.0))
    assert t.account_info() is None
    assert t.last_error() == (-10004, "No IPC connection")
    assert t.terminal_info().connected is False


def test_algo_trading_off_and_api_disabled(make_terminal):
    t = make_terminal("meridian_ecn")
    t.sim.set_algo_trading(False)
    result = buy(t)
    assert result.retcode == 10027 and result.comment == "AutoTrading disabled by client"
    assert (result.deal, result.order, result.volume, result.price, result.bid, result.ask) == (0, 0, 0.0, 0.0, 0.0, 0.0)
    assert t.terminal_info().trade_allowed is False
    t.sim.set_algo_trading(True)
    t.sim.set_tradeapi_disabled(True)
    assert buy(t) is None
    assert t.last_error() == (-8, "Auto-Trading using Python API disabled in Terminal")
    assert t.terminal_info().tradeapi_disabled is True


def test_latency_moves_a_virtual_clock_and_is_seeded(weekday_clock):
    faults = Faults(read_latency=Latency(median_ms=3.0), trade_latency=Latency(median_ms=120.0))

    def run(seed):
        clock = type(weekday_clock)(weekday_clock.time())
        t = new_terminal("meridian_ecn", seed=seed, clock=clock, faults=faults)
        assert t.initialize()
        marks = []
        for _ in range(5):
            before = clock.time()
            t.positions_get()
            marks.append(round(clock.time() - before, 9))
            before = clock.time()
            buy(t)
            marks.append(round(clock.time() - before, 9))
        return marks

    first = run(3)
    assert first == run(3)
    assert first != run(4)
    reads, trades = first[0::2], first[1::2]
    assert all(0 < r < 0.05 for r in reads)
    # Each trade waits for its own latency plus the tick read before it.
    assert sorted(trades)[len(trades) // 2] > 0.03


def test_fault_settings_are_checked():
    with pytest.raises(ValueError, match="requote"):
        Faults(requote=1.5)
    with pytest.raises(ValueError, match="10009"):
        Faults(rejections={10009: 0.5})


def test_random_faults_are_reproducible(weekday_clock):
    faults = Faults(requote=0.2, partial_fill=0.2, rejections={10006: 0.1, 10019: 0.05})

    def retcodes(seed):
        clock = type(weekday_clock)(weekday_clock.time())
        t = new_terminal("meridian_ecn", seed=seed, clock=clock, faults=faults)
        assert t.initialize()
        out = []
        for _ in range(60):
            out.append(buy(t, volume=0.1).retcode)
            clock.advance(0.3)
        return out

    first = retcodes(5)
    assert first == retcodes(5)
    assert {10004, 10009, 10010, 10006} <= set(first)


@pytest.mark.parametrize("retcode", [10027, 10031])
def test_forced_client_side_codes_answer_like_the_terminal_itself(make_terminal, retcode):
    t = make_terminal("meridian_ecn")
    t.sim.force_retcodes(retcode)
    result = buy(t)
    # The terminal refused without asking the server: no prices, no request id.
    assert result.retcode == retcode and result.comment == REJECTION_COMMENTS[retcode]
    assert (result.deal, result.order, result.bid, result.ask, result.request_id) == (0, 0, 0.0, 0.0, 0)


def test_every_forced_rejection_carries_the_tables_comment(make_terminal):
    t = make_terminal("meridian_ecn")
    for retcode in (10024, 10007, 10012, 10028, 10041):
        t.sim.force_retcodes(retcode)
        result = buy(t)
        assert (result.retcode, result.comment) == (retcode, REJECTION_COMMENTS[retcode])


def test_deferred_latency_is_drawn_but_never_slept(make_terminal, weekday_clock):
    faults = Faults(read_latency=Latency(median_ms=30.0), trade_latency=Latency(median_ms=300.0))
    t = make_terminal("meridian_ecn", faults=faults)
    t.sim.defer_latency(True)
    before = weekday_clock.time()
    t.positions_get()
    assert buy(t).retcode == t.TRADE_RETCODE_DONE
    assert weekday_clock.time() == before
    reads = [t.sim.draw_latency(trade=False) for _ in range(20)]
    trades = [t.sim.draw_latency(trade=True) for _ in range(20)]
    assert 0 < sorted(reads)[10] < sorted(trades)[10]
    t.sim.defer_latency(False)
    t.positions_get()
    assert weekday_clock.time() > before


def test_a_connection_lost_until_restored(make_terminal, weekday_clock):
    t = make_terminal("meridian_ecn")
    t.sim.lose_connection()
    weekday_clock.advance(3600.0)
    assert t.positions_get() is None and t.initialize() is False
    t.sim.restore_connection()
    assert t.positions_get() is None  # the pipe broke: connect again
    assert t.initialize() is True and t.positions_get() == ()


def test_a_short_outage_does_not_cut_a_longer_one_short(make_terminal, weekday_clock):
    t = make_terminal("meridian_ecn")
    t.sim.disconnect(10.0)
    t.sim.disconnect(1.0)
    weekday_clock.advance(5.0)
    assert t.initialize() is False
    weekday_clock.advance(6.0)
    assert t.initialize() is True
