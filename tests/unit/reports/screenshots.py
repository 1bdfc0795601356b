"""The drift report's screenshots for the docs, from a real copier's journal on simulated brokers:

    .venv/bin/python -m tests.unit.reports.screenshots docs

writes drift-report-phone.png (390 wide) and drift-report-desktop.png (1366 wide) into that folder,
each the whole page; ``--dark`` takes them in the dark theme.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from copier_gui.reports.drift_html import render_html
from tests.unit.monitor import chromium
from tests.unit.reports.sessions import session_drifts

TITLE = "Drift report"
PERIOD = "2026-11-25 (UTC, the whole day)"


def report_html() -> str:
    drifts = session_drifts()
    generated = max(t for d in drifts.values() for t, _ in d.series)
    return render_html(drifts, title=TITLE, period_text=PERIOD, generated_wall=generated,
                       notes=["Trades the master opened in the period count; what was still open at its end is "
                              "valued at the last prices journaled before it."])


async def take(folder: Path, html: str, *, dark: bool = False) -> list[Path]:
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        page_file = Path(tmp) / "report.html"
        page_file.write_text(html, encoding="utf-8")
        for name, size in (("phone", chromium.PHONE), ("desktop", chromium.DESKTOP)):
            async with chromium.open_page(page_file.as_uri(), size=size, dark=dark) as page:
                path = folder / f"drift-report-{name}{'-dark' if dark else ''}.png"
                await page.screenshot(path, full_page=True)
                written.append(path)
    return written


def main() -> int:
    if chromium.executable() is None:
        print("Chromium is not installed", file=sys.stderr)
        return 1
    folder = Path(next((a for a in sys.argv[1:] if not a.startswith("--")), "docs"))
    for path in asyncio.run(take(folder, report_html(), dark="--dark" in sys.argv)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
