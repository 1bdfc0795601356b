"""The oracle on hand-made reports: it flags exactly the duplicate, orphan, wrong volume or gap put
in, and a journaled reason excuses a difference but never a duplicate or an orphan."""

from __future__ import annotations

import copy

import pytest

from copier_gui.replay.campaign.disruptions import SETTLE_S
from copier_gui.replay.campaign.oracle import (
    DUPLICATE,
    LATE_ENTRY,
    MISSING,
    ORPHAN_ORDER,
    ORPHAN_POSITION,
    UNEXPECTED_ORDER,
    UNJOURNALED,
    WRONG_ORDER,
    WRONG_SIDE,
    WRONG_STOPS,
    WRONG_SYMBOL,
    WRONG_VOLUME,
    check,
)
from copier_gui.replay.scenario import parse_scenario

P1, P2, P3, O1 = 101, 102, 103, 104

# Master at meridian_ecn; "h" copies at half size to a hedging harbor_fx account (EURUSD.m, US30.m
# at 10 contracts a lot), "n" copies one to one to a netting summit_netting account (EURUSD-ECN).
DATA = {
    "brokers": {"m": {"profile": "meridian_ecn"}, "h": {"profile": "harbor_fx"},
                "n": {"profile": "summit_netting"}},
    "accounts": [
        {"id": "master", "role": "master", "broker": "m"},
        {"id": "h", "role": "slave", "broker": "h", "rules": {"sizing": {"multiplier": 0.5}}},
        {"id": "n", "role": "slave", "broker": "n", "margin_mode": "netting"},
    ],
    "timeline": [
        {"at": 1, "action": "open", "id": "p1", "symbol": "EURUSD", "side": "buy", "volume": 1.0,
         "sl_points": 500},
        {"at": 1, "action": "open", "id": "p2", "symbol": "EURUSD", "side": "sell", "volume": 0.4},
        {"at": 2, "action": "open", "id": "p3", "symbol": "US30", "side": "buy", "volume": 2.0},
        {"at": 3, "action": "close", "id": "p3"},
        {"at": 4, "action": "place_pending", "id": "o1", "symbol": "EURUSD", "kind": "buy_limit",
         "volume": 0.6, "offset_points": 300},
    ],
}
SCENARIO = parse_scenario(DATA)


def _pos(symbol, side, volume, ticket, *, sl=0.0, tp=0.0, name=None):
    return {"symbol": symbol, "side": side, "volume": volume, "price_open": 1.085, "sl": sl,
            "tp": tp, "magic": 7, "tag": f"CG:{ticket}", "master_ticket": ticket, "master_id": name}


def _order(symbol, volume, ticket, *, price=1.082, type_=2):
    return {"symbol": symbol, "type": type_, "volume": volume, "price": price, "sl": 0.0, "tp": 0.0,
            "magic": 7, "tag": f"CG:{ticket}", "master_ticket": ticket, "master_id": None}


def _account(role, positions, orders=()):
    return {"role": role, "positions": list(positions), "orders": list(orders)}


def clean_report() -> dict:
    """What a correct copier leaves: p1 and p2 open, p3 closed, o1 pending."""
    return {
        "master_ids": {"p1": P1, "p2": P2, "p3": P3, "o1": O1},
        "accounts": {
            "master": _account("master", [_pos("EURUSD", "buy", 1.0, P1, sl=1.08, name="p1"),
                                          _pos("EURUSD", "sell", 0.4, P2, name="p2")],
                               [_order("EURUSD", 0.6, O1)]),
            "h": _account("slave", [_pos("EURUSD.m", "buy", 0.5, P1, sl=1.08),
                                    _pos("EURUSD.m", "sell", 0.2, P2)],
                          [_order("EURUSD.m", 0.3, O1)]),
            "n": _account("slave", [_pos("EURUSD-ECN", "buy", 0.6, P1, sl=1.08)]),
        },
        "copies": [],
        "refusals": [],
        "failures": [],
    }


