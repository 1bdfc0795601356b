"""Pairing: the shared secret made by the bridge server and printed for the trader, kept in the
keyring on both sides, and the server's command line around it."""

from __future__ import annotations

import logging

import keyring.backends.fail
import keyring.core
import pytest

from copier_gui import secrets
from copier_gui.bridge import pairing, server


def test_the_copier_keeps_a_bridges_secret_under_its_address():
    secret = pairing.new_secret()
    assert len(secret) == 43 and pairing.secret_problem(secret) == ""
    pairing.store_bridge_secret("LocalHost ", 18812, f"  {secret}\n")  # pasted with blanks around
    assert pairing.bridge_secret("localhost", 18812) == secret
    assert pairing.bridge_secret("localhost", 18813) is None
    key = pairing.bridge_secret_key("localhost", 18812)
    assert key == "bridge-secret:localhost:18812" and secrets.get_secret(key) == secret
    pairing.delete_bridge_secret("localhost", 18812)
    assert pairing.bridge_secret("localhost", 18812) is None


@pytest.mark.parametrize(("typed", "problem"), [
    ("", "Enter the bridge's shared secret"),
    ("   ", "Enter the bridge's shared secret"),
    ("abc def ghi jkl mno pqr stu", "one word, without spaces"),
    ("tooShort123", "That shared secret is 11 characters long; the bridge server prints 43"),
])
def test_a_secret_that_cannot_be_right_is_refused_with_the_reason(typed, problem):
    with pytest.raises(ValueError, match=problem):
        pairing.store_bridge_secret("127.0.0.1", 18812, typed)
    assert pairing.bridge_secret("127.0.0.1", 18812) is None


def test_a_missing_keyring_is_explained_for_the_bridge_secret(monkeypatch):
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    keyring.core.set_keyring(keyring.backends.fail.Keyring())
    secret = pairing.new_secret()
    with pytest.raises(secrets.SecretsUnavailable, match="could not store the bridge secret for "
                                                         "bridge-secret:127.0.0.1:18812") as failure:
        pairing.store_bridge_secret("127.0.0.1", 18812, secret)
    assert secret not in failure.value.message


def test_the_server_makes_its_secret_once_and_prints_it_for_pairing(capsys, caplog):
    caplog.set_level(logging.DEBUG)
    server.main(["--port", "18999", "--show-pairing"])
    first = capsys.readouterr().out
    assert "A new shared secret was made for this bridge" in first
    (secret,) = [line.strip() for line in first.splitlines() if len(line.strip()) == 43]
    assert secrets.get_secret(pairing.server_secret_key(18999)) == secret
    server.main(["--port", "18999", "--show-pairing"])
    again = capsys.readouterr().out
    assert "This bridge's shared secret" in again and secret in again
    server.main(["--port", "18999", "--show-pairing", "--new-secret"])
    renewed = capsys.readouterr().out
    assert "A new shared secret" in renewed and secret not in renewed
    assert secrets.get_secret(pairing.server_secret_key(18999)) != secret
    assert secret not in caplog.text  # printed for the trader, never logged


def test_the_server_command_line_explains_what_is_wrong(capsys):
    with pytest.raises(SystemExit) as stop:
        server.main(["--host", "0.0.0.0"])
    assert stop.value.code == 2
    assert "0.0.0.0 is not a loopback address: pass --allow-remote" in capsys.readouterr().err
    # A Python without the MetaTrader5 package (this one): one line, no traceback.
    with pytest.raises(SystemExit) as stop:
        server.main(["--port", "18998"])
    captured = capsys.readouterr()
    assert stop.value.code == 2 and "Traceback" not in captured.err
    assert "this Python has no MetaTrader5 package" in captured.err
    assert "A new shared secret" in captured.out  # made and shown at the first run all the same


def test_the_server_explains_a_missing_keyring(monkeypatch, capsys):
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    keyring.core.set_keyring(keyring.backends.fail.Keyring())
    with pytest.raises(SystemExit) as stop:
        server.main(["--show-pairing"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "could not read the bridge secret" in err and "Traceback" not in err
