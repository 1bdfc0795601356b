"""Worker processes: the core-worker round trip, and 50 workers' cost and copy latency.

1. Round trip per call through a WorkerConnector to one worker (spawned, simulated terminal):
   ``ping`` (the protocol alone) and ``account`` (plus a terminal read), p50/p99 in microseconds,
   beside a raw multiprocessing pipe echo for reference.
2. One master and N slave workers (default 50) with simulated terminals: CPU (% of one core, from
   each process's own CPU time) and memory (RSS and PSS, in all and per process) of the slave
   workers, the master's worker and the core apart, while idle, while copying and resting (every
   slave quiet past its ``rest_after_s``). The master is traded through its worker (as its own
   trader would) before the rest and again after it, and every copy's latency, master fill ->
   slave fill, is recorded for each.
3. The same copier with the same N slaves in-process (one thread per terminal, as the application
   ran before workers): its copy latency, to compare.

Targets: round trip p50 <= 250 us; idle CPU < 10 % of a core; N resting slave workers < 5 % of a
core in all; copy latency within 2x in-process, and no slower after the rest than before it.
Reads /proc (or psutil when installed). Prints JSON.

Run: python bench/worker_roundtrip.py [--slaves 50] [--events 20] [--calls 3000] [--rest 15] [--workers-only]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import os
import platform
import sys
import time

from bench_copier import Copies, deal, stop_with_workers
from bench_stats import memory_mb

from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.connectors.mt5 import MT5Connector, ThreadInvoker
from copier_gui.core.copier import Copier, SlaveLink
from copier_gui.core.copybook import CopyBook
from copier_gui.core.journal import Journal
from copier_gui.core.metrics import Metrics, percentile
from copier_gui.core.rules import CopyRules, Tolerances
from copier_gui.sim import Market, new_terminal
from copier_gui.workers.config import SimTerminal, WorkerConfig
from copier_gui.workers.connector import WorkerConnector

PROFILES = ("harbor_fx", "summit_netting", "apex_prop", "meridian_ecn")
RULES = CopyRules(tolerances=Tolerances(max_price_deviation_points=1_000_000, max_delay_ms=60_000))
POLL_S = 0.005  # the copier's poll interval, and the master worker's idle poll to match it
REST_AFTER_S = 5.0


def _us(values: list[float]) -> dict:
    return {"p50": round(percentile(values, 50) * 1e6, 1), "p99": round(percentile(values, 99) * 1e6, 1)}


def _ms(values: list[float]) -> dict:
    return {"p50": round(percentile(values, 50), 3), "p99": round(percentile(values, 99), 3),
            "max": round(max(values), 3) if values else 0.0}


# ----------------------------------------------------------------------------- process accounting

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float:
    try:
        import psutil

        times = psutil.Process(pid).cpu_times()
        return times.user + times.system
    except ImportError:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK


def _memory(pids: list[int]) -> dict:
    memory = [memory_mb(pid) for pid in pids]
    rss, pss = sum(m[0] for m in memory), sum(m[1] for m in memory)
    n = max(1, len(pids))
    return {"rss_total_mb": round(rss, 1), "pss_total_mb": round(pss, 1),
            "rss_per_process_mb": round(rss / n, 1), "pss_per_process_mb": round(pss / n, 1)}


async def _usage(groups: dict[str, list[int]], seconds: float) -> dict:
    """CPU (% of one core, summed over each group's processes) and memory of each group of
    processes over ``seconds``, from the processes' own CPU time: the machine's load says nothing
    about them. ``total`` sums every group."""
    pids = [pid for group in groups.values() for pid in group]
    before = {pid: _cpu_seconds(pid) for pid in pids}
    started = time.monotonic()
    await asyncio.sleep(seconds)
    wall = time.monotonic() - started
    spent = {pid: _cpu_seconds(pid) - before[pid] for pid in pids}
    report: dict = {"seconds": round(wall, 2)}
    for name, group in {**groups, "total": pids}.items():
        cpu = sum(spent[pid] for pid in group)
        report[name] = {"processes": len(group), "cpu_percent_of_one_core": round(100 * cpu / wall, 2),
                        **_memory(group)}
    return report


# ----------------------------------------------------------------------------- round trip

def _echo(conn) -> None:
    while True:
        try:
            conn.send_bytes(conn.recv_bytes())
        except EOFError:
            return


def raw_pipe_round_trip(calls: int) -> dict:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_echo, args=(child,), daemon=True)
    process.start()
    child.close()
    samples = []
    payload = b'{"v":1,"kind":"request","id":1,"op":"ping","args":{}}'
    for _ in range(calls + 200):
        started = time.perf_counter()
        parent.send_bytes(payload)
        parent.recv_bytes()
        samples.append(time.perf_counter() - started)
    parent.close()
    process.join(5)
    return _us(samples[200:])


async def round_trip(calls: int) -> dict:
    anchor = SYSTEM_CLOCK.time()
    connector = WorkerConnector(WorkerConfig("rt", SimTerminal("meridian_ecn", seed=1, anchor=anchor)))
    try:
        await connector.connect()
        results = {}
        for name, call in (("ping", connector.ping), ("account", connector.account)):
            samples = []
            for _ in range(calls + 200):
                started = time.perf_counter()
                await call()
                samples.append(time.perf_counter() - started)
            results[name] = _us(samples[200:])
        return results
    finally:
        await connector.aclose()


# ----------------------------------------------------------------------------- fan-out




async def _trade_events(trade, copies: Copies, n_slaves: int, events: int, *, settle: float) -> None:
    """Open and close a master position ``events`` times, each time waiting for every copy.

    ``trade(side, position)`` sends the master's own deal and returns the order ticket."""
    for k in range(events):
        opened = await trade(k % 2, 0)
        await copies.until(opened, n_slaves)
        await asyncio.sleep(settle)
        await trade(1 - k % 2, opened)
        await copies.until(opened, 2 * n_slaves)
        await asyncio.sleep(settle)


def _latency(metrics: Metrics, copies: list, expected: int) -> dict:
    totals = [c.total_ms for c in copies]
    # Where the time goes: fill -> detected (entries only), detected -> request handed to the
    # connector (the core), handed -> slave filled (transport, worker and simulated broker).
    entries = [c for c in copies if c.action == "open"]
    parts = {"detection_p50": round(percentile([c.detection_ms for c in entries], 50), 3),
             "decision_p50": round(percentile([c.decision_ms for c in copies], 50), 3),
             "delivery_p50": round(percentile([c.total_ms - c.detection_ms - c.decision_ms for c in copies], 50), 3)}
    return {"copies": len(totals), "expected": expected, **_ms(totals), "breakdown_ms": parts,
            "failures": sum(s.failures for s in metrics.slaves.values()),
            "refusals": sum(s.refusals for s in metrics.slaves.values())}


async def _copying(trade, copies: Copies, metrics: Metrics, groups: dict[str, list[int]], n_slaves: int,
                   events: int) -> tuple[dict, dict]:
    """Trade ``events`` open/close pairs: the CPU they cost and the copies' latency."""
    pids = [pid for group in groups.values() for pid in group]
    already = len(metrics.copies)
    before = {pid: _cpu_seconds(pid) for pid in pids}
    t0 = time.monotonic()
    await _trade_events(trade, copies, n_slaves, events, settle=0.05)
    wall = time.monotonic() - t0
    cpu = sum(_cpu_seconds(pid) - before[pid] for pid in pids)
    busy = {"seconds": round(wall, 2), "processes": len(pids), "cpu_percent_of_one_core": round(100 * cpu / wall, 1),
            **_memory(pids)}
    return busy, _latency(metrics, list(metrics.copies)[already:], 2 * n_slaves * events)


async def with_workers(n_slaves: int, events: int, idle_s: float, rest_s: float) -> dict:
    """Idle, then copying (the latency before rest), then resting (every slave past its
    ``rest_after_s``), then copying again (the latency after rest: the master's first trades find
    every slave resting)."""
    anchor = SYSTEM_CLOCK.time()

    def config(account_id: str, profile: str, login: int, **kw) -> WorkerConfig:
        terminal = SimTerminal(profile, seed=5, anchor=anchor, account={"login": login, "balance": 1e9})
        return WorkerConfig(account_id, terminal, **kw)

    # Paced as the application paces them (runtime.worker_config): the master at the copier's
    # poll interval and never resting, each slave idling at 0.1 s and resting at 1 s.
    master = WorkerConnector(config("master", "meridian_ecn", 1, poll_idle_s=POLL_S), hello_timeout_s=180)
    slaves = [WorkerConnector(config(f"s{i}", PROFILES[i % len(PROFILES)], 100 + i, poll_idle_s=0.1,
                                     poll_rest_s=1.0, rest_after_s=REST_AFTER_S), hello_timeout_s=180)
              for i in range(n_slaves)]
    journal = Journal(None, SYSTEM_CLOCK)
    metrics = Metrics(keep_copies=None)  # every copy of the run, before and after the rest
    # No periodic reconcile during the run (as in core_overhead): the figures are the copying alone.
    copier = Copier(master, [SlaveLink(s.account_id, s, RULES) for s in slaves], journal=journal, clock=SYSTEM_CLOCK,
                    copybook=CopyBook(None), metrics=metrics, poll_interval_s=POLL_S, reconcile_interval_s=3600)
    copies = Copies(copier)
    started = time.monotonic()
    try:
        await copier.start()
        startup_s = time.monotonic() - started
        gc.freeze()
        groups = {"workers": [s.pid for s in slaves], "master": [master.pid], "core": [os.getpid()]}
        await asyncio.sleep(1.0)  # past the fast-polling window that follows each connect
        idle = await _usage(groups, min(idle_s, REST_AFTER_S - 1.0))

        async def trade(side: int, position: int) -> int:
            # The master's own trader, in its terminal (inside the worker): not through the copier.
            spec = await master.symbol("BTCUSD")
            result = await master.sim("trader", "order_send", deal(side, spec.bid, spec.ask, position))
            assert result is not None and result["retcode"] == 10009, result
            return result["order"]

        busy, before_rest = await _copying(trade, copies, metrics, groups, n_slaves, events)
        await asyncio.sleep(REST_AFTER_S + 1.0)  # every slave's last copy is past its rest_after_s
        resting = await _usage(groups, rest_s)
        _, after_rest = await _copying(trade, copies, metrics, groups, n_slaves, events)
        p50_before, p50_after = before_rest["p50"], after_rest["p50"]
        return {"slaves": n_slaves, "startup_s": round(startup_s, 1), "idle": idle, "resting": resting,
                "resting_workers_cpu_percent_of_one_core": resting["workers"]["cpu_percent_of_one_core"],
                "copying": busy, "copy_latency_ms": before_rest, "copy_latency_after_rest_ms": after_rest,
                "copy_latency_p50_ratio_after_to_before_rest": round(p50_after / p50_before, 2) if p50_before else None}
    finally:
        await stop_with_workers(copier, (master, *slaves), journal)


async def in_process(n_slaves: int, events: int) -> dict:
    market = Market(5, SYSTEM_CLOCK)
    master_t = new_terminal("meridian_ecn", seed=5, market=market, balance=1e9, login=1)
    invokers = [ThreadInvoker(name="master")]
    master = MT5Connector("master", master_t, invoker=invokers[0], clock=SYSTEM_CLOCK)
    links = []
    for i in range(n_slaves):
        t = new_terminal(PROFILES[i % len(PROFILES)], seed=5, market=market, balance=1e9, login=100 + i)
        invokers.append(ThreadInvoker(name=f"s{i}"))
        links.append(SlaveLink(f"s{i}", MT5Connector(f"s{i}", t, invoker=invokers[-1], clock=SYSTEM_CLOCK), RULES))
    journal = Journal(None, SYSTEM_CLOCK)
    metrics = Metrics(keep_copies=None)  # every copy of the run, before and after the rest
    copier = Copier(master, links, journal=journal, clock=SYSTEM_CLOCK, copybook=CopyBook(None), metrics=metrics,
                    poll_interval_s=POLL_S, reconcile_interval_s=3600)
    copies = Copies(copier)
    try:
        await copier.start()
        gc.freeze()
        pids = [os.getpid()]
        master_t.symbol_select("BTCUSD", True)

        async def trade(side: int, position: int) -> int:
            # The master's own trader, in its terminal: not through the copier.
            tick = master_t.symbol_info_tick("BTCUSD")
            result = master_t.order_send(deal(side, tick.bid, tick.ask, position))
            assert result.retcode == 10009, result
            return result.order

        before = {pid: _cpu_seconds(pid) for pid in pids}
        t0 = time.monotonic()
        await _trade_events(trade, copies, n_slaves, events, settle=0.05)
        wall = time.monotonic() - t0
        cpu = sum(_cpu_seconds(pid) - before[pid] for pid in pids)
        return {"slaves": n_slaves, "copying_cpu_percent_of_one_core": round(100 * cpu / wall, 1),
                "copy_latency_ms": _latency(metrics, list(metrics.copies), 2 * n_slaves * events)}
    finally:
        copier.abandon()
        for invoker in invokers:
            invoker.close()
        journal.close()
        gc.unfreeze()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slaves", type=int, default=50)
    parser.add_argument("--events", type=int, default=20, help="master open/close pairs")
    parser.add_argument("--calls", type=int, default=3000, help="round trips per measured call")
    parser.add_argument("--idle", type=float, default=4.0, help="seconds of idle measurement (below the slaves' rest)")
    parser.add_argument("--rest", type=float, default=15.0,
                        help="seconds of resting measurement (CPU time is counted in 10 ms ticks per process)")
    parser.add_argument("--workers-only", action="store_true",
                        help="only the N workers (idle, copying, resting): no round trips, no in-process run")
    args = parser.parse_args()
    report = {"benchmark": "worker_roundtrip", "python": platform.python_version(), "cpus": os.cpu_count(),
              "targets": {"round_trip_p50_us": 250, "idle_cpu_percent": 10, "resting_workers_cpu_percent": 5,
                          "copy_latency_vs_in_process": 2.0}}
    if not args.workers_only:
        report["raw_pipe_round_trip_us"] = raw_pipe_round_trip(args.calls)
        report["worker_round_trip_us"] = asyncio.run(round_trip(args.calls))
    report["workers"] = workers = asyncio.run(with_workers(args.slaves, args.events, args.idle, args.rest))
    if not args.workers_only:
        report["in_process"] = inproc = asyncio.run(in_process(args.slaves, args.events))
        w, i = workers["copy_latency_ms"]["p50"], inproc["copy_latency_ms"]["p50"]
        report["copy_latency_p50_ratio_workers_to_in_process"] = round(w / i, 2) if i else None
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
