"""Scale-out: N simulated slaves spread over H worker hosts reached over NATS JetStream, and the
same N slaves as local worker processes on pipes (the baseline), in one run.

A nats-server (JetStream on) is started on 127.0.0.1; each worker host is a process of its own
serving its share of the slaves, each slave in a worker process under it, as ``copier-gui
worker-host`` runs them. The master is a local worker; its own trader opens and closes a position
``events`` times, each time waiting for every copy. Per transport: copies made, copies expected,
duplicates (a slave copying one master deal twice), and copy latency (master fill -> slave fill).
For NATS, CPU (% of one core, while copying) and memory (RSS and PSS) per worker host, its workers
included. For each transport, the CPU each role spent per copy (``cpu_ms_per_copy``: the core, its
local workers, the worker hosts' own processes, their workers, the NATS server), which says where a
copy's cost goes whatever else ran on the machine, and ``machine_steal_share``, the share of the
machine's CPU time its hypervisor took while copying (null where /proc/stat is not). Prints JSON.

Targets: every copy exactly once; NATS p50 <= 1.5x pipes.

Run: python bench/scale_out.py [--slaves 200] [--hosts 4] [--events 10]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench_copier import Copies, deal, stop_with_workers
from bench_stats import machine_cpu_ticks, memory_mb, steal_share
from nats_server_kit import BenchNatsServer
from scale_out_host import slave_config, slave_kwargs

from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.core.copier import Copier, SlaveLink
from copier_gui.core.copybook import CopyBook
from copier_gui.core.journal import Journal
from copier_gui.core.metrics import Metrics, percentile
from copier_gui.core.rules import CopyRules, Tolerances
from copier_gui.workers.config import SimTerminal, WorkerConfig
from copier_gui.workers.connector import WorkerConnector
from copier_gui.workers.nats_transport import NatsHost, NatsOptions

RULES = CopyRules(tolerances=Tolerances(max_price_deviation_points=1_000_000, max_delay_ms=60_000))
POLL_S = 0.005
HERE = Path(__file__).resolve().parent


def _tick() -> int:
    return os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _tick()
    except OSError:
        return 0.0


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a worker host and its workers), from /proc."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return found





def _result(metrics: Metrics, n_slaves: int, events: int) -> dict:
    copies = list(metrics.copies)
    per_deal = Counter((c.slave, c.master_ticket, c.action) for c in copies)
    totals = [c.total_ms for c in copies]
    return {"copies": len(copies), "expected": 2 * n_slaves * events,
            "duplicates": sum(n - 1 for n in per_deal.values() if n > 1),
            "copy_latency_ms": {"p50": round(percentile(totals, 50), 3), "p99": round(percentile(totals, 99), 3)},
            "failures": sum(s.failures for s in metrics.slaves.values()),
            "refusals": sum(s.refusals for s in metrics.slaves.values())}


def _cpu_groups(host_pids: list[int], server_pid: int | None) -> dict[str, list[int]]:
    """The processes of a run by role: the core alone, the workers it started (the master, and
    every slave on pipes), the worker hosts' own processes, the workers they started, the server."""
    core = os.getpid()
    groups: dict[str, list[int]] = {"core": [core]}
    if host_pids:
        groups["worker_hosts"] = list(host_pids)
        groups["remote_workers"] = [p for host in host_pids for p in _tree(host)[1:]]
    if server_pid:
        groups["nats_server"] = [server_pid]
    # This process started the hosts and the server too: they are its children, but not its workers.
    elsewhere = {p for pids in groups.values() for p in pids}
    groups["local_workers"] = [p for p in _tree(core) if p not in elsewhere]
    return groups


async def _connect_all(connectors: list[WorkerConnector], timeout: float = 180.0) -> None:
    """connect() each, retried: a worker host that has just started may not have subscribed yet."""
    deadline = time.monotonic() + timeout

    async def one(connector: WorkerConnector) -> None:
        while True:
            try:
                await connector.connect()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.3)

    # In small groups: hundreds of spawns at once would only queue on the CPUs.
    for start in range(0, len(connectors), 8):
        await asyncio.gather(*(one(c) for c in connectors[start:start + 8]))


