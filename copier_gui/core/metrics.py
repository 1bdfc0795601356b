"""Execution drift, measured per copy and summarised per slave.

For every copied fill: detection latency (master fill -> copier noticed), decision latency
(noticed -> request handed to the connector), broker latency (request -> result), total copy
latency (master fill -> slave fill), slippage in points and in the slave's account currency, and
the volume's deviation from the intended exposure. Per slave: rolling p50, p95 and max.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, fields


@dataclass(frozen=True, slots=True)
class CopyMetrics:
    copy_id: str
    slave: str
    master_ticket: int
    symbol: str
    action: str
    volume: float
    intended_volume: float
    master_price: float
    slave_price: float
    detection_ms: float
    decision_ms: float
    broker_ms: float
    total_ms: float
    slippage_points: float  # in points of the slave's symbol: what its broker counts deviation in
    slippage_money: float  # in the slave's account currency, on the volume filled
    volume_deviation_pct: float
    retries: int = 0
    # The same gap in a unit that compares across symbols: pips for currency pairs, basis points of
    # the master's price otherwise; and always in basis points, which per-slave figures average.
    slippage: float = 0.0
    slippage_unit: str = ""  # "pip" or "bp"
    slippage_bp: float = 0.0
    # What drift attribution (core.drift_ledger) needs to rebuild the trade from the journal alone:
    # the slave position's direction; the master's volume x the rules before any rounding and the
    # volume sized from it (entries); the slave's own quote when the request went; the money one
    # price unit on one lot makes at the slave; the slave position's entry price (exits).
    side: str = ""
    ideal_volume: float = 0.0
    sized_volume: float = 0.0
    master_volume: float = 0.0
    quote: float = 0.0
    money_per_price_lot: float = 0.0
    entry_price: float = 0.0
    # What one volume holds on either side, so drift attribution scales the master's costs by
    # exposure rather than by two volumes counted differently (0.2 lot at 10 a lot is 2 lots at 1;
    # 50,000 units are 0.5 lot of EURUSD): the units of the base asset in one volume of the slave's
    # symbol and of the master's, and the money (the master's currency) one price unit makes on one
    # master volume. 0.0 where unknown (an exit, or the master's symbol not known to the executor).
    slave_per_volume: float = 0.0
    master_per_volume: float = 0.0
    master_money_per_price_lot: float = 0.0
    # The tolerances that applied to this fill: the price limit in points of the slave's symbol
    # (None: no price limit, as for an exit) and the maximum delay; the drift colour compares each
    # fill with its own limits, which differ per symbol.
    deviation_limit_points: float | None = None
    delay_limit_ms: float | None = None
    # When the slave's broker reported the fill (UTC seconds): where the copy sits on a chart drawn
    # after it happened (a dashboard rebuilt when a slave is linked). 0.0 where unknown.
    received_wall: float = 0.0

    def as_dict(self) -> dict:
        # Every field is a plain value: a flat read is the same dict as dataclasses.asdict without
        # its deep copy, which cost a third of a millisecond per fill on the copy path.
        return {name: getattr(self, name) for name in _METRIC_FIELDS}


_METRIC_FIELDS = tuple(f.name for f in fields(CopyMetrics))


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; 0.0 for no data."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


def _share(used: float, limit: float) -> float:
    if limit > 0:
        return used / limit
    return 0.0 if used <= 0 else math.inf  # anything at all beyond a limit of zero is beyond it


def share_of_tolerances(m: CopyMetrics) -> float | None:
    """How much of its tolerances one fill used: the larger of its slippage over its price limit
    and its latency over its maximum delay. 1.0 is at a limit; None when no limit applied.

    A fraction compares across symbols where points do not: 30 points is most of a EURUSD copy's
    limit and nothing on BTCUSD.
    """
    shares = []
    if m.deviation_limit_points is not None:
        shares.append(_share(abs(m.slippage_points), m.deviation_limit_points))
    if m.delay_limit_ms is not None:
        shares.append(_share(m.total_ms, m.delay_limit_ms))
    return max(shares) if shares else None


@dataclass
class SlaveStats:
    # The percentiles and the drift colour read the recent copies; a longer window only costs memory.
    window: int = 500
    copies: int = 0
    refusals: int = 0
    failures: int = 0
    latency_ms: deque = field(default_factory=deque)
    decision_ms: deque = field(default_factory=deque)
    slippage_points: deque = field(default_factory=deque)  # each in points of its own symbol: never summed
    slippage_bp: deque = field(default_factory=deque)
    slippage_money: deque = field(default_factory=deque)
    last_latency_ms: float = 0.0
    # Each recent fill's use of its own tolerances (share_of_tolerances): what the drift colour reads.
    tolerance_use: deque = field(default_factory=deque)

    def add(self, m: CopyMetrics) -> None:
        self.copies += 1
        self.last_latency_ms = m.total_ms
        use = share_of_tolerances(m)
        if use is not None:
            self.tolerance_use.append(use)
            if len(self.tolerance_use) > self.window:
                self.tolerance_use.popleft()
        for series, value in ((self.latency_ms, m.total_ms), (self.decision_ms, m.decision_ms),
                              (self.slippage_points, m.slippage_points), (self.slippage_bp, m.slippage_bp),
                              (self.slippage_money, m.slippage_money)):
            series.append(value)
            if len(series) > self.window:
                series.popleft()

    def summary(self) -> dict:
        # Slippage is summed and averaged in basis points and money, never in points: a point of
        # BTCUSD and a point of EURUSD are different things.
        lat = list(self.latency_ms)
        slip = list(self.slippage_bp)
        money = list(self.slippage_money)
        return {
            "copies": self.copies,
            "refusals": self.refusals,
            "failures": self.failures,
            "latency_p50_ms": round(percentile(lat, 50), 3),
            "latency_p95_ms": round(percentile(lat, 95), 3),
            "latency_max_ms": round(max(lat), 3) if lat else 0.0,
            "decision_p50_ms": round(percentile(list(self.decision_ms), 50), 4),
            "slippage_mean_bp": round(sum(slip) / len(slip), 3) if slip else 0.0,
            "slippage_max_bp": round(max(slip, key=abs), 3) if slip else 0.0,
            "slippage_mean_money": round(sum(money) / len(money), 4) if money else 0.0,
            "slippage_total_money": round(math.fsum(money), 4),
        }


class Metrics:
    """All slaves' statistics plus every copy's metrics (kept for reports and charts)."""

    def __init__(self, keep_copies: int | None = 1_000) -> None:
        """``keep_copies``: the most recent copies kept (None: all, for a replay's finite report).

        A copier runs for months; the charts and the summary need only the recent copies, and the
        per-slave statistics keep their own rolling windows.
        """
        self.slaves: dict[str, SlaveStats] = {}
        self.copies: deque[CopyMetrics] = deque(maxlen=keep_copies)
        # The latest entry fill (open or top-up) per (slave, master ticket), so a display can look
        # a position's copy up instead of scanning every copy kept, at every refresh.
        self.entries: dict[tuple[str, int], CopyMetrics] = {}
        self._keep_entries = keep_copies

    def stats(self, slave: str) -> SlaveStats:
        stats = self.slaves.get(slave)
        if stats is None:
            stats = self.slaves[slave] = SlaveStats()
        return stats

    def record_copy(self, m: CopyMetrics) -> None:
        self.copies.append(m)
        self.stats(m.slave).add(m)
        if m.action in ("open", "topup"):
            key = (m.slave, m.master_ticket)
            self.entries.pop(key, None)  # re-inserted last: the oldest entries go first
            self.entries[key] = m
            if self._keep_entries is not None and len(self.entries) > self._keep_entries:
                del self.entries[next(iter(self.entries))]

    def forget_entries(self, keep: set[int]) -> None:
        """Drop the latest-entry lookup of master tickets outside ``keep`` (closed everywhere)."""
        for key in [k for k in self.entries if k[1] not in keep]:
            del self.entries[key]

    def record_refusal(self, slave: str) -> None:
        self.stats(slave).refusals += 1

    def record_failure(self, slave: str) -> None:
        self.stats(slave).failures += 1

    def summary(self) -> dict[str, dict]:
        return {slave: stats.summary() for slave, stats in sorted(self.slaves.items())}
