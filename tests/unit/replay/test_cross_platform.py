"""Replay across platforms: an MT5 master copied to cTrader slaves over the simulated Open API
(TLS on the run's own virtual-time loop), beside an MT5 slave, and the reverse."""

from __future__ import annotations

from pathlib import Path

import pytest

from copier_gui.replay.runner import play, report_bytes
from copier_gui.replay.scenario import load_scenario

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "scenarios"


@pytest.fixture(scope="module")
def mt5_master():
    return play(load_scenario(EXAMPLES / "cross_platform.yaml"))


def _positions(report: dict, at_s: float, account: str) -> list[tuple]:
    checkpoint = next(c for c in report["checkpoints"] if c["at_s"] == at_s)
    return sorted((p["symbol"], p["side"], p["volume"], p["master_id"]) for p in checkpoint["accounts"][account]["positions"])


def test_every_slave_copies_every_trade_in_its_own_names_and_units(mt5_master):
    report = mt5_master.report
    for slave in ("lumen-usd", "kestrel-eur", "harbor-eur"):
        assert report["summary"][slave]["copies"] == 9, slave
        assert report["summary"][slave]["refusals"] == 0 and report["summary"][slave]["failures"] == 0
        assert report["accounts"][slave]["positions"] == [] and report["accounts"][slave]["orders"] == []
    # A hedged cTrader account holds both EURUSD trades; the netted one holds their net, tagged by
    # the first; volumes are reported in lots of each broker's lot size (100 000 units here).
    assert _positions(report, 15, "lumen-usd") == [("EURUSD", "buy", 0.5, "eu1"), ("EURUSD", "sell", 0.2, "eu2")]
    assert [(s, side, v) for s, side, v, _ in _positions(report, 15, "kestrel-eur")] == [("EUR/USD", "buy", 0.3)]
    # Two lots of the Dow (1 unit a lot at the master) are 2 units at both cTrader brokers.
    assert _positions(report, 58, "lumen-usd") == [("US30", "buy", 2.0, "dow1")]
    assert _positions(report, 58, "kestrel-eur") == [("US 30", "buy", 2.0, "dow1")]
    assert _positions(report, 58, "harbor-eur") == [("US30.m", "buy", 0.2, "dow1")]


def test_the_stops_reach_the_ctrader_slaves(mt5_master):
    events = [e["text"] for e in mt5_master.report["events"] if e["account"] == "lumen-usd"]
    assert any(t.startswith("stops EURUSD sl ") for t in events), events


def test_a_cross_platform_run_is_reproducible_to_the_byte(mt5_master):
    again = play(load_scenario(EXAMPLES / "cross_platform.yaml"))
    assert report_bytes(again.report) == report_bytes(mt5_master.report)


@pytest.fixture(scope="module")
def ctrader_master():
    return play(load_scenario(EXAMPLES / "cross_platform_ctrader_master.yaml"))


def test_a_ctrader_master_reaches_mt5_and_ctrader_slaves(ctrader_master):
    report = ctrader_master.report
    for slave in ("harbor-eur", "summit-jpy", "kestrel-eur"):
        assert report["summary"][slave]["copies"] == 7, slave
        assert report["summary"][slave]["refusals"] == 0 and report["summary"][slave]["failures"] == 0
        assert report["accounts"][slave]["positions"] == [] and report["accounts"][slave]["orders"] == []
    # 0.3 lot of gold (30 oz at the master) is 0.3 lot of 100 oz at harbor and 3 lots of 10 oz at summit.
    gold = {a: [(p["symbol"], p["volume"]) for p in v["positions"]]
            for a, v in next(c for c in report["checkpoints"] if c["at_s"] == 42)["accounts"].items()}
    assert gold["harbor-eur"] == [("GOLD.m", 0.3)] and gold["summit-jpy"] == [("XAUUSD-ECN", 3.0)]
    assert gold["kestrel-eur"] == [("GOLD", 0.3)]
    # The master's pending order is copied to the hedging MT5 slave, moved and cancelled with it.
    orders = next(c for c in report["checkpoints"] if c["at_s"] == 42)["accounts"]["harbor-eur"]["orders"]
    assert [(o["symbol"], o["volume"], o["master_id"]) for o in orders] == [("EURUSD.m", 0.3, "lim")]
    texts = [e["text"] for e in report["events"] if e["account"] == "harbor-eur"]
    assert any(t.startswith("cancelled buy_limit EURUSD.m") for t in texts), texts


def test_drift_costs_scale_by_exposure_across_units(mt5_master):
    # The master's costs reach each slave's attribution in proportion to the exposure it copied,
    # whatever each side counts volume in: not 100 000 times too much for 50 000 units.
    lumen = mt5_master.report["drift"]["lumen-usd"]
    assert lumen["trades"] == 4 and not lumen["unvalued"]
    assert abs(lumen["attribution"]["costs"]) < 50 and abs(lumen["tracking_difference"]) < 50, lumen


def test_every_slave_is_valued_in_its_own_currency(mt5_master):
    drift = mt5_master.report["drift"]
    assert {s: (d["currency"], d["trades"], d["unvalued"]) for s, d in drift.items()} == {
        "lumen-usd": ("USD", 4, []), "kestrel-eur": ("EUR", 4, []), "harbor-eur": ("EUR", 4, [])}
    # Each slave's slippage has a price in money, whichever unit its volumes count in.
    assert all(mt5_master.report["summary"][s]["slippage_total_money"] > 0 for s in drift)


def test_a_ctrader_masters_volumes_are_journaled_in_units(ctrader_master):
    texts = [e["text"] for e in ctrader_master.report["events"] if e["account"] == "master"]
    assert any("opened: buy 50000 units EURUSD" in t for t in texts), texts


def test_a_ctrader_masters_actions_at_one_instant_are_done_in_turn_as_its_trader_would():
    """The cTrader master's trader waits for each order's fill over the Open API: an action due at
    the same instant as the open of its position waits for that open, rather than finding no
    position yet and being skipped (which left the position open, so a later open merged into it
    on a netting master)."""
    from copier_gui.replay.scenario import parse_scenario

    scenario = parse_scenario({
        "duration_s": 6,
        "brokers": {"c": {"profile": "lumen_ctrader"}, "h": {"profile": "harbor_fx"}},
        "accounts": [
            {"id": "master", "role": "master", "broker": "c", "margin_mode": "netting"},
            {"id": "s1", "role": "slave", "broker": "h"},
        ],
        "timeline": [
            {"at": 1, "action": "open", "id": "p1", "symbol": "EURUSD", "side": "buy", "volume": 1.0},
            {"at": 1, "action": "close", "id": "p1"},
            {"at": 2, "action": "open", "id": "p2", "symbol": "EURUSD", "side": "buy", "volume": 0.2},
        ],
    })
    report = play(scenario).report
    skipped = [e["text"] for e in report["events"] if "skipped" in e["text"]]
    assert skipped == []
    held = [(p["symbol"], p["volume"], p["master_id"]) for p in report["accounts"]["master"]["positions"]]
    assert held == [("EURUSD", 0.2, "p2")]
    assert [(p["volume"], p["master_id"]) for p in report["accounts"]["s1"]["positions"]] == [(0.2, "p2")]
