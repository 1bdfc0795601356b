"""The e-mail sender against aiosmtpd: STARTTLS, then AUTH, then a proper message."""

from __future__ import annotations

import email
import email.policy
import logging

import pytest

from copier_gui.alerts.channel import Message, SendError
from copier_gui.alerts.mail import EmailSender
from copier_gui.alerts.settings import EMAIL_PASSWORD_KEY, EmailSettings
from tests.unit.alerts.fakes import FakeSMTP


def settings(port: int, **kw) -> EmailSettings:
    values = {"enabled": True, "host": "127.0.0.1", "port": port, "security": "starttls",
              "username": "alerts@example.com", "sender": "copier@example.com",
              "recipients": ["trader@example.com", "partner@example.com"]} | kw
    return EmailSettings(**values)


@pytest.mark.asyncio
async def test_an_alert_arrives_as_a_proper_email_after_starttls_and_login(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    with FakeSMTP(tmp_path) as smtp:
        sender = EmailSender(settings(smtp.port), lookup={EMAIL_PASSWORD_KEY: smtp.password}.get,
                             tls_context=smtp.client_tls)
        await sender.send(Message("s1: connection lost", "s1 disconnected: no connection\n2026-11-25 12:00:03 UTC"))
    assert smtp.logins == [("alerts@example.com", True)]
    [received] = smtp.messages
    assert received["tls"] is True
    assert received["from"] == "copier@example.com"
    assert received["to"] == ["trader@example.com", "partner@example.com"]
    parsed = email.message_from_string(received["data"], policy=email.policy.default)
    assert parsed["Subject"] == "[copier-gui] s1: connection lost"
    assert parsed["From"] == "copier@example.com"
    assert parsed["To"] == "trader@example.com, partner@example.com"
    assert parsed["Date"] and parsed["Message-ID"]
    assert parsed.get_content().replace("\r\n", "\n") == "s1 disconnected: no connection\n2026-11-25 12:00:03 UTC\n"
    assert not [r for r in caplog.records if smtp.password in r.getMessage()]


@pytest.mark.asyncio
async def test_a_refused_login_is_final_and_names_the_user(tmp_path):
    with FakeSMTP(tmp_path) as smtp:
        sender = EmailSender(settings(smtp.port), lookup={EMAIL_PASSWORD_KEY: "wrong"}.get,
                             tls_context=smtp.client_tls)
        with pytest.raises(SendError) as raised:
            await sender.send(Message("x", "y"))
    assert raised.value.permanent
    assert raised.value.message.startswith(f"the SMTP server 127.0.0.1:{smtp.port} refused the login for "
                                           "alerts@example.com (535")
    assert smtp.messages == []


@pytest.mark.asyncio
async def test_an_untrusted_certificate_is_final_and_sends_no_password(tmp_path):
    with FakeSMTP(tmp_path) as smtp:
        # The system's trusted certificates: the test's self-signed one is not among them.
        sender = EmailSender(settings(smtp.port), lookup={EMAIL_PASSWORD_KEY: smtp.password}.get)
        with pytest.raises(SendError) as raised:
            await sender.send(Message("x", "y"))
    assert raised.value.permanent
    assert "certificate" in raised.value.message.lower()
    assert smtp.logins == [] and smtp.messages == []


@pytest.mark.asyncio
async def test_a_missing_password_is_said_before_connecting():
    sender = EmailSender(settings(9), lookup=lambda key: None)
    with pytest.raises(SendError, match="no SMTP password for alerts@example.com in the system keyring"):
        await sender.send(Message("x", "y"))
