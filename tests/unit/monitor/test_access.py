"""The access token (kept in the keyring, made once), its check, and the TLS files' messages."""

from __future__ import annotations

import keyring
import pytest
import trustme

from copier_gui import secrets
from copier_gui.monitor.access import (
    TOKEN_KEY,
    ensure_token,
    renew_token,
    tls_context,
    token_matches,
)


def test_token_is_made_once_and_kept_in_the_keyring():
    token, made = ensure_token()
    assert made and len(token) >= 40
    assert keyring.get_password(secrets.SERVICE, TOKEN_KEY) == token
    assert ensure_token() == (token, False)
    renewed = renew_token()
    assert renewed != token
    assert ensure_token() == (renewed, False)


@pytest.mark.parametrize(("authorization", "query", "ok"), [
    ("Bearer abc123", None, True),
    ("bearer abc123", None, True),
    ("Bearer  abc123 ", None, True),
    (None, "abc123", True),
    ("Bearer wrong", "abc123", False),  # a header that is there decides
    ("Basic abc123", None, False),
    ("Bearer abc12", None, False),
    ("Bearer abc1234", None, False),
    ("Bearer", None, False),
    (None, "", False),
    (None, None, False),
    ("Bearer ✓", None, False),  # not ASCII: refused, not an exception
])
def test_token_matches(authorization, query, ok):
    assert token_matches("abc123", authorization, query) is ok


def test_tls_files_are_checked_with_one_clear_message(tmp_path):
    ca = trustme.CA()
    cert = ca.issue_cert("copier.example")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    assert tls_context(cert_file, key_file) is not None

    with pytest.raises(ValueError, match=r"^the TLS key file .*missing.pem does not exist$"):
        tls_context(cert_file, tmp_path / "missing.pem")
    other = ca.issue_cert("other.example")
    other_key = tmp_path / "other-key.pem"
    other.private_key_pem.write_to_path(str(other_key))
    with pytest.raises(ValueError, match=r"^cannot use the TLS certificate .*cert.pem with the key .*other-key.pem"):
        tls_context(cert_file, other_key)
    with pytest.raises(ValueError, match="cannot use the TLS certificate"):
        tls_context(key_file, cert_file)
