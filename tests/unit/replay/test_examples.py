"""Every example scenario shipped in examples/scenarios loads, and each covers what it promises."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from copier_gui.replay.scenario import (
    CopierCrashFault,
    DisconnectFault,
    LatencyFault,
    RejectFault,
    RequoteFault,
    load_scenario,
    parse_scenario,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "scenarios"
FILES = sorted(EXAMPLES.glob("*.yaml"))


def test_the_promised_examples_are_there():
    names = {path.stem for path in FILES}
    assert names >= {
        "basic",
        "symbol_mapping",
        "lot_step",
        "crash_mid_fanout",
        "disconnect_during_close",
        "pending",
        "chaos",
        "terminal_switches",
    }


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_example_loads(path):
    scenario = load_scenario(path)
    assert scenario.description
    assert scenario.slaves


def test_basic_trades_fx_gold_and_the_dow_at_four_brokers():
    scenario = load_scenario(EXAMPLES / "basic.yaml")
    profiles = {scenario.profile_of(a.id) for a in scenario.slaves}
    assert profiles == {"harbor_fx", "summit_netting", "apex_prop"}
    assert scenario.profile_of(scenario.master.id) == "meridian_ecn"
    actions = [a.action for a in scenario.timeline]
    assert {"open", "modify", "partial_close", "close"} <= set(actions)
    assert {getattr(a, "symbol", None) for a in scenario.timeline} >= {"EURUSD", "XAUUSD", "US30"}


def test_symbol_mapping_has_an_explicit_alias():
    scenario = load_scenario(EXAMPLES / "symbol_mapping.yaml")
    aliases = {k: v for s in scenario.slaves for k, v in s.rules.symbols.aliases.items()}
    assert aliases["XAUUSD"] == "GOLD.m"


def test_fault_examples_carry_their_faults():
    crash = load_scenario(EXAMPLES / "crash_mid_fanout.yaml")
    (fault,) = [f for f in crash.faults if isinstance(f, CopierCrashFault)]
    assert fault.restart_after_ms == 1500
    first_open = min(a.at for a in crash.timeline if a.action == "open")
    assert 0 < fault.at - first_open < 1

    disconnect = load_scenario(EXAMPLES / "disconnect_during_close.yaml")
    (outage,) = disconnect.faults
    assert isinstance(outage, DisconnectFault) and outage.duration_ms == 5000
    assert any(
        a.action == "close" and outage.at <= a.at < outage.end_s for a in disconnect.timeline
    )

    chaos = load_scenario(EXAMPLES / "chaos.yaml")
    kinds = {type(f) for f in chaos.faults}
    assert kinds == {RequoteFault, RejectFault, LatencyFault}


def test_pending_example_places_modifies_cancels_and_fills():
    scenario = load_scenario(EXAMPLES / "pending.yaml")
    actions = [a.action for a in scenario.timeline]
    assert {"place_pending", "modify_pending", "cancel_pending"} <= set(actions)
    placed = {a.id for a in scenario.timeline if a.action == "place_pending"}
    # A position action on a pending order's id: the order is expected to have filled.
    assert any(a.action == "close" and a.id in placed for a in scenario.timeline)


def test_the_documented_example_is_a_valid_scenario():
    docs = (EXAMPLES.parents[1] / "docs" / "scenarios.md").read_text(encoding="utf-8")
    block = docs.split("```yaml\n", 1)[1].split("```", 1)[0]
    scenario = parse_scenario(yaml.safe_load(block), source="docs/scenarios.md")
    assert [a.action for a in scenario.timeline] == ["open", "modify", "partial_close", "close"]


def test_terminal_switches_flips_every_switch_and_checks_in_between():
    scenario = load_scenario(EXAMPLES / "terminal_switches.yaml")
    actions = {a.action for a in scenario.timeline}
    assert {"autotrading_off", "autotrading_on", "python_api_off", "python_api_on", "connection_lost",
            "connection_restored"} <= actions
    outages = [f for f in scenario.faults if isinstance(f, DisconnectFault)]
    assert [f.account for f in outages] == [scenario.master.id]
    (reject,) = [f for f in scenario.faults if isinstance(f, RejectFault)]
    assert reject.retcode == 10024
    assert scenario.checkpoints
    # A master close comes while a slow slave's open of the same position is still in flight.
    (slow,) = [f for f in scenario.faults if isinstance(f, LatencyFault)]
    opened = {a.id: a.at for a in scenario.timeline if a.action == "open"}
    closes = [a for a in scenario.timeline if a.action == "close" and a.id in opened]
    assert any(slow.at <= opened[a.id] < a.at < opened[a.id] + slow.median_ms / 1000 for a in closes)
