"""The trade ticket's Qt-free rules: which master may be traded by hand, what a typed volume or stop
means, and the master's own terminal answering a manual buy, stop change and close."""

from __future__ import annotations

import pytest

from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector
from copier_gui.core.model import Side, Status
from copier_gui.paths import user_paths
from copier_gui.settings import AccountSettings, Settings
from copier_gui.ui.session import SettingsStore
from copier_gui.ui.ticket_model import (
    REAL_MASTER,
    MasterDesk,
    TicketError,
    parse_close_volume,
    parse_stop,
    parse_volume,
    position_rows,
    ticket_available,
    why_no_ticket,
)


@pytest.fixture
def desk(make_terminal, weekday_clock, run_async):
    terminal = make_terminal("meridian_ecn")
    connector = MT5Connector("master", terminal, invoker=InlineInvoker(), clock=weekday_clock)
    run_async(connector.connect())
    return MasterDesk(connector), terminal


@pytest.fixture
def run_async():
    import asyncio

    loop = asyncio.new_event_loop()
    yield loop.run_until_complete
    loop.close()


@pytest.fixture
def eurusd(desk, run_async):
    return run_async(desk[0].spec("EURUSD"))


def orders_sent(terminal, clock) -> int:
    now = int(clock.time())
    return terminal.history_orders_total(now - 86400, now + 86400)


# ---------------------------------------------------------------------------- typed values

def test_a_volume_on_the_lot_grid_is_taken(eurusd):
    assert parse_volume("0.1", eurusd) == 0.1
    assert parse_volume(" 0,25 ", eurusd) == 0.25  # a decimal comma, as many keyboards type it
    assert parse_volume("500", eurusd) == 500.0


@pytest.mark.parametrize(("text", "words"), [
    ("", "enter the lots to trade"),
    ("abc", "'abc' is not a number of lots"),
    ("0", "0 lots is below EURUSD's minimum of 0.01"),
    ("-1", "-1 lots is below EURUSD's minimum of 0.01"),
    ("0.001", "0.001 lots is below EURUSD's minimum of 0.01"),
    ("0.015", "0.015 lots is not a multiple of EURUSD's lot step 0.01"),
    ("501", "501 lots is above EURUSD's maximum of 500"),
    ("nan", "'nan' is not a number of lots"),
])
def test_a_volume_off_the_symbols_limits_names_the_field_and_the_limit(eurusd, text, words):
    with pytest.raises(TicketError) as caught:
        parse_volume(text, eurusd)
    assert caught.value.field == "Volume"
    assert str(caught.value).startswith("Volume: ")
    assert words in str(caught.value)


def test_stops_are_optional_prices():
    assert parse_stop("", "Stop loss") == 0.0
    assert parse_stop("1.0812", "Take profit") == 1.0812
    for text in ("-1", "x", "inf"):
        with pytest.raises(TicketError) as caught:
            parse_stop(text, "Stop loss")
        assert caught.value.field == "Stop loss"


def test_a_partial_close_must_leave_a_tradable_rest(eurusd):
    assert parse_close_volume("", eurusd, 0.5) == 0.5  # empty: all of it
    assert parse_close_volume("0.2", eurusd, 0.5) == 0.2
    with pytest.raises(TicketError, match=r"Close volume: 0.6 lots is more than the position's 0.5"):
        parse_close_volume("0.6", eurusd, 0.5)
    with pytest.raises(TicketError, match=r"Close volume: .*not a multiple"):
        parse_close_volume("0.125", eurusd, 0.5)


# ---------------------------------------------------------------------------- the master's terminal

def test_a_buy_is_the_traders_own_trade_without_the_copiers_tag(desk, run_async, weekday_clock):
    desk, terminal = desk
    answer = run_async(desk.open("EURUSD", Side.BUY, "0.1", "", ""))
    assert answer.ok and answer.sent and answer.ticket > 0 and answer.price > 0
    assert answer.text.startswith(f"Buy 0.1 EURUSD: ticket {answer.ticket} at {answer.price:.5f}")
    assert "Filled by Meridian Markets Ltd (10009" in answer.text
    (position,) = terminal.positions_get()
    # Magic 0 and no comment, as a trade placed in the terminal by hand has: the copier must take
    # it for the master's own and copy it.
    assert (position.ticket, position.volume, position.magic, position.comment) == (answer.ticket, 0.1, 0, "")


