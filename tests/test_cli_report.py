"""`copier-gui report` as a user meets it: a real copier's journal (and its archive) in the user
folder, real processes, files a browser, a spreadsheet and a script open; one clear line and exit
code 2 for every kind of bad input, never a traceback."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from copier_gui.core import journal_archive as ja
from copier_gui.core.drift_ledger import DriftLedger
from copier_gui.core.journal import Journal
from copier_gui.reports.drift_json import report_json
from tests.unit.reports.journals import T0, two_slaves
from tests.unit.reports.sessions import trade_a_session

DAY = 86400.0


def cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COPIER_GUI_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "copier_gui", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def _one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("copier-gui: error:")
    return line


class _At:
    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now


def _write(path: Path, entries, shift: float = 0.0) -> None:
    """Entries into a journal file at their own times (plus ``shift``)."""
    clock = _At(0.0)
    with Journal(path, clock) as journal:
        for e in entries:
            clock.now = e.wall + shift
            journal.record(e.kind, e.message, account=e.account, **e.data)


@pytest.fixture(scope="module")
def session_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("home")
    trade_a_session(home / "journal.sqlite3")
    return home


def test_a_real_session_gives_every_format_and_a_console_summary(session_home, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    result = cli("report", "--from", "2026-11-25", "--to", "2026-11-25", "--html", str(out / "r.html"),
                 "--csv", str(out / "r.csv"), "--json", str(out / "r.json"), home=session_home)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Drift from 2026-11-25 (UTC, whole days), read from the journal:"
    for slave, currency in (("s0", "EUR"), ("s1", "JPY"), ("s2", "USD")):
        (line,) = [x for x in lines if x.startswith(f"  {slave}: ")]
        # The two largest parts, by size: timing everywhere here, and at the JPY slave the master's
        # USD commission booked in yen as well.
        assert f" {currency} over " in line and "largest parts: " in line and "timing " in line, line
    assert "1 trade not valued" in next(x for x in lines if x.startswith("  s1: "))
    # The files hold what the ledger folds from the same journal for the same period.
    ledger = DriftLedger()
    with Journal(session_home / "journal.sqlite3", _At(0.0)) as journal:
        ledger.feed(journal.entries(newest_first=False))
    start = dt.datetime(2026, 11, 25, tzinfo=dt.UTC).timestamp()
    expected = report_json(ledger.drift(start=start, end=start + DAY), start=start, end=start + DAY,
                           generated_wall=0.0)
    written = json.loads((out / "r.json").read_text())
    assert written["drift"] == expected["drift"]
    assert written["period"]["from"] == "2026-11-25T00:00:00Z" and written["period"]["to"] == "2026-11-26T00:00:00Z"
    html = (out / "r.html").read_text()
    assert "2026-11-25 (UTC, whole days)" in html and "http" not in html
    assert str(session_home) not in html  # the user folder's path names the user: a report is sent on
    for slave, d in expected["drift"].items():
        assert f"{d['tracking_difference']:+,.2f} {d['currency']}" in html, slave
    with (out / "r.csv").open(newline="") as f:
        summaries = {r["slave"]: r for r in csv.DictReader(f) if r["row"] == "summary"}
    assert {s: float(r["total"]) for s, r in summaries.items()} == {
        s: d["tracking_difference"] for s, d in expected["drift"].items()}


def test_a_period_without_the_sessions_trades_shows_the_slaves_with_nothing(session_home, tmp_path):
    result = cli("report", "--from", "2026-11-26", "--to", "2026-11-30", "--json", str(tmp_path / "r.json"),
                 home=session_home)
    assert result.returncode == 0, result.stderr
    drift = json.loads((tmp_path / "r.json").read_text())["drift"]
    assert set(drift) == {"s0", "s1", "s2"} and all(d["trades"] == 0 for d in drift.values())


def test_archived_entries_are_read_before_the_live_journal(tmp_path):
    # The same hand journal, its first half a day earlier, then that day archived.
    entries = two_slaves().entries
    home = tmp_path / "home"
    home.mkdir()
    half = len(entries) // 2
    clock = _At(0.0)
    with Journal(home / "journal.sqlite3", clock) as journal:
        for n, e in enumerate(entries):
            clock.now = e.wall - (DAY if n < half else 0.0)
            journal.record(e.kind, e.message, account=e.account, **e.data)
    with Journal(home / "journal.sqlite3", clock) as journal:
        whole = DriftLedger()
        whole.feed(journal.entries(newest_first=False))
    expected = {s: d.as_json() for s, d in whole.drift(start=T0 - DAY, end=T0 + DAY).items()}
    archived = ja.archive_before(home / "journal.sqlite3", ja.archive_folder(home / "journal.sqlite3"),
                                 dt.date(2026, 11, 25), clock=_At(T0 + DAY))
    assert archived.moved == half
    result = cli("report", "--from", "2026-11-24", "--to", "2026-11-25", "--json", str(tmp_path / "r.json"),
                 home=home)
    assert result.returncode == 0, result.stderr
    assert "read from the journal and 1 archive:" in result.stdout
    assert json.loads((tmp_path / "r.json").read_text())["drift"] == expected
    assert expected["s1"]["trades"] == 4  # the trades opened on the archived day are there


@pytest.mark.parametrize(("args", "says"), [
    (["--from", "2026-11-25", "--to", "2026-11-25"], "say where to write the report"),
    (["--from", "25.11.2026", "--to", "2026-11-25", "--json", "r.json"], "--from takes a day as YYYY-MM-DD"),
    (["--from", "2026-11-25", "--to", "2026-11-31", "--json", "r.json"], "--to takes a day as YYYY-MM-DD"),
    (["--from", "2026-11-25", "--to", "2026-11-20", "--json", "r.json"], "--to 2026-11-20 is before --from"),
    (["--from", "2026-11-25", "--to", "2026-11-25", "--html", "missing/r.html"], "does not exist"),
    (["--from", "2026-11-25", "--to", "2026-11-25", "--csv", "."], "is a folder"),
])
def test_bad_input_is_one_line(session_home, tmp_path, monkeypatch, args, says):
    monkeypatch.chdir(tmp_path)
    line = _one_error_line(cli("report", *args, home=session_home))
    assert says in line, line
    assert not (tmp_path / "r.json").exists()


def test_no_journal_yet(tmp_path):
    line = _one_error_line(cli("report", "--from", "2026-11-25", "--to", "2026-11-25", "--json",
                               str(tmp_path / "r.json"), home=tmp_path / "empty"))
    assert "no journal at" in line and "run the copier first" in line
    assert not (tmp_path / "r.json").exists()


def test_a_damaged_journal_is_named_and_nothing_is_written(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "journal.sqlite3").write_bytes(b"this is not a database" * 100)
    line = _one_error_line(cli("report", "--from", "2026-11-25", "--to", "2026-11-25", "--html",
                               str(tmp_path / "r.html"), home=home))
    assert "journal.sqlite3" in line
    assert not (tmp_path / "r.html").exists()


def test_an_entry_edited_by_hand_is_named(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    _write(home / "journal.sqlite3", two_slaves().entries)
    with sqlite3.connect(home / "journal.sqlite3") as db:
        db.execute("UPDATE entries SET data = ? WHERE kind = 'master_event' AND seq = "
                   "(SELECT MIN(seq) FROM entries WHERE kind = 'master_event')",
                   (json.dumps({"ticket": 7, "side": "sideways", "kind_of_event": "opened", "symbol": "X",
                                "volume": 1, "price_open": 1}),))
    line = _one_error_line(cli("report", "--from", "2026-11-25", "--to", "2026-11-25", "--json",
                               str(tmp_path / "r.json"), home=home))
    assert "cannot be read for a report" in line and "master #7 opened" in line


def test_an_output_that_cannot_be_written(session_home, tmp_path):
    too_long = tmp_path / ("r" * 300 + ".json")  # past every file system's limit for a name
    line = _one_error_line(cli("report", "--from", "2026-11-25", "--to", "2026-11-25", "--json", str(too_long),
                               home=session_home))
    assert "cannot write" in line and "rrrr.json" in line
