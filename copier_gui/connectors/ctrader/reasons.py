"""What the cTrader Open API's refusals mean for the copier: its error code names become the port's
Status and Reason, with a message a trader can act on.

The server names an error by its enum name (``TRADING_BAD_VOLUME``), in a ``ProtoOAErrorRes``, a
``ProtoOAOrderErrorEvent`` or an ORDER_REJECTED execution event; which one it uses for which
failure is undocumented, so all three come here the same way. The code and the server's own text
stay in the journal's message; the core reads only Status and Reason.
"""

from __future__ import annotations

from copier_gui.core.model import Reason, Status

# Code name -> (reason, what it means for the trader).
_CODES: dict[str, tuple[Reason, str]] = {
    # Trading (ProtoOAErrorCode).
    "NO_QUOTES": (Reason.NO_QUOTE, "the broker has no quote to execute at"),
    "NOT_ENOUGH_MONEY": (Reason.NO_MONEY, "not enough free margin"),
    "MAX_EXPOSURE_REACHED": (Reason.LIMIT_REACHED, "the broker's maximum exposure for this symbol is reached"),
    "POSITION_NOT_FOUND": (Reason.NOT_FOUND, "the position is gone (closed meanwhile or never there)"),
    "ORDER_NOT_FOUND": (Reason.NOT_FOUND, "the order is gone (filled, cancelled or expired meanwhile)"),
    "POSITION_NOT_OPEN": (Reason.NOT_FOUND, "the position is not open"),
    "POSITION_LOCKED": (Reason.BUSY, "the position is locked by an operation in progress"),
    "TOO_MANY_POSITIONS": (Reason.LIMIT_REACHED, "the limit on open positions or orders is reached"),
    "TRADING_BAD_VOLUME": (Reason.INVALID_VOLUME,
                           "the volume is not allowed for this symbol (minimum, maximum or step)"),
    "TRADING_BAD_STOPS": (Reason.INVALID_STOPS,
                          "the stop loss or take profit is too close to the price or on the wrong side of it"),
    "TRADING_BAD_PRICES": (Reason.INVALID_PRICE, "the price is not valid for this order"),
    "TRADING_BAD_STAKE": (Reason.INVALID_VOLUME, "the stake is not allowed for this symbol"),
    "PROTECTION_IS_TOO_CLOSE_TO_MARKET": (Reason.INVALID_STOPS,
                                          "the stop loss or take profit is too close to the market"),
    "TRADING_BAD_EXPIRATION_DATE": (Reason.INVALID_EXPIRATION, "the expiration time is not allowed"),
    "PENDING_EXECUTION": (Reason.BUSY, "the broker is still executing an earlier request"),
    "TRADING_DISABLED": (Reason.TRADE_RESTRICTED, "trading is disabled for this symbol"),
    "TRADING_NOT_ALLOWED": (Reason.TRADING_DISABLED,
                            "the broker does not allow trading on this account (read-only or close-only)"),
    "UNABLE_TO_CANCEL_ORDER": (Reason.REFUSED, "the broker could not cancel the order"),
    "UNABLE_TO_AMEND_ORDER": (Reason.REFUSED, "the broker could not change the order"),
    "SHORT_SELLING_NOT_ALLOWED": (Reason.TRADE_RESTRICTED, "short selling is not allowed on this symbol"),
    "SYMBOL_NOT_FOUND": (Reason.INVALID_REQUEST, "the broker has no such symbol on this account"),
    "SYMBOL_HAS_HOLIDAY": (Reason.MARKET_CLOSED, "the market for this symbol is closed for a holiday"),
    "MARKET_CLOSED": (Reason.MARKET_CLOSED, "the market for this symbol is closed"),
    "INCORRECT_BOUNDARIES": (Reason.INVALID_REQUEST, "the request's time range is not allowed"),
    "ORDER_ALREADY_FILLED": (Reason.NOT_FOUND, "the order is already filled"),
    "ACCOUNT_NOT_AUTHORIZED": (Reason.NO_CONNECTION, "the account's session at the Open API has ended"),
    "OA_AUTH_TOKEN_EXPIRED": (Reason.NO_CONNECTION, "the access token has expired"),
    "CH_ACCESS_TOKEN_INVALID": (Reason.NO_CONNECTION, "the access token is no longer valid"),
    "CH_CLIENT_NOT_AUTHENTICATED": (Reason.NO_CONNECTION, "the application is not authorized on the link"),
    "CH_SERVER_NOT_REACHABLE": (Reason.NO_CONNECTION, "the broker's trading server cannot be reached"),
    "CH_CTID_TRADER_ACCOUNT_NOT_FOUND": (Reason.NO_CONNECTION, "the broker no longer knows this account"),
    "RET_ACCOUNT_DISABLED": (Reason.TRADING_DISABLED, "the broker has disabled this account"),
    # Common (ProtoErrorCode).
    "UNKNOWN_ERROR": (Reason.REFUSED, "the broker failed the request for an unknown reason"),
    "UNSUPPORTED_MESSAGE": (Reason.UNSUPPORTED, "the Open API server does not support this request"),
    "INVALID_REQUEST": (Reason.INVALID_REQUEST, "the broker found the request invalid"),
    "TIMEOUT_ERROR": (Reason.BUSY, "the deal timed out at the broker and was rejected"),
    "ENTITY_NOT_FOUND": (Reason.NOT_FOUND, "the position or order is not found"),
    "CANT_ROUTE_REQUEST": (Reason.NO_CONNECTION,
                           "the request cannot be routed: a live account on the demo host, or the reverse"),
    "CONCURRENT_MODIFICATION": (Reason.BUSY, "the position or order changed meanwhile"),
    "BLOCKED_PAYLOAD_TYPE": (Reason.THROTTLED, "too many requests: the Open API blocks this request for a while"),
    "REQUEST_FREQUENCY_EXCEEDED": (Reason.THROTTLED, "too many requests: the Open API rate limit is reached"),
    "SERVER_IS_UNDER_MAINTENANCE": (Reason.NO_CONNECTION, "the Open API server is under maintenance"),
    "CHANNEL_IS_BLOCKED": (Reason.NO_CONNECTION, "the Open API blocked this connection"),
    "CONNECTIONS_LIMIT_EXCEEDED": (Reason.NO_CONNECTION, "the application has too many Open API connections"),
    # A market order's end without a fill, named by its execution type.
    "ORDER_CANCELLED": (Reason.NO_QUOTE, "the broker could not fill the whole volume at once and cancelled the order"),
    "ORDER_EXPIRED": (Reason.REFUSED, "the order expired before it filled"),
    "ORDER_REJECTED": (Reason.REFUSED, "the broker rejected the order"),
    # The connector's own checks before sending.
    "PRICE_BEYOND_LIMIT": (Reason.REQUOTE, "the price is already past the worst price the copier accepts"),
    # What the connection layer reports when no answer came.
    "REQUEST_TIMEOUT": (Reason.NO_CONNECTION, "the Open API server did not answer in time"),
    "CONNECTION_LOST": (Reason.NO_CONNECTION, "the connection to the Open API server was lost"),
    "PROTOCOL_ERROR": (Reason.NO_CONNECTION, "the Open API server sent something unreadable"),
}

