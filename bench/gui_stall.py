"""Does the window stall the copier? Event-loop stalls and copy latency, GUI against headless.

Runs the demo with 20 slaves and the master strategy trading fast, twice in the same conditions:
with the window visible (qasync on the Qt loop; needs a display, e.g. under xvfb-run) and
headless (plain asyncio). A 5 ms timer measures the loop's stalls (the gap beyond 5 ms between
ticks): max and p99. Copy latency p50 comes from the copier's own metrics. Prints JSON.

Targets: max stall <= 50 ms, p99 stall <= 16 ms, GUI copy latency p50 within 10% of headless.

Run: xvfb-run -a -s "-screen 0 1600x1000x24" python bench/gui_stall.py [--seconds S] [--slaves N]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import io
import json
import sys
import tempfile
import time

from copier_gui.core.metrics import percentile
from copier_gui.paths import user_paths

TICK_S = 0.005


async def _stall_probe(gaps: list[float], stop: asyncio.Event) -> None:
    last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(TICK_S)
        now = time.perf_counter()
        gaps.append(max(0.0, (now - last - TICK_S) * 1000.0))
        last = now


def _summary(gaps: list[float], latencies: list[float]) -> dict:
    gaps = gaps[20:]  # start-up is not steady state
    return {"stall_max_ms": round(max(gaps), 2) if gaps else None,
            "stall_p99_ms": round(percentile(gaps, 99), 2), "stall_p50_ms": round(percentile(gaps, 50), 2),
            "ticks": len(gaps), "copies": len(latencies),
            "copy_latency_p50_ms": round(percentile(latencies, 50), 3),
            "copy_latency_p99_ms": round(percentile(latencies, 99), 3)}


def run_gui(seconds: float, slaves: int) -> dict:
    import qasync
    from PySide6.QtWidgets import QApplication

    from copier_gui.demo.session import demo_session
    from copier_gui.ui.app import Application, GuiOptions

    app = QApplication.instance() or QApplication([])
    gaps: list[float] = []
    latencies: list[float] = []

    async def main() -> None:
        home = tempfile.mkdtemp(prefix="copier-gui-bench-")
        paths = user_paths(home)
        demo = functools.partial(demo_session, slaves, paths, strategy_interval_s=0.2, workers=True)
        application = Application(app, paths, GuiOptions(demo=True, duration=seconds), demo)
        stop = asyncio.Event()
        probe = asyncio.ensure_future(_stall_probe(gaps, stop))

        async def harvest() -> None:
            await asyncio.sleep(seconds - 0.3)
            if application.session is not None:
                latencies.extend(c.total_ms for c in application.session.copier.metrics.copies
                                 if c.action == "open")

        grab = asyncio.ensure_future(harvest())
        await application.run()
        stop.set()
        await probe
        await grab

    loop = qasync.QEventLoop(app)
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    return _summary(gaps, latencies)


def run_headless(seconds: float, slaves: int) -> dict:
    from copier_gui.demo.headless import run_demo_headless

    gaps: list[float] = []
    latencies: list[float] = []

    async def main() -> None:
        stop = asyncio.Event()
        probe = asyncio.ensure_future(_stall_probe(gaps, stop))
        metrics = await run_demo_headless(slaves=slaves, duration=seconds, paths=user_paths(tempfile.mkdtemp()),
                                          out=io.StringIO(), strategy_interval_s=0.2, workers=False)
        stop.set()
        await probe
        latencies.extend(c.total_ms for c in metrics.copies if c.action == "open")

    asyncio.run(main())
    return _summary(gaps, latencies)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--slaves", type=int, default=20)
    args = parser.parse_args()
    gui = run_gui(args.seconds, args.slaves)
    headless = run_headless(args.seconds, args.slaves)
    ratio = gui["copy_latency_p50_ms"] / headless["copy_latency_p50_ms"] if headless["copy_latency_p50_ms"] else None
    report = {"benchmark": "gui_stall", "slaves": args.slaves, "seconds": args.seconds,
              "targets": {"stall_max_ms": 50, "stall_p99_ms": 16, "latency_ratio_max": 1.10},
              "gui": gui, "headless": headless,
              "gui_over_headless_latency_p50": round(ratio, 3) if ratio else None}
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
