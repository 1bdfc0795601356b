"""The risk gate and its store: figures and halts on disk, through restarts, rule edits, new days and resets."""

from __future__ import annotations

import sqlite3

import pytest

from copier_gui.clock import VirtualClock
from copier_gui.core.model import (
    AccountState,
    Execution,
    Filling,
    Position,
    Side,
    SymbolSpec,
    TradeMode,
    VolumeUnit,
)
from copier_gui.core.planner import DesiredPosition
from copier_gui.core.reconciler import OpenStep
from copier_gui.core.risk import RiskGate, TradingState, describe_reset
from copier_gui.core.riskstore import (
    SCHEMA_VERSION,
    Halt,
    RiskStore,
    RiskStoreError,
    open_risk_store,
)
from copier_gui.core.rules import Limit, LimitAction, PercentLimit, Risk
from tests.kit import WEEKDAY_NOON_UTC

DAY = int(WEEKDAY_NOON_UTC // 86400)
DAILY_FLATTEN = Risk(daily_loss=Limit(value=100, action=LimitAction.FLATTEN))


def account(balance: float, equity: float | None = None) -> AccountState:
    equity = balance if equity is None else equity
    return AccountState(1, "Sim-Server", "Sim Broker", "t", "USD", balance, equity, 0.0, equity, 100, True, True)


def gate_on(store: RiskStore, risk: Risk, name: str = "s1") -> RiskGate:
    return RiskGate.open(risk, store, name, now=lambda: WEEKDAY_NOON_UTC)


def an_entry() -> OpenStep:
    return OpenStep(DesiredPosition(1, "EURUSD", Side.BUY, 0.1, 0.1, 0.0, 0.0, 1.1, 0, 0.1), 0.1)


def test_a_daily_loss_halt_is_on_disk_and_a_restarted_gate_starts_halted(tmp_path):
    path = tmp_path / "risk.sqlite3"
    store = RiskStore(path)
    gate = gate_on(store, DAILY_FLATTEN)
    gate.update(account(10_000), DAY)
    breaches = gate.update(account(10_000, 9_880), DAY)
    assert [b.limit for b in breaches] == ["daily_loss"] and gate.state is TradingState.HALTED
    store.close()

    # After the flatten the balance holds the loss; a fresh gate that measured from it would trade.
    restarted = RiskStore(path)
    gate = gate_on(restarted, DAILY_FLATTEN)
    assert gate.state is TradingState.HALTED and gate.flatten
    assert gate.halt.limit == "daily_loss" and "daily loss 120.00 USD" in gate.halt.text
    gate.update(account(9_880), DAY)
    assert gate.state is TradingState.HALTED
    assert gate.day_start_balance == 10_000, "the day still counts from the first balance"
    allowed, refused, _ = gate.screen([an_entry()], (), {})
    assert allowed == [] and "daily loss 120.00 USD" in refused[0][1]
    restarted.close()


def test_a_rule_edit_keeps_the_halt_and_the_day_start_figures(tmp_path):
    store = RiskStore(tmp_path / "risk.sqlite3")
    gate = gate_on(store, DAILY_FLATTEN)
    gate.update(account(10_000), DAY)
    gate.update(account(10_000, 9_800), DAY)
    edited = gate.with_risk(Risk())  # the trader removes every limit: the halt still stands
    assert edited is not gate and edited.state is TradingState.HALTED
    assert edited.day_start_balance == 10_000 and edited.peak_equity == 10_000
    edited.update(account(9_800), DAY)
    assert edited.state is TradingState.HALTED
    # A stop-entries limit edited in: measured from the same day start, not from now.
    stopping = edited.with_risk(Risk(daily_loss=Limit(value=150)))
    stopping.reset("test")
    stopping.update(account(10_000), DAY)  # re-based at the reset
    raised = stopping.with_risk(Risk(daily_loss=Limit(value=300)))
    raised.update(account(10_000, 9_800), DAY)
    assert raised.state is TradingState.ACTIVE
    lowered = raised.with_risk(Risk(daily_loss=Limit(value=150)))
    new = lowered.update(account(10_000, 9_800), DAY)
    assert lowered.state is TradingState.REDUCING and [b.limit for b in new] == ["daily_loss"]
    store.close()


def test_peak_equity_survives_a_restart_so_drawdown_counts_from_the_true_peak(tmp_path):
    path = tmp_path / "risk.sqlite3"
    risk = Risk(max_drawdown_percent=PercentLimit(value=4))
    store = RiskStore(path)
    gate = gate_on(store, risk)
    gate.update(account(10_000), DAY)
    gate.update(account(10_000, 10_500), DAY)
    assert store.load("s1").peak_equity == 10_500
    store.close()

    store = RiskStore(path)
    gate = gate_on(store, risk)
    new = gate.update(account(10_000, 10_050), DAY)  # 4.29% below the peak seen before the restart
    assert gate.peak_equity == 10_500
    assert gate.state is TradingState.REDUCING and "from peak 10,500.00 USD" in new[0].text
    store.close()


def test_a_new_day_resets_the_day_start_figures_but_not_a_halt(tmp_path):
    store = RiskStore(tmp_path / "risk.sqlite3")
    risk = Risk(daily_loss=Limit(value=100), max_drawdown_percent=PercentLimit(value=5, action=LimitAction.FLATTEN))
    gate = gate_on(store, risk)
    gate.update(account(10_000, 10_000), DAY)
    gate.update(account(10_000, 9_850), DAY)
    assert gate.state is TradingState.REDUCING  # the daily stop
    gate.update(account(9_850, 9_850), DAY + 1)
    assert gate.state is TradingState.ACTIVE, "a daily stop lifts with the new day"
    record = store.load("s1")
    assert (record.day, record.day_start_balance, record.day_start_equity) == (DAY + 1, 9_850, 9_850)
    assert record.peak_equity == 10_000, "the peak is not a daily figure"

    gate.update(account(9_850, 9_400), DAY + 1)  # 6% below the peak: the drawdown flattens
    assert gate.state is TradingState.HALTED and store.load("s1").halt.limit == "max_drawdown_percent"
    gate.update(account(9_400), DAY + 2)
    assert gate.state is TradingState.HALTED, "a new day does not lift a drawdown halt"
    assert gate.day_start_balance == 9_400 and store.load("s1").day == DAY + 2
    assert gate_on(store, risk).state is TradingState.HALTED
    store.close()


def test_a_daily_loss_halt_outlasts_the_day_too(tmp_path):
    store = RiskStore(tmp_path / "risk.sqlite3")
    gate = gate_on(store, DAILY_FLATTEN)
    gate.update(account(10_000), DAY)
    gate.update(account(10_000, 9_800), DAY)
    gate.update(account(9_800), DAY + 1)
    assert gate.state is TradingState.HALTED and gate.day_start_balance == 9_800
    store.close()


def test_a_reset_lifts_the_halt_and_re_bases_the_figures(tmp_path):
    store = RiskStore(tmp_path / "risk.sqlite3")
    gate = gate_on(store, DAILY_FLATTEN)
    gate.update(account(10_000), DAY)
    gate.update(account(10_000, 9_800), DAY)
    before = gate.reset("the test")
    assert before.halt.limit == "daily_loss" and before.day_start_balance == 10_000
    assert gate.state is TradingState.ACTIVE and gate.resets == 1
    record = store.load("s1")
    assert record.halt is None and record.day is None and record.resets == 1 and record.reset_by == "the test"
    # Counted again from now: the same equity no longer breaches.
    assert gate.update(account(9_800), DAY) == [] and gate.state is TradingState.ACTIVE
    assert store.load("s1").day_start_balance == 9_800
    text = describe_reset(before, "USD")
    assert "halt lifted (daily_loss: risk: daily loss 200.00 USD" in text
    assert "day-start balance 10,000.00 USD and peak equity 10,000.00 USD cleared" in text


def test_the_store_keeps_each_account_apart_and_survives_reopening(tmp_path):
    path = tmp_path / "risk.sqlite3"
    store = RiskStore(path)
    store.save_figures("a", DAY, 1.0, 2.0, 3.0)
    store.save_halt("b", Halt("halted", "equity_floor", 5.0, "floor"))
    store.save_figures("b", DAY, 4.0, 4.0, 6.0)
    store.close()
    store = RiskStore(path)
    a, b = store.records()
    assert (a.account, a.day, a.day_start_balance, a.day_start_equity, a.peak_equity, a.halt) == \
        ("a", DAY, 1.0, 2.0, 3.0, None)
    assert b.halt == Halt("halted", "equity_floor", 5.0, "floor") and b.peak_equity == 6.0, "figures keep the halt"
    store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


def test_a_reset_from_another_connection_is_seen(tmp_path):
    path = tmp_path / "risk.sqlite3"
    copier_side, command_line = RiskStore(path), RiskStore(path)
    copier_side.save_halt("s1", Halt("halted", "daily_loss", 1.0, "loss"))
    assert not copier_side.changed_elsewhere()
    command_line.changed_elsewhere()
    command_line.reset("s1", at=2.0, by="the command line")
    assert copier_side.changed_elsewhere()
    record = copier_side.load("s1")
    assert record.halt is None and record.resets == 1 and record.reset_by == "the command line"
    copier_side.close()
    command_line.close()


def test_a_damaged_file_is_refused_with_its_name(tmp_path):
    path = tmp_path / "risk.sqlite3"
    path.write_bytes(b"this is not a database, it is a damaged risk file" * 100)
    with pytest.raises(RiskStoreError, match="risk state file .*risk.sqlite3") as caught:
        RiskStore(path)
    assert not caught.value.newer
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(RiskStoreError, match="not a copier_gui risk state file"):
        RiskStore(other)


def test_an_unreadable_file_is_moved_aside_and_a_newer_one_is_left_alone(tmp_path):
    path, backups = tmp_path / "risk.sqlite3", tmp_path / "backups"
    garbage = b"garbage" * 1000
    path.write_bytes(garbage)
    store = open_risk_store(path, backups_dir=backups, clock=VirtualClock(WEEKDAY_NOON_UTC))
    moved = list(backups.iterdir())
    assert [p.name for p in moved] == ["risk-unreadable-20261125T120000Z.sqlite3"]
    assert moved[0].read_bytes() == garbage
    assert str(path) in store.recovered and str(moved[0]) in store.recovered
    assert "new entries stopped" in store.recovered and store.records() == []
    store.close()

    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(RiskStoreError, match="newer copier_gui") as caught:
        open_risk_store(path, backups_dir=backups, clock=VirtualClock(WEEKDAY_NOON_UTC))
    assert caught.value.newer and len(list(backups.iterdir())) == 1, "a newer file is never moved"


def test_a_failing_write_is_reported_and_the_gate_goes_on_from_memory(tmp_path):
    store = RiskStore(tmp_path / "risk.sqlite3")
    errors = []
    gate = RiskGate.open(DAILY_FLATTEN, store, "s1", now=lambda: 0.0, on_store_error=errors.append)
    store.close()  # as a vanished disk would
    gate.update(account(10_000), DAY)
    gate.update(account(10_000, 9_800), DAY)
    assert gate.state is TradingState.HALTED
    assert errors and all("cannot write the risk state file" in e for e in errors)


def test_lot_limits_count_lots_at_a_slave_whose_volumes_are_units(tmp_path):
    store = RiskStore(tmp_path / "risk.sqlite3")
    gate = gate_on(store, Risk(max_lots_per_symbol=Limit(value=1.0, action=LimitAction.STOP_ENTRIES)))
    gate.update(account(10_000), DAY)
    units = SymbolSpec("EURUSD", "", 5, 1e-5, 100_000.0, 1_000.0, 1_000.0, 10_000_000.0, 0, 0,
                       frozenset({Filling.IOC}), Execution.MARKET, TradeMode.FULL, "EUR", "USD", 1e-5, 1e-5,
                       volume_unit=VolumeUnit.UNITS)
    held = (Position(7, 7, "EURUSD", Side.BUY, 60_000.0, 1.1, 0.0, 0.0, 1, "", 0),)

    def entry(volume: float) -> OpenStep:
        return OpenStep(DesiredPosition(1, "EURUSD", Side.BUY, volume, volume, 0.0, 0.0, 1.1, 0, 0.1), volume)

    # 0.6 lot held: 30,000 units more is 0.9 lot, 50,000 more would be 1.1.
    allowed, refused, _ = gate.screen([entry(30_000.0)], held, {"EURUSD": units})
    assert len(allowed) == 1 and refused == []
    allowed, refused, _ = gate.screen([entry(50_000.0)], held, {"EURUSD": units})
    assert allowed == [] and "1.1 lots on EURUSD would exceed the maximum 1" in refused[0][1]
    store.close()
