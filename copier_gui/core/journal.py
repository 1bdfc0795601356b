"""The copier's journal: every master event, plan, request, result, correction and refusal, in SQLite.

The core calls :meth:`Journal.record` on its hot path, which only stamps the entry with the injected
clock and queues it. A writer thread commits the queue in batches to a WAL-mode database; reads and
exports for the UI go through that same thread, so they see everything recorded before them.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import datetime as _dt
import functools
import itertools
import json
import logging
import numbers
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from enum import Enum
from pathlib import Path
from typing import Any

from copier_gui.clock import Clock
from copier_gui.core import fanout_quiet
from copier_gui.core.journal_schema import (
    MIGRATIONS,
    JournalError,
    Migration,
    check_migrations,
    next_seq,
    open_database,
)

__all__ = [
    "COLUMNS",
    "CSV_HEADER",
    "REDACTED",
    "Journal",
    "JournalEntry",
    "JournalError",
    "Kind",
    "csv_row",
    "is_secret_key",
]

log = logging.getLogger("copier_gui.journal")


class Kind:
    """The entry kinds the copier writes. The journal stores any string; these keep spelling fixed."""

    MASTER_EVENT = "master_event"
    PLAN = "plan"
    REQUEST = "request"
    RESULT = "result"
    CORRECTION = "correction"
    REFUSAL = "refusal"
    STATE = "state"
    ERROR = "error"
    INFO = "info"
    MARKS = "marks"  # prices of open positions, so a report from the journal values them
    DEALS = "deals"  # a position's deals as its broker booked them: fills, profit and costs

    ALL = (MASTER_EVENT, PLAN, REQUEST, RESULT, CORRECTION, REFUSAL, STATE, ERROR, INFO, MARKS, DEALS)


@dataclasses.dataclass(frozen=True)
class JournalEntry:
    seq: int
    wall: float
    mono: float
    kind: str
    account: str
    copy_id: str | None
    message: str
    data: dict[str, Any]

    @property
    def wall_utc(self) -> _dt.datetime:
        return _dt.datetime.fromtimestamp(self.wall, _dt.UTC)


REDACTED = "***"
# Broader than "password" alone: a broker API key or an investor passphrase is as sensitive.
_SECRET_WORDS = ("password", "passwd", "passphrase", "secret", "token", "credential")


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """True if a data key's name says its value is a secret (cached: keys repeat endlessly)."""
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS)


# Deeper than any structure the copier builds; a self-referencing dict stops here as its str().
_MAX_DEPTH = 12
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _key(key: Any) -> str:
    if type(key) is str:
        return key
    if isinstance(key, Enum):
        return str(key.value)
    return str(key)


def _clean_mapping(mapping: Mapping[Any, Any], depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = _key(key)
        out[name] = REDACTED if is_secret_key(name) else _clean(value, depth + 1)
    return out


def _clean(value: Any, depth: int = 0) -> Any:
    """A JSON-ready copy of ``value`` with secrets redacted.

    It runs in ``record`` rather than in the writer: the caller may mutate its objects right after,
    and the journal must hold what they were at record time, with no password ever queued.
    """
    kind = type(value)
    if kind in _PLAIN:
        return value
    if depth >= _MAX_DEPTH:
        return str(value)
    if kind is dict:
        return _clean_mapping(value, depth)
    if kind is list:
        return [_clean(v, depth + 1) for v in value]
    return _clean_other(value, depth)


@functools.lru_cache(maxsize=256)
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(kind))


