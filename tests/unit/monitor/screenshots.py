"""The status page's screenshots for the docs, from a live copier on simulated brokers:

    .venv/bin/python -m tests.unit.monitor.screenshots docs

writes status-page-phone.png (390x844) and status-page-desktop.png (1366x768) into that folder;
``--dark`` takes them in the dark theme, ``--full-page`` adds the whole page beside each.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from copier_gui.monitor import MonitorServer
from tests.unit.monitor import chromium
from tests.unit.monitor.conftest import live_copier, trade_a_session


async def take(folder: Path, *, dark: bool = False, full_page: bool = False) -> list[Path]:
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        async with live_copier(Path(tmp), slaves=3) as live:
            await trade_a_session(live)
            server = MonitorServer(live.copier, bind="127.0.0.1:0", token=None, journal=live.journal)
            url = await server.start()
            try:
                for name, size in (("phone", chromium.PHONE), ("desktop", chromium.DESKTOP)):
                    async with chromium.open_page(url, size=size, dark=dark) as page:
                        await page.wait_for("document.body.dataset.loaded === '1'")
                        path = folder / f"status-page-{name}{'-dark' if dark else ''}.png"
                        await page.screenshot(path)
                        written.append(path)
                        if full_page:
                            whole = path.with_name(path.stem + "-full.png")
                            await page.screenshot(whole, full_page=True)
                            written.append(whole)
            finally:
                await server.aclose()
    return written


def main() -> int:
    if chromium.executable() is None:
        print("Chromium is not installed", file=sys.stderr)
        return 1
    folder = Path(next((a for a in sys.argv[1:] if not a.startswith("--")), "docs"))
    dark = "--dark" in sys.argv
    for path in asyncio.run(take(folder, dark=dark, full_page="--full-page" in sys.argv)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
