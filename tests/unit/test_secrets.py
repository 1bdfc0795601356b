"""The keyring behind copier_gui.secrets: round trips, and a missing keyring explained, never bypassed."""

from __future__ import annotations

import logging

import keyring
import keyring.backends.fail
import keyring.core
import keyring.errors
import pytest
from keyring.backend import KeyringBackend

from copier_gui import secrets

PASSWORD = "s3cret-Passw0rd!"


@pytest.fixture
def no_keyring(monkeypatch):
    """The state of a Linux desktop with no Secret Service: keyring's fail backend."""
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    keyring.core.set_keyring(keyring.backends.fail.Keyring())


class _LockedKeyring(KeyringBackend):
    priority = 1

    def get_password(self, service, username):
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service, username, password):
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    def delete_password(self, service, username):
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")


class _LeakyKeyring(KeyringBackend):
    """A backend whose error quotes the value it was given, as no backend should."""

    priority = 1

    def get_password(self, service, username):
        return None

    def set_password(self, service, username, password):
        raise OSError(f"D-Bus said no to {password}")

    def delete_password(self, service, username):
        raise keyring.errors.PasswordDeleteError("nothing")


def test_store_get_delete_round_trip():
    key = secrets.password_key(login=51234567, server="HarborFX-Live2", account_id="slave-1")
    assert key == "HarborFX-Live2:51234567"
    assert secrets.get_password(key) is None
    secrets.store_password(key, PASSWORD)
    assert secrets.get_password(key) == PASSWORD
    assert keyring.get_password("copier-gui", key) == PASSWORD  # the service name others may look for
    secrets.store_password(key, "replaced")
    assert secrets.get_password(key) == "replaced"
    secrets.delete_password(key)
    assert secrets.get_password(key) is None


def test_deleting_a_missing_password_is_not_an_error():
    secrets.delete_password("Nowhere:1")


def test_the_key_falls_back_to_the_account_id():
    assert secrets.password_key(login=None, server="S", account_id="slave-1") == "slave-1"
    assert secrets.password_key(login=5, server=None, account_id="slave-1") == "slave-1"
    assert secrets.password_key(login=5, server="", account_id="slave-1") == "slave-1"


def test_an_empty_password_is_not_stored():
    with pytest.raises(ValueError):
        secrets.store_password("S:1", "")


def test_passwords_are_never_logged(caplog):
    caplog.set_level(logging.DEBUG)
    secrets.store_password("S:1", PASSWORD)
    secrets.get_password("S:1")
    secrets.delete_password("S:1")
    assert PASSWORD not in caplog.text
    assert "S:1" in caplog.text


@pytest.mark.parametrize("call", [
    lambda: secrets.store_password("S:1", PASSWORD),
    lambda: secrets.get_password("S:1"),
    lambda: secrets.delete_password("S:1"),
])
def test_no_keyring_raises_secrets_unavailable_with_advice(no_keyring, call, monkeypatch):
    monkeypatch.setattr(secrets.sys, "platform", "linux")
    with pytest.raises(secrets.SecretsUnavailable) as info:
        call()
    message = info.value.message
    assert "S:1" in message and "NoKeyringError" in message
    assert "GNOME Keyring" in message and "KWallet" in message
    assert "pip install keyrings.alt" in message
    assert PASSWORD not in message
    assert info.value.__cause__ is None  # the backend's exception is not chained along


def test_no_keyring_never_falls_back_to_a_file(no_keyring, tmp_path):
    with pytest.raises(secrets.SecretsUnavailable):
        secrets.store_password("S:1", PASSWORD)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_a_locked_keyring_says_to_unlock_it(monkeypatch):
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    keyring.core.set_keyring(_LockedKeyring())
    monkeypatch.setattr(secrets.sys, "platform", "linux")
    with pytest.raises(secrets.SecretsUnavailable, match="The keyring is locked: unlock it"):
        secrets.get_password("S:1")
    monkeypatch.setattr(secrets.sys, "platform", "darwin")
    with pytest.raises(secrets.SecretsUnavailable, match="Unlock the login keychain"):
        secrets.store_password("S:1", PASSWORD)


def test_windows_advice_names_the_credential_manager(no_keyring, monkeypatch):
    monkeypatch.setattr(secrets.sys, "platform", "win32")
    with pytest.raises(secrets.SecretsUnavailable, match="Credential Manager"):
        secrets.get_password("S:1")


def test_a_backend_error_quoting_the_password_is_scrubbed(monkeypatch):
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    keyring.core.set_keyring(_LeakyKeyring())
    with pytest.raises(secrets.SecretsUnavailable) as info:
        secrets.store_password("S:1", PASSWORD)
    assert PASSWORD not in str(info.value)
    assert "D-Bus said no to ***" in str(info.value)
    assert PASSWORD not in repr(info.value)


def test_the_plaintext_keyring_is_named_in_a_warning():
    warning = secrets.keyring_warning()
    assert warning is not None and "unencrypted" in warning


def test_no_warning_for_other_backends(no_keyring):
    assert secrets.keyring_warning() is None
