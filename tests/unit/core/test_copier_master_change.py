"""A new master: the copies slaves hold of the old master are left open, journaled once with their
tickets, and never closed, resized, copied again or counted as orphans by the new master's copier,
even when the two masters' tickets collide."""

from __future__ import annotations

import asyncio

from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector
from copier_gui.core import tags
from copier_gui.core.copier import Copier, SlaveLink
from copier_gui.core.copybook import CopyBook
from copier_gui.core.rules import CopyRules
from copier_gui.sim import new_terminal
from tests.kit.rig import Rig, master_trade

NETTING = 0  # ACCOUNT_MARGIN_MODE_RETAIL_NETTING


def copier_for(rig: Rig, master, master_id: str, rules: CopyRules | None = None) -> Copier:
    links = [SlaveLink(sid, MT5Connector(sid, t, invoker=InlineInvoker(), clock=rig.clock), rules or rig.rules)
             for sid, t in rig.slaves.items()]
    copier = Copier(MT5Connector(master_id, master, invoker=InlineInvoker(), clock=rig.clock), links,
                    journal=rig.journal, clock=rig.clock, copybook=CopyBook(rig.copybook_path), master_id=master_id,
                    poll_interval_s=0.005, reconcile_interval_s=1.0, instance="AB12")
    copier.subscribe(rig.notices.append)
    return copier


def second_master(rig: Rig):
    terminal = new_terminal("meridian_ecn", seed=3, clock=rig.clock, market=rig.master.sim.engine.market, login=2)
    assert terminal.initialize()
    return terminal


def tagged(rig: Rig, slave: str) -> list[tuple[int, str, float, int]]:
    t = rig.slaves[slave]
    if not t.sim.connected:
        assert t.initialize()
    return sorted((p.ticket, p.symbol, round(p.volume, 2), tags.master_ticket_of(p.comment) or 0)
                  for p in t.positions_get())


def test_copies_of_the_old_master_are_left_alone_by_a_copier_with_a_new_master(tmp_path):
    rig = Rig(copybook_path=tmp_path / "copies.sqlite3", margin_modes={"s1": NETTING})
    b = second_master(rig)

    async def script():
        first = copier_for(rig, rig.master, "alpha")
        await first.start()
        a_ticket = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(0.1)
        held_a = {sid: tagged(rig, sid) for sid in rig.slaves}
        await first.stop()

        second = copier_for(rig, b, "bravo")
        await second.start()
        # Two servers' tickets may collide: the new master's next ticket is the old one's trade's.
        b.sim.engine._next_order = a_ticket - 1
        b_ticket = master_trade(b, "EURUSD", 1, 0.3)
        await asyncio.sleep(0.1)
        with_b = {sid: tagged(rig, sid) for sid in rig.slaves}
        assert rig.master.initialize()  # the old master's own trader is still at work
        rig.trade("EURUSD", 1, 0.5, position=a_ticket)  # the old master closes: nobody follows it now
        master_trade(b, "EURUSD", 0, 0.3, position=b_ticket)
        await asyncio.sleep(1.5)  # periodic passes too
        after = {sid: tagged(rig, sid) for sid in rig.slaves}
        await second.stop()

        third = copier_for(rig, b, "bravo")  # a restart with the new master
        await third.start()
        await asyncio.sleep(1.5)
        restarted = {sid: tagged(rig, sid) for sid in rig.slaves}
        await third.stop()
        return a_ticket, b_ticket, held_a, with_b, after, restarted

    a_ticket, b_ticket, held_a, with_b, after, restarted = rig.run(script)
    assert a_ticket == b_ticket  # the collision this test is about
    assert [(s, v) for _t, s, v, _m in held_a["s0"]] == [("EURUSD.m", 0.5)]
    # The hedging slave: the old copy stays as it was, and the new master's trade got its own copy.
    assert held_a["s0"][0] in with_b["s0"] and len(with_b["s0"]) == 2
    assert after["s0"] == held_a["s0"] == restarted["s0"]
    # The netting slave: its one EURUSD position keeps the old master's 0.5 through it all.
    assert [(s, v) for _t, s, v, _m in after["s1"]] == [("EURUSD.raw", 0.5)]
    assert [(s, v) for _t, s, v, _m in restarted["s1"]] == [("EURUSD.raw", 0.5)]
    for sid in rig.slaves:
        left = [e for e in rig.journal.entries(kind="state", account=sid) if "left open, no longer managed" in e.message]
        assert len(left) == 1, [e.message for e in left]  # once, not at every start
        assert "the previous master 1@" in left[0].message
    assert str(held_a["s0"][0][0]) in next(e.message for e in rig.journal.entries(kind="state", account="s0")
                                           if "left open" in e.message)
    closes = [e.message for e in rig.journal.entries(kind="request") if e.message.startswith("close")]
    assert all(f"#{held_a['s0'][0][0]}" not in m for m in closes), closes


def test_back_to_the_old_master_its_copies_are_managed_again(tmp_path):
    rig = Rig(slaves=("harbor_fx",), copybook_path=tmp_path / "copies.sqlite3")
    b = second_master(rig)

    async def script():
        first = copier_for(rig, rig.master, "alpha")
        await first.start()
        a_ticket = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(0.1)
        await first.stop()
        second = copier_for(rig, b, "bravo")
        await second.start()
        await asyncio.sleep(0.2)
        await second.stop()
        again = copier_for(rig, rig.master, "alpha")
        await again.start()
        await asyncio.sleep(0.2)
        kept = tagged(rig, "s0")
        rig.trade("EURUSD", 1, 0.5, position=a_ticket)
        await asyncio.sleep(0.2)
        closed = tagged(rig, "s0")
        await again.stop()
        return kept, closed

    kept, closed = rig.run(script)
    assert [(s, v) for _t, s, v, _m in kept] == [("EURUSD.m", 0.5)]  # not copied a second time
    assert closed == []  # its master's close is mirrored again
    assert any("managed again" in e.message for e in rig.journal.entries(kind="state", account="s0"))


def test_the_new_masters_positions_held_at_the_change_follow_copy_existing(tmp_path):
    rig = Rig(slaves=("harbor_fx",), copybook_path=tmp_path / "copies.sqlite3")
    b = second_master(rig)

    async def script():
        first = copier_for(rig, rig.master, "alpha")
        await first.start()
        await asyncio.sleep(0.1)
        await first.stop()
        held = master_trade(b, "GBPUSD", 0, 0.2)  # the new master trades before it is made the master
        await asyncio.sleep(0.5)
        second = copier_for(rig, b, "bravo")
        await second.start()
        await asyncio.sleep(0.3)
        out = tagged(rig, "s0")
        await second.stop()
        return held, out

    held, out = rig.run(script)
    assert out == []
    reasons = [e.message for e in rig.journal.entries(kind="refusal", account="s0")
               if e.data.get("master_ticket") == held]
    assert any("already open when copying to this slave started" in r for r in reasons), reasons