def _clean_other(value: Any, depth: int) -> Any:
    if isinstance(value, Enum):
        return _clean(value.value, depth + 1)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Field by field, not dataclasses.asdict: cleaning builds fresh containers anyway, and
        # asdict's deep copy was most of the cost of journaling a request on the copy path.
        return _clean_mapping({name: getattr(value, name) for name in _field_names(type(value))}, depth)
    if isinstance(value, Mapping):
        return _clean_mapping(value, depth)
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        # Named tuples (the MetaTrader5 structs among them) keep their field names.
        return _clean_mapping(value._asdict(), depth)
    if isinstance(value, (list, tuple)):
        return [_clean(v, depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        # Sorted so a replay writes the same bytes whatever the hash seed.
        return sorted((_clean(v, depth + 1) for v in value), key=repr)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, numbers.Integral):  # numpy integers, for one
        return int(value)
    if isinstance(value, float):  # numpy float64 subclasses float
        return float(value)
    return str(value)


# One tuple per entry, in the order of the INSERT's columns except data, which is not yet JSON.
_Entry = tuple[int, float, float, str, str, "str | None", str, "dict[str, Any] | None"]
_INSERT = (
    "INSERT INTO entries (seq, wall, mono, kind, account, copy_id, message, data) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
COLUMNS = "seq, wall, mono, kind, account, copy_id, message, data"
CSV_HEADER = ("seq", "wall_utc_iso", "mono", "kind", "account", "copy_id", "message", "data")


def csv_row(row: Sequence[Any]) -> tuple[Any, ...]:
    """One CSV row for a database row in ``COLUMNS`` order (data still as its JSON text)."""
    seq, wall, mono, kind, account, copy_id, message, data = row
    wall_iso = _dt.datetime.fromtimestamp(wall, _dt.UTC).isoformat(timespec="microseconds")
    return (seq, wall_iso, repr(mono), kind, account, copy_id or "", message, data)


_to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode
# A failing database gets this many more tries at close before its entries are given up.
_FINAL_ATTEMPTS = 3
# While writes keep failing, log the first failure and then every this many, not every batch.
_LOG_EVERY_FAILURES = 100
# How often a writer held back by a fan-out looks whether a caller or a close now waits on it: a
# few wake-ups inside a fan-out of tens of milliseconds, each a look at two numbers.
_HOLD_SLICE_S = 0.005


class _Request:
    """Work for the writer thread, run once everything queued before it is committed."""

    __slots__ = ("fn", "future")

    def __init__(self, fn: Callable[[sqlite3.Connection], Any] | None) -> None:
        self.fn = fn
        self.future: Future[Any] = Future()


def _fail(request: _Request, error: BaseException) -> None:
    # A caller that timed out has cancelled its future; there is nobody left to tell.
    if request.future.set_running_or_notify_cancel():
        request.future.set_exception(error)


class Journal:
    """An append-only journal; ``record`` from any thread, read back with ``entries``.

    ``path`` None (or ":memory:") keeps the database in memory, owned by the writer thread.
    ``entries``, ``flush`` and ``export_csv`` block the calling thread: call them from the UI or an
    executor, never from the core's event loop.
    """

    def __init__(
        self,
        path: Path | str | None,
        clock: Clock,
        *,
        batch_interval_s: float = 0.05,
        batch_size: int = 500,
        backups_dir: Path | None = None,
        migrations: Sequence[Migration] = MIGRATIONS,
    ) -> None:
        if batch_interval_s <= 0:
            raise ValueError(f"batch_interval_s must be positive, got {batch_interval_s}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self._path = None if path is None or str(path) == ":memory:" else Path(path)
        self._name = ":memory:" if self._path is None else str(self._path)
        self._clock = clock
        self._interval = batch_interval_s
        self._batch_size = batch_size
        self._backups_dir = None if backups_dir is None else Path(backups_dir)
        self._migrations = tuple(migrations)
        check_migrations(self._migrations)  # a wrong list is a bug: ValueError now, not later

        # deque.append and popleft are atomic in CPython: the cheapest thread-safe queue there is,
        # and record() must not take a lock the writer could be holding.
        self._queue: deque[_Entry | _Request] = deque()
        # Entries of record_soon, queued on the loop's next turn in the order they were made.
        self._soon: list[tuple] = []
        self._soon_loop: asyncio.AbstractEventLoop | None = None
        self._wake = threading.Event()
        self._ready = threading.Event()
        self._close_lock = threading.Lock()
        # Callers blocked until the writer serves them (a flush, a read): the writer does not hold
        # back for a fan-out while anyone waits on it (see _hold_for_fanout).
        self._callers = 0
        self._callers_lock = threading.Lock()
        self._closed = False
        self._stopping = False
        self._startup_error: BaseException | None = None
        self._fatal: BaseException | None = None
        self._last_error: BaseException | None = None
        self._lost = 0
        self._held = 0  # entries a failing writer took from the queue and keeps for its next try
        self._first_seq = 1
        self.batches_written = 0
        self.entries_written = 0

        self._thread = threading.Thread(
            target=self._run, name="copier_gui-journal-writer", daemon=True
        )
        self._thread.start()
        # Opening and migrating happen on the writer thread (it owns the connection, and an
        # in-memory database exists only there); wait so a bad file fails here, loudly.
        self._ready.wait()
        if self._startup_error is not None:
            self._thread.join()
            error = self._startup_error
            if isinstance(error, JournalError):
                raise error
            raise JournalError(f"cannot open the journal {self._name}: {error}") from error
        # Continue after the entries already in the file, so "newest first" spans sessions.
        self._seq = itertools.count(self._first_seq)

    # -- the hot path -------------------------------------------------------------------------

    def record(
        self,
        kind: str,
        message: str,
        *,
        account: str = "",
        copy_id: str | None = None,
        **data: Any,
    ) -> int:
        """Queue one entry stamped with the clock's time now; return its sequence number.

        ``data`` becomes the entry's JSON, with secrets redacted. Raises JournalError once the
        journal is closed or its writer has died, rather than queue entries nobody will write.
        """
        clock = self._clock
        return self._append(clock.time(), clock.monotonic(), kind, message, account, copy_id, data)

    def record_soon(
        self,
        kind: str,
        message: str,
        *,
        account: str = "",
        copy_id: str | None = None,
        **data: Any,
    ) -> None:
        """``record`` on the event loop's next turn, stamped with the time now.

        For the copy path: a fan-out sends every slave's request in one turn of the loop, and
        journaling each before the next slave's goes out made the last slave wait for all the
        others' entries. Entries are queued in memory until the writer commits them either way, so
        a crash loses nothing it would not have lost; and the next turn runs before any reply is
        read, so a request's entry still comes before its result's. ``data`` must not change
        meanwhile (frozen values, as requests are).
        """
        clock = self._clock
        loop = asyncio.get_running_loop()
        if self._soon and self._soon_loop is not loop:
            self._append_soon()  # left by a loop that ended before its next turn: queued now
        if not self._soon:
            self._soon_loop = loop
            loop.call_soon(self._append_soon)
        self._soon.append((clock.time(), clock.monotonic(), kind, message, account, copy_id, data))

    def _append_soon(self) -> None:
        soon, self._soon = self._soon, []
        for wall, mono, kind, message, account, copy_id, data in soon:
            try:
                self._append(wall, mono, kind, message, account, copy_id, data)
            except JournalError as exc:  # closed in the same turn: said, not raised into the loop
                log.error("a %s entry for %s was not journaled: %s", kind, account or "the copier", exc)

    def _append(self, wall: float, mono: float, kind: str, message: str, account: str, copy_id: str | None,
                data: dict[str, Any]) -> int:
        if self._closed or self._fatal is not None:
            raise self._dead_error()
        seq = next(self._seq)  # itertools.count is atomic under the GIL
        self._queue.append(
            (
                seq,
                wall,
                mono,
                kind if type(kind) is str else _key(kind),
                account if type(account) is str else str(account),
                copy_id if copy_id is None or type(copy_id) is str else str(copy_id),
                message if type(message) is str else str(message),
                _clean_mapping(data, 0) if data else None,
            )
        )
        if len(self._queue) >= self._batch_size and not self._wake.is_set():
            self._wake.set()
        return seq

    # -- blocking calls -----------------------------------------------------------------------

    def flush(self, timeout: float = 10.0) -> None:
        """Block until everything recorded so far is committed; JournalError if it cannot be."""
        if self._closed and not self._thread.is_alive() and not self._lost:
            return
        self._call(None, timeout)

    def entries(
        self,
        *,
        kind: str | None = None,
        account: str | None = None,
        copy_id: str | None = None,
        limit: int | None = None,
        newest_first: bool = True,
        after_seq: int | None = None,
    ) -> list[JournalEntry]:
        """Committed entries matching every filter given, after flushing what is queued.

        ``after_seq`` keeps only entries after that sequence number: a reader that keeps up reads
        what is new (with ``newest_first=False`` and a ``limit``, in chunks), not everything again.
        """
        clauses: list[str] = []
        params: list[Any] = []
        if after_seq is not None:
            if after_seq < 0:
                raise ValueError(f"after_seq must not be negative, got {after_seq}")
            clauses.append("seq > ?")
            params.append(after_seq)
        for column, wanted in (("kind", kind), ("account", account), ("copy_id", copy_id)):
            if wanted is not None:
                clauses.append(f"{column} = ?")
                params.append(wanted)
        sql = f"SELECT {COLUMNS} FROM entries"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        direction = "DESC" if newest_first else "ASC"
        sql += f" ORDER BY seq {direction}, id {direction}"
        if limit is not None:
            if limit < 0:
                raise ValueError(f"limit must not be negative, got {limit}")
            sql += " LIMIT ?"
            params.append(limit)
        rows = self._call(lambda conn: conn.execute(sql, params).fetchall())
        # Decoding here, not on the writer thread, keeps the writer free for new batches.
        return [
            JournalEntry(seq, wall, mono, kind_, account_, copy_id_, message, json.loads(data))
            for seq, wall, mono, kind_, account_, copy_id_, message, data in rows
        ]

    def export_csv(self, out: Path | str) -> int:
        """Write every entry, oldest first, to a CSV file; return the number of rows."""
        target = Path(out)

        def export(conn: sqlite3.Connection) -> int:
            count = 0
            # Streams from a cursor: a journal of millions of rows never sits in memory at once.
            with target.open("w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f)
                writer.writerow(CSV_HEADER)
                for row in conn.execute(f"SELECT {COLUMNS} FROM entries ORDER BY seq ASC, id ASC"):
                    writer.writerow(csv_row(row))
                    count += 1
            return count

        return self._call(export, timeout=600.0)

    def close(self) -> None:
        """Commit what is queued and stop the writer; later calls do nothing."""
        with self._close_lock:
            if self._closed:
                return
            # Entries waiting for the loop's next turn are committed with the rest.
            self._append_soon()
            self._closed = True
        self._stopping = True
        self._wake.set()
        # The writer gives up after a bounded number of failed attempts, so this join ends.
        self._thread.join()
        # Anything a racing record() queued after the writer's last look is counted, not dropped.
        self._abandon_queue()
        if self._lost:
            raise JournalError(
                f"{self._lost} journal entries could not be written to {self._name}: {self.error}"
            )

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def error(self) -> BaseException | None:
        """Why the writer is failing or died; None while writes succeed (for a status display)."""
        return self._fatal or self._last_error

    @property
    def pending(self) -> int:
        """Entries and requests queued but not yet taken by the writer."""
        return len(self._queue)

    @property
    def unsaved(self) -> int:
        """Entries recorded but not committed yet: queued, or held by a writer whose writes fail.

        O(queue length), for a status display every few seconds; list() copies the deque in one C
        call, so a writer popping meanwhile cannot break the count.
        """
        return self._held + sum(1 for item in list(self._queue) if type(item) is tuple)

    # -- the writer thread --------------------------------------------------------------------

    def _call(self, fn: Callable[[sqlite3.Connection], Any] | None, timeout: float = 10.0) -> Any:
        if not self._thread.is_alive():
            raise self._dead_error()
        request = _Request(fn)
        with self._callers_lock:
            self._callers += 1
        try:
            self._queue.append(request)
            self._wake.set()
            return self._wait_for(request, timeout)
        finally:
            with self._callers_lock:
                self._callers -= 1

    def _wait_for(self, request: _Request, timeout: float) -> Any:
        remaining = timeout
        # Waits in slices so a writer that dies meanwhile is noticed instead of waited out.
        while True:
            step = min(0.1, remaining)
            try:
                return request.future.result(timeout=step)
            except TimeoutError:
                pass
            if not self._thread.is_alive() and not request.future.done():
                raise self._dead_error()
            remaining -= step
            if remaining <= 0:
                request.future.cancel()
                raise JournalError(
                    f"the journal {self._name} did not commit within {timeout} s "
                    f"({self.pending} items queued); last error: {self.error}"
                )

    def _dead_error(self) -> JournalError:
        if self._fatal is not None:
            error = JournalError(f"the journal writer for {self._name} died: {self._fatal!r}")
            error.__cause__ = self._fatal
            return error
        return JournalError(f"the journal {self._name} is closed")

    def _run(self) -> None:
        try:
            conn = open_database(
                self._path,
                self._clock,
                migrations=self._migrations,
                backups_dir=self._backups_dir,
            )
        except BaseException as exc:
            self._startup_error = exc
            self._ready.set()
            return
        try:
            self._first_seq = next_seq(conn)
        except BaseException as exc:
            conn.close()
            self._startup_error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            self._write_loop(conn)
        except BaseException as exc:
            self._fatal = exc
            log.critical(
                "the journal writer for %s stopped; entries recorded from now on are not saved",
                self._name,
                exc_info=True,
            )
        finally:
            try:
                conn.close()
            except sqlite3.Error:
                log.exception("closing the journal %s failed", self._name)
            self._abandon_queue()

    def _abandon_queue(self) -> None:
        """After the writer ends: fail waiting callers and say how many entries are lost."""
        lost = 0
        while True:
            try:
                item = self._queue.popleft()
            except IndexError:
                break
            if type(item) is tuple:
                lost += 1
            else:
                _fail(item, self._dead_error())
        if lost:
            self._lost += lost
            log.error("%d journal entries were recorded after %s stopped", lost, self._name)

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        pending: list[_Entry] = []  # taken from the queue, not yet committed: kept across failures
        requests: list[_Request] = []
        failures = 0
        while True:
            if len(self._queue) < self._batch_size:
                # Real time on purpose: this paces a thread on this machine, and a virtual clock
                # that never moves would stall the writer forever.
                self._wake.wait(self._interval)
            self._wake.clear()
            stopping = self._stopping
            try:
                self._write_batch(conn, pending, requests)
            except Exception as exc:
                failures += 1
                self._last_error = exc
                self._held = len(pending)
                if failures == 1 or failures % _LOG_EVERY_FAILURES == 0:
                    log.error(
                        "cannot write %d journal entries to %s (attempt %d); keeping them for "
                        "the next batch",
                        len(pending) + len(self._queue),
                        self._name,
                        failures,
                        exc_info=failures == 1,
                    )
                if stopping and failures >= _FINAL_ATTEMPTS:
                    log.error(
                        "giving up on %d journal entries for %s at close: %s",
                        len(pending) + len(self._queue),
                        self._name,
                        exc,
                    )
                    self._lost += len(pending)
                    for request in requests:
                        _fail(request, JournalError(f"{self._name}: entries not written: {exc}"))
                    return  # _abandon_queue counts and reports what is still queued
                continue
            if failures:
                log.warning(
                    "journal writes to %s work again after %d failed attempts",
                    self._name,
                    failures,
                )
                failures = 0
                self._last_error = None
                self._held = 0
            if pending:
                self.batches_written += 1
                self.entries_written += len(pending)
                pending.clear()
            for request in requests:
                self._serve(conn, request)
            requests.clear()
            if stopping and not self._queue:
                return

    def _write_batch(
        self, conn: sqlite3.Connection, pending: list[_Entry], requests: list[_Request]
    ) -> None:
        # Deferred, so a batch with nothing to insert (a flush alone) needs no write lock.
        conn.execute("BEGIN")
        try:
            # A generator, not a list: each row is converted between two SQLite steps, and each
            # step releases the GIL, so the writer never holds it long enough to stall the core.
            conn.executemany(_INSERT, self._rows(pending, requests))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    log.exception("rolling back a failed journal batch on %s failed", self._name)
            raise

    def _rows(self, pending: list[_Entry], requests: list[_Request]) -> Iterator[tuple[Any, ...]]:
        """Rows to insert: first what a failed batch left, then what is queued now.

        Entries move to ``pending`` as they are taken, so a batch that fails halfway loses none.
        """
        # While a fan-out hands the slaves their requests, the writer waits (fanout_quiet): its
        # conversions and SQLite steps took the interpreter from the loop inside the window. Looked
        # at before every row, so a batch begun just before the change stops there too.
        holding = fanout_quiet.held
        patient = True  # until a wait is cut short: then the rest of this batch goes on
        for i in range(len(pending)):
            if patient and holding():
                patient = self._hold_for_fanout()
            yield self._row(pending[i])
        popleft = self._queue.popleft
        # Only what is there now: producers faster than the writer must not keep it here forever.
        for _ in range(len(self._queue)):
            item = popleft()
            if type(item) is tuple:
                pending.append(item)
                if patient and holding():
                    patient = self._hold_for_fanout()
                yield self._row(item)
            else:
                requests.append(item)

    def _hold_for_fanout(self) -> bool:
        """Wait while a fan-out holds, in short slices: a caller blocked on the writer (a flush or
        a read, perhaps on the loop that would end the hold) or a close is never kept waiting, and
        no hold is waited out for longer than the longest pause. True if the hold ended."""
        deadline = time.monotonic() + fanout_quiet.LONGEST_PAUSE_S
        while fanout_quiet.held():
            if self._callers or self._stopping or time.monotonic() >= deadline:
                return False
            fanout_quiet.wait_while_held(_HOLD_SLICE_S)
        return True

    def _row(self, entry: _Entry) -> tuple[Any, ...]:
        seq, wall, mono, kind, account, copy_id, message, data = entry
        return (seq, wall, mono, kind, account, copy_id, message, self._json(seq, data))

    def _json(self, seq: int, data: dict[str, Any] | None) -> str:
        if not data:
            return "{}"
        try:
            return _to_json(data)
        except (TypeError, ValueError) as exc:
            # Cleaning leaves only JSON types, so this is a bug; keep the entry, say what broke.
            log.error("journal entry %d has data that is not JSON: %s", seq, exc)
            return _to_json({"unserialisable": str(data)})

    def _serve(self, conn: sqlite3.Connection, request: _Request) -> None:
        if not request.future.set_running_or_notify_cancel():
            return  # the caller timed out and went away
        if request.fn is None:
            request.future.set_result(None)
            return
        try:
            request.future.set_result(request.fn(conn))
        except Exception as exc:
            error = JournalError(f"reading the journal {self._name} failed: {exc}")
            error.__cause__ = exc
            request.future.set_exception(error)
