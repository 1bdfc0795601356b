"""End-to-end scenarios: the real copier, connectors and simulated brokers on virtual time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from copier_gui.replay.runner import report_bytes, run_scenario, run_scenario_file
from copier_gui.replay.scenario import ScenarioError, load_scenario, parse_scenario

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


# ------------------------------------------------------------------ honest time, any scenario runs


def scenario(timeline, faults=(), **extra) -> dict:
    """One master at meridian_ecn and two slaves at other brokers."""
    return {
        "seed": 3,
        "brokers": {"meridian": {"profile": "meridian_ecn"}, "harbor": {"profile": "harbor_fx"},
                    "apex": {"profile": "apex_prop"}},
        "accounts": [{"id": "master", "role": "master", "broker": "meridian"},
                     {"id": "harbor", "role": "slave", "broker": "harbor"},
                     {"id": "apex", "role": "slave", "broker": "apex"}],
        "timeline": list(timeline),
        "faults": list(faults),
        **extra,
    }


def opens(*ats, symbol="EURUSD"):
    return [{"at": at, "action": "open", "id": f"t{i}", "symbol": symbol, "side": "buy", "volume": 0.2}
            for i, at in enumerate(ats)]


def replay(data: dict) -> dict:
    return run_scenario(parse_scenario(data))


def journaled(report: dict, account: str) -> list[str]:
    return [e["text"] for e in report["journal"] if e["account"] == account]


def master_seen_at(report: dict) -> list[float]:
    return [e["at_s"] for e in report["events"] if e["account"] == "master" and " opened:" in e["text"]]


def test_a_slow_slave_does_not_hold_up_the_master():
    # harbor answers a trade in about 3 s. Before, each of its calls stopped the loop that long,
    # so the master's later trades were made, and seen, seconds late.
    report = replay(scenario(opens(1, 1.5, 2),
                             [{"at": 0.5, "kind": "latency", "account": "harbor", "median_ms": 3000,
                               "duration_ms": 20000}]))
    seen = master_seen_at(report)
    assert len(seen) == 3
    for when, due in zip(seen, (1, 1.5, 2), strict=True):
        assert due <= when < due + 0.05, seen
    # apex is not harbor's neighbour in a queue: its copies land at once.
    apex = [c for c in report["copies"] if c["slave"] == "apex"]
    assert len(apex) == 3 and all(c["total_ms"] < 100 for c in apex), apex
    harbor = [c for c in report["copies"] if c["slave"] == "harbor"]
    assert harbor and all(c["broker_ms"] > 300 for c in harbor), harbor


def test_a_master_close_while_a_slave_open_is_in_flight():
    report = replay(scenario(opens(1) + [{"at": 1.3, "action": "close", "id": "t0"}],
                             [{"at": 0.5, "kind": "latency", "account": "harbor", "median_ms": 2000,
                               "duration_ms": 20000}]))
    harbor = [c for c in report["copies"] if c["slave"] == "harbor"]
    opened = next(c for c in harbor if c["action"] == "open")
    closed = next(c for c in harbor if c["action"] == "close")
    # The master closed before harbor's open was answered; the close followed the answer.
    assert opened["request_sent_at_s"] < 1.3 < opened["fill_received_at_s"] <= closed["request_sent_at_s"]
    assert_flat(report)


def test_a_master_trading_a_symbol_outside_market_watch():
    report = replay(scenario(opens(1, symbol="EURJPY") + [{"at": 5, "action": "close", "id": "t0"}]))
    symbols = {(c["slave"], c["symbol"], c["action"]) for c in report["copies"]}
    assert ("harbor", "EURJPY.m", "open") in symbols and ("apex", "EURJPY.raw", "close") in symbols
    assert_flat(report)


def test_the_master_disconnects_while_it_trades():
    report = replay(scenario(opens(1, 12) + [{"at": 8, "action": "close", "id": "t0"},
                                             {"at": 15, "action": "close", "id": "t1"}],
                             [{"at": 5, "kind": "disconnect", "account": "master", "duration_ms": 5000}]))
    master = [e["text"] for e in report["events"] if e["account"] == "master"]
    # Its own close at 8 s cannot be made offline: the report says so, and t0 stays open.
    assert any("the master terminal is not connected" in text for text in master), master
    assert any(text.startswith("master disconnected") for text in master)
    assert any(text.startswith("master connected") for text in master[2:])
    held = {p["master_id"] for p in report["accounts"]["master"]["positions"]}
    assert held == {"t0"}
    no_duplicates_or_orphans(report)
    for slave in ("harbor", "apex"):
        assert [p["master_id"] for p in report["accounts"][slave]["positions"]] == ["t0"]


def test_a_crash_between_a_send_and_its_bookkeeping():
    slow = {"at": 0.5, "kind": "latency", "account": "harbor", "median_ms": 2000, "duration_ms": 20000}
    calm = replay(scenario(opens(1), [slow]))
    (copy,) = [c for c in calm["copies"] if c["slave"] == "harbor"]
    sent, answered = copy["request_sent_at_s"], copy["fill_received_at_s"]
    assert answered - sent > 0.5
    # Halfway through the trip the broker has filled it; three quarters in, the copier dies.
    crash_at = round(sent + 0.75 * (answered - sent), 6)
    report = replay(scenario(opens(1), [slow, {"at": crash_at, "kind": "copier_crash", "restart_after_ms": 1000}],
                             checkpoints=[crash_at]))
    # The crash came at its time, whatever was in flight.
    assert [e["at_s"] for e in report["events"] if e["text"] == "copier crashed"] == [crash_at]
    (checkpoint,) = report["checkpoints"]
    # The slave held the copy when the copier died; the copier had journaled the request before it
    # went, and never heard the answer.
    assert [p["master_id"] for p in checkpoint["accounts"]["harbor"]["positions"]] == ["t0"]
    heard = [e["kind"] for e in report["journal"] if e["copy_id"] == copy["copy_id"] and e["at_s"] <= crash_at]
    assert heard == ["request"]
    # After the restart the copier finds it by its tag: one copy, not two.
    assert [p["master_id"] for p in report["accounts"]["harbor"]["positions"]] == ["t0"]
    no_duplicates_or_orphans(report)


def test_overlapping_crashes_never_run_two_copiers():
    faults = [
        # The master's terminal is slow, so a start-up takes a while.
        {"at": 0, "kind": "latency", "account": "master", "median_ms": 1500, "duration_ms": 30000},
        {"at": 3, "kind": "copier_crash", "restart_after_ms": 2000},
        {"at": 4, "kind": "copier_crash", "restart_after_ms": 500},  # while down
        {"at": 5.1, "kind": "copier_crash", "restart_after_ms": 1000},  # while starting
    ]
    report = replay(scenario(opens(10), faults, duration_s=40))
    copier = [e["text"] for e in report["events"] if e["account"] == "copier"]
    assert copier == ["copier crashed", "copier crashed while down", "copier restarted", "copier crashed",
                      "copier restarted"]
    assert report["scenario"]["crashes"] == 3
    starting = [e for e in report["journal"] if e["text"] == "copier starting"]
    assert len(starting) == 3
    # One copier watches the master: its open is seen once, and copied once per slave.
    seen = [e for e in report["journal"] if e["kind"] == "master_event" and "opened" in e["text"]]
    assert len(seen) == 1, seen
    for slave in ("harbor", "apex"):
        assert len(report["accounts"][slave]["positions"]) == 1


def test_a_fault_far_beyond_the_run_is_refused_not_run_forever():
    with pytest.raises(ScenarioError, match=r"faults\[0\]\.at: .*7 days"):
        parse_scenario(scenario(opens(1), [{"at": 1e12, "kind": "copier_crash", "restart_after_ms": 0}]))


# ------------------------------------------------------------------------ terminal actions


def test_autotrading_off_at_a_slave_then_on_again():
    report = replay(scenario(
        [{"at": 1, "action": "autotrading_off", "account": "harbor"}, *opens(2),
         {"at": 6, "action": "autotrading_on", "account": "harbor"}]))
    said = journaled(report, "harbor")
    assert any("'Algo Trading' button is off" in text for text in said), said
    (copied,) = [c for c in report["copies"] if c["slave"] == "harbor"]
    assert copied["fill_received_at_s"] > 6
    assert any(e["text"] == "AutoTrading switched off" for e in report["events"])


def test_python_api_disabled_at_a_slave_then_enabled():
    report = replay(scenario(
        [{"at": 1, "action": "python_api_off", "account": "apex"}, *opens(2),
         {"at": 6, "action": "python_api_on", "account": "apex"}]))
    said = journaled(report, "apex")
    assert any("Python" in text for text in said), said
    (copied,) = [c for c in report["copies"] if c["slave"] == "apex"]
    assert copied["fill_received_at_s"] > 6


def test_a_slave_connection_lost_and_restored():
    report = replay(scenario(
        [{"at": 1, "action": "connection_lost", "account": "apex"}, *opens(2),
         {"at": 8, "action": "connection_restored", "account": "apex"}]))
    (copied,) = [c for c in report["copies"] if c["slave"] == "apex"]
    assert 8 < copied["fill_received_at_s"] < 10
    said = journaled(report, "apex")
    assert any(text.startswith("apex disconnected") for text in said), said
    (harbor,) = [c for c in report["copies"] if c["slave"] == "harbor"]
    assert harbor["fill_received_at_s"] < 3


def test_a_master_connection_lost_for_good():
    report = replay(scenario(opens(1) + [{"at": 3, "action": "connection_lost", "account": "master"},
                                         {"at": 5, "action": "close", "id": "t0"}]))
    # The report still shows the master's account as the broker holds it.
    assert [p["master_id"] for p in report["accounts"]["master"]["positions"]] == ["t0"]
    for slave in ("harbor", "apex"):
        assert [p["master_id"] for p in report["accounts"][slave]["positions"]] == ["t0"]


def test_autotrading_off_at_the_master_stops_its_own_trades():
    report = replay(scenario([{"at": 0.5, "action": "autotrading_off", "account": "master"}, *opens(1)]))
    assert any("refused: (10027, 'AutoTrading disabled by client')" in e["text"] for e in report["events"])
    assert report["master_ids"] == {}


@pytest.mark.parametrize(("retcode", "words"), [
    (10024, "(10024 Too many requests)"),
    (10027, "press the 'Algo Trading' button"),
    (10031, "has no connection to the trade server"),
    (10012, "(10012 Request canceled by timeout)"),
])
def test_any_rejection_of_the_table(retcode, words):
    report = replay(scenario(opens(2), [{"at": 1, "kind": "reject", "account": "harbor", "retcode": retcode}]))
    said = journaled(report, "harbor")
    assert any(words in text for text in said), said
    # Only the first request was refused: the copy lands, or its refusal is journaled with a reason.
    held = [p["master_id"] for p in report["accounts"]["harbor"]["positions"]]
    assert held == ["t0"] or any(e["kind"] == "refusal" for e in report["journal"] if e["account"] == "harbor")


# ------------------------------------------------------------------------ what the report carries


def test_checkpoints_show_every_account_as_the_final_section_does():
    report = replay(scenario(opens(1) + [{"at": 5, "action": "close", "id": "t0"}], checkpoints=[3, 0.5]))
    early, middle = report["checkpoints"]
    assert (early["at_s"], middle["at_s"]) == (0.5, 3)
    assert all(a["positions"] == [] for a in early["accounts"].values())
    assert {k: [p["master_id"] for p in a["positions"]] for k, a in middle["accounts"].items()} == {
        "master": ["t0"], "harbor": ["t0"], "apex": ["t0"]}
    assert middle["accounts"]["master"].keys() == report["accounts"]["master"].keys()


def test_checkpoints_change_nothing_in_the_run():
    data = scenario(opens(1, 2) + [{"at": 5, "action": "close", "id": "t0"}],
                    [{"at": 0.5, "kind": "latency", "account": "harbor", "median_ms": 400, "duration_ms": 9000}],
                    duration_s=40)
    plain = replay(data)
    checked = replay({**data, "checkpoints": [0.2, 1.0001, 2.5, 5.2]})
    assert len(checked.pop("checkpoints")) == 4
    plain.pop("checkpoints")
    assert report_bytes(plain) == report_bytes(checked)


def test_the_report_carries_the_journal_and_each_copys_times():
    report = run("basic")
    journal = report["journal"]
    assert journal and set(journal[0]) == {"at_s", "account", "kind", "copy_id", "text"}
    assert [e["at_s"] for e in journal] == sorted(e["at_s"] for e in journal)
    kinds = {e["kind"] for e in journal}
    assert {"state", "master_event", "request", "result"} <= kinds
    for copy in report["copies"]:
        assert 0 <= copy["request_sent_at_s"] <= copy["fill_received_at_s"], copy
        requests = [e for e in journal if e["kind"] == "request" and e["copy_id"] == copy["copy_id"]]
        assert requests[0]["at_s"] <= copy["request_sent_at_s"]


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.yaml")))
def test_every_example_replays_the_same_twice(name):
    path = EXAMPLES / f"{name}.yaml"
    assert run_scenario_file(path) == run_scenario_file(path)


def test_terminal_switches_example():
    report = run("terminal_switches")
    assert_flat(report)
    assert report["failures"] == []
    at = {c["at_s"]: c["accounts"] for c in report["checkpoints"]}
    # harbor's button is off at 4 s: it has not copied a yet; summit is offline at 17 s: it still
    # holds all of a, the others already took their part off.
    assert at[4]["harbor"]["positions"] == [] and len(at[4]["apex"]["positions"]) == 1
    assert [p["volume"] for p in at[17]["summit"]["positions"] if p["master_id"] == "a"] == [0.6]
    assert [p["volume"] for p in at[17]["apex"]["positions"] if p["master_id"] == "a"] == [0.4]
    d = report["master_ids"]["d"]
    (apex_d,) = [c for c in report["copies"] if c["slave"] == "apex" and c["master_ticket"] == d
                 and c["action"] == "open"]
    assert apex_d["request_sent_at_s"] < 30.6 < apex_d["fill_received_at_s"]
    master = [e["text"] for e in report["events"] if e["account"] == "master"]
    assert any("the master terminal is not connected" in text for text in master)
