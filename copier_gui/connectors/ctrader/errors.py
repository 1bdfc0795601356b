"""What can go wrong on an Open API link, as exceptions that name the server's error code.

The server reports failures three ways: ``ProtoOAErrorRes`` and ``ProtoErrorRes`` (a request it
refused), ``ProtoOAOrderErrorEvent`` (a trade request it refused, often with orderId and
positionId 0, so it is matched by clientMsgId) and an ``ORDER_REJECTED`` execution event. Each
becomes an :class:`OpenApiError` whose ``code`` is the enum name the server sent (for instance
``TRADING_BAD_VOLUME``) and whose text is the server's description; the connector maps codes to
the port's statuses. A request that gets no answer at all raises :class:`RequestTimeout`.
"""

from __future__ import annotations

from google.protobuf.message import Message


class OpenApiError(Exception):
    """The server refused a request: ``code`` is its error code name, ``description`` its text."""

    def __init__(self, code: str, description: str = "", *, message: Message | None = None,
                 request: str = "") -> None:
        self.code = code
        self.description = description
        self.message = message  # the server's reply as received, for the fields a caller needs
        self.request = request
        text = f"{code}: {description}" if description else code
        super().__init__(f"{request} refused: {text}" if request else text)


class OrderError(OpenApiError):
    """A trade request refused by a ``ProtoOAOrderErrorEvent``; ``order_id``/``position_id`` may be 0."""

    @property
    def order_id(self) -> int:
        return self.message.orderId if self.message is not None else 0

    @property
    def position_id(self) -> int:
        return self.message.positionId if self.message is not None else 0


class OrderRejected(OpenApiError):
    """A trade request answered by an ``ORDER_REJECTED`` execution event (``message`` is the event)."""


class RequestTimeout(OpenApiError):
    """No answer within the request's deadline. The request may still have been executed: the
    caller reconciles (by clientOrderId or label) before it retries."""

    def __init__(self, request: str, seconds: float) -> None:
        super().__init__("REQUEST_TIMEOUT", f"no answer within {seconds:g} s", request=request)
        self.seconds = seconds


class ConnectionLost(OpenApiError):
    """The link closed while the request was in flight, or before it could be sent."""

    def __init__(self, reason: str, request: str = "") -> None:
        super().__init__("CONNECTION_LOST", reason, request=request)


class ProtocolError(OpenApiError):
    """The peer sent something that is not the Open API: a frame too long, a payload that does
    not parse."""

    def __init__(self, description: str) -> None:
        super().__init__("PROTOCOL_ERROR", description)


class TokenStoreError(OpenApiError):
    """The refreshed token pair could not be saved, so it was not used (the old refresh token is
    already spent: the trader must authorize again if the new pair is lost)."""

    def __init__(self, description: str) -> None:
        super().__init__("TOKEN_STORE_FAILED", description)
