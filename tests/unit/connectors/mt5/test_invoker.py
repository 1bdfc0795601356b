"""Off-loading: blocking MetaTrader5 calls run on one worker thread per terminal, never on the loop."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector, ThreadInvoker
from copier_gui.core.model import OpenPosition, Side, Status

SLOW_S = 0.2


class SlowApi:
    """The two reads a snapshot makes; positions_get blocks its thread like a slow terminal."""

    def __init__(self) -> None:
        self.threads: set[int] = set()

    def positions_get(self, **kwargs):
        self.threads.add(threading.get_ident())
        time.sleep(SLOW_S)
        return ()

    def orders_get(self, **kwargs):
        self.threads.add(threading.get_ident())
        return ()

    def last_error(self):
        return (1, "Success")


async def _heartbeat(beats: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        beats.append(time.perf_counter())
        await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_two_connectors_run_in_parallel_off_the_loop_thread():
    apis = [SlowApi(), SlowApi()]
    invokers = [ThreadInvoker(f"mt5-{i}") for i in range(2)]
    connectors = [MT5Connector(f"acct-{i}", api, invoker=inv, clock=SYSTEM_CLOCK)
                  for i, (api, inv) in enumerate(zip(apis, invokers, strict=True))]
    beats: list[float] = []
    stop = asyncio.Event()
    heartbeat = asyncio.create_task(_heartbeat(beats, stop))
    try:
        await asyncio.sleep(0.02)
        started = time.perf_counter()
        snapshots = await asyncio.gather(*(c.snapshot() for c in connectors))
        elapsed = time.perf_counter() - started
    finally:
        stop.set()
        await heartbeat
        for inv in invokers:
            inv.close()
    assert all(s.positions == () for s in snapshots)
    # Sequential would take 2 x 0.2 s; in parallel it is one 0.2 s plus overhead.
    assert SLOW_S <= elapsed < 1.7 * SLOW_S, elapsed
    loop_thread = threading.get_ident()
    (first,), (second,) = apis[0].threads, apis[1].threads
    assert loop_thread not in (first, second)
    assert first != second
    # The loop kept running while both terminals were busy: no gap near the 0.2 s of blocking.
    gaps = [b - a for a, b in zip(beats, beats[1:], strict=False)]
    assert len(beats) >= 10
    assert max(gaps) < SLOW_S / 2, max(gaps)


@pytest.mark.asyncio
async def test_calls_to_one_terminal_are_serialized_on_one_thread():
    api = SlowApi()
    invoker = ThreadInvoker()
    try:
        started = time.perf_counter()
        await asyncio.gather(invoker.call(api.positions_get), invoker.call(api.positions_get))
        elapsed = time.perf_counter() - started
    finally:
        invoker.close()
    assert elapsed >= 2 * SLOW_S * 0.95
    assert len(api.threads) == 1


@pytest.mark.asyncio
async def test_thread_invoker_passes_arguments_results_and_exceptions():
    invoker = ThreadInvoker()
    try:
        assert await invoker.call(lambda a, *, b: a + b, 2, b=3) == 5
        with pytest.raises(ZeroDivisionError):
            await invoker.call(lambda: 1 / 0)
    finally:
        invoker.close()


@pytest.mark.asyncio
async def test_inline_invoker_runs_on_the_callers_thread():
    seen = []
    await InlineInvoker().call(lambda: seen.append(threading.get_ident()))
    assert seen == [threading.get_ident()]


@pytest.mark.asyncio
async def test_connector_trades_on_a_simulated_terminal_through_a_thread(make_terminal, weekday_clock):
    terminal = make_terminal("meridian_ecn")
    invoker = ThreadInvoker()
    connector = MT5Connector("threaded", terminal, invoker=invoker, clock=weekday_clock)
    try:
        await connector.connect()
        report = await connector.open(OpenPosition("EURUSD", Side.BUY, 0.01, 0.0, 0.0, 5, "threaded"))
        snapshot = await connector.snapshot()
    finally:
        invoker.close()
    assert report.status is Status.FILLED, report.message
    assert [p.ticket for p in snapshot.positions] == [report.order]
