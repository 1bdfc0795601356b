"""What closing the bridge costs: MetaTrader5 calls over the closed bridge (TLS and the shared
secret) against the same calls over a plain RPyC connection (the bridge as it was) and straight on
the simulated terminal, all in one run on loopback.

Per call: ``symbol_info_tick`` (the copier's most frequent read) and ``positions_get`` on an
account holding 20 positions. Per connection: connect, handshake and the first call, which the
copier pays once per terminal and again after a lost connection. Prints JSON with p50/p99 in
microseconds and the closed bridge's ratios to the plain one.

Run: python bench/bridge_calls.py [--calls N] [--connects N]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import threading
import time

import rpyc
from bench_stats import summary
from rpyc.utils.server import ThreadedServer

from copier_gui.bridge.client import MT5Bridge
from copier_gui.bridge.server import PROTOCOL_CONFIG, MT5Service, make_server
from copier_gui.sim import new_terminal

SECRET = "bench-secret-0123456789abcdef"


def _terminal():
    terminal = new_terminal("meridian_ecn", seed=1, login=1)
    assert terminal.initialize()
    for _ in range(20):
        tick = terminal.symbol_info_tick("EURUSD")
        terminal.order_send({"action": 1, "symbol": "EURUSD", "volume": 0.1, "type": 0, "price": tick.ask,
                             "type_filling": 1})
    return terminal


def _serve(server: ThreadedServer) -> threading.Thread:
    thread = threading.Thread(target=server.start, daemon=True)
    thread.start()
    while not server.active:
        time.sleep(0.005)
    return thread


def _time(call, n: int) -> dict:
    samples = []
    for _ in range(n):
        started = time.perf_counter_ns()
        call()
        samples.append(time.perf_counter_ns() - started)
    return summary(samples)


def _plain_call(conn):
    remote = conn.root.call
    return lambda name, *args: remote(name, args, ())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--connects", type=int, default=40)
    args = parser.parse_args()

    terminal = _terminal()
    closed = make_server({"alpha": terminal}, secret=SECRET, port=0)
    plain = ThreadedServer(MT5Service({"alpha": terminal}, {"alpha": threading.Lock()}), hostname="127.0.0.1",
                           port=0, protocol_config=dict(PROTOCOL_CONFIG))
    threads = [_serve(closed), _serve(plain)]
    results: dict = {"calls": {}, "connect_and_first_call": {}}
    try:
        bridge = MT5Bridge("127.0.0.1", closed.port, terminal="alpha", secret=lambda: SECRET)
        conn = rpyc.connect("127.0.0.1", plain.port, config=dict(PROTOCOL_CONFIG))
        assert conn.root.open("alpha")
        call = _plain_call(conn)
        for name, fn_args in (("symbol_info_tick", ("EURUSD",)), ("positions_get", ())):
            results["calls"][name] = {
                "in_process": _time(lambda n=name, a=fn_args: getattr(terminal, n)(*a), args.calls),
                "plain_rpyc": _time(lambda n=name, a=fn_args: call(n, *a), args.calls),
                "closed_bridge": _time(lambda n=name, a=fn_args: getattr(bridge, n)(*a), args.calls),
            }
        conn.close()
        bridge.close()

        def closed_connect():
            b = MT5Bridge("127.0.0.1", closed.port, terminal="alpha", secret=lambda: SECRET)
            b.symbol_info_tick("EURUSD")
            b.close()

        def plain_connect():
            c = rpyc.connect("127.0.0.1", plain.port, config=dict(PROTOCOL_CONFIG))
            c.root.open("alpha")
            c.root.call("symbol_info_tick", ("EURUSD",), ())
            c.close()

        results["connect_and_first_call"] = {"plain_rpyc": _time(plain_connect, args.connects),
                                             "closed_bridge": _time(closed_connect, args.connects)}
    finally:
        closed.close()
        plain.close()
        for thread in threads:
            thread.join(5)

    ratios = {}
    for name, by_path in results["calls"].items():
        ratios[name] = {q: round(by_path["closed_bridge"][q] / by_path["plain_rpyc"][q], 2)
                        for q in ("p50_us", "p99_us")}
    connects = results["connect_and_first_call"]
    ratios["connect_and_first_call"] = {q: round(connects["closed_bridge"][q] / connects["plain_rpyc"][q], 2)
                                        for q in ("p50_us", "p99_us")}
    print(json.dumps({"benchmark": "bridge_calls", "python": sys.version.split()[0],
                      "machine": platform.machine(), **results, "closed_over_plain": ratios}, indent=2))


if __name__ == "__main__":
    main()
