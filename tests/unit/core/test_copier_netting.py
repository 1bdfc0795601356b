"""A netting slave follows a hedging master: each master position's share of the slave's one
position per symbol is its own tagged deal, so the net is exact for any interleaving."""

from __future__ import annotations

import asyncio

from copier_gui.core import tags
from copier_gui.core.rules import CopyRules, Tolerances
from tests.kit.rig import Rig

RULES = CopyRules(tolerances=Tolerances(max_price_deviation_points=5000))


def net(rig: Rig, slave: str = "s0") -> dict[str, float]:
    out: dict[str, float] = {}
    for p in rig.held(slave):
        out[p.symbol] = round(out.get(p.symbol, 0.0) + (p.volume if p.type == 0 else -p.volume), 8)
    return {s: v for s, v in out.items() if v}


def entries(rig: Rig) -> list:
    return [e for e in rig.journal.entries() if e.account == "s0"]


def test_two_master_buys_in_one_poll_end_at_the_exact_net():
    rig = Rig(slaves=("summit_netting",), rules=RULES)

    async def script():
        copier = rig.copier()
        await copier.start()
        rig.trade("EURUSD", 0, 0.2)
        rig.trade("EURUSD", 0, 0.2)  # the same poll sees both
        await asyncio.sleep(5)  # periodic passes must not top it up again
        await copier.stop()

    rig.run(script)
    assert net(rig) == {"EURUSD-ECN": 0.4}


def test_opposite_master_positions_opened_together_net_exactly():
    rig = Rig(slaves=("summit_netting",), rules=RULES)

    async def script():
        copier = rig.copier()
        await copier.start()
        rig.trade("EURUSD", 0, 0.3)
        rig.trade("EURUSD", 1, 0.1)
        await asyncio.sleep(5)
        await copier.stop()

    rig.run(script)
    assert net(rig) == {"EURUSD-ECN": 0.2}


def test_a_hedge_leg_closed_long_after_brings_the_slave_to_the_new_net():
    rig = Rig(slaves=("summit_netting",), rules=RULES)

    async def script():
        copier = rig.copier()
        await copier.start()
        rig.trade("EURUSD", 0, 0.3)
        await asyncio.sleep(1)
        short = rig.trade("EURUSD", 1, 0.1)
        await asyncio.sleep(13)  # beyond the 10 s maximum delay
        rig.trade("EURUSD", 0, 0.1, position=short)
        await asyncio.sleep(3)
        await copier.stop()

    rig.run(script)
    assert net(rig) == {"EURUSD-ECN": 0.3}
    assert not [e for e in entries(rig) if e.kind == "refusal"]


def test_partial_closes_of_either_leg_keep_each_share_exact():
    rig = Rig(slaves=("summit_netting",), rules=RULES)

    async def script():
        copier = rig.copier()
        await copier.start()
        long = rig.trade("EURUSD", 0, 0.5)
        short = rig.trade("EURUSD", 1, 0.2)
        await asyncio.sleep(1)
        rig.trade("EURUSD", 1, 0.2, position=long)
        await asyncio.sleep(1)
        rig.trade("EURUSD", 0, 0.1, position=short)
        await asyncio.sleep(3)
        middle = net(rig)
        rig.trade("EURUSD", 1, 0.3, position=long)
        await asyncio.sleep(3)
        await copier.stop()
        return middle

    middle = rig.run(script)
    assert middle == {"EURUSD-ECN": 0.2}
    assert net(rig) == {"EURUSD-ECN": -0.1}


def test_each_deal_is_tagged_with_the_master_position_it_copies():
    rig = Rig(slaves=("summit_netting",), rules=RULES)

    async def script():
        copier = rig.copier()
        await copier.start()
        first = rig.trade("EURUSD", 0, 0.2)
        second = rig.trade("EURUSD", 0, 0.3)
        await asyncio.sleep(1)
        await copier.stop()
        return first, second

    first, second = rig.run(script)
    (position,) = rig.held("s0")
    deals = rig.slaves["s0"].history_deals_get(position=position.identifier)
    shares = {}
    for d in deals:
        t = tags.master_ticket_of(d.comment)
        shares[t] = round(shares.get(t, 0.0) + d.volume, 8)
    assert shares == {first: 0.2, second: 0.3}


def test_the_position_keeps_the_stops_of_the_largest_master_position_on_its_side():
    """A second master buy's deal carries its own stops onto the netting position; the copier puts
    back those of the largest buy, the one the position mostly copies."""
    rig = Rig(slaves=("summit_netting",), rules=RULES)

    async def script():
        copier = rig.copier()
        await copier.start()
        big = rig.trade("EURUSD", 0, 0.5)
        (pos,) = rig.master.positions_get(ticket=big)
        sl = round(pos.price_open - 0.0050, 5)
        assert rig.master.order_send({"action": 6, "symbol": "EURUSD", "position": big, "sl": sl,
                                      "tp": 0.0}).retcode == 10009
        await asyncio.sleep(1)
        tick = rig.master.symbol_info_tick("EURUSD")
        small = rig.master.order_send({"action": 1, "symbol": "EURUSD", "volume": 0.1, "type": 0,
                                       "price": tick.ask, "sl": round(tick.bid - 0.0020, 5), "type_filling": 1})
        assert small.retcode == 10009, small
        await asyncio.sleep(3)
        await copier.stop()
        return sl

    sl = rig.run(script)
    (position,) = rig.held("s0")
    assert (position.volume, position.sl) == (0.6, sl)
