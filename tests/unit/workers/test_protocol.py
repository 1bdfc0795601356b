"""The worker message schema: every kind round-trips, every malformed message is refused clearly."""

from __future__ import annotations

import dataclasses
import json

import pytest

from copier_gui.core.capabilities import EventDelivery, OrderType, PositionModel, TagField
from copier_gui.core.model import (
    AccountState,
    CancelPending,
    ClosePosition,
    Execution,
    ExecutionReport,
    Filling,
    ModifyPending,
    ModifyStops,
    OpenPosition,
    PendingKind,
    PendingOrder,
    PlacePending,
    Position,
    Reason,
    Side,
    Status,
    SymbolSpec,
    TradeMode,
    VolumeUnit,
)
from copier_gui.core.ports import Capabilities
from copier_gui.workers import protocol
from copier_gui.workers.protocol import ProtocolError

POSITION = Position(101, 101, "EURUSD", Side.SELL, 0.3, 1.08512, 1.09, 1.07, 7_340_021, "cg:1:abc", 1_795_000_000_123,
                    1.08501, 3.3)
ORDER = PendingOrder(202, "XAUUSD", PendingKind.BUY_STOP_LIMIT, 0.1, 2650.5, 2650.0, 2640.0, 2670.0, 0, 9, "", 17)
SPEC = SymbolSpec("EURUSD.m", "Euro", 5, 1e-05, 100_000.0, 0.01, 0.01, 100.0, 10, 5,
                  frozenset({Filling.IOC, Filling.RETURN}), Execution.MARKET, TradeMode.FULL, "EUR", "USD", 1e-05,
                  1.0, 1.0851, 1.0852)
ACCOUNT = AccountState(7, "Srv-Demo", "Broker Ltd", "Trader", "USD", 10_000.0, 10_010.5, 12.0, 9_998.5, 500,
                       True, False)

MESSAGES = {
    "hello": {"account": "s1", "pid": 42, "mono": 12.5, "api": "sim"},
    "request": {"id": 1, "op": "open", "args": {"request": {}}},
    "reply": {"id": 1, "ok": True, "result": {"x": 1}},
    "snapshot": {"seq": 3, "base": 2, "taken_at": 1.5, "offset": 7200.0, "pos": [protocol.position_to_wire(POSITION)],
                 "ord": [], "gone_pos": [5], "gone_ord": []},
    "heartbeat": {"mono": 1.0, "polled": 0.9, "seq": 3, "busy": None, "busy_for": 0.0},
    "state": {"state": "degraded", "detail": "press 'Algo Trading'"},
    "error": {"message": "boom", "code": None},
    "log": {"level": 20, "logger": "x", "message": "hello"},
    "shutdown": {},
}


@pytest.mark.parametrize("kind", sorted(protocol.SCHEMA))
def test_every_kind_round_trips(kind):
    message = protocol.decode(protocol.encode(kind, **MESSAGES[kind]))
    assert message.kind == kind
    for key, value in MESSAGES[kind].items():
        assert message[key] == value


def test_unknown_extra_fields_are_ignored_for_later_minor_versions():
    message = protocol.decode(protocol.encode("shutdown", reason="later addition"))
    assert message.kind == "shutdown"


def _raw(**obj) -> bytes:
    return json.dumps(obj).encode()


@pytest.mark.parametrize(("data", "says"), [
    (b"\xff\xfe", "not JSON"),
    (b"{broken", "not JSON"),
    (b"[1, 2]", "JSON object"),
    (_raw(kind="shutdown"), "version None"),
    (_raw(v=2, kind="shutdown"), "version 2"),
    (_raw(v=1, kind="teleport"), "unknown message kind"),
    (_raw(v=1), "unknown message kind"),
    (_raw(v=1, kind="reply", ok=True), "without 'id'"),
    (_raw(v=1, kind="reply", id="7", ok=True), "'id' is str"),
    (_raw(v=1, kind="reply", id=True, ok=True), "'id' is bool"),
    (_raw(v=1, kind="reply", id=7, ok=1), "'ok' is int"),
    (_raw(v=1, kind="reply", id=7, ok=False), "without an error"),
    (_raw(v=1, kind="state", state="on fire", detail=""), "unknown state"),
    (_raw(v=1, kind="heartbeat", mono="now", polled=None, seq=1, busy=None, busy_for=0), "'mono' is str"),
])
def test_malformed_messages_are_refused_with_the_reason(data, says):
    with pytest.raises(ProtocolError, match=says):
        protocol.decode(data)


def test_encode_refuses_an_unknown_kind():
    with pytest.raises(ProtocolError):
        protocol.encode("teleport")


def test_positions_and_orders_travel_as_compact_lists():
    assert protocol.position_from_wire(json.loads(json.dumps(protocol.position_to_wire(POSITION)))) == POSITION
    assert protocol.order_from_wire(json.loads(json.dumps(protocol.order_to_wire(ORDER)))) == ORDER


@pytest.mark.parametrize("row", [
    None, [], ["x"] * 13, [1, 1, "EURUSD", "up", 0.1, 1.0, 0, 0, 1, "", 0, 1.0, 0.0],
    [1, 1, 5, "buy", 0.1, 1.0, 0, 0, 1, "", 0, 1.0, 0.0],
    [1.5, 1, "EURUSD", "buy", 0.1, 1.0, 0, 0, 1, "", 0, 1.0, 0.0],
])
def test_a_malformed_position_is_a_protocol_error(row):
    with pytest.raises(ProtocolError):
        protocol.position_from_wire(row)


