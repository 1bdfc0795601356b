"""The copy book: for each (slave, master position) the volumes at entry, kept on disk.

Partial closes are mirrored proportionally: a slave that got 0.5 lot for the master's 1.0 holds
0.3 when the master holds 0.6. That needs the entry volumes, which must survive a restart, so they
are written to SQLite when a copy first fills. The broker's own positions (found by their tags)
remain the truth about what is open; the book only remembers proportions.

It also remembers what the copier knew when it stopped, so a restart tells a position the master
opened while the copier was down (copied, within tolerances) from one it held before copying to a
slave ever started (``copy_existing``): when each master position filled, when copying to each
slave first started, the master server's offset from UTC, and when the copier was last alive.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from copier_gui.core.model import Side

_SEEN_KEPT_MS = 86_400_000  # master positions seen are kept a day behind the newest
_WATCHED = "master_watched_msc"  # the last look at the master, in its trade time


@dataclass(frozen=True, slots=True)
class CopyEntry:
    slave: str
    master_ticket: int
    master_volume: float
    slave_volume: float
    # The copy's side when it was entered. A master position that reversed in place (a cTrader
    # netting position keeps its id) no longer matches it: its copy was closed for the reversal,
    # not at the slave. None for an entry written before sides were kept.
    side: Side | None = None


@dataclass(frozen=True, slots=True)
class NetIntent:
    """A netting deal about to be sent: if the copier stops before its answer, the next pass settles it."""

    id: int
    slave: str
    symbol: str
    master_ticket: int
    volume: float  # signed
    copy_id: str
    sent_wall: float


class CopyBookError(Exception):
    """The copy book file cannot be used; ``message`` names it and says what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CopyBook:
    def __init__(self, path: Path | str | None = None) -> None:
        self._lock = threading.Lock()
        self.path = None if path is None else Path(path)  # None: in memory, gone with the process
        try:
            self._open(path)
        except sqlite3.Error as exc:
            # Nothing is written to a file that cannot be read: the trader's copy records stay as
            # they are for whoever looks at them.
            raise CopyBookError(
                f"cannot use the copy book {path}: {exc} (it is damaged, or not a copier_gui file). "
                "It was left untouched: move it aside to start a new one (the broker's tagged "
                "positions still say what was copied), or choose another folder with --home") from None

    def _open(self, path: Path | str | None) -> None:
        self._conn = sqlite3.connect(":memory:" if path is None else str(path), check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS copies (slave TEXT NOT NULL, master_ticket INTEGER NOT NULL, "
            "master_volume REAL NOT NULL, slave_volume REAL NOT NULL, side TEXT, PRIMARY KEY (slave, master_ticket))")
        if "side" not in {row[1] for row in self._conn.execute("PRAGMA table_info(copies)")}:
            self._conn.execute("ALTER TABLE copies ADD COLUMN side TEXT")  # a book from before sides were kept
        self._conn.execute("CREATE TABLE IF NOT EXISTS master_fills (master_ticket INTEGER PRIMARY KEY, "
                           "fill_wall REAL NOT NULL)")
        # Every master position the copier saw, by when it opened (the platform's trade time): a
        # position that opened later and is closed now was never seen (core.round_trips).
        self._conn.execute("CREATE TABLE IF NOT EXISTS master_changes (master_ticket INTEGER PRIMARY KEY, "
                           "change_wall REAL NOT NULL)")
        self._conn.execute("CREATE TABLE IF NOT EXISTS master_seen (master_ticket INTEGER PRIMARY KEY, "
                           "opened_msc INTEGER NOT NULL)")
        self._conn.execute("CREATE TABLE IF NOT EXISTS slave_starts (slave TEXT PRIMARY KEY, started_wall REAL NOT NULL)")
        self._conn.execute("CREATE TABLE IF NOT EXISTS facts (name TEXT PRIMARY KEY, value REAL NOT NULL)")
        self._conn.execute("CREATE TABLE IF NOT EXISTS pending_copies (slave TEXT NOT NULL, "
                           "master_ticket INTEGER NOT NULL, PRIMARY KEY (slave, master_ticket))")
        self._conn.execute("CREATE TABLE IF NOT EXISTS net_shares (slave TEXT NOT NULL, symbol TEXT NOT NULL, "
                           "master_ticket INTEGER NOT NULL, volume REAL NOT NULL, "
                           "PRIMARY KEY (slave, symbol, master_ticket))")
        self._conn.execute("CREATE TABLE IF NOT EXISTS net_intents (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                           "slave TEXT NOT NULL, symbol TEXT NOT NULL, master_ticket INTEGER NOT NULL, "
                           "volume REAL NOT NULL, copy_id TEXT NOT NULL, sent_wall REAL NOT NULL)")
        self._conn.commit()
        self._fills: dict[int, float] = dict(self._conn.execute("SELECT master_ticket, fill_wall FROM master_fills"))
        self._changes: dict[int, float] = dict(self._conn.execute("SELECT master_ticket, change_wall FROM master_changes"))
        self._seen: dict[int, int] = dict(self._conn.execute("SELECT master_ticket, opened_msc FROM master_seen"))
        self._starts: dict[str, float] = dict(self._conn.execute("SELECT slave, started_wall FROM slave_starts"))
        self._facts: dict[str, float] = dict(self._conn.execute("SELECT name, value FROM facts"))
        self._orders: set[tuple[str, int]] = set(self._conn.execute("SELECT slave, master_ticket FROM pending_copies"))
        self._shares: dict[tuple[str, str], dict[int, float]] = {}
        for slave, symbol, ticket, volume in self._conn.execute(
                "SELECT slave, symbol, master_ticket, volume FROM net_shares"):
            self._shares.setdefault((slave, symbol), {})[ticket] = volume
        self._intents: dict[int, NetIntent] = {
            row[0]: NetIntent(*row) for row in self._conn.execute(
                "SELECT id, slave, symbol, master_ticket, volume, copy_id, sent_wall FROM net_intents")}
        self._cache: dict[tuple[str, int], CopyEntry] = {}
        for slave, ticket, master_volume, slave_volume, side in self._conn.execute(
                "SELECT slave, master_ticket, master_volume, slave_volume, side FROM copies"):
            entry = CopyEntry(slave, ticket, master_volume, slave_volume, _side(side))
            self._cache[(entry.slave, entry.master_ticket)] = entry

    def get(self, slave: str, master_ticket: int) -> CopyEntry | None:
        return self._cache.get((slave, master_ticket))

    def tickets(self, slave: str) -> list[int]:
        return [ticket for (name, ticket) in self._cache if name == slave]

    def remember(self, slave: str, master_ticket: int, master_volume: float, slave_volume: float,
                 side: Side | None = None) -> CopyEntry:
        entry = CopyEntry(slave, master_ticket, master_volume, slave_volume, side)
        with self._lock:
            self._cache[(slave, master_ticket)] = entry
            self._conn.execute("INSERT OR REPLACE INTO copies VALUES (?, ?, ?, ?, ?)",
                               (slave, master_ticket, master_volume, slave_volume, side.value if side else None))
            self._conn.commit()
        return entry

    def forget(self, slave: str, master_ticket: int) -> None:
        with self._lock:
            if self._cache.pop((slave, master_ticket), None) is not None:
                self._conn.execute("DELETE FROM copies WHERE slave = ? AND master_ticket = ?", (slave, master_ticket))
                self._conn.commit()

    # ------------------------------------------------------------------ what the copier knew
    def fill_wall(self, master_ticket: int) -> float | None:
        """When a master position filled (UTC seconds), as known when it was first seen."""
        return self._fills.get(master_ticket)

    def remember_fills(self, fills: dict[int, float], *, seen: dict[int, int] | None = None) -> None:
        """Fill times of master positions first seen now; ``seen``: when they opened, written in
        the same commit (this runs between seeing a master change and copying it)."""
        new = {t: w for t, w in fills.items() if t not in self._fills}
        if not new and not seen:
            return
        with self._lock:
            self._fills.update(new)
            self._conn.executemany("INSERT OR REPLACE INTO master_fills VALUES (?, ?)", new.items())
            if seen:
                self._see(seen)
            self._conn.commit()

    def forget_fills(self, keep: set[int]) -> None:
        """Drop fill and change times of master positions no longer open (``keep``: the open ones)."""
        gone = [t for t in self._fills if t not in keep]
        changed = [t for t in self._changes if t not in keep]
        if not gone and not changed:
            return
        with self._lock:
            for t in gone:
                del self._fills[t]
            for t in changed:
                del self._changes[t]
            self._conn.executemany("DELETE FROM master_fills WHERE master_ticket = ?", [(t,) for t in gone])
            self._conn.executemany("DELETE FROM master_changes WHERE master_ticket = ?", [(t,) for t in changed])
            self._conn.commit()

    def remember_changes(self, changes: dict[int, float]) -> None:
        """When master positions last grew or reversed (UTC seconds): the maximum delay of what such
        a change asks of a slave counts from it, after a restart too."""
        if not changes:
            return
        with self._lock:
            self._changes.update(changes)
            self._conn.executemany("INSERT OR REPLACE INTO master_changes VALUES (?, ?)", changes.items())
            self._conn.commit()

    def change_walls(self) -> dict[int, float]:
        return dict(self._changes)

    def see_master(self, opened: dict[int, int]) -> None:
        """Master positions seen (ticket -> when it opened, in the platform's trade time). Those that
        opened over a day before the newest are dropped: a look for trades never seen starts a
        minute before the newest, so it asks after none of them."""
        with self._lock:
            if self._see(opened):
                self._conn.commit()

    def _see(self, opened: dict[int, int]) -> bool:
        new = {t: msc for t, msc in opened.items() if t not in self._seen}
        if not new:
            return False
        self._seen.update(new)
        self._conn.executemany("INSERT OR REPLACE INTO master_seen VALUES (?, ?)", new.items())
        old_before = max(self._seen.values()) - _SEEN_KEPT_MS
        old = [t for t, msc in self._seen.items() if msc < old_before]
        if old:
            for t in old:
                del self._seen[t]
            self._conn.execute("DELETE FROM master_seen WHERE opened_msc < ?", (old_before,))
        return True

    def master_seen(self, ticket: int) -> bool:
        return ticket in self._seen

    def newest_seen_msc(self) -> int | None:
        """How far the copier watched the master, in the platform's trade time: when the newest
        master position it saw opened, or the last look at the master it made (``mark_alive``),
        whichever is later. A master that never held a position while watched has the second."""
        newest = max(self._seen.values(), default=None)
        watched = self._facts.get(_WATCHED)
        if watched is None:
            return newest
        return int(watched) if newest is None else max(newest, int(watched))

    def forget_master_seen(self) -> None:
        """Another master: what was seen of the previous one says nothing of this one's trades."""
        with self._lock:
            self._seen.clear()
            self._facts.pop(_WATCHED, None)
            self._conn.execute("DELETE FROM master_seen")
            self._conn.execute("DELETE FROM facts WHERE name = ?", (_WATCHED,))
            self._conn.commit()

    def mark_alive(self, wall: float, master_watched_msc: int | None = None) -> None:
        """The heartbeat, in one commit: the copier is alive at ``wall`` (UTC) and, when given, it
        looked at the master at ``master_watched_msc`` (the master's trade time)."""
        values: dict[str, float] = {"last_alive": wall}
        if master_watched_msc is not None:
            values[_WATCHED] = master_watched_msc
        with self._lock:
            self._facts.update(values)
            self._conn.executemany("INSERT OR REPLACE INTO facts VALUES (?, ?)", values.items())
            self._conn.commit()

    def started_wall(self, slave: str) -> float | None:
        """When copying to ``slave`` first started; positions the master held before are existing ones."""
        return self._starts.get(slave)

    def remember_start(self, slave: str, wall: float) -> float:
        if slave not in self._starts:
            with self._lock:
                self._starts[slave] = wall
                self._conn.execute("INSERT OR REPLACE INTO slave_starts VALUES (?, ?)", (slave, wall))
                self._conn.commit()
        return self._starts[slave]

    def fact(self, name: str) -> float | None:
        return self._facts.get(name)

    def forget_fact(self, name: str) -> None:
        if self._facts.pop(name, None) is None:
            return
        with self._lock:
            self._conn.execute("DELETE FROM facts WHERE name = ?", (name,))
            self._conn.commit()

    def set_fact(self, name: str, value: float) -> None:
        if self._facts.get(name) == value:
            return
        with self._lock:
            self._facts[name] = value
            self._conn.execute("INSERT OR REPLACE INTO facts VALUES (?, ?)", (name, value))
            self._conn.commit()

    # ------------------------------------------------------------------ pending copies
    # Which master orders a slave was given a pending copy of: after a restart with that slave out
    # of reach, a master order cancelled meanwhile is known to have a copy that still waits there.
    def order_tickets(self, slave: str) -> set[int]:
        return {ticket for name, ticket in self._orders if name == slave}

    def remember_order(self, slave: str, master_ticket: int) -> None:
        if (slave, master_ticket) not in self._orders:
            with self._lock:
                self._orders.add((slave, master_ticket))
                self._conn.execute("INSERT OR REPLACE INTO pending_copies VALUES (?, ?)", (slave, master_ticket))
                self._conn.commit()

    def forget_order(self, slave: str, master_ticket: int) -> None:
        if (slave, master_ticket) in self._orders:
            with self._lock:
                self._orders.discard((slave, master_ticket))
                self._conn.execute("DELETE FROM pending_copies WHERE slave = ? AND master_ticket = ?",
                                   (slave, master_ticket))
                self._conn.commit()

    # ------------------------------------------------------------------ netting shares
    # A netting account folds every copy on a symbol into one position, so which master position
    # owns how much of it is kept here: each share is written when its deal fills, and an intent is
    # written before the deal is sent, so a crash between the two leaves a trace the next pass
    # settles against the broker's own net instead of sending the deal again.
    def shares(self, slave: str, symbol: str) -> dict[int, float]:
        """Each master ticket's signed share (+ long, - short) of ``slave``'s position on ``symbol``."""
        return dict(self._shares.get((slave, symbol), {}))

    def share_symbols(self, slave: str) -> list[str]:
        return [symbol for (name, symbol), shares in self._shares.items() if name == slave and shares]

    def add_share(self, slave: str, symbol: str, master_ticket: int, volume: float) -> None:
        with self._lock:
            self._add_share(slave, symbol, master_ticket, volume)
            self._conn.commit()

    def set_shares(self, slave: str, symbol: str, shares: dict[int, float]) -> None:
        with self._lock:
            self._shares[(slave, symbol)] = {t: v for t, v in shares.items() if abs(v) > 1e-9}
            self._conn.execute("DELETE FROM net_shares WHERE slave = ? AND symbol = ?", (slave, symbol))
            self._conn.executemany("INSERT INTO net_shares VALUES (?, ?, ?, ?)",
                                   [(slave, symbol, t, v) for t, v in self._shares[(slave, symbol)].items()])
            self._conn.commit()

    def _add_share(self, slave: str, symbol: str, master_ticket: int, volume: float) -> None:
        shares = self._shares.setdefault((slave, symbol), {})
        total = round(shares.get(master_ticket, 0.0) + volume, 8)
        if abs(total) <= 1e-9:
            shares.pop(master_ticket, None)
            self._conn.execute("DELETE FROM net_shares WHERE slave = ? AND symbol = ? AND master_ticket = ?",
                               (slave, symbol, master_ticket))
        else:
            shares[master_ticket] = total
            self._conn.execute("INSERT OR REPLACE INTO net_shares VALUES (?, ?, ?, ?)",
                               (slave, symbol, master_ticket, total))

    def intend(self, slave: str, symbol: str, master_ticket: int, volume: float, copy_id: str,
               sent_wall: float) -> int:
        with self._lock:
            cursor = self._conn.execute(
                "INSERT INTO net_intents (slave, symbol, master_ticket, volume, copy_id, sent_wall) "
                "VALUES (?, ?, ?, ?, ?, ?)", (slave, symbol, master_ticket, volume, copy_id, sent_wall))
            self._conn.commit()
            intent = NetIntent(cursor.lastrowid, slave, symbol, master_ticket, volume, copy_id, sent_wall)
            self._intents[intent.id] = intent
            return intent.id

    def settle(self, intent_id: int, filled: float) -> None:
        """The deal of an intent filled ``filled`` (signed; 0 when it did not): one transaction."""
        with self._lock:
            intent = self._intents.pop(intent_id, None)
            if intent is None:
                return
            if abs(filled) > 1e-9:
                self._add_share(intent.slave, intent.symbol, intent.master_ticket, filled)
            self._conn.execute("DELETE FROM net_intents WHERE id = ?", (intent_id,))
            self._conn.commit()

    def intents(self, slave: str, symbol: str | None = None) -> list[NetIntent]:
        return [i for i in self._intents.values() if i.slave == slave and (symbol is None or i.symbol == symbol)]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _side(stored: str | None) -> Side | None:
    """A stored side; None for one not stored, or not one this version knows (left unjudged)."""
    try:
        return Side(stored) if stored else None
    except ValueError:
        return None
