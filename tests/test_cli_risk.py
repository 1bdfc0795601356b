"""``copier-gui risk show`` and ``risk reset``: they edit the risk file in the user's folder, no copier needed."""

from __future__ import annotations

from copier_gui.cli import main
from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.core.journal import Journal
from copier_gui.core.riskstore import RISK_FILE, Halt, RiskStore
from tests.kit import WEEKDAY_NOON_UTC

DAY = int(WEEKDAY_NOON_UTC // 86400)


def _halted_store(home):
    home.mkdir(parents=True, exist_ok=True)
    store = RiskStore(home / RISK_FILE)
    store.save_figures("slave-1", DAY, 10_000.0, 10_020.0, 10_250.0)
    store.save_halt("slave-1", Halt("halted", "max_drawdown_percent", WEEKDAY_NOON_UTC, "risk: drawdown 6.00%"))
    store.save_figures("slave-2", DAY, 5_000.0, 5_000.0, 5_000.0)
    store.close()


def test_show_prints_each_slave_with_its_figures_and_halt(tmp_path, capsys):
    assert main(["--home", str(tmp_path), "risk", "show"]) == 0
    assert "no risk state yet" in capsys.readouterr().out
    _halted_store(tmp_path)
    assert main(["--home", str(tmp_path), "risk", "show"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "slave-1: day 2026-11-25, day-start balance 10,000.00, equity 10,020.00, peak equity 10,250.00; "
        "halted since 2026-11-25 12:00:00 UTC: risk: drawdown 6.00%",
        "slave-2: day 2026-11-25, day-start balance 5,000.00, equity 5,000.00, peak equity 5,000.00; not halted",
    ]


def test_reset_lifts_the_halt_and_journals_it_with_no_copier_running(tmp_path, capsys):
    _halted_store(tmp_path)
    assert main(["--home", str(tmp_path), "risk", "reset", "slave-1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("risk reset for slave-1 by the command line: halt lifted (max_drawdown_percent: "
                          "risk: drawdown 6.00%); day-start balance 10,000.00 and peak equity 10,250.00 cleared")
    store = RiskStore(tmp_path / RISK_FILE)
    record, untouched = store.load("slave-1"), store.load("slave-2")
    store.close()
    assert record.halt is None and record.day is None and record.peak_equity == 0.0
    assert record.resets == 1 and record.reset_by == "the command line"
    assert untouched.day_start_balance == 5_000.0
    with Journal(tmp_path / "journal.sqlite3", SYSTEM_CLOCK) as journal:
        entries = journal.entries(kind="state")
    assert len(entries) == 1 and entries[0].account == "slave-1"
    assert entries[0].message == out.splitlines()[0]
    assert entries[0].data["halt_limit"] == "max_drawdown_percent" and entries[0].data["peak_equity"] == 10_250.0


def test_reset_of_an_unknown_account_or_with_no_file_is_refused(tmp_path, capsys):
    assert main(["--home", str(tmp_path), "risk", "reset", "slave-1"]) == 2
    assert "no risk state at" in capsys.readouterr().err
    _halted_store(tmp_path)
    assert main(["--home", str(tmp_path), "risk", "reset", "slave-9"]) == 2
    err = capsys.readouterr().err
    assert "no risk state for account 'slave-9' (accounts with risk state: slave-1, slave-2)" in err
    assert not (tmp_path / "journal.sqlite3").exists(), "nothing journaled for a refused reset"


def test_a_damaged_risk_file_is_named_and_left_as_it_is(tmp_path, capsys):
    path = tmp_path / RISK_FILE
    path.write_bytes(b"damaged" * 500)
    for command in (["risk", "show"], ["risk", "reset", "slave-1"]):
        assert main(["--home", str(tmp_path), *command]) == 2
        err = capsys.readouterr().err
        assert err.startswith("copier-gui: error: ") and str(path) in err and "Traceback" not in err
        assert "moves it aside" in err
    assert path.read_bytes() == b"damaged" * 500
