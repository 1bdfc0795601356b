"""Journal archives: entries older than a date move to a dated file beside the live journal.

A copier runs for months and its journal grows by about 1.5 KB an entry. ``archive_before`` moves
old entries to ``journal-until-YYYY-MM-DD.sqlite3`` (same schema, so the same reader opens it) and
shrinks the live file; ``iter_entries`` and ``export_csv`` read archives and live file as one
history. Both run beside a copier writing to the same journal.

Safety rests on one order: a batch is committed and synced to the archive before the same rows are
deleted from the live file. A crash between the two leaves rows in both; the next run finds them
in an archive and deletes them from the live file without copying them again, so nothing is lost
and nothing is kept twice.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copier_gui.clock import Clock
from copier_gui.core.journal import COLUMNS, CSV_HEADER, JournalEntry, csv_row
from copier_gui.core.journal_schema import (
    ARCHIVED_MAX_SEQ,
    MIGRATIONS,
    JournalError,
    create_private_file,
    damaged_message,
    migrate,
    open_database,
    open_reader,
)

__all__ = [
    "ARCHIVE_FOLDER",
    "ArchiveResult",
    "FileSummary",
    "archive_before",
    "archive_folder",
    "archive_name",
    "archives",
    "cutoff_time",
    "disk_size",
    "export_csv",
    "format_size",
    "iter_entries",
    "summarize",
]

# The folder, beside the live journal, that holds its archives.
ARCHIVE_FOLDER = "journal-archive"
_PREFIX = "journal-until-"
_SUFFIX = ".sqlite3"
_INSERT = f"INSERT INTO entries ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
# An entry is identified by its content, not by its row id: SQLite hands out a deleted row's id
# again once the rows after it are gone too, and two journals on one file can share a seq. Two
# distinct entries equal in every column, the monotonic time to the microsecond included, would
# be indistinguishable in any export anyway.
_SAME_ENTRY = (
    "SELECT 1 FROM entries WHERE seq = ? AND wall = ? AND mono = ? AND kind = ? AND account = ? "
    "AND copy_id IS ? AND message = ? AND data = ? LIMIT 1"
)
# Pages freed per incremental-vacuum step: each step is one short write transaction.
_VACUUM_PAGES = 2048


@dataclass(frozen=True)
class FileSummary:
    """A journal or archive file: its size on disk (WAL included), entries and their time span."""

    path: Path
    size: int
    count: int
    oldest: float | None
    newest: float | None


@dataclass(frozen=True)
class ArchiveResult:
    archive: Path
    moved: int  # copied to the archive by this run and removed from the live journal
    already_archived: int  # left by an interrupted run: found in an archive, removed from live
    size_before: int
    size_after: int


def archive_folder(journal_path: Path) -> Path:
    return journal_path.parent / ARCHIVE_FOLDER


def format_size(size: int) -> str:
    """A file size as a trader reads it: "12.4 MB" (powers of 1024, as file managers count)."""
    if size < 1024:
        return f"{size} bytes"
    value = size / 1024
    for unit in ("KB", "MB"):
        if value < 1000:  # "1020.0 KB" reads worse than "1.0 MB"
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def cutoff_time(day: _dt.date) -> float:
    """The start of ``day`` in UTC as a Unix time: entries before it are archived."""
    return _dt.datetime.combine(day, _dt.time(0), _dt.UTC).timestamp()


def archive_name(day: _dt.date) -> str:
    return f"{_PREFIX}{day.isoformat()}{_SUFFIX}"


def archives(folder: Path) -> list[Path]:
    """The archive files in ``folder``, oldest first.

    Name order is time order: each archive holds what was older than its date and not already in
    an earlier one.
    """
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f"{_PREFIX}*{_SUFFIX}") if p.is_file())


def disk_size(path: Path) -> int:
    """Bytes the database takes on disk, its write-ahead log included; 0 if it does not exist."""
    total = 0
    for part in (path, path.with_name(path.name + "-wal")):
        with contextlib.suppress(OSError):
            total += part.stat().st_size
    return total


def summarize(path: Path) -> FileSummary:
    """Size, entry count and time span of a journal or archive; JournalError if it is damaged."""
    with _reading(path) as conn:
        count, oldest, newest = conn.execute(
            "SELECT COUNT(*), MIN(wall), MAX(wall) FROM entries"
        ).fetchone()
    return FileSummary(path, disk_size(path), count, oldest, newest)


# -- reading the whole history ------------------------------------------------------------------


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[sqlite3.Connection]:
    conn = open_reader(path)
    try:
        yield conn
    except sqlite3.DatabaseError as exc:  # a page damaged past the header shows up mid-read
        raise JournalError(damaged_message(str(path), exc)) from exc
    finally:
        conn.close()


def _rows(path: Path) -> Iterator[tuple[Any, ...]]:
    with _reading(path) as conn:
        # A cursor, not fetchall: a journal of millions of rows never sits in memory at once.
        yield from conn.execute(f"SELECT {COLUMNS} FROM entries ORDER BY seq ASC, id ASC")


def _history(journal_path: Path | None, archive_paths: Sequence[Path]) -> Iterator[tuple[Any, ...]]:
    # Every file is checked before the first row, so a damaged one is named before any output.
    files = [*archive_paths, *([journal_path] if journal_path is not None and journal_path.exists() else [])]
    for path in files:
        open_reader(path).close()
    for path in files:
        yield from _rows(path)


def iter_entries(journal_path: Path | None, archive_paths: Sequence[Path] = ()) -> Iterator[JournalEntry]:
    """Every entry, oldest first: the archives in the order given, then the live journal.

    Reads committed entries only (a running copier's queue is not flushed); ``journal_path`` None
    reads the archives alone.
    """
    for seq, wall, mono, kind, account, copy_id, message, data in _history(journal_path, archive_paths):
        yield JournalEntry(seq, wall, mono, kind, account, copy_id, message, json.loads(data))


def export_csv(out: Path, journal_path: Path | None, archive_paths: Sequence[Path] = ()) -> int:
    """Write the archives' entries and then the live journal's to a CSV file; return the row count.

    The same columns as :meth:`Journal.export_csv`. OSError if ``out`` cannot be written.
    """
    rows = _history(journal_path, archive_paths)
    first = next(rows, None)  # opens every file first: a damaged one stops us before ``out`` is touched
    count = 0
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_HEADER)
        if first is not None:
            writer.writerow(csv_row(first))
            count = 1
        for row in rows:
            writer.writerow(csv_row(row))
            count += 1
    return count


# -- archiving ----------------------------------------------------------------------------------


def _sync_folder(folder: Path) -> None:
    """Make a new file's name durable; folders cannot be opened this way on Windows."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _open_archive(path: Path, clock: Clock, backups_dir: Path) -> sqlite3.Connection:
    """The archive to append to, created if missing; an existing one is checked, never replaced."""
    existed = path.exists()
    if existed:
        open_reader(path).close()  # damaged or newer: JournalError naming it, and it stays as it is
    else:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        create_private_file(path)
        _sync_folder(path.parent)
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=5.0)
        # A rollback journal, not WAL: a closed archive is then one self-contained file. FULL
        # syncs each commit, so a batch is on disk before its rows leave the live journal.
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA synchronous=FULL")
        # An archive from an older copier is backed up before it migrates, like the journal; not
        # beside it, where the copy would pass for one more archive.
        migrate(conn, MIGRATIONS, name=str(path), db_path=path if existed else None,
                backups_dir=backups_dir, clock=clock)
    except sqlite3.Error as exc:
        raise JournalError(damaged_message(str(path), exc)) from exc
    return conn


