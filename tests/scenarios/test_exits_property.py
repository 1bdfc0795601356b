"""Property: no rule ever blocks an exit. Random rule sets and random master trading; every master
close must leave each slave flat on that position."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copier_gui.replay.runner import run_scenario
from copier_gui.replay.scenario import parse_scenario

SYMBOLS = ("EURUSD", "GBPUSD", "XAUUSD", "US30")
PROFILES = ("harbor_fx", "summit_netting", "apex_prop", "meridian_ecn")

limit = st.fixed_dictionaries({"value": st.floats(0.001, 5.0), "action": st.sampled_from(["warn", "stop_entries", "flatten"])})
rules = st.fixed_dictionaries({}, optional={
    "sizing": st.fixed_dictionaries({}, optional={
        "mode": st.sampled_from(["fixed_lot", "lot_multiplier", "balance_ratio", "equity_ratio",
                                 "free_margin_ratio", "fixed_risk"]),
        "multiplier": st.floats(0.1, 3.0),
        "rounding": st.sampled_from(["down", "nearest"]),
        "max_lot": st.floats(0.1, 5.0),
    }),
    "filters": st.fixed_dictionaries({}, optional={
        "reverse": st.booleans(),
        "direction": st.sampled_from(["both", "long_only", "short_only"]),
        "exclude_symbols": st.lists(st.sampled_from(SYMBOLS), max_size=2, unique=True),
    }),
    "stops": st.fixed_dictionaries({}, optional={
        "mode": st.sampled_from(["copy", "none"]), "follow_modifications": st.booleans()}),
    "risk": st.fixed_dictionaries({}, optional={
        "max_open_positions": st.fixed_dictionaries({"value": st.integers(1, 4).map(float),
                                                     "action": st.sampled_from(["warn", "stop_entries", "flatten"])}),
        "max_lots_total": limit,
        "daily_loss": limit,
        "max_drawdown_percent": limit,
    }),
    "copy_partial_closes": st.booleans(),
    "tolerances": st.fixed_dictionaries({}, optional={
        # Every unit, pips on coins and gold included: a limit that cannot apply is refused, and
        # exits still go.
        "max_price_deviation": st.fixed_dictionaries({"value": st.floats(0, 50), "unit": st.sampled_from(
            ["point", "pip", "bp", "spread"])}),
        "max_delay_ms": st.integers(0, 20_000),
        "per_symbol": st.dictionaries(st.sampled_from(SYMBOLS), st.fixed_dictionaries({}, optional={
            "max_price_deviation": st.fixed_dictionaries({"value": st.integers(0, 5000).map(float),
                                                          "unit": st.just("point")}),
            "max_delay_ms": st.integers(0, 20_000)}), max_size=2),
    }),
})


@st.composite
def timelines(draw):
    n = draw(st.integers(1, 5))
    actions, t = [], 1.0
    for i in range(n):
        name = f"p{i}"
        t += draw(st.floats(0.1, 2.0))
        actions.append({"at": round(t, 3), "action": "open", "id": name, "symbol": draw(st.sampled_from(SYMBOLS)),
                        "side": draw(st.sampled_from(["buy", "sell"])), "volume": draw(st.sampled_from([0.1, 0.2, 0.5, 1.0])),
                        "sl_points": draw(st.sampled_from([None, 500, 2000]))})
    for i in range(n):
        name = f"p{i}"
        if draw(st.booleans()):
            t += draw(st.floats(0.1, 2.0))
            actions.append({"at": round(t, 3), "action": "partial_close", "id": name, "volume": 0.05})
        t += draw(st.floats(0.1, 3.0))
        actions.append({"at": round(t, 3), "action": "close", "id": name})
    for a in actions:
        if a.get("sl_points") is None:
            a.pop("sl_points", None)
    return actions


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules_a=rules, rules_b=rules, profiles=st.lists(st.sampled_from(PROFILES), min_size=2, max_size=2),
       timeline=timelines(), disconnect=st.booleans(), seed=st.integers(0, 50))
def test_every_master_close_leaves_the_slave_flat(rules_a, rules_b, profiles, timeline, disconnect, seed):
    data = {
        "seed": seed,
        "brokers": {"m": {"profile": "meridian_ecn"}, "a": {"profile": profiles[0]}, "b": {"profile": profiles[1]}},
        "accounts": [
            {"id": "master", "role": "master", "broker": "m", "balance": 50_000},
            {"id": "a", "role": "slave", "broker": "a", "rules": rules_a},
            {"id": "b", "role": "slave", "broker": "b", "rules": rules_b},
        ],
        "timeline": timeline,
    }
    if disconnect:
        data["faults"] = [{"at": timeline[-1]["at"] - 0.05 if timeline[-1]["at"] > 0.1 else 0.0,
                           "kind": "disconnect", "account": "b", "duration_ms": 1500}]
    report = run_scenario(parse_scenario(data))
    assert report["accounts"]["master"]["positions"] == []
    for slave in ("a", "b"):
        left = report["accounts"][slave]["positions"]
        assert left == [], f"{slave} kept {left} after the master closed everything"
