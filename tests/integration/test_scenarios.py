"""End-to-end scenarios: the real copier, connectors and simulated brokers on virtual time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from copier_gui.replay.runner import report_bytes, run_scenario, run_scenario_file
from copier_gui.replay.scenario import load_scenario, parse_scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scenarios"


def dump(scenario) -> dict:
    return scenario.model_dump(mode="json", exclude_unset=True)


def run(name: str) -> dict:
    return run_scenario(load_scenario(EXAMPLES / f"{name}.yaml"))


def copies_of(report: dict, slave: str, master_id: str) -> list[dict]:
    ticket = report["master_ids"][master_id]
    return [c for c in report["copies"] if c["slave"] == slave and c["master_ticket"] == ticket]


def assert_flat(report: dict) -> None:
    for account_id, account in report["accounts"].items():
        assert account["positions"] == [], f"{account_id} still holds {account['positions']}"
        assert account["orders"] == [], f"{account_id} still has orders {account['orders']}"


def no_duplicates_or_orphans(report: dict) -> None:
    """Every slave position links to an open master position, at most once per master position."""
    master = report["accounts"][next(k for k, v in report["accounts"].items() if v["role"] == "master")]
    open_master = {p["master_ticket"] for p in master["positions"]}
    for account_id, account in report["accounts"].items():
        if account["role"] != "slave":
            continue
        links = [p["master_ticket"] for p in account["positions"]]
        assert set(links) <= open_master, f"{account_id} holds an orphan: {account['positions']}"
        if account["profile"] != "summit_netting":
            assert len(links) == len(set(links)), f"{account_id} holds a duplicate: {account['positions']}"


def test_open_modify_partial_close_close_on_three_brokers():
    report = run("basic")
    assert report["failures"] == []
    slaves = ["harbor-eur", "summit-jpy", "apex-prop"]
    for slave in slaves:
        eu = copies_of(report, slave, "eu1")
        assert [c["action"] for c in eu] == ["open", "reduce", "close"], eu
        opened, reduced, closed = eu
        # 40% of the master's volume was closed first, then the rest.
        assert reduced["volume"] == pytest.approx(opened["volume"] * 0.4, abs=0.1)
        assert reduced["volume"] + closed["volume"] == pytest.approx(opened["volume"])
        assert {c["symbol"] for c in eu} == {"EURUSD.m", "EURUSD-ECN", "EURUSD.raw"} & {c["symbol"] for c in eu}
    symbols = {c["slave"]: c["symbol"] for c in report["copies"] if c["master_ticket"] == report["master_ids"]["gold1"]}
    assert symbols == {"harbor-eur": "GOLD.m", "summit-jpy": "XAUUSD-ECN", "apex-prop": "XAUUSD.raw"}
    dow = {c["slave"]: c["volume"] for c in report["copies"]
           if c["master_ticket"] == report["master_ids"]["dow1"] and c["action"] == "open"}
    # 2 lots at 1 per lot = 0.2 lot at 10 per lot = 0.02 lot at 100 per lot: the same exposure.
    assert dow == {"harbor-eur": pytest.approx(0.2), "summit-jpy": pytest.approx(0.02), "apex-prop": pytest.approx(2.0)}
    modified = [e for e in report["events"] if "stops_modified" in e["text"]]
    assert modified, "the master's SL/TP change was not seen"
    assert_flat(report)


def test_stops_are_copied_as_prices():
    scenario = load_scenario(EXAMPLES / "basic.yaml")
    scenario = parse_scenario({**dump(scenario), "timeline": [dump(t) for t in scenario.timeline[:2]]})
    report = run_scenario(scenario)
    master = report["accounts"]["master"]["positions"][0]
    for slave in ("harbor-eur", "summit-jpy", "apex-prop"):
        (pos,) = report["accounts"][slave]["positions"]
        assert (pos["sl"], pos["tp"]) == (master["sl"], master["tp"])


def test_suffix_and_alias_mapping():
    report = run("symbol_mapping")
    mapped = {(c["slave"], c["symbol"]) for c in report["copies"] if c["action"] == "open"}
    assert ("harbor-aliases", "GOLD.m") in mapped
    assert ("summit-auto", "DJ30.cash") in mapped
    assert ("summit-auto", "EURUSD-ECN") in mapped
    refusals = [r for r in report["refusals"] if r["account"] == "apex-strict"]
    assert refusals and all("closest" in r["reason"] for r in refusals)
    assert_flat(report)


def test_lot_step_rounding():
    report = run("lot_step")
    eu = {c["slave"]: c["volume"] for c in report["copies"]
          if c["master_ticket"] == report["master_ids"]["eu"] and c["action"] == "open"}
    assert eu["harbor-half"] == pytest.approx(0.18)  # 0.37 x 0.5 = 0.185, down to the 0.01 step
    assert eu["apex-half"] == pytest.approx(0.1)  # down to the 0.1 step
    reasons = [r["reason"] for r in report["refusals"]]
    assert any("below the minimum 0.1 for GBPUSD.raw" in r for r in reasons)
    assert_flat(report)


def test_crash_in_the_middle_of_a_fanout_then_restart():
    report = run("crash_mid_fanout")
    assert report["scenario"]["crashes"] == 1
    opens = [c for c in report["copies"] if c["action"] == "open"]
    per_slave = {}
    for c in opens:
        per_slave[c["slave"]] = per_slave.get(c["slave"], 0) + 1
    # Each slave got exactly one entry, whether before or after the crash: no duplicate.
    assert per_slave and all(n == 1 for n in per_slave.values()), per_slave
    assert_flat(report)


def test_crash_while_positions_are_open_leaves_no_duplicate_and_no_orphan():
    scenario = load_scenario(EXAMPLES / "crash_mid_fanout.yaml")
    data = dump(scenario)
    data["timeline"] = [t for t in data["timeline"] if t["action"] != "close"]
    report = run_scenario(parse_scenario(data))
    no_duplicates_or_orphans(report)
    master = report["accounts"]["master"]["positions"]
    for account_id, account in report["accounts"].items():
        if account["role"] == "slave":
            assert len(account["positions"]) == len(master), account_id


def test_slave_disconnected_while_the_master_closes_is_closed_on_reconnect():
    report = run("disconnect_during_close")
    offline = [e for e in report["events"] if e["account"] == "apex-offline"]
    assert any("disconnected" in e["text"] for e in offline)
    assert any(e["text"].endswith("connected") for e in offline[1:])
    closes = [c for c in report["copies"] if c["slave"] == "apex-offline" and c["action"] == "close"]
    assert closes, "the offline slave never closed"
    assert_flat(report)


def test_pending_orders_and_early_fills():
    report = run("pending")
    assert_flat(report)
    # A slave whose copy of the buy stop filled before the master's must not close it early.
    btc = report["master_ids"]["brk"]
    early_closes = [c for c in report["copies"] if c["master_ticket"] == btc and c["action"] == "close"]
    assert all(c["master_price"] for c in early_closes), early_closes


def test_chaos_is_survived_without_duplicates():
    report = run("chaos")
    assert_flat(report)
    assert report["refusals"] or report["failures"]


def test_replay_is_byte_identical():
    path = EXAMPLES / "crash_mid_fanout.yaml"
    first = run_scenario_file(path)
    assert first == run_scenario_file(path)
    assert json.loads(first)["copies"]


def test_a_different_seed_gives_a_different_report():
    scenario = load_scenario(EXAMPLES / "basic.yaml")
    other = parse_scenario({**dump(scenario), "seed": 99})
    assert report_bytes(run_scenario(scenario)) != report_bytes(run_scenario(other))
