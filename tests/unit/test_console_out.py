"""ConsoleOut: a console whose reader goes away costs one log line, never an exception."""

from __future__ import annotations

import io
import logging
import os

import pytest

from copier_gui.console_out import ConsoleOut, silence


class Gone(io.StringIO):
    def __init__(self, error: Exception, after: int = 0) -> None:
        super().__init__()
        self.error, self.left = error, after

    @property
    def closed(self) -> bool:  # as a file closed under the writer reports
        return self.left <= 0 and isinstance(self.error, ValueError) and "closed" in str(self.error)

    def write(self, text: str) -> int:
        if self.left <= 0:
            raise self.error
        self.left -= 1
        return super().write(text)


@pytest.mark.parametrize("error", [BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset"),
                                   OSError(5, "Input/output error"), ValueError("I/O operation on closed file")])
def test_the_first_failed_line_is_logged_once_and_later_lines_are_dropped(caplog, error):
    stream = Gone(error, after=2)  # a line is two writes: the text and its end
    console = ConsoleOut(stream)
    with caplog.at_level(logging.WARNING, logger="copier_gui.console_out"):
        console.line("first")
        for n in range(5):
            console.line(f"after {n}")
    assert stream.getvalue() == "first\n"
    assert console.gone
    assert [r.getMessage() for r in caplog.records] == [
        f"the console's reader went away ({type(error).__name__}): its lines are no longer printed; copying goes "
        "on, and the journal keeps every copy"]


def test_another_error_is_not_taken_for_a_reader_gone():
    console = ConsoleOut(Gone(UnicodeEncodeError("ascii", "é", 0, 1, "no")))
    with pytest.raises(UnicodeEncodeError):
        console.line("é")
    assert not console.gone


def test_silence_points_the_descriptor_at_the_null_device(tmp_path):
    read, write = os.pipe()
    os.close(read)
    with os.fdopen(write, "w") as stream:
        silence(stream)
        stream.write("x" * 100_000)
        stream.flush()  # would raise BrokenPipeError on the pipe


def test_silence_leaves_a_stream_without_a_descriptor_alone():
    silence(io.StringIO())
