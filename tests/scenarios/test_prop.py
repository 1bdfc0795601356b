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
