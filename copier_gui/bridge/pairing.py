"""Pairing the copier with a bridge server: one shared secret, kept in the keyring on both sides.

The server makes the secret at its first run and prints it to the trader's console; the trader
gives it to the copier (the wizard's bridge page, or ``copier-gui accounts link``), which keeps it
under :func:`bridge_secret_key`. Nothing else needs pairing: the server's TLS certificate is made
afresh at every start and proves nothing by itself (see :mod:`copier_gui.bridge.handshake`).
"""

from __future__ import annotations

import secrets as _random

from copier_gui import secrets

__all__ = [
    "bridge_secret",
    "bridge_secret_key",
    "delete_bridge_secret",
    "new_secret",
    "secret_problem",
    "server_secret",
    "server_secret_key",
    "store_bridge_secret",
]

# 32 random bytes, 43 URL-safe characters: nothing to guess, and easy to copy as one word.
SECRET_BYTES = 32
# A secret shorter than this was cut when copied (the server never makes one).
MIN_LENGTH = 20
WHAT = "bridge secret"


def new_secret() -> str:
    return _random.token_urlsafe(SECRET_BYTES)


def bridge_secret_key(host: str, port: int) -> str:
    """The keyring name under which the copier keeps the secret of the bridge at ``host:port``."""
    return f"bridge-secret:{host.strip().lower()}:{int(port)}"


def server_secret_key(name: int | str) -> str:
    """The keyring name under which a bridge server keeps its own secret; ``name`` is its port."""
    return f"bridge-server-secret:{name}"


def secret_problem(secret: str) -> str:
    """What is wrong with a secret the trader typed or pasted, or "" if nothing is."""
    text = secret.strip()
    if not text:
        return ("Enter the bridge's shared secret: the bridge server prints it at its first start, "
                "and again with --show-pairing.")
    if any(c.isspace() for c in text):
        return "The bridge's shared secret is one word, without spaces: copy it again as the server prints it."
    if len(text) < MIN_LENGTH:
        return (f"That shared secret is {len(text)} characters long; the bridge server prints "
                f"{len(new_secret())}. Copy all of it.")
    return ""


def store_bridge_secret(host: str, port: int, secret: str) -> None:
    """Keep the secret of the bridge at ``host:port`` for this copier, replacing any earlier one.

    Raises ValueError (with the message for the trader) for a secret that cannot be right, and
    SecretsUnavailable when the keyring cannot be used.
    """
    problem = secret_problem(secret)
    if problem:
        raise ValueError(problem)
    secrets.store_secret(bridge_secret_key(host, port), secret.strip(), what=WHAT)


def bridge_secret(host: str, port: int) -> str | None:
    """The secret this copier keeps for the bridge at ``host:port``, or None if it was never paired."""
    return secrets.get_secret(bridge_secret_key(host, port), what=WHAT)


def delete_bridge_secret(host: str, port: int) -> None:
    secrets.delete_secret(bridge_secret_key(host, port), what=WHAT)


def server_secret(key: str, *, renew: bool = False) -> tuple[str, bool]:
    """A bridge server's own secret, kept under ``key``: made (or replaced, with ``renew``) if
    needed. Returns the secret and whether it is new, so the server can tell the trader."""
    secret = None if renew else secrets.get_secret(key, what=WHAT)
    if secret:
        return secret, False
    secret = new_secret()
    secrets.store_secret(key, secret, what=WHAT)
    return secret, True
