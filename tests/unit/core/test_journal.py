"""The journal: what record() stamps and keeps, batching off the hot path, migrations, exports."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import enum
import hashlib
import logging
import sqlite3
import threading
import time

import pytest

from copier_gui.clock import VirtualClock
from copier_gui.core import journal_schema
from copier_gui.core.journal import (
    REDACTED,
    Journal,
    JournalEntry,
    JournalError,
    Kind,
    is_secret_key,
)
from copier_gui.core.journal_schema import MIGRATIONS, Migration

START = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC).timestamp()
# The versions are relative to this copier's newest, so the tests hold as migrations are added.
LATEST = len(MIGRATIONS)
NEXT = LATEST + 1
V2 = (*MIGRATIONS, Migration(NEXT, "a note column", ("ALTER TABLE entries ADD COLUMN note TEXT",)))


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def db(tmp_path):
    return tmp_path / "journal.sqlite3"


@pytest.fixture
def journal(db, clock):
    with Journal(db, clock) as j:
        yield j


def _version(path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT version FROM schema_version").fetchone()[0]
    finally:
        conn.close()


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Side(enum.Enum):
    BUY = "buy"


@dataclasses.dataclass
class Login:
    login: int
    server: str
    password: str


# -- round trip ---------------------------------------------------------------------------------


def test_round_trip_with_filters(journal):
    journal.record(Kind.MASTER_EVENT, "opened", account="master", volume=1.0)
    journal.record(Kind.PLAN, "plan s1", account="s1", copy_id="c1", volume=0.5)
    journal.record(Kind.REQUEST, "send s1", account="s1", copy_id="c1")
    journal.record(Kind.REFUSAL, "risk: max lots", account="s2", copy_id="c2", reason="max_lots")

    everything = journal.entries()
    assert [e.message for e in everything] == ["risk: max lots", "send s1", "plan s1", "opened"]
    assert [e.seq for e in journal.entries(kind=Kind.PLAN)] == [2]
    assert [e.message for e in journal.entries(account="s1")] == ["send s1", "plan s1"]
    assert [e.seq for e in journal.entries(copy_id="c1")] == [3, 2]
    assert [e.seq for e in journal.entries(account="s1", kind=Kind.REQUEST)] == [3]
    assert journal.entries(kind="nothing") == []

    refusal = journal.entries(kind=Kind.REFUSAL)[0]
    assert isinstance(refusal, JournalEntry)
    assert (refusal.account, refusal.copy_id, refusal.data) == ("s2", "c2", {"reason": "max_lots"})
    assert journal.entries(kind=Kind.MASTER_EVENT)[0].copy_id is None
    assert journal.entries(kind=Kind.MASTER_EVENT)[0].data == {"volume": 1.0}


def test_newest_first_by_default_and_limit(journal):
    for i in range(10):
        journal.record(Kind.INFO, f"m{i}")
    assert [e.seq for e in journal.entries(limit=3)] == [10, 9, 8]
    assert [e.seq for e in journal.entries(limit=3, newest_first=False)] == [1, 2, 3]
    assert journal.entries(limit=0) == []
    with pytest.raises(ValueError):
        journal.entries(limit=-1)


def test_entries_after_a_seq_are_only_the_newer_ones(journal):
    # A reader that keeps up (the window's drift view) asks only for what came after the last
    # entry it has, in chunks, instead of reading the whole journal again.
    for i in range(6):
        journal.record(Kind.INFO if i % 2 else Kind.STATE, f"m{i}")
    assert [e.seq for e in journal.entries(after_seq=3, newest_first=False)] == [4, 5, 6]
    assert [e.seq for e in journal.entries(after_seq=0, newest_first=False, limit=2)] == [1, 2]
    assert [e.seq for e in journal.entries(after_seq=2, newest_first=False, limit=2)] == [3, 4]
    assert [e.seq for e in journal.entries(after_seq=1, kind=Kind.INFO, newest_first=False)] == [2, 4, 6]
    assert journal.entries(after_seq=6) == []
    journal.record(Kind.INFO, "later")
    assert [e.message for e in journal.entries(after_seq=6)] == ["later"]
    with pytest.raises(ValueError):
        journal.entries(after_seq=-1)


def test_record_returns_consecutive_seqs(journal):
    assert [journal.record(Kind.INFO, "x") for _ in range(5)] == [1, 2, 3, 4, 5]


def test_same_records_give_byte_identical_journals(tmp_path):
    """Replay's promise: the same inputs on a virtual clock produce the same journal."""

    def run(name):
        clock = VirtualClock(START)
        with Journal(tmp_path / f"{name}.sqlite3", clock) as j:
            for i in range(200):
                j.record(Kind.PLAN, f"plan {i}", account=f"s{i % 3}", copy_id=f"c{i}", lots=i / 100)
                clock.advance(0.013)
            j.export_csv(tmp_path / f"{name}.csv")
            return [dataclasses.astuple(e) for e in j.entries()]

    assert run("a") == run("b")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_timestamps_are_taken_when_record_is_called(journal, clock):
    journal.record(Kind.INFO, "first")
    clock.advance(2.5)
    journal.record(Kind.INFO, "second")
    clock.advance(100.0)  # before the write: must not leak into the entries
    first, second = journal.entries(newest_first=False)
    assert (first.wall, first.mono) == (START, 0.0)
    assert (second.wall, second.mono) == (START + 2.5, 2.5)
    assert second.wall_utc == dt.datetime(2026, 11, 25, 12, 0, 2, 500000, tzinfo=dt.UTC)


