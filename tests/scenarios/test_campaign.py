"""The fault campaign on a fixed sample of seeds: random valid scenarios with copier crashes,
disconnects, switched-off terminals, rejections and latency, judged by the oracle that was written
apart from the planner. Every kind of violation must be absent.

A kind the copier still gets wrong in the sample (``KNOWN``) is marked as an expected failure,
strictly: the day it is fixed the mark fails the run and has to go. Seeds beyond the sample where
the wider campaign once found a violation (``FOUND``) run on their own, so the fix stays fixed. To
replay a failing seed: ``run_seed(seed)`` (or ``python bench/campaign.py --count 1 --seed S --out
DIR`` for its scenario as YAML); a seed in ``FOUND`` replays as ``run_seed(seed, ctrader=False)``.
"""

from __future__ import annotations

import os

import pytest

from copier_gui.replay.campaign import KINDS, run_campaign, run_seed
from copier_gui.replay.campaign.campaign import REPLAY_ERROR

FIRST_SEED = 0
COUNT = 60  # about three minutes on one core of a busy machine, so it takes two where there are
JOBS = min(2, os.cpu_count() or 1)

# Kinds the sample still finds, with what goes wrong; remove an entry once the copier is fixed.
KNOWN: dict[str, str] = {}

# Seeds beyond the sample where the wider campaign found a violation, now fixed: each runs on its
# own, as a regression test.
FOUND: dict[int, tuple[str, str]] = {
    145: ("orphan_position",
          "netting slave at a RETURN-filling broker: the remainder of a partly filled close fills "
          "later, the copier spreads it over the shares in fractions off the lot step (0.0857, "
          "0.514), every exit is then refused and the slave keeps -0.6 EURUSD with the master flat"),
    50036: ("orphan_position",
            "netting slave at a RETURN-filling broker with partial fills: it keeps -1.4 USDJPY after "
            "the master closed everything"),
    10914: ("orphan_order",
            "a slave's connection is lost, the master cancels its order and the copier crashes before "
            "the pass for it breaks off: after the restart nothing named the pending copy left there"),
    50005: ("wrong_stops",
            "netting slave, fixed_lot shares: the master moves the take profit of its largest position "
            "and 18 s later the slave's position still carries the old one"),
    40098: ("missing",
            "reversed onto a netting slave, the master's take profit becomes the slave's stop, hit "
            "there 0.4 s before the run ends and before the copier's next look: judged at once, the "
            "copy the copier would have explained at that look counted as missed"),
    42026: ("orphan_position",
            "netting slave: the master closes US30 while the copier is down; after the restart the first "
            "exit of the pass is refused (AutoTrading disabled by the server) and the link is lost, and "
            "nothing journaled named the US30 copy left open"),
}

# The same, found on scenarios that draw cTrader accounts (run as the campaign draws them today).
FOUND_CTRADER: dict[int, tuple[str, str]] = {
    44207: ("wrong_stops",
            "netted cTrader slave: an entry the other way only reduces its EURUSD position, the server "
            "puts that order's relative stop on it unseen, and the copier keeps trusting the old stop"),
    44315: ("wrong_stops",
            "netted cTrader slave: a sell entry reduces its BTCUSD buy, whose take profit the server moves "
            "to the sell's distance without an event, so the master's stops are never set again"),
}


@pytest.fixture(scope="module")
def campaign() -> dict:
    return run_campaign(COUNT, seed=FIRST_SEED, jobs=JOBS)


def _case(kind: str):
    if kind in KNOWN:
        return pytest.param(kind, marks=pytest.mark.xfail(strict=True, reason=KNOWN[kind]))
    return kind


def test_the_sample_is_the_campaign_promised(campaign):
    assert campaign["scenarios"] == COUNT
    assert campaign["crashes"] >= 2 * COUNT
    coverage = campaign["coverage"]
    for what in ("slave apex_prop netting", "slave summit_netting hedging", "action place_pending",
                 "action partial_close", "fault disconnect", "fault reject", "checkpoints",
                 "slave lumen_ctrader hedging", "slave kestrel_netting netting", "master lumen_ctrader hedging"):
        assert coverage.get(what), what


@pytest.mark.parametrize("kind", [_case(k) for k in (*KINDS, REPLAY_ERROR)])
def test_no_violation(campaign, kind):
    found = campaign["examples"].get(kind, [])
    shown = "\n".join(f"seed {e['seed']}: {e['description']}" for e in found)
    assert campaign["violations_by_kind"][kind] == 0, f"{kind}:\n{shown}"


@pytest.mark.parametrize("seed", list(FOUND))
def test_found_by_the_wider_campaign(seed):
    kind = FOUND[seed][0]
    # Each was found (and fixed) on a scenario drawn before cTrader accounts joined the draw.
    found = [v["description"] for v in run_seed(seed, ctrader=False)["violations"] if v["kind"] == kind]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("seed", list(FOUND_CTRADER))
def test_found_by_the_wider_campaign_with_ctrader_accounts(seed):
    kind = FOUND_CTRADER[seed][0]
    found = [v["description"] for v in run_seed(seed)["violations"] if v["kind"] == kind]
    assert not found, "\n".join(found)
