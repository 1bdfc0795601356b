"""The bridge's secure channel, set up before RPyC speaks: TLS, then each side proves it knows the
shared secret. Only then does the server serve the MetaTrader5 API, and the client send a call.

Why this shape:

- Authentication comes from the shared secret alone. Each side sends an HMAC-SHA256, keyed by the
  secret, over both sides' random nonces and the SHA-256 fingerprint of the server certificate *as
  that side sees it*. The secret never crosses the wire, a recorded proof is worthless for another
  connection, and a machine in the middle that terminates TLS shows the client its own
  certificate, so the client's proof names a fingerprint the server does not have: refused.
- So the certificate needs no identity, no CA and no pinning: it is a fresh self-signed one made in
  memory at every server start. There is no long-lived TLS key to keep or steal, and pairing is one
  string. Whoever could read the key during its lifetime could already read the server's memory,
  and with it the secret.
- The server speaks first (a greeting naming the protocol), so a client that reached something
  else on the port can say so at once instead of failing later in RPyC.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import os
import socket
import ssl
import tempfile

__all__ = [
    "BridgeAuthError",
    "BridgeError",
    "HandshakeFailed",
    "NoTLS",
    "NotABridge",
    "ServerTLS",
    "client_handshake",
    "server_handshake",
]

VERSION = 1
GREETING_PREFIX = b"copier_gui-bridge/"
GREETING = GREETING_PREFIX + b"%04d\n" % VERSION
NONCE_SIZE = 32
MAC_SIZE = hashlib.sha256().digest_size
AUTH = b"AUTH"
ACCEPTED = b"OKAY"
DENIED = b"DENY"

PAIRING_HINT = ("run `python -m copier_gui.bridge.server --show-pairing` where the bridge runs and "
                "give the copier the secret it prints")


class BridgeError(ConnectionError):
    """The bridge could not be used, for the reason in the message (which names host:port).

    A ConnectionError, so the MT5 connector reports it like any lost bridge, with this message.
    """


class NotABridge(BridgeError):
    """Something answered on the bridge's port, but not a copier_gui bridge of this version."""


class NoTLS(NotABridge):
    """What answered does not speak TLS (``detail`` says how it failed): the client then asks what
    it is (see ``probe``)."""

    detail: str = ""


class BridgeAuthError(BridgeError):
    """The shared secret is missing, refused, or the server could not prove it knows it."""


class HandshakeFailed(Exception):
    """Server side: why a connection was turned away (never quotes a secret)."""


def _proof(secret: str, role: bytes, fingerprint: bytes, server_nonce: bytes, client_nonce: bytes) -> bytes:
    message = b"%s %s|" % (GREETING.strip(), role) + fingerprint + server_nonce + client_nonce
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError(f"the connection closed after {len(data)} of {size} bytes")
        data += chunk
    return bytes(data)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return f"{type(exc).__name__}: {exc}"


# ----------------------------------------------------------------------------- server side

def _ephemeral_certificate() -> tuple[bytes, bytes, bytes]:
    """A self-signed certificate and its key for this server start: (cert PEM, encrypted key PEM,
    the key's password)."""
    # Imported here: only a bridge server needs it, the copier's side does not.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "copier_gui bridge")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    password = os.urandom(32)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.BestAvailableEncryption(password))
    return cert.public_bytes(serialization.Encoding.PEM), key_pem, password


class ServerTLS:
    """The server's TLS context, with a certificate made for this start, and its fingerprint."""

    def __init__(self) -> None:
        cert_pem, key_pem, password = _ephemeral_certificate()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        # load_cert_chain reads only files. The key goes through one private temporary file for the
        # moment of loading, encrypted under a password that never leaves this process's memory.
        fd, path = tempfile.mkstemp(prefix="copier-bridge-", suffix=".pem")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(key_pem + cert_pem)
            context.load_cert_chain(path, password=password)
        finally:
            os.unlink(path)
        self.context = context
        self.fingerprint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert_pem.decode("ascii"))).digest()


