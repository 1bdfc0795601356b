"""The cTrader Open API's official message definitions, shared by the connector and the simulated server.

The ``OpenApi*_pb2`` modules are generated, not written: Spotware's four ``.proto`` files at tag 91
of spotware/openapi-proto-messages (kept verbatim in ``proto/`` with their MIT licence), compiled
with protoc 29 from grpcio-tools 1.71. Tag 91 because the repository's head does not compile: it
removed the ``PROTO_OA_V1_PNL_CHANGE_*`` payload types that five messages still use. The messages
are proto2, so fields keep their presence and explicit defaults (``moneyDigits`` absent is not 0).

To regenerate, from ``proto/``::

    python -m grpc_tools.protoc -I. --python_out=.. --pyi_out=.. *.proto

then make the generated cross-imports package-relative (``import X_pb2 as`` becomes
``from . import X_pb2 as``) and put ``# ruff: noqa`` on the first line of each generated file.

This package knows nothing of sockets or of the copier; it maps payload types to message classes
and wraps an inner message in the ``ProtoMessage`` envelope that travels on the wire.
"""

from __future__ import annotations

from google.protobuf.message import DecodeError, Message

from copier_gui.ctrader_messages import OpenApiCommonMessages_pb2 as common
from copier_gui.ctrader_messages import OpenApiCommonModelMessages_pb2 as common_model
from copier_gui.ctrader_messages import OpenApiMessages_pb2 as messages
from copier_gui.ctrader_messages import OpenApiModelMessages_pb2 as model

__all__ = [
    "ProtoMessage",
    "common",
    "common_model",
    "message_class",
    "messages",
    "model",
    "payload_name",
    "payload_type",
    "unwrap",
    "wrap",
]

ProtoMessage = common.ProtoMessage


def _registry() -> dict[int, type[Message]]:
    """Every message that declares a ``payloadType`` default, by that payload type."""
    table: dict[int, type[Message]] = {}
    for module in (common, messages):
        for descriptor in module.DESCRIPTOR.message_types_by_name.values():
            field = descriptor.fields_by_name.get("payloadType")
            if field is None or descriptor.name == "ProtoMessage":
                continue
            table[field.default_value] = getattr(module, descriptor.name)
    return table


_BY_TYPE = _registry()


def message_class(payload: int) -> type[Message] | None:
    """The message class of a payload type, or None for a type these definitions do not know."""
    return _BY_TYPE.get(payload)


def payload_type(message: Message) -> int:
    """The payload type a message declares (its ``payloadType`` field's default)."""
    return message.DESCRIPTOR.fields_by_name["payloadType"].default_value


def payload_name(payload: int) -> str:
    """A payload type's name for logs and errors: the message's name, or the bare number."""
    cls = _BY_TYPE.get(payload)
    return cls.DESCRIPTOR.name if cls is not None else f"payload type {payload}"


def wrap(message: Message, client_msg_id: str | None = None) -> ProtoMessage:
    """The envelope that carries ``message`` on the wire, with the request's ``clientMsgId``."""
    envelope = ProtoMessage(payloadType=payload_type(message), payload=message.SerializeToString())
    if client_msg_id is not None:
        envelope.clientMsgId = client_msg_id
    return envelope


def unwrap(envelope: ProtoMessage) -> Message | None:
    """The inner message of an envelope, or None when its payload type is unknown to us.

    Raises ``google.protobuf.message.DecodeError`` when the payload does not parse, including a
    message that lacks one of its required (proto2) fields.
    """
    cls = _BY_TYPE.get(envelope.payloadType)
    if cls is None:
        return None
    inner = cls()
    inner.ParseFromString(envelope.payload)
    if not inner.IsInitialized():
        # The parser accepts a proto2 message that lacks required fields; the protocol does not.
        missing = ", ".join(inner.FindInitializationErrors())
        raise DecodeError(f"{cls.DESCRIPTOR.name} lacks its required field(s) {missing}")
    return inner
