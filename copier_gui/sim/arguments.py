"""Argument rules of the MetaTrader5 package's C module, reproduced check for check.

The real module rejects an ``int`` where a price is due, a ``float`` or ``numpy.int64`` where an
integer is due, and strings of 30 or more UTF-16 code units. These rules are where code that looks
right fails on Windows, so the simulator applies them exactly; a violation becomes ``ArgumentError``
with the module's own message, which the API layer turns into ``None`` plus ``last_error()``.
"""

from __future__ import annotations

import datetime as _dt

from copier_gui.sim.structs import TradeRequest

U32 = 2**32
U64 = 2**64
I64 = 2**63


class ArgumentError(Exception):
    """A local argument check failed; ``message`` is what ``last_error()`` reports with code -2."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def utf16_units(text: str) -> int:
    """Length as Windows' wchar_t counts it: characters outside the BMP take two units."""
    return len(text.encode("utf-16-le")) // 2


def short_string_ok(value: object, limit: int = 29) -> bool:
    return isinstance(value, str) and utf16_units(value) <= limit


def is_float(value: object) -> bool:
    return isinstance(value, float)


def is_int(value: object) -> bool:
    # bool is an int subclass and the module accepts it; numpy.int64 is not and is refused.
    return isinstance(value, int)


# key -> (kind, bound). Kinds: "u32", "u64", "i64", "float", "str29".
_REQUEST_FIELDS: dict[str, str] = {
    "action": "u32",
    "magic": "u64",
    "order": "u64",
    "symbol": "str29",
    "volume": "float",
    "price": "float",
    "stoplimit": "float",
    "sl": "float",
    "tp": "float",
    "deviation": "u64",
    "type": "u32",
    "type_filling": "u32",
    "type_time": "u32",
    "expiration": "i64",
    "comment": "str29",
    "position": "u64",
    "position_by": "u64",
}
_DEFAULTS = {"u32": 0, "u64": 0, "i64": 0, "float": 0.0, "str29": ""}
_ORDER = tuple(_REQUEST_FIELDS)


def _check_field(key: str, kind: str, value: object):
    if kind == "float":
        if not is_float(value):
            raise ArgumentError(f'Invalid "{key}" argument')
        return float(value)
    if kind == "str29":
        if not short_string_ok(value):
            raise ArgumentError(f'Invalid "{key}" argument')
        return str(value)
    if not is_int(value):
        raise ArgumentError(f'Invalid "{key}" argument')
    number = int(value)
    if kind == "u32":
        if not 0 <= number < U32:
            raise OverflowError(f"value {number} out of range for an unsigned 32-bit field {key!r}")
    elif kind == "u64":
        if not 0 <= number < U64:
            raise OverflowError(f"value {number} out of range for an unsigned 64-bit field {key!r}")
    elif not -I64 <= number < I64:
        raise OverflowError(f"value {number} out of range for a signed 64-bit field {key!r}")
    return number


def parse_request(args: tuple, kwargs: dict) -> TradeRequest:
    """Parse ``order_send``/``order_check`` arguments into a zero-filled TradeRequest.

    One positional dict, or keywords only (the keywords themselves are the request). Unknown keys
    are ignored, as the C module ignores them.
    """
    if args and kwargs:
        raise ArgumentError("Unnamed arguments not allowed")
    if kwargs:
        request = kwargs
    else:
        if len(args) != 1:
            raise ArgumentError("Invalid number of arguments")
        request = args[0]
        if not isinstance(request, dict):
            raise ArgumentError("Invalid arguments")
    values = []
    for key in _ORDER:
        kind = _REQUEST_FIELDS[key]
        if key in request:
            values.append(_check_field(key, kind, request[key]))
        else:
            values.append(_DEFAULTS[kind])
    return TradeRequest(values)


def parse_date(value: object, position: str) -> int:
    """A date argument: int, float (truncated) or datetime (a naive one is local time)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        if not -(2**31) <= value < 2**31:
            raise OverflowError("Python int too large to convert to C long")
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, _dt.datetime):
        return int(value.timestamp())
    raise ArgumentError(f"Invalid {position} unnamed argument")


def ordinal(index: int) -> str:
    return {0: "1st", 1: "2nd", 2: "3rd"}.get(index, f"{index + 1}th")


def check_filter_kwargs(args: tuple, kwargs: dict) -> dict:
    """Keyword-only filters of positions_get/orders_get, checked in the module's order."""
    if args:
        raise ArgumentError("Unnamed arguments not allowed")
    out: dict = {}
    if "ticket" in kwargs:
        ticket = kwargs["ticket"]
        if not is_int(ticket) or not 0 <= int(ticket) < U64:
            raise ArgumentError('Invalid "ticket" argument')
        out["ticket"] = int(ticket)
        return out
    if "symbol" in kwargs:
        symbol = kwargs["symbol"]
        if not short_string_ok(symbol):
            raise ArgumentError("Invalid arguments")
        out["symbol"] = symbol
        return out
    if "group" in kwargs:
        group = kwargs["group"]
        if not isinstance(group, str) or len(group) >= 1998:
            raise ArgumentError('Invalid "group" argument')
        out["group"] = group
    return out