def test_entries_survive_reopening_and_seq_continues(db, clock):
    with Journal(db, clock) as j:
        j.record(Kind.INFO, "before")
    with Journal(db, clock) as j:
        assert j.record(Kind.INFO, "after") == 2
        assert [e.message for e in j.entries()] == ["after", "before"]


@pytest.mark.parametrize("path", [None, ":memory:"])
def test_in_memory_journal(path, clock):
    with Journal(path, clock) as j:
        assert j.path is None
        j.record(Kind.INFO, "kept in memory", n=1)
        assert [(e.message, e.data) for e in j.entries()] == [("kept in memory", {"n": 1})]


# -- the hot path and batching ------------------------------------------------------------------


def test_ten_thousand_records_are_fast_batched_and_complete(journal):
    started = time.perf_counter()
    for i in range(10_000):
        journal.record(Kind.RESULT, "filled", account="s1", i=i, price=1.08345)
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5, f"10,000 record() calls took {elapsed:.3f} s"
    journal.flush()
    assert journal.entries_written == 10_000
    assert journal.batches_written <= 100, journal.batches_written  # batches, not one per entry
    seqs = [e.seq for e in journal.entries(newest_first=False)]
    assert seqs == list(range(1, 10_001))


def test_the_writer_commits_without_a_flush_on_its_interval(db, clock):
    with Journal(db, clock, batch_interval_s=0.01) as j:
        j.record(Kind.INFO, "on its own")
        _wait_for(lambda: j.entries_written == 1)


def test_a_full_batch_is_written_before_the_interval(db, clock):
    with Journal(db, clock, batch_interval_s=3600, batch_size=10) as j:
        for _ in range(10):
            j.record(Kind.INFO, "x")
        _wait_for(lambda: j.entries_written == 10)


