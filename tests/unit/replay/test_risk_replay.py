"""Replay keeps risk state through a simulated crash, as a real restart does, and stays byte-identical."""

from __future__ import annotations

import yaml

from copier_gui.replay.runner import report_bytes, run_scenario
from copier_gui.replay.scenario import parse_scenario

SCENARIO = yaml.safe_load("""
seed: 2
brokers:
  m: {profile: meridian_ecn}
description: 'daily loss 1 USD (flatten), then a crash: the restarted copier keeps the slave halted'
accounts:
- {id: master, role: master, broker: m, balance: 20000}
- id: slave
  role: slave
  broker: m
  balance: 10000
  rules:
    risk:
      daily_loss: {value: 1, action: flatten}
timeline:
- {at: 2, action: open, id: a, symbol: EURUSD, side: buy, volume: 1.0}
- {at: 10, action: open, id: b, symbol: GBPUSD, side: buy, volume: 0.4}
- {at: 15, action: close, id: a}
- {at: 16, action: close, id: b}
faults:
- {at: 6, kind: copier_crash, restart_after_ms: 1000}
duration_s: 20
""")


def test_a_halt_survives_a_replayed_crash_and_the_report_is_deterministic():
    scenario = parse_scenario(SCENARIO)
    report = run_scenario(scenario)
    assert report["scenario"]["crashes"] == 1
    halts = [e["text"] for e in report["events"] if e["account"] == "slave" and "trading state" in e["text"]]
    # Without the risk state on disk the restarted copier would copy "a" again (and halt again).
    assert halts == ["slave trading state active -> halted"]
    assert [(c["symbol"], c["action"]) for c in report["copies"] if c["action"] == "open"] == [("EURUSD", "open")]
    assert report["accounts"]["slave"]["positions"] == []
    assert report_bytes(report) == report_bytes(run_scenario(parse_scenario(SCENARIO)))
