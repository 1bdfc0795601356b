"""Result types: exact field order, counts and value types, and the struct-sequence shape.

Fact sheet sections 1 (PyStructSequence shape) and 5 (field tables); checklist item 2.
The expected field lists below are transcribed from the fact sheet, not taken from the simulator.
Type codes: i = int (not bool), f = float, s = str, b = bool, R = TradeRequest.
"""

from __future__ import annotations

import copy
import pickle

import pytest


def _spec(text: str) -> list[tuple[str, str]]:
    return [tuple(item.split(":")) for item in text.split()]


EXPECTED: dict[str, list[tuple[str, str]]] = {
    "TradePosition": _spec(
        "ticket:i time:i time_msc:i time_update:i time_update_msc:i type:i magic:i identifier:i "
        "reason:i volume:f price_open:f sl:f tp:f price_current:f swap:f profit:f "
        "symbol:s comment:s external_id:s"
    ),
    "TradeOrder": _spec(
        "ticket:i time_setup:i time_setup_msc:i time_done:i time_done_msc:i time_expiration:i "
        "type:i type_time:i type_filling:i state:i magic:i position_id:i position_by_id:i "
        "reason:i volume_initial:f volume_current:f price_open:f sl:f tp:f price_current:f "
        "price_stoplimit:f symbol:s comment:s external_id:s"
    ),
    "TradeDeal": _spec(
        "ticket:i order:i time:i time_msc:i type:i entry:i magic:i position_id:i reason:i "
        "volume:f price:f commission:f swap:f profit:f fee:f symbol:s comment:s external_id:s"
    ),
    "TradeRequest": _spec(
        "action:i magic:i order:i symbol:s volume:f price:f stoplimit:f sl:f tp:f deviation:i "
        "type:i type_filling:i type_time:i expiration:i comment:s position:i position_by:i"
    ),
    "OrderSendResult": _spec(
        "retcode:i deal:i order:i volume:f price:f bid:f ask:f comment:s request_id:i "
        "retcode_external:i request:R"
    ),
    "OrderCheckResult": _spec(
        "retcode:i balance:f equity:f profit:f margin:f margin_free:f margin_level:f comment:s "
        "request:R"
    ),
    "Tick": _spec("time:i bid:f ask:f last:f volume:i time_msc:i flags:i volume_real:f"),
    "BookInfo": _spec("type:i price:f volume:i volume_dbl:f"),
    "AccountInfo": _spec(
        "login:i trade_mode:i leverage:i limit_orders:i margin_so_mode:i trade_allowed:b "
        "trade_expert:b margin_mode:i currency_digits:i fifo_close:b balance:f credit:f profit:f "
        "equity:f margin:f margin_free:f margin_level:f margin_so_call:f margin_so_so:f "
        "margin_initial:f margin_maintenance:f assets:f liabilities:f commission_blocked:f "
        "name:s server:s currency:s company:s"
    ),
    "TerminalInfo": _spec(
        "community_account:b community_connection:b connected:b dlls_allowed:b trade_allowed:b "
        "tradeapi_disabled:b email_enabled:b ftp_enabled:b notifications_enabled:b mqid:b "
        "build:i maxbars:i codepage:i ping_last:i community_balance:f retransmission:f "
        "company:s name:s language:s path:s data_path:s commondata_path:s"
    ),
    "SymbolInfo": _spec(
        # 11
        "custom:b chart_mode:i select:b visible:b session_deals:i session_buy_orders:i "
        "session_sell_orders:i volume:i volumehigh:i volumelow:i time:i "
        # 14
        "digits:i spread:i spread_float:b ticks_bookdepth:i trade_calc_mode:i trade_mode:i "
        "start_time:i expiration_time:i trade_stops_level:i trade_freeze_level:i "
        "trade_exemode:i swap_mode:i swap_rollover3days:i margin_hedged_use_leg:b "
        # 6
        "expiration_mode:i filling_mode:i order_mode:i order_gtc_mode:i option_mode:i "
        "option_right:i "
        # 52 floats
        "bid:f bidhigh:f bidlow:f ask:f askhigh:f asklow:f last:f lasthigh:f lastlow:f "
        "volume_real:f volumehigh_real:f volumelow_real:f option_strike:f point:f "
        "trade_tick_value:f trade_tick_value_profit:f trade_tick_value_loss:f trade_tick_size:f "
        "trade_contract_size:f trade_accrued_interest:f trade_face_value:f "
        "trade_liquidity_rate:f volume_min:f volume_max:f volume_step:f volume_limit:f "
        "swap_long:f swap_short:f margin_initial:f margin_maintenance:f session_volume:f "
        "session_turnover:f session_interest:f session_buy_orders_volume:f "
        "session_sell_orders_volume:f session_open:f session_close:f session_aw:f "
        "session_price_settlement:f session_price_limit_min:f session_price_limit_max:f "
        "margin_hedged:f price_change:f price_volatility:f price_theoretical:f "
        "price_greeks_delta:f price_greeks_theta:f price_greeks_gamma:f price_greeks_vega:f "
        "price_greeks_rho:f price_greeks_omega:f price_sensitivity:f "
        # 13 strings
        "basis:s category:s currency_base:s currency_profit:s currency_margin:s bank:s "
        "description:s exchange:s formula:s isin:s name:s page:s path:s"
    ),
}

