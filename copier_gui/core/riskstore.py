"""The risk store: each slave's risk state on disk, so a halt outlives a restart or a rule edit.

The risk gates write through to it (day-start figures, peak equity, a halt) and load from it when
they are made. A reset from the command line is a write by another connection; the running copier
sees it through ``changed_elsewhere`` on its next pass. A versioned schema, like the journal's.
"""

from __future__ import annotations

import datetime as _dt
import os
import sqlite3
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from copier_gui.clock import Clock

__all__ = ["RISK_FILE", "SCHEMA_VERSION", "Halt", "RiskRecord", "RiskStore", "RiskStoreError", "open_risk_store"]

RISK_FILE = "risk.sqlite3"  # in the user's folder, beside copies.sqlite3
SCHEMA_VERSION = 1

_SCHEMA = (
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    """CREATE TABLE risk_state (
        account TEXT PRIMARY KEY,
        day INTEGER NULL,               -- the trade server's day (days since 1970-01-01)
        day_start_balance REAL NULL,
        day_start_equity REAL NULL,
        peak_equity REAL NULL,
        halt_state TEXT NULL,           -- 'halted' (flattened) or 'reducing' (exits only); NULL: none
        halt_limit TEXT NULL,           -- the limit that set it, e.g. 'daily_loss'
        halted_at REAL NULL,            -- UTC seconds
        halt_text TEXT NULL,
        resets INTEGER NOT NULL DEFAULT 0,
        reset_at REAL NULL,
        reset_by TEXT NULL
    )""",
)
_COLUMNS = ("account, day, day_start_balance, day_start_equity, peak_equity, halt_state, halt_limit, halted_at, "
            "halt_text, resets, reset_at, reset_by")


