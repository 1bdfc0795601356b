"""Request rate limits of one Open API link, as cTrader documents them: 50 requests a second, and
5 a second for historical data, per connection.

Historical requests are the deal and order lists, trendbars and tick data (an order list alone
was seen refused, Mida#28). Each class counts the requests it let through in the last second;
a request over the limit is refused and not counted, so a client that waits is let in again.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

PER_SECOND = 50
HISTORICAL_PER_SECOND = 5
HISTORICAL = frozenset({"ProtoOADealListReq", "ProtoOAOrderListReq", "ProtoOAGetTrendbarsReq",
                        "ProtoOAGetTickDataReq"})


class RateLimiter:
    def __init__(self, now: Callable[[], float], *, per_second: int = PER_SECOND,
                 historical_per_second: int = HISTORICAL_PER_SECOND, historical: frozenset[str] = HISTORICAL,
                 window: float = 1.0) -> None:
        self._now = now
        self._limits = {False: per_second, True: historical_per_second}
        self._historical = historical
        self._window = window
        self._sent: dict[bool, deque[float]] = {False: deque(), True: deque()}

    def admit(self, request: str) -> float:
        """0 when ``request`` may go through now; else the seconds until it may."""
        kind = request in self._historical
        sent, limit = self._sent[kind], self._limits[kind]
        now = self._now()
        while sent and now - sent[0] >= self._window:
            sent.popleft()
        if len(sent) >= limit:
            return max(self._window - (now - sent[0]), 1e-3)
        sent.append(now)
        return 0.0
