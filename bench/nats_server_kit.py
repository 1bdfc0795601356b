"""A nats-server for the benchmarks: JetStream on with a store in a folder of its own, on a free
loopback port, plain nats:// (loopback only, where the copier allows it without TLS)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BenchNatsServer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def __enter__(self) -> BenchNatsServer:
        binary = shutil.which("nats-server")
        if binary is None:
            raise SystemExit("nats-server is not installed (Debian: apt-get install nats-server)")
        log_path = self.folder / "nats-server.log"
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen([binary, "-a", "127.0.0.1", "-p", str(self.port), "-js",
                                             "-sd", str(self.folder / "store")], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while b"Server is ready" not in log_path.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise SystemExit(f"nats-server did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