def with_journal(report, *entries):
    """The report with a journal: a request for every slave trade it holds, then ``entries``."""
    held = sorted({(acc, item["master_ticket"]) for acc in ("h", "n")
                   for item in report["accounts"][acc]["positions"] + report["accounts"][acc]["orders"]
                   if item["master_ticket"]})
    report["journal"] = [{"at_s": 1.5, "account": acc, "kind": "request", "copy_id": f"master:{t}:{acc}:entry",
                          "text": "open"} for acc, t in held] + list(entries)
    return report


def kinds(report) -> list[str]:
    return sorted(v.kind for v in check(SCENARIO, report))


def reason(account, ticket, kind="refusals", at_s=5.0):
    return kind, {"at_s": at_s, "account": account, "master_ticket": ticket, "reason": "skipped: x"}


def with_reason(report, account, ticket, kind="refusals", at_s=5.0):
    key, entry = reason(account, ticket, kind, at_s)
    report[key].append(entry)
    return report


def test_a_correct_copy_has_no_violation():
    assert check(SCENARIO, clean_report()) == []


def test_a_second_position_for_one_master_position_is_a_duplicate():
    report = clean_report()
    report["accounts"]["h"]["positions"].append(_pos("EURUSD.m", "buy", 0.5, P1, sl=1.08))
    assert kinds(report) == [DUPLICATE]
    # No reason excuses it.
    assert kinds(with_reason(report, "h", P1)) == [DUPLICATE]


def test_an_entry_that_filled_twice_is_a_duplicate_even_when_closed_since():
    report = clean_report()
    fill = {"action": "open", "copy_id": f"master:{P1}:h:entry", "slave": "h", "symbol": "EURUSD.m",
            "master_ticket": P1, "volume": 0.5}
    report["copies"] = [fill, dict(fill)]
    assert kinds(report) == [DUPLICATE]


def test_a_copy_of_a_closed_master_position_is_an_orphan_on_both_kinds_of_account():
    report = clean_report()
    report["accounts"]["h"]["positions"].append(_pos("US30.m", "buy", 0.2, P3))
    report["accounts"]["n"]["positions"].append(_pos("DJ30.cash", "buy", 0.02, P3))
    assert kinds(report) == [ORPHAN_POSITION, ORPHAN_POSITION]
    with_reason(report, "h", P3)
    with_reason(report, "n", P3, "failures")
    assert kinds(report) == [ORPHAN_POSITION, ORPHAN_POSITION]


def test_an_untagged_slave_position_is_an_orphan():
    report = clean_report()
    stray = _pos("EURUSD.m", "buy", 0.1, None)
    stray["tag"] = "manual"
    report["accounts"]["h"]["positions"].append(stray)
    assert kinds(report) == [ORPHAN_POSITION]


def test_a_wrong_volume_is_flagged_unless_a_reason_names_that_master_ticket():
    report = clean_report()
    report["accounts"]["h"]["positions"][0]["volume"] = 0.4
    assert kinds(report) == [WRONG_VOLUME]
    assert kinds(with_reason(copy.deepcopy(report), "h", P2)) == [WRONG_VOLUME]
    assert kinds(with_reason(copy.deepcopy(report), "n", P1)) == [WRONG_VOLUME]
    assert kinds(with_reason(report, "h", P1)) == []


def test_a_netting_difference_is_excused_by_a_reason_for_any_master_ticket_on_the_symbol():
    report = clean_report()
    report["accounts"]["n"]["positions"][0]["volume"] = 1.0  # p2's sell was not netted in
    assert kinds(report) == [WRONG_VOLUME]
    assert kinds(with_reason(copy.deepcopy(report), "n", O1 + 50)) == [WRONG_VOLUME]
    assert kinds(with_reason(copy.deepcopy(report), "h", P2)) == [WRONG_VOLUME]
    assert kinds(with_reason(report, "n", P2, "failures")) == []


def test_a_netting_account_holding_nothing_for_open_master_positions_misses_them():
    report = clean_report()
    report["accounts"]["n"]["positions"] = []
    assert kinds(report) == [MISSING]


def test_a_missing_copy_needs_a_reason():
    report = clean_report()
    del report["accounts"]["h"]["positions"][1]
    assert kinds(report) == [MISSING]
    assert kinds(with_reason(report, "h", P2)) == []


