"""Copying under faults, each behaviour proven by a scenario in faults/: the real copier, connectors
and simulated brokers on virtual time, judged from the report (positions, checkpoints, journal).
docs/faults.md says what each behaviour is and why."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from copier_gui.replay.campaign.oracle import check
from copier_gui.replay.runner import run_scenario
from copier_gui.replay.scenario import load_scenario

FAULTS = Path(__file__).parent / "faults"


@cache
def outcome(name: str) -> dict:
    return run_scenario(load_scenario(FAULTS / f"{name}.yaml"))


def held(name: str, account: str = "slave", report: dict | None = None) -> dict[str, float]:
    """Net lots per symbol (+ long, - short), from the report's final positions or a checkpoint's."""
    positions = (report or outcome(name)["accounts"])[account]["positions"]
    out: dict[str, float] = {}
    for p in positions:
        out[p["symbol"]] = round(out.get(p["symbol"], 0.0) + (p["volume"] if p["side"] == "buy" else -p["volume"]), 8)
    return {s: v for s, v in out.items() if v}


def journal(name: str, account: str = "slave", kind: str | None = None) -> list[dict]:
    return [e for e in outcome(name)["journal"] if e["account"] == account and (kind is None or e["kind"] == kind)]


def checkpoint(name: str, at: float) -> dict:
    (point,) = [c for c in outcome(name)["checkpoints"] if c["at_s"] == at]
    return point["accounts"]


@pytest.mark.parametrize("path", sorted(FAULTS.glob("*.yaml")), ids=lambda p: p.stem)
def test_the_oracle_finds_nothing_wrong(path):
    """Every fault scenario also passes the campaign's oracle, written apart from the planner."""
    scenario = load_scenario(path)
    assert [v.describe() for v in check(scenario, outcome(path.stem))] == []


def test_netting_simultaneous_and_opposite_opens_net_exactly():
    assert held("netting_simultaneous_opens", report=checkpoint("netting_simultaneous_opens", 12.0)) == {
        "EURUSD-ECN": 0.4, "GBPUSD-ECN": 0.2}
    # One tagged deal per master position, each sent once.
    entries = [e["copy_id"] for e in journal("netting_simultaneous_opens", kind="request")]
    assert len(entries) == 4 and len(set(entries)) == 4


def test_netting_a_hedge_leg_closed_late_is_an_exit_and_partial_closes_stay_exact():
    name = "netting_hedge_leg_closed_late"
    assert held(name, report=checkpoint(name, 10.0)) == {"EURUSD-ECN": 0.2}  # 0.3 long - 0.1 short
    assert held(name) == {"EURUSD-ECN": 0.3}
    # The short leg's close 13 s after it opened is followed, not refused as a late entry.
    assert journal(name, kind="refusal") == []
    closing = [e["text"] for e in journal(name, kind="request") if "master position closed" in e["text"]]
    assert closing == [closing[0]] and closing[0].startswith("buy 0.1 EURUSD-ECN")


def test_pending_fills_are_copied_at_market_whatever_became_of_the_copy():
    name = "pending_fill_copied_at_market"
    for account, symbol in (("pendoff", "EURUSD.m"), ("refused", "EURUSD.raw")):
        assert held(name, account) == {symbol: 0.3}, account
        assert outcome(name)["accounts"][account]["orders"] == [], account
    refused = [e["text"] for e in journal(name, "refused", "request")]
    # The copy's move was refused; once the master's order filled, the stale copy was cancelled
    # (not taken for the copier's own price-chasing order) and the fill copied at market.
    assert any(t.startswith("cancel order") and "master order filled" in t for t in refused)
    assert any(t.startswith("cancel order") and "master order no longer pending" in t for t in refused)
    assert any(t.startswith("open buy 0.3 EURUSD.raw") for t in refused)


