"""Behaviour that needs the simulator's test levers (``terminal.sim``) or fault injection.

The levers are simulator-specific and may change; everything that depends on them is kept in
this file. The behaviour checked is the real package's: fact sheet sections 1, 4, 8.1, 8.6 and
checklist items 6 and 8.
"""

from __future__ import annotations

import pytest

DONE = 10009
DONE_PARTIAL = 10010
REQUOTE = 10004
PRICE_OFF = 10021
CLIENT_DISABLES_AT = 10027


def _faults(**kw):
    from copier_gui.sim.faults import Faults

    return Faults(**kw)


# --- Algo Trading button and the Python-API switch --------------------------------------------


def test_algo_trading_off_gives_10027_result(terminal, h):
    t = terminal("meridian_ecn")
    t.sim.set_algo_trading(False)
    assert t.terminal_info().trade_allowed is False
    request = h.market_request(t, "EURUSD", h.BUY, 0.01)
    result = t.order_send(request)
    assert type(result) is t.OrderSendResult, t.last_error()
    assert t.last_error() == (1, "Success")
    assert result.retcode == CLIENT_DISABLES_AT
    assert result.comment == "AutoTrading disabled by client"
    assert (result.deal, result.order, result.volume, result.price) == (0, 0, 0.0, 0.0)
    assert (result.bid, result.ask, result.request_id) == (0.0, 0.0, 0)
    assert type(result.request) is t.TradeRequest and result.request.symbol == "EURUSD"
    assert t.positions_get() == ()

    t.sim.set_algo_trading(True)
    assert t.terminal_info().trade_allowed is True
    assert h.send(t, h.market_request(t, "EURUSD", h.BUY, 0.01)).retcode == DONE


def test_tradeapi_disabled_gives_none_and_minus_8(terminal, h):
    t = terminal("meridian_ecn")
    t.sim.set_tradeapi_disabled(True)
    assert t.terminal_info().tradeapi_disabled is True
    assert t.order_send(h.market_request(t, "EURUSD", h.BUY, 0.01)) is None
    assert t.last_error() == (-8, "Auto-Trading using Python API disabled in Terminal")
    assert t.positions_get() == ()


# --- connection loss -------------------------------------------------------------------------


def test_disconnect_gives_no_ipc_until_initialized_again(terminal, clock):
    t = terminal("meridian_ecn")
    t.sim.disconnect(5)
    assert t.account_info() is None
    assert t.last_error() == (-10004, "No IPC connection")
    assert t.positions_total() is None  # None, not 0
    clock.advance(10)
    assert t.initialize() is True
    assert t.account_info() is not None


def test_ipc_timeout_fault(terminal):
    t = terminal("meridian_ecn", faults=_faults(ipc_timeout=1.0))
    assert t.account_info() is None
    assert t.last_error() == (-10005, "IPC timeout")
    assert t.positions_get() is None
    assert t.last_error() == (-10005, "IPC timeout")


# --- injected trade outcomes -----------------------------------------------------------------


def test_requote_fault_result_shape(terminal, h):
    t = terminal("harbor_fx", faults=_faults(requote=1.0))
    result = h.send(t, h.market_request(t, "EURUSD.m", h.BUY, 0.01))
    tick = t.symbol_info_tick("EURUSD.m")
    assert result.retcode == REQUOTE
    assert result.comment == "Requote"
    assert (result.deal, result.order, result.volume, result.price) == (0, 0, 0.0, 0.0)
    assert (result.bid, result.ask) == (tick.bid, tick.ask)
    assert t.positions_get() == ()


@pytest.mark.parametrize(("fault", "retcode"), [("requote", REQUOTE), ("price_off", PRICE_OFF)])
def test_helpers_retry_ten_times_on_requote_and_price_off(terminal, monkeypatch, fault, retcode):
    t = terminal("harbor_fx", faults=_faults(**{fault: 1.0}))
    calls = []
    real_send = t.order_send

    def counting_send(*args, **kwargs):
        calls.append(args)
        return real_send(*args, **kwargs)

    monkeypatch.setattr(t, "order_send", counting_send)
    result = t.Buy("EURUSD.m", 0.01)
    assert result.retcode == retcode
    assert len(calls) == 10


def test_helper_with_price_does_not_retry(terminal, monkeypatch):
    t = terminal("harbor_fx", faults=_faults(requote=1.0))
    calls = []
    real_send = t.order_send
    monkeypatch.setattr(t, "order_send", lambda *a, **k: calls.append(a) or real_send(*a, **k))
    ask = t.symbol_info_tick("EURUSD.m").ask
    assert t.Buy("EURUSD.m", 0.01, ask).retcode == REQUOTE
    assert len(calls) == 1


def test_partial_fill_fault(terminal, h):
    t = terminal("apex_prop", faults=_faults(partial_fill=1.0))
    result = h.send(t, h.market_request(t, "EURUSD.raw", h.BUY, 1.0))
    assert result.retcode == DONE_PARTIAL
    assert 0.0 < result.volume < 1.0
    (position,) = t.positions_get()
    assert position.volume == pytest.approx(result.volume)
    (deal,) = t.history_deals_get(ticket=result.order)
    assert deal.volume == pytest.approx(result.volume)


def test_forced_retcodes_return_results(terminal, h):
    t = terminal("meridian_ecn")
    t.sim.force_retcodes(10006)
    result = h.send(t, h.market_request(t, "EURUSD", h.BUY, 0.01))
    assert result.retcode == 10006
    assert (result.deal, result.order) == (0, 0)
    assert t.positions_get() == ()
    assert h.send(t, h.market_request(t, "EURUSD", h.BUY, 0.01)).retcode == DONE


def test_deposit_books_a_balance_deal(terminal, clock):
    t = terminal("meridian_ecn")
    before = t.account_info().balance
    t.sim.deposit(250.0)
    assert t.account_info().balance == before + 250.0
    now = int(clock.time())
    deals = [
        d for d in t.history_deals_get(now - 86400, now + 86400) if d.type == 2
    ]  # DEAL_TYPE_BALANCE
    assert deals, "no balance deal"
    d = deals[-1]
    assert (d.order, d.symbol, d.entry, d.position_id, d.volume, d.price) == (0, "", 0, 0, 0.0, 0.0)
    assert d.profit == 250.0
