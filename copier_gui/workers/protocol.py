"""The core-worker message schema, version 1: one JSON object per message, checked on arrival.
Every transport carries exactly this; a message that fails the checks is logged and dropped.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import typing
from enum import Enum
from types import UnionType
from typing import Any

from copier_gui.core.model import (
    AccountState,
    CancelPending,
    CashFlow,
    ClosePosition,
    Deal,
    DealShare,
    ExecutionReport,
    ModifyPending,
    ModifyStops,
    OpenPosition,
    PendingKind,
    PendingOrder,
    PlacePending,
    Position,
    Side,
    SymbolSpec,
)
from copier_gui.core.ports import Capabilities

VERSION = 1

STATES = ("connecting", "connected", "degraded", "disconnected")

# Requests the worker serves. "ping" measures the round trip; "sim" pulls a simulated terminal's
# levers (and trades it as the account's own trader would) and is refused for real terminals.
TRADE_OPS = ("open", "close", "modify", "place_pending", "modify_pending", "cancel")
OPS = ("connect", "close_session", "account", "snapshot", "symbols", "symbol", *TRADE_OPS, "ping", "sim",
       "position_deals", "deals_since", "cash_flows")

_NUMBER = (int, float)
_INT = (int,)

# Envelope: {"v": 1, "kind": <kind>, ...fields}. Required fields per kind, with their accepted
# types; unknown extra fields are ignored, so a later 1.x may add optional ones.
#   hello      worker -> core, first: account, pid, its monotonic clock, api kind
#   request    core -> worker: id, op (one of OPS), args
#   reply      worker -> core: id, ok, then result, or error {type, message, code}
#   snapshot   worker -> core: the changes from snapshot `base` (null: a full one) to `seq`:
#              positions and orders upserted as compact lists, tickets of those gone
#   heartbeat  worker -> core: its clock, when it last polled, latest seq, what it is busy with
#   state      worker -> core: connecting, connected, degraded or disconnected, and why
#   error      worker -> core: a problem that belongs to no request
#   log        worker -> core: one log record, re-emitted by the core's logging
#   shutdown   core -> worker: close the session and exit
SCHEMA: dict[str, dict[str, tuple]] = {
    "hello": {"account": (str,), "pid": _INT, "mono": _NUMBER, "api": (str,)},
    "request": {"id": _INT, "op": (str,), "args": (dict,)},
    "reply": {"id": _INT, "ok": (bool,)},
    "snapshot": {"seq": _INT, "base": (int, type(None)), "taken_at": _NUMBER,
                 "offset": (int, float, type(None)), "pos": (list,), "ord": (list,),
                 "gone_pos": (list,), "gone_ord": (list,)},
    "heartbeat": {"mono": _NUMBER, "polled": (int, float, type(None)), "seq": _INT,
                  "busy": (str, type(None)), "busy_for": _NUMBER},
    "state": {"state": (str,), "detail": (str,)},
    "error": {"message": (str,), "code": (int, type(None))},
    "log": {"level": _INT, "logger": (str,), "message": (str,)},
    "shutdown": {},
}


class ProtocolError(ValueError):
    """A message or a value inside it does not follow the schema; ``str()`` says how."""


@dataclasses.dataclass(frozen=True, slots=True)
class Message:
    kind: str
    body: dict

    def __getitem__(self, key: str) -> Any:
        return self.body[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.body.get(key, default)


# ----------------------------------------------------------------------------- envelope

def encode(kind: str, **fields: Any) -> bytes:
    """One message as bytes. Values must already be wire values (see the codecs below)."""
    if kind not in SCHEMA:
        raise ProtocolError(f"unknown message kind {kind!r}")
    return json.dumps({"v": VERSION, "kind": kind, **fields}, separators=(",", ":"),
                      default=_fallback).encode()


def _fallback(value: Any) -> Any:
    # A report's free-form ``extra`` may hold an enum or a tuple the broker code put there; the
    # message must still go out, so anything JSON lacks travels as its text.
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


def decode(data: bytes) -> Message:
    """Parse and check one message; raises ProtocolError for anything off-schema."""
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"not JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise ProtocolError(f"a message must be a JSON object, not {type(obj).__name__}")
    version = obj.get("v")
    if version != VERSION:
        raise ProtocolError(f"protocol version {version!r}, expected {VERSION}")
    kind = obj.get("kind")
    fields = SCHEMA.get(kind) if isinstance(kind, str) else None
    if fields is None:
        raise ProtocolError(f"unknown message kind {kind!r}")
    for name, types in fields.items():
        if name not in obj:
            raise ProtocolError(f"{kind} message without {name!r}")
        value = obj[name]
        # bool is an int subclass; a flag is never a number here and vice versa.
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise ProtocolError(f"{kind} message: {name!r} is {type(value).__name__}")
    if kind == "state" and obj["state"] not in STATES:
        raise ProtocolError(f"unknown state {obj['state']!r}")
    # A request with an unknown op is still a message: the worker answers it with an error
    # rather than leaving the core's request waiting.
    if kind == "reply" and not obj["ok"] and not isinstance(obj.get("error"), dict):
        raise ProtocolError("a failed reply without an error object")
    return Message(kind, obj)


# ----------------------------------------------------------------------------- model values

def _hints(cls: type) -> dict[str, Any]:
    return _cached_hints(cls)


@functools.cache
def _cached_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProtocolError(f"{name} must be a number, not {type(value).__name__}")
    return float(value)


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(f"{name} must be an integer, not {type(value).__name__}")
    return value


def _convert(hint: Any, value: Any, name: str) -> Any:
    if hint is float:
        return _number(value, name)
    if hint is int:
        return _integer(value, name)
    if hint is str:
        if not isinstance(value, str):
            raise ProtocolError(f"{name} must be text, not {type(value).__name__}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ProtocolError(f"{name} must be true or false")
        return value
    if isinstance(hint, type) and issubclass(hint, Enum):
        try:
            return hint(value)
        except ValueError:
            raise ProtocolError(f"{name}: {value!r} is not a {hint.__name__}") from None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, UnionType):
        # Only optional values travel: ``X | None``.
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return None if value is None else _convert(inner, value, name)
    if dataclasses.is_dataclass(hint):
        return dataclass_from_wire(hint, value)
    if origin is tuple:
        inner, *rest = typing.get_args(hint)
        if rest != [Ellipsis] or not isinstance(value, list):
            raise ProtocolError(f"{name} must be a list")
        return tuple(_convert(inner, v, name) for v in value)
    if origin is frozenset:
        (inner,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ProtocolError(f"{name} must be a list")
        return frozenset(_convert(inner, v, name) for v in value)
    if hint is dict or origin is dict:
        if not isinstance(value, dict):
            raise ProtocolError(f"{name} must be an object")
        return value
    raise ProtocolError(f"{name}: no wire form for {hint!r}")  # a schema bug, caught by the tests


_PLAIN_WIRE = frozenset({str, int, float, bool, type(None)})


def _to_wire_value(value: Any) -> Any:
    if type(value) in _PLAIN_WIRE:  # most fields: a request goes out on the copy path's clock
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, frozenset):
        return sorted(_to_wire_value(v) for v in value)
    if isinstance(value, tuple):
        return [_to_wire_value(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclass_to_wire(value)
    return value


def dataclass_to_wire(obj: Any) -> dict:
    return {name: _to_wire_value(getattr(obj, name)) for name in _field_names(type(obj))}


@functools.lru_cache(maxsize=128)
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(kind))


def dataclass_from_wire(cls: type, data: Any) -> Any:
    """Rebuild a frozen model dataclass, checking every field's type; missing fields keep defaults."""
    if not isinstance(data, dict):
        raise ProtocolError(f"{cls.__name__} must be an object, not {type(data).__name__}")
    hints = _hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = _convert(hints[f.name], data[f.name], f"{cls.__name__}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ProtocolError(f"{cls.__name__} without {f.name!r}")
    return cls(**kwargs)


REQUEST_TYPES: dict[str, type] = {
    "open": OpenPosition, "close": ClosePosition, "modify": ModifyStops,
    "place_pending": PlacePending, "modify_pending": ModifyPending, "cancel": CancelPending,
}


def request_from_wire(op: str, data: Any):
    cls = REQUEST_TYPES.get(op)
    if cls is None:
        raise ProtocolError(f"{op!r} is not a trade request")
    return dataclass_from_wire(cls, data)


def account_from_wire(data: Any) -> AccountState:
    return dataclass_from_wire(AccountState, data)


def spec_from_wire(data: Any) -> SymbolSpec:
    return dataclass_from_wire(SymbolSpec, data)


def position_deals_from_wire(data: Any) -> tuple[Deal, ...]:
    if not isinstance(data, list):
        raise ProtocolError(f"position deals must be a list, not {type(data).__name__}")
    return tuple(dataclass_from_wire(Deal, item) for item in data)


def cash_flows_from_wire(data: Any) -> tuple[CashFlow, ...]:
    if not isinstance(data, list):
        raise ProtocolError(f"cash flows must be a list, not {type(data).__name__}")
    return tuple(dataclass_from_wire(CashFlow, item) for item in data)


def capabilities_from_wire(data: Any) -> Capabilities:
    return dataclass_from_wire(Capabilities, data)


def report_to_wire(report: ExecutionReport) -> dict:
    wire = dataclass_to_wire(report)
    # NaN and infinities are not JSON; a report never legitimately carries them.
    for key in ("volume", "price", "bid", "ask", "sent_at", "received_at"):
        if not math.isfinite(wire[key]):
            wire[key] = 0.0
    return wire


def report_from_wire(data: Any) -> ExecutionReport:
    return dataclass_from_wire(ExecutionReport, data)


# Snapshots travel on every change, so positions and orders use fixed-order lists, not objects.

def position_to_wire(p: Position) -> list:
    row = [p.ticket, p.identifier, p.symbol, p.side.value, p.volume, p.price_open, p.sl, p.tp, p.magic,
           p.comment, p.time_msc, p.price_current, p.profit]
    if p.deals is not None:
        # A netting position's deals ride along as a 14th field; hedging positions stay 13 long.
        row.append([[d.magic, d.comment, d.volume] for d in p.deals])
    return row


def _deals_from_wire(rows: Any) -> tuple[DealShare, ...]:
    if not isinstance(rows, list):
        raise TypeError("deals must be a list")
    out = []
    for magic, comment, volume in rows:
        if not isinstance(comment, str):
            raise TypeError("a deal comment must be a string")
        out.append(DealShare(_integer(magic, "magic"), comment, _number(volume, "volume")))
    return tuple(out)


def position_from_wire(row: Any) -> Position:
    try:
        deals = None
        if isinstance(row, list) and len(row) == 14:
            *row, wire_deals = row
            deals = _deals_from_wire(wire_deals)
        (ticket, identifier, symbol, side, volume, price_open, sl, tp, magic, comment, time_msc,
         price_current, profit) = row
        position = Position(_integer(ticket, "ticket"), _integer(identifier, "identifier"), symbol,
                            Side(side), _number(volume, "volume"), _number(price_open, "price_open"),
                            _number(sl, "sl"), _number(tp, "tp"), _integer(magic, "magic"), comment,
                            _integer(time_msc, "time_msc"), _number(price_current, "price_current"),
                            _number(profit, "profit"), deals)
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"malformed position {row!r:.200}: {exc}") from None
    if not isinstance(symbol, str) or not isinstance(comment, str):
        raise ProtocolError(f"malformed position {row!r:.200}")
    return position