def test_positions_opened_while_the_copier_was_down_are_copied_after_it():
    name = "outage_open_while_down"
    assert held(name) == {"EURUSD.m": 0.3, "GBPUSD.m": -0.2}
    assert not [e for e in journal(name, kind="refusal") if "already open" in e["text"]]
    starts = [e["at_s"] for e in journal(name, "master", "state") if e["text"] == "copier starting"]
    opens = {e["text"].split()[2]: e["at_s"] for e in journal(name, kind="request")}
    assert starts == [0.0, 3.5, 8.0022]
    assert opens["0.3"] == 3.5 and opens["0.2"] == 8.0022  # each by the copier that came back


def test_autotrading_off_is_explained_and_copying_resumes_within_a_second():
    name = "autotrading_off_and_on"
    waits = [e["text"] for e in journal(name, kind="refusal")]
    assert any(t.startswith("not copied yet: slave is degraded (trading is off: the terminal's 'Algo Trading' "
                            "button is off") for t in waits)
    resumed = [e["at_s"] for e in journal(name, kind="request") if "EURUSD" in e["text"]]
    assert resumed and 6.0 <= resumed[0] <= 7.0
    for account, suffix in (("slave", ".m"), ("late", ".raw")):
        assert held(name, account) == {f"EURUSD{suffix}": 0.4, f"GBPUSD{suffix}": 0.2}


def test_reconnection_within_a_second_and_a_missed_round_trip_is_journaled():
    name = "reconnect_and_round_trip"
    back = [e["at_s"] for e in journal(name, kind="state") if e["text"] == "slave connected"]
    assert back[-1] - 14.0 <= 1.0
    refusals = [e["text"] for e in journal(name, kind="refusal")]
    assert any("was opened and closed at the master while slave was disconnected" in t for t in refusals)
    assert held(name) == {"GBPUSD.m": -0.2}


def test_fifty_master_stop_changes_give_at_most_ten_modifies_ending_on_the_masters():
    name = "stop_drag"
    modifies = [e for e in journal(name, kind="request") if e["text"].startswith("set SL")]
    assert 1 <= len(modifies) <= 10
    (master,) = outcome(name)["accounts"]["master"]["positions"]
    (copy,) = outcome(name)["accounts"]["slave"]["positions"]
    assert copy["sl"] == master["sl"] != 0


def test_two_equal_partial_closes_are_two_requests():
    ids = [e["copy_id"] for e in journal("equal_partial_closes", kind="request")]
    assert len(ids) == 3 and len(set(ids)) == 3
    assert held("equal_partial_closes") == {"EURUSD.m": 0.2}


def test_a_netting_master_s_reversal_is_a_new_entry_under_its_own_copy_id():
    name = "netting_master_reversal"
    assert held(name, "s2-meridian-n") == {"EURUSD": 1.38}  # the master's 0.92 buy, times 1.5
    entries = [e["copy_id"] for e in journal(name, "s2-meridian-n", kind="request")
               if ":entry" in (e["copy_id"] or "")]
    first, again = entries
    assert first.endswith(":entry") and ":entry:buy@" in again



def test_a_netting_master_s_late_reversal_is_copied_as_a_new_entry_within_the_maximum_delay():
    name = "netting_master_late_reversal"
    assert held(name, "master") == {"EUR/USD": -0.42}
    assert held(name, "hedging", checkpoint(name, 20.0)) == {"EURUSD.m": 0.08}
    assert "reversed: EUR/USD buy 8000 units -> sell 42000 units" in journal(name, "master", "master_event")[-1]["text"]
    for slave in ("hedging", "netting"):
        assert list(held(name, slave).values()) == [-0.42], (slave, held(name, slave), journal(name, slave, "refusal"))
        assert not journal(name, slave, "refusal")


def test_an_mt5_netting_master_s_reversal_takes_a_new_ticket_and_the_slaves_follow_it():
    name = "netting_master_reverse_mt5"
    at_40 = checkpoint(name, 40.0)
    for slave in ("hedging", "netting"):
        assert list(held(name, slave, checkpoint(name, 20.0)).values()) == [0.2]
        assert list(held(name, slave, at_40).values()) == [-0.3], slave
        assert list(held(name, slave).values()) == [-0.2], slave
        assert not journal(name, slave, "refusal")
    tickets = {e["text"].split()[1] for e in journal(name, "master", "master_event")}
    assert len(tickets) == 2  # the first ticket, and the reversing order's
