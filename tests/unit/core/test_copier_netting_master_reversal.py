"""A netting master reverses a position well after opening it. On MT5 the reversed position takes
the ticket of the order that reversed it and keeps its first fill's open time: the new side is an
entry made now, and the maximum delay counts from now, not from that first fill."""

from __future__ import annotations

import asyncio

from copier_gui.sim import Market, new_terminal
from tests.kit.rig import Rig

NETTING = 0  # ACCOUNT_MARGIN_MODE_RETAIL_NETTING


def test_an_mt5_netting_master_s_late_reversal_is_copied_on_the_new_side():
    rig = Rig(slaves=("harbor_fx", "summit_netting"))
    rig.master = new_terminal("meridian_ecn", margin_mode=NETTING, seed=3, clock=rig.clock,
                              market=Market(3, rig.clock), login=1)
    assert rig.master.initialize()

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
