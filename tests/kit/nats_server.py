"""A real nats-server for the tests of the NATS transport: JetStream on with a store of its own, on a
free loopback port, with TLS (a self-signed certificate made here) and a user and password.
Stopped, killed and restarted on the same port and store, as a server restarted mid-copy would be.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NATS_USER = "copier"
NATS_PASSWORD = "s3cret-nats-password"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key, as PEM files in ``folder``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "copier test nats")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "nats-cert.pem", folder / "nats-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class NatsServer:
    """One nats-server process; ``url`` is its tls:// address, ``ca`` the certificate to trust."""

    folder: Path
    port: int
    cert: Path
    key: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"tls://127.0.0.1:{self.port}"

    @property
    def ca(self) -> Path:
        return self.cert

    def start(self, timeout: float = 10.0) -> None:
        binary = shutil.which("nats-server")
        if binary is None:
            raise RuntimeError("nats-server is not installed (Debian: apt-get install nats-server)")
        log = open(self.folder / "nats-server.log", "ab")  # noqa: SIM115 - the process keeps it
        self.process = subprocess.Popen(
            [binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.folder / "store"),
             "--tls", "--tlscert", str(self.cert), "--tlskey", str(self.key),
             "--user", NATS_USER, "--pass", NATS_PASSWORD],
            stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.process.returncode}: "
                                   f"{(self.folder / 'nats-server.log').read_text()[-2000:]}")
            if b"Server is ready" in (self.folder / "nats-server.log").read_bytes():
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"nats-server did not start within {timeout} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def restart(self) -> None:
        self.stop()
        (self.folder / "nats-server.log").write_bytes(b"")
        self.start()


def running_nats_server(tmp_path_factory) -> Iterator[NatsServer]:
    """The body of a ``nats_server`` fixture: a test module declares it where it needs one."""
    folder = tmp_path_factory.mktemp("nats")
    cert, key = self_signed(folder)
    server = NatsServer(folder, _free_port(), cert, key)
    server.start()
    try:
        yield server
    finally:
        server.stop()
