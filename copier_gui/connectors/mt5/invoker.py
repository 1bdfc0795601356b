"""Where the blocking MetaTrader5 calls of one terminal run, so the core's event loop never waits.

The package talks to its terminal over one pipe and is not thread-safe, so every call for a terminal
goes through one invoker: a single worker thread live; on virtual time (replay, tests) the call runs
on the loop, inline or with its latency passing on the loop's clock, because a thread would make the
order of events depend on the scheduler.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from copier_gui.core.model import ExecutionReport


class Invoker(Protocol):
    async def call(self, fn, *args, **kwargs) -> Any:
        """Run ``fn(*args, **kwargs)`` and return its result (or raise its exception)."""

    def close(self) -> None: ...


class ThreadInvoker:
    """Runs every call on one dedicated worker thread; awaiting never blocks the loop.

    One invoker per terminal: calls to that terminal are serialized (the package needs that) while
    different terminals run in parallel. Cancelling an await does not stop a call already running:
    an order_send in flight completes, and the next snapshot shows what it did.
    """

    def __init__(self, name: str = "mt5") -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def call(self, fn, *args, **kwargs) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        # Not waiting: close() may be called from the loop, and a stuck terminal call must not
        # freeze the application's shutdown with it. Queued calls that never started are dropped.
        self._executor.shutdown(wait=False, cancel_futures=True)


class InlineInvoker:
    """Runs every call directly in the caller, for deterministic replay and tests on virtual time."""

    async def call(self, fn, *args, **kwargs) -> Any:
        return fn(*args, **kwargs)

    def close(self) -> None:
        pass


def _no_latency(fn) -> float:
    return 0.0


class VirtualLatencyInvoker:
    """Runs calls on the loop and lets each call's latency pass on the loop's (virtual) clock.

    ``latency(fn)`` gives the seconds a call takes, drawn when the call reaches the terminal. The
    first ``request_share`` of it passes before the call takes effect (the request travelling), the
    rest after (the answer coming back). Meanwhile the loop goes on: other accounts, the master
    and faults do not wait, so a master close can come while a slave's open is in flight.

    One pipe per terminal, as with the real package: calls are served one at a time, in order.
    Cancelling a caller does not recall a request that has reached the pipe: the call completes at
    its time, and only its answer is lost, as when a process dies between a send and its
    bookkeeping.
    """

    def __init__(self, latency: Callable[[Callable[..., Any]], float] = _no_latency, *,
                 request_share: float = 0.5) -> None:
        if not 0.0 <= request_share <= 1.0:
            raise ValueError(f"request_share must be between 0 and 1, got {request_share}")
        self._latency = latency
        self._request_share = request_share
        self._pipe = asyncio.Lock()
        self._flights: set[asyncio.Task] = set()

    async def call(self, fn, *args, **kwargs) -> Any:
        delay = None
        if not self._flights:
            # The pipe is idle, so this call is next; drawn now, as it reaches the terminal.
            delay = self._latency(fn)
            if delay <= 0:
                # The common case: nothing to wait for, and no task to pay for.
                return fn(*args, **kwargs)
        flight = asyncio.get_running_loop().create_task(self._fly(delay, fn, args, kwargs))
        self._flights.add(flight)
        flight.add_done_callback(self._landed)
        return await asyncio.shield(flight)

    async def _fly(self, delay: float | None, fn, args, kwargs) -> Any:
        async with self._pipe:
            if delay is None:
                # Drawn only now that the call reaches the terminal: the faults of this moment.
                delay = self._latency(fn)
            there = delay * self._request_share
            back = delay - there
            if there > 0:
                await asyncio.sleep(there)
            result = fn(*args, **kwargs)
            if back > 0:
                await asyncio.sleep(back)
        if isinstance(result, ExecutionReport) and result.extra.get("sent"):
            # The connector stamped the send and the answer as the call ran, at once on the loop;
            # seen from the caller, the request left a trip earlier and the answer came a trip later.
            result = dataclasses.replace(result, sent_at=result.sent_at - there, received_at=result.received_at + back)
        return result

    def _landed(self, flight: asyncio.Task) -> None:
        self._flights.discard(flight)
        if not flight.cancelled():
            # A caller that was cancelled is not there to read an error; retrieving it here keeps
            # asyncio from reporting it as never retrieved.
            flight.exception()

    @property
    def in_flight(self) -> int:
        """Calls sent and not yet answered."""
        return len(self._flights)

    def close(self) -> None:
        # Calls in flight finish on their own: a request that left cannot be called back.
        pass
