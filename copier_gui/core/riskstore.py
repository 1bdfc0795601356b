"""The risk store: each slave's risk state on disk, so a halt outlives a restart or a rule edit.

The risk gates write through to it (day-start figures, peak equity, a halt, and under a prop-firm
profile the maximum-loss track, the days with a deal and each day's profit) and load from it when they are made. A reset from the command line is a write by another connection; the running copier
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
from copier_gui.core.prop_limits import MAX_LOSS

__all__ = ["RISK_FILE", "SCHEMA_VERSION", "Halt", "RiskRecord", "RiskStore", "RiskStoreError", "ends_track",
           "open_risk_store"]

RISK_FILE = "risk.sqlite3"  # in the user's folder, beside copies.sqlite3
SCHEMA_VERSION = 4

_SCHEMA = (
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    """CREATE TABLE risk_state (
        account TEXT PRIMARY KEY,
        day INTEGER NULL,               -- the trade server's day, or a prop profile's (days since 1970-01-01)
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
# Version 2: a prop-firm profile's maximum-loss track, and the days on which the slave had a deal.
_MIGRATE_TO_2 = (
    "ALTER TABLE risk_state ADD COLUMN prop_initial REAL NULL",  # the initial balance the floor counts from
    "ALTER TABLE risk_state ADD COLUMN prop_high REAL NULL",  # the high a trailing floor follows
    "ALTER TABLE risk_state ADD COLUMN prop_locked INTEGER NOT NULL DEFAULT 0",  # floor locked at the initial
    """CREATE TABLE risk_deal_day (
        account TEXT NOT NULL,
        day INTEGER NOT NULL,           -- the prop profile's trading day
        PRIMARY KEY (account, day)
    )""",
)
# Version 3: each prop trading day's profit (the balance's change over the day), for the consistency
# rule's best day.
_MIGRATE_TO_3 = (
    """CREATE TABLE risk_day_profit (
        account TEXT NOT NULL,
        day INTEGER NOT NULL,           -- the prop profile's trading day
        profit REAL NOT NULL,           -- the balance at the day's last reading less at its first
        PRIMARY KEY (account, day)
    )""",
)
# Version 4: the broker's balance operations (deposits, withdrawals) already taken into the figures,
# and the net of those since the maximum-loss track began, which its trailing high leaves out.
_MIGRATE_TO_4 = (
    """CREATE TABLE risk_cash (
        account TEXT PRIMARY KEY,
        seen INTEGER NOT NULL,          -- the highest balance operation id taken in
        track_cash REAL NOT NULL        -- money moved in (out: negative) since the track began
    )""",
)
_COLUMNS = ("account, day, day_start_balance, day_start_equity, peak_equity, halt_state, halt_limit, halted_at, "
            "halt_text, resets, reset_at, reset_by, prop_initial, prop_high, prop_locked")


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
    # A prop profile's maximum-loss track (None: none yet) and its days with a deal. A reset keeps
    # both: they are the firm's record of the account, not a stop to lift.
    prop_initial: float | None = None
    prop_high: float = 0.0
    prop_locked: bool = False
    deal_days: frozenset[int] = frozenset()
    # Each prop trading day's profit, (day, profit) by day; kept by a reset like the trading days.
    day_profits: tuple[tuple[int, float], ...] = ()
    # The highest balance operation id taken in (None: none looked at yet), and the net cash moved
    # since the track began; kept by a reset, the cash with the track.
    cash_seen: int | None = None
    track_cash: float = 0.0


def ends_track(halt: Halt | None) -> bool:
    """A halt set by a prop profile's maximum loss: the challenge is over, and a reset lifting it
    starts the floor again from the next reading (often the same account, refunded to its start)."""
    return halt is not None and halt.limit == MAX_LOSS


def _record(row: tuple, deal_days: frozenset[int] = frozenset()) -> RiskRecord:
    account, day, dsb, dse, peak, state, limit, at, text, resets, reset_at, reset_by, initial, high, locked = row
    halt = Halt(state, limit or "", at or 0.0, text or "") if state else None
    return RiskRecord(account, day, dsb or 0.0, dse or 0.0, peak or 0.0, halt, resets or 0, reset_at, reset_by or "",
                      initial, high or 0.0, bool(locked), deal_days)


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
                if version < SCHEMA_VERSION:
                    self._migrate()
            elif conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is not None:
                raise RiskStoreError(f"the file {self._name} is not a copier_gui risk state file")
            else:
                with conn:
                    for statement in (*_SCHEMA, *_MIGRATE_TO_2, *_MIGRATE_TO_3, *_MIGRATE_TO_4):
                        conn.execute(statement)
                    conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
            if self._path is not None:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA busy_timeout=5000")  # the command line may be writing
        except sqlite3.Error as exc:
            raise RiskStoreError(f"the risk state file {self._name} cannot be read: {exc}") from None

    def _migrate(self) -> None:
        """Version 1 to 2 to 3 to 4: columns and tables added, every row kept. In one transaction, taken
        before the version is read again, so a copier and the command line opening it at once migrate it
        once."""
        conn = self._conn
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0
            if version >= SCHEMA_VERSION:
                return
            for statement in (*(_MIGRATE_TO_2 if version < 2 else ()), *(_MIGRATE_TO_3 if version < 3 else ()),
                              *_MIGRATE_TO_4):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))

    def _read_all(self) -> dict[str, RiskRecord]:
        days: dict[str, set[int]] = {}
        for account, day in self._conn.execute("SELECT account, day FROM risk_deal_day"):
            days.setdefault(account, set()).add(day)
        profits: dict[str, list[tuple[int, float]]] = {}
        for account, day, profit in self._conn.execute(
                "SELECT account, day, profit FROM risk_day_profit ORDER BY account, day"):
            profits.setdefault(account, []).append((day, profit))
        records = {row[0]: _record(row, frozenset(days.pop(row[0], ())))
                   for row in self._conn.execute(f"SELECT {_COLUMNS} FROM risk_state ORDER BY account")}
        # Days with a deal (or a profit) of an account with no other state yet.
        records.update({account: RiskRecord(account, deal_days=frozenset(d)) for account, d in days.items()})
        for account, rows in profits.items():
            records[account] = replace(records.get(account) or RiskRecord(account), day_profits=tuple(rows))
        for account, seen, track_cash in self._conn.execute("SELECT account, seen, track_cash FROM risk_cash"):
            records[account] = replace(records.get(account) or RiskRecord(account), cash_seen=seen,
                                       track_cash=track_cash)
        return records

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
                     peak_equity: float, *, track: tuple[float, float, bool] | None = None) -> None:
        """The day and its starting figures, and the peak; with ``track`` (initial balance, high,
        locked) also a prop profile's maximum-loss track, in the same write. The halt is left alone."""
        record = replace(self._cache.get(account) or RiskRecord(account), day=day,
                         day_start_balance=day_start_balance, day_start_equity=day_start_equity,
                         peak_equity=peak_equity)
        sql = ("INSERT INTO risk_state (account, day, day_start_balance, day_start_equity, peak_equity{}) "
               "VALUES (?, ?, ?, ?, ?{}) ON CONFLICT(account) DO UPDATE SET day = excluded.day, "
               "day_start_balance = excluded.day_start_balance, day_start_equity = excluded.day_start_equity, "
               "peak_equity = excluded.peak_equity{}")
        params: tuple = (account, day, day_start_balance, day_start_equity, peak_equity)
        if track is None:
            sql = sql.format("", "", "")
        else:
            initial, high, locked = track
            record = replace(record, prop_initial=initial, prop_high=high, prop_locked=locked)
            sql = sql.format(", prop_initial, prop_high, prop_locked", ", ?, ?, ?",
                             ", prop_initial = excluded.prop_initial, prop_high = excluded.prop_high, "
                             "prop_locked = excluded.prop_locked")
            params = (*params, initial, high, int(locked))
        self._write(record, sql, params)

    def add_deal_day(self, account: str, day: int) -> None:
        """A prop profile's day on which the slave had a deal (its trading days)."""
        record = self._cache.get(account) or RiskRecord(account)
        if day in record.deal_days:
            return
        self._write(replace(record, deal_days=record.deal_days | {day}),
                    "INSERT OR IGNORE INTO risk_deal_day (account, day) VALUES (?, ?)", (account, day))

    def save_day_profit(self, account: str, day: int, profit: float) -> None:
        """A prop trading day's profit so far (the consistency rule's figure), replacing the last."""
        record = self._cache.get(account) or RiskRecord(account)
        profits = dict(record.day_profits)
        if profits.get(day) == profit:
            return
        profits[day] = profit
        self._write(replace(record, day_profits=tuple(sorted(profits.items()))),
                    "INSERT INTO risk_day_profit (account, day, profit) VALUES (?, ?, ?) "
                    "ON CONFLICT(account, day) DO UPDATE SET profit = excluded.profit", (account, day, profit))

    def save_cash(self, account: str, seen: int, track_cash: float) -> None:
        """The balance operations taken in up to ``seen``, and the net cash since the track began."""
        record = replace(self._cache.get(account) or RiskRecord(account), cash_seen=seen, track_cash=track_cash)
        self._write(record, "INSERT INTO risk_cash (account, seen, track_cash) VALUES (?, ?, ?) "
                    "ON CONFLICT(account) DO UPDATE SET seen = excluded.seen, track_cash = excluded.track_cash",
                    (account, seen, track_cash))

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

        A prop profile's maximum-loss track and its days with a deal are kept: a trailing floor that
        forgot its high would let the account fall further than the firm allows. Only a halt by the
        maximum loss itself starts the track again (``ends_track``). Returns the record as it was
        before; ``resets`` counts up, so a running copier can tell.
        """
        with self._lock:
            try:
                with self._conn:
                    # Read inside the write transaction: the command line and a copier may both write.
                    self._conn.execute("BEGIN IMMEDIATE")
                    row = self._conn.execute(f"SELECT {_COLUMNS} FROM risk_state WHERE account = ?",
                                             (account,)).fetchone()
                    days = frozenset(d for (d,) in self._conn.execute(
                        "SELECT day FROM risk_deal_day WHERE account = ?", (account,)))
                    before = _record(row, days) if row else RiskRecord(account, deal_days=days)
                    cached = self._cache.get(account) or RiskRecord(account)
                    before = replace(before, day_profits=cached.day_profits, cash_seen=cached.cash_seen,
                                     track_cash=cached.track_cash)
                    after = RiskRecord(account, resets=before.resets + 1, reset_at=at, reset_by=by, deal_days=days,
                                       day_profits=cached.day_profits, cash_seen=cached.cash_seen)
                    if not ends_track(before.halt):
                        after = replace(after, prop_initial=before.prop_initial, prop_high=before.prop_high,
                                        prop_locked=before.prop_locked, track_cash=before.track_cash)
                    elif before.cash_seen is not None:
                        self._conn.execute("UPDATE risk_cash SET track_cash = 0 WHERE account = ?", (account,))
                    self._conn.execute(
                        f"INSERT OR REPLACE INTO risk_state ({_COLUMNS}) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (account, None, None, None, None, None, None, None, None, after.resets, at, by,
                         after.prop_initial, after.prop_high if after.prop_initial is not None else None,
                         int(after.prop_locked)))
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