async def run(transport: str, n_slaves: int, events: int, anchor: float, nats: NatsHost | None = None,
              host_pids: list[int] | None = None, server_pid: int | None = None) -> dict:
    master_config = WorkerConfig("master", SimTerminal("meridian_ecn", seed=5, anchor=anchor,
                                                       account={"login": 1, "balance": 1e9}), poll_idle_s=POLL_S)
    master = WorkerConnector(master_config, hello_timeout_s=180)
    slaves = [WorkerConnector(slave_config(f"s{i}", i, anchor, **slave_kwargs()), host=nats, hello_timeout_s=180,
                              request_timeout_s=60) for i in range(n_slaves)]
    journal = Journal(None, SYSTEM_CLOCK)
    metrics = Metrics(keep_copies=None)  # every copy, for the exactly-once count
    copier = Copier(master, [SlaveLink(s.account_id, s, RULES) for s in slaves], journal=journal, clock=SYSTEM_CLOCK,
                    copybook=CopyBook(None), metrics=metrics, poll_interval_s=POLL_S, reconcile_interval_s=3600)
    copies = Copies(copier)
    if nats is not None:
        nats.use_loop(asyncio.get_running_loop())  # the bus's client on the copier's loop, as the application
    try:
        await _connect_all([master, *slaves])
        await copier.start()
        gc.freeze()
        await asyncio.sleep(1.0)

        async def trade(side: int, position: int) -> int:
            spec = await master.symbol("BTCUSD")
            result = await master.sim("trader", "order_send", deal(side, spec.bid, spec.ask, position))
            assert result is not None and result["retcode"] == 10009, result
            return result["order"]

        trees = {pid: _tree(pid) for pid in host_pids or []}
        before = {pid: sum(_cpu_seconds(p) for p in tree) for pid, tree in trees.items()}
        # The core's process alone (its local workers are children) and the NATS server's.
        apart = {"core": os.getpid(), **({"nats_server": server_pid} if server_pid else {})}
        apart_before = {name: _cpu_seconds(pid) for name, pid in apart.items()}
        groups = _cpu_groups(host_pids or [], server_pid)
        groups_before = {name: sum(_cpu_seconds(p) for p in pids) for name, pids in groups.items()}
        started, ticks = time.monotonic(), machine_cpu_ticks()
        for k in range(events):
            opened = await trade(k % 2, 0)
            await copies.until(opened, n_slaves)
            await asyncio.sleep(0.05)
            await trade(1 - k % 2, opened)
            await copies.until(opened, 2 * n_slaves)
            await asyncio.sleep(0.05)
        wall, steal = time.monotonic() - started, steal_share(ticks, machine_cpu_ticks())
        await asyncio.sleep(0.5)  # a late duplicate would arrive here
        result = {"transport": transport, **_result(metrics, n_slaves, events), "machine_steal_share": steal,
                  **{f"{name}_cpu_percent_of_one_core": round(100 * (_cpu_seconds(pid) - apart_before[name]) / wall, 1)
                     for name, pid in apart.items()}}
        # CPU per copy by role: not divided by the run's length, as a share of a core is, so a run
        # slowed by other load gives much the same figure (background work, such as heartbeats and
        # leases, is in it, spread over the copies).
        per_copy = {name: 1000 * (sum(_cpu_seconds(p) for p in pids) - groups_before[name]) / max(1, result["copies"])
                    for name, pids in groups.items()}
        result["cpu_ms_per_copy"] = {**{name: round(ms, 3) for name, ms in per_copy.items()},
                                     "total": round(sum(per_copy.values()), 3)}
        if trees:
            hosts = []
            for pid, tree in trees.items():
                memory = [memory_mb(p) for p in tree]
                hosts.append({"pid": pid, "processes": len(tree),
                              "copying_cpu_percent_of_one_core":
                                  round(100 * (sum(_cpu_seconds(p) for p in tree) - before[pid]) / wall, 1),
                              "rss_mb": round(sum(m[0] for m in memory), 1),
                              "pss_mb": round(sum(m[1] for m in memory), 1)})
            result["worker_hosts"] = hosts
        return result
    finally:
        await stop_with_workers(copier, (master, *slaves), journal)


def _start_hosts(url: str, n_slaves: int, n_hosts: int, anchor: float, folder: Path) -> list[subprocess.Popen]:
    hosts = []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE.parent), os.environ.get("PYTHONPATH")]))}
    for h in range(n_hosts):
        accounts = [(f"s{i}", i) for i in range(h, n_slaves, n_hosts)]
        spec = json.dumps({"url": url, "accounts": accounts, "anchor": anchor})
        with open(folder / f"host{h}.log", "ab") as log:
            hosts.append(subprocess.Popen([sys.executable, str(HERE / "scale_out_host.py"), spec],
                                          stdout=log, stderr=log, env=env))
    return hosts


def _stop_hosts(hosts: list[subprocess.Popen]) -> None:
    for host in hosts:
        if host.poll() is None:
            host.terminate()
    for host in hosts:
        try:
            host.wait(15)
        except subprocess.TimeoutExpired:
            host.kill()
            host.wait(5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slaves", type=int, default=200)
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--events", type=int, default=10, help="master open/close pairs per transport")
    parser.add_argument("--only", choices=("nats", "pipes"), help="run one transport (to profile it alone)")
    args = parser.parse_args()
    report = {"benchmark": "scale_out", "python": platform.python_version(), "cpus": os.cpu_count(),
              "hosts": args.hosts, "slaves": args.slaves, "events": args.events,
              "targets": {"copies_exactly_once": True, "nats_p50_vs_pipes": 1.5}}
    anchor = SYSTEM_CLOCK.time()
    if args.only != "pipes":
        report["nats"] = _run_nats(args, anchor)
    if args.only != "nats":
        report["pipes"] = asyncio.run(run("pipes", args.slaves, args.events, anchor))
    if "nats" in report and "pipes" in report:
        n, p = report["nats"]["copy_latency_ms"]["p50"], report["pipes"]["copy_latency_ms"]["p50"]
        report["nats_p50_vs_pipes"] = round(n / p, 2) if p else None
        n, p = report["nats"]["cpu_ms_per_copy"]["total"], report["pipes"]["cpu_ms_per_copy"]["total"]
        report["nats_cpu_per_copy_vs_pipes"] = round(n / p, 2) if p else None
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


def _run_nats(args: argparse.Namespace, anchor: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="scale-out-") as tmp, BenchNatsServer(Path(tmp)) as server:
        hosts = _start_hosts(server.url, args.slaves, args.hosts, anchor, Path(tmp))
        nats = NatsHost(NatsOptions(server.url))  # the production lease timings
        try:
            return asyncio.run(run("nats", args.slaves, args.events, anchor, nats, [h.pid for h in hosts],
                                   server.process.pid))
        except BaseException:
            for h in range(args.hosts):
                sys.stderr.write((Path(tmp) / f"host{h}.log").read_text()[-3000:])
            raise
        finally:
            nats.close()
            _stop_hosts(hosts)


if __name__ == "__main__":
    sys.exit(main())
