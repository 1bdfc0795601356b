"""The runtime opens the risk store in the user's folder; an unreadable one is moved aside, not fatal."""

from __future__ import annotations

import sqlite3

import pytest

from copier_gui.core.risk import TradingState
from copier_gui.core.riskstore import RISK_FILE, SCHEMA_VERSION, Halt, RiskStore
from copier_gui.paths import user_paths
from copier_gui.runtime import RuntimeSetupError
from copier_gui.settings import AccountSettings, Settings
from copier_gui.sim import PROFILES


def build_copier(settings, paths, clock, *, password_lookup=None):
    """The linked accounts' runtime, from the one builder."""
    from copier_gui.assembly import build_runtime
    from copier_gui.runtime import LinkedTerminals

    kwargs = {} if password_lookup is None else {"password_lookup": password_lookup}
    terminals = LinkedTerminals(clock, poll_s=settings.poll_interval_ms / 1000.0, **kwargs)
    return build_runtime(settings, paths, clock, terminals=terminals)



def _settings() -> Settings:
    def demo(account_id, role, profile, login):
        return AccountSettings(id=account_id, role=role, platform="demo", demo_profile=profile, login=login,
                               server=PROFILES[profile].server)

    return Settings(accounts=[demo("master", "master", "meridian_ecn", 7_000_001),
                              demo("harbor", "slave", "harbor_fx", 7_000_002),
                              demo("apex", "slave", "apex_prop", 7_000_003)])


def test_the_copier_starts_from_the_risk_file_in_the_user_folder(tmp_path, weekday_clock):
    paths = user_paths(tmp_path / "home").ensure()
    store = RiskStore(paths.root / RISK_FILE)
    store.save_halt("harbor", Halt("halted", "daily_loss", 1.0, "risk: daily loss"))
    store.close()
    runtime = build_copier(_settings(), paths, weekday_clock, password_lookup=lambda key: None)
    try:
        assert runtime.copier.risk_store.path == paths.root / RISK_FILE
        assert runtime.copier.risk_store.load("harbor").halt.limit == "daily_loss"
    finally:
        runtime.close()


def test_an_unreadable_risk_file_is_moved_aside_and_every_slave_holds_exits_only(tmp_path, weekday_clock):
    paths = user_paths(tmp_path / "home").ensure()
    (paths.root / RISK_FILE).write_bytes(b"not a database" * 300)
    runtime = build_copier(_settings(), paths, weekday_clock, password_lookup=lambda key: None)
    try:
        copier = runtime.copier
        assert {s.id: s.risk_gate.state for s in copier.slaves.values()} == {
            "harbor": TradingState.REDUCING, "apex": TradingState.REDUCING}
        moved = [p.name for p in paths.backups_dir.iterdir() if p.name.startswith("risk-unreadable-")]
        assert len(moved) == 1
        runtime.journal.flush()
        errors = [e.message for e in runtime.journal.entries(kind="error")]
        assert len(errors) == 1 and str(paths.root / RISK_FILE) in errors[0] and moved[0] in errors[0]
    finally:
        runtime.close()


def test_a_risk_file_from_a_newer_copier_refuses_to_start(tmp_path, weekday_clock):
    paths = user_paths(tmp_path / "home").ensure()
    RiskStore(paths.root / RISK_FILE).close()
    with sqlite3.connect(paths.root / RISK_FILE) as conn:
        conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(RuntimeSetupError, match="newer copier_gui"):
        build_copier(_settings(), paths, weekday_clock, password_lookup=lambda key: None)
