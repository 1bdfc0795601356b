"""A prop-firm slave's room left on the monitoring endpoint: in the status JSON, as Prometheus gauges,
and on the status page in a real browser (headless Chromium)."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from copier_gui.core.rules import CopyRules, PropRules, Risk, Tolerances
from copier_gui.monitor import MonitorServer
from tests.unit.monitor import chromium
from tests.unit.monitor.conftest import live_copier

SHOT = None  # a path here keeps the page's picture for a look

PROFILE = CopyRules(tolerances=Tolerances(max_price_deviation_points=3000), risk=Risk(prop=PropRules.model_validate({
    "reset": "17:00 America/New_York", "daily_loss": {"amount": 500}, "max_loss": {"amount": 1_000},
    "min_trading_days": 4})))


async def _get(url: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        return await response.text()


async def _with_profile(live) -> None:
    live.copier.set_rules("slave-1", PROFILE)
    # The next pass under the profile measures the floor too.
    await live.until(lambda: getattr(live.copier.slaves["slave-1"].risk_gate.room_left(), "to_floor", None) is not None)


def test_the_status_json_and_the_metrics_carry_the_room_left(tmp_path):
    async def main():
        async with live_copier(tmp_path, slaves=2) as live:
            await _with_profile(live)
            server = MonitorServer(live.copier, bind="127.0.0.1:0", token=None)
            url = await server.start()
            try:
                return await _get(url + "api/status"), await _get(url + "metrics")
            finally:
                await server.aclose()

    body, metrics = asyncio.run(main())
    (room,) = json.loads(body)["room_left"]
    assert room["slave"] == "slave-1" and room["known"] is True and room["currency"] == "EUR"
    assert room["daily_limit"] == 500 and 480 < room["daily_left"] <= 500 and room["min_trading_days"] == 4
    assert 0 < room["reset_in_s"] <= 86_400 and 950 < room["to_floor"] <= 1_000
    assert room["level"] == "ok" and room["state"] == "active"
    assert room["text"].startswith(f"{room['daily_left']:,.2f} EUR left today (")
    assert room["text"].endswith(" EUR to the floor · 0 of 4 trading days")

    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(metrics) for s in f.samples}
    one = (("account", "slave-1"), ("currency", "EUR"))
    assert samples[("copier_prop_daily_room", one)] == room["daily_left"]
    assert samples[("copier_prop_daily_limit", one)] == 500
    assert samples[("copier_prop_to_floor", one)] == room["to_floor"]
    assert samples[("copier_prop_daily_used_ratio", (("account", "slave-1"),))] == room["daily_used"]
    assert samples[("copier_prop_max_loss_used_ratio", (("account", "slave-1"),))] == room["max_loss_used"]
    assert 0 < samples[("copier_prop_reset_seconds", (("account", "slave-1"),))] <= 86_400
    assert samples[("copier_prop_trading_days", (("account", "slave-1"),))] == 0
    assert not [k for k in samples if k[0].startswith("copier_prop_") and ("account", "slave-2") in k[1]], \
        "a slave without a profile has no prop series"


def test_the_page_shows_the_room_left_and_the_countdown_moves(tmp_path):
    async def main():
        async with live_copier(tmp_path, slaves=2) as live:
            await _with_profile(live)
            server = MonitorServer(live.copier, bind="127.0.0.1:0", token=None, journal=live.journal)
            url = await server.start()
            try:
                async with chromium.open_page(url, size=chromium.DESKTOP) as page:
                    await page.wait_for("document.querySelectorAll('#room .room').length === 1")
                    first = await page.evaluate("document.querySelector('#room .room').textContent")
                    level = await page.evaluate("document.querySelector('#room .room .badge').className")
                    countdown = "document.querySelector('#room .room .countdown').textContent"
                    before = await page.evaluate(countdown)
                    await page.wait_for(f"{countdown} !== {json.dumps(before)}", timeout=5)
                    await page.screenshot(SHOT or tmp_path / "room.png", full_page=True)
                return first, level
            finally:
                await server.aclose()

    first, level = asyncio.run(main())
    for words in ("slave-1", "room ok", "Left today · 0% used", "500.00 EUR", "Reset in", "To the floor · at 9,000.00",
                  "1,000.00 EUR", "Trading days0 of 4"):
        assert words in first, (words, first)
    assert level.endswith(" ok")
