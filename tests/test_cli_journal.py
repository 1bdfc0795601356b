"""`copier-gui journal info|archive|export` as a user meets them: real processes, real files."""

from __future__ import annotations

import csv
import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from copier_gui.core.journal import Journal, Kind

OLD = dt.datetime(2025, 3, 1, tzinfo=dt.UTC).timestamp()
DAY_S = 86400.0


def cli(*args: str, home: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "COPIER_GUI_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "copier_gui", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


class SettableClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        self.now += 1e-6
        return self.now


def _old_journal(home: Path, days: int = 10, per_day: int = 50) -> list[str]:
    """A journal with ``per_day`` entries on each of ``days`` days from 2025-03-01; their messages."""
    clock = SettableClock(OLD)
    messages = []
    with Journal(home / "journal.sqlite3", clock) as j:
        for day in range(days):
            for i in range(per_day):
                clock.now = OLD + day * DAY_S + i * 60
                messages.append(f"day {day} entry {i}")
                j.record(Kind.INFO, messages[-1], account="slave-1", filler="x" * 500)
    return messages


def _one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("copier-gui: error:")
    return line


def _exported(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8")))


def test_info_archive_and_export_round_trip(tmp_path):
    messages = _old_journal(tmp_path)
    info = cli("journal", "info", home=tmp_path)
    assert info.returncode == 0, info.stderr
    assert f"journal {tmp_path / 'journal.sqlite3'}: 500 entries from 2025-03-01 00:00:00 UTC to " \
           "2025-03-10 00:49:00 UTC" in info.stdout
    assert "no archives yet" in info.stdout and "copier-gui journal archive --before" in info.stdout

    result = cli("journal", "archive", "--before", "2025-03-05", home=tmp_path)
    assert result.returncode == 0, result.stderr
    archive = tmp_path / "journal-archive" / "journal-until-2025-03-05.sqlite3"
    assert f"200 journal entries from before 2025-03-05 moved to {archive}" in result.stdout
    assert "before," in result.stdout and "after" in result.stdout
    assert archive.exists()

    info = cli("journal", "info", home=tmp_path)
    assert "300 entries from 2025-03-05 00:00:00 UTC" in info.stdout
    assert "journal-until-2025-03-05.sqlite3: 200 entries from 2025-03-01 00:00:00 UTC to 2025-03-04 00:49:00 " \
           "UTC" in info.stdout

    every = tmp_path / "all.csv"
    exported = cli("journal", "export", "--csv", str(every), home=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert "500 journal entries from the journal and 1 archive" in exported.stdout
    assert [r["message"] for r in _exported(every)] == messages

    live = tmp_path / "live.csv"
    exported = cli("journal", "export", "--csv", str(live), "--live-only", home=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert [r["message"] for r in _exported(live)] == messages[200:]

    again = cli("journal", "archive", "--before", "2025-03-05", home=tmp_path)
    assert again.returncode == 0 and "nothing moved" in again.stdout


def test_the_file_shrinks(tmp_path):
    _old_journal(tmp_path, days=10, per_day=400)
    before = (tmp_path / "journal.sqlite3").stat().st_size
    result = cli("journal", "archive", "--before", "2025-03-10", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "journal.sqlite3").stat().st_size < before / 4


@pytest.mark.parametrize(("date", "expected"), [
    ("2025-13-01", "--before takes a date as YYYY-MM-DD"),
    ("yesterday", "--before takes a date as YYYY-MM-DD"),
    ("20250301", "--before takes a date as YYYY-MM-DD"),
    ((dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)).isoformat(), "is in the future"),
])
def test_a_bad_date_is_one_line_and_moves_nothing(tmp_path, date, expected):
    _old_journal(tmp_path, days=2, per_day=3)
    before = (tmp_path / "journal.sqlite3").read_bytes()
    line = _one_error_line(cli("journal", "archive", "--before", date, home=tmp_path))
    assert expected in line and date in line
    assert (tmp_path / "journal.sqlite3").read_bytes() == before
    assert not (tmp_path / "journal-archive").exists()


def test_today_is_a_valid_date(tmp_path):
    _old_journal(tmp_path, days=1, per_day=3)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    result = cli("journal", "archive", "--before", today, home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "3 journal entries" in result.stdout


def test_no_journal_yet(tmp_path):
    for args in (("info",), ("archive", "--before", "2025-01-01"), ("export", "--csv", str(tmp_path / "x.csv"))):
        line = _one_error_line(cli("journal", *args, home=tmp_path / "empty"))
        assert "no journal at" in line


def test_a_damaged_archive_is_named_and_left_untouched(tmp_path):
    _old_journal(tmp_path, days=4, per_day=3)
    folder = tmp_path / "journal-archive"
    folder.mkdir()
    damaged = folder / "journal-until-2025-03-02.sqlite3"
    damaged.write_bytes(b"garbage\n" * 200)
    for args in (("info",), ("export", "--csv", str(tmp_path / "x.csv")), ("archive", "--before", "2025-03-02"),
                 ("archive", "--before", "2025-03-03")):
        line = _one_error_line(cli("journal", *args, home=tmp_path))
        assert str(damaged) in line and "damaged" in line, args
    assert damaged.read_bytes() == b"garbage\n" * 200
    assert not (tmp_path / "x.csv").exists()
    # --live-only does not need the archives.
    assert cli("journal", "export", "--csv", str(tmp_path / "x.csv"), "--live-only", home=tmp_path).returncode == 0


def test_archive_while_a_copier_writes_to_the_journal(tmp_path):
    messages = _old_journal(tmp_path, days=10, per_day=200)
    env = {**os.environ, "COPIER_GUI_HOME": str(tmp_path)}
    copier = subprocess.Popen([sys.executable, "-m", "copier_gui", "--demo", "--headless", "--slaves", "2",
                               "--duration", "60", "--trade-interval", "0.3"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)
    try:
        banner = copier.stdout.readline()
        assert banner.startswith("copier-gui demo:"), copier.stderr.read() if copier.poll() is not None else banner
        result = cli("journal", "archive", "--before", "2025-03-08", home=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "1,400 journal entries" in result.stdout
    finally:
        copier.send_signal(signal.SIGINT)
        _, err = copier.communicate(timeout=60)
    assert copier.returncode == 0, err
    assert "cannot write" not in err and "Traceback" not in err

    every = tmp_path / "all.csv"
    assert cli("journal", "export", "--csv", str(every), home=tmp_path).returncode == 0
    rows = _exported(every)
    assert [r["message"] for r in rows[: len(messages)]] == messages  # each old entry once, in order
    demo = rows[len(messages):]
    assert demo and {"master_event", "request", "result"} <= {r["kind"] for r in demo}
    seqs = [int(r["seq"]) for r in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
