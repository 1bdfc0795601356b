"""Alerts and monitoring run beside the copier the builder makes, from the settings and --http."""

from __future__ import annotations

import asyncio
import io

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from copier_gui import secrets
from copier_gui.alerts.settings import TELEGRAM_TOKEN_KEY, AlertSettings, TelegramSettings
from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.headless import run_linked_headless
from copier_gui.paths import user_paths
from copier_gui.runtime import LinkedTerminals
from copier_gui.watchers import HttpOptions, watcher_factories
from tests.unit.alerts.fakes import TOKEN, FakeTelegram
from tests.unit.test_headless import _linked

pytestmark = pytest.mark.asyncio


async def test_a_master_that_cannot_log_in_reaches_the_trader_by_telegram(tmp_path):
    with FakeTelegram() as telegram:
        secrets.store_password(TELEGRAM_TOKEN_KEY, TOKEN)
        settings = _linked().updated(alerts=AlertSettings(
            telegram=TelegramSettings(enabled=True, chat_id="42", api_base_url=telegram.url)))
        asked: dict[str, int] = {}

        def lookup(key: str) -> str:
            if key == TELEGRAM_TOKEN_KEY:
                return TOKEN
            asked[key] = asked.get(key, 0) + 1
            return "wrong" if ":5001" in key and asked[key] > 1 else "right"

        terminals = LinkedTerminals(SYSTEM_CLOCK, poll_s=0.005, password_lookup=lookup)
        await asyncio.wait_for(run_linked_headless(settings, user_paths(tmp_path / "home"), duration=3.0,
                                                   out=io.StringIO(), terminals=terminals,
                                                   services=watcher_factories(settings)), timeout=30)
        texts = telegram.texts()
    assert any("master" in t and "login failed for account 5001" in t for t in texts), texts


async def test_http_serves_the_running_copiers_metrics_and_status(tmp_path, capsys):
    seen: dict = {}
    settings = _linked()

    def scrape(copier) -> None:
        async def fetch() -> None:
            await asyncio.sleep(0.5)
            async with httpx.AsyncClient() as client:
                seen["metrics"] = (await client.get("http://127.0.0.1:19577/metrics")).text
                seen["status"] = (await client.get("http://127.0.0.1:19577/api/status")).json()
        seen["task"] = asyncio.get_running_loop().create_task(fetch())

    out = io.StringIO()
    await asyncio.wait_for(run_linked_headless(settings, user_paths(tmp_path / "home"), duration=2.0, out=out,
                                               on_ready=scrape,
                                               services=watcher_factories(None, http=HttpOptions("127.0.0.1:19577"))),
                           timeout=30)
    await seen["task"]
    names = {family.name for family in text_string_to_metric_families(seen["metrics"])}
    assert "copier_connection_state" in names and all(name.startswith("copier_") for name in names)
    assert {a["id"] for a in seen["status"]["accounts"]} == {"master", "harbor", "summit"}
    assert "monitoring at http://127.0.0.1:19577/" in capsys.readouterr().out
    # Stopped with the copier: the port is free again.
    with pytest.raises(httpx.ConnectError):
        httpx.get("http://127.0.0.1:19577/metrics", timeout=2)
