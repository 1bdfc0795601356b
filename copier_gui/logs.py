"""Logging to a rotating file in the user folder's ``logs/``, for the window and headless mode.

The windowed Windows build has no console, so warnings (a lost worker, a journal entry not saved)
must land in a file the trader can open. Records go through a queue: the event loop only enqueues,
and a listener thread does the file I/O, so a slow disk never stalls copying. Passwords never reach
a log: connectors log messages, not requests' credentials.
"""

from __future__ import annotations

import logging
import logging.handlers
import queue
from dataclasses import dataclass

from copier_gui.paths import UserPaths

LOG_FILE = "copier_gui.log"
LEVELS = ("debug", "info", "warning", "error")
# A VPS runs for months: five files of 5 MB keep weeks of warnings and cap the folder at 30 MB.
MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)-7s %(processName)s %(name)s: %(message)s"


@dataclass
class LogSetup:
    """The installed queue handler and its listener; ``close()`` flushes and detaches both."""

    handler: logging.Handler
    listener: logging.handlers.QueueListener
    path: str
    previous_level: int = logging.WARNING

    def close(self) -> None:
        self.listener.stop()
        root = logging.getLogger()
        root.removeHandler(self.handler)
        root.setLevel(self.previous_level)
        for handler in self.listener.handlers:
            handler.close()


def configure_logging(paths: UserPaths, level: str = "info") -> LogSetup:
    """Send the process's log records at ``level`` and above to ``logs/copier_gui.log``."""
    if level not in LEVELS:
        raise ValueError(f"unknown log level {level!r} (choose from {', '.join(LEVELS)})")
    paths.logs_dir.mkdir(parents=True, exist_ok=True)
    path = paths.logs_dir / LOG_FILE
    file_handler = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                                        encoding="utf-8", delay=True)
    file_handler.setFormatter(logging.Formatter(FORMAT))
    records: queue.SimpleQueue = queue.SimpleQueue()
    handler = logging.handlers.QueueHandler(records)
    listener = logging.handlers.QueueListener(records, file_handler, respect_handler_level=False)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper()))
    listener.start()
    return LogSetup(handler, listener, str(path), previous)