def _wait_for(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the writer did not commit in time"
        time.sleep(0.005)


def test_record_from_many_threads(journal):
    def worker(n):
        for i in range(2_500):
            journal.record(Kind.INFO, "t", account=f"t{n}", i=i)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = journal.entries(newest_first=False)
    assert len(entries) == 10_000
    assert [e.seq for e in entries] == list(range(1, 10_001))
    for n in range(4):
        mine = [e.data["i"] for e in journal.entries(account=f"t{n}", newest_first=False)]
        assert mine == list(range(2_500))  # each thread's own order is kept


def test_wal_mode_is_on(journal, db):
    journal.record(Kind.INFO, "x")
    journal.flush()
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert {"entries_kind", "entries_account", "entries_copy_id"} <= indexes
    finally:
        conn.close()
    assert _version(db) == LATEST


# -- data ---------------------------------------------------------------------------------------


def test_data_is_converted_to_json(journal):
    @dataclasses.dataclass
    class Fill:
        side: Side
        price: float

    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    journal.record(
        Kind.RESULT,
        "filled",
        side=Side.BUY,
        fill=Fill(Side.BUY, 1.5),
        when=when,
        tags={"b", "a"},
        pair=(1, 2),
        other=object,
        price=0.1 + 0.2,
        nan=float("nan"),
    )
    data = journal.entries()[0].data
    assert data["side"] == "buy"
    assert data["fill"] == {"side": "buy", "price": 1.5}
    assert data["when"] == "2026-01-02T03:04:05+00:00"
    assert data["tags"] == ["a", "b"]
    assert data["pair"] == [1, 2]
    assert data["other"] == str(object)
    assert data["price"] == 0.1 + 0.2  # floats keep every bit
    assert data["nan"] != data["nan"]


def test_data_is_captured_at_record_time(journal):
    legs = {"volume": 1.0}
    journal.record(Kind.PLAN, "plan", legs=legs)
    legs["volume"] = 99.0
    assert journal.entries()[0].data == {"legs": {"volume": 1.0}}


def test_self_referencing_data_does_not_hang(journal):
    loop: dict = {}
    loop["self"] = loop
    journal.record(Kind.INFO, "loop", loop=loop)
    assert "loop" in journal.entries()[0].data


def test_secrets_never_reach_the_journal(journal, db):
    secret = "hunter2-s3cr3t"
    journal.record(
        Kind.STATE,
        "account linked",
        account="s1",
        login=123,
        password=secret,
        Investor_PASSWORD=secret,
        passwd=secret,
        api_token=secret,
        nested={"broker": {"client_secret": secret, "server": "Demo"}, "list": [{"token": secret}]},
        creds=Login(123, "Demo", secret),
        secrets={"anything": "inside"},
    )
    journal.flush()
    data = journal.entries()[0].data
    assert data["login"] == 123
    assert data["password"] == data["Investor_PASSWORD"] == data["passwd"] == REDACTED
    assert data["api_token"] == REDACTED
    assert data["nested"] == {
        "broker": {"client_secret": REDACTED, "server": "Demo"},
        "list": [{"token": REDACTED}],
    }
    assert data["creds"] == {"login": 123, "server": "Demo", "password": REDACTED}
    assert data["secrets"] == REDACTED
    journal.close()
    files = list(db.parent.glob(db.name + "*"))  # the database, and its -wal if one is left
    assert db in files
    for file in files:
        assert secret.encode() not in file.read_bytes(), file


def test_secret_key_names():
    for name in ("password", "PassWord", "mt5_passwd", "Secret", "refresh_token", "passphrase"):
        assert is_secret_key(name), name
    for name in ("login", "server", "pass_through", "volume"):
        assert not is_secret_key(name), name


def test_kinds_are_plain_strings():
    assert Kind.MASTER_EVENT == "master_event"
    assert set(Kind.ALL) == {
        "master_event", "plan", "request", "result", "correction", "refusal", "state", "error",
        "info", "marks", "deals",
    }  # fmt: skip


def test_any_kind_is_accepted(journal):
    journal.record("custom_kind", "x")
    assert journal.entries(kind="custom_kind")[0].kind == "custom_kind"


# -- CSV ----------------------------------------------------------------------------------------


def test_export_csv(journal, clock, tmp_path):
    journal.record(Kind.MASTER_EVENT, 'opened, "quoted"', account="m", volume=1.0)
    clock.advance(0.25)
    journal.record(Kind.PLAN, "plan", account="s1", copy_id="c1")
    out = tmp_path / "export.csv"
    assert journal.export_csv(out) == 2
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == [
        "seq",
        "wall_utc_iso",
        "mono",
        "kind",
        "account",
        "copy_id",
        "message",
        "data",
    ]
    assert rows[1] == [
        "1", "2026-11-25T12:00:00.000000+00:00", "0.0", "master_event", "m", "",
        'opened, "quoted"', '{"volume":1.0}',
    ]  # fmt: skip
    assert rows[2] == [
        "2", "2026-11-25T12:00:00.250000+00:00", "0.25", "plan", "s1", "c1", "plan", "{}",
    ]  # fmt: skip


def test_export_of_an_empty_journal(journal, tmp_path):
    assert journal.export_csv(tmp_path / "empty.csv") == 0
    assert (tmp_path / "empty.csv").read_text(encoding="utf-8").splitlines() == [
        "seq,wall_utc_iso,mono,kind,account,copy_id,message,data"
    ]


# -- lifecycle and failures ---------------------------------------------------------------------


def test_close_is_idempotent_and_then_record_refuses(db, clock):
    j = Journal(db, clock)
    j.record(Kind.INFO, "x")
    j.close()
    j.close()
    j.flush()  # nothing left to do
    with pytest.raises(JournalError, match="closed"):
        j.record(Kind.INFO, "too late")
    with Journal(db, clock) as again:
        assert len(again.entries()) == 1


def test_a_failed_write_is_retried_and_nothing_is_lost(db, clock, monkeypatch, caplog):
    monkeypatch.setattr(journal_schema, "BUSY_TIMEOUT_S", 0.05)
    with Journal(db, clock, batch_interval_s=0.01) as j:
        j.record(Kind.INFO, "first")
        j.flush()
        # Another connection holds the write lock: every batch now fails with "locked".
        blocker = sqlite3.connect(db, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        with caplog.at_level(logging.ERROR, logger="copier_gui.journal"):
            j.record(Kind.INFO, "second")
            with pytest.raises(JournalError, match="did not commit"):
                j.flush(timeout=0.3)
        assert isinstance(j.error, sqlite3.OperationalError)
        assert any("keeping them" in r.message for r in caplog.records)
        # The writer holds "second" for its next try: not queued any more, but not saved either.
        assert j.unsaved == 1
        blocker.execute("ROLLBACK")
        blocker.close()
        j.flush()
        assert j.error is None
        assert j.unsaved == 0
        assert [e.message for e in j.entries()] == ["second", "first"]


def test_a_dead_writer_is_loud(db, clock, caplog):
    j = Journal(db, clock, batch_interval_s=0.01)
    j.record(Kind.INFO, "committed before the crash")

    def broken(conn, request):
        raise RuntimeError("disk on fire")

    j._serve = broken  # something outside the retried write step fails
    with (
        caplog.at_level(logging.CRITICAL, logger="copier_gui.journal"),
        pytest.raises(JournalError, match="died"),
    ):
        j.flush()
    assert not j._thread.is_alive()
    assert any(r.levelno == logging.CRITICAL for r in caplog.records)
    with pytest.raises(JournalError, match="died"):
        j.flush()
    with pytest.raises(JournalError, match="died"):
        j.record(Kind.INFO, "nobody would write this")
    j.close()
    with Journal(db, clock) as again:
        assert [e.message for e in again.entries()] == ["committed before the crash"]


# -- schema and migrations ----------------------------------------------------------------------


def test_migrating_backs_up_first_and_keeps_the_data(db, clock, tmp_path):
    with Journal(db, clock) as j:
        j.record(Kind.INFO, "from v1", account="a", n=1)
    before = _sha(db)
    backups = tmp_path / "backups"
    clock.set(dt.datetime(2027, 3, 4, 5, 6, 7, tzinfo=dt.UTC).timestamp())

    with Journal(db, clock, migrations=V2, backups_dir=backups) as j:
        assert [(e.message, e.data) for e in j.entries()] == [("from v1", {"n": 1})]
        j.record(Kind.INFO, "from v2")
        j.flush()
    assert _version(db) == NEXT
    conn = sqlite3.connect(db)
    assert "note" in [r[1] for r in conn.execute("PRAGMA table_info(entries)")]
    conn.close()

    (backup,) = backups.iterdir()
    assert backup.name == f"journal-v{LATEST}-20270304T050607Z.sqlite3"
    assert _version(backup) == LATEST
    conn = sqlite3.connect(backup)
    assert conn.execute("SELECT message FROM entries").fetchall() == [("from v1",)]
    conn.close()
    assert before != _sha(db)

    # Already at v2: no second backup.
    with Journal(db, clock, migrations=V2, backups_dir=backups):
        pass
    assert len(list(backups.iterdir())) == 1


def test_backup_goes_next_to_the_file_without_a_backups_dir(db, clock):
    with Journal(db, clock) as j:
        j.record(Kind.INFO, "x")
    with Journal(db, clock, migrations=V2):
        pass
    with Journal(db, clock, migrations=(*V2, Migration(NEXT + 1, "noop", ()))):
        pass
    names = sorted(p.name for p in db.parent.glob("journal-v*.sqlite3"))
    assert names == [f"journal-v{LATEST}-20261125T120000Z.sqlite3", f"journal-v{NEXT}-20261125T120000Z.sqlite3"]


def test_a_new_file_is_not_backed_up(db, clock, tmp_path):
    with Journal(db, clock, migrations=V2, backups_dir=tmp_path / "backups"):
        pass
    assert not (tmp_path / "backups").exists()
    assert _version(db) == NEXT


def test_a_file_from_a_newer_copier_is_refused_untouched(db, clock):
    with Journal(db, clock, migrations=V2) as j:
        j.record(Kind.INFO, "written by v2")
    before = _sha(db)
    with pytest.raises(JournalError) as caught:
        Journal(db, clock)
    message = str(caught.value)
    assert str(db) in message
    assert f"version {NEXT}" in message and f"up to {LATEST}" in message
    assert _sha(db) == before
    assert list(db.parent.glob("journal-v*")) == []


def test_a_failing_migration_rolls_back_and_says_so(db, clock):
    with Journal(db, clock) as j:
        j.record(Kind.INFO, "kept")
    broken = (*MIGRATIONS, Migration(NEXT, "broken step", ("ALTER TABLE nowhere ADD COLUMN x",)))
    with pytest.raises(JournalError, match=f"schema version {NEXT}"):
        Journal(db, clock, migrations=broken)
    assert _version(db) == LATEST
    with Journal(db, clock) as j:
        assert [e.message for e in j.entries()] == ["kept"]


def test_migrations_must_be_numbered_in_order(clock):
    with pytest.raises(ValueError, match="numbered"):
        Journal(None, clock, migrations=(Migration(2, "gap", ()),))


def test_a_file_that_is_not_a_database(tmp_path, clock):
    bad = tmp_path / "journal.sqlite3"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(JournalError, match="journal.sqlite3"):
        Journal(bad, clock)


def test_the_journal_file_is_private(db, clock):
    import stat
    import sys

    with Journal(db, clock) as j:
        j.record(Kind.INFO, "x")
    if sys.platform != "win32":
        assert stat.S_IMODE(db.stat().st_mode) & 0o077 == 0


# -- record_soon: the copy path's requests ------------------------------------------------------


@pytest.mark.asyncio
async def test_record_soon_queues_on_the_next_turn_stamped_when_called(journal, clock):
    import asyncio

    @dataclasses.dataclass(frozen=True)
    class Request:
        symbol: str
        volume: float

    journal.record_soon("request", "open buy 0.1 EURUSD", account="s1", copy_id="cg:1", request=Request("EURUSD", 0.1))
    called_at = clock.time()
    clock.advance(2.0)
    # Nothing yet in this turn: the fan-out's other sends go first.
    assert journal.entries(kind="request") == []
    await asyncio.sleep(0)
    journal.record("result", "filled", account="s1", copy_id="cg:1")
    request, result = journal.entries(copy_id="cg:1", newest_first=False)
    assert (request.kind, request.seq < result.seq) == ("request", True)
    assert request.wall == called_at and request.data == {"request": {"symbol": "EURUSD", "volume": 0.1}}


@pytest.mark.asyncio
async def test_record_soon_then_close_in_the_same_turn_commits_the_entry(db, clock):
    journal = Journal(db, clock)
    journal.record_soon("request", "open", account="s1")
    journal.close()
    with Journal(db, clock) as again:
        assert [e.message for e in again.entries(kind="request")] == ["open"]


def test_record_soon_left_by_a_loop_that_ended_is_queued_by_the_next(journal):
    import asyncio

    async def ask(message: str) -> None:
        journal.record_soon("request", message, account="s1")

    loop = asyncio.new_event_loop()
    loop.run_until_complete(ask("first"))  # its loop stops before the next turn
    loop.close()
    asyncio.run(ask("second"))
    assert [e.message for e in journal.entries(kind="request", newest_first=False)] == ["first", "second"]
