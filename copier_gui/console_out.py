"""Lines for a console whose reader may go away.

Headless mode prints a line per copy to standard output, which on a VPS is often a pipe (`| tee`,
a log shipper) or an SSH session's terminal. When its reader ends, every write raises
(BrokenPipeError, or EIO from a terminal that hung up). The copier must not care:
it goes on copying, and everything it prints is in the journal anyway. So the first failed write
is logged once, later lines are dropped, and the stream is pointed at the null device so that
Python's own flush at exit does not print a traceback either.
"""

from __future__ import annotations

import logging
import os
from typing import TextIO

log = logging.getLogger(__name__)


class ConsoleOut:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.gone = False

    def line(self, text: str) -> None:
        if self.gone:
            return
        try:
            print(text, file=self.stream, flush=True)
        except (OSError, ValueError) as exc:  # a pipe's reader gone, a terminal hung up (EIO), a closed file
            if isinstance(exc, ValueError) and not getattr(self.stream, "closed", False):
                raise  # a line it cannot encode is a fault of ours, not a reader gone
            self.gone = True
            log.warning("the console's reader went away (%s): its lines are no longer printed; copying goes "
                        "on, and the journal keeps every copy", exc.__class__.__name__)
            silence(self.stream)


def silence(stream: TextIO) -> None:
    """Point ``stream``'s file descriptor at the null device, so a write still buffered in it (flushed
    at exit) cannot fail again."""
    try:
        fd = stream.fileno()
    except (OSError, ValueError):
        return  # not a real file (a StringIO in tests): nothing flushes it at exit
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)