def server_handshake(sock: socket.socket, tls: ServerTLS, secret: str, *, timeout: float) -> ssl.SSLSocket:
    """Wrap an accepted connection in TLS and check the client knows ``secret``.

    Returns the TLS socket, ready for RPyC; raises HandshakeFailed (the socket closed) otherwise.
    """
    sock.settimeout(timeout)  # a client that stalls must not hold a server thread
    try:
        conn = tls.context.wrap_socket(sock, server_side=True)
    except (OSError, ValueError) as exc:
        with contextlib.suppress(OSError):
            sock.close()
        raise HandshakeFailed(f"no TLS handshake ({_describe(exc)})") from None
    try:
        server_nonce = os.urandom(NONCE_SIZE)
        conn.sendall(GREETING + server_nonce)
        answer = _recv_exact(conn, len(AUTH) + NONCE_SIZE + MAC_SIZE)
        if not answer.startswith(AUTH):
            raise HandshakeFailed("it does not speak the bridge protocol")
        client_nonce, client_proof = answer[len(AUTH):-MAC_SIZE], answer[-MAC_SIZE:]
        expected = _proof(secret, b"client", tls.fingerprint, server_nonce, client_nonce)
        if not hmac.compare_digest(client_proof, expected):
            with contextlib.suppress(OSError):
                conn.sendall(DENIED + bytes(MAC_SIZE))
            raise HandshakeFailed("it does not know the shared secret (or its connection was "
                                  "intercepted on the way)")
        conn.sendall(ACCEPTED + _proof(secret, b"server", tls.fingerprint, server_nonce, client_nonce))
        conn.settimeout(None)
        return conn
    except HandshakeFailed:
        conn.close()
        raise
    except (OSError, EOFError, ValueError) as exc:
        conn.close()
        raise HandshakeFailed(f"the handshake did not finish ({_describe(exc)})") from None


# ----------------------------------------------------------------------------- client side

def _client_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # The certificate is made afresh at every server start and proves nothing by itself: the
    # server proves who it is with the shared secret, bound to this very certificate.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


_CLIENT_CONTEXT = _client_context()


def client_handshake(sock: socket.socket, secret: str, *, where: str, timeout: float) -> ssl.SSLSocket:
    """Set up TLS over a connected socket and prove the secret both ways; ``where`` is host:port.

    Returns the TLS socket, ready for RPyC. Raises NotABridge or BridgeAuthError (the socket
    closed), whose messages say what the trader can do.
    """
    not_a_bridge = f"something at {where} answered but it is not a copier_gui bridge"
    sock.settimeout(timeout)
    try:
        conn = _CLIENT_CONTEXT.wrap_socket(sock)
    except (OSError, ValueError) as exc:
        with contextlib.suppress(OSError):
            sock.close()
        failure = NoTLS(f"{not_a_bridge}: it does not speak TLS ({_describe(exc)}). Is it an older "
                        "copier_gui bridge without encryption, or another program on that port?")
        failure.detail = _describe(exc)
        raise failure from None
    try:
        fingerprint = hashlib.sha256(conn.getpeercert(binary_form=True) or b"").digest()
        try:
            greeting = _recv_exact(conn, len(GREETING) + NONCE_SIZE)
        except (OSError, EOFError) as exc:
            raise NotABridge(f"{not_a_bridge}: it sent no bridge greeting ({_describe(exc)})") from None
        if not greeting.startswith(GREETING_PREFIX):
            raise NotABridge(f"{not_a_bridge}: it greeted with {greeting[:len(GREETING)]!r}")
        if not greeting.startswith(GREETING):
            theirs = greeting[len(GREETING_PREFIX):len(GREETING) - 1].decode("ascii", "replace")
            raise NotABridge(f"the bridge at {where} speaks bridge protocol {theirs}, this copier speaks "
                             f"{VERSION}: run the same copier_gui version on both sides")
        server_nonce = greeting[len(GREETING):]
        client_nonce = os.urandom(NONCE_SIZE)
        conn.sendall(AUTH + client_nonce + _proof(secret, b"client", fingerprint, server_nonce, client_nonce))
        try:
            verdict = _recv_exact(conn, len(ACCEPTED) + MAC_SIZE)
        except (OSError, EOFError) as exc:
            raise BridgeError(f"the bridge at {where} closed the connection while checking the shared "
                              f"secret ({_describe(exc)})") from None
        if verdict.startswith(DENIED):
            raise BridgeAuthError(f"the bridge at {where} refused the shared secret: the copier's secret "
                                  f"for it is not the bridge's own; {PAIRING_HINT}")
        expected = _proof(secret, b"server", fingerprint, server_nonce, client_nonce)
        if not verdict.startswith(ACCEPTED) or not hmac.compare_digest(verdict[len(ACCEPTED):], expected):
            raise BridgeAuthError(f"the bridge at {where} could not prove it knows the shared secret: "
                                  "another program may be answering on that port, or the connection "
                                  "is intercepted on the way")
        return conn
    except BaseException:
        conn.close()
        raise