class RiskStoreError(Exception):
    """The risk state file cannot be read or written; the message names the file."""

    def __init__(self, message: str, *, newer: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.newer = newer  # written by a newer copier_gui: never moved aside, never written


@dataclass(frozen=True, slots=True)
class Halt:
    """A latched stop that only a reset lifts. ``state`` is a TradingState value."""

    state: str  # "halted": flattened, exits only; "reducing": positions kept, exits only
    limit: str
    at: float
    text: str


@dataclass(frozen=True, slots=True)
class RiskRecord:
    account: str
    day: int | None = None
    day_start_balance: float = 0.0
    day_start_equity: float = 0.0
    peak_equity: float = 0.0
    halt: Halt | None = None
    resets: int = 0
    reset_at: float | None = None
    reset_by: str = ""


def _record(row: tuple) -> RiskRecord:
    account, day, dsb, dse, peak, state, limit, at, text, resets, reset_at, reset_by = row
    halt = Halt(state, limit or "", at or 0.0, text or "") if state else None
    return RiskRecord(account, day, dsb or 0.0, dse or 0.0, peak or 0.0, halt, resets or 0, reset_at, reset_by or "")


class RiskStore:
    """Per-slave risk state; ``path`` None keeps it in memory (the demo, tests).

    Reads come from a cache loaded at open (and again after another process wrote the file), so
    the copier's hot path never waits on the disk for a read; each change is committed at once.
    """

    def __init__(self, path: Path | str | None = None) -> None:
        self._path = None if path is None or str(path) == ":memory:" else Path(path)
        self._name = ":memory:" if self._path is None else str(self._path)
        self._lock = threading.Lock()
        # Set by open_risk_store when it had to move an unreadable file aside: what happened.
        self.recovered = ""
        try:
            self._conn = sqlite3.connect(self._name, check_same_thread=False)
        except sqlite3.Error as exc:
            raise RiskStoreError(f"cannot open the risk state file {self._name}: {exc}") from None
        try:
            self._open()
            self._cache = self._read_all()
            self._data_version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        except BaseException:
            self._conn.close()
            raise

    def _open(self) -> None:
        conn = self._conn
        try:
            check = conn.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise RiskStoreError(f"the risk state file {self._name} is damaged ({check[0] if check else 'no answer'})")
            has_version = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()
            if has_version:
                version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0
                if version > SCHEMA_VERSION:
                    raise RiskStoreError(
                        f"the risk state file {self._name} was written by a newer copier_gui (schema version "
                        f"{version}; this one knows {SCHEMA_VERSION}): update copier_gui", newer=True)
            elif conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is not None:
                raise RiskStoreError(f"the file {self._name} is not a copier_gui risk state file")
            else:
                with conn:
                    for statement in _SCHEMA:
                        conn.execute(statement)
                    conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
            if self._path is not None:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA busy_timeout=5000")  # the command line may be writing
        except sqlite3.Error as exc:
            raise RiskStoreError(f"the risk state file {self._name} cannot be read: {exc}") from None

    def _read_all(self) -> dict[str, RiskRecord]:
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM risk_state ORDER BY account").fetchall()
        return {row[0]: _record(row) for row in rows}

    @property
    def path(self) -> Path | None:
        return self._path

    # ------------------------------------------------------------------ reads
    def load(self, account: str) -> RiskRecord | None:
        return self._cache.get(account)

    def records(self) -> list[RiskRecord]:
        return [self._cache[a] for a in sorted(self._cache)]

    def changed_elsewhere(self) -> bool:
        """True (and the cache re-read) if another connection committed since the last look."""
        with self._lock:
            try:
                version = self._conn.execute("PRAGMA data_version").fetchone()[0]
                if version == self._data_version:
                    return False
                self._cache = self._read_all()
                self._data_version = version
            except sqlite3.Error as exc:
                raise RiskStoreError(f"cannot read the risk state file {self._name}: {exc}") from None
        return True

    # ------------------------------------------------------------------ writes
    def save_figures(self, account: str, day: int | None, day_start_balance: float, day_start_equity: float,
                     peak_equity: float) -> None:
        """The day and its starting figures, and the peak; the halt columns are left alone."""
        record = replace(self._cache.get(account) or RiskRecord(account), day=day,
                         day_start_balance=day_start_balance, day_start_equity=day_start_equity,
                         peak_equity=peak_equity)
        self._write(record, "INSERT INTO risk_state (account, day, day_start_balance, day_start_equity, peak_equity) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT(account) DO UPDATE SET day = excluded.day, "
                    "day_start_balance = excluded.day_start_balance, day_start_equity = excluded.day_start_equity, "
                    "peak_equity = excluded.peak_equity",
                    (account, day, day_start_balance, day_start_equity, peak_equity))

    def save_halt(self, account: str, halt: Halt | None) -> None:
        """Set (or, with None, clear) the halt; the figures are left alone."""
        record = replace(self._cache.get(account) or RiskRecord(account), halt=halt)
        values = (halt.state, halt.limit, halt.at, halt.text) if halt else (None, None, None, None)
        self._write(record, "INSERT INTO risk_state (account, halt_state, halt_limit, halted_at, halt_text) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT(account) DO UPDATE SET halt_state = excluded.halt_state, "
                    "halt_limit = excluded.halt_limit, halted_at = excluded.halted_at, "
                    "halt_text = excluded.halt_text", (account, *values))

    def reset(self, account: str, *, at: float, by: str) -> RiskRecord:
        """Lift the halt and clear the figures (they start again from the account's next reading).

        Returns the record as it was before; ``resets`` counts up, so a running copier can tell.
        """
        with self._lock:
            try:
                with self._conn:
                    # Read inside the write transaction: the command line and a copier may both write.
                    self._conn.execute("BEGIN IMMEDIATE")
                    row = self._conn.execute(f"SELECT {_COLUMNS} FROM risk_state WHERE account = ?",
                                             (account,)).fetchone()
                    before = _record(row) if row else RiskRecord(account)
                    after = RiskRecord(account, resets=before.resets + 1, reset_at=at, reset_by=by)
                    self._conn.execute(
                        f"INSERT OR REPLACE INTO risk_state ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (account, None, None, None, None, None, None, None, None, after.resets, at, by))
            except sqlite3.Error as exc:
                raise RiskStoreError(f"cannot write the risk state file {self._name}: {exc}") from None
            self._cache[account] = after
        return before

    def _write(self, record: RiskRecord, sql: str, params: tuple) -> None:
        with self._lock:
            try:
                with self._conn:
                    self._conn.execute(sql, params)
            except sqlite3.Error as exc:
                raise RiskStoreError(f"cannot write the risk state file {self._name}: {exc}") from None
            self._cache[record.account] = record

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def open_risk_store(path: Path, *, backups_dir: Path, clock: Clock) -> RiskStore:
    """The copier's store at ``path``; an unreadable file is moved to ``backups_dir`` first.

    Why not refuse to start: a copier that does not run mirrors no exits either, and leaves the
    slaves holding positions the master closes. Instead every slave starts with new entries stopped
    (see ``RiskStore.recovered``) until the trader has looked and reset it. A file from a newer
    copier_gui is never moved: RiskStoreError, the caller refuses to start.
    """
    try:
        return RiskStore(path)
    except RiskStoreError as exc:
        if exc.newer:
            raise
        reason = exc.message
    moved = _move_aside(path, backups_dir, clock)
    store = RiskStore(path)
    store.recovered = (f"{reason}; it was moved to {moved} and a new one started. Every slave starts with new "
                       f"entries stopped (exits are still mirrored) until you reset its risk state")
    return store


def _move_aside(path: Path, backups_dir: Path, clock: Clock) -> Path:
    backups_dir.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.fromtimestamp(clock.time(), _dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = backups_dir / f"{path.stem}-unreadable-{stamp}{path.suffix}"
    n = 1
    while target.exists():
        target = backups_dir / f"{path.stem}-unreadable-{stamp}-{n}{path.suffix}"
        n += 1
    try:
        os.replace(path, target)
        for extra in ("-wal", "-shm"):  # SQLite's side files belong to the damaged database
            side = Path(f"{path}{extra}")
            if side.exists():
                os.replace(side, Path(f"{target}{extra}"))
    except OSError as exc:
        raise RiskStoreError(f"the risk state file {path} cannot be read, and moving it aside to {target} "
                             f"failed: {exc.strerror or exc}") from None
    return target
