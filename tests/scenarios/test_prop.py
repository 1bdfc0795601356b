"""Every prop-firm rule proven by a scenario: the real copier on simulated brokers, on virtual
time, with the market moved to the limits (``move_price``) and the clock run through the firms'
resets.

Each file in prop/ names the rule it covers in its first line; docs/prop-firms.md lists them.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from copier_gui.replay.runner import run_scenario
from copier_gui.replay.scenario import load_scenario

PROP = Path(__file__).parent / "prop"


@cache
def outcome(name: str) -> dict:
    return run_scenario(load_scenario(PROP / f"{name}.yaml"))


def opened(name: str, slave: str) -> list[str]:
    """The symbols copied to ``slave``, in the order of their requests."""
    return [c["symbol"] for c in outcome(name)["copies"] if c["slave"] == slave and c["action"] == "open"]


def closes(name: str, slave: str) -> list[tuple[str, float]]:
    """(symbol, when the close was requested) of every close at ``slave``."""
    return [(c["symbol"], c["request_sent_at_s"]) for c in outcome(name)["copies"]
            if c["slave"] == slave and c["action"] == "close"]


def refusals(name: str, slave: str) -> list[tuple[float, str]]:
    return [(r["at_s"], r["reason"]) for r in outcome(name)["refusals"] if r["account"] == slave]


def room(name: str, slave: str) -> dict:
    return outcome(name)["room_left"][slave]


def held(name: str, slave: str) -> list[dict]:
    return outcome(name)["accounts"][slave]["positions"]


def states(name: str, slave: str) -> list[tuple[float, str]]:
    return [(e["at_s"], e["text"].split("trading state ")[1]) for e in outcome(name)["events"]
            if e["account"] == slave and "trading state" in e["text"]]


SCENARIOS = sorted(p.stem for p in PROP.glob("*.yaml"))


@pytest.mark.parametrize("name", SCENARIOS)
def test_no_prop_rule_keeps_a_copy_its_master_closed(name):
    """Whatever the rule did, exits were mirrored: nothing the master closed is left at a slave."""
    report = outcome(name)
    master_open = {p["master_ticket"] for p in report["accounts"]["master"]["positions"]}
    for account, state in report["accounts"].items():
        if state["role"] == "slave":
            for p in state["positions"]:
                assert p["tag"] == "" or p["master_ticket"] in master_open, (name, account, p)


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_stop_is_journaled_once_per_master_trade_not_once_per_pass(name):
    """A rule that holds entries back says so once per master trade (and again only when that trade
    changes), not at every reconcile pass."""
    restarts = [e["at_s"] for e in outcome(name)["events"] if e["text"] == "copier restarted"]
    for account in outcome(name)["accounts"]:
        # A copier that restarts says it again, once.
        texts = Counter((sum(at >= r for r in restarts), why) for at, why in refusals(name, account)
                        if why.startswith("not copied yet"))
        assert all(n == 1 for n in texts.values()), (name, account, texts.most_common(2))


# ------------------------------------------------------------------------------ daily loss


def test_an_open_profit_given_back_after_the_reset_breaches_on_equity_and_higher_baselines_only():
    name = "daily_loss_baselines"
    assert room(name, "balance")["state"] == "active"
    assert opened(name, "balance") == ["EURUSD", "GBPUSD"]
    for slave, baseline in (("equity", "equity 10,457.50 USD"), ("higher", "higher of balance 9,996.50 USD")):
        assert room(name, slave)["state"] == "reducing"
        assert baseline in room(name, slave)["reason"]
        # Stopped when the profit was given back, 100 s after the reset; the next entry is refused.
        assert states(name, slave) == [(700.0, "active -> reducing")]
        assert opened(name, slave) == ["EURUSD"]
        assert any(at > 760 and "daily loss" in why for at, why in refusals(name, slave))
        # The stop never blocks the exit.
        assert [s for s, _ in closes(name, slave)] == ["EURUSD"]


def test_an_open_loss_carried_through_the_reset_counts_today_on_balance_and_higher_baselines_only():
    name = "daily_loss_open_loss_at_reset"
    assert room(name, "equity")["state"] == "active"
    assert opened(name, "equity") == ["EURUSD", "GBPUSD"]
    for slave in ("balance", "higher"):
        assert states(name, slave) == [(700.0, "active -> reducing")]
        assert "baseline: " in room(name, slave)["reason"] and "9,996.50 USD" in room(name, slave)["reason"]
        assert opened(name, slave) == ["EURUSD"]
    # Yesterday's 400 USD stayed inside yesterday's 500: nothing stopped before the reset.
    assert all(at >= 600 for slave in ("balance", "equity", "higher") for at, _ in refusals(name, slave))


def test_each_account_resumes_at_its_own_firm_s_reset():
    name = "reset_across_zones"
    # 17:00 New York is 22:00 UTC (1200 s in); midnight in Prague is 23:00 UTC (4800 s in).
    assert states(name, "new_york") == [(122.0, "active -> reducing"), (1200.0, "reducing -> active")]
    assert states(name, "prague") == [(122.0, "active -> reducing"), (4800.0, "reducing -> active")]
    assert opened(name, "new_york") == ["EURUSD", "USDJPY", "EURJPY"]
    assert opened(name, "prague") == ["EURUSD", "EURJPY"]
    assert room(name, "new_york")["next_reset"] == "2026-11-26T22:00:00+00:00"
    assert room(name, "prague")["next_reset"] == "2026-11-26T23:00:00+00:00"


# ------------------------------------------------------------------------------- max loss


def test_a_static_floor_flattens_the_account_and_takes_no_entry_after():
    name = "max_loss_static"
    assert states(name, "slave") == [(20.0, "active -> halted")]
    assert room(name, "slave")["floor"] == 9500.0
    assert sorted(closes(name, "slave")) == [("EURUSD", pytest.approx(20.0, abs=0.1)),
                                             ("USDJPY", pytest.approx(20.0, abs=0.1))]
    assert opened(name, "slave") == ["EURUSD", "USDJPY"]
    assert held(name, "slave") == []


def test_trailing_floors_intraday_end_of_day_and_locked_at_the_initial_balance():
    name = "max_loss_trailing_locks"
    before, after_crash = (cp["room_left"] for cp in outcome(name)["checkpoints"])
    # Intraday follows the highest equity (about 10,735); end of day only the equity at the reset
    # (about 10,348); locked stops at the initial balance.
    assert before["intraday"]["floor"] == pytest.approx(10235.5)
    assert before["end_of_day"]["floor"] == pytest.approx(9848.5)
    assert before["locked"]["floor"] == 10000.0
    # A crash and restart keep every floor where it was.
    assert {s: r["floor"] for s, r in after_crash.items()} == {s: r["floor"] for s, r in before.items()}
    assert states(name, "intraday") == [(700.0, "active -> halted")]
    assert states(name, "end_of_day") == [(800.0, "active -> halted")]
    assert states(name, "locked") == [(800.0, "active -> halted")]
    assert "locked at the initial balance 10,000.00 USD" in room(name, "locked")["reason"]
    for slave in ("intraday", "end_of_day", "locked"):
        assert opened(name, slave) == ["EURUSD"]
        assert held(name, slave) == []


# ------------------------------------------------------------------------ stop loss required


def test_a_copy_without_a_stop_gets_its_own_or_is_closed_when_the_seconds_are_up():
    name = "stop_loss_required"
    at_25 = outcome(name)["checkpoints"][0]["accounts"]
    own = {p["symbol"]: p for p in at_25["add_stop"]["positions"]}
    # 20 pips under the price the buy was sent at: within a pip of its fill.
    assert 0.0019 <= own["EURUSD.m"]["price_open"] - own["EURUSD.m"]["sl"] <= 0.0021
    # A stop the master set in time is the copy's, at both slaves.
    assert own["GBPUSD.m"]["sl"] == at_25["master"]["positions"][1]["sl"] == 1.2763
    assert [p["symbol"] for p in at_25["close"]["positions"]] == ["GBPUSD"]
    ((symbol, when),) = [c for c in closes(name, "close") if c[0] == "EURUSD"]
    assert 12.0 <= when < 13.0  # 10 s after the 2.02 s fill, at the look booked for it
    assert any("risk.prop.stop_loss: the copy had no stop loss within 10 s" in why
               for _, why in refusals(name, "close"))
    assert opened(name, "add_stop") == ["EURUSD.m", "GBPUSD.m"] and opened(name, "close") == ["EURUSD", "GBPUSD"]


# ---------------------------------------------------------------------------------- news


def test_a_news_window_stops_entries_flattens_ahead_and_journals_fills_inside_it():
    name = "news_blackout"
    # 13:25-13:35 UTC is 300-900 s in. The flatten account closes its USD copy a minute before the
    # window opens, and keeps its EUR/JPY copy: the event does not move it.
    assert closes(name, "flatten")[0] == ("EURUSD", 240.0)
    assert opened(name, "flatten") == opened(name, "stop_entries") == ["EURUSD", "EURJPY", "USDJPY"]
    assert opened(name, "warn") == ["EURUSD", "EURJPY", "GBPUSD", "USDJPY"]
    assert any(at == pytest.approx(420, abs=0.1) and "entries stopped on GBPUSD" in why
               for at, why in refusals(name, "stop_entries"))
    events = [(e["at_s"], e["account"], e["text"]) for e in outcome(name)["events"]]
    for slave in ("stop_entries", "warn"):
        assert any(a == slave and at == 300.0 and "held into the window: EURUSD" in t for at, a, t in events)
        # The take profit filled at 13:30, inside the window: journaled as the firm counts it.
        assert any(a == slave and 600 <= at < 601 and "closed inside the window" in t for at, a, t in events)
    assert any(a == "warn" and "entry allowed (warn) on GBPUSD" in t for _, a, t in events)
    # The low-impact JPY speech at the same time moved nothing: the EUR/JPY copies stayed.
    for slave in ("stop_entries", "flatten", "warn"):
        assert [s for s, _ in closes(name, slave)].count("EURJPY") == 1
        assert all(when >= 1000 for s, when in closes(name, slave) if s == "EURJPY")


# -------------------------------------------------------------------------------- weekend


def test_the_firm_s_weekend_flattens_stops_entries_or_warns():
    name = "weekend"
    # 20:45 UTC Friday is 900 s in, before the market's own close at 21:00.
    assert closes(name, "flatten") == [("EURUSD", 900.0)]
    assert states(name, "flatten") == [(900.0, "active -> halted")]
    assert states(name, "stop_entries") == [(900.0, "active -> reducing")]
    assert "lifts by itself at the reopen" in room(name, "flatten")["reason"]
    for slave in ("flatten", "stop_entries"):
        assert opened(name, slave) == ["EURUSD"]
    # stop_entries keeps what it holds: its copy follows the master's close.
    assert [s for s, _ in closes(name, "stop_entries")] == ["EURUSD"]
    assert opened(name, "warn") == ["EURUSD", "GBPUSD"]
    assert any(e["account"] == "warn" and e["at_s"] == 900.0 and "1 position(s) held into the weekend" in e["text"]
               for e in outcome(name)["events"])


# ------------------------------------------------------------- consistency and trading days


def test_the_best_day_s_share_is_warned_never_stopped_and_trading_days_are_counted():
    name = "consistency_and_trading_days"
    slave = room(name, "slave")
    assert slave["state"] == "active" and opened(name, "slave") == ["EURUSD", "EURUSD", "GBPUSD"]
    assert slave["trading_days"] == 2 and slave["min_trading_days"] == 4
    # About 564 of about 695 USD came on the first day.
    assert slave["best_day_share"] == pytest.approx(81.1, abs=0.5) and slave["best_day_limit"] == 40.0
    warned = [e for e in outcome(name)["events"] if "consistency: the best day" in e["text"]]
    assert warned and warned[0]["at_s"] == pytest.approx(182, abs=2)
    # The firm's day that began at 17:00 on the 24th in New York is the 25th's trading.
    assert "the best day (2026-11-24 17:00 to 2026-11-25 17:00 America/New_York)" in warned[0]["text"]
    assert refusals(name, "slave") == []


# ------------------------------------------------------------------- hedging across accounts


def test_an_entry_that_would_hedge_another_linked_account_is_refused_or_warned():
    name = "hedging_across_accounts"
    # Against the straight account's copy at another broker, on its way in the same pass.
    hedges = [why for _, why in refusals(name, "reversed") if "risk.prop.hedging" in why]
    assert len(hedges) == 2
    assert "sell 0.5 EURUSD.raw would hedge an entry on its way to straight (buy 0.5 EURUSD.m)" in hedges[0]
    assert "(sell 0.1 GOLD.m)" in hedges[1]  # gold by another name is the same instrument
    # GBPUSD: the straight account does not copy it, and the master is not in this guard's accounts.
    assert opened(name, "reversed") == ["GBPUSD.raw"]
    assert opened(name, "straight") == ["EURUSD.m", "GOLD.m"]
    # Every linked account counts when none are named: the master's own trades too, warned.
    assert opened(name, "reversed_warn") == ["EURUSD", "XAUUSD", "GBPUSD"]
    warned = [e["text"] for e in outcome(name)["events"] if e["account"] == "reversed_warn" and "hedging" in e["text"]]
    assert len(warned) == 3 and all("would hedge master's position" in t and "opened anyway" in t for t in warned)


# --------------------------------------------------------------------------------- cTrader


def test_a_prop_account_at_a_ctrader_broker_is_flattened_over_the_open_api():
    name = "ctrader_daily_loss_flatten"
    assert states(name, "prop") == [(10.0, "active -> halted")]
    assert room(name, "prop")["daily_limit"] == 200.0 and "2% of baseline: equity" in room(name, "prop")["reason"]
    assert sorted(s for s, when in closes(name, "prop") if when == pytest.approx(10.0, abs=0.1)) == ["EURUSD", "XAUUSD"]
    assert opened(name, "prop") == ["EURUSD", "XAUUSD"] and held(name, "prop") == []


# ---------------------------------------------------------------- deposits and withdrawals


def test_deposits_and_withdrawals_are_not_trading_to_the_prop_limits():
    name = "balance_operations"
    # The payout is no loss: entries go on until trading itself loses 300 (at 40 s).
    assert opened(name, "withdrawn") == ["EURUSD", "GBPUSD"]
    assert states(name, "withdrawn") == [(40.0, "active -> reducing")]
    assert "baseline: balance 8,000.00 USD" in room(name, "withdrawn")["reason"]
    # The deposit is no new high: the floor stays at 9,500 and 600 of trading loss is inside it.
    assert outcome(name)["checkpoints"][0]["room_left"]["deposited"]["floor"] == 9500.0
    assert room(name, "deposited")["state"] == "active" and room(name, "deposited")["floor"] == 9500.0
    assert opened(name, "deposited") == ["EURUSD", "GBPUSD", "USDJPY"]
    notes = [e["text"] for e in outcome(name)["events"] if "not trading, so the limits leave it out" in e["text"]]
    assert any(t.startswith("deposit of 2,000.00 USD") for t in notes)
    assert any(t.startswith("withdrawal of 2,000.00 USD") for t in notes)
