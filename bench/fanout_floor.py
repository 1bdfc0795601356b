"""The fan-out's floor: how fast any copier in this process could hand a master's new position to 100
worker slaves, against the real copier, in the same run.

Each terminal runs in its own worker process, as in production (``core_overhead.py --modes
workers``). The master opens a position and closes it, again and again; each new position is
handed to every slave either by the real copier (the full pass: plan, reconciler, risk gate,
executor) or, on other positions, by a *hand-over only* fan-out that skips every decision: for each
slave, the open request (for a zero volume, which the broker refuses without trading), its copy ID,
its journal entry (queued, as the copier's are) and a task that hands it to the slave's connector.
No copier could do less and still send a journaled, tagged request per slave, so that figure is
the floor the machine sets for this layout. It is a measurement only: those requests skip every
rule and are never the application's.

A third kind, ``executor_only``, measures the pass's middle: each slave's lock and executor as a
pass ends, given the entry its plan made for the same trade before (planned outside the window), so
no plan, reconciler, risk gate or bookkeeping of the pass runs at the change. It makes real copies;
the full pass of the master's close closes them. Like the hand-over only, it is a measurement, never
the application's path.

All figures run from the detected change to the last slave's request handed to its connector
(the issue's fan-out), with the collector and the journal's writer held over the window in each (``fanout_quiet``).

Prints JSON: ``full``, ``executor_only`` and ``handover_only`` (p50, p99 and max, in ms), the full
pass's ratio to each at p50, the target (10 ms at p99) and ``machine_steal_share`` (the
hypervisor's share of the CPU over the run).

Run: python bench/fanout_floor.py [--slaves 100] [--events 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
from dataclasses import replace

from bench_copier import stop_with_workers, worker_fleet
from bench_stats import machine_cpu_ticks, percentile, steal_share

from copier_gui.assembly import long_lived_heap
from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.core import fanout_quiet, tags
from copier_gui.core.copier import Copier, SlaveLink
from copier_gui.core.copybook import CopyBook
from copier_gui.core.events import EventKind
from copier_gui.core.journal import Journal
from copier_gui.core.metrics import Metrics
from copier_gui.core.model import OpenPosition
from copier_gui.core.planner import MasterContext, SlaveContext, plan_slave
from copier_gui.core.reconciler import OpenStep
from copier_gui.core.rules import CopyRules, Tolerances


class FloorCopier(Copier):
    """The real copier, except that while ``mode`` is ``handover_only`` a master's new positions
    are handed to every slave with no decision at all, and while it is ``executor_only`` with the
    executor's part alone (see the module's docstring)."""

    mode = "full"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._kept: dict[tuple, object] = {}  # (slave, symbol, side, volume) -> its planned entry

    def _on_events(self, events, snapshot) -> None:
        if self.mode == "full" or any(e.kind is not EventKind.OPENED for e in events):
            super()._on_events(events, snapshot)
            return
        loop = asyncio.get_running_loop()
        if self.mode == "executor_only":
            ctx = self._context(events[0].detected_wall, events[0].detected_mono)
            for slave in self.slaves.values():
                loop.create_task(self._execute(slave, [e.position for e in events], ctx))
            fanout_quiet.hold(loop)
            return
        for event in events:
            pos = event.position
            comment = tags.comment_for(event.ticket, instance=self.instance)
            worst = pos.price_open * (1.01 if pos.side.sign > 0 else 0.99)
            for slave in self.slaves.values():
                spec = slave.symbols["BTCUSD"] if "BTCUSD" in slave.symbols else next(iter(slave.symbols.values()))
                # A zero volume: the broker refuses it without trading, so these requests leave the
                # slaves as they were and the full passes that follow plan against the same accounts.
                request = OpenPosition(symbol=spec.name, side=pos.side, volume=0.0, sl=0.0, tp=0.0,
                                       magic=slave.magic, comment=comment, max_deviation_points=100_000,
                                       worst_price=worst, max_deviation_spreads=0.0, reference_price=pos.price_open)
                copy_id = tags.copy_id(self.master_id, event.ticket, slave.id, "entry")
                loop.create_task(self._hand_over(slave, request, copy_id))
        fanout_quiet.hold(loop)

    async def _execute(self, slave: SlaveLink, positions, ctx) -> None:
        # The slave's lock and its executor, as a pass ends: the entry each new position's plan
        # gave this slave the first time (planned outside the window), renamed for the new ticket.
        async with slave.lock:
            steps = []
            for pos in positions:
                desired = self._desired(slave, pos)
                steps.append(OpenStep(desired, desired.volume))
            await slave.executor.run(steps, ctx, slave.symbols)

    def prime(self, ticket: int) -> None:
        """Plan each slave's entry for the master's position ``ticket`` now, outside any window."""
        for pos in self.master_snapshot.positions:
            if pos.ticket == ticket:
                for slave in self.slaves.values():
                    self._desired(slave, pos)

    def _desired(self, slave: SlaveLink, pos):
        key = (slave.id, pos.symbol, pos.side, pos.volume)
        desired = self._kept.get(key)
        if desired is None:
            master = self.master_account
            plan = plan_slave((pos,), (), MasterContext(self.master_id, master.balance, self.master_symbols,
                                                        master.currency, None, self.clock.time(), master.equity,
                                                        master.margin_free),
                              SlaveContext(slave.id, slave.executor.broker, slave.rules, slave.symbols, slave.symbol_map,
                                           slave.account.balance, slave.account.currency, slave.server_offset_s,
                                           slave.account.equity, slave.account.margin_free), self.copybook)
            desired = self._kept[key] = plan.positions[pos.ticket]
        return replace(desired, master_ticket=pos.ticket, master_price=pos.price_open, master_time_msc=pos.time_msc)

    async def _hand_over(self, slave: SlaveLink, request: OpenPosition, copy_id: str) -> None:
        # As the executor does: the entry is queued (written after every slave's hand-over), then
        # the request is handed to the connector.
        self.journal.record_soon("request", "open", account=slave.id, copy_id=copy_id, request=request)
        await slave.connector.open(request)


MODES = ("full", "executor_only", "handover_only")


async def measure(n_slaves: int, events: int) -> dict:
    clock = SYSTEM_CLOCK
    master, slaves = worker_fleet(n_slaves, clock.time())
    handed: list[float] = []
    for slave in slaves:
        def stamped(request, open_=slave.open):
            handed.append(time.monotonic())  # the clock the copier's detection is stamped on
            return open_(request)
        slave.open = stamped
    rules = CopyRules(tolerances=Tolerances(max_price_deviation_points=1_000_000, max_delay_ms=60_000))
    journal = Journal(None, clock)
    copier = FloorCopier(master, [SlaveLink(s.account_id, s, rules) for s in slaves], journal=journal, clock=clock,
                         copybook=CopyBook(None), metrics=Metrics(), poll_interval_s=0.001,
                         reconcile_interval_s=3600)
    detected: list[float] = []
    on_events = copier._on_events

    def watched(events, snapshot) -> None:
        detected.append(events[0].detected_mono)
        handed.clear()
        on_events(events, snapshot)

    copier._on_events = watched
    figures: dict[str, list[float]] = {mode: [] for mode in MODES}
    ticks = machine_cpu_ticks()
    try:
        await copier.start()
        long_lived_heap.enter()
        for k in range(len(MODES) * events):
            mode = MODES[k % len(MODES)]
            copier.mode = mode
            seen = len(detected)
            spec = await master.symbol("BTCUSD")
            result = await master.sim("trader", "order_send", {"action": 1, "symbol": "BTCUSD", "volume": 0.1,
                                                               "type": 0, "price": spec.ask, "type_filling": 1})
            assert result is not None and result["retcode"] == 10009, result
            deadline = time.monotonic() + 60
            while (len(detected) == seen or len(handed) < n_slaves) and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
            if len(handed) < n_slaves:
                raise SystemExit(f"{mode}: only {len(handed)} of {n_slaves} requests were handed over")
            figures[mode].append((handed[n_slaves - 1] - detected[-1]) * 1000)
            await asyncio.sleep(0.3)  # the replies and the slaves' looks settle
            if mode == "full":
                copier.prime(result["order"])
            # The master closes it, so every fan-out starts from the same accounts; the copier
            # closes the copies the full pass made (that fan-out is not measured here).
            copier.mode = "full"
            spec = await master.symbol("BTCUSD")
            closed = await master.sim("trader", "order_send", {"action": 1, "symbol": "BTCUSD", "volume": 0.1,
                                                               "type": 1, "price": spec.bid, "type_filling": 1,
                                                               "position": result["order"]})
            assert closed is not None and closed["retcode"] == 10009, closed
            await asyncio.sleep(0.5)
    finally:
        long_lived_heap.leave()
        await stop_with_workers(copier, (master, *slaves), journal)
    out = {name: {"p50": round(percentile(v, 50), 2), "p99": round(percentile(v, 99), 2), "max": round(max(v), 2)}
           for name, v in figures.items()}
    return {"benchmark": "fanout_floor", "python": platform.python_version(), "slaves": n_slaves,
            "events_each": events, "target_fanout_p99_ms": 10, **out,
            "full_over_handover_only_p50": round(out["full"]["p50"] / out["handover_only"]["p50"], 2),
            "full_over_executor_only_p50": round(out["full"]["p50"] / out["executor_only"]["p50"], 2),
            "machine_steal_share": steal_share(ticks, machine_cpu_ticks())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slaves", type=int, default=100)
    parser.add_argument("--events", type=int, default=40, help="master positions per fan-out kind")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.slaves, args.events)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
