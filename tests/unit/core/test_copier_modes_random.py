"""Random mode switches and flattens interleaved with the master's opens and closes, on simulated
brokers, checked by an oracle that reads only the brokers and the journal:

- a slave that is close-only or paused never gains a position;
- a paused slave is sent no request at all;
- every master close is mirrored at once unless the slave is paused, and a flatten leaves nothing;
- once every slave copies again and a periodic pass has run, each slave holds exactly one copy of
  each master position or a journaled reason for the difference, and no copy of a closed one.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from copier_gui.core import tags
from copier_gui.core.copier import SlaveMode
from copier_gui.core.rules import CopyRules, Tolerances
from tests.kit.rig import Rig

SYMBOLS = ("EURUSD", "GBPUSD", "USDJPY")
SETTLE = 0.15  # virtual seconds: the copier's passes for the last change are done by then


def copies(rig: Rig, slave: str) -> dict[int, int]:
    """Slave position ticket -> the master ticket its tag names (read from the broker)."""
    return {p.ticket: tags.master_ticket_of(p.comment) for p in rig.held(slave)}


def last_seq(rig: Rig) -> int:
    newest = rig.journal.entries(limit=1)
    return newest[0].seq if newest else 0


def run_scenario(seed: int) -> list[str]:
    rng = random.Random(seed)
    rig = Rig(rules=CopyRules(copy_existing=bool(seed % 2), tolerances=Tolerances(max_delay_ms=2_000)))
    problems: list[str] = []

    async def script():
        copier = rig.copier()
        await copier.start()
        modes = {sid: SlaveMode.COPYING for sid in rig.slaves}
        paused_since: dict[str, int] = {}  # slave -> journal seq once its pause had settled
        for step in range(40):
            before = {sid: copies(rig, sid) for sid in rig.slaves}
            action = rng.random()
            master_open = [p for p in rig.master.positions_get()]
            closed: list[int] = []
            flattened: list[str] = []
            if action < 0.35 or not master_open:
                rig.trade(rng.choice(SYMBOLS), rng.choice((0, 1)), rng.choice((0.1, 0.2, 0.3)))
            elif action < 0.6:
                p = rng.choice(master_open)
                rig.trade(p.symbol, 1 if p.type == 0 else 0, p.volume, position=p.ticket)
                closed.append(p.ticket)
            elif action < 0.85:
                sid, mode = rng.choice(list(rig.slaves)), rng.choice(list(SlaveMode))
                copier.set_mode(sid, mode, by="the oracle")
                modes[sid] = mode
            elif action < 0.95:
                sid = rng.choice(list(rig.slaves))
                copier.flatten(sid, by="the oracle")
                modes[sid] = SlaveMode.CLOSE_ONLY
                flattened.append(sid)
            else:
                copier.flatten_all(by="the oracle")
                modes = {sid: SlaveMode.CLOSE_ONLY for sid in rig.slaves}
                flattened.extend(rig.slaves)
            await asyncio.sleep(SETTLE)
            for sid in rig.slaves:
                after = copies(rig, sid)
                if sid in flattened and after:
                    problems.append(f"seed {seed} step {step}: flattened {sid} still holds {after}")
                if modes[sid] is not SlaveMode.COPYING:
                    gained = set(after) - set(before[sid])
                    if gained and action >= 0.6:
                        pass  # a mode change this step: a pass already sending may finish its entry
                    elif gained:
                        problems.append(f"seed {seed} step {step}: {sid} ({modes[sid].value}) gained {gained}")
                if modes[sid] is SlaveMode.PAUSED:
                    paused_since.setdefault(sid, last_seq(rig))
                else:
                    start = paused_since.pop(sid, None)
                    if start is not None:
                        sent = [e.message for e in rig.journal.entries(kind="request", account=sid)
                                if e.seq > start and e.seq <= _mode_change_seq(rig, sid, start)]
                        if sent:
                            problems.append(f"seed {seed} step {step}: paused {sid} was sent {sent}")
                    for ticket in closed:
                        if ticket in after.values():
                            problems.append(f"seed {seed} step {step}: {sid} still holds a copy of closed #{ticket}")
        for sid, start in paused_since.items():
            sent = [e.message for e in rig.journal.entries(kind="request", account=sid) if e.seq > start]
            if sent:
                problems.append(f"seed {seed}: paused {sid} was sent {sent}")

        # Everyone copies again; a periodic pass brings each slave back to the master.
        for sid in rig.slaves:
            copier.set_mode(sid, SlaveMode.COPYING, by="the oracle")
        await asyncio.sleep(2.5)
        master = {p.ticket for p in rig.master.positions_get()}
        for sid in rig.slaves:
            held = list(copies(rig, sid).values())
            for ticket in set(held) - master:
                problems.append(f"seed {seed}: {sid} holds an orphan copy of closed #{ticket}")
            for ticket in {t for t in held if held.count(t) > 1}:
                problems.append(f"seed {seed}: {sid} holds {held.count(ticket)} copies of #{ticket}")
            reasons = {e.data.get("master_ticket") for e in rig.journal.entries(kind="refusal", account=sid)}
            for ticket in master - set(held) - reasons:
                problems.append(f"seed {seed}: {sid} has no copy of #{ticket} and no journaled reason")
        await copier.stop()

    rig.run(script)
    rig.journal.close()
    return problems


def _mode_change_seq(rig: Rig, slave: str, after: int) -> int:
    """The journal seq of the first mode change of ``slave`` after ``after`` (the end of its pause)."""
    changes = [e.seq for e in rig.journal.entries(kind="state", account=slave)
               if e.seq > after and e.data.get("mode") is not None]
    return min(changes, default=1 << 62)


@pytest.mark.parametrize("seed", range(8))
def test_modes_and_flattens_interleaved_with_master_trades_keep_every_promise(seed):
    assert run_scenario(seed) == []
