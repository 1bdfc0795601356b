"""The command line as a user meets it: real processes, real files, exit codes."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "scenarios"


def cli(*args: str, home: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "COPIER_GUI_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "copier_gui", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def _until_line(process: subprocess.Popen, word: str, timeout: float) -> list[str]:
    """The lines ``process`` printed up to and including the first holding ``word``; fails after
    ``timeout`` seconds or when the process ends first."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            line = process.stdout.readline()
            if not line:
                pytest.fail(f"the copier ended before printing {word!r}: {''.join(lines)}{process.stderr.read()}")
            lines.append(line)
            if word in line:
                return lines
    pytest.fail(f"no {word!r} within {timeout:g} s: {''.join(lines)}")


def test_headless_demo_copies_and_summarises(tmp_path):
    # Stopped (as Ctrl-C does) once a copy is made, not after a fixed time: on a busy machine the
    # demo's accounts take longer to start, and a short run could end before the first trade.
    env = {**os.environ, "COPIER_GUI_HOME": str(tmp_path)}
    demo = subprocess.Popen([sys.executable, "-m", "copier_gui", "--demo", "--headless", "--slaves", "3",
                             "--duration", "120"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    try:
        before = _until_line(demo, "COPY", timeout=90)
    finally:
        demo.send_signal(signal.SIGINT)
        rest, stderr = demo.communicate(timeout=60)
    assert demo.returncode == 0, stderr
    out = "".join(before) + rest
    assert "Drift summary per slave" in out
    for slave in ("slave-1", "slave-2", "slave-3"):
        assert slave in out.split("Drift summary per slave")[1]
    assert "Traceback" not in stderr
    assert (tmp_path / "journal.sqlite3").exists()

    export = tmp_path / "journal.csv"
    exported = cli("journal", "export", "--csv", str(export), home=tmp_path)
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(export.open(encoding="utf-8")))
    assert rows and {"master_event", "request", "result"} <= {r["kind"] for r in rows}
    assert "demo-password" not in export.read_text(encoding="utf-8")


def test_replay_writes_a_report(tmp_path):
    out = tmp_path / "report.json"
    result = cli("replay", str(EXAMPLES / "basic.yaml"), "--out", str(out), home=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["copies"] and set(report["accounts"]) == {"master", "harbor-eur", "summit-jpy", "apex-prop"}


@pytest.mark.parametrize(("content", "expected"), [
    ("seed: 1\nbrokers: {a: {profile: nope}}\naccounts: []\ntimeline: []\n", "nope"),
    ("seed: [1\n", "YAML"),
    ("seed: 1\nbogus_key: 3\nbrokers: {}\naccounts: []\ntimeline: []\n", "bogus_key"),
])
def test_bad_scenarios_exit_2_with_one_clear_error_and_write_nothing(tmp_path, content, expected):
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(content)
    out = tmp_path / "report.json"
    result = cli("replay", str(scenario), "--out", str(out), home=tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_negative_volume_names_the_field(tmp_path):
    scenario = tmp_path / "neg.yaml"
    text = (EXAMPLES / "basic.yaml").read_text().replace("volume: 1.0", "volume: -1.0", 1)
    scenario.write_text(text)
    result = cli("replay", str(scenario), "--out", str(tmp_path / "r.json"), home=tmp_path)
    assert result.returncode == 2 and "volume" in result.stderr and "timeline[" in result.stderr


def test_scenario_schema_is_json(tmp_path):
    result = cli("scenario-schema", home=tmp_path)
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert "properties" in schema and "timeline" in schema["properties"]


def test_bad_arguments_exit_2(tmp_path):
    assert cli("--demo", "--headless", "--slaves", "0", home=tmp_path).returncode == 2
    missing = cli("journal", "export", "--csv", str(tmp_path / "x.csv"), home=tmp_path / "empty")
    assert missing.returncode == 2 and "no journal" in missing.stderr


def test_a_second_headless_copier_on_the_same_folder_refuses_and_names_it(tmp_path):
    env = {**os.environ, "COPIER_GUI_HOME": str(tmp_path)}
    first = subprocess.Popen([sys.executable, "-m", "copier_gui", "--demo", "--headless", "--slaves", "1",
                              "--duration", "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env)
    try:
        banner = first.stdout.readline()
        assert banner.startswith("copier-gui demo:"), first.stderr.read() if first.poll() is not None else banner
        second = cli("--demo", "--headless", "--slaves", "1", "--duration", "1", home=tmp_path)
        assert second.returncode == 3, second.stderr
        assert f"copier_gui is already running for the user folder {tmp_path}" in second.stderr
        assert "Traceback" not in second.stderr and not second.stdout
        # Reading commands run beside it.
        export = cli("journal", "export", "--csv", str(tmp_path / "j.csv"), home=tmp_path)
        assert export.returncode == 0, export.stderr
        # Another folder is another copier.
        other = cli("--demo", "--headless", "--slaves", "1", "--duration", "0", home=tmp_path / "other")
        assert other.returncode == 0, other.stderr
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
    assert first.returncode == 0
    # The first one has gone: the folder is free again.
    again = cli("--demo", "--headless", "--slaves", "1", "--duration", "0", home=tmp_path)
    assert again.returncode == 0, again.stderr


def test_a_user_folder_that_cannot_be_made_is_bad_input(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    result = cli("--demo", "--headless", "--duration", "0", home=tmp_path / "file" / "home")
    assert result.returncode == 2
    assert f"cannot use the user folder {tmp_path / 'file' / 'home'}" in result.stderr
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------------- bad files, never a traceback


def _newer_journal(path: Path) -> None:
    """A journal as a later copier_gui would leave it: a schema version this one does not know."""
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (999)")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("damage", ["corrupt", "newer"])
def test_a_damaged_or_newer_journal_is_one_line_naming_it_and_is_left_untouched(tmp_path, damage):
    journal = tmp_path / "journal.sqlite3"
    if damage == "corrupt":
        journal.write_bytes(b"this is not a journal\n" * 10)
    else:
        _newer_journal(journal)
    before = journal.read_bytes()
    for args in (("--demo", "--headless", "--duration", "1"), ("journal", "export", "--csv", str(tmp_path / "x.csv"))):
        result = cli(*args, home=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("copier-gui: error:") and str(journal) in line
        assert ("newer copier_gui" in line) if damage == "newer" else ("damaged" in line)
    assert journal.read_bytes() == before


def test_a_home_that_is_a_file_is_named(tmp_path):
    home = tmp_path / "not-a-folder"
    home.write_text("x")
    result = cli("--demo", "--headless", "--duration", "1", home=home)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"copier-gui: error: cannot use the user folder {home}: {home} is a file, "
                                     "not a folder; choose another folder with --home")
    assert home.read_text() == "x"


def test_exporting_the_journal_to_a_folder_is_refused(tmp_path):
    assert cli("--demo", "--headless", "--duration", "1", home=tmp_path).returncode == 0
    result = cli("journal", "export", "--csv", str(tmp_path), home=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{tmp_path} is a folder: give the CSV file's name" in result.stderr


def test_headless_mode_logs_to_a_file_in_the_user_folder(tmp_path):
    # Stopped once an account is connected, not after a fixed time a busy machine may need to start.
    env = {**os.environ, "COPIER_GUI_HOME": str(tmp_path)}
    demo = subprocess.Popen([sys.executable, "-m", "copier_gui", "--demo", "--headless", "--duration", "120",
                             "--log-level", "debug"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    try:
        _until_line(demo, "master connected", timeout=90)
    finally:
        demo.send_signal(signal.SIGINT)
        _, stderr = demo.communicate(timeout=60)
    assert demo.returncode == 0, stderr
    log = (tmp_path / "logs" / "copier_gui.log").read_text(encoding="utf-8")
    lines = log.splitlines()
    assert "copier_gui 0." in lines[0] and "started (headless demo" in lines[0]
    assert "copier_gui stopped" in lines[-1]
    assert " DEBUG " in log and "connected to account" in log
    assert "demo-password" not in log
    refused = cli("--demo", "--headless", "--log-level", "loud", home=tmp_path)
    assert refused.returncode == 2 and "--log-level" in refused.stderr


def test_headless_without_linked_accounts_says_how_to_link_them(tmp_path):
    result = cli("--headless", "--duration", "1", home=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (f"copier-gui: error: no accounts are linked in {tmp_path / 'settings.json'}: "
                                     "link a master and at least one slave with `copier-gui accounts link` (or in "
                                     "the window), or try --demo --headless")


def test_headless_with_a_bad_setting_names_the_file_and_the_field(tmp_path):
    import json

    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"schema_version": 1, "poll_interval_ms": -5, "accounts": []}))
    before = settings.read_bytes()
    result = cli("--headless", "--duration", "1", home=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert str(settings) in result.stderr and "poll_interval_ms" in result.stderr
    assert settings.read_bytes() == before


def test_headless_with_a_master_and_no_slave_refuses_before_starting(tmp_path):
    import json

    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"schema_version": 1, "accounts": [
        {"id": "main", "role": "master", "platform": "demo", "demo_profile": "harbor_fx"}]}))
    result = cli("--headless", "--duration", "1", home=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == ("copier-gui: error: only the master (main) is linked: link at least one "
                                     "slave to copy to")
    assert not (tmp_path / "journal.sqlite3").exists()


def _reader_gone() -> int:
    """The write end of a pipe whose reader has already gone: every write to it fails (EPIPE)."""
    read, write = os.pipe()
    os.close(read)
    return write


def _copies_journaled(journal: Path) -> int:
    if not journal.exists():
        return 0
    with contextlib.closing(sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=5)) as db:
        try:
            return db.execute("SELECT COUNT(*) FROM entries WHERE kind = 'result'").fetchone()[0]
        except sqlite3.OperationalError:  # not made yet
            return 0


def test_a_headless_copier_whose_output_reader_goes_away_goes_on_copying(tmp_path):
    # `copier-gui --headless | tee run.log` on a VPS, and tee ends: the copier must not.
    out = _reader_gone()
    env = {**os.environ, "COPIER_GUI_HOME": str(tmp_path)}
    try:
        copier = subprocess.Popen([sys.executable, "-m", "copier_gui", "--demo", "--headless", "--slaves", "2",
                                   "--duration", "120"], stdout=out, stderr=subprocess.PIPE, text=True, env=env)
    finally:
        os.close(out)
    try:
        deadline = time.monotonic() + 90
        while _copies_journaled(tmp_path / "journal.sqlite3") < 2 and copier.poll() is None:
            assert time.monotonic() < deadline, "no copy journaled within 90 s"
            time.sleep(0.2)
    finally:
        copier.send_signal(signal.SIGINT)
        _, stderr = copier.communicate(timeout=60)
    assert copier.returncode == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
    log = (tmp_path / "logs" / "copier_gui.log").read_text(encoding="utf-8")
    assert log.count("the console's reader went away (BrokenPipeError)") == 1
    assert "listener failed" not in log


@pytest.mark.parametrize("args", [("accounts", "list"), ("http-token",)])
def test_a_command_whose_output_reader_went_away_ends_quietly_with_141(tmp_path, args):
    out = _reader_gone()
    try:
        result = subprocess.run([sys.executable, "-m", "copier_gui", *args], stdout=out, stderr=subprocess.PIPE,
                                text=True, timeout=60, env={**os.environ, "COPIER_GUI_HOME": str(tmp_path)})
    finally:
        os.close(out)
    assert result.returncode == 141 and result.stderr == ""
