"""Generated scenarios: valid, the same for the same seed, and covering what the campaign promises."""

from __future__ import annotations

from collections import Counter

from copier_gui.replay.campaign.generator import PROFILE_NAMES, generate, scenario
from copier_gui.replay.scenario import CopierCrashFault, parse_scenario
from copier_gui.sim.catalog import ALL_PROFILES as PROFILES


def test_one_seed_one_scenario():
    assert generate(7) == generate(7)
    assert generate(7) != generate(8)


def test_every_seed_gives_a_valid_scenario_with_crashes_after_master_actions():
    crashes = 0
    soon_after = 0
    for seed in range(60):
        s = scenario(seed)
        times = [a.at for a in s.timeline]
        for fault in s.faults:
            if isinstance(fault, CopierCrashFault):
                crashes += 1
                soon_after += any(0 < fault.at - t <= 0.15 for t in times)
    assert crashes >= 2 * 60
    assert soon_after >= crashes // 2


def test_coverage_of_profiles_margin_modes_actions_and_faults():
    seen: Counter = Counter()
    for seed in range(80):
        data = generate(seed)
        profiles = {name: b["profile"] for name, b in data["brokers"].items()}
        for account in data["accounts"]:
            if account["role"] == "slave":
                seen[(profiles[account["broker"]], account["margin_mode"])] += 1
        seen.update(a["action"] for a in data["timeline"])
        seen.update(f["kind"] for f in data["faults"])
        times = Counter(a["at"] for a in data["timeline"] if a["action"] == "open")
        seen["simultaneous opens"] += any(n > 1 for n in times.values())
    for profile in PROFILE_NAMES:
        assert seen[(profile, "hedging")] and seen[(profile, "netting")], profile
    for action in ("open", "modify", "partial_close", "close", "place_pending", "modify_pending",
                   "cancel_pending"):
        assert seen[action], action
    for kind in ("copier_crash", "disconnect", "reject", "latency", "requote", "partial_fill"):
        assert seen[kind], kind
    assert seen["simultaneous opens"]


def test_some_masters_are_netting_and_trade_as_one():
    netting = [data for data in map(generate, range(80))
               if data["accounts"][0]["margin_mode"] == "netting"]
    assert netting
    for data in netting:
        parse_scenario(data)  # a second position on a held symbol would be refused here
        assert not any(a["action"] == "place_pending" for a in data["timeline"])


def test_a_master_moved_to_ctrader_takes_every_symbol_the_slaves_rules_name():
    # Seed 45165 drew a symbol only some brokers offer (XAGUSD) into the slaves' rules; moving the
    # master to a cTrader broker that lacks it must keep the master where it was.
    data = generate(45165)
    scenario(45165)
    master = data["brokers"][data["accounts"][0]["broker"]]["profile"]
    named = {s for a in data["timeline"] if "symbol" in a for s in [a["symbol"]]}
    assert all(s in PROFILES[master].symbols_by_name for s in named)
