"""Which master each slave's copies belong to, kept beside the copy book.

A tag names the master position a copy is for, not the master account. When the trader makes
another account the master, the copies a slave still holds of the old master would otherwise look
like copies of positions the new master closed (closed as orphans) or, when the two masters'
tickets collide, like copies of the new master's trades. So the master's identity (login and
server) is recorded, and each slave's copies are attributed to the master that was copying to it:
the first time a copier with another master looks at that slave, the copies it holds are recorded
as left open, by their slave tickets, and no pass touches them again. If their master becomes the
master again, they are managed again.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path

from copier_gui.core.copybook import CopyBook

POSITION = "position"
ORDER = "order"
SHARE = "share"  # a netting slave's share of one symbol's position, by master ticket


@dataclass(frozen=True, slots=True)
class LeftCopy:
    """A copy of another master left open at a slave: a position or order (``ticket`` is the
    slave's), or a netting share (``ticket`` is the master's, ``volume`` signed)."""

    slave: str
    kind: str
    ticket: int
    symbol: str
    master: str
    master_ticket: int
    volume: float


_books: weakref.WeakKeyDictionary[CopyBook, Lineage] = weakref.WeakKeyDictionary()
_books_lock = threading.Lock()


class Lineage:
    def __init__(self, path: Path | str | None = None) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(":memory:" if path is None else str(path), check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS lineage_masters (slave TEXT PRIMARY KEY, master TEXT NOT NULL, "
                           "since REAL NOT NULL)")
        self._conn.execute("CREATE TABLE IF NOT EXISTS lineage_left (slave TEXT NOT NULL, kind TEXT NOT NULL, "
                           "ticket INTEGER NOT NULL, symbol TEXT NOT NULL, master TEXT NOT NULL, "
                           "master_ticket INTEGER NOT NULL, volume REAL NOT NULL, "
                           "PRIMARY KEY (slave, kind, ticket, symbol))")
        self._conn.commit()
        self._owners: dict[str, tuple[str, float]] = {
            slave: (master, since) for slave, master, since in
            self._conn.execute("SELECT slave, master, since FROM lineage_masters")}
        self._left: dict[str, list[LeftCopy]] = {}
        for row in self._conn.execute("SELECT slave, kind, ticket, symbol, master, master_ticket, volume "
                                      "FROM lineage_left"):
            self._left.setdefault(row[0], []).append(LeftCopy(*row))

    @classmethod
    def of(cls, copybook: CopyBook) -> Lineage:
        """The lineage kept with ``copybook``: in its file, or in memory for as long as it lives."""
        with _books_lock:
            lineage = _books.get(copybook)
            if lineage is None:
                lineage = cls(copybook.path)
                _books[copybook] = lineage
                weakref.finalize(copybook, lineage.close)
            return lineage

    # ------------------------------------------------------------------ the master
    MASTER = "\x00master"  # the row for the master the copier last ran with (no slave id has a NUL)

    def master(self) -> str | None:
        return self._owners.get(self.MASTER, (None,))[0]

    def set_master(self, master: str, wall: float) -> None:
        self._set_owner(self.MASTER, master, wall)

    # ------------------------------------------------------------------ the slaves
    def owner(self, slave: str) -> tuple[str, float] | None:
        """The master this slave's copies belong to, and since when it copied to it (UTC s)."""
        return self._owners.get(slave)

    def set_owner(self, slave: str, master: str, wall: float) -> None:
        self._set_owner(slave, master, wall)

    def _set_owner(self, slave: str, master: str, wall: float) -> None:
        with self._lock:
            self._owners[slave] = (master, wall)
            self._conn.execute("INSERT OR REPLACE INTO lineage_masters VALUES (?, ?, ?)", (slave, master, wall))
            self._conn.commit()

    def left(self, slave: str) -> list[LeftCopy]:
        return list(self._left.get(slave, ()))

    def hand_over(self, slave: str, master: str, wall: float, left: list[LeftCopy]) -> None:
        """``slave`` now copies from ``master``; ``left`` are the copies of another master it keeps
        open. One transaction, so a crash cannot leave the copies unrecorded under the new master."""
        with self._lock:
            self._owners[slave] = (master, wall)
            self._left.setdefault(slave, []).extend(left)
            self._conn.execute("INSERT OR REPLACE INTO lineage_masters VALUES (?, ?, ?)", (slave, master, wall))
            self._conn.executemany("INSERT OR REPLACE INTO lineage_left VALUES (?, ?, ?, ?, ?, ?, ?)",
                                   [(c.slave, c.kind, c.ticket, c.symbol, c.master, c.master_ticket, c.volume)
                                    for c in left])
            self._conn.commit()

    def forget(self, copies: list[LeftCopy]) -> None:
        """Copies no longer left open: closed at the slave, or managed again by their master."""
        if not copies:
            return
        with self._lock:
            for c in copies:
                kept = self._left.get(c.slave, [])
                if c in kept:
                    kept.remove(c)
            self._conn.executemany("DELETE FROM lineage_left WHERE slave = ? AND kind = ? AND ticket = ? AND symbol = ?",
                                   [(c.slave, c.kind, c.ticket, c.symbol) for c in copies])
            self._conn.commit()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