COUNTS = {
    "TradePosition": 19, "TradeOrder": 24, "TradeDeal": 18, "TradeRequest": 17,
    "OrderSendResult": 11, "OrderCheckResult": 9, "Tick": 8, "BookInfo": 4,
    "AccountInfo": 28, "TerminalInfo": 22, "SymbolInfo": 96,
}  # fmt: skip

NAMES = tuple(EXPECTED)


@pytest.fixture
def samples(terminal, h):
    """One live instance of each of the 11 types, obtained through the API."""
    t = terminal("meridian_ecn")
    opened = h.open_market(t, "EURUSD", h.BUY, 0.01, magic=77, comment="structs")
    check = t.order_check(h.market_request(t, "EURUSD", h.BUY, 0.01))
    assert check is not None, t.last_error()
    (position,) = t.positions_get(ticket=opened.order)
    deals = t.history_deals_get(ticket=opened.order)
    orders = t.history_orders_get(ticket=opened.order)
    assert deals and orders, t.last_error()
    assert t.market_book_add("EURUSD") is True, t.last_error()
    book = t.market_book_get("EURUSD")
    assert isinstance(book, tuple), t.last_error()
    out = {
        "TradePosition": position,
        "TradeOrder": orders[0],
        "TradeDeal": deals[0],
        "TradeRequest": opened.request,
        "OrderSendResult": opened,
        "OrderCheckResult": check,
        "Tick": t.symbol_info_tick("EURUSD"),
        "AccountInfo": t.account_info(),
        "TerminalInfo": t.terminal_info(),
        "SymbolInfo": t.symbol_info("EURUSD"),
    }
    # The fact sheet allows an empty book; fall back to constructing one like the C type allows.
    out["BookInfo"] = book[0] if book else t.BookInfo((2, 1.0, 1, 1.0))
    return t, out


@pytest.mark.parametrize("name", NAMES)
def test_instance_is_the_exported_type_and_a_tuple(samples, name):
    t, objs = samples
    obj = objs[name]
    assert type(obj) is getattr(t, name)
    assert isinstance(obj, tuple)
    assert len(obj) == COUNTS[name]


@pytest.mark.parametrize("name", NAMES)
def test_asdict_has_exact_fields_in_order(samples, name):
    _, objs = samples
    # Guard the transcription of the fact sheet first.
    assert len(EXPECTED[name]) == COUNTS[name] == len({n for n, _ in EXPECTED[name]})
    if name == "SymbolInfo":
        kinds = [k for _, k in EXPECTED[name]]
        assert kinds[31:83] == ["f"] * 52 and kinds[83:] == ["s"] * 13
    d = objs[name]._asdict()
    assert type(d) is dict
    assert list(d) == [n for n, _ in EXPECTED[name]]
    assert list(d.values()) == list(objs[name])


