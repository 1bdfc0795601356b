"""Python's garbage collector waits while a fan-out hands every slave its request.

A fan-out to a hundred slaves allocates enough (plans, steps, requests, futures) to set off the
young generation's collection five times or so, now and then an older one: 1.7-1.9 ms, about a
sixth of the time to the last slave's hand-over, and more when an older generation's falls there.
Paused for the passes of one master change and the writes they queue, the collector catches up
once they are out; reference counting still frees everything meanwhile, so only cycles wait, for
a turn or two of the loop.
"""

from __future__ import annotations

import asyncio
import gc


def hold_collector(loop: asyncio.AbstractEventLoop) -> None:
    """Pause the collector until the passes started in this turn have run and their writes are out.

    Call it right after the passes' tasks are created: they run on the loop's next turn and queue
    their writes for the one after, and the collector resumes behind those. A collector paused
    already (a fan-out still in flight, or whoever runs the copier) is left as it is.
    """
    global _held
    if not gc.isenabled():
        return
    gc.disable()
    _held = True
    loop.call_soon(_after_the_passes, loop)


def release_collector() -> None:
    """Turn the collector on again if a fan-out paused it: a copier stopping (or its loop ending)
    before the resume was reached must not leave the process without one."""
    global _held
    if _held:
        _held = False
        gc.enable()


def _after_the_passes(loop: asyncio.AbstractEventLoop) -> None:
    # The passes ran ahead of this callback, in this turn; the writes they queued run next turn.
    loop.call_soon(release_collector)


_held = False  # the collector is off because a fan-out paused it
