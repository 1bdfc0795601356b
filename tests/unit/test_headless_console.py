"""What headless mode prints: every copy and refusal, and a terminal's retry loop only once."""

from __future__ import annotations


def test_the_console_shows_a_retry_loop_once_but_every_return_and_every_new_outage():
    from copier_gui.clock import VirtualClock
    from copier_gui.core.executor import Notice
    from copier_gui.headless import ConsoleLines

    clock = VirtualClock(0.0)
    lines = ConsoleLines(clock)

    def state(text: str, value: str) -> bool:
        clock.advance(1.0)
        return lines.wants(Notice("state", "harbor", f"harbor {text}", state=value))

    down = "disconnected: no connection"
    assert [state("connecting", "connecting"), state(down, "disconnected")] == [True, True]
    assert [state("connecting", "connecting"), state(down, "disconnected")] == [False, False]  # the same loop
    assert state("connected", "connected")  # back: always shown
    assert state(down, "disconnected"), "a new outage after a return is shown, or 'connected' would be stale"
    assert not state("connecting", "connecting")
    clock.advance(60.0)
    assert state("connecting", "connecting"), "shown again after a quiet minute"
    assert lines.wants(Notice("copy", "harbor", "open 0.1 EURUSD.m"))
