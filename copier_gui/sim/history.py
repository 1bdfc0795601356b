"""Bars and ticks from the simulated market's tick history, as the numpy arrays MT5 returns.

History starts when the market was created (its anchor) and keeps the most recent ticks only,
like a terminal limited by "Max bars in chart". Bar and tick times are UTC, as the MetaTrader 5
documentation states; trade records (positions, orders, deals) carry trade-server time instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from copier_gui.sim import constants as mt5

if TYPE_CHECKING:
    from copier_gui.sim.engine import TradeEngine
    from copier_gui.sim.profiles import SymbolSpec

RATES_DTYPE = np.dtype([
    ("time", "<i8"), ("open", "<f8"), ("high", "<f8"), ("low", "<f8"), ("close", "<f8"),
    ("tick_volume", "<u8"), ("spread", "<i4"), ("real_volume", "<u8"),
])
TICKS_DTYPE = np.dtype([
    ("time", "<i8"), ("bid", "<f8"), ("ask", "<f8"), ("last", "<f8"), ("volume", "<u8"),
    ("time_msc", "<i8"), ("flags", "<u4"), ("volume_real", "<f8"),
])

_FIXED = {
    mt5.TIMEFRAME_M1: 60, mt5.TIMEFRAME_M2: 120, mt5.TIMEFRAME_M3: 180, mt5.TIMEFRAME_M4: 240,
    mt5.TIMEFRAME_M5: 300, mt5.TIMEFRAME_M6: 360, mt5.TIMEFRAME_M10: 600, mt5.TIMEFRAME_M12: 720,
    mt5.TIMEFRAME_M15: 900, mt5.TIMEFRAME_M20: 1200, mt5.TIMEFRAME_M30: 1800, mt5.TIMEFRAME_H1: 3600,
    mt5.TIMEFRAME_H2: 7200, mt5.TIMEFRAME_H3: 10800, mt5.TIMEFRAME_H4: 14400, mt5.TIMEFRAME_H6: 21600,
    mt5.TIMEFRAME_H8: 28800, mt5.TIMEFRAME_H12: 43200, mt5.TIMEFRAME_D1: 86400, mt5.TIMEFRAME_W1: 604800,
    # A month is approximated as 30 days; the simulated history is far shorter than that anyway.
    mt5.TIMEFRAME_MN1: 2592000,
}


def timeframe_seconds(timeframe: int) -> int | None:
    return _FIXED.get(timeframe)


def _broker_ticks(engine: TradeEngine, spec: SymbolSpec, utc_from: float, utc_to: float):
    for q in engine.market.ticks_between(spec.instrument, utc_from, utc_to):
        bid, ask = engine._broker_prices(spec, q.mid, q.spread_points)
        yield q.time, bid, ask


def rates_between(engine: TradeEngine, spec: SymbolSpec, frame: int, start: float | None, end: float,
                  count: int | None) -> list[tuple]:
    """Bars of ``frame`` seconds that open in [start, end]; with ``count``, the last ``count``."""
    bars: dict[int, list] = {}
    point = 10.0**-spec.digits
    for when, bid, ask in _broker_ticks(engine, spec, start if start is not None else 0.0, end + frame):
        opened = int(when // frame * frame)
        if opened > end or (start is not None and opened < start):
            continue
        bar = bars.get(opened)
        spread = int(round((ask - bid) / point))
        if bar is None:
            bars[opened] = [opened, bid, bid, bid, bid, 1, spread, 0]
        else:
            bar[2] = max(bar[2], bid)
            bar[3] = min(bar[3], bid)
            bar[4] = bid
            bar[5] += 1
            bar[6] = min(bar[6], spread)
    rows = [tuple(bars[k]) for k in sorted(bars)]
    if count is not None:
        rows = rows[-count:] if count > 0 else []
    return rows


def ticks_between(engine: TradeEngine, spec: SymbolSpec, start: float, end: float | None, count: int | None,
                  flags: int) -> list[tuple]:
    stop = end if end is not None else engine.clock.time()
    rows = []
    for when, bid, ask in _broker_ticks(engine, spec, start, stop):
        msc = int(round(when * 1000))
        rows.append((msc // 1000, bid, ask, 0.0, 0, msc, mt5.TICK_FLAG_BID | mt5.TICK_FLAG_ASK, 0.0))
        if count is not None and len(rows) >= count:
            break
    if flags == mt5.COPY_TICKS_TRADE:
        return []  # Forex-style quotes carry no trades (no TICK_FLAG_LAST), as on real FX servers.
    return rows
