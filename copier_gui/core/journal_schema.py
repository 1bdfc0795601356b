"""The journal's SQLite schema as numbered migrations, and the code that brings a file up to date.

The journal writer calls :func:`open_database` once, on its own thread, before it writes anything:
it refuses a file from a newer copier, backs up an existing file before migrating it, then applies
the missing migrations in order.
"""

from __future__ import annotations

import datetime as _dt
import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from copier_gui.clock import Clock


class JournalError(Exception):
    """The journal cannot be opened, migrated or written; the message names the file."""


@dataclass(frozen=True)
class Migration:
    """One step from ``version - 1`` to ``version``, applied in a single transaction."""

    version: int
    description: str
    statements: tuple[str, ...] = ()
    # For steps SQL alone cannot express (rewriting JSON, say); runs after the statements.
    transform: Callable[[sqlite3.Connection], None] | None = None


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "entries table with its indexes",
        (
            """CREATE TABLE entries (
                id INTEGER PRIMARY KEY,
                seq INTEGER NOT NULL,
                wall REAL NOT NULL,
                mono REAL NOT NULL,
                kind TEXT NOT NULL,
                account TEXT NOT NULL DEFAULT '',
                copy_id TEXT NULL,
                message TEXT NOT NULL,
                data TEXT NOT NULL DEFAULT '{}'
            )""",
            "CREATE INDEX entries_kind ON entries(kind)",
            "CREATE INDEX entries_account ON entries(account)",
            "CREATE INDEX entries_copy_id ON entries(copy_id)",
            # Every read orders by seq; without this, the newest 100 rows cost a full sort.
            "CREATE INDEX entries_seq ON entries(seq)",
        ),
    ),
    Migration(
        2,
        "wall-time index and the state that outlives archived entries",
        (
            # Archiving selects by time, and `journal info` asks for the oldest and newest entry.
            "CREATE INDEX entries_wall ON entries(wall)",
            # The highest seq ever moved to an archive: a journal emptied by archiving must not
            # start again at 1, or "newest first" and the archives' order would go wrong.
            """CREATE TABLE journal_state (
                key TEXT PRIMARY KEY,
                value INTEGER NOT NULL
            )""",
        ),
    ),
)

# The key in journal_state under which archiving keeps the highest seq it moved out.
ARCHIVED_MAX_SEQ = "archived_max_seq"

# SQLite waits this long for another connection's lock before a write fails (and is retried).
BUSY_TIMEOUT_S = 5.0


def check_migrations(migrations: Sequence[Migration]) -> int:
    """Return the newest version, after checking the versions run 1, 2, 3... without a gap."""
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise ValueError(f"journal migrations must be numbered 1, 2, 3... in order, got {versions}")
    return len(versions)


def read_version(conn: sqlite3.Connection) -> int:
    """The file's schema version; 0 for a file that was never a journal (or is brand new)."""
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if not has_table:
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _has_objects(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is not None


def create_private_file(path: Path) -> None:
    """Create an empty file readable by its owner only, unless it exists already.

    SQLite gives its -wal and -shm files the database file's permissions, so this covers them too.
    """
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def backup_path(db_path: Path, old_version: int, backups_dir: Path | None, clock: Clock) -> Path:
    """A fresh name ``<stem>-v<old>-<UTC timestamp>.sqlite3`` that no existing file has."""
    folder = backups_dir if backups_dir is not None else db_path.parent
    stamp = _dt.datetime.fromtimestamp(clock.time(), _dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    base = f"{db_path.stem}-v{old_version}-{stamp}"
    candidate = folder / f"{base}.sqlite3"
    n = 1
    while candidate.exists():
        candidate = folder / f"{base}-{n}.sqlite3"
        n += 1
    return candidate


def backup_database(
    conn: sqlite3.Connection,
    db_path: Path,
    old_version: int,
    backups_dir: Path | None,
    clock: Clock,
) -> Path:
    """Copy the open database to a new backup file with SQLite's online backup; return its path."""
    dest = backup_path(db_path, old_version, backups_dir, clock)
    dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    create_private_file(dest)
    target = sqlite3.connect(dest)
    try:
        # The backup API copies a consistent snapshot, WAL content included, unlike a file copy.
        conn.backup(target)
    finally:
        target.close()
    return dest


def _refuse_newer(name: str, found: int, latest: int) -> None:
    if found > latest:
        raise JournalError(
            f"{name} was written by a newer copier_gui (journal schema version {found}); this "
            f"version knows schema versions up to {latest}. The file was left untouched: "
            "upgrade copier_gui, or choose another home folder."
        )


def migrate(
    conn: sqlite3.Connection,
    migrations: Sequence[Migration],
    *,
    name: str,
    db_path: Path | None,
    backups_dir: Path | None,
    clock: Clock,
) -> int:
    """Bring ``conn`` to the newest version in ``migrations``; return the version it had before.

    ``conn`` must be in autocommit mode (``isolation_level=None``) so transactions are explicit.
    """
    latest = check_migrations(migrations)
    found = read_version(conn)
    _refuse_newer(name, found, latest)
    if found == latest:
        return found
    if db_path is not None and (found > 0 or _has_objects(conn)):
        backup_database(conn, db_path, found, backups_dir, clock)
    for migration in migrations[found:]:
        # IMMEDIATE takes the write lock up front, so two copiers opening the same old file cannot
        # both migrate it: the second one sees the new version and skips the step.
        conn.execute("BEGIN IMMEDIATE")
        try:
            if read_version(conn) >= migration.version:
                conn.execute("ROLLBACK")
                continue
            for statement in migration.statements:
                conn.execute(statement)
            if migration.transform is not None:
                migration.transform(conn)
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (migration.version,))
            conn.execute("COMMIT")
        except Exception as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise JournalError(
                f"{name}: migrating the journal to schema version {migration.version} "
                f"({migration.description}) failed: {exc}"
            ) from exc
    return found


def next_seq(conn: sqlite3.Connection) -> int:
    """The seq the next entry gets: after every entry in the file and every one archived from it."""
    (last,) = conn.execute("SELECT MAX(seq) FROM entries").fetchone()
    archived = 0
    if conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'journal_state'"
    ).fetchone():
        row = conn.execute(
            "SELECT value FROM journal_state WHERE key = ?", (ARCHIVED_MAX_SEQ,)
        ).fetchone()
        archived = row[0] if row else 0
    return max(last or 0, archived) + 1