def test_a_copy_on_the_wrong_side_or_instrument():
    report = clean_report()
    report["accounts"]["h"]["positions"][1]["side"] = "buy"
    assert kinds(report) == [WRONG_SIDE]
    report = clean_report()
    report["accounts"]["h"]["positions"][1]["symbol"] = "GBPUSD.m"
    assert kinds(report) == [WRONG_SYMBOL]


def test_stops_follow_the_master():
    report = clean_report()
    report["accounts"]["h"]["positions"][0]["sl"] = 1.07
    assert kinds(report) == [WRONG_STOPS]
    # A netting position carrying one master position carries its stops.
    report = clean_report()
    del report["accounts"]["master"]["positions"][1]
    del report["accounts"]["h"]["positions"][1]
    report["accounts"]["n"]["positions"][0].update(volume=1.0, sl=0.0)
    assert kinds(report) == [WRONG_STOPS]
    # On a netting account a reason for any master ticket on the symbol explains it.
    assert kinds(with_reason(report, "n", P2)) == []


def test_pending_orders_copied_on_hedging_accounts_only():
    report = clean_report()
    report["accounts"]["h"]["orders"] = []
    assert kinds(report) == [MISSING]
    report = clean_report()
    report["accounts"]["h"]["orders"][0]["volume"] = 0.6
    assert kinds(report) == [WRONG_ORDER]
    report = clean_report()
    report["accounts"]["h"]["orders"][0]["sl"] = 1.07
    assert kinds(report) == [WRONG_ORDER]
    report = clean_report()
    report["accounts"]["n"]["orders"].append(_order("EURUSD-ECN", 0.6, O1))
    assert kinds(report) == [UNEXPECTED_ORDER]


def test_an_order_filled_at_the_slave_before_the_master_is_the_copy():
    report = clean_report()
    report["accounts"]["h"]["orders"] = []
    report["accounts"]["h"]["positions"].append(_pos("EURUSD.m", "buy", 0.3, O1))
    assert kinds(report) == []


def test_a_slave_order_whose_master_order_is_gone_is_an_orphan():
    report = clean_report()
    report["accounts"]["master"]["orders"] = []
    assert kinds(report) == [ORPHAN_ORDER]
    assert kinds(with_reason(report, "h", O1)) == [ORPHAN_ORDER]


def test_a_partial_close_keeps_the_proportion_fixed_at_entry():
    scenario = parse_scenario({
        "brokers": {"m": {"profile": "meridian_ecn"}},
        "accounts": [
            {"id": "master", "role": "master", "broker": "m"},
            {"id": "h", "role": "slave", "broker": "m", "rules": {"sizing": {"multiplier": 0.5}}},
        ],
        "timeline": [
            {"at": 1, "action": "open", "id": "p1", "symbol": "EURUSD", "side": "buy", "volume": 0.37},
            {"at": 2, "action": "partial_close", "id": "p1", "volume": 0.17},
        ],
    })
    report = {
        "master_ids": {"p1": P1}, "copies": [], "refusals": [], "failures": [],
        "accounts": {"master": _account("master", [_pos("EURUSD", "buy", 0.2, P1)]),
                     "h": _account("slave", [_pos("EURUSD", "buy", 0.09, P1)])},
    }
    # 0.37 x 0.5 = 0.185 -> 0.18 at entry; 0.18 x 0.2 / 0.37 = 0.097 -> 0.09.
    assert check(scenario, report) == []
    report["accounts"]["h"]["positions"][0]["volume"] = 0.1  # sized afresh: also the rule's answer
    assert check(scenario, report) == []
    report["accounts"]["h"]["positions"][0]["volume"] = 0.18  # the partial close was missed
    assert [v.kind for v in check(scenario, report)] == [WRONG_VOLUME]


@pytest.mark.parametrize("at_s, flagged", [(4.0, [WRONG_VOLUME]), (6.0, [])])
def test_at_a_checkpoint_only_reasons_given_by_then_count(at_s, flagged):
    report = clean_report()
    wrong = copy.deepcopy(report["accounts"])
    wrong["h"]["positions"][0]["volume"] = 0.4
    report["checkpoints"] = [{"at_s": at_s, "accounts": wrong}]
    with_reason(report, "h", P1, at_s=5.0)
    assert kinds(report) == flagged
    assert all(v.at == f"{at_s:g}s" for v in check(SCENARIO, report))


