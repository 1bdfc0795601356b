"""Every copy rule proven by a scenario: the real copier on simulated brokers, on virtual time.

Each file in rules/ names the rule it covers in its first line; docs/rules.md has the worked
examples.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from copier_gui.replay.runner import run_scenario
from copier_gui.replay.scenario import load_scenario

RULES = Path(__file__).parent / "rules"


@cache
def outcome(name: str) -> dict:
    return run_scenario(load_scenario(RULES / f"{name}.yaml"))


def opens(name: str) -> list[tuple[str, float]]:
    return [(c["symbol"], c["volume"]) for c in outcome(name)["copies"]
            if c["slave"] == "slave" and c["action"] == "open"]


def refusals(name: str) -> list[str]:
    return [r["reason"] for r in outcome(name)["refusals"] if r["account"] == "slave"]


def events(name: str) -> list[str]:
    return [e["text"] for e in outcome(name)["events"] if e["account"] == "slave"]


def held(name: str) -> list[dict]:
    return outcome(name)["accounts"]["slave"]["positions"]


def test_every_rule_scenario_ends_with_exits_mirrored():
    """Whatever the rule, nothing the master closed is left open at the slave."""
    for path in sorted(RULES.glob("*.yaml")):
        report = outcome(path.stem)
        master_open = {p["master_ticket"] for p in report["accounts"]["master"]["positions"]}
        for p in report["accounts"]["slave"]["positions"]:
            assert p["master_ticket"] in master_open, (path.stem, p)


@pytest.mark.parametrize(("name", "volume"), [
    ("sizing_fixed_lot", 0.07),
    ("sizing_lot_multiplier", 0.2),
    ("sizing_balance_ratio", 0.2),
    ("sizing_equity_ratio", 0.1),
    ("sizing_free_margin_ratio", 0.1),
    ("sizing_fixed_risk", 0.2),
    ("sizing_fixed_risk_no_sl", 0.03),
    ("sizing_max_lot", 0.3),
    ("sizing_min_lot", 0.05),
    ("sizing_rounding_nearest", 0.19),
    ("per_symbol_multiplier", 0.8),
])
def test_sizing(name, volume):
    assert opens(name) == [("EURUSD", pytest.approx(volume))]


def test_sizing_notes_are_journaled():
    assert any("fell back to fixed_lot" in e for e in events("sizing_fixed_risk_no_sl"))
    assert any("capped at this slave's max_lot 0.3" in e for e in events("sizing_max_lot"))
    assert any("raised to this slave's min_lot 0.05" in e for e in events("sizing_min_lot"))


def test_contract_size_alignment():
    assert opens("contract_size") == [("US30.m", pytest.approx(0.2))]


def test_alias_table_and_unknown_symbol():
    assert opens("alias_table") == [("GOLD.m", pytest.approx(0.1))]
    (reason,) = refusals("unknown_symbol")
    assert "no symbol matches GBPUSD" in reason and "closest" in reason and "GBPUSD.m" in reason


def test_per_symbol_off():
    assert opens("per_symbol_off") == [("EURUSD", pytest.approx(0.4))]
    assert refusals("per_symbol_off") == ["skipped: copying XAUUSD is off for this slave (symbols.per_symbol)"]


@pytest.mark.parametrize(("name", "reason"), [
    ("filter_symbols", "GBPUSD is in filters.exclude_symbols"),
    ("filter_magic", "master magic 99 is not in filters.magic_numbers (7)"),
    ("filter_comment", "does not contain 'copy'"),
    ("filter_direction", "copies long trades only (filters.direction)"),
])
def test_filters(name, reason):
    assert opens(name) == [("EURUSD", pytest.approx(0.4))]
    assert any(reason in r for r in refusals(name)), refusals(name)


def test_include_symbols_names_the_list():
    assert any("USDJPY is not in filters.include_symbols" in r for r in refusals("filter_symbols"))


def test_reverse_copying_swaps_side_and_stops():
    master = outcome("reverse")["accounts"]["master"]["positions"][0]
    (slave,) = held("reverse")
    assert master["side"] == "buy" and slave["side"] == "sell"
    assert (slave["sl"], slave["tp"]) == (master["tp"], master["sl"])


def test_stops_none_fixed_offset_and_no_follow():
    (none,) = held("stops_none")
    assert (none["sl"], none["tp"]) == (0.0, 0.0)
    (fixed,) = held("stops_fixed_offset")
    assert fixed["sl"] == pytest.approx(fixed["price_open"] - 0.0015, abs=1e-5)
    assert fixed["tp"] == pytest.approx(fixed["price_open"] + 0.0025, abs=1e-5)
    (kept,) = held("stops_no_follow")
    master = outcome("stops_no_follow")["accounts"]["master"]["positions"][0]
    assert kept["sl"] != master["sl"]  # the master moved its stop; this slave did not follow
    assert kept["sl"] == pytest.approx(master["price_open"] - 0.003, abs=1e-5)


def test_partial_closes_proportional_or_off():
    actions = [(c["action"], c["volume"]) for c in outcome("partial_close_proportional")["copies"]]
    assert actions == [("open", 0.5), ("reduce", pytest.approx(0.2)), ("close", pytest.approx(0.3))]
    (kept,) = held("partial_close_off")
    assert kept["volume"] == pytest.approx(0.4)


def test_pending_rules():
    assert refusals("pending_off") == ["skipped: pending orders are not copied for this slave (copy_pending)"]
    assert any(e.startswith("placed sell_stop 0.2 EURUSD") for e in events("pending_reverse"))


def test_tolerances():
    (late,) = [r for r in refusals("max_delay") if r.startswith("skipped")]
    assert any(r.startswith("not copied yet: slave is disconnected") for r in refusals("max_delay"))
    assert "beyond the 3 s maximum delay" in late and opens("max_delay") == []
    (far,) = refusals("max_deviation_skip")
    assert "points worse than the master's fill" in far and "beyond the 0 point maximum" in far
    (limit,) = outcome("max_deviation_limit")["accounts"]["slave"]["orders"]
    assert limit["type"] == 2 and limit["master_id"] == "t"  # a buy limit for the master's position
    assert opens("requote_retries") == [("EURUSD", pytest.approx(0.4))]
    (exhausted,) = refusals("requote_exhausted")
    assert "requoted 2 times" in exhausted and "requote_retries is 1" in exhausted


def test_price_limits_in_units_fit_each_asset_class():
    """After the same outage, EURUSD is 5 pips and BTCUSD 11 USD (1.2 bp) beyond the master's fills:
    the class defaults take the coin and refuse the pair; one limit in points does the opposite."""
    name = "max_deviation_units"
    copies = {(c["slave"], c["symbol"]): c for c in outcome(name)["copies"] if c["action"] == "open"}
    assert set(copies) == {("slave", "BTCUSD"), ("points", "EURUSD"), ("per_symbol", "EURUSD")}
    assert copies[("slave", "BTCUSD")]["slippage_points"] == pytest.approx(1127)  # 11.27 USD
    assert copies[("points", "EURUSD")]["slippage_points"] == pytest.approx(50)  # 5 pips
    why = {r["account"]: r["reason"] for r in outcome(name)["refusals"] if r["reason"].startswith("skipped")}
    assert "EURUSD at 1.08420 is 50 points (5 pip) worse" in why["slave"]
    assert "beyond the default 2 pip maximum for fx (20 points)" in why["slave"]
    assert "BTCUSD at 94649.26 is 1127 points worse" in why["points"] and "beyond the 200 point maximum" in why["points"]
    assert "beyond the 1 bp maximum for BTCUSD (946.6 points)" in why["per_symbol"]


def test_partial_fill_policies():
    top_up = [c["action"] for c in outcome("partial_fill_top_up")["copies"]]
    assert top_up[:2] == ["open", "topup"]
    accept = [c["action"] for c in outcome("partial_fill_accept")["copies"]]
    assert "topup" not in accept


@pytest.mark.parametrize(("name", "reason"), [
    ("risk_max_positions", "2 open positions would exceed the maximum 1 (max_open_positions"),
    ("risk_max_lots_symbol", "0.8 lots on EURUSD would exceed the maximum 0.5 (max_lots_per_symbol"),
    ("risk_max_lots_total", "0.8 lots in total would exceed the maximum 0.5 (max_lots_total"),
    ("risk_max_exposure", "would exceed the maximum 60,000 (max_exposure"),
    ("risk_preset", "6 open positions would exceed the maximum 5 (max_open_positions"),
])
def test_entry_limits_refuse_with_their_numbers(name, reason):
    assert any(reason in r for r in refusals(name)), refusals(name)


def test_daily_loss_flattens_and_stops_entries():
    assert any("(daily_loss, action flatten)" in r for r in refusals("risk_daily_loss_flatten"))
    assert "slave trading state active -> halted" in events("risk_daily_loss_flatten")
    assert opens("risk_daily_loss_flatten") == [("EURUSD", pytest.approx(1.0))]  # GBPUSD never opened
    assert held("risk_daily_loss_flatten") == []


def test_drawdown_stops_entries_but_not_exits():
    assert any("max_drawdown_percent, action stop_entries" in r for r in refusals("risk_drawdown_stop"))
    assert opens("risk_drawdown_stop") == [("EURUSD", pytest.approx(1.0))]
    closes = [c for c in outcome("risk_drawdown_stop")["copies"] if c["action"] == "close"]
    assert closes


def test_equity_floor_warns_only():
    assert any("equity_floor, action warn" in e for e in events("risk_equity_floor_warn"))
    assert opens("risk_equity_floor_warn") == [("EURUSD", pytest.approx(0.4))]
