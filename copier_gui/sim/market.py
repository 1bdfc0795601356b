"""The simulated market: one seeded, deterministic price path per instrument, shared by brokers.

Prices are generated lazily up to the clock's "now", tick by tick, with random tick spacing, a
random walk scaled to the instrument's yearly volatility, occasional spread widening, and no ticks
while the instrument's session is closed (the first tick after a closure gaps). The path depends
only on the seed and the anchor time, never on who asks or when, so replay on a virtual clock is
reproducible.

An instrument's path is generated only once something reads it (a quote, a tick, a conversion),
the way a terminal streams only the symbols in its Market Watch; from then on it is kept current.
Brokers carry many instruments a copier never looks at, and ticking them all would make every
call pay for them. Generating a path in one stretch or in many gives the same ticks, so when a path
starts being read changes nothing about its prices.
"""

from __future__ import annotations

import bisect
import math
import random
import threading
import weakref
from array import array
from dataclasses import dataclass

from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.sim.instruments import INSTRUMENTS, Instrument, session_open

_YEAR_SECONDS = 365.0 * 86400.0
_MEAN_TICK_GAP = 0.25
_HISTORY_KEEP = 100_000


@dataclass(frozen=True, slots=True)
class Quote:
    """The latest tick of an instrument: UTC time, mid price and spread in instrument points."""

    seq: int
    time: float
    mid: float
    spread_points: float


class _Path:
    """The tick history of one instrument, generated forward on demand."""

    __slots__ = (
        "instrument", "rng", "times", "mids", "spreads", "base_seq",
        "mid", "time", "next_time", "widen_until", "widen_factor",
    )

    def __init__(self, instrument: Instrument, seed: int, anchor: float) -> None:
        self.instrument = instrument
        self.rng = random.Random(f"copier_gui.sim.market:{seed}:{instrument.key}")
        self.times = array("d")
        self.mids = array("d")
        self.spreads = array("d")
        self.base_seq = 0
        self.widen_until = -math.inf
        self.widen_factor = 1.0
        self.mid = instrument.start_price * math.exp(self.rng.gauss(0.0, 0.002))
        self.time = anchor
        self._append(anchor, self.mid, self._spread(anchor))
        self.next_time = anchor + self._gap()

    def _gap(self) -> float:
        return min(2.0, max(0.02, self.rng.expovariate(1.0 / _MEAN_TICK_GAP)))

    def _spread(self, when: float) -> float:
        base = self.instrument.spread_points
        if when >= self.widen_until and self.rng.random() < 0.004:
            self.widen_until = when + self.rng.uniform(3.0, 30.0)
            self.widen_factor = self.rng.uniform(2.5, 6.0)
        factor = self.widen_factor if when < self.widen_until else 1.0
        return max(1.0, round(base * factor * self.rng.uniform(0.8, 1.25)))

    def _append(self, when: float, mid: float, spread: float) -> None:
        self.times.append(when)
        self.mids.append(mid)
        self.spreads.append(spread)
        if len(self.times) > 2 * _HISTORY_KEEP:
            drop = len(self.times) - _HISTORY_KEEP
            del self.times[:drop]
            del self.mids[:drop]
            del self.spreads[:drop]
            self.base_seq += drop

    def advance_to(self, now: float) -> None:
        inst = self.instrument
        while self.next_time <= now:
            when = self.next_time
            if not session_open(inst.session, when):
                # Jump over the closure; the reopening tick carries the gap.
                while not session_open(inst.session, when) and when <= now:
                    when += 60.0
                if when > now:
                    self.next_time = when
                    return
                closed_for = when - self.time
                sigma = inst.annual_volatility * math.sqrt(closed_for / _YEAR_SECONDS) * 0.5
            else:
                sigma = inst.annual_volatility * math.sqrt((when - self.time) / _YEAR_SECONDS)
            shock = self.rng.gauss(0.0, 1.0)
            if self.rng.random() < 0.01:  # fat tails: the odd jump
                shock *= 4.0
            self.mid *= math.exp(sigma * shock)
            self.time = when
            self._append(when, self.mid, self._spread(when))
            self.next_time = when + self._gap()

    @property
    def last_seq(self) -> int:
        return self.base_seq + len(self.times) - 1


