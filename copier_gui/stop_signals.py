"""Every way a person or the system asks the headless copier to stop, turned into one callback.

On Linux and macOS: Ctrl-C (SIGINT), ``systemctl stop`` and ``kill`` (SIGTERM), and a closed SSH
session or terminal (SIGHUP). On Windows the console sends control events instead of signals, and
asyncio cannot watch them: Ctrl-C, Ctrl-Break, closing the console window, logging off and shutting
down arrive on a thread of their own through ``SetConsoleCtrlHandler``. Windows ends the process
as soon as the handler returns from a close, logoff or shutdown event (and after about 5 seconds
regardless), so the handler waits there until the copier has stopped in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

# Windows console control events (wincon.h).
CTRL_C_EVENT = 0
CTRL_BREAK_EVENT = 1
CTRL_CLOSE_EVENT = 2
CTRL_LOGOFF_EVENT = 5
CTRL_SHUTDOWN_EVENT = 6
WINDOWS_EVENTS = {CTRL_C_EVENT: "Ctrl-C", CTRL_BREAK_EVENT: "Ctrl-Break", CTRL_CLOSE_EVENT: "console closed",
                  CTRL_LOGOFF_EVENT: "user logged off", CTRL_SHUTDOWN_EVENT: "system shutting down"}
# Events after which Windows ends the process once the handler returns.
_FINAL_EVENTS = (CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT, CTRL_SHUTDOWN_EVENT)
# Windows allows a console close about 5 seconds; leave a margin for the process to exit.
CLOSE_GRACE_S = 4.5

POSIX_SIGNALS = {"SIGINT": "Ctrl-C", "SIGTERM": "asked to stop (SIGTERM)", "SIGHUP": "terminal closed (SIGHUP)"}


class StopSignals:
    """Calls ``on_stop(why)`` on the loop the first time any stop request arrives.

    ``install`` when the copier starts, ``stopped`` once it has stopped in order (which lets a
    waiting Windows handler return), ``remove`` at the end. ``kernel32`` and ``handler_type`` stand
    in for ctypes' on other systems, for tests.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, on_stop: Callable[[str], None], *,
                 platform: str = sys.platform, kernel32: Any = None, handler_type: Any = None) -> None:
        self.loop = loop
        self.on_stop = on_stop
        self.platform = platform
        self.reason: str | None = None
        self._kernel32 = kernel32
        self._handler_type = handler_type
        self._routine: Any = None  # kept alive for as long as Windows may call it
        self._done = threading.Event()
        self._posix: list[int] = []

    def install(self) -> None:
        if self.platform == "win32":
            self._install_windows()
            return
        for name, why in POSIX_SIGNALS.items():
            number = getattr(signal, name, None)
            if number is None:
                continue
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                self.loop.add_signal_handler(number, self._fire, why)
                self._posix.append(number)

    def _fire(self, why: str) -> None:
        if self.reason is None:
            self.reason = why
            self.on_stop(why)

    def _install_windows(self) -> None:
        if self._kernel32 is None:
            import ctypes

            self._kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
            self._handler_type = ctypes.WINFUNCTYPE(ctypes.c_int, ctypes.c_uint)
        self._routine = self._handler_type(self._on_console_event)
        if not self._kernel32.SetConsoleCtrlHandler(self._routine, True):
            self._routine = None

    def _on_console_event(self, event: int) -> int:
        """Runs on a thread Windows starts for the event; True means handled here."""
        why = WINDOWS_EVENTS.get(event, f"console event {event}")
        with contextlib.suppress(RuntimeError):  # the loop already closed: nothing left to stop
            self.loop.call_soon_threadsafe(self._fire, why)
        if event in _FINAL_EVENTS:
            self._done.wait(CLOSE_GRACE_S)
        return 1

    def stopped(self) -> None:
        """The copier has stopped in order: a waiting console handler may let Windows end us."""
        self._done.set()

    def remove(self) -> None:
        for number in self._posix:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                self.loop.remove_signal_handler(number)
        self._posix.clear()
        if self._routine is not None:
            self._kernel32.SetConsoleCtrlHandler(self._routine, False)
            self._routine = None
        self._done.set()
