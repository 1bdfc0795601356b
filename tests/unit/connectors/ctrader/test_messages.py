"""The official message definitions as both sides use them: payload types, envelopes, proto2 rules."""

from __future__ import annotations

import pytest
from google.protobuf.message import DecodeError

from copier_gui import ctrader_messages as cm


def test_every_payload_type_of_the_enums_has_its_message():
    # Each request, response and event named in the payload-type enums maps to a message class,
    # except the envelope itself (PROTO_MESSAGE) and the retired v1 PnL types.
    enum_values = set(cm.common_model.ProtoPayloadType.values()) | set(cm.model.ProtoOAPayloadType.values())
    unmapped = {v for v in enum_values if cm.message_class(v) is None}
    assert unmapped == {cm.common_model.PROTO_MESSAGE}


def test_an_envelope_round_trips_with_its_client_msg_id():
    request = cm.messages.ProtoOAClosePositionReq(ctidTraderAccountId=7, positionId=42, volume=150_000)
    wire = cm.wrap(request, "cg-3").SerializeToString()
    envelope = cm.ProtoMessage.FromString(wire)
    assert envelope.payloadType == 2111 and envelope.clientMsgId == "cg-3"
    assert cm.unwrap(envelope) == request


def test_an_event_envelope_carries_no_client_msg_id():
    envelope = cm.wrap(cm.common.ProtoHeartbeatEvent())
    assert envelope.payloadType == 51 and not envelope.HasField("clientMsgId")


def test_a_message_missing_a_required_field_is_a_decode_error():
    envelope = cm.ProtoMessage(payloadType=2174, payload=b"")
    with pytest.raises(DecodeError, match="refreshToken"):
        cm.unwrap(envelope)


def test_proto2_presence_tells_an_absent_money_digits_from_zero():
    trader = cm.model.ProtoOATrader(ctidTraderAccountId=1, balance=100, depositAssetId=15)
    assert not trader.HasField("moneyDigits")
    assert trader.accountType == cm.model.HEDGED  # the documented default, not proto3's zero
    order = cm.model.ProtoOAOrder()
    assert order.timeInForce == cm.model.IMMEDIATE_OR_CANCEL
    assert cm.messages.ProtoOANewOrderReq().timeInForce == cm.model.GOOD_TILL_CANCEL


def test_names_for_logs():
    assert cm.payload_name(2132) == "ProtoOAOrderErrorEvent"
    assert cm.payload_name(9999) == "payload type 9999"