@pytest.mark.parametrize("found_at, flagged", [(9.3, []), (8.0, []), (20.0, [MISSING]), (2.0, [MISSING])])
def test_a_netting_share_its_slave_closed_by_itself_just_before_a_checkpoint_is_not_judged_then(found_at, flagged):
    """A stop or target hit at the slave changes its position on its own; the copier finds it at
    its next look and says so. A checkpoint between the two cannot ask for the copy it just lost,
    as for a master change of its own; long before or long after, it can."""
    report = clean_report()
    report["checkpoints"] = [{"at_s": 9.0, "accounts": copy.deepcopy(report["accounts"])}]
    report["checkpoints"][0]["accounts"]["n"]["positions"] = []  # its stop was hit
    text = ("EURUSD-ECN at n changed outside the copier (a stop or target hit at the slave, a stop-out or "
            "a manual trade): -0.6 lots; each master position's share follows")
    with_journal(report, {"at_s": found_at, "account": "n",
                          "kind": "correction", "copy_id": None, "text": text})
    assert kinds(report) == flagged


@pytest.mark.parametrize("kind, text, excused", [
    ("refusal", "skipped: volume below the minimum", True),
    ("result", "failed: open EURUSD.m: Request rejected", True),
    ("result", "rejected: No money", True),
    ("result", "filled: 0.4 at 1.08512", False),
    ("info", "copied open", False),
])
def test_a_journal_entry_under_a_copy_id_may_be_the_reason(kind, text, excused):
    report = clean_report()
    report["accounts"]["h"]["positions"][0]["volume"] = 0.4
    with_journal(report, {"at_s": 3.0, "account": "h", "kind": kind, "copy_id": f"master:{P1}:h:entry",
                          "text": text})
    assert kinds(report) == ([] if excused else [WRONG_VOLUME])


def test_one_problem_seen_at_a_checkpoint_and_at_the_end_counts_once():
    report = clean_report()
    report["accounts"]["h"]["positions"][0]["volume"] = 0.4
    report["checkpoints"] = [{"at_s": 9.0, "accounts": copy.deepcopy(report["accounts"])}]
    fill = {"action": "open", "copy_id": f"master:{P1}:h:entry", "slave": "h", "symbol": "EURUSD.m",
            "master_ticket": P1, "volume": 0.5}
    report["copies"] = [fill, dict(fill), dict(fill)]
    found = check(SCENARIO, report)
    assert sorted(v.kind for v in found) == [DUPLICATE, WRONG_VOLUME]
    assert next(v for v in found if v.kind == WRONG_VOLUME).at == "9s"
    assert "3 times" in next(v for v in found if v.kind == DUPLICATE).detail


def test_a_refusal_journaled_with_its_ticket_in_the_notice_only_is_a_reason():
    report = clean_report()
    del report["accounts"]["h"]["positions"][1]
    text = "skipped: volume 0.004 is below the minimum 0.01 for EURUSD.m"
    with_journal(report, {"at_s": 3.0, "account": "h", "kind": "refusal", "copy_id": None, "text": text})
    report["events"] = [{"at_s": 3.0, "account": "h", "text": f"{text} (master #{P2})"}]
    assert kinds(report) == []
    report["events"][0]["text"] = f"{text} (master #{P1})"
    assert kinds(report) == [MISSING]


def test_a_wait_explains_a_gap_only_while_the_slave_is_still_blocked():
    report = clean_report()
    del report["accounts"]["h"]["positions"][1]
    report["refusals"].append({"at_s": 3.0, "account": "h", "master_ticket": P2,
                               "reason": "not copied yet: h is degraded (trading is off)"})
    # AutoTrading came back on: the copy it waited for is due.
    back = parse_scenario({**DATA, "timeline": [*DATA["timeline"],
                                                {"at": 2.5, "action": "autotrading_off", "account": "h"},
                                                {"at": 6, "action": "autotrading_on", "account": "h"}]})
    assert [v.kind for v in check(back, report)] == [MISSING]
    still_off = parse_scenario({**DATA, "timeline": [*DATA["timeline"],
                                                     {"at": 2.5, "action": "autotrading_off", "account": "h"}]})
    assert check(still_off, report) == []


