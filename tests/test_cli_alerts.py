"""``copier-gui alerts ...``: set up Telegram and e-mail alerts from a shell, secrets to the keyring only."""

from __future__ import annotations

import io
import json

import keyring
import pytest

from copier_gui.alerts.settings import EMAIL_PASSWORD_KEY, TELEGRAM_TOKEN_KEY
from copier_gui.cli import main
from copier_gui.secrets import SERVICE
from tests.unit.alerts.fakes import TOKEN, FakeTelegram


def run(home, *args: str, stdin: str | None = None, monkeypatch=None) -> int:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))  # not a terminal: the secret is read from it
    return main(["--home", str(home), "alerts", *args])


def test_telegram_keeps_the_token_in_the_keyring_and_never_in_the_settings_file(tmp_path, capsys, monkeypatch):
    assert run(tmp_path, "telegram", "--chat-id", "424242", stdin=TOKEN + "\n", monkeypatch=monkeypatch) == 0
    out = capsys.readouterr().out
    assert "Telegram: on, chat 424242, through https://api.telegram.org; bot token in the keyring" in out
    assert keyring.get_password(SERVICE, TELEGRAM_TOKEN_KEY) == TOKEN
    text = (tmp_path / "settings.json").read_text()
    assert TOKEN not in text and TOKEN.split(":")[1] not in text
    saved = json.loads(text)["alerts"]["telegram"]
    assert saved == {"enabled": True, "chat_id": "424242", "api_base_url": "https://api.telegram.org"}

    # Changing the chat keeps the stored token when nothing is typed; --off keeps it too.
    assert run(tmp_path, "telegram", "--chat-id", "@desk_alerts", stdin="\n", monkeypatch=monkeypatch) == 0
    assert keyring.get_password(SERVICE, TELEGRAM_TOKEN_KEY) == TOKEN
    assert run(tmp_path, "telegram", "--off") == 0
    assert json.loads((tmp_path / "settings.json").read_text())["alerts"]["telegram"]["enabled"] is False
    assert keyring.get_password(SERVICE, TELEGRAM_TOKEN_KEY) == TOKEN


def test_the_token_is_never_an_argument(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--home", str(tmp_path), "alerts", "telegram", "--chat-id", "1", "--token", TOKEN])
    assert exited.value.code == 2
    assert not (tmp_path / "settings.json").exists()


@pytest.mark.parametrize(("args", "stdin", "error"), [
    (["telegram", "--chat-id", "my chat"], TOKEN, "--chat-id: 'my chat' is not a Telegram chat id"),
    (["telegram"], TOKEN, "give the chat to send to with --chat-id"),
    (["telegram", "--chat-id", "1"], "not-a-token", "that is not a bot token"),
    (["telegram", "--chat-id", "1"], "", "no Telegram bot token given"),
    (["email", "--host", "smtp.example.com", "--from", "me@example.com"], "", "e-mail alerts need recipients"),
    (["email", "--host", "h", "--from", "me@example.com", "--to", "you@example.com", "--user", "u",
      "--security", "none"], "pw", "security 'none' would send the SMTP password unencrypted"),
    (["email", "--host", "h", "--from", "me@example.com", "--to", "nobody"], "", "--to: 'nobody' is not an e-mail"),
    (["limits", "--kinds", "disconnect,everything"], None, "--kinds: Input should be 'disconnect', 'refusal'"),
    (["limits", "--window", "0"], None, "--window: Input should be greater than 0"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, monkeypatch, args, stdin, error):
    assert run(tmp_path, *args, stdin=stdin, monkeypatch=monkeypatch) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"copier-gui: error: {error}"), err
    assert len(err.strip().splitlines()) == 1
    assert "not-a-token" not in err
    assert not (tmp_path / "settings.json").exists()
    assert keyring.get_password(SERVICE, TELEGRAM_TOKEN_KEY) is None


def test_email_keeps_the_password_in_the_keyring(tmp_path, capsys, monkeypatch):
    assert run(tmp_path, "email", "--host", "smtp.example.com", "--port", "587", "--security", "starttls",
               "--user", "alerts@example.com", "--from", "copier@example.com", "--to", "trader@example.com",
               "--to", "partner@example.com", stdin="s3cret-pass\n", monkeypatch=monkeypatch) == 0
    out = capsys.readouterr().out
    assert ("E-mail: on, smtp.example.com:587 (starttls, login alerts@example.com, password in the keyring), from "
            "copier@example.com to trader@example.com, partner@example.com") in out
    assert keyring.get_password(SERVICE, EMAIL_PASSWORD_KEY) == "s3cret-pass"
    text = (tmp_path / "settings.json").read_text()
    assert "s3cret-pass" not in text
    assert json.loads(text)["alerts"]["email"]["recipients"] == ["trader@example.com", "partner@example.com"]


def test_limits_and_show(tmp_path, capsys):
    assert run(tmp_path, "limits", "--kinds", "disconnect,risk", "--window", "600", "--per-hour", "12") == 0
    capsys.readouterr()
    assert run(tmp_path, "show") == 0
    assert capsys.readouterr().out.splitlines() == [
        "Telegram: off",
        "E-mail: off",
        "Alerts for: disconnect, risk; at most one per kind and account every 600 s (the rest in one digest), "
        "at most 12 an hour",
    ]


def test_test_sends_through_each_channel_and_says_what_happened(tmp_path, capsys, monkeypatch):
    assert run(tmp_path, "test") == 2
    assert "no alert channel is on" in capsys.readouterr().err
    with FakeTelegram() as server:
        assert run(tmp_path, "telegram", "--chat-id", "424242", "--api-url", server.url, stdin=TOKEN,
                   monkeypatch=monkeypatch) == 0
        capsys.readouterr()
        assert run(tmp_path, "test") == 0
        assert capsys.readouterr().out == "Telegram: sent\n"
        assert server.texts()[0].startswith("test alert\nThis is a test from copier-gui")

        keyring.set_password(SERVICE, TELEGRAM_TOKEN_KEY, "123456:a-wrong-token-a-wrong-token")
        assert run(tmp_path, "test") == 1
        out = capsys.readouterr().out
        assert out.startswith("Telegram: not sent: Telegram refused the bot token (401 Unauthorized)")
        assert "wrong-token" not in out
