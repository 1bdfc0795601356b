"""The drift report's screenshots for the docs, from a real copier's journal on simulated brokers:

    .venv/bin/python -m tests.unit.reports.screenshots docs

writes drift-report-phone.png (a phone's width, 390) and drift-report-desktop.png (1366 wide) into
that folder: the summary and the first slave's headline and charts, taller than one screen;
``--dark`` takes them in the dark theme, ``--full-page`` adds the whole page beside each.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from copier_gui.reports.drift_html import render_html
from copier_gui.reports.period import parse_period
from tests.unit.monitor import chromium
from tests.unit.reports.sessions import session_drifts

TITLE = "Drift report"
# Tall enough for the summary and the first slave's charts: the pictures docs/drift.md shows.
SHOTS = {"phone": (chromium.PHONE[0], 1900), "desktop": (chromium.DESKTOP[0], 1180)}
PERIOD = parse_period("2026-11-25", "2026-11-25").text  # as `copier-gui report` says it


def report_html() -> str:
    drifts = session_drifts()
    generated = max(t for d in drifts.values() for t, _ in d.series)
    return render_html(drifts, title=TITLE, period_text=PERIOD, generated_wall=generated,
                       notes=["Trades the master opened in the period count; what was still open at its end is "
                              "valued at the last prices journaled before it."])


async def take(folder: Path, html: str, *, dark: bool = False, full_page: bool = False) -> list[Path]:
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        page_file = Path(tmp) / "report.html"
        page_file.write_text(html, encoding="utf-8")
        for name, size in SHOTS.items():
            async with chromium.open_page(page_file.as_uri(), size=size, dark=dark) as page:
                path = folder / f"drift-report-{name}{'-dark' if dark else ''}.png"
                await page.screenshot(path)
                written.append(path)
                if full_page:
                    whole = path.with_name(path.stem + "-full.png")
                    await page.screenshot(whole, full_page=True)
                    written.append(whole)
    return written


def main() -> int:
    if chromium.executable() is None:
        print("Chromium is not installed", file=sys.stderr)
        return 1
    folder = Path(next((a for a in sys.argv[1:] if not a.startswith("--")), "docs"))
    html = report_html()
    for path in asyncio.run(take(folder, html, dark="--dark" in sys.argv, full_page="--full-page" in sys.argv)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
