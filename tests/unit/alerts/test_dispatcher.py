"""The Alerter: notices in, throttled messages out through real servers, failures said once."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import os
from pathlib import Path

import pytest

from copier_gui.alerts import build_alerter
from copier_gui.alerts.channel import Message
from copier_gui.alerts.dispatcher import Alerter
from copier_gui.alerts.settings import EMAIL_PASSWORD_KEY, TELEGRAM_TOKEN_KEY, AlertSettings
from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector
from copier_gui.core.copier import Copier, SlaveLink
from copier_gui.core.copybook import CopyBook
from copier_gui.core.executor import Notice
from copier_gui.core.journal import Journal
from copier_gui.sim import Market, new_terminal
from tests.unit.alerts.fakes import TOKEN, FakeSMTP, FakeTelegram

# Set to a folder to keep what the trader receives (docs/alerts.md shows it).
SAMPLES = os.environ.get("COPIER_GUI_ALERT_SAMPLES")


def alert_settings(url: str, *, window_s: float = 300.0, **extra) -> AlertSettings:
    return AlertSettings.model_validate({
        "telegram": {"enabled": True, "chat_id": "424242", "api_base_url": url},
        "throttle": {"window_s": window_s, "max_per_hour": 100}, **extra})


async def until(condition, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


def keep_sample(name: str, text: str) -> None:
    if SAMPLES:
        Path(SAMPLES).mkdir(parents=True, exist_ok=True)
        Path(SAMPLES, name).write_text(text, encoding="utf-8")


@pytest.mark.asyncio
async def test_ten_refusals_in_a_burst_reach_the_chat_as_one_message_and_one_digest():
    with FakeTelegram() as server:
        alerter = build_alerter(alert_settings(server.url, window_s=0.5), password_lookup={TELEGRAM_TOKEN_KEY: TOKEN}.get)
        alerter._tick_s = 0.05
        await alerter.start()
        for n in range(10):
            alerter.notice(Notice("refusal", "s1", f"skipped: volume 0.00{n} is below the minimum 0.01 (master #{n})", n))
        await until(lambda: len(server.received) >= 2)
        await asyncio.sleep(0.7)  # nothing more comes
        await alerter.aclose()
    first, digest = server.texts()
    assert first.startswith("s1: trade not copied\nskipped: volume 0.000 is below the minimum 0.01 (master #0)")
    assert digest.startswith("s1: 9 more refusals\nand 9 more refusals for s1 in the last 0.5 seconds")
    assert "(master #9)" in digest
    assert len(server.received) == 2


@pytest.mark.asyncio
async def test_a_wrong_token_is_logged_and_journaled_once_and_never_logged_itself(caplog):
    caplog.set_level(logging.DEBUG)
    journal = Journal(None, SYSTEM_CLOCK)
    token = {TELEGRAM_TOKEN_KEY: "123456:wrong-token-wrong-token-wrong"}
    with FakeTelegram() as server:
        alerter = build_alerter(alert_settings(server.url), journal=journal, password_lookup=token.get)
        await alerter.start()
        copier_side = [Notice("failure", f"s{n}", f"failed: open EURUSD: No money (master #{n})", n) for n in range(3)]
        for notice in copier_side:
            alerter.notice(notice)  # three accounts: three messages, none throttled
        await until(lambda: server.requests >= 3)
        token[TELEGRAM_TOKEN_KEY] = TOKEN  # the trader stores the right one; the next message goes
        alerter.notice(Notice("failure", "s4", "failed: close: Market closed"))
        await until(lambda: len(server.received) == 1)
        await alerter.aclose()
    journal.flush()
    errors = [e.message for e in journal.entries(kind="error", newest_first=False)]
    journal.close()
    assert errors == ["alerts by Telegram failed: Telegram refused the bot token (401 Unauthorized): store the "
                      "bot token with `copier-gui alerts telegram --chat-id ID`"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == errors
    assert any(r.getMessage() == "alerts by Telegram work again" for r in caplog.records)
    leaked = [r.getMessage() for r in caplog.records if "wrong-token" in r.getMessage() or TOKEN in r.getMessage()]
    assert leaked == []


@pytest.mark.asyncio
async def test_closing_sends_the_digests_held_and_what_is_queued():
    with FakeTelegram() as server:
        alerter = build_alerter(alert_settings(server.url), password_lookup={TELEGRAM_TOKEN_KEY: TOKEN}.get)
        await alerter.start()
        for n in range(3):
            alerter.notice(Notice("refusal", "s2", f"skipped #{n}", n))
        await alerter.aclose()
    assert [t.splitlines()[0] for t in server.texts()] == ["s2: trade not copied", "s2: 2 more refusals"]


class Stuck:
    name = "stuck"

    async def send(self, message: Message) -> None:
        await asyncio.sleep(3600)

    async def aclose(self) -> None:
        pass


@pytest.mark.asyncio
async def test_the_listener_returns_at_once_and_closing_is_bounded(caplog):
    journal = Journal(None, SYSTEM_CLOCK)
    alerter = Alerter(AlertSettings(), [Stuck()], journal=journal)
    await alerter.start()
    loop = asyncio.get_running_loop()
    started = loop.time()
    for n in range(500):
        alerter.notice(Notice("failure", f"s{n}", "failed"))
    assert loop.time() - started < 0.5
    started = loop.time()
    await alerter.aclose(timeout_s=0.2)
    assert loop.time() - started < 1.0
    journal.flush()
    [entry] = journal.entries(kind="error")
    journal.close()
    assert entry.message.startswith("alerts by stuck: ") and entry.message.endswith("not sent before shutdown")


@pytest.mark.asyncio
async def test_a_risk_halt_reaches_telegram_and_email(tmp_path):
    with FakeTelegram() as server, FakeSMTP(tmp_path) as smtp:
        settings = alert_settings(server.url, email={
            "enabled": True, "host": "127.0.0.1", "port": smtp.port, "security": "starttls",
            "username": "alerts@example.com", "sender": "copier@example.com", "recipients": ["trader@example.com"]})
        keyring = {TELEGRAM_TOKEN_KEY: TOKEN, EMAIL_PASSWORD_KEY: smtp.password}
        alerter = build_alerter(settings, password_lookup=keyring.get, tls_context=smtp.client_tls)
        await alerter.start()
        alerter.notice(Notice("refusal", "ftmo-1", "daily loss 5,012.40 USD >= limit 5,000.00 USD"))
        alerter.notice(Notice("state", "ftmo-1", "ftmo-1 trading state active -> halted", state="halted"))
        await until(lambda: len(server.received) >= 2 and len(smtp.messages) >= 2)
        await alerter.aclose()
    halt = server.texts()[1]
    assert halt.startswith("ftmo-1: risk halt: positions flattened, new entries stopped until the risk state is reset\n"
                           "ftmo-1 trading state active -> halted (daily loss 5,012.40 USD >= limit 5,000.00 USD)")
    mail = email.message_from_string(smtp.messages[1]["data"], policy=email.policy.default)
    assert mail["Subject"] == ("[copier-gui] ftmo-1: risk halt: positions flattened, new entries stopped until the "
                               "risk state is reset")
    assert "(daily loss 5,012.40 USD >= limit 5,000.00 USD)" in mail.get_content()
    keep_sample("telegram-risk-halt.txt", halt)
    keep_sample("email-risk-halt.eml", smtp.messages[1]["data"])


@pytest.mark.asyncio
async def test_a_slave_that_loses_its_connection_is_a_telegram_message_and_so_is_its_return():
    """End to end: a copier over simulated brokers, a slave's terminal cut off, the chat told."""
    market = Market(5, SYSTEM_CLOCK)
    master_terminal = new_terminal("meridian_ecn", seed=5, clock=SYSTEM_CLOCK, market=market, login=1)
    assert master_terminal.initialize()
    slave_terminal = new_terminal("harbor_fx", seed=5, clock=SYSTEM_CLOCK, market=market, login=11)
    journal = Journal(None, SYSTEM_CLOCK)
    link = SlaveLink("harbor-1", MT5Connector("harbor-1", slave_terminal, invoker=InlineInvoker(), clock=SYSTEM_CLOCK))
    master = MT5Connector("master", master_terminal, invoker=InlineInvoker(), clock=SYSTEM_CLOCK)
    copier = Copier(master, [link], journal=journal, clock=SYSTEM_CLOCK, copybook=CopyBook(None),
                    poll_interval_s=0.01, reconcile_interval_s=0.1, backoff_s=(0.1,))
    with FakeTelegram() as server:
        alerter = build_alerter(alert_settings(server.url), journal=journal,
                                password_lookup={TELEGRAM_TOKEN_KEY: TOKEN}.get)
        alerter.attach(copier)
        await alerter.start()
        await copier.start()
        slave_terminal.sim.lose_connection()
        await until(lambda: len(server.received) >= 1)
        slave_terminal.sim.restore_connection()
        await until(lambda: len(server.received) >= 2)
        await copier.stop()
        await alerter.aclose()
    journal.close()
    lost, back = server.texts()[:2]
    assert lost.startswith("harbor-1: connection lost\nharbor-1 disconnected: ")
    assert back.startswith("harbor-1: connected again\nharbor-1 connected")
    keep_sample("telegram-disconnect.txt", lost)
    keep_sample("telegram-reconnect.txt", back)
