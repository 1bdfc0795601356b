"""Where the blocking MetaTrader5 calls of one terminal run, so the core's event loop never waits.

The package talks to its terminal over one pipe and is not thread-safe, so every call for a terminal
goes through one invoker: a single worker thread live, or inline on the loop for replay on virtual
time, where a thread would make the order of events depend on the scheduler.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol


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