def test_stops_on_the_wrong_side_of_the_price_are_refused_before_sending(desk, run_async, weekday_clock):
    desk, terminal = desk
    spec = run_async(desk.spec("EURUSD"))
    above = f"{spec.ask + 0.01:.5f}"
    answer = run_async(desk.open("EURUSD", Side.BUY, "0.1", above, ""))
    assert not answer.ok and not answer.sent and answer.field == "Stop loss"
    assert "a buy's stop loss goes below the bid" in answer.text
    answer = run_async(desk.open("EURUSD", Side.SELL, "0.1", "", above))
    assert answer.field == "Take profit" and "a sell's take profit goes below the ask" in answer.text
    assert orders_sent(terminal, weekday_clock) == 0


def test_an_invalid_volume_sends_nothing(desk, run_async, weekday_clock):
    desk, terminal = desk
    answer = run_async(desk.open("EURUSD", Side.SELL, "0.015", "", ""))
    assert not answer.ok and not answer.sent and answer.field == "Volume"
    assert answer.text == ("Volume: 0.015 lots is not a multiple of EURUSD's lot step 0.01 "
                           "(minimum 0.01, maximum 500)")
    assert terminal.positions_get() == () and orders_sent(terminal, weekday_clock) == 0


def test_an_unknown_symbol_is_named(desk, run_async):
    desk, _terminal = desk
    answer = run_async(desk.open("NOPE", Side.BUY, "0.1", "", ""))
    assert answer.field == "Symbol" and "NOPE" in answer.text and not answer.sent


def test_modify_stops_then_close_part_then_all(desk, run_async):
    desk, terminal = desk
    opened = run_async(desk.open("EURUSD", Side.SELL, "0.5", "", ""))
    position = run_async(desk.positions())[0]
    assert position.ticket == opened.ticket and position.side is Side.SELL
    spec = run_async(desk.spec("EURUSD"))
    sl = round(spec.ask + 0.005, 5)
    answer = run_async(desk.modify(position, f"{sl:.5f}", ""))
    assert answer.ok, answer.text
    assert answer.text.startswith(f"Stops of ticket {position.ticket}: SL {sl:.5f}, no TP")
    assert terminal.positions_get()[0].sl == sl

    answer = run_async(desk.close(position, "0.2"))
    assert answer.ok and answer.text.startswith(f"Close 0.2 of ticket {position.ticket}: at ")
    assert terminal.positions_get()[0].volume == 0.3
    position = run_async(desk.positions())[0]
    answer = run_async(desk.close(position, ""))
    assert answer.ok and terminal.positions_get() == ()


def test_a_broker_refusal_is_given_in_its_words(desk, run_async):
    desk, terminal = desk
    run_async(desk.open("EURUSD", Side.BUY, "0.1", "", ""))
    position = run_async(desk.positions())[0]
    terminal.order_send({"action": terminal.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1,
                         "type": terminal.ORDER_TYPE_SELL, "position": position.ticket,
                         "price": terminal.symbol_info_tick("EURUSD").bid, "type_filling": terminal.ORDER_FILLING_IOC})
    answer = run_async(desk.close(position, ""))  # closed meanwhile, in the terminal
    assert not answer.ok and answer.sent and answer.status is not Status.FILLED
    assert answer.text.startswith(f"Close 0.1 of ticket {position.ticket} refused: ")


def test_position_rows_carry_the_symbols_digits(desk, run_async):
    desk, _terminal = desk
    run_async(desk.open("USDJPY", Side.BUY, "0.1", "", ""))
    (row,) = position_rows(run_async(desk.positions()), {"USDJPY": run_async(desk.spec("USDJPY"))})
    assert row.digits == 3 and row.symbol == "USDJPY" and row.id == row.position.ticket


# ---------------------------------------------------------------------------- which master

def _session(tmp_path, master: AccountSettings):
    store = SettingsStore(user_paths(tmp_path / "home"))
    store.settings = Settings(accounts=[
        master, AccountSettings(id="harbor", role="slave", platform="demo", demo_profile="harbor_fx")])
    return store.session()


def test_a_demo_broker_master_gets_a_ticket(tmp_path):
    session = _session(tmp_path, AccountSettings(id="master", role="master", platform="demo",
                                                 demo_profile="meridian_ecn"))
    try:
        assert ticket_available(session) and why_no_ticket(session) == ""
    finally:
        session.runtime.close()


def test_a_real_master_gets_none_with_the_reason(tmp_path):
    session = _session(tmp_path, AccountSettings(id="live", role="master", platform="mt5_bridge", login=5001,
                                                 server="Broker-Live"))
    try:
        assert not ticket_available(session)
        assert why_no_ticket(session) == REAL_MASTER == "the master is a real account: trade it in its own terminal"
    finally:
        session.runtime.close()
    assert why_no_ticket(None) == "no accounts are running: open the demo or link a master account first"