# A fill-or-kill order cancelled unfilled found no price for all of it: another try may.
_REQUOTES = frozenset({"NO_QUOTES", "PRICE_BEYOND_LIMIT", "ORDER_CANCELLED"})
_THROTTLES = frozenset({"BLOCKED_PAYLOAD_TYPE", "REQUEST_FREQUENCY_EXCEEDED"})
_DISABLED = frozenset({"TRADING_NOT_ALLOWED", "RET_ACCOUNT_DISABLED"})
# The request did not get through to execution: the same one may pass once the link is back.
_UNREACHABLE = frozenset({
    "ACCOUNT_NOT_AUTHORIZED", "OA_AUTH_TOKEN_EXPIRED", "CH_ACCESS_TOKEN_INVALID", "CH_CLIENT_NOT_AUTHENTICATED",
    "CANT_ROUTE_REQUEST", "SERVER_IS_UNDER_MAINTENANCE", "CHANNEL_IS_BLOCKED", "CONNECTIONS_LIMIT_EXCEEDED",
    "REQUEST_TIMEOUT", "CONNECTION_LOST", "PROTOCOL_ERROR", "CH_SERVER_NOT_REACHABLE",
    "CH_CTID_TRADER_ACCOUNT_NOT_FOUND",
})
# After these the request may or may not have been executed: the next snapshot tells.
OUTCOME_UNKNOWN = frozenset({"REQUEST_TIMEOUT", "CONNECTION_LOST"})


def reason_for(code: str) -> Reason:
    """The platform-neutral reason of a refusal's code name; REFUSED for a name not known here."""
    known = _CODES.get(code)
    return known[0] if known is not None else Reason.REFUSED


def status_for(code: str) -> Status:
    if code in _REQUOTES:
        return Status.REQUOTED
    if code in _THROTTLES:
        return Status.THROTTLED
    if code in _DISABLED:
        return Status.DISABLED
    if code in _UNREACHABLE:
        return Status.UNREACHABLE
    return Status.REJECTED


def explanation(code: str) -> str:
    known = _CODES.get(code)
    return known[1] if known is not None else ""


def refusal_message(code: str, description: str, *, broker: str) -> str:
    """A journal line for a refusal: who said what, in the server's words, and what it means."""
    said = f"({code}{': ' + description if description else ''})"
    status = status_for(code)
    if code in OUTCOME_UNKNOWN:
        return (f"no answer from {broker} {said}: the request may or may not have been executed; the next "
                "snapshot shows whether it was")
    if status is Status.UNREACHABLE:
        return f"not executed: {explanation(code)} {said}; the copier reconnects and tries again"
    verb = {Status.REQUOTED: "requoted", Status.THROTTLED: "throttled"}.get(status, "rejected")
    meaning = explanation(code)
    return f"{verb} by {broker} {said}" + (f": {meaning}" if meaning else "")


# ProtoOAExecutionType values that end an order's life, and what each says.
ORDER_ACCEPTED = 2
ORDER_FILLED = 3
ORDER_REPLACED = 4
ORDER_CANCELLED = 5
ORDER_EXPIRED = 6
ORDER_REJECTED = 7
ORDER_CANCEL_REJECTED = 8
ORDER_PARTIAL_FILL = 11

_EXECUTION_NAMES = {
    ORDER_ACCEPTED: "accepted", ORDER_FILLED: "filled", ORDER_REPLACED: "changed", ORDER_CANCELLED: "cancelled",
    ORDER_EXPIRED: "expired", ORDER_REJECTED: "rejected", ORDER_CANCEL_REJECTED: "cancellation rejected",
    ORDER_PARTIAL_FILL: "partly filled",
}


def execution_name(execution_type: int) -> str:
    return _EXECUTION_NAMES.get(int(execution_type), f"execution type {execution_type}")


def fill_status(*, executed_cents: int, requested_cents: int) -> Status | None:
    """The Status of a market order's end: FILLED when all of it traded, PARTIAL when some did
    (the rest cancelled), None when nothing did."""
    if executed_cents <= 0:
        return None
    return Status.FILLED if executed_cents >= requested_cents else Status.PARTIAL
