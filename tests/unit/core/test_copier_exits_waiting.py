"""Exits a slave cannot make now are journaled naming each master position: a pass that breaks
off (trading switched off at the slave's server, the link lost) names every copy it was to close,
including copies of master positions closed while the copier was down, which no master event
announces."""

from __future__ import annotations

import asyncio

import pytest

from copier_gui.core.rules import CopyRules, Tolerances
from tests.kit.rig import Rig

RULES = CopyRules(tolerances=Tolerances(max_price_deviation_points=5000))
AUTOTRADING_DISABLED_BY_SERVER = 10026


def not_followed(rig: Rig, ticket: int) -> list[str]:
    return [e.message for e in rig.journal.entries(kind="refusal", newest_first=False)
            if e.account == "s0" and e.data.get("master_ticket") == ticket
            and e.message.startswith("not followed yet")]


@pytest.mark.parametrize("profile", ["summit_netting", "harbor_fx"])
def test_copies_of_positions_closed_while_the_copier_was_down_are_named_when_their_exits_cannot_pass(
        tmp_path, profile):
    """The restart's first pass finds three copies whose master positions are gone; the first exit
    is refused because the slave's server disabled automated trading, and the link is lost soon
    after. Each copy left open has a journaled reason naming its master position, and what it
    waits on."""
    rig = Rig(slaves=(profile,), rules=RULES, copybook_path=tmp_path / "copies.sqlite3")
    slave = rig.slaves["s0"].sim

    async def script():
        copier = rig.copier()
        await copier.start()
        tickets = [rig.trade("EURUSD", 0, 0.2), rig.trade("EURUSD", 1, 0.1), rig.trade("GBPUSD", 0, 0.1)]
        await asyncio.sleep(1.5)
        copied = len(rig.held("s0"))
        copier.abandon()
        copier.copybook.close()
        for ticket, side, volume in zip(tickets, (1, 0, 1), (0.2, 0.1, 0.1), strict=True):
            rig.trade("EURUSD" if ticket != tickets[2] else "GBPUSD", side, volume, position=ticket)
        slave.force_retcodes(AUTOTRADING_DISABLED_BY_SERVER, AUTOTRADING_DISABLED_BY_SERVER)
        await asyncio.sleep(0.5)
        second = rig.copier()
        await second.start()
        await asyncio.sleep(0.4)  # the start-up pass and the watch's pass are both refused
        left = len(rig.held("s0"))
        slave.lose_connection()
        await asyncio.sleep(3.0)
        second.abandon()
        return tickets, copied, left

    tickets, copied, left = rig.run(script)
    assert copied == (2 if profile == "summit_netting" else 3)  # a netting slave nets EURUSD
    assert left == copied, "the exits were refused, so the copies are still there"
    for ticket in tickets:
        reasons = not_followed(rig, ticket)
        assert reasons, f"no journaled reason names master #{ticket}"
        assert reasons[0].startswith("not followed yet: s0 is degraded ("), reasons
        # Once the link is lost too, the reason says what the exit now waits on.
        assert reasons[-1].startswith("not followed yet: s0 is disconnected"), reasons


def test_copies_a_restarted_copier_cannot_reach_are_named_even_when_their_master_position_is_still_open(tmp_path):
    """The copier crashed; meanwhile the master moved a stop of a position s0 holds a copy of, and
    s0 lost its link. The restart cannot read s0, so it cannot know whether the copy is in step:
    the copy is named as not followed, with what it waits on, rather than left unsaid."""
    rig = Rig(slaves=("harbor_fx",), rules=RULES, copybook_path=tmp_path / "copies.sqlite3")

    async def script():
        copier = rig.copier()
        await copier.start()
        ticket = rig.trade("EURUSD", 0, 0.2)
        await asyncio.sleep(1.5)
        copier.abandon()
        copier.copybook.close()
        tick = rig.master.symbol_info_tick("EURUSD")
        result = rig.master.order_send({"action": 6, "position": ticket, "symbol": "EURUSD",
                                        "sl": round(tick.bid - 0.005, 5), "tp": 0.0})
        assert result.retcode == 10009, result
        rig.slaves["s0"].sim.lose_connection()
        second = rig.copier()
        await second.start()
        await asyncio.sleep(0.5)
        second.abandon()
        return ticket

    ticket = rig.run(script)
    reasons = not_followed(rig, ticket)
    assert reasons and reasons[0].startswith("not followed yet: s0 is disconnected"), reasons
