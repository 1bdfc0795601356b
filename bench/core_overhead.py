"""Core overhead: from a detected master change to the request handed to each slave's connector.

Simulated terminals with zero injected latency, the real MT5 connector (calls inline, so the
figure is the copier's own cost, not thread hops), the real copier, journal and metrics. For fan-out
to 1, 10 and 100 slaves the master opens and closes positions; each copy's decision latency
(detected -> handed to the connector) is recorded. Per slave: p50/p99 of that latency. Per event:
the fan-out time, from detection until the last slave's request was handed over. Prints JSON.

Mode ``workers``: each terminal in a worker process as in production (the master's own trader
trades inside its worker); the fan-out is the same figure, detection to the last slave's request
handed to its WorkerConnector; ``written_ms`` is detection to the last request written to its
worker's channel (a connector writes the requests of one turn of the loop together, on the next).

``machine_steal_share``: the share of the machine's CPU time its hypervisor took during the run
(from /proc/stat; null elsewhere), which slows every step of a run on a shared virtual machine.

Targets: <= 100 us p50 per slave; fan-out to 100 slaves <= 10 ms at p99.

Run: python bench/core_overhead.py [--events N] [--slaves 1 10 100] [--modes inline threads workers]
     [--profile FILE] (cProfile while the master trades, written to FILE, its top entries on stderr)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
from collections import defaultdict

from bench_copier import PROFILES, stop_with_workers, worker_fleet
from bench_stats import machine_cpu_ticks, steal_share

from copier_gui.assembly import long_lived_heap
from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector, ThreadInvoker
from copier_gui.core.copier import Copier, SlaveLink
from copier_gui.core.copybook import CopyBook
from copier_gui.core.journal import Journal
from copier_gui.core.metrics import Metrics, percentile
from copier_gui.core.rules import CopyRules, Tolerances
from copier_gui.sim import new_terminal


async def measure(n_slaves: int, events: int, mode: str = "inline") -> dict:
    ticks = machine_cpu_ticks()
    figures = await _measure(n_slaves, events, mode)
    # On a shared virtual machine the hypervisor's share of the CPU time inflates every figure.
    figures["machine_steal_share"] = steal_share(ticks, machine_cpu_ticks())
    return figures


async def _measure(n_slaves: int, events: int, mode: str) -> dict:
    if mode == "workers":
        return await measure_workers(n_slaves, events)
    clock = SYSTEM_CLOCK

    def invoker(name: str):
        return InlineInvoker() if mode == "inline" else ThreadInvoker(name=name)

    master_t = new_terminal("meridian_ecn", seed=5, clock=clock, balance=1e9, login=1)
    master = MT5Connector("master", master_t, invoker=invoker("master"), clock=clock)
    links = []
    for i in range(n_slaves):
        t = new_terminal(PROFILES[i % len(PROFILES)], seed=5, clock=clock, balance=1e9, login=100 + i)
        rules = CopyRules(tolerances=Tolerances(max_price_deviation_points=100_000))
        links.append(SlaveLink(f"s{i}", MT5Connector(f"s{i}", t, invoker=invoker(f"s{i}"), clock=clock), rules))
    journal = Journal(None, clock)
    metrics = Metrics(keep_copies=None)  # every copy: the figures are over the whole run
    copier = Copier(master, links, journal=journal, clock=clock, copybook=CopyBook(None), metrics=metrics,
                    poll_interval_s=0.001, reconcile_interval_s=3600)
    arrived: dict[int, int] = defaultdict(int)
    copier.subscribe(lambda n: arrived.__setitem__(n.master_ticket, arrived[n.master_ticket] + 1)
                     if n.kind == "copy" else None)
    await copier.start()
    # As the application does while a copier runs: long-lived objects leave the collector's scans,
    # and a fan-out's young objects are not collected mid-flight.
    long_lived_heap.enter()
    _profiling(True)
    for k in range(events):
        tick = master_t.symbol_info_tick("BTCUSD")
        opened = master_t.order_send({"action": 1, "symbol": "BTCUSD", "volume": 0.1, "type": k % 2,
                                      "price": tick.ask, "type_filling": 1})
        assert opened.retcode == 10009, opened
        await _until(lambda t=opened.order: arrived[t] >= n_slaves)
        closed = master_t.order_send({"action": 1, "symbol": "BTCUSD", "volume": 0.1, "type": 1 - k % 2,
                                      "position": opened.order, "price": tick.bid, "type_filling": 1})
        assert closed.retcode == 10009, closed
        await _until(lambda t=opened.order: arrived[t] >= 2 * n_slaves)
    _profiling(False)
    long_lived_heap.leave()
    await copier.stop()
    journal.close()
    return _figures(metrics, n_slaves, mode)


def _figures(metrics: Metrics, n_slaves: int, mode: str) -> dict:
    per_copy = [c.decision_ms * 1000 for c in metrics.copies]
    fanout: dict[tuple[int, str], float] = defaultdict(float)
    broker: dict[tuple[int, str], float] = defaultdict(float)
    for c in metrics.copies:
        key = (c.master_ticket, c.action)
        fanout[key] = max(fanout[key], c.decision_ms)
        broker[key] += c.broker_ms
    fan = list(fanout.values())
    # With inline calls each slave's order_send runs before the next slave's request is built, so
    # the simulated broker's own time is in the fan-out; this share is the copier's alone.
    core_per_slave = [max(0.0, fanout[k] - broker[k]) / n_slaves * 1000 for k in fanout] if mode == "inline" else []
    return {
        "mode": mode,
        "slaves": n_slaves,
        "events": len(fan),
        "copies": len(per_copy),
        "per_slave_decision_us": {"p50": round(percentile(per_copy, 50), 1), "p99": round(percentile(per_copy, 99), 1)},
        "fanout_ms": {"p50": round(percentile(fan, 50), 3), "p99": round(percentile(fan, 99), 3),
                      "max": round(max(fan), 3)},
        # Entries and exits apart: an exit (and a netting slave's entry) reads the slave's positions
        # before its request is built, a round trip to the terminal inside the fan-out.
        "fanout_ms_by_action": {action: {"p50": round(percentile(values, 50), 3),
                                         "p99": round(percentile(values, 99), 3)}
                                for action in sorted({a for _, a in fanout})
                                for values in [[v for (_, a), v in fanout.items() if a == action]]},
        "core_only_per_slave_us": ({"p50": round(percentile(core_per_slave, 50), 1),
                                    "p99": round(percentile(core_per_slave, 99), 1)} if core_per_slave else None),
        "failures": sum(s.failures for s in metrics.slaves.values()),
        "refusals": sum(s.refusals for s in metrics.slaves.values()),
    }


async def measure_workers(n_slaves: int, events: int) -> dict:
    """The fan-out with every terminal in its own worker process, as the application runs them."""
    clock = SYSTEM_CLOCK
    master, slaves = worker_fleet(n_slaves, clock.time())
    rules = CopyRules(tolerances=Tolerances(max_price_deviation_points=1_000_000, max_delay_ms=60_000))
    journal = Journal(None, clock)
    metrics = Metrics(keep_copies=None)  # every copy: the figures are over the whole run
    copier = Copier(master, [SlaveLink(s.account_id, s, rules) for s in slaves], journal=journal, clock=clock,
                    copybook=CopyBook(None), metrics=metrics, poll_interval_s=0.001, reconcile_interval_s=3600)
    arrived: dict[int, int] = defaultdict(int)
    copier.subscribe(lambda n: arrived.__setitem__(n.master_ticket, arrived[n.master_ticket] + 1)
                     if n.kind == "copy" else None)

    async def trade(side: int, position: int) -> int:
        # The master's own trader, inside its worker's terminal: not through the copier.
        spec = await master.symbol("BTCUSD")
        request = {"action": 1, "symbol": "BTCUSD", "volume": 0.1, "type": side,
                   "price": spec.ask if side == 0 else spec.bid, "type_filling": 1}
        if position:
            request["position"] = position
        result = await master.sim("trader", "order_send", request)
        assert result is not None and result["retcode"] == 10009, result
        return result["order"]

    written = _watch_writes(slaves, clock)
    try:
        await copier.start()
        long_lived_heap.enter()
        _profiling(True)
        for k in range(events):
            opened = await trade(k % 2, 0)
            await _until(lambda t=opened: arrived[t] >= n_slaves, 120.0)
            await trade(1 - k % 2, opened)
            await _until(lambda t=opened: arrived[t] >= 2 * n_slaves, 120.0)
    finally:
        _profiling(False)
        long_lived_heap.leave()
        await stop_with_workers(copier, (master, *slaves), journal)
    figures = _figures(metrics, n_slaves, "workers")
    figures["written_ms"] = _written(metrics, written)
    return figures


def _watch_writes(slaves, clock) -> dict[str, list[tuple[float, float]]]:
    """Per slave, for each trade: when the copier handed it over and when it was written to the
    worker's channel (requests are written together on the loop's next turn)."""
    stamps: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for slave in slaves:
        handed: list[float] = []

        def stamped(method, handed=handed):
            async def call(request):
                handed.append(clock.monotonic())
                return await method(request)
            return call

        def flushed(flush, handed=handed, account=slave.account_id):
            def call(link):
                trades = sum(1 for _, op, _ in link.outbox if op in ("open", "close"))
                flush(link)
                now = clock.monotonic()
                for _ in range(trades):
                    stamps[account].append((handed[len(stamps[account])], now))
            return call

        slave.open, slave.close = stamped(slave.open), stamped(slave.close)
        slave._flush = flushed(slave._flush)
    return stamps


def _written(metrics: Metrics, stamps: dict[str, list[tuple[float, float]]]) -> dict:
    """From detection to the last slave's request written to its worker's channel, per event."""
    seen: dict[str, int] = defaultdict(int)
    last: dict[tuple[int, str], float] = defaultdict(float)
    for c in metrics.copies:
        k = seen[c.slave]
        seen[c.slave] += 1
        handed, wrote = stamps[c.slave][k]
        detected = handed - c.decision_ms / 1000
        key = (c.master_ticket, c.action)
        last[key] = max(last[key], (wrote - detected) * 1000)
    values = list(last.values())
    return {"p50": round(percentile(values, 50), 3), "p99": round(percentile(values, 99), 3)} if values else {}


PROFILER = None  # a cProfile.Profile when --profile is given: it runs while the master trades only


def _profiling(on: bool) -> None:
    if PROFILER is not None:
        PROFILER.enable() if on else PROFILER.disable()


async def _until(condition, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError("the copies did not arrive")
        await asyncio.sleep(0.002)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=60, help="master open/close pairs per run")
    parser.add_argument("--slaves", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--modes", nargs="+", default=["inline", "threads", "workers"],
                        choices=["inline", "threads", "workers"],
                        help="inline: connector calls on the loop (the copier's own cost plus the simulated "
                             "broker's); threads: one worker thread per terminal, as before workers; workers: "
                             "each terminal in a worker process, as in the application")
    parser.add_argument("--profile", metavar="FILE", help="profile the run with cProfile into FILE")
    args = parser.parse_args()
    global PROFILER
    if args.profile:
        import cProfile

        PROFILER = cProfile.Profile()
    results = [asyncio.run(measure(n, args.events, mode)) for mode in args.modes for n in args.slaves]
    if PROFILER is not None:
        import pstats

        PROFILER.dump_stats(args.profile)
        pstats.Stats(PROFILER, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    report = {"benchmark": "core_overhead", "python": platform.python_version(),
              "targets": {"per_slave_p50_us": 100, "fanout_100_p99_ms": 10}, "runs": results}
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