def test_a_malformed_order_is_a_protocol_error():
    with pytest.raises(ProtocolError):
        protocol.order_from_wire([1, "EURUSD", "sideways", 0.1, 1.0, 0, 0, 0, 0, 0, "", 0])


@pytest.mark.parametrize("request_", [
    OpenPosition("EURUSD", Side.BUY, 0.5, 1.07, 1.1, 77, "cg:1", worst_price=1.0852),
    OpenPosition("XAUUSD", Side.SELL, 0.1, 0.0, 0.0, 77, "cg:3", max_deviation_points=130, worst_price=2648.7,
                 max_deviation_spreads=2.0, reference_price=2650.0),
    ClosePosition(9, "EURUSD", Side.SELL, 0.2, 77, "cg:1", price=1.08),
    ModifyStops(9, "EURUSD", 1.0, 2.0),
    PlacePending("XAUUSD", PendingKind.SELL_LIMIT, 0.1, 2700.0, 0.0, 2710.0, 2600.0, 1_800_000_000, 77, "cg:2"),
    ModifyPending(10, "XAUUSD", 2701.0, 0.0, 2711.0, 2601.0, 0),
    CancelPending(10, "XAUUSD"),
], ids=lambda r: type(r).__name__)
def test_requests_round_trip(request_):
    op = {v: k for k, v in protocol.REQUEST_TYPES.items()}[type(request_)]
    wire = json.loads(json.dumps(protocol.dataclass_to_wire(request_)))
    assert protocol.request_from_wire(op, wire) == request_


def test_a_request_with_a_wrong_field_type_is_refused():
    wire = protocol.dataclass_to_wire(OpenPosition("EURUSD", Side.BUY, 0.5, 0.0, 0.0, 77, "c"))
    with pytest.raises(ProtocolError, match="volume"):
        protocol.request_from_wire("open", {**wire, "volume": "lots"})
    with pytest.raises(ProtocolError, match="side"):
        protocol.request_from_wire("open", {**wire, "side": "long"})
    with pytest.raises(ProtocolError, match="magic"):
        protocol.request_from_wire("open", {k: v for k, v in wire.items() if k != "magic"})
    with pytest.raises(ProtocolError, match="not a trade request"):
        protocol.request_from_wire("launch", wire)


def test_symbols_accounts_and_capabilities_round_trip():
    assert protocol.spec_from_wire(json.loads(json.dumps(protocol.dataclass_to_wire(SPEC)))) == SPEC
    in_units = dataclasses.replace(SPEC, volume_unit=VolumeUnit.UNITS, volume_min=1000.0, volume_step=1000.0)
    assert protocol.spec_from_wire(json.loads(json.dumps(protocol.dataclass_to_wire(in_units)))) == in_units
    assert protocol.account_from_wire(json.loads(json.dumps(protocol.dataclass_to_wire(ACCOUNT)))) == ACCOUNT
    caps = Capabilities(platform="ctrader", position_model=PositionModel.NETTING,
                        order_types=frozenset({OrderType.MARKET, OrderType.LIMIT}), fillings=frozenset({Filling.IOC}),
                        volume_unit=VolumeUnit.UNITS, tag_fields=(TagField("label", 100), TagField("comment", 512)),
                        events=EventDelivery.PUSHED)
    back = protocol.capabilities_from_wire(json.loads(json.dumps(protocol.dataclass_to_wire(caps))))
    assert back == caps and back.max_comment_length == 512 and not back.hedging
    with pytest.raises(ProtocolError, match="tag_fields"):
        protocol.capabilities_from_wire({**protocol.dataclass_to_wire(caps), "tag_fields": "label"})


def test_a_reports_neutral_reason_and_what_was_sent_travel():
    report = ExecutionReport(Status.PARTIAL, 10010, "partly filled", 0.05, 1.1, reason=None, sent=True,
                             rest_working=True, sent_sl=1.0, sent_tp=1.2, quote=1.1, deviation_limit_points=12.5)
    rejected = ExecutionReport(Status.REJECTED, 10018, "market closed", reason=Reason.MARKET_CLOSED, sent=False)
    for r in (report, rejected):
        assert protocol.report_from_wire(json.loads(json.dumps(protocol.report_to_wire(r)))) == r
    with pytest.raises(ProtocolError, match="reason"):
        protocol.report_from_wire({**protocol.report_to_wire(rejected), "reason": "closed for lunch"})


def test_reports_round_trip_and_odd_extras_still_travel():
    report = ExecutionReport(Status.FILLED, 10009, "filled", 0.1, 1.1, 1.0, 1.2, 5, 6, 1.0, 2.0,
                             extra={"request": {"action": 1, "volume": 0.1}, "filling": Filling.IOC, "pair": (1, 2)})
    back = protocol.report_from_wire(json.loads(protocol.encode("reply", id=1, ok=True,
                                                                result=protocol.report_to_wire(report)))["result"])
    assert back.status is Status.FILLED and back.retcode == 10009 and back.order == 5
    assert back.extra == {"request": {"action": 1, "volume": 0.1}, "filling": "ioc", "pair": [1, 2]}
