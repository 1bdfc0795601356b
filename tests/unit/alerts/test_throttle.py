"""Throttling: a burst becomes one message and one digest; an hourly cap holds the rest."""

from __future__ import annotations

from copier_gui.alerts.classify import Alert
from copier_gui.alerts.messages import render
from copier_gui.alerts.throttle import Throttle


def refusal(n: int, account: str = "s1") -> Alert:
    return Alert("refusal", "refusal", account, f"{account}: trade not copied", f"skipped #{n}", 1_700_000_000.0 + n)


def test_ten_refusals_in_a_burst_are_one_message_and_one_digest():
    throttle = Throttle(window_s=300, max_per_hour=30)
    released = [throttle.admit(refusal(n), now=n * 0.1) for n in range(10)]
    first = [r for r in released if r is not None]
    assert [r.alert.text for r in first] == ["skipped #0"]
    assert throttle.due(now=299.0) == []  # the window is still open
    digests = throttle.due(now=300.5)
    assert [(d.more, d.alert.text) for d in digests] == [(9, "skipped #9")]
    message = render(digests[0])
    assert message.subject == "s1: 9 more refusals"
    assert message.body.startswith("and 9 more refusals for s1 in the last 5 minutes; the latest")
    assert "skipped #9" in message.body
    assert throttle.due(now=1000.0) == []  # nothing more came: no further digest


def test_windows_are_per_account_and_per_topic():
    throttle = Throttle(window_s=60, max_per_hour=30)
    assert throttle.admit(refusal(1, "s1"), 0) is not None
    assert throttle.admit(refusal(2, "s2"), 0) is not None
    failure = Alert("failure", "failure", "s1", "s1: failure", "failed: no money", 0)
    assert throttle.admit(failure, 0) is not None
    assert throttle.admit(refusal(3, "s1"), 1) is None


def test_a_steady_stream_stays_at_one_message_per_window():
    throttle = Throttle(window_s=10, max_per_hour=1000)
    sent = 0
    for second in range(100):
        sent += throttle.admit(refusal(second), second) is not None
        sent += len(throttle.due(second))
    assert sent <= 11


def test_the_hourly_cap_drops_and_counts_then_says_so():
    throttle = Throttle(window_s=1, max_per_hour=3)
    out = [throttle.admit(refusal(n, f"s{n}"), n) for n in range(5)]
    assert [r is not None for r in out] == [True, True, True, False, False]
    later = throttle.admit(refusal(9, "s9"), 3601.0)
    assert later is not None and later.capped == 2
    assert "2 earlier alert(s) were not sent" in render(later).body
