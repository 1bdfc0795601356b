"""A copier runs for months: what it keeps per master ticket must not grow with every trade."""

from __future__ import annotations

import asyncio

from copier_gui.core.metrics import CopyMetrics, Metrics
from tests.kit.rig import Rig


def test_what_is_kept_per_ticket_is_forgotten_once_every_copy_is_closed():
    rig = Rig(slaves=("harbor_fx", "summit_netting"))

    async def script():
        copier = rig.copier()
        await copier.start()
        for _ in range(25):
            ticket = rig.trade("EURUSD", 0, 0.2)
            await asyncio.sleep(0.3)
            position = next(p for p in rig.master.positions_get() if p.ticket == ticket)
            # A stop loss, so each slave copy is modified too and its stops are remembered.
            result = rig.master.order_send({"action": 6, "position": position.ticket, "symbol": "EURUSD",
                                            "sl": round(position.price_open - 0.005, 5), "tp": 0.0})
            assert result.retcode == 10009, result
            await asyncio.sleep(0.5)
            rig.trade("EURUSD", 1, 0.2, position=position.ticket)
            await asyncio.sleep(0.3)
        still_open = rig.trade("GBPUSD", 0, 0.3)
        await asyncio.sleep(3.0)  # a reconcile pass or two
        kept = {name: set(getattr(copier, name)) for name in ("_fill_wall", "_exit_price", "_change_wall")}
        refused = {sid: set(s.refused) for sid, s in copier.slaves.items()}
        modified = sum(len(s.executor.modified_at) for s in copier.slaves.values())
        stops = {sid: set(s.executor.stops_applied) for sid, s in copier.slaves.items()}
        live = {sid: {p.ticket for p in rig.slaves[sid].positions_get()} for sid in rig.slaves}
        entries = set(copier.metrics.entries)
        held = {sid: len(rig.held(sid)) for sid in rig.slaves}
        await copier.stop()
        return still_open, kept, refused, held, (modified, stops, live, entries)

    still_open, kept, refused, held, (modified, stops, live, entries) = rig.run(script)
    assert modified <= 2 and all(stops[sid] <= live[sid] for sid in stops), (modified, stops, live)
    assert {ticket for _, ticket in entries} == {still_open}
    assert held == {"s0": 1, "s1": 1}, "the open GBPUSD position is still copied"
    assert kept["_fill_wall"] == {still_open}
    assert kept["_exit_price"] == {still_open}
    assert all(tickets <= {still_open} for tickets in refused.values())


def _copy(i: int) -> CopyMetrics:
    return CopyMetrics(f"c{i}", "s0", i, "EURUSD", "open", 0.1, 0.1, 1.1, 1.1, 1.0, 0.1, 5.0, 6.0, 0.0, 0.0, 0.0)


def test_metrics_keep_only_the_recent_copies_unless_told_to_keep_all():
    recent, every = Metrics(keep_copies=100), Metrics(keep_copies=None)
    for i in range(1_000):
        recent.record_copy(_copy(i))
        every.record_copy(_copy(i))
    assert [c.master_ticket for c in recent.copies] == list(range(900, 1_000))
    assert len(recent.entries) == 100 and recent.stats("s0").copies == 1_000
    assert len(every.copies) == 1_000 and len(every.entries) == 1_000
