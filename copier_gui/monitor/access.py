"""Who may read the monitoring endpoint.

Loopback needs nothing: only this machine reaches it. Any other address needs TLS and an access
token; the token lives in the system keyring, is made on first use and compared in constant time.
It travels as ``Authorization: Bearer <token>`` or, for the page opened from a link, ``?token=``.
"""

from __future__ import annotations

import hmac
import secrets as _random
import ssl
from pathlib import Path

from copier_gui import secrets

TOKEN_KEY = "monitor:http-access-token"


def ensure_token() -> tuple[str, bool]:
    """The access token, and whether it was made just now (so the caller shows it once)."""
    token = secrets.get_secret(TOKEN_KEY, what="access token")
    if token:
        return token, False
    return renew_token(), True


def renew_token() -> str:
    """A new access token, replacing the old one: links and scrapers holding it stop working."""
    token = _random.token_urlsafe(32)
    secrets.store_secret(TOKEN_KEY, token, what="access token")
    return token


def token_matches(expected: str, authorization: str | None, query_token: str | None) -> bool:
    """True if the request carries ``expected`` in its Authorization header or query."""
    given = None
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer":
            given = value.strip()
    if given is None:
        given = query_token
    if not given:
        return False
    # compare_digest on bytes: it refuses non-ASCII str, and a header may carry anything.
    return hmac.compare_digest(given.encode(), expected.encode())


def tls_context(certfile: str | Path, keyfile: str | Path) -> ssl.SSLContext:
    """A server TLS context from PEM files; ValueError naming the file when one is unusable."""
    for label, path in (("certificate", certfile), ("key", keyfile)):
        if not Path(path).is_file():
            raise ValueError(f"the TLS {label} file {path} does not exist")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certfile, keyfile)
    except ssl.SSLError as exc:
        reason = (exc.reason or str(exc)).replace("_", " ").lower()
        raise ValueError(f"cannot use the TLS certificate {certfile} with the key {keyfile}: {reason} "
                         "(they must be PEM files, the key the certificate's own)") from None
    except OSError as exc:
        raise ValueError(f"cannot read the TLS certificate {certfile} or the key {keyfile}: "
                         f"{exc.strerror or exc}") from None
    return context
