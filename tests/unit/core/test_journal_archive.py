"""Journal archives: old entries move to a dated file, the history reads as one, nothing is lost."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copier_gui.core import journal_archive
from copier_gui.core.journal import Journal, JournalError, Kind
from copier_gui.core.journal_archive import (
    archive_before,
    archive_name,
    archives,
    cutoff_time,
    disk_size,
    export_csv,
    iter_entries,
    summarize,
)
from copier_gui.core.journal_schema import MIGRATIONS

DAY0 = dt.date(2026, 10, 1)
T0 = cutoff_time(DAY0)
DAY_S = 86400.0


class SettableClock:
    """Wall time the test sets, backwards too (a clock corrected by NTP); monotonic keeps rising."""

    def __init__(self, now: float) -> None:
        self.now = now
        self._mono = 0.0

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        self._mono += 0.001
        return self._mono

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _record(path: Path, walls: list[float]) -> list[tuple[int, float, str]]:
    """Record one entry per wall time; returns the oracle, what was recorded, in order."""
    clock = SettableClock(T0)
    recorded = []
    with Journal(path, clock) as j:
        for i, wall in enumerate(walls):
            clock.now = wall
            seq = j.record(Kind.INFO, f"entry {i}", account="a", n=i, text="x" * 200)
            recorded.append((seq, wall, f"entry {i}"))
    return recorded


def _contents(path: Path) -> list[tuple[int, float, str]]:
    return [(e.seq, e.wall, e.message) for e in iter_entries(path)]


def _split(recorded, day: dt.date):
    cut = cutoff_time(day)
    return [r for r in recorded if r[1] < cut], [r for r in recorded if r[1] >= cut]


walls_strategy = st.lists(st.floats(min_value=T0, max_value=T0 + 30 * DAY_S, allow_nan=False), max_size=60)
days_strategy = st.integers(min_value=0, max_value=31).map(lambda n: DAY0 + dt.timedelta(days=n))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(walls=walls_strategy, day=days_strategy, batch=st.integers(1, 7))
def test_archive_moves_exactly_the_older_entries(walls, day, batch):
    with tempfile.TemporaryDirectory() as tmp:
        live, folder = Path(tmp) / "journal.sqlite3", Path(tmp) / "journal-archive"
        recorded = _record(live, walls)
        older, newer = _split(recorded, day)

        result = archive_before(live, folder, day, clock=SettableClock(T0), batch_size=batch, pause_s=0)

        assert result.archive == folder / archive_name(day)
        assert (result.moved, result.already_archived) == (len(older), 0)
        assert _contents(result.archive) == older
        assert _contents(live) == newer
        # The history reads as one: archives first, each oldest (lowest seq) first.
        assert [(e.seq, e.wall, e.message) for e in iter_entries(live, archives(folder))] == older + newer
        # Data survives the move byte for byte.
        assert all(e.data["text"] == "x" * 200 for e in iter_entries(live, archives(folder)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(walls=walls_strategy, day=days_strategy, batch=st.integers(1, 5), crash_at=st.integers(0, 12),
       rerun_later=st.booleans())
def test_a_run_stopped_between_copy_and_delete_loses_and_duplicates_nothing(walls, day, batch, crash_at,
                                                                            rerun_later):
    class Crash(Exception):
        pass

    batches = 0

    def crash(_copied: int) -> None:
        nonlocal batches
        if batches == crash_at:
            raise Crash  # the batch is in the archive and still in the live journal
        batches += 1

    with tempfile.TemporaryDirectory() as tmp:
        live, folder = Path(tmp) / "journal.sqlite3", Path(tmp) / "journal-archive"
        recorded = _record(live, walls)
        older, _ = _split(recorded, day)
        with contextlib.suppress(Crash):
            archive_before(live, folder, day, clock=SettableClock(T0), batch_size=batch, pause_s=0,
                           after_copy=crash)
        # The rerun may pick a later date (another archive file): it still finds the leftovers.
        again = day + dt.timedelta(days=3) if rerun_later else day
        archive_before(live, folder, again, clock=SettableClock(T0), batch_size=batch, pause_s=0)

        history = [(e.seq, e.wall, e.message) for e in iter_entries(live, archives(folder))]
        assert sorted(history) == sorted(recorded)  # every entry exactly once
        moved_first = _contents(folder / archive_name(day)) if (folder / archive_name(day)).exists() else []
        assert sorted(moved_first) == sorted(older) or rerun_later
        cut = cutoff_time(again)
        assert _contents(live) == [r for r in recorded if r[1] >= cut]


def test_a_live_copier_keeps_writing_while_its_journal_is_archived(tmp_path):
    live, folder = tmp_path / "journal.sqlite3", tmp_path / "journal-archive"
    recorded = _record(live, [T0 + i for i in range(3000)])
    clock = SettableClock(T0 + 40 * DAY_S)  # the running copier writes today's entries
    stop = threading.Event()
    during: list[int] = []
    with Journal(live, clock, batch_interval_s=0.005) as running:

        def copier() -> None:
            while not stop.is_set():
                during.append(running.record(Kind.INFO, "live", n=len(during)))
                time.sleep(0.0005)

        writer = threading.Thread(target=copier)
        writer.start()
        try:
            result = archive_before(live, folder, DAY0 + dt.timedelta(days=1), clock=clock, batch_size=100,
                                    pause_s=0.001)
        finally:
            stop.set()
            writer.join()
        running.flush()
        assert running.error is None
        assert [e.seq for e in running.entries(newest_first=False, kind=Kind.INFO) if e.message == "live"] == during

    assert result.moved == 3000
    assert len(during) > 10  # the copier really wrote during the archive
    assert _contents(result.archive) == recorded
    assert [e.seq for e in iter_entries(live)] == during


def test_the_file_shrinks_and_seq_keeps_rising_after_everything_is_archived(tmp_path):
    live, folder = tmp_path / "journal.sqlite3", tmp_path / "journal-archive"
    recorded = _record(live, [T0 + i for i in range(2000)])
    result = archive_before(live, folder, DAY0 + dt.timedelta(days=5), clock=SettableClock(T0), pause_s=0)
    assert result.moved == 2000
    assert result.size_after < result.size_before / 5
    assert disk_size(live) == result.size_after
    # A copier restarted on the emptied journal carries on after the archived seqs.
    with Journal(live, SettableClock(T0 + 10 * DAY_S)) as j:
        assert j.record(Kind.INFO, "after") == recorded[-1][0] + 1


def test_a_journal_without_incremental_vacuum_is_rebuilt_once_and_shrinks(tmp_path):
    live, folder = tmp_path / "journal.sqlite3", tmp_path / "journal-archive"
    _record(live, [T0 + i for i in range(2000)])
    conn = sqlite3.connect(live, isolation_level=None)
    conn.execute("PRAGMA auto_vacuum=NONE")
    conn.execute("VACUUM")  # as journals made before archiving existed are
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 0
    conn.close()
    result = archive_before(live, folder, DAY0 + dt.timedelta(days=5), clock=SettableClock(T0), pause_s=0)
    assert result.size_after < result.size_before / 5
    conn = sqlite3.connect(live)
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
    conn.close()


def test_archiving_twice_to_the_same_date_appends(tmp_path):
    live, folder = tmp_path / "journal.sqlite3", tmp_path / "journal-archive"
    day = DAY0 + dt.timedelta(days=2)
    first = _record(live, [T0 + 1, T0 + 2])
    archive_before(live, folder, day, clock=SettableClock(T0), pause_s=0)
    second = _record(live, [T0 + 3])  # a copier whose clock was a day and more behind
    result = archive_before(live, folder, day, clock=SettableClock(T0), pause_s=0)
    assert result.moved == 1
    assert _contents(folder / archive_name(day)) == first + second
    assert [p.name for p in archives(folder)] == [archive_name(day)]


def test_summaries_and_export_read_the_archives_first(tmp_path):
    live, folder = tmp_path / "journal.sqlite3", tmp_path / "journal-archive"
    recorded = _record(live, [T0 + DAY_S * i for i in range(6)])
    archive_before(live, folder, DAY0 + dt.timedelta(days=2), clock=SettableClock(T0), pause_s=0)
    archive_before(live, folder, DAY0 + dt.timedelta(days=4), clock=SettableClock(T0), pause_s=0)
    paths = archives(folder)
    assert [p.name for p in paths] == ["journal-until-2026-10-03.sqlite3", "journal-until-2026-10-05.sqlite3"]
    first = summarize(paths[0])
    assert (first.count, first.oldest, first.newest) == (2, T0, T0 + DAY_S)
    assert first.size == paths[0].stat().st_size > 0
    assert summarize(live).count == 2

    out = tmp_path / "all.csv"
    assert export_csv(out, live, paths) == 6
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[0][0] == "seq"
    assert [int(r[0]) for r in rows[1:]] == [r[0] for r in recorded]
    assert export_csv(tmp_path / "live.csv", live) == 2


def test_a_damaged_archive_is_named_and_left_as_it_is(tmp_path):
    live, folder = tmp_path / "journal.sqlite3", tmp_path / "journal-archive"
    _record(live, [T0 + 1, T0 + DAY_S * 3])
    folder.mkdir()
    day = DAY0 + dt.timedelta(days=2)
    damaged = folder / archive_name(day)
    damaged.write_bytes(b"not a database\n" * 100)
    before = damaged.read_bytes()

    with pytest.raises(JournalError, match=str(damaged)) as caught:
        archive_before(live, folder, day, clock=SettableClock(T0), pause_s=0)
    assert "damaged" in str(caught.value)
    assert damaged.read_bytes() == before
    assert summarize(live).count == 2  # nothing left the live journal

    out = tmp_path / "out.csv"
    with pytest.raises(JournalError, match=str(damaged)):
        export_csv(out, live, archives(folder))
    assert not out.exists()
    # Another date's archive is refused too while a damaged one sits beside it: it might hold
    # entries the live journal still has, and the check for them cannot read it.
    with pytest.raises(JournalError, match=str(damaged)):
        archive_before(live, folder, day + dt.timedelta(days=1), clock=SettableClock(T0), pause_s=0)
    assert damaged.read_bytes() == before


def test_an_archive_from_a_newer_copier_is_refused(tmp_path):
    live, folder = tmp_path / "journal.sqlite3", tmp_path / "journal-archive"
    _record(live, [T0 + 1])
    folder.mkdir()
    newer = folder / archive_name(DAY0)
    conn = sqlite3.connect(newer)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (?)", (len(MIGRATIONS) + 1,))
    conn.commit()
    conn.close()
    with pytest.raises(JournalError, match="newer copier_gui"):
        list(iter_entries(live, archives(folder)))


def test_a_new_journal_reclaims_space_incrementally(tmp_path):
    live = tmp_path / "journal.sqlite3"
    with Journal(live, SettableClock(T0)):
        pass
    conn = sqlite3.connect(live)
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
    conn.close()


def test_disk_size_counts_the_write_ahead_log(tmp_path):
    assert disk_size(tmp_path / "missing.sqlite3") == 0
    live = tmp_path / "journal.sqlite3"
    with Journal(live, SettableClock(T0)) as j:
        j.record(Kind.INFO, "x")
        j.flush()
        wal = live.with_name(live.name + "-wal")
        assert disk_size(live) == live.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def test_archive_batch_size_must_be_positive(tmp_path):
    with pytest.raises(ValueError):
        journal_archive.archive_before(tmp_path / "j", tmp_path, DAY0, clock=SettableClock(T0), batch_size=0)
