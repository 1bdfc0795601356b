"""docs/monitoring.md lists exactly the metrics the registry serves, with their labels and meaning."""

from __future__ import annotations

import asyncio
from pathlib import Path

from copier_gui.monitor.metrics import CopierMetrics, metrics_table
from tests.unit.monitor.conftest import live_copier
from tests.unit.monitor.test_room_left import PROFILE

DOC = Path(__file__).resolve().parents[3] / "docs" / "monitoring.md"
START, END = "<!-- metrics:start -->\n", "\n<!-- metrics:end -->"


def test_docs_list_every_metric(tmp_path):
    async def main():
        async with live_copier(tmp_path, slaves=1) as live:
            metrics = CopierMetrics(live.copier)
            metrics.attach()
            # A prop-firm profile, so its room-left gauges show their labels too.
            live.copier.set_rules("slave-1", PROFILE)
            live.trade("EURUSD", 0, 0.1)
            await live.until(lambda: live.copies("slave-1") >= 1)
            await live.until(lambda: getattr(live.copier.slaves["slave-1"].risk_gate.room_left(), "to_floor", None)
                             is not None)
            return metrics_table(metrics.registry)

    table = asyncio.run(main())
    text = DOC.read_text(encoding="utf-8")
    documented = text[text.index(START) + len(START):text.index(END)]
    assert documented == table, f"docs/monitoring.md's metrics table should read:\n{table}"
