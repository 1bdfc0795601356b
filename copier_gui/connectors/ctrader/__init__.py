"""The cTrader connector's protocol layer: the Open API over TLS, on the copier's asyncio loop.

Library choice
--------------
What we use: Spotware's official message definitions, the ``.proto`` files of
spotware/openapi-proto-messages at tag 91, compiled into :mod:`copier_gui.ctrader_messages` and
run by Google's ``protobuf``; and a small asyncio transport of our own here (a 4-byte big-endian
length before each ``ProtoMessage``, TLS from the standard ``ssl`` module, clientMsgId
correlation, heartbeats, deadlines). Neither Python client fits, for these reasons:

* ``ctrader-api-client`` (asyncio, the closest in shape) requires Python >= 3.12 in every one of
  its releases (0.1.0 to 0.12.0); we support 3.11 and pip finds no version for it. It is also a
  one-author project in early development, decodes with betterproto, which reads proto2 messages
  with proto3 zero defaults (an absent ``moneyDigits`` becomes 0, then a guessed 2), and rejects
  frames over 1 MiB.
* ``ctrader-open-api`` 0.9.2 (OpenApiPy, the official SDK) installs beside us on 3.11 only by
  pinning ``protobuf`` 3.20.1 (pure-Python on 3.11), ``Twisted`` 24.3.0 and ``pyOpenSSL`` 24.1.0,
  which drags ``cryptography`` down to 42.0.8; it cannot coexist with protobuf >= 5. It needs a
  Twisted reactor beside our asyncio/qasync loop. Its bundled messages predate fields we need
  (``ProtoOAErrorRes.retryAfter``, ``ProtoOATradeData.closeTimestamp``). And its code has defects
  that bite a copier: requests leave through a once-a-second loop at five a second (up to a second
  added to every order), the send queue is a class attribute shared across reconnections, and a
  dropped link leaves pending requests to fail only at their 5 s timeout.

So nothing the official SDK does well is written again by hand: its value is the message
definitions, and we take those from the official source, newer than the SDK's copy. The asyncio
transport is the part neither library could give us on our loop and Python.

Layout
------
* :mod:`.connection` -- :class:`OpenApiConnection`: one link, requests and events.
* :mod:`.session` -- :class:`OpenApiSession`: application, account list, account authorization and
  token refresh through a caller's :class:`TokenStore`.
* :mod:`.errors` -- the exceptions, each with the server's error code name and description.
"""

from copier_gui.connectors.ctrader.connection import OpenApiConnection
from copier_gui.connectors.ctrader.errors import (
    ConnectionLost,
    OpenApiError,
    OrderError,
    OrderRejected,
    ProtocolError,
    RequestTimeout,
    TokenStoreError,
)
from copier_gui.connectors.ctrader.session import (
    AppCredentials,
    OpenApiSession,
    TokenPair,
    TokenStore,
    TraderAccount,
)

__all__ = [
    "AppCredentials",
    "ConnectionLost",
    "OpenApiConnection",
    "OpenApiError",
    "OpenApiSession",
    "OrderError",
    "OrderRejected",
    "ProtocolError",
    "RequestTimeout",
    "TokenPair",
    "TokenStore",
    "TokenStoreError",
    "TraderAccount",
]
