"""Does the window stall the copier? Event-loop stalls and copy latency, GUI against headless.

Runs the demo with N slaves (default 20), each terminal in a worker process, and the master
strategy trading fast, twice in one process and the same conditions: with the window visible
(qasync on the Qt loop; needs a display, e.g. under xvfb-run) and headless (plain asyncio). Both
runs take the same path to their terminals (worker processes), so their copy latencies compare.

A 5 ms timer measures the loop's stalls (the gap beyond 5 ms between ticks). Each stall counts in
the phase it began in:
- ``window``: before the session starts (the window and its dashboard are built and painted once;
  nothing is connected or copying yet, so nothing waits for it); headless has no such phase;
- ``startup``: the session starting (worker processes spawned, accounts connected, reconciled);
- ``copying``: the copier running;
- ``shutdown``: stopping in order and closing the workers.
``stall_max_ms`` and ``stall_p99_ms`` cover start-up, copying and shutdown; ``phases`` gives each
phase's own figures. Copy latency p50 comes from the copier's own metrics (master change seen to
slave fill). Prints JSON.

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
from collections.abc import Callable

from copier_gui.core.metrics import percentile
from copier_gui.paths import user_paths

TICK_S = 0.005
PHASES = ("window", "startup", "copying", "shutdown")
MEASURED = ("startup", "copying", "shutdown")


class StallProbe:
    """Ticks every 5 ms and files each gap beyond 5 ms under the phase it began in."""

    def __init__(self, phase: Callable[[], str]) -> None:
        self.phase = phase
        self.gaps: dict[str, list[float]] = {name: [] for name in PHASES}
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="stall-probe")

    async def stop(self) -> None:
        self._stop.set()
        await self._task

    async def _run(self) -> None:
        last = time.perf_counter()
        phase = self.phase()
        while not self._stop.is_set():
            await asyncio.sleep(TICK_S)
            now = time.perf_counter()
            self.gaps[phase].append(max(0.0, (now - last - TICK_S) * 1000.0))
            last, phase = now, self.phase()

    def summary(self, latencies: list[float]) -> dict:
        measured = [gap for name in MEASURED for gap in self.gaps[name]]
        return {**_stalls(measured), "copies": len(latencies),
                "copy_latency_p50_ms": _round(percentile(latencies, 50), 3),
                "copy_latency_p99_ms": _round(percentile(latencies, 99), 3),
                "phases": {name: _stalls(gaps) for name, gaps in self.gaps.items() if gaps}}


def _stalls(gaps: list[float]) -> dict:
    return {"stall_max_ms": _round(max(gaps), 2) if gaps else None,
            "stall_p99_ms": _round(percentile(gaps, 99), 2), "stall_p50_ms": _round(percentile(gaps, 50), 2),
            "ticks": len(gaps)}


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def run_gui(seconds: float, slaves: int) -> dict:
    import qasync
    from PySide6.QtWidgets import QApplication

    from copier_gui.demo.session import demo_session
    from copier_gui.ui.app import Application, GuiOptions

    app = QApplication.instance() or QApplication([])
    latencies: list[float] = []
    result: dict = {}

    async def main() -> None:
        home = tempfile.mkdtemp(prefix="copier-gui-bench-")
        paths = user_paths(home)
        demo = functools.partial(demo_session, slaves, paths, strategy_interval_s=0.2, workers=True)
        application = Application(app, paths, GuiOptions(demo=True, duration=seconds), demo)

        def phase() -> str:
            session = application.session
            if application.leaving:
                return "shutdown"
            if session is None or not session.begun:
                return "window"
            return "copying" if session.started else "startup"

        probe = StallProbe(phase)
        probe.start()

        async def harvest() -> None:
            await asyncio.sleep(seconds - 0.3)
            if application.session is not None:
                latencies.extend(c.total_ms for c in application.session.copier.metrics.copies
                                 if c.action == "open")

        grab = asyncio.ensure_future(harvest())
        await application.run()
        await probe.stop()
        await grab
        result.update(probe.summary(latencies))

    loop = qasync.QEventLoop(app)
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    return result


def run_headless(seconds: float, slaves: int) -> dict:
    from copier_gui.demo.headless import run_demo_headless

    latencies: list[float] = []
    result: dict = {}

    async def main() -> None:
        ready = False
        ends = time.perf_counter() + seconds  # headless stops when its duration is over

        def phase() -> str:
            if time.perf_counter() >= ends:
                return "shutdown"
            return "copying" if ready else "startup"

        def on_ready(_copier) -> None:
            nonlocal ready
            ready = True

        probe = StallProbe(phase)
        probe.start()
        await asyncio.sleep(0)  # the probe's first tick comes before the runtime is built
        metrics = await run_demo_headless(slaves=slaves, duration=seconds, paths=user_paths(tempfile.mkdtemp()),
                                          out=io.StringIO(), strategy_interval_s=0.2, workers=True,
                                          on_ready=on_ready)
        await probe.stop()
        latencies.extend(c.total_ms for c in metrics.copies if c.action == "open")
        result.update(probe.summary(latencies))

    asyncio.run(main())
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--slaves", type=int, default=20)
    args = parser.parse_args()
    gui = run_gui(args.seconds, args.slaves)
    headless = run_headless(args.seconds, args.slaves)
    ratio = gui["copy_latency_p50_ms"] / headless["copy_latency_p50_ms"] if headless["copy_latency_p50_ms"] else None
    targets = {"stall_max_ms": 50, "stall_p99_ms": 16, "latency_ratio_max": 1.10}
    report = {"benchmark": "gui_stall", "slaves": args.slaves, "seconds": args.seconds, "workers": True,
              "targets": targets, "gui": gui, "headless": headless,
              "gui_over_headless_latency_p50": round(ratio, 3) if ratio else None}
    report["met"] = {"stall_max_ms": gui["stall_max_ms"] is not None and gui["stall_max_ms"] <= targets["stall_max_ms"],
                     "stall_p99_ms": gui["stall_p99_ms"] is not None and gui["stall_p99_ms"] <= targets["stall_p99_ms"],
                     "latency_ratio": ratio is not None and ratio <= targets["latency_ratio_max"]}
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