def order_to_wire(o: PendingOrder) -> list:
    return [o.ticket, o.symbol, o.kind.value, o.volume, o.price, o.stoplimit, o.sl, o.tp, o.expiration,
            o.magic, o.comment, o.time_setup_msc]


def order_from_wire(row: Any) -> PendingOrder:
    try:
        ticket, symbol, kind, volume, price, stoplimit, sl, tp, expiration, magic, comment, setup = row
        order = PendingOrder(_integer(ticket, "ticket"), symbol, PendingKind(kind), _number(volume, "volume"),
                             _number(price, "price"), _number(stoplimit, "stoplimit"), _number(sl, "sl"),
                             _number(tp, "tp"), _integer(expiration, "expiration"), _integer(magic, "magic"),
                             comment, _integer(setup, "time_setup_msc"))
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"malformed order {row!r:.200}: {exc}") from None
    if not isinstance(symbol, str) or not isinstance(comment, str):
        raise ProtocolError(f"malformed order {row!r:.200}")
    return order


def tickets_from_wire(rows: Any, what: str) -> list[int]:
    if not isinstance(rows, list) or not all(isinstance(t, int) and not isinstance(t, bool) for t in rows):
        raise ProtocolError(f"{what} must be a list of tickets")
    return rows


def error_to_wire(kind: str, message: str, code: int | None = None) -> dict:
    return {"type": kind, "message": message, "code": code}


__all__ = [
    "OPS",
    "SCHEMA",
    "STATES",
    "TRADE_OPS",
    "VERSION",
    "Message",
    "ProtocolError",
    "account_from_wire",
    "capabilities_from_wire",
    "dataclass_from_wire",
    "dataclass_to_wire",
    "decode",
    "encode",
    "error_to_wire",
    "order_from_wire",
    "order_to_wire",
    "position_from_wire",
    "position_to_wire",
    "report_from_wire",
    "report_to_wire",
    "request_from_wire",
    "spec_from_wire",
    "tickets_from_wire",
]
