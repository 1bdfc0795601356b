"""Ending a group of asyncio tasks in order: all asked at once, then each awaited."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable


async def cancel_and_wait(tasks: Iterable[asyncio.Task]) -> None:
    """Cancel every task, then wait for each to finish. A task failing as it ends is not this
    caller's concern (it reported its own failure when it happened), so nothing is raised."""
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