class _ArchivedAlready:
    """Answers "is this entry in an archive already?" for the target and earlier archives.

    Only archives whose time span covers an entry's time are asked, so a normal run (nothing left
    over from a crash) costs one indexed lookup in the target per entry.
    """

    def __init__(self, target: sqlite3.Connection, others: Sequence[Path]) -> None:
        self._target = target
        self._others: list[tuple[float, float, sqlite3.Connection]] = []
        for path in others:
            conn = open_reader(path)
            oldest, newest = conn.execute("SELECT MIN(wall), MAX(wall) FROM entries").fetchone()
            if oldest is None:
                conn.close()
                continue
            self._others.append((oldest, newest, conn))

    def __call__(self, row: tuple[Any, ...]) -> bool:
        if self._target.execute(_SAME_ENTRY, row).fetchone():
            return True
        wall = row[1]
        return any(
            oldest <= wall <= newest and conn.execute(_SAME_ENTRY, row).fetchone()
            for oldest, newest, conn in self._others
        )

    def close(self) -> None:
        for _, _, conn in self._others:
            conn.close()


def archive_before(
    journal_path: Path,
    folder: Path,
    day: _dt.date,
    *,
    clock: Clock,
    backups_dir: Path | None = None,
    batch_size: int = 1000,
    pause_s: float = 0.005,
    after_copy: Callable[[int], None] | None = None,
) -> ArchiveResult:
    """Move entries older than ``day`` (UTC) to ``folder/journal-until-<day>.sqlite3``.

    Works while a copier writes to the journal: the live file is locked for one batch's delete at
    a time, ``pause_s`` apart, and the copier's writer waits out such a lock. ``after_copy`` is
    called with each batch's size once it is safely in the archive, before the live delete (tests
    use it to stop a run exactly there). Raises JournalError naming a damaged or newer file.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    cutoff = cutoff_time(day)
    target = folder / archive_name(day)
    size_before = disk_size(journal_path)
    # open_database, not open_reader: a journal from an older copier is migrated (and backed up)
    # first, so it has the state table that keeps seq rising once its entries are gone.
    live = open_database(journal_path, clock, backups_dir=backups_dir)
    try:
        others = [p for p in archives(folder) if p != target]
        archive = _open_archive(target, clock, backups_dir or folder / "backups")
        try:
            found = _ArchivedAlready(archive, others)
            try:
                moved, already = _move(live, archive, found, cutoff, batch_size, pause_s, after_copy)
            finally:
                found.close()
        finally:
            archive.close()
        _reclaim(live, pause_s)
    except sqlite3.Error as exc:
        raise JournalError(f"archiving the journal {journal_path} to {target} stopped: {exc}. Nothing was "
                           "lost: run the same command again to finish") from exc
    finally:
        live.close()
    return ArchiveResult(target, moved, already, size_before, disk_size(journal_path))


def _move(
    live: sqlite3.Connection,
    archive: sqlite3.Connection,
    found: _ArchivedAlready,
    cutoff: float,
    batch_size: int,
    pause_s: float,
    after_copy: Callable[[int], None] | None,
) -> tuple[int, int]:
    moved = already = 0
    last_id = 0
    while True:
        batch = live.execute(
            f"SELECT id, {COLUMNS} FROM entries WHERE wall < ? AND id > ? ORDER BY id LIMIT ?",
            (cutoff, last_id, batch_size),
        ).fetchall()
        if not batch:
            return moved, already
        last_id = batch[-1][0]
        fresh = [row[1:] for row in batch if not found(row[1:])]
        if fresh:
            archive.execute("BEGIN IMMEDIATE")
            try:
                archive.executemany(_INSERT, fresh)
                archive.execute("COMMIT")  # synchronous=FULL: on disk when this returns
            except BaseException:
                if archive.in_transaction:
                    archive.execute("ROLLBACK")
                raise
        if after_copy is not None:
            after_copy(len(fresh))
        # IMMEDIATE: take the write lock now (waiting out the copier's batch) rather than fail
        # half-way; the lock is held for this batch's delete only.
        live.execute("BEGIN IMMEDIATE")
        try:
            live.executemany("DELETE FROM entries WHERE id = ?", [(row[0],) for row in batch])
            live.execute(
                "INSERT INTO journal_state (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)",
                (ARCHIVED_MAX_SEQ, max(row[1] for row in batch)),
            )
            live.execute("COMMIT")
        except BaseException:
            if live.in_transaction:
                live.execute("ROLLBACK")
            raise
        moved += len(fresh)
        already += len(batch) - len(fresh)
        if pause_s > 0:
            time.sleep(pause_s)  # room for the copier's writer between our locks


def _reclaim(live: sqlite3.Connection, pause_s: float) -> None:
    """Give the freed pages back to the file system, so the file really shrinks."""
    if live.execute("PRAGMA freelist_count").fetchone()[0] == 0:
        return
    if live.execute("PRAGMA auto_vacuum").fetchone()[0] == 2:  # INCREMENTAL
        # Small steps, each its own short transaction; a running copier's writes reuse free pages
        # meanwhile, so stop once a step frees nothing.
        previous = None
        while (free := live.execute("PRAGMA freelist_count").fetchone()[0]) and free != previous:
            previous = free
            live.execute(f"PRAGMA incremental_vacuum({_VACUUM_PAGES})").fetchall()
            if pause_s > 0:
                time.sleep(pause_s)
    else:
        # A journal created before archiving existed: one full VACUUM rebuilds it with incremental
        # vacuum on, so every later archive shrinks it in small steps. The copier's writes wait
        # (and retry) while it runs; nothing is lost.
        live.execute("PRAGMA auto_vacuum=INCREMENTAL")
        live.execute("VACUUM")
    # The shrunk size reaches the main file at a checkpoint; TRUNCATE also empties the WAL. With
    # a copier reading or writing, it may not complete: its own checkpoints finish the job.
    with contextlib.suppress(sqlite3.OperationalError):
        live.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
