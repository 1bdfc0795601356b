"""Cost of calls into the simulated MetaTrader 5 terminal, with fault injection off.

Measures ``positions_get()`` on an account holding 200 open positions and a market
``order_send``, each timed per call over many repetitions, and prints JSON with p50/p99 in
microseconds. The simulator must never be the bottleneck: the targets are p50 <= 150 us for both.

Run: python bench/sim_calls.py [--calls N] [--rounds R]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

from bench_stats import summary

from copier_gui.clock import VirtualClock
from copier_gui.sim import new_terminal

TARGET_US = 150.0


def bench_positions_get(calls: int, *, every_call_ticks: bool = False) -> dict:
    """With the real clock, prices tick while we measure (BTCUSD trades around the clock).

    With ``every_call_ticks``, a virtual clock moves 0.5 s before each call, so every call sees
    new ticks and rebuilds all 200 positions: the worst case, with nothing reusable.
    """
    clock_kw = {"clock": VirtualClock(time.time())} if every_call_ticks else {}
    terminal = new_terminal("meridian_ecn", seed=11, balance=10_000_000.0, **clock_kw)
    assert terminal.initialize(), terminal.last_error()
    for i in range(200):
        tick = terminal.symbol_info_tick("BTCUSD")
        result = terminal.order_send({
            "action": terminal.TRADE_ACTION_DEAL, "symbol": "BTCUSD", "volume": 0.01,
            "type": terminal.ORDER_TYPE_BUY if i % 2 else terminal.ORDER_TYPE_SELL, "price": tick.ask,
            "type_filling": terminal.ORDER_FILLING_IOC, "magic": 1000 + i, "comment": f"bench {i}",
        })
        assert result.retcode == terminal.TRADE_RETCODE_DONE, result
    assert len(terminal.positions_get()) == 200
    samples = []
    clock = time.perf_counter_ns
    virtual = clock_kw.get("clock")
    for _ in range(calls):
        if virtual is not None:
            virtual.advance(0.5)
        t0 = clock()
        positions = terminal.positions_get()
        samples.append(clock() - t0)
    assert len(positions) == 200
    return summary(samples)


def bench_order_send(calls: int) -> dict:
    terminal = new_terminal("meridian_ecn", seed=12, balance=1_000_000_000.0)
    assert terminal.initialize(), terminal.last_error()
    samples = []
    clock = time.perf_counter_ns
    last = None
    for i in range(calls):
        # Alternate open and close so the account stays small and every call does a real fill.
        if i % 2 == 0:
            request = {"action": 1, "symbol": "BTCUSD", "volume": 0.01, "type": 0, "price": 0.0,
                       "type_filling": 1, "magic": 7, "comment": "bench"}
        else:
            request = {"action": 1, "symbol": "BTCUSD", "volume": 0.01, "type": 1, "price": 0.0,
                       "type_filling": 1, "position": last.order}
        t0 = clock()
        last = terminal.order_send(request)
        samples.append(clock() - t0)
        assert last.retcode == 10009, last
    return summary(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=3, help="independent rounds; the median round is reported")
    args = parser.parse_args()
    rounds = {"positions_get_200": [], "positions_get_200_new_tick_every_call": [], "order_send_market": []}
    for _ in range(args.rounds):
        rounds["positions_get_200"].append(bench_positions_get(args.calls))
        rounds["positions_get_200_new_tick_every_call"].append(
            bench_positions_get(max(1, args.calls // 10), every_call_ticks=True))
        rounds["order_send_market"].append(bench_order_send(args.calls))
    report = {"benchmark": "sim_calls", "python": platform.python_version(), "target_p50_us": TARGET_US}
    for name, results in rounds.items():
        median_round = sorted(results, key=lambda r: r["p50_us"])[len(results) // 2]
        report[name] = {**median_round, "p50_us_each_round": [r["p50_us"] for r in results],
                        "meets_target": median_round["p50_us"] <= TARGET_US}
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
