"""Account passwords and other secrets (a bridge's shared secret), kept only in the operating
system's keyring and read when they are needed.

The rest of the application sees a few calls and one exception: a keyring that is missing, locked
or failing is explained to the user, never worked around by writing the secret to disk.
"""

from __future__ import annotations

import logging
import sys

import keyring
import keyring.errors

__all__ = [
    "SERVICE",
    "SecretsUnavailable",
    "delete_password",
    "delete_secret",
    "get_password",
    "get_secret",
    "keyring_warning",
    "password_key",
    "store_password",
    "store_secret",
]

SERVICE = "copier-gui"

log = logging.getLogger(__name__)


class SecretsUnavailable(Exception):
    """The system keyring cannot be used; the message says what to install or unlock."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def password_key(*, login: int | None, server: str | None, account_id: str) -> str:
    """The keyring user name for an account: ``server:login``, or the account id without them.

    ``server:login`` names the broker account itself, so relinking the same account under another
    id finds its password again.
    """
    if login is not None and server:
        return f"{server}:{login}"
    return account_id


def store_password(key: str, password: str) -> None:
    """Keep ``password`` under ``key``, replacing any earlier one."""
    store_secret(key, password, what="password")


def get_password(key: str) -> str | None:
    """The password kept under ``key``, or None if there is none."""
    return get_secret(key, what="password")


def delete_password(key: str) -> None:
    """Remove the password kept under ``key``; a key with no password is not an error."""
    delete_secret(key, what="password")


def store_secret(key: str, value: str, *, what: str = "secret") -> None:
    """Keep ``value`` under ``key``, replacing any earlier one; ``what`` names it in messages."""
    if not value:
        raise ValueError(f"an empty {what} is not stored; delete the entry instead")
    try:
        keyring.set_password(SERVICE, key, value)
    except Exception as exc:  # backends raise their own types too (D-Bus, OS errors), not only KeyringError
        raise _unavailable("store", key, exc, value, what=what) from None
    log.info("%s for %s stored in the system keyring", what, key)


def get_secret(key: str, *, what: str = "secret") -> str | None:
    """The secret kept under ``key``, or None if there is none."""
    try:
        return keyring.get_password(SERVICE, key)
    except Exception as exc:
        raise _unavailable("read", key, exc, what=what) from None


def delete_secret(key: str, *, what: str = "secret") -> None:
    """Remove the secret kept under ``key``; a key with no secret is not an error."""
    try:
        if keyring.get_password(SERVICE, key) is None:
            return
        keyring.delete_password(SERVICE, key)
    except keyring.errors.PasswordDeleteError:
        return  # gone between the two calls: what was asked for is done
    except Exception as exc:
        raise _unavailable("delete", key, exc, what=what) from None
    log.info("%s for %s deleted from the system keyring", what, key)


def keyring_warning() -> str | None:
    """A warning to show when the keyring in use keeps passwords unencrypted, else None.

    Only a backend the user chose explicitly can be one (keyring never picks keyrings.alt's
    plaintext file by itself), but they should still see where their passwords go.
    """
    try:
        backend = keyring.get_keyring()
    except Exception:
        return None
    for candidate in getattr(backend, "backends", None) or [backend]:
        if type(candidate).__name__ == "PlaintextKeyring":
            where = getattr(candidate, "file_path", "a file")
            return (f"Passwords are kept unencrypted in {where} (the plaintext file keyring "
                    "chosen in this system's keyring settings). Anyone who can read that file can "
                    "read them.")
    return None


def _unavailable(action: str, key: str, exc: Exception, secret: str | None = None, *,
                 what: str = "password") -> SecretsUnavailable:
    detail = f"{type(exc).__name__}: {exc}"
    if secret:
        # Defensive: no known backend quotes the value, but a message must never carry it.
        detail = detail.replace(secret, "***")
    locked = isinstance(exc, keyring.errors.KeyringLocked) or "locked" in str(exc).lower()
    head = f"could not {action} the {what} for {key} in the system keyring ({detail})"
    return SecretsUnavailable(f"{head}. {_advice(locked)}")


def _advice(locked: bool) -> str:
    if sys.platform == "win32":
        return ("Windows keeps passwords in the Credential Manager: check that it is running "
                "and that your user profile is loaded, then try again.")
    if sys.platform == "darwin":
        if locked:
            return "Unlock the login keychain in Keychain Access, then try again."
        return "Check that the login keychain exists and is unlocked in Keychain Access."
    if locked:
        return ("The keyring is locked: unlock it (for example in GNOME's Passwords and Keys, or "
                "KWalletManager), then try again.")
    return ("copier_gui keeps passwords only in a system keyring and found none it can use. "
            "Install and start a Secret Service provider such as GNOME Keyring or KWallet. "
            "Or, if you accept an unencrypted password file, run `pip install keyrings.alt` and "
            "choose it explicitly with PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring.")
