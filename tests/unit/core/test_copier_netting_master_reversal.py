"""A netting master reverses a position well after opening it. On MT5 the reversed position takes
the ticket of the order that reversed it and keeps its first fill's open time: the new side is an
entry made now, and the maximum delay counts from now, not from that first fill."""

from __future__ import annotations

import asyncio
import dataclasses

from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector
from copier_gui.core.copier import Copier
from copier_gui.sim import Market, new_terminal
from tests.kit.rig import Rig

NETTING = 0  # ACCOUNT_MARGIN_MODE_RETAIL_NETTING


def _netting_master_rig(**kw) -> Rig:
    rig = Rig(slaves=("harbor_fx", "summit_netting"), **kw)
    rig.master = new_terminal("meridian_ecn", margin_mode=NETTING, seed=3, clock=rig.clock,
                              market=Market(3, rig.clock), login=1)
    assert rig.master.initialize()
    return rig


def test_an_mt5_netting_master_s_late_reversal_is_copied_on_the_new_side():
    rig = _netting_master_rig()

    async def script():
        copier = rig.copier()
        await copier.start()
        first = rig.trade("EURUSD", 0, 0.2)
        await asyncio.sleep(30.0)  # three times the default maximum delay
        rig.trade("EURUSD", 1, 0.5)  # sells 0.5 against the 0.2 held: short 0.3
        await asyncio.sleep(3.0)
        (position,) = rig.master.positions_get()
        await copier.stop()
        return first, position

    first, position = rig.run(script)
    assert (position.type, position.volume, position.identifier) == (1, 0.3, first)
    assert position.ticket != first  # MT5: the reversing order's ticket
    for slave in ("s0", "s1"):
        held = [(p.type, p.volume) for p in rig.held(slave)]
        assert held == [(1, 0.3)], (slave, held)
        refusals = [e.message for e in rig.journal.entries(account=slave) if e.kind == "refusal"]
        assert refusals == [], refusals


class SameIdMaster(MT5Connector):
    """A netting master whose position keeps its id when it reverses, as a cTrader position does
    (an MT5 one takes the reversing order's ticket)."""

    async def snapshot(self):
        taken = await super().snapshot()
        return dataclasses.replace(taken, positions=tuple(
            dataclasses.replace(p, ticket=p.identifier) if p.identifier else p for p in taken.positions))


def test_a_restart_between_the_old_copy_s_close_and_the_new_side_s_fill_enters_the_new_side(tmp_path):
    # The master reverses under the same position id. The hedging slave's copy on the old side is
    # closed, and its entry on the new side is refused by its broker; the copier dies before trying
    # again. After the restart the slave holds nothing of that master position: not a copy closed at
    # the slave (the old side was closed by the copier, for the reversal), but a new side to enter.
    rig = _netting_master_rig(copybook_path=tmp_path / "copies.sqlite3")
    slave = rig.slaves["s0"]
    sends = slave.order_send
    refusing = False

    def order_send(request):
        if refusing and not request.get("position"):
            return sends({**request, "volume": 10_000.0})  # beyond the broker's maximum: refused
        return sends(request)

    slave.order_send = order_send

    def copier() -> Copier:
        plain = rig.copier()
        master = SameIdMaster("master", rig.master, invoker=InlineInvoker(), clock=rig.clock)
        again = Copier(master, list(plain.slaves.values()), journal=rig.journal, clock=rig.clock,
                       copybook=plain.copybook, poll_interval_s=0.005, reconcile_interval_s=1.0)
        return again

    async def script():
        nonlocal refusing
        first = copier()
        await first.start()
        opened = rig.trade("EURUSD", 0, 0.2)
        await asyncio.sleep(1.0)
        assert [(p.type, p.volume) for p in rig.held("s0")] == [(0, 0.2)]
        refusing = True
        rig.trade("EURUSD", 1, 0.5)  # sells 0.5 against the 0.2 held: short 0.3, the same position id
        await asyncio.sleep(0.3)
        assert rig.held("s0") == []  # the buy copy closed; the sell refused
        first.abandon()
        first.copybook.close()
        refusing = False
        second = copier()
        await second.start()
        await asyncio.sleep(3.0)
        (position,) = rig.master.positions_get()
        await second.stop()
        return opened, position

    opened, position = rig.run(script)
    assert (position.type, position.volume, position.identifier) == (1, 0.3, opened)
    for sid in ("s0", "s1"):
        held = [(p.type, p.volume) for p in rig.held(sid)]
        assert held == [(1, 0.3)], (sid, held)
        closed_there = [e.message for e in rig.journal.entries(account=sid)
                        if e.kind == "refusal" and "closed at the slave" in e.message]
        assert closed_there == [], closed_there
