"""Python's garbage collector waits while a fan-out hands every slave its request.

A fan-out to a hundred slaves allocates enough (plans, steps, requests, futures) to set off the
young generation's collection five times or so, now and then an older one: 1.7-2 ms of a fan-out
to 100 worker slaves, and 10-20 ms when a full collection falls there (the worst fan-outs of a
run). Paused for the passes of one master change and the writes they queue, the collector catches
up once they are out; reference counting still frees everything meanwhile, so only cycles wait, for
a turn or two of the loop.

A pause must never outlive its fan-out: a process without a collector grows until everything in
it slows down, far from the cause. The loop's own turns end the pause; if they never come (the
loop was stopped or closed in between, a copier abandoned), a keeper thread ends it after
``LONGEST_PAUSE_S``, and a copier stopping ends it at once.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time

LONGEST_PAUSE_S = 0.5  # far above a fan-out (tens of ms), far below a pause anyone would notice
_KEEPER_BEAT_S = 0.25

_lock = threading.Lock()
_held_at: float | None = None  # monotonic time the collector was paused by a fan-out; None if not
_keeper: threading.Thread | None = None


def hold_collector(loop: asyncio.AbstractEventLoop) -> None:
    """Pause the collector until the passes started in this turn have run and their writes are out.

    Call it right after the passes' tasks are created: they run on the loop's next turn and queue
    their writes for the one after, and the collector resumes behind those. A collector paused
    already by someone else (whoever runs the copier) is left as it is; one this module paused
    (a fan-out still in flight) stays paused, with its time to resume pushed back.
    """
    global _held_at
    with _lock:
        if _held_at is None and not gc.isenabled():
            return
        gc.disable()
        _held_at = time.monotonic()
        _keep()
    loop.call_soon(_after_the_passes, loop)


def release_collector() -> None:
    """Turn the collector on again if a fan-out paused it (no-op otherwise)."""
    global _held_at
    with _lock:
        if _held_at is not None:
            _held_at = None
            gc.enable()


def collector_held() -> bool:
    """Whether a fan-out holds the collector paused now."""
    return _held_at is not None


def _after_the_passes(loop: asyncio.AbstractEventLoop) -> None:
    # The passes ran ahead of this callback, in this turn; the writes they queued run next turn.
    loop.call_soon(release_collector)


def _keep() -> None:
    # Started once, on the first pause; it wakes a few times a second and only looks at a clock,
    # so it does not compete with the loop for the interpreter.
    global _keeper
    if _keeper is None or not _keeper.is_alive():
        _keeper = threading.Thread(target=_keeper_loop, name="collector-keeper", daemon=True)
        _keeper.start()


def _keeper_loop() -> None:
    global _held_at
    while True:
        time.sleep(_KEEPER_BEAT_S)
        with _lock:
            if _held_at is not None and time.monotonic() - _held_at > LONGEST_PAUSE_S:
                _held_at = None
                gc.enable()
