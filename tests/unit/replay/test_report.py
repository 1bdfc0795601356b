"""The replay report's journal and copy times, read from journal entries as the copier writes them."""

from __future__ import annotations

from copier_gui.core.journal import JournalEntry
from copier_gui.replay.report import copy_times, journal_report, report_bytes

START = 1_795_608_000.0


def entry(seq: int, at: float, kind: str, copy_id: str | None, message: str = "", **data) -> JournalEntry:
    return JournalEntry(seq, START + at, at, kind, "harbor", copy_id, message, data)


def test_a_copy_is_timed_from_its_first_attempt_to_its_fill():
    entries = [
        # A requote answered at 1.3 s after a 0.3 s trip; the retry answered at 2.0 s after 0.5 s.
        entry(1, 1.3, "request", "c1", "open buy 0.1 EURUSD"),
        entry(2, 1.3, "result", "c1", "requoted", broker_ms=300.0),
        entry(3, 2.0, "request", "c1", "open buy 0.1 EURUSD"),
        entry(4, 2.0, "result", "c1", "filled", broker_ms=500.0),
        entry(5, 2.0, "info", "c1", "copied open", metrics={}),
        # The same copy ID again later (a close of the same leg) starts afresh.
        entry(6, 9.0, "result", "c1", "filled", broker_ms=1000.0),
        entry(7, 9.0, "info", "c1", "copied close", metrics={}),
    ]
    copies = [{"copy_id": "c1", "action": "open"}, {"copy_id": "c1", "action": "close"},
              {"copy_id": "never", "action": "open"}]
    timed = copy_times(entries, copies, START)
    assert [(c["request_sent_at_s"], c["fill_received_at_s"]) for c in timed] == [(1.0, 2.0), (8.0, 9.0),
                                                                                  (None, None)]
    assert timed[0]["action"] == "open"


def test_the_journal_section_keeps_what_a_reader_needs():
    entries = [entry(1, 0.25, "state", None, "harbor connected", state="connected")]
    assert journal_report(entries, START) == [
        {"at_s": 0.25, "account": "harbor", "kind": "state", "copy_id": None, "text": "harbor connected"}]


def test_report_bytes_are_stable():
    report = {"b": 1.23456789, "a": [0.1 + 0.2]}
    assert report_bytes(report) == b'{\n  "a": [\n    0.3\n  ],\n  "b": 1.234568\n}\n'
