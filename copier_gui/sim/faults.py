"""Seeded fault injection for the simulated terminal: latency, requotes, partial fills, rejections,
AutoTrading switched off, IPC timeouts and lost connections.

Off unless asked for: ``Faults()`` injects nothing, so a test is exact unless it asks for chaos.
Every draw comes from the terminal's own seeded ``random.Random``, so a run is reproducible.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

# Every code of the trade server's return code table that is not a success, and the comment the
# terminal shows with it. The table has no 10005 or 10037.
REJECTION_COMMENTS: dict[int, str] = {
    10004: "Requote",
    10006: "Request rejected",
    10007: "Request canceled by trader",
    10010: "Request executed partially",
    10011: "Request processing error",
    10012: "Request canceled by timeout",
    10013: "Invalid request",
    10014: "Invalid volume",
    10015: "Invalid price",
    10016: "Invalid stops",
    10017: "Trade disabled",
    10018: "Market closed",
    10019: "No money",
    10020: "Prices changed",
    10021: "No prices",
    10022: "Invalid expiration",
    10023: "Order state changed",
    10024: "Too many requests",
    10025: "No changes",
    10026: "AutoTrading disabled by server",
    10027: "AutoTrading disabled by client",
    10028: "Request locked for processing",
    10029: "Order or position frozen",
    10030: "Unsupported filling mode",
    10031: "No connection",
    10032: "Only real accounts allowed",
    10033: "Pending orders limit reached",
    10034: "Volume limit reached",
    10035: "Invalid order type",
    10036: "Position already closed",
    10038: "Invalid close volume",
    10039: "Close order already exists",
    10040: "Positions limit reached",
    10041: "Pending order activation rejected, order canceled",
    10042: "Only long positions are allowed",
    10043: "Only short positions are allowed",
    10044: "Only position closing is allowed",
    10045: "FIFO rule violation",
}

# Codes a scenario or a test may force on the next request: every answer in which nothing was
# executed. 10010 (a partial fill) executes part of the request, so it has its own fault.
INJECTABLE_REJECTIONS = tuple(code for code in REJECTION_COMMENTS if code != 10010)

# Codes the terminal answers itself, without asking the trade server: its AutoTrading button is
# off, or it has no connection to the server. Such a result carries no prices and no request id.
CLIENT_SIDE_RETCODES = frozenset({10027, 10031})


@dataclass(frozen=True, slots=True)
class Latency:
    """Per-call latency in milliseconds, drawn from a log-normal around ``median_ms``."""

    median_ms: float = 0.0
    sigma: float = 0.5
    max_ms: float = 10_000.0

    def draw(self, rng: random.Random) -> float:
        if self.median_ms <= 0:
            return 0.0
        return min(self.max_ms, self.median_ms * math.exp(rng.gauss(0.0, self.sigma))) / 1000.0


@dataclass(frozen=True, slots=True)
class Faults:
    """Probabilities are per call of the function concerned (``order_send`` for trade faults)."""

    read_latency: Latency = field(default_factory=Latency)
    trade_latency: Latency = field(default_factory=Latency)
    requote: float = 0.0
    price_off: float = 0.0
    partial_fill: float = 0.0
    rejections: dict[int, float] = field(default_factory=dict)
    ipc_timeout: float = 0.0
    disconnect: float = 0.0
    disconnect_seconds: float = 5.0

    def __post_init__(self) -> None:
        for name in ("requote", "price_off", "partial_fill", "ipc_timeout", "disconnect"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault probability {name}={value} is not between 0 and 1")
        for retcode, p in self.rejections.items():
            if retcode not in INJECTABLE_REJECTIONS:
                raise ValueError(
                    f"cannot inject retcode {retcode}; choose from {list(INJECTABLE_REJECTIONS)}"
                )
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"rejection probability for {retcode} is {p}, not between 0 and 1")

    @property
    def any_trade_fault(self) -> bool:
        return bool(self.requote or self.price_off or self.partial_fill or self.rejections)


NO_FAULTS = Faults()
