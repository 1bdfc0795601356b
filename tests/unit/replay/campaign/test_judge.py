"""A copy closed by the slave's own broker in a run's last moments is not a missed trade: the
copier journals why at its next look, and the campaign gives it that look before judging."""

from __future__ import annotations

from copier_gui.replay.campaign.judge import judge
from copier_gui.replay.campaign.oracle import MISSING, WRONG_VOLUME, check
from copier_gui.replay.runner import run_scenario
from copier_gui.replay.scenario import parse_scenario

_REVERSED = {"sizing": {"mode": "fixed_lot", "lots": 0.1, "rounding": "nearest", "min_lot": 0.1},
             "tolerances": {"max_delay_ms": 600000, "max_price_deviation": {"value": 1000000, "unit": "point"}},
             "copy_partial_closes": False, "filters": {"reverse": True}}

# Reversed onto a netting slave, the master's take profit 7 points away becomes the slave's stop
# loss at that price; it is hit at the slave (a spread earlier than the master's target) at
# 74.49 s, after the copier's pass at 74 s and before its next at 76 s, with the run ending at
# 74.873 s.
STOP_HIT_AT_THE_END = {
    "description": "a slave's stop hit between the copier's last look and the end", "seed": 40098,
    "duration_s": 74.873,
    "brokers": {"b": {"profile": "summit_netting"}},
    "accounts": [
        {"id": "master", "role": "master", "broker": "b", "margin_mode": "hedging", "balance": 30000000.0,
         "leverage": 500},
        {"id": "summit", "role": "slave", "broker": "b", "margin_mode": "netting", "balance": 30000000.0,
         "leverage": 500, "rules": _REVERSED},
    ],
    "timeline": [
        {"at": 31.473, "action": "open", "id": "p3", "symbol": "EURUSD-ECN", "side": "sell", "volume": 0.5,
         "sl_points": 279, "tp_points": 7},
        {"at": 34.173, "action": "open", "id": "p6", "symbol": "EURUSD-ECN", "side": "sell", "volume": 0.3,
         "sl_points": 298, "tp_points": 232},
        {"at": 34.873, "action": "close", "id": "p6"},
    ],
    "faults": [], "checkpoints": [],
}


def test_a_stop_hit_at_the_slave_after_the_copiers_last_look_is_not_a_missed_trade():
    scenario = parse_scenario(STOP_HIT_AT_THE_END)
    report = run_scenario(scenario)
    # Judged as the run ended, the slave holds nothing and no reason is journaled yet.
    assert [(v.kind, v.master_id) for v in check(scenario, report)] == [(MISSING, "p3")]
    _, _, violations, explained = judge(STOP_HIT_AT_THE_END)
    assert violations == []
    assert [(v.kind, v.account, v.master_id) for v in explained] == [(MISSING, "summit", "p3")]


def test_a_difference_the_copier_never_explains_stays_a_violation():
    # A copier that never journals the reason: the longer run ends as the short one did.
    short = run_scenario(parse_scenario(STOP_HIT_AT_THE_END))
    _, _, violations, _ = judge(STOP_HIT_AT_THE_END, run=lambda scenario: short)
    assert [(v.kind, v.account, v.master_id) for v in violations] == [(MISSING, "summit", "p3")]


_WIDE = {"max_delay_ms": 600000, "max_price_deviation": {"value": 1000000, "unit": "point"}}


def _accounts(master_broker: str, slave_broker: str, rules: dict, margin_mode: str = "hedging") -> list[dict]:
    """A master and one slave "s1", both with a balance of 250 000 at 1:500."""
    return [{"id": "master", "role": "master", "broker": master_broker, "margin_mode": margin_mode,
             "balance": 250000.0, "leverage": 500},
            {"id": "s1", "role": "slave", "broker": slave_broker, "margin_mode": margin_mode, "balance": 250000.0,
             "leverage": 500, "rules": rules}]


# A hedging slave's copy carries the master's take profit, which the slave's broker (other quotes)
# hits first, between two of the copier's looks at that slave. The checkpoint at 69.041 s falls
# just before the next look (70 s), which finds the copy gone and journals why it is not opened
# again.
TARGET_HIT_BEFORE_A_CHECKPOINT = {
    "description": "a slave's target hit shortly before a checkpoint", "seed": 50653, "duration_s": 90.743,
    "brokers": {"b-harbor_fx": {"profile": "harbor_fx"}, "b-meridian_ecn": {"profile": "meridian_ecn"}},
    "accounts": _accounts("b-harbor_fx", "b-meridian_ecn", {
        "sizing": {"mode": "lot_multiplier", "multiplier": 0.37, "rounding": "nearest", "max_lot": 0.5},
        "tolerances": _WIDE, "copy_partial_closes": False, "copy_existing": True}),
    "timeline": [{"at": 50.743, "action": "open", "id": "p7", "symbol": "BTCUSD.m", "side": "buy", "volume": 0.02,
                  "sl_points": 94166, "tp_points": 769}],
    "faults": [], "checkpoints": [23.354, 44.816, 69.041],
}


