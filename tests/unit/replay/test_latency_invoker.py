"""Replay's invoker: a broker call's latency passes on virtual time while the rest of the loop runs."""

from __future__ import annotations

import asyncio

import pytest

from copier_gui.clock import VirtualClock
from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector
from copier_gui.connectors.mt5.invoker import VirtualLatencyInvoker
from copier_gui.core.model import OpenPosition, Side, Status
from copier_gui.replay.virtual_loop import run_virtual
from copier_gui.sim import Faults, Latency, new_terminal
from tests.kit import WEEKDAY_NOON_UTC

# sigma 0: every trade takes exactly two seconds, every read none.
SLOW = Faults(trade_latency=Latency(median_ms=2000.0, sigma=0.0))


def slow_terminal(clock: VirtualClock, *, deferred: bool):
    t = new_terminal("meridian_ecn", seed=3, clock=clock, faults=SLOW)
    assert t.initialize()
    t.sim.defer_latency(deferred)
    return t


def trade_latency(terminal):
    return lambda fn: terminal.sim.draw_latency(trade=getattr(fn, "__func__", None) is MT5Connector._trade)


def buy() -> OpenPosition:
    return OpenPosition("EURUSD", Side.BUY, 0.1, 0.0, 0.0, 1, "")


def test_inline_calls_with_latency_stall_everything_else():
    """What replay did before: the slow broker's sleep held up every other task on the loop."""
    clock = VirtualClock(WEEKDAY_NOON_UTC)
    woke: list[float] = []

    async def main():
        t = slow_terminal(clock, deferred=False)
        connector = MT5Connector("slave", t, invoker=InlineInvoker(), clock=clock)
        await connector.connect()

        async def timer():
            await asyncio.sleep(0.5)
            woke.append(asyncio.get_running_loop().time())

        waiter = asyncio.get_running_loop().create_task(timer())
        await asyncio.sleep(0)
        await connector.open(buy())
        await waiter

    run_virtual(main, clock)
    assert woke[0] >= 2.0


def test_a_slow_call_lets_the_loop_go_on_and_takes_effect_half_way():
    clock = VirtualClock(WEEKDAY_NOON_UTC)
    seen: list[tuple[float, int]] = []

    async def main():
        loop = asyncio.get_running_loop()
        t = slow_terminal(clock, deferred=True)
        connector = MT5Connector("slave", t, invoker=VirtualLatencyInvoker(trade_latency(t)), clock=clock)
        await connector.connect()
        start = loop.time()

        async def watch():
            for _ in range(4):
                await asyncio.sleep(0.5)
                seen.append((round(loop.time() - start, 6), t.positions_total()))

        watcher = loop.create_task(watch())
        report = await connector.open(buy())
        await watcher
        return round(loop.time() - start, 6), report

    done_at, report = run_virtual(main, clock)
    # The timer ran on time throughout; the request reached the broker after one second.
    assert [at for at, _ in seen] == [0.5, 1.0, 1.5, 2.0]
    assert [n for _, n in seen] == [0, 1, 1, 1]
    assert done_at == 2.0
    assert report.status is Status.FILLED
    # Seen from the caller, the broker took the whole two seconds.
    assert report.broker_latency_s == pytest.approx(2.0)


def test_calls_to_one_terminal_are_served_one_at_a_time():
    clock = VirtualClock(WEEKDAY_NOON_UTC)

    async def main():
        loop = asyncio.get_running_loop()
        t = slow_terminal(clock, deferred=True)
        connector = MT5Connector("slave", t, invoker=VirtualLatencyInvoker(trade_latency(t)), clock=clock)
        await connector.connect()
        start = loop.time()
        finished: list[float] = []

        async def one():
            await connector.open(buy())
            finished.append(round(loop.time() - start, 6))

        await asyncio.gather(one(), one(), one())
        return finished

    assert run_virtual(main, clock) == [2.0, 4.0, 6.0]


def test_a_caller_cancelled_while_the_answer_travels_loses_only_the_answer():
    """A crash between a send and its bookkeeping: the broker executed, the copier never heard."""
    clock = VirtualClock(WEEKDAY_NOON_UTC)

    async def main():
        loop = asyncio.get_running_loop()
        t = slow_terminal(clock, deferred=True)
        invoker = VirtualLatencyInvoker(trade_latency(t))
        connector = MT5Connector("slave", t, invoker=invoker, clock=clock)
        await connector.connect()
        bookkept: list[object] = []

        async def copy():
            bookkept.append(await connector.open(buy()))

        task = loop.create_task(copy())
        await asyncio.sleep(1.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return bookkept, t.positions_total(), invoker.in_flight

    bookkept, positions, in_flight = run_virtual(main, clock)
    assert bookkept == [] and positions == 1 and in_flight == 1


def test_a_request_already_sent_still_reaches_the_broker_when_its_caller_is_cancelled():
    clock = VirtualClock(WEEKDAY_NOON_UTC)

    async def main():
        loop = asyncio.get_running_loop()
        t = slow_terminal(clock, deferred=True)
        connector = MT5Connector("slave", t, invoker=VirtualLatencyInvoker(trade_latency(t)), clock=clock)
        await connector.connect()
        task = loop.create_task(connector.open(buy()))
        await asyncio.sleep(0.5)
        task.cancel()
        await asyncio.sleep(0.4)
        before = t.positions_total()
        await asyncio.sleep(0.2)
        return before, t.positions_total()

    assert run_virtual(main, clock) == (0, 1)


def test_without_latency_a_call_runs_inline():
    calls: list[int] = []

    async def main():
        invoker = VirtualLatencyInvoker()
        assert await invoker.call(lambda x: calls.append(x) or x * 2, 21) == 42
        return invoker.in_flight

    assert run_virtual(main, VirtualClock(WEEKDAY_NOON_UTC)) == 0
    assert calls == [21]


def test_the_request_share_is_checked():
    with pytest.raises(ValueError, match="request_share"):
        VirtualLatencyInvoker(request_share=1.5)


def test_a_quick_call_waits_its_turn_behind_slow_ones():
    clock = VirtualClock(WEEKDAY_NOON_UTC)
    order: list[tuple[str, float]] = []

    async def main():
        loop = asyncio.get_running_loop()
        invoker = VirtualLatencyInvoker(lambda fn: 2.0 if fn.__name__ == "slow" else 0.0)

        def slow():
            order.append(("slow", loop.time()))

        def quick():
            order.append(("quick", loop.time()))

        first = loop.create_task(invoker.call(slow))
        second = loop.create_task(invoker.call(slow))
        await asyncio.sleep(2.5)
        # The first slow call is done; the second is in the pipe: the quick one queues behind it.
        await invoker.call(quick)
        await asyncio.gather(first, second)
        return loop.time()

    assert run_virtual(main, clock) == 4.0
    assert order == [("slow", 1.0), ("slow", 3.0), ("quick", 4.0)]