def test_an_orphan_on_a_slave_left_switched_off_needs_a_reason_naming_it():
    blocked = parse_scenario({**DATA, "timeline": [*DATA["timeline"],
                                                   {"at": 2.5, "action": "autotrading_off", "account": "h"}]})
    report = clean_report()
    report["accounts"]["h"]["positions"].append(_pos("US30.m", "buy", 0.2, P3))
    found = check(blocked, report)
    assert [v.kind for v in found] == [ORPHAN_POSITION]
    assert "AutoTrading off since 2.5 s" in found[0].detail
    assert check(blocked, with_reason(report, "h", P3, "failures")) == []
    # Switched back on before the end: the copier could close it, so no reason excuses it.
    back = parse_scenario({**DATA, "timeline": [*DATA["timeline"],
                                                {"at": 2.5, "action": "autotrading_off", "account": "h"},
                                                {"at": 6, "action": "autotrading_on", "account": "h"}]})
    assert [v.kind for v in check(back, report)] == [ORPHAN_POSITION]


def test_a_master_out_of_reach_excuses_differences_once_the_copier_says_so():
    dark = parse_scenario({**DATA, "timeline": [*DATA["timeline"],
                                                {"at": 2.5, "action": "connection_lost", "account": "master"}]})
    report = clean_report()
    report["accounts"]["h"]["positions"].append(_pos("US30.m", "buy", 0.2, P3))
    assert [v.kind for v in check(dark, report)] == [ORPHAN_POSITION]
    with_journal(report, {"at_s": 2.6, "account": "master", "kind": "state", "copy_id": None,
                          "text": "master disconnected"})
    assert check(dark, report) == []
    # AutoTrading off at the master stops the master's trading, not the copier's view of it.
    off = parse_scenario({**DATA, "timeline": [*DATA["timeline"],
                                               {"at": 2.5, "action": "autotrading_off", "account": "master"}]})
    assert [v.kind for v in check(off, report)] == [ORPHAN_POSITION]


def test_explained_differences_are_counted_apart():
    report = clean_report()
    report["accounts"]["h"]["positions"][0]["volume"] = 0.4
    with_reason(report, "h", P1)
    explained = []
    assert check(SCENARIO, report, explained) == []
    assert [v.kind for v in explained] == [WRONG_VOLUME]


def test_a_slave_trade_without_a_journaled_request_is_unjournaled():
    report = with_journal(clean_report())
    assert kinds(report) == []
    report["journal"] = [e for e in report["journal"] if e["copy_id"] != f"master:{P2}:h:entry"]
    found = check(SCENARIO, report)
    assert [(v.kind, v.account, v.master_ticket) for v in found] == [(UNJOURNALED, "h", P2)]
    # At a checkpoint, only requests journaled by then count.
    report = with_journal(clean_report())
    report["checkpoints"] = [{"at_s": 1.0, "accounts": report["accounts"]}]
    assert set(kinds(report)) == {UNJOURNALED}


def test_a_netting_position_carries_the_stops_of_the_largest_master_position_on_its_side():
    report = clean_report()
    report["accounts"]["n"]["positions"][0]["sl"] = 0.0  # net buy: p1's stop, not p2's none
    assert kinds(report) == [WRONG_STOPS]
    assert kinds(with_reason(report, "n", P2)) == []
    # Net short: the sell's stops (none), whatever the buy has.
    report = clean_report()
    report["accounts"]["master"]["positions"][0]["volume"] = 0.2
    report["accounts"]["h"]["positions"][0]["volume"] = 0.1
    report["accounts"]["n"]["positions"][0].update(side="sell", volume=0.2, sl=0.0)
    assert kinds(report) == []
    report["accounts"]["n"]["positions"][0]["sl"] = 1.08
    assert kinds(report) == [WRONG_STOPS]


