"""Real local servers for alert tests: a Bot API that answers like Telegram's, and an SMTP server
(aiosmtpd) with STARTTLS and AUTH on a self-signed certificate made for the test."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

TOKEN = "987654321:AAH-fake-secret-token_xyz"


class FakeTelegram:
    """``POST /bot<token>/sendMessage`` as the Bot API answers it; ``script`` queues odd answers."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.received: list[dict] = []
        self.requests = 0
        self.script: deque[tuple[int, dict]] = deque()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                fake.requests += 1
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                prefix, _, method = self.path.rpartition("/")
                if method != "sendMessage" or not prefix.startswith("/bot"):
                    return self._answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                if prefix[len("/bot"):] != fake.token:
                    return self._answer(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                if fake.script:
                    return self._answer(*fake.script.popleft())
                payload = json.loads(body)
                fake.received.append(payload)
                self._answer(200, {"ok": True, "result": {
                    "message_id": len(fake.received), "date": 1_700_000_000, "text": payload["text"],
                    "chat": {"id": payload["chat_id"], "type": "private"}}})

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format, *args) -> None:  # noqa: A002 (http.server's signature)
                pass  # the request line holds the token; the test's own logs stay clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-telegram", daemon=True)

    def __enter__(self) -> FakeTelegram:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def texts(self) -> list[str]:
        return [m["text"] for m in self.received]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def self_signed(folder: Path) -> tuple[Path, Path, bytes]:
    """A certificate for 127.0.0.1 and localhost: (cert file, key file, cert PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(pem)
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file, pem


class FakeSMTP:
    """aiosmtpd on 127.0.0.1 with STARTTLS required and AUTH only over TLS; keeps what it receives."""

    def __init__(self, folder: Path, *, user: str = "alerts@example.com", password: str = "smtp-pass-123") -> None:
        cert, key, pem = self_signed(folder)
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(cert, key)
        self.client_tls = ssl.create_default_context(cadata=pem.decode())
        self.user, self.password = user, password
        self.messages: list[dict] = []
        self.logins: list[tuple[str, bool]] = []  # (user, accepted)
        fake = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
                fake.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                                      "data": envelope.content.decode("utf-8", "replace"),
                                      "tls": session.ssl is not None})
                return "250 OK"

        def authenticate(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == fake.user
                  and auth_data.password.decode() == fake.password)
            fake.logins.append((auth_data.login.decode() if isinstance(auth_data, LoginPassword) else "?", ok))
            return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

        self.port = _free_port()  # aiosmtpd's readiness check connects to the port it was given
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, tls_context=server_tls,
                                      require_starttls=True, auth_require_tls=True, authenticator=authenticate)

    def __enter__(self) -> FakeSMTP:
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()
