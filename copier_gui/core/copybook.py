"""The copy book: for each (slave, master position) the volumes at entry, kept on disk.

Partial closes are mirrored proportionally: a slave that got 0.5 lot for the master's 1.0 holds
0.3 when the master holds 0.6. That needs the entry volumes, which must survive a restart, so they
are written to SQLite when a copy first fills. The broker's own positions (found by their tags)
remain the truth about what is open; the book only remembers proportions.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class CopyEntry:
    slave: str
    master_ticket: int
    master_volume: float
    slave_volume: float


class CopyBook:
    def __init__(self, path: Path | str | None = None) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(":memory:" if path is None else str(path), check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS copies (slave TEXT NOT NULL, master_ticket INTEGER NOT NULL, "
            "master_volume REAL NOT NULL, slave_volume REAL NOT NULL, PRIMARY KEY (slave, master_ticket))")
        self._conn.commit()
        self._cache: dict[tuple[str, int], CopyEntry] = {}
        for row in self._conn.execute("SELECT slave, master_ticket, master_volume, slave_volume FROM copies"):
            entry = CopyEntry(*row)
            self._cache[(entry.slave, entry.master_ticket)] = entry

    def get(self, slave: str, master_ticket: int) -> CopyEntry | None:
        return self._cache.get((slave, master_ticket))

    def tickets(self, slave: str) -> list[int]:
        return [ticket for (name, ticket) in self._cache if name == slave]

    def remember(self, slave: str, master_ticket: int, master_volume: float, slave_volume: float) -> CopyEntry:
        entry = CopyEntry(slave, master_ticket, master_volume, slave_volume)
        with self._lock:
            self._cache[(slave, master_ticket)] = entry
            self._conn.execute("INSERT OR REPLACE INTO copies VALUES (?, ?, ?, ?)",
                               (slave, master_ticket, master_volume, slave_volume))
            self._conn.commit()
        return entry

    def forget(self, slave: str, master_ticket: int) -> None:
        with self._lock:
            if self._cache.pop((slave, master_ticket), None) is not None:
                self._conn.execute("DELETE FROM copies WHERE slave = ? AND master_ticket = ?", (slave, master_ticket))
                self._conn.commit()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
