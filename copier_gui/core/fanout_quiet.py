"""Background work waits while a fan-out hands every slave its request.

Two kinds of work in the core's process compete with a fan-out for the interpreter, and neither
needs to run inside it:

- **Python's garbage collector.** A fan-out to a hundred slaves allocates enough (plans, steps,
  requests, futures) to set off the young generation's collection five times or so, now and then
  an older one: 1.7-2 ms of a fan-out to 100 worker slaves, and 10-20 ms when a full collection
  falls there (the worst fan-outs of a run). Paused for the passes of one master change and the
  writes they queue, the collector catches up once they are out; reference counting still frees
  everything meanwhile, so only cycles wait, for a turn or two of the loop.
- **The journal's writer thread.** It wakes every 50 ms and commits what was recorded; in about
  half of the fan-outs to 100 worker slaves it fell inside the window, took 2-7 ms of CPU there and
  made the loop wait for the interpreter's lock at each of its SQLite steps. The entries sit in
  memory either way, so waiting for the requests to be out loses nothing (``wait_while_held``).

A hold must never outlive its fan-out: a process without a collector grows until everything in
it slows down, far from the cause, and a journal that never writes loses what a crash takes. The
loop's own turns end the hold; if they never come (the loop was stopped or closed in between, a
copier abandoned), a keeper thread ends it after ``LONGEST_PAUSE_S``, and a copier stopping ends
it at once.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time

LONGEST_PAUSE_S = 0.5  # far above a fan-out (tens of ms), far below a pause anyone would notice
_KEEPER_BEAT_S = 0.25

_lock = threading.Lock()
_held_at: float | None = None  # monotonic time a fan-out began holding; None if none holds
_paused_collector = False  # whether the hold turned the collector off (it was on before)
_released = threading.Event()  # set while no fan-out holds: what background threads wait on
_released.set()
_keeper: threading.Thread | None = None


def hold(loop: asyncio.AbstractEventLoop) -> None:
    """Hold background work until the passes started in this turn have run and their writes are out.

    Call it right after the passes' tasks are created: they run on the loop's next turn and queue
    their writes for the one after, and the hold ends behind those. A collector paused already by
    someone else (whoever runs the copier) is left as it is; a hold still in flight (an earlier
    fan-out) is renewed, with its end pushed back.
    """
    global _held_at, _paused_collector
    with _lock:
        if _held_at is None:
            _paused_collector = gc.isenabled()
        if _paused_collector:
            gc.disable()
        _held_at = time.monotonic()
        _released.clear()
        _keep()
    loop.call_soon(_after_the_passes, loop)


def release() -> None:
    """End a fan-out's hold, if one is in flight (no-op otherwise)."""
    with _lock:
        _end()


def held() -> bool:
    """Whether a fan-out holds background work now."""
    return _held_at is not None


def wait_while_held(timeout: float = LONGEST_PAUSE_S) -> bool:
    """For a background thread: block while a fan-out holds, at most ``timeout`` seconds (the
    keeper ends any hold within about ``LONGEST_PAUSE_S`` anyway). True once none holds."""
    return _released.wait(timeout)


def _end() -> None:
    global _held_at, _paused_collector
    if _held_at is not None:
        _held_at = None
        if _paused_collector:
            _paused_collector = False
            gc.enable()
        _released.set()


def _after_the_passes(loop: asyncio.AbstractEventLoop) -> None:
    # The passes ran ahead of this callback, in this turn; the writes they queued run next turn.
    loop.call_soon(release)


def _keep() -> None:
    # Started once, on the first hold; it wakes a few times a second and only looks at a clock,
    # so it does not compete with the loop for the interpreter.
    global _keeper
    if _keeper is None or not _keeper.is_alive():
        _keeper = threading.Thread(target=_keeper_loop, name="fanout-hold-keeper", daemon=True)
        _keeper.start()


def _keeper_loop() -> None:
    while True:
        time.sleep(_KEEPER_BEAT_S)
        with _lock:
            if _held_at is not None and time.monotonic() - _held_at > LONGEST_PAUSE_S:
                _end()
