"""The Telegram sender against a local server that answers like the Bot API."""

from __future__ import annotations

import logging

import pytest

from copier_gui.alerts.channel import Message, SendError
from copier_gui.alerts.settings import TELEGRAM_TOKEN_KEY, TelegramSettings
from copier_gui.alerts.telegram import TelegramSender
from tests.unit.alerts.fakes import TOKEN, FakeTelegram


def sender(url: str, token: str | None = TOKEN, **kw) -> TelegramSender:
    settings = TelegramSettings(enabled=True, chat_id="424242", api_base_url=url)
    return TelegramSender(settings, lookup={TELEGRAM_TOKEN_KEY: token}.get, backoff_s=(0.01,), **kw)


@pytest.mark.asyncio
async def test_a_message_reaches_the_chat_and_the_token_reaches_no_log(caplog):
    caplog.set_level(logging.DEBUG)  # httpx logs each request's URL at INFO, httpcore more at DEBUG
    with FakeTelegram() as server:
        s = sender(server.url)
        await s.send(Message("s1: connection lost", "s1 disconnected: no connection"))
        await s.aclose()
    assert server.received == [{"chat_id": "424242", "text": "s1: connection lost\ns1 disconnected: no connection",
                                "disable_web_page_preview": True}]
    httpx_records = [r for r in caplog.records if r.name.startswith("httpx")]
    assert any("/bot***/sendMessage" in r.getMessage() for r in httpx_records), "httpx logged the request"
    assert not [r.getMessage() for r in caplog.records if TOKEN in r.getMessage() or TOKEN in str(r.args)]


@pytest.mark.asyncio
async def test_a_wrong_token_is_a_final_error_that_says_what_to_do(caplog):
    caplog.set_level(logging.DEBUG)
    with FakeTelegram() as server:
        s = sender(server.url, token="111:wrong-token")
        with pytest.raises(SendError) as raised:
            await s.send(Message("x", "y"))
        await s.aclose()
        assert server.requests == 1  # not retried: it cannot get better by itself
    assert raised.value.permanent
    assert raised.value.message.startswith("Telegram refused the bot token (401 Unauthorized)")
    assert "copier-gui alerts telegram" in raised.value.message
    assert not [r for r in caplog.records if "wrong-token" in r.getMessage()]


@pytest.mark.asyncio
async def test_no_token_in_the_keyring_is_said_without_a_request():
    with FakeTelegram() as server:
        s = sender(server.url, token=None)
        with pytest.raises(SendError, match="no Telegram bot token in the system keyring"):
            await s.send(Message("x", "y"))
        await s.aclose()
        assert server.requests == 0


@pytest.mark.asyncio
async def test_too_many_requests_waits_as_told_and_server_errors_are_retried():
    with FakeTelegram() as server:
        server.script.extend([
            (429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                   "parameters": {"retry_after": 0.2}}),
            (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}),
        ])
        s = sender(server.url)
        await s.send(Message("s1: failure", "failed"))
        await s.aclose()
        assert server.requests == 3
        assert server.texts() == ["s1: failure\nfailed"]


@pytest.mark.asyncio
async def test_a_long_retry_after_gives_up_at_once():
    with FakeTelegram() as server:
        server.script.append((429, {"ok": False, "error_code": 429, "description": "Too Many Requests",
                                    "parameters": {"retry_after": 3600}}))
        s = sender(server.url, max_retry_after_s=5)
        with pytest.raises(SendError, match=r"fewer messages \(429, retry after 3600 s\)"):
            await s.send(Message("x", "y"))
        await s.aclose()


@pytest.mark.asyncio
async def test_an_unreachable_server_is_retried_then_reported():
    s = sender("http://127.0.0.1:9", attempts=2)  # the discard port: nothing listens
    with pytest.raises(SendError) as raised:
        await s.send(Message("x", "y"))
    await s.aclose()
    assert not raised.value.permanent
    assert raised.value.message.startswith("cannot reach 127.0.0.1")
    assert raised.value.message.endswith("(after 2 attempts)")


@pytest.mark.asyncio
async def test_a_message_longer_than_telegram_takes_is_shortened_not_refused():
    with FakeTelegram() as server:
        s = sender(server.url)
        await s.send(Message("s1: failure", "x" * 5000))
        await s.aclose()
    [text] = server.texts()
    assert len(text) == 4096 and text.endswith("…")
