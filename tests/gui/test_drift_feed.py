"""The drift view's feed: it reads only what is new in the journal, in chunks, off the calling
thread, and values open trades at live marks over the journal's own."""

from __future__ import annotations

import pytest

from copier_gui.core.journal import Journal
from copier_gui.ui.drift_feed import DriftFeed
from tests.unit.reports.journals import T0, HandJournal, two_slaves


class SetClock:
    """A clock the test sets to each entry's time, backwards too (the hand journal is not sorted)."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        pass


def copy_into(journal: Journal, clock: SetClock, entries) -> None:
    """Record hand-made entries into a real journal, each at its own time."""
    for e in entries:
        clock.now = e.wall
        journal.record(e.kind, e.message, account=e.account, **e.data)
    journal.flush()


@pytest.fixture
def journal(tmp_path):
    clock = SetClock()
    with Journal(tmp_path / "journal.sqlite3", clock) as j:
        j.test_clock = clock
        yield j


def test_each_round_reads_only_the_entries_after_the_last_one_in_chunks(journal):
    entries = two_slaves().entries
    copy_into(journal, journal.test_clock, entries[:10])
    feed = DriftFeed(journal, chunk=4, round_limit=8)
    try:
        assert feed.start_round(start=None, end=T0 + 4000, compute=False)
        assert not feed.start_round(start=None, end=T0 + 4000)  # one round at a time
        first = feed.wait()
        # Eight per round at most: the rest waits for the next round, which the view starts at once.
        assert list(feed.reads) == [(0, 4), (4, 4)] and not first.caught_up and first.entries == 8
        feed.start_round(start=None, end=T0 + 4000, compute=False)
        assert feed.wait().caught_up and list(feed.reads)[2:] == [(8, 2)]

        copy_into(journal, journal.test_clock, entries[10:13])
        feed.start_round(start=None, end=T0 + 4000, compute=False)
        assert feed.wait().entries == 13 and list(feed.reads)[3:] == [(10, 3)]
        feed.start_round(start=None, end=T0 + 4000, compute=False)
        assert feed.wait().entries == 13 and list(feed.reads)[4:] == [(13, 0)]  # nothing new, nothing read

        copy_into(journal, journal.test_clock, entries[13:])
        rounds = 0
        while True:
            feed.start_round(start=T0, end=T0 + 4000)
            figures = feed.wait()
            rounds += 1
            if figures.caught_up:
                break
        assert rounds == 2 and figures.entries == len(entries)
        # Fed in six rounds, the figures are those of the whole journal folded at once.
        whole = two_slaves().drifts(start=T0, end=T0 + 4000)
        assert figures.computed and figures.slaves == ["s1", "s2"]
        assert {s: d.as_json() for s, d in figures.drifts.items()} == {s: d.as_json() for s, d in whole.items()}
    finally:
        feed.close()


def test_live_marks_value_open_trades_over_the_journaled_ones(journal):
    copy_into(journal, journal.test_clock, two_slaves().entries)
    feed = DriftFeed(journal)
    try:
        feed.start_round(start=T0, end=T0 + 4000)
        journaled = feed.wait().drifts["s1"].attribution
        live = {"master": {"EURUSD": {"sell": 1.10000}}, "s1": {"EURUSD.m": {"sell": 1.10010}}}
        feed.start_round(start=T0, end=T0 + 4000, marks=live)
        valued = feed.wait().drifts["s1"].attribution
    finally:
        feed.close()
    # The open sell (#4): 1 lot, master 1.10200 -> 1.10000, slave 1.10195 -> 1.10010.
    assert journaled.parts["exit_price"] == pytest.approx(-5.0 - 4.0)
    assert valued.parts["exit_price"] == pytest.approx(-5.0 - 10.0)
    assert valued.ideal - journaled.ideal == pytest.approx(100.0)


def test_a_journal_that_cannot_be_read_is_a_message_not_an_exception(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite3", SetClock())
    journal.close()
    feed = DriftFeed(journal)
    try:
        feed.start_round(start=None, end=T0)
        figures = feed.wait()
    finally:
        feed.close()
    assert not figures.computed and figures.error.startswith("the journal cannot be read: ")
    assert "closed" in figures.error


def test_a_period_ending_now_takes_in_a_copy_journaled_while_the_round_read(journal):
    # The window's rounds end their period at "now", then read: a copy that filled in between is
    # after the end. Ending now, the period reaches the last entry read and values the copy.
    j = HandJournal()
    j.start({"s1": "USD"})
    j.master(60, 1, "opened", price_open=1.1)
    j.fill(60.2, "s1", 1, "open", volume=1.0, price=1.1, ideal=1.0, sized=1.0, master_volume=1.0)
    copy_into(journal, journal.test_clock, j.entries)
    live = {"master": {"EURUSD": {"buy": 1.1001}}, "s1": {"EURUSD.m": {"buy": 1.1001}}}
    feed = DriftFeed(journal)
    try:
        feed.start_round(start=T0, end=T0 + 60.1, marks=live)
        fixed = feed.wait()
        feed.start_round(start=T0, end=T0 + 60.1, marks=live, now=True)
        now = feed.wait()
    finally:
        feed.close()
    assert fixed.end == T0 + 60.1 and fixed.drifts["s1"].unvalued == [
        "master #1 EURUSD: s1's copy of it was still on its way at the period's end"]
    assert T0 + 60.2 < now.end < T0 + 60.21
    assert now.drifts["s1"].unvalued == [] and [t.status for t in now.drifts["s1"].trades] == ["open"]