def test_a_copy_closed_at_the_slave_just_before_a_checkpoint_waits_for_the_copiers_next_look():
    scenario = parse_scenario(TARGET_HIT_BEFORE_A_CHECKPOINT)
    report = run_scenario(scenario)
    found = [(r["at_s"], r["reason"]) for r in report["refusals"] if r["account"] == "s1"]
    assert len(found) == 1 and 69.041 < found[0][0] <= 72.0 and "closed at the slave" in found[0][1], found
    assert check(scenario, report) == []
    # Had the copier never said why, the copy missing at the checkpoint is a violation.
    silent = {**report, "refusals": [r for r in report["refusals"] if r["account"] != "s1"],
              "journal": [e for e in report["journal"] if e.get("kind") != "refusal"]}
    assert [(v.kind, v.master_id, v.at) for v in check(scenario, silent)] == [(MISSING, "p7", "69.041s")]


# The master's target and its copy's are the same price; the slave's broker (other quotes) reaches
# it first, and the master's own follows 20 ms after the checkpoint at 47.426 s: the copier's next
# look finds both closed, with nothing to journal.
BOTH_TARGETS_HIT_AROUND_A_CHECKPOINT = {
    "description": "the copy's target hit at the slave, then the master's, around a checkpoint", "seed": 50944,
    "duration_s": 71.344,
    "brokers": {"b-apex_prop": {"profile": "apex_prop"}, "b-meridian_ecn": {"profile": "meridian_ecn"}},
    "accounts": _accounts("b-apex_prop", "b-meridian_ecn", {
        "sizing": {"mode": "lot_multiplier", "multiplier": 0.5}, "tolerances": _WIDE,
        "symbols": {"aliases": {"BTCUSD.raw": "BTCUSD"}}}),
    "timeline": [{"at": 31.344, "action": "open", "id": "p7", "symbol": "BTCUSD.raw", "side": "buy", "volume": 0.1,
                  "tp_points": 933}],
    "faults": [], "checkpoints": [28.894, 47.426],
}


def test_a_copy_closed_at_its_target_just_before_the_master_s_own_is_not_missing():
    scenario = parse_scenario(BOTH_TARGETS_HIT_AROUND_A_CHECKPOINT)
    report = run_scenario(scenario)
    closes = [e["at_s"] for e in report["journal"] if e.get("kind") == "master_event" and "closed" in e["text"]]
    assert len(closes) == 1 and 47.426 < closes[0] <= 47.426 + 3.0, closes
    assert check(scenario, report) == []
    # Had the master stayed open, the copy missing at the checkpoint would need a reason.
    held_on = {**report, "journal": [e for e in report["journal"]
                                     if not (e.get("kind") == "master_event" and "closed" in e["text"])]}
    assert [(v.kind, v.master_id, v.at) for v in check(scenario, held_on)] == [(MISSING, "p7", "47.426s")]


# An MT5 netting master reverses its position after a checkpoint; the reversal gives the position
# the reversing order's ticket. At the checkpoint the position still had its first ticket, whose
# copy was sized at the open (0.3 x 2) and kept through a partial close the rules do not copy.
REVERSED_AFTER_A_CHECKPOINT = {
    "description": "an MT5 netting master reversed after a checkpoint", "seed": 50845, "duration_s": 87.36,
    "brokers": {"b-apex_prop": {"profile": "apex_prop"}},
    "accounts": _accounts("b-apex_prop", "b-apex_prop", {
        "sizing": {"mode": "lot_multiplier", "multiplier": 2.0}, "stops": {"mode": "none"},
        "copy_partial_closes": False}, margin_mode="netting"),
    "timeline": [
        {"at": 4.716, "action": "open", "id": "p4", "symbol": "EURUSD.raw", "side": "sell", "volume": 0.3},
        {"at": 26.163, "action": "partial_close", "id": "p4", "volume": 0.2},
        {"at": 47.36, "action": "reverse", "id": "p4", "volume": 0.5},
    ],
    "faults": [], "checkpoints": [45.153],
}


def test_a_moment_before_an_mt5_reversal_judges_the_position_by_its_ticket_then():
    scenario = parse_scenario(REVERSED_AFTER_A_CHECKPOINT)
    report = run_scenario(scenario)
    (former,) = report["former_master_ids"]["p4"]
    assert former != report["master_ids"]["p4"]
    assert check(scenario, report) == []
    # Without the position's earlier ticket, the copy held at the checkpoint cannot be told from
    # a new position's and is judged against the master's volume then alone.
    forgetful = {**report, "former_master_ids": {}}
    assert [(v.kind, v.at) for v in check(scenario, forgetful)] == [(WRONG_VOLUME, "45.153s")]
