"""The virtual-time event loop: waits become clock jumps, in due order, the same on every run."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from copier_gui.clock import VirtualClock
from copier_gui.replay.virtual_loop import DeadlockError, VirtualTimeLoop, run_virtual

START = 1_795_608_000.0  # 2026-11-25 12:00 UTC


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


def test_an_hour_long_sleep_takes_no_wall_time(clock):
    async def main():
        loop = asyncio.get_running_loop()
        assert isinstance(loop, VirtualTimeLoop) and loop.time() == 0.0
        await asyncio.sleep(3600)
        return loop.time()

    began = time.perf_counter()
    assert run_virtual(main, clock) == 3600.0
    assert time.perf_counter() - began < 1.0
    assert clock.time() == START + 3600.0
    assert clock.monotonic() == 3600.0


def test_sleepers_wake_in_order(clock):
    events: list[tuple[float, str]] = []

    async def sleeper(name: str, seconds: float, times: int):
        for _ in range(times):
            await asyncio.sleep(seconds)
            events.append((asyncio.get_running_loop().time(), name))

    async def main():
        await asyncio.gather(sleeper("one", 1, 4), sleeper("two", 2, 2))

    run_virtual(main, clock)
    # Timers due at the same instant have no promised order among themselves (as in asyncio),
    # so compare each instant's wakers as a set.
    assert [t for t, _ in events] == [1, 2, 2, 3, 4, 4]
    by_time = {t: sorted(name for when, name in events if when == t) for t, _ in events}
    assert by_time == {1: ["one"], 2: ["one", "two"], 3: ["one"], 4: ["one", "two"]}


def test_gather_of_many_ends_at_the_longest(clock):
    rng = random.Random(20261125)
    durations = [rng.uniform(0.001, 500.0) for _ in range(100)]
    finished: list[float] = []

    async def sleeper(seconds: float):
        await asyncio.sleep(seconds)
        finished.append(asyncio.get_running_loop().time())

    async def main():
        await asyncio.gather(*(sleeper(d) for d in durations))

    run_virtual(main, clock)
    assert finished == sorted(finished)
    # Unix-second clocks near 2026 resolve about 0.24 us; each wake is within that of its due time.
    assert finished == pytest.approx(sorted(durations), abs=1e-6)
    assert clock.monotonic() == pytest.approx(max(durations), abs=1e-6)


def test_wait_for_times_out_on_virtual_time(clock):
    async def main():
        loop = asyncio.get_running_loop()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.sleep(10), timeout=2.5)
        timed_out_at = loop.time()
        value = await asyncio.wait_for(asyncio.sleep(1, result="done"), timeout=5)
        return timed_out_at, value, loop.time()

    assert run_virtual(main, clock) == (2.5, "done", 3.5)


def test_call_later_and_call_at(clock):
    seen: list[tuple[float, str]] = []

    async def main():
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        loop.call_later(5, lambda: seen.append((loop.time(), "later")))
        loop.call_at(3, lambda: seen.append((loop.time(), "at")))
        loop.call_later(7, done.set_result, None)
        await done

    run_virtual(main, clock)
    assert seen == [(3, "at"), (5, "later")]


def _trace(seed: int) -> list[tuple[float, str]]:
    """A busy little system: named tasks, queues, timeouts and cancellations, all on virtual time."""
    clock = VirtualClock(START)
    rng = random.Random(seed)
    events: list[tuple[float, str]] = []

    async def producer(name: str, queue: asyncio.Queue):
        for i in range(20):
            await asyncio.sleep(rng.expovariate(10))
            await queue.put(f"{name}:{i}")
            events.append((clock.monotonic(), f"{asyncio.current_task().get_name()} put {i}"))

    async def consumer(queue: asyncio.Queue):
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), timeout=0.3)
            except TimeoutError:
                events.append((clock.monotonic(), "consumer idle"))
                continue
            await asyncio.sleep(rng.uniform(0.0, 0.05))
            events.append((clock.monotonic(), f"consumer got {item}"))

    async def main():
        queue: asyncio.Queue = asyncio.Queue()
        reader = asyncio.create_task(consumer(queue), name="consumer")
        await asyncio.gather(
            *(asyncio.create_task(producer(f"p{i}", queue), name=f"producer-{i}") for i in range(5))
        )
        await asyncio.sleep(1)
        reader.cancel()
        return clock.monotonic()

    events.append((run_virtual(main, clock), "end"))
    return events


def test_runs_are_identical():
    first, second = _trace(7), _trace(7)
    assert len(first) > 200
    assert first == second
    assert _trace(8) != first


def test_a_task_waiting_for_nothing_is_a_clear_deadlock(clock):
    async def main():
        await asyncio.get_running_loop().create_future()

    with pytest.raises(DeadlockError, match="deadlock: nothing scheduled"):
        run_virtual(main, clock)


def test_executors_are_refused_with_a_reason(clock):
    async def main():
        with pytest.raises(RuntimeError, match="call connectors inline"):
            await asyncio.to_thread(sum, [1, 2])
        with pytest.raises(RuntimeError, match="virtual time"):
            await asyncio.get_running_loop().run_in_executor(None, sum, [1, 2])
        return "inline is fine"

    assert run_virtual(main, clock) == "inline is fine"


def test_a_blocking_call_that_moves_the_clock_moves_everyone(clock):
    # A simulated terminal's latency calls clock.sleep: the whole loop lives through that delay.
    async def main():
        loop = asyncio.get_running_loop()
        rang = loop.create_future()
        loop.call_later(1, lambda: rang.set_result(loop.time()))
        clock.sleep(5)
        assert loop.time() == 5
        return await rang  # due at 1 s, run as soon as the blocking call let go

    assert run_virtual(main, clock) == 5


def test_threadsafe_callbacks_still_arrive(clock):
    async def main():
        loop = asyncio.get_running_loop()
        got = loop.create_future()
        loop.call_soon_threadsafe(got.set_result, "woken")
        return await got

    assert run_virtual(main, clock) == "woken"


def test_the_loop_is_closed_even_when_the_coroutine_raises(clock):
    loops = []

    async def main():
        loops.append(asyncio.get_running_loop())
        await asyncio.sleep(2)
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        run_virtual(main, clock)
    assert loops[0].is_closed()
    assert clock.monotonic() == 2


def test_leftover_tasks_are_cancelled_at_the_end(clock):
    cancelled = []

    async def forever():
        try:
            await asyncio.sleep(1e9)
        except asyncio.CancelledError:
            cancelled.append(asyncio.get_running_loop().time())
            raise

    async def main():
        asyncio.get_running_loop().create_task(forever())
        await asyncio.sleep(10)

    run_virtual(main, clock)
    assert cancelled == [10]


def test_tiny_steps_still_make_progress(clock):
    async def main():
        for _ in range(1000):
            await asyncio.sleep(1e-8)  # far below the clock's float resolution
        return asyncio.get_running_loop().time()

    assert 0 < run_virtual(main, clock) < 1e-3