def damaged_message(name: str, exc: BaseException | str) -> str:
    return (f"cannot open the journal {name}: {exc} (it is damaged, or not a copier_gui journal). It was left "
            "untouched: move it aside to start a new one, or choose another folder with --home")


def open_database(
    path: Path | None,
    clock: Clock,
    *,
    migrations: Sequence[Migration] = MIGRATIONS,
    backups_dir: Path | None = None,
) -> sqlite3.Connection:
    """Open (creating if needed) and migrate the journal at ``path``; ``None`` is in memory.

    The connection is in autocommit mode and belongs to the calling thread.
    """
    latest = check_migrations(migrations)
    name = ":memory:" if path is None else str(path)
    try:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            create_private_file(path)
        conn = sqlite3.connect(
            ":memory:" if path is None else path, isolation_level=None, timeout=BUSY_TIMEOUT_S
        )
    except (OSError, sqlite3.Error) as exc:
        raise JournalError(damaged_message(name, exc)) from exc
    try:
        # The version check comes first and only reads: a file from a newer copier must come out
        # exactly as it went in, so even the WAL switch (it rewrites the header) waits.
        _refuse_newer(name, read_version(conn), latest)
        if path is not None:
            if not _has_objects(conn):
                # A new file reclaims archived entries' space in small steps, never a long VACUUM
                # that would stall a running copier; SQLite takes this only before the first table
                # and before the switch to WAL.
                conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise JournalError(
                    f"{name}: SQLite refused WAL mode (got {mode!r}); is the folder on a network "
                    "share? Choose a local home folder."
                )
            # With WAL, NORMAL survives a killed process; only a power cut can lose the last
            # commits, and it cannot corrupt the file. FULL would fsync every batch.
            conn.execute("PRAGMA synchronous=NORMAL")
        migrate(conn, migrations, name=name, db_path=path, backups_dir=backups_dir, clock=clock)
    except JournalError:
        conn.close()
        raise
    except sqlite3.Error as exc:
        conn.close()
        raise JournalError(damaged_message(name, exc)) from exc
    return conn


def open_reader(path: Path, migrations: Sequence[Migration] = MIGRATIONS) -> sqlite3.Connection:
    """Open an existing journal or journal archive to read its entries; nothing is created or migrated.

    Read-write at the file level all the same: SQLite must be able to roll back a copy that a crash
    interrupted before the file can be read. A damaged file, one that is not a journal, or one from
    a newer copier raises JournalError naming it.
    """
    latest = check_migrations(migrations)
    name = str(path)
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, isolation_level=None,
                               timeout=BUSY_TIMEOUT_S)
    except (OSError, sqlite3.Error) as exc:
        raise JournalError(damaged_message(name, exc)) from exc
    try:
        _refuse_newer(name, read_version(conn), latest)
        has_entries = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'entries'"
        ).fetchone()
        if not has_entries:
            raise JournalError(damaged_message(name, "it has no journal entries table"))
    except JournalError:
        conn.close()
        raise
    except sqlite3.Error as exc:
        conn.close()
        raise JournalError(damaged_message(name, exc)) from exc
    return conn