@pytest.mark.parametrize("reason_at, excused", [(3.0, False), (4.0, True), (4.5, True)])
def test_a_reason_older_than_the_change_that_made_the_difference_explains_nothing(reason_at, excused):
    # The master reduced p1 at 4 s; a slave still holding the old volume needs a reason from then on.
    report = clean_report()
    report["accounts"]["h"]["positions"][0]["volume"] = 0.6
    with_journal(report, {"at_s": 4.0, "account": "master", "kind": "master_event", "copy_id": None,
                          "text": f"master #{P1} partially_closed: EURUSD reduced 1.2 -> 1.0"})
    with_reason(report, "h", P1, "failures", at_s=reason_at)
    assert kinds(report) == ([] if excused else [WRONG_VOLUME])


def test_a_refusal_at_entry_still_explains_a_copy_never_made():
    report = clean_report()
    del report["accounts"]["h"]["positions"][1]
    with_journal(report, {"at_s": 9.0, "account": "master", "kind": "master_event", "copy_id": None,
                          "text": f"master #{P2} stops_modified: EURUSD sl 1.09 tp 0"})
    with_reason(report, "h", P2, at_s=1.0)
    assert kinds(report) == []


def _rules_scenario(rules: dict):
    return parse_scenario({**DATA, "accounts": [DATA["accounts"][0], {**DATA["accounts"][1], "rules": rules},
                                                DATA["accounts"][2]]})


def test_a_reversed_copy_holds_the_other_side_with_the_stops_swapped():
    scenario = _rules_scenario({"sizing": {"multiplier": 0.5}, "filters": {"reverse": True}})
    report = clean_report()
    h = report["accounts"]["h"]
    h["positions"][0].update(side="sell", sl=0.0, tp=1.08)
    h["positions"][1]["side"] = "buy"
    h["orders"][0]["type"] = 5  # a buy limit reversed is a sell stop
    assert check(scenario, report) == []
    assert [v.kind for v in check(SCENARIO, report)].count(WRONG_SIDE) == 2


def test_a_filtered_trade_is_refused_not_copied():
    scenario = _rules_scenario({"sizing": {"multiplier": 0.5}, "filters": {"direction": "long_only"}})
    report = clean_report()
    # Copying the master's sell to a long-only slave is a wrong volume (the rules give 0)...
    assert [v.kind for v in check(scenario, report)] == [WRONG_VOLUME]
    # ...and leaving it out is right only with the refusal journaled.
    del report["accounts"]["h"]["positions"][1]
    assert [v.kind for v in check(scenario, report)] == [MISSING]
    assert check(scenario, with_reason(report, "h", P2)) == []


def test_stops_the_slave_broker_made_the_copier_move_are_explained_only_as_stops():
    report = clean_report()
    report["accounts"]["h"]["positions"][0].update(sl=1.0805, volume=0.4)
    with_journal(report, {"at_s": 3.0, "account": "h", "kind": "result", "copy_id": f"sltp:{P1}:h:x",
                          "text": "placed: accepted (10009 Request executed); stop loss moved from "
                                  "1.08000 to 1.08050: EURUSD.m needs stops at least 10 points from the bid"})
    assert kinds(report) == [WRONG_VOLUME]


def test_nothing_the_scenario_did_excuses_a_copy_on_the_wrong_instrument():
    blocked = parse_scenario({**DATA, "timeline": [*DATA["timeline"],
                                                   {"at": 2.5, "action": "autotrading_off", "account": "h"},
                                                   {"at": 2.5, "action": "connection_lost", "account": "master"}]})
    report = clean_report()
    report["accounts"]["h"]["positions"][1]["symbol"] = "GBPUSD.m"
    with_journal(report, {"at_s": 2.6, "account": "master", "kind": "state", "copy_id": None,
                          "text": "master disconnected"})
    with_reason(report, "h", P2)
    assert [v.kind for v in check(blocked, report)] == [WRONG_SYMBOL]


