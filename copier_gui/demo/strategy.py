"""The demo's automated master trader: opens, modifies, partially closes and closes trades.

It stands in for the person or expert advisor trading the master account, so it talks to the
master's terminal through the MetaTrader5 API, exactly as an EA would, and never through the
copier. It runs in the copier's process: a terminal there is called directly, and a terminal in a
worker process through the worker's "trader" lever, so no worker ever runs demo code. Seeded, so a
demo run is repeatable.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Protocol

from copier_gui.core.ports import ConnectorError
from copier_gui.sim import constants as mt5

# Symbols the strategy trades at the master, with a volume range and a stop distance in points.
_BOOK = (
    ("EURUSD", (0.1, 1.0), 300),
    ("GBPUSD", (0.1, 0.8), 350),
    ("USDJPY", (0.1, 0.8), 300),
    ("XAUUSD", (0.05, 0.5), 1500),
    ("US30", (0.5, 5.0), 1500),
    ("BTCUSD", (0.05, 0.5), 60000),
)


@dataclass
class StrategyStats:
    opened: int = 0
    modified: int = 0
    reduced: int = 0
    closed: int = 0
    pending: int = 0
    rejected: int = 0


class Trader(Protocol):
    """The master terminal's MetaTrader5 functions as the account's own trader reaches them."""

    async def call(self, function: str, *args: Any) -> Any: ...


class LocalTrader:
    """A terminal in this process: a call is microseconds on a simulated terminal."""

    def __init__(self, terminal: Any) -> None:
        self.terminal = terminal

    async def call(self, function: str, *args: Any) -> Any:
        return getattr(self.terminal, function)(*args)


class WorkerTrader:
    """A terminal in a worker process, reached through its connector's "trader" lever.

    The worker sends structs as plain data; they come back as objects with the same attribute
    names, so the strategy reads a position the same way from either kind of terminal.
    """

    def __init__(self, connector: Any) -> None:
        self.connector = connector

    async def call(self, function: str, *args: Any) -> Any:
        return _as_struct(await self.connector.sim("trader", function, *args))


def _as_struct(value: Any) -> Any:
    if isinstance(value, dict):
        return SimpleNamespace(**{k: _as_struct(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_as_struct(v) for v in value)
    return value


class MasterStrategy:
    """Trades the master every ``interval_s`` seconds (jittered), keeping a few positions open."""

    def __init__(self, trader: Trader, *, seed: int = 0, interval_s: float = 2.0, max_positions: int = 4,
                 magic: int = 20_261_125) -> None:
        self.t = trader
        self.rng = random.Random(f"copier_gui.demo.strategy:{seed}")
        self.interval_s = interval_s
        self.max_positions = max_positions
        self.magic = magic
        self.stats = StrategyStats()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s * self.rng.uniform(0.6, 1.4))
            # A master worker that is restarting misses a step; the copier reports the restart.
            with contextlib.suppress(ConnectorError):
                await self.step()

    async def step(self) -> None:
        """One decision."""
        positions = await self.t.call("positions_get") or ()
        orders = await self.t.call("orders_get") or ()
        roll = self.rng.random()
        if not positions or (len(positions) < self.max_positions and roll < 0.40):
            await self._open()
        elif roll < 0.55:
            await self._modify(self.rng.choice(positions))
        elif roll < 0.72:
            await self._reduce(self.rng.choice(positions))
        elif roll < 0.92:
            await self._close(self.rng.choice(positions))
        elif orders:
            await self._cancel(self.rng.choice(orders))
        else:
            await self._pending()

    # ------------------------------------------------------------------ actions
    async def _tradable(self) -> list[tuple[str, tuple[float, float], int]]:
        out = []
        for symbol, volumes, stop in _BOOK:
            check = await self.t.call("order_check", {
                "action": mt5.TRADE_ACTION_DEAL, "symbol": symbol, "volume": 0.01, "type": mt5.ORDER_TYPE_BUY,
                "price": 0.0, "type_filling": mt5.ORDER_FILLING_IOC})
            if check is not None and check.retcode == 0:
                out.append((symbol, volumes, stop))
        return out

    async def _send(self, request: dict) -> bool:
        result = await self.t.call("order_send", request)
        ok = result is not None and result.retcode in (mt5.TRADE_RETCODE_DONE, mt5.TRADE_RETCODE_DONE_PARTIAL)
        if not ok:
            self.stats.rejected += 1
        return ok

    async def _open(self) -> None:
        choices = await self._tradable()
        if not choices:
            return
        symbol, (low, high), stop = self.rng.choice(choices)
        info = await self.t.call("symbol_info", symbol)
        tick = await self.t.call("symbol_info_tick", symbol)
        buy = self.rng.random() < 0.5
        step = info.volume_step
        volume = round(max(info.volume_min, round(self.rng.uniform(low, high) / step) * step), 2)
        price = tick.ask if buy else tick.bid
        distance = stop * info.point
        sl = round(price - distance if buy else price + distance, info.digits)
        tp = round(price + 2 * distance if buy else price - 2 * distance, info.digits)
        if await self._send({"action": mt5.TRADE_ACTION_DEAL, "symbol": symbol, "volume": float(volume),
                             "type": mt5.ORDER_TYPE_BUY if buy else mt5.ORDER_TYPE_SELL, "price": price,
                             "sl": sl, "tp": tp, "deviation": 20, "type_filling": mt5.ORDER_FILLING_IOC,
                             "magic": self.magic, "comment": "demo strategy"}):
            self.stats.opened += 1

    async def _modify(self, pos) -> None:
        info = await self.t.call("symbol_info", pos.symbol)
        tick = await self.t.call("symbol_info_tick", pos.symbol)
        buy = pos.type == mt5.POSITION_TYPE_BUY
        reference = tick.bid if buy else tick.ask
        distance = self.rng.uniform(0.5, 1.5) * abs(pos.price_open - pos.sl or reference * 0.002)
        sl = round(reference - distance if buy else reference + distance, info.digits)
        if await self._send({"action": mt5.TRADE_ACTION_SLTP, "symbol": pos.symbol, "position": pos.ticket,
                             "sl": sl, "tp": pos.tp}):
            self.stats.modified += 1

    async def _reduce(self, pos) -> None:
        info = await self.t.call("symbol_info", pos.symbol)
        part = round(pos.volume * self.rng.choice((0.3, 0.5)) / info.volume_step) * info.volume_step
        part = round(part, 2)
        if part < info.volume_min or pos.volume - part < info.volume_min:
            await self._close(pos)
            return
        if await self._close_volume(pos, part):
            self.stats.reduced += 1

    async def _close(self, pos) -> None:
        if await self._close_volume(pos, pos.volume):
            self.stats.closed += 1

    async def _close_volume(self, pos, volume: float) -> bool:
        tick = await self.t.call("symbol_info_tick", pos.symbol)
        buy = pos.type == mt5.POSITION_TYPE_BUY
        return await self._send({"action": mt5.TRADE_ACTION_DEAL, "symbol": pos.symbol, "volume": float(volume),
                                 "type": mt5.ORDER_TYPE_SELL if buy else mt5.ORDER_TYPE_BUY, "position": pos.ticket,
                                 "price": tick.bid if buy else tick.ask, "deviation": 20,
                                 "type_filling": mt5.ORDER_FILLING_IOC, "magic": self.magic})

    async def _pending(self) -> None:
        choices = await self._tradable()
        if not choices:
            return
        symbol, (low, _high), stop = self.rng.choice(choices)
        info = await self.t.call("symbol_info", symbol)
        tick = await self.t.call("symbol_info_tick", symbol)
        buy = self.rng.random() < 0.5
        offset = stop * info.point * 0.3
        price = round(tick.ask + offset if buy else tick.bid - offset, info.digits)
        if await self._send({"action": mt5.TRADE_ACTION_PENDING, "symbol": symbol, "volume": float(low),
                             "type": mt5.ORDER_TYPE_BUY_STOP if buy else mt5.ORDER_TYPE_SELL_STOP,
                             "price": price, "type_filling": mt5.ORDER_FILLING_RETURN, "magic": self.magic,
                             "comment": "demo breakout"}):
            self.stats.pending += 1

    async def _cancel(self, order) -> None:
        await self._send({"action": mt5.TRADE_ACTION_REMOVE, "order": order.ticket})
