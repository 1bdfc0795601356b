"""The status page in a real browser (headless Chromium) at a phone's width: it draws the copier's
accounts, positions, drift and journal, and nothing overflows sideways."""

from __future__ import annotations

import asyncio
import json
import ssl

import pytest
import trustme

from copier_gui.monitor import MonitorServer
from tests.unit.monitor import chromium
from tests.unit.monitor.conftest import live_copier, trade_a_session

pytestmark = pytest.mark.skipif(chromium.executable() is None,
                                reason="Chromium is not installed (.ci/run installs Debian's chromium)")

READ_PAGE = """({
  accounts: [...document.querySelectorAll('#accounts .account h3')].map(h => h.firstChild.textContent),
  positions: [...document.querySelectorAll('#positions .position h3')].map(h => h.firstChild.textContent),
  copies: [...document.querySelectorAll('#positions .copy')].map(li => li.textContent),
  drift: [...document.querySelectorAll('#drift tbody tr')].map(tr => tr.firstChild.textContent),
  journal: document.querySelectorAll('#journal li').length,
  copying: document.querySelector('#copying').textContent,
  problem: document.querySelector('#problem').textContent,
  scrollWidth: document.documentElement.scrollWidth,
  innerWidth: window.innerWidth,
  wide: [...document.querySelectorAll('body *')].filter(e => {
    const r = e.getBoundingClientRect(); return r.right > window.innerWidth + 0.5 && !e.closest('.scroll');
  }).map(e => e.tagName + '.' + e.className)
})"""


def test_phone_width_shows_everything_without_sideways_scrolling(tmp_path):
    async def main():
        async with live_copier(tmp_path, slaves=3) as live:
            await trade_a_session(live)
            server = MonitorServer(live.copier, bind="127.0.0.1:0", token=None, journal=live.journal)
            url = await server.start()
            try:
                async with chromium.open_page(url, size=chromium.PHONE) as page:
                    await page.wait_for("document.body.dataset.loaded === '1'")
                    seen = await page.evaluate(READ_PAGE)
                    await page.screenshot(tmp_path / "phone.png")
                    shot = (tmp_path / "phone.png").read_bytes()
                    # The page refreshes itself: a new position shows without a reload.
                    live.trade("USDJPY", 0, 0.1)
                    await page.wait_for("document.querySelectorAll('#positions .position').length === "
                                        f"{len(seen['positions']) + 1}", timeout=10)
                return seen, shot
            finally:
                await server.aclose()

    seen, shot = asyncio.run(main())
    assert shot.startswith(b"\x89PNG") and int.from_bytes(shot[16:20], "big") == 390
    assert seen["problem"] == "", seen["problem"]
    assert seen["accounts"] == ["master", "slave-1", "slave-2", "slave-3"]
    assert sorted(seen["positions"]) == ["EURGBP", "EURUSD", "US30", "USDJPY", "XAUUSD"]
    assert seen["drift"] == ["slave-1", "slave-2", "slave-3"]
    assert seen["copying"] == "copying on"
    assert seen["journal"] == 20  # the latest 20, read from the journal at start
    copies = " | ".join(seen["copies"])
    assert "mirrored" in copies and "skipped" in copies, copies
    assert "GOLD.m" in copies  # the slave's own name for the master's XAUUSD
    assert seen["scrollWidth"] <= seen["innerWidth"] == 390, json.dumps(seen)
    assert seen["wide"] == [], seen["wide"]


def test_page_opened_with_a_token_reads_its_data_with_it(tmp_path):
    """From another machine: the link carries ?token=, and the page's own requests send it on."""
    ca = trustme.CA()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(tls)
    token = "page-token-" + "z" * 32

    async def main():
        async with live_copier(tmp_path, slaves=1) as live:
            live.trade("EURUSD", 0, 0.1)
            await live.until(lambda: live.copies("slave-1") >= 1)
            server = MonitorServer(live.copier, bind="0.0.0.0:0", token=token, tls=tls)
            url = (await server.start()).replace("0.0.0.0", "127.0.0.1")
            try:
                # The test's own certificate authority is not the browser's: skip the check, not the TLS.
                args = ("--ignore-certificate-errors",)
                async with chromium.open_page(f"{url}?token={token}", size=chromium.PHONE, args=args) as page:
                    await page.wait_for("document.body.dataset.loaded === '1'")
                    return await page.evaluate(READ_PAGE)
            finally:
                await server.aclose()

    seen = asyncio.run(main())
    assert seen["problem"] == ""
    assert seen["accounts"] == ["master", "slave-1"] and seen["positions"] == ["EURUSD"]
