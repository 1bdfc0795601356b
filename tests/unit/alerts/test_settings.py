"""Alert settings: defaults off, old files load, and the choices that would leak a secret are refused."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from copier_gui.alerts.settings import AlertSettings, EmailSettings, TelegramSettings
from copier_gui.settings import Settings, SettingsError, load_settings, save_settings


def test_a_settings_file_from_before_alerts_loads_with_alerts_off(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"schema_version": 1, "accounts": [], "copying": True}))
    settings = load_settings(path)
    assert settings.alerts == AlertSettings()
    assert not settings.alerts.enabled
    save_settings(settings, path)
    assert json.loads(path.read_text())["alerts"]["telegram"]["enabled"] is False
    assert load_settings(path) == settings


def test_a_token_written_into_the_file_is_pointed_at_the_keyring(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"alerts": {"telegram": {"enabled": True, "chat_id": "1", "bot_token": "1:x"}}}))
    with pytest.raises(SettingsError) as raised:
        load_settings(path)
    assert "alerts.telegram.bot_token: 'bot_token' is not a setting: passwords are kept only in the system keyring" \
        in raised.value.message


@pytest.mark.parametrize(("values", "error"), [
    ({"enabled": True}, "Telegram alerts need the chat id"),
    ({"chat_id": "my chat"}, "is not a Telegram chat id"),
    ({"api_base_url": "http://bots.example.com"}, "would send the bot token unencrypted: use https"),
    ({"api_base_url": "ftp://x"}, "is not an http(s) address"),
])
def test_telegram_settings_that_cannot_work_are_refused(values, error):
    with pytest.raises(ValidationError, match=error.replace("(", r"\(").replace(")", r"\)")):
        TelegramSettings(**values)


def test_telegram_accepts_ids_channels_and_a_local_server():
    assert TelegramSettings(enabled=True, chat_id="-1001234567890").chat_id == "-1001234567890"
    assert TelegramSettings(chat_id="@desk_alerts").chat_id == "@desk_alerts"
    assert TelegramSettings(api_base_url="http://127.0.0.1:8081/").api_base_url == "http://127.0.0.1:8081"


@pytest.mark.parametrize(("values", "error"), [
    ({"username": "u", "security": "none"}, "would send the SMTP password unencrypted"),
    ({"enabled": True, "host": "smtp.example.com"}, "e-mail alerts need sender, recipients"),
    ({"sender": "not an address"}, "is not an e-mail address"),
    ({"recipients": ["a@example.com", "b@"]}, "'b@' is not an e-mail address"),
    ({"port": 0}, "greater than or equal to 1"),
])
def test_email_settings_that_cannot_work_are_refused(values, error):
    with pytest.raises(ValidationError, match=error):
        EmailSettings(**values)


def test_settings_carry_alerts_and_stay_frozen():
    settings = Settings().updated(alerts={"kinds": ["disconnect", "risk", "risk"]})
    assert settings.alerts.kinds == ["disconnect", "risk"]
    with pytest.raises(ValidationError):
        settings.alerts.throttle.window_s = 1  # type: ignore[misc]