class Market:
    """All instruments' price paths for one seed, advanced to the clock's time on demand.

    Thread-safe: terminals of several accounts may read it from different worker threads.
    """

    def __init__(self, seed: int = 0, clock: Clock = SYSTEM_CLOCK, *, anchor: float | None = None) -> None:
        self.seed = seed
        self.clock = clock
        self.anchor = clock.time() if anchor is None else anchor
        self._lock = threading.Lock()
        self._paths = {key: _Path(inst, seed, self.anchor) for key, inst in INSTRUMENTS.items()}
        self._live: dict[str, _Path] = {}
        self._synced_to = self.anchor
        self._next_time = math.inf
        self._stamp = 0

    def sync(self) -> float:
        """Generate every tick up to now of the instruments being read, and return now.

        Cheap when no tick is due.
        """
        now = self.clock.time()
        if now >= self._next_time:
            with self._lock:
                if now >= self._next_time:
                    for path in self._live.values():
                        path.advance_to(now)
                    self._next_time = min(p.next_time for p in self._live.values())
                    self._stamp += 1
        if now > self._synced_to:
            self._synced_to = now
        return now

    def sync_stamp(self) -> int:
        """A number that changes whenever new ticks were generated; cheap cache invalidation."""
        return self._stamp

    def _path(self, key: str) -> _Path:
        path = self._live.get(key)
        if path is None:
            path = self._start(key)
        return path

    def _start(self, key: str) -> _Path:
        """Bring a path nobody read yet up to the last sync, and keep it current from then on."""
        with self._lock:
            path = self._live.get(key)
            if path is None:
                path = self._paths[key]
                path.advance_to(self._synced_to)
                self._live[key] = path
                self._next_time = min(self._next_time, path.next_time)
                self._stamp += 1
            return path

    def jump(self, key: str, delta: float) -> Quote:
        """Move ``key``'s price by ``delta`` at once, as a news spike does: a tick at the clock's time
        with the mid moved and the spread as it was; the walk goes on from there. Brokers see it as
        any tick, so stops and limits it crosses trigger. Raises ValueError for a price at or below 0."""
        self.sync()
        path = self._path(key)
        with self._lock:
            now = self.clock.time()
            path.advance_to(now)
            mid = path.mid + delta
            if mid <= 0:
                raise ValueError(f"{key} cannot move {delta:+g} from {path.mid:g}: the price would be {mid:g}")
            path.mid = mid
            path.time = max(path.time, now)
            path._append(path.time, mid, path.spreads[len(path.spreads) - 1])
            self._stamp += 1
        return self.quote(key)

    def quote(self, key: str) -> Quote:
        path = self._path(key)
        i = len(path.times) - 1
        return Quote(path.base_seq + i, path.times[i], path.mids[i], path.spreads[i])

    def last_seq(self, key: str) -> int:
        return self._path(key).last_seq

    def ticks_since(self, key: str, after_seq: int) -> list[Quote]:
        """Ticks with a sequence number above ``after_seq`` that are still in memory."""
        path = self._path(key)
        with self._lock:
            start = max(after_seq + 1 - path.base_seq, 0)
            base = path.base_seq
            times, mids, spreads = path.times, path.mids, path.spreads
            return [Quote(base + i, times[i], mids[i], spreads[i]) for i in range(start, len(times))]

    def ticks_between(self, key: str, t_from: float, t_to: float) -> list[Quote]:
        """Ticks with UTC time in [t_from, t_to], oldest first."""
        path = self._path(key)
        with self._lock:
            times = path.times
            lo, hi = bisect.bisect_left(times, t_from), bisect.bisect_right(times, t_to)
            base = path.base_seq
            return [Quote(base + i, times[i], path.mids[i], path.spreads[i]) for i in range(lo, hi)]

    def mid(self, key: str) -> float:
        path = self._path(key)
        return path.mids[len(path.mids) - 1]

    def usd_value(self, currency: str) -> float:
        """How many US dollars one unit of ``currency`` is worth now."""
        if currency == "USD":
            return 1.0
        try:
            key, inverted = _USD_PAIRS[currency]
        except KeyError:
            raise KeyError(f"no conversion for currency {currency!r}") from None
        mid = self.mid(key)
        return 1.0 / mid if inverted else mid

    def convert(self, amount: float, from_ccy: str, to_ccy: str) -> float:
        if from_ccy == to_ccy:
            return amount
        return amount * self.usd_value(from_ccy) / self.usd_value(to_ccy)


def _usd_pairs() -> dict[str, tuple[str, bool]]:
    """Per currency, the instrument that prices it in US dollars, and whether it is quoted the
    other way round (USDJPY prices the yen as 1/mid)."""
    pairs: dict[str, tuple[str, bool]] = {}
    for inst in INSTRUMENTS.values():
        if inst.profit == "USD" and inst.base != "USD":
            pairs.setdefault(inst.base, (inst.key, False))
        elif inst.base == "USD" and inst.profit != "USD":
            pairs.setdefault(inst.profit, (inst.key, True))
    return pairs


_USD_PAIRS = _usd_pairs()

_SHARED: weakref.WeakValueDictionary[tuple[int, int], Market] = weakref.WeakValueDictionary()
_SHARED_LOCK = threading.Lock()


def shared_market(seed: int, clock: Clock) -> Market:
    """The one market for this seed and clock, so every broker built on them quotes the same path."""
    key = (seed, id(clock))
    with _SHARED_LOCK:
        market = _SHARED.get(key)
        if market is None or market.clock is not clock:
            market = Market(seed, clock)
            _SHARED[key] = market
        return market