@pytest.mark.parametrize("sent_at, late", [(9.5, False), (12.1, True)])
def test_an_entry_sent_beyond_the_maximum_delay_is_late(sent_at, late):
    report = with_journal(clean_report(), {"at_s": 1.0, "account": "master", "kind": "master_event",
                                           "copy_id": None, "text": f"master #{P1} opened: buy 1 EURUSD"})
    report["copies"] = [{"action": "open", "copy_id": f"master:{P1}:h:entry", "slave": "h",
                         "symbol": "EURUSD.m", "master_ticket": P1, "volume": 0.5,
                         "request_sent_at_s": sent_at}]
    assert kinds(report) == ([LATE_ENTRY] if late else [])  # the default max_delay_ms: 10 s


@pytest.mark.parametrize("delay_ms, late", [(15_000, False), (3_000, True)])
def test_the_maximum_delay_is_the_one_set_for_the_masters_symbol(delay_ms, late):
    rules = {"sizing": {"multiplier": 0.5}, "tolerances": {"per_symbol": {"EURUSD": {"max_delay_ms": delay_ms}}}}
    accounts = [{**a, "rules": rules} if a["id"] == "h" else a for a in DATA["accounts"]]
    scenario = parse_scenario({**DATA, "accounts": accounts})
    report = with_journal(clean_report(), {"at_s": 1.0, "account": "master", "kind": "master_event",
                                           "copy_id": None, "text": f"master #{P1} opened: buy 1 EURUSD"})
    report["copies"] = [{"action": "open", "copy_id": f"master:{P1}:h:entry", "slave": "h",
                         "symbol": "EURUSD.m", "master_ticket": P1, "volume": 0.5,
                         "request_sent_at_s": 12.1}]
    late_ones = [v for v in check(scenario, report) if v.kind == LATE_ENTRY]
    assert [v.kind for v in late_ones] == ([LATE_ENTRY] if late else [])
    assert all("tolerances.per_symbol.EURUSD.max_delay_ms is 3000" in v.detail for v in late_ones)


def test_a_master_change_of_its_own_just_before_a_moment_is_not_judged_then():
    # o1 filled at the master a second before the checkpoint: the slave's copy may be on its way.
    report = clean_report()
    fill = {"symbol": "EURUSD", "side": "buy", "volume": 0.6, "price_open": 1.082, "sl": 0.0, "tp": 0.0,
            "magic": 0, "tag": "", "master_ticket": O1, "master_id": "o1"}
    moment = copy.deepcopy(report["accounts"])
    moment["master"]["orders"] = []
    moment["master"]["positions"].append(fill)
    moment["h"]["orders"] = []
    moment["n"]["positions"][0]["volume"] = 1.2  # netting took the fill in; h has not yet
    report["checkpoints"] = [{"at_s": 20.0, "accounts": moment}]
    with_journal(report, {"at_s": 19.0, "account": "master", "kind": "master_event", "copy_id": None,
                          "text": f"master #{O1} pending_triggered: buy 0.6 EURUSD"})
    assert kinds(report) == []
    report["checkpoints"][0]["at_s"] = 19.0 + SETTLE_S + 0.1
    assert kinds(report) == [MISSING]


def test_a_netting_orphan_on_a_slave_left_switched_off_is_excused_by_a_reason_for_any_share_of_it():
    """A netting position's own tag is its first deal's master ticket; the reason the copier gives
    names the master position whose share could not be closed."""
    blocked = parse_scenario({**DATA, "timeline": [*DATA["timeline"],
                                                   {"at": 2.5, "action": "autotrading_off", "account": "n"}]})
    report = clean_report()
    report["accounts"]["n"]["positions"].append(_pos("DJ30.cash", "buy", 2.0, P3))
    found = [v for v in check(blocked, report) if v.account == "n"]
    assert [v.kind for v in found] == [ORPHAN_POSITION]
    # The only reason names P3's share while the position is tagged with P3 too; a position tagged
    # with another ticket on the symbol is excused by the same reason.
    report["accounts"]["n"]["positions"][-1] = _pos("DJ30.cash", "buy", 2.0, P1)
    assert [v.kind for v in check(blocked, with_reason(report, "n", P3, "failures")) if v.account == "n"] == []