@pytest.mark.parametrize("name", NAMES)
def test_attributes_match_tuple_positions(samples, name):
    _, objs = samples
    obj = objs[name]
    for index, (field, _) in enumerate(EXPECTED[name]):
        assert getattr(obj, field) is obj[index], field


@pytest.mark.parametrize("name", NAMES)
def test_field_value_types(samples, name):
    t, objs = samples
    obj = objs[name]
    wrong = {}
    for field, kind in EXPECTED[name]:
        value = getattr(obj, field)
        ok = {
            "i": type(value) is int,
            "f": type(value) is float,
            "s": type(value) is str,
            "b": type(value) is bool,
            "R": type(value) is t.TradeRequest,
        }[kind]
        if not ok:
            wrong[field] = type(value).__name__
    assert wrong == {}


@pytest.mark.parametrize("name", NAMES)
def test_no_namedtuple_extras(samples, name):
    t, objs = samples
    for attr in ("_fields", "_replace", "_make", "_field_defaults"):
        assert not hasattr(objs[name], attr), attr
        assert not hasattr(getattr(t, name), attr), attr


@pytest.mark.parametrize("name", NAMES)
def test_repr_names_the_type_and_fields(samples, name):
    _, objs = samples
    obj = objs[name]
    first = EXPECTED[name][0][0]
    assert repr(obj).startswith(f"{name}({first}={obj[0]!r}")
    assert repr(obj).endswith(")")


@pytest.mark.parametrize("name", NAMES)
def test_instances_cannot_be_pickled(samples, name):
    _, objs = samples
    with pytest.raises(pickle.PicklingError):
        pickle.dumps(objs[name])


@pytest.mark.parametrize("name", NAMES)
def test_fields_are_read_only(samples, name):
    _, objs = samples
    obj = objs[name]
    first = EXPECTED[name][0][0]
    with pytest.raises(AttributeError):
        setattr(obj, first, obj[0])
    with pytest.raises(TypeError):
        obj[0] = obj[0]


@pytest.mark.parametrize("name", NAMES)
def test_type_constructs_from_a_sequence_of_exact_length(samples, name):
    t, objs = samples
    cls = getattr(t, name)
    copy = cls(tuple(objs[name]))
    assert type(copy) is cls
    assert copy == objs[name]
    with pytest.raises(TypeError):
        cls(tuple(objs[name]) + (0,))


@pytest.mark.parametrize("name", ["OrderSendResult", "OrderCheckResult"])
def test_nested_request_stays_a_traderequest(samples, name):
    t, objs = samples
    obj = objs[name]
    assert type(obj.request) is t.TradeRequest
    d = obj._asdict()
    assert type(d["request"]) is t.TradeRequest
    assert d["request"] is obj.request


def test_request_echo_matches_what_was_sent(terminal, h):
    t = terminal("meridian_ecn")
    request = h.market_request(t, "EURUSD", h.BUY, 0.01, magic=4242, comment="echo")
    result = h.send(t, request)
    assert result.retcode == 10009
    echoed = result.request._asdict()
    for key, value in request.items():
        assert echoed[key] == value, key
    # Keys not sent come back as the zeroed C struct fields.
    assert echoed["order"] == 0
    assert echoed["stoplimit"] == 0.0
    assert echoed["position"] == 0
    assert echoed["position_by"] == 0
    assert echoed["expiration"] == 0


@pytest.mark.parametrize("name", NAMES)
def test_structseq_class_attributes(samples, name):
    t, _ = samples
    cls = getattr(t, name)
    assert cls.n_fields == COUNTS[name]
    assert cls.n_sequence_fields == COUNTS[name]
    assert cls.n_unnamed_fields == 0


@pytest.mark.parametrize("name", NAMES)
def test_copy_and_deepcopy_work(samples, name):
    # Only pickling fails (global lookup in builtins); copying reconstructs through the type.
    _, objs = samples
    obj = objs[name]
    for clone in (copy.copy(obj), copy.deepcopy(obj)):
        assert type(clone) is type(obj)
        assert clone == obj
        assert clone._asdict() == obj._asdict()
