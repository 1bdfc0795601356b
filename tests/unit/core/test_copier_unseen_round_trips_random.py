"""Random master trading while the copier crashes, restarts and loses the master, with scalps opened
and closed between two of its looks, checked by an oracle that reads only the brokers' deal
histories and the journal:

- every master position is either copied to a slave (a deal there carries its tag) or named in
  that slave's journal with a reason;
- a position the copier never saw is named once per slave, and never for a slave that copied it;
- the one exception: a position opened while the copier did not yet know the master's server clock
  (it saw no trade or order there), made while it was down, had lost the master or between two
  looks, is covered by the master's journal saying such positions cannot be looked for.

The master may start flat and stay so for a while, with only scalps, pending orders or outages.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from copier_gui.core import tags
from copier_gui.core.ports import ConnectorError
from copier_gui.core.rules import CopyRules
from tests.kit.rig import Rig

SYMBOLS = ("EURUSD", "GBPUSD", "USDJPY")
UNSEEN = ("was opened and closed while the copier", "was opened and closed between two of the copier's looks")


def copied_tickets(rig: Rig, slave: str) -> set[int]:
    """Master tickets some deal at the slave's broker carries the tag of."""
    terminal = rig.slaves[slave]
    if not terminal.sim.connected:
        assert terminal.initialize()
    deals = terminal.history_deals_get(0, 2**31 - 1)
    return {t for t in (tags.master_ticket_of(d.comment) for d in deals) if t is not None}


def run_scenario(seed: int, tmp_path) -> list[str]:
    rng = random.Random(seed)
    rig = Rig(slaves=("harbor_fx", "summit_netting"), copybook_path=tmp_path / f"copies{seed}.sqlite3",
              rules=CopyRules(copy_existing=rng.random() < 0.5))
    opened: list[int] = []
    undated: set[int] = set()  # opened while the copier did not know the master's server clock
    log: list[str] = []

    async def script():
        copier = rig.copier()
        await copier.start()
        down = cut = False
        looks = None

        clock: list = [None]  # the master's server clock, as the last copier's copy book knew it

        def master_trade(symbol, side, volume, position=0):
            ticket = rig.trade(symbol, side, volume, position=position)
            if not position:
                opened.append(ticket)
                if not down:
                    clock[0] = copier.copybook.fact("master_offset_s")
                if clock[0] is None:
                    undated.add(ticket)
            return ticket

        # Some masters start with a long flat spell (only scalps, pending orders, outages), longer
        # than the margin the looks for unseen positions read back by.
        flat_steps = rng.choice((0, 0, 8))
        for step in range(30):
            flat = step < flat_steps
            roll = rng.random()
            held = rig.master.positions_get()
            if not flat and (roll < 0.3 or (not held and roll < 0.45)):
                ticket = master_trade(rng.choice(SYMBOLS), rng.choice((0, 1)), rng.choice((0.1, 0.2)))
                log.append(f"open #{ticket}")
            elif roll < 0.5 and (flat or not held):
                # A pending order placed and removed: the master's server clock, learnt from no position.
                tick = rig.master.symbol_info_tick("EURUSD")
                placed = rig.master.order_send({"action": 5, "symbol": "EURUSD", "volume": 0.1, "type": 2,
                                                "price": round(tick.bid - 0.01, 5), "type_time": 0,
                                                "type_filling": 2})
                await asyncio.sleep(0.05)
                rig.master.order_send({"action": 8, "order": placed.order})
                log.append(f"pending #{placed.order}")
            elif roll < 0.5:
                p = rng.choice(held)
                master_trade(p.symbol, 1 - p.type, p.volume, position=p.ticket)
                log.append(f"close #{p.ticket}")
            elif roll < 0.65:
                # Opened and closed with no await between: no look at the master can fall there.
                symbol, side = rng.choice(SYMBOLS), rng.choice((0, 1))
                ticket = master_trade(symbol, side, 0.1)
                master_trade(symbol, 1 - side, 0.1, position=ticket)
                log.append(f"scalp #{ticket}")
            elif roll < 0.75 and not down:
                copier.abandon()
                copier.copybook.close()
                down = True
                log.append("crash")
            elif roll < 0.85 and down:
                copier = rig.copier()
                await copier.start()
                down = cut = False
                log.append("restart")
            elif roll < 0.95 and not down:
                if cut:
                    copier.master.snapshot = looks
                    log.append("master back")
                else:
                    looks = copier.master.snapshot

                    async def failing():
                        raise ConnectorError("the terminal is not running")

                    copier.master.snapshot = failing
                    log.append("master lost")
                cut = not cut
            await asyncio.sleep(rng.choice((0.0, 0.3, 20.0, 45.0) if flat else (0.0, 0.05, 0.3, 1.5)))
        if down:
            copier = rig.copier()
            await copier.start()
        elif cut:
            copier.master.snapshot = looks
        await asyncio.sleep(copier.UNSEEN_LOOK_S + 3 * copier.reconcile_interval_s)
        await copier.stop()

    rig.run(script)
    problems = []
    clock_unknown = [e for e in rig.journal.entries(account="master") if "cannot be looked for" in e.message]
    for slave in rig.slaves:
        copied = copied_tickets(rig, slave)
        reasons: dict[int, list[str]] = {}
        for e in rig.journal.entries(account=slave, newest_first=False):
            if e.kind == "refusal":
                reasons.setdefault(e.data.get("master_ticket"), []).append(e.message)
        for ticket in opened:
            said = reasons.get(ticket, [])
            unseen = [m for m in said if any(u in m for u in UNSEEN)]
            if ticket not in copied and not said and not (clock_unknown and ticket in undated):
                problems.append(f"{slave}: #{ticket} neither copied nor named")
            if ticket in copied and unseen:
                problems.append(f"{slave}: #{ticket} was copied, yet the journal says {unseen}")
            if len(unseen) > 1:
                problems.append(f"{slave}: #{ticket} named {len(unseen)} times as never seen: {unseen}")
    return [f"seed {seed}: {p}; {log}" for p in problems]


@pytest.mark.parametrize("seed", range(12))
def test_every_master_position_is_copied_or_named_through_crashes_lost_masters_and_scalps(seed, tmp_path):
    assert run_scenario(seed, tmp_path) == []
