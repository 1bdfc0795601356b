"""A worker whose terminal is behind the bridge: it reads the bridge's shared secret from the
keyring itself, by the name its picklable spec carries, and a missing secret reaches the core as a
message naming the bridge."""

from __future__ import annotations

import pickle
import threading
import time

import pytest

from copier_gui import secrets
from copier_gui.bridge.pairing import new_secret, store_bridge_secret
from copier_gui.bridge.server import make_server
from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.sim import new_terminal
from copier_gui.workers import protocol
from copier_gui.workers.config import BridgeTerminal, WorkerConfig
from copier_gui.workers.worker import Worker
from tests.kit.workers import channel_pair

PASSWORD = "W0rker-bridge-pw"
LOGIN, SERVER = 812, "MeridianMarkets-Demo"


@pytest.fixture
def bridge():
    secret = new_secret()
    terminal = new_terminal("meridian_ecn", seed=5, clock=SYSTEM_CLOCK, login=LOGIN, password=PASSWORD)
    server = make_server({"only": terminal}, secret=secret, port=0)
    thread = threading.Thread(target=server.start, daemon=True)
    thread.start()
    while not server.active:
        time.sleep(0.005)
    yield server, secret
    server.close()
    thread.join(5)


def _run(config: WorkerConfig):
    core, worker_end = channel_pair()
    worker = Worker(worker_end, config)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    received: list[bytes] = []

    def call(op: str) -> protocol.Message:
        core.send(protocol.encode("request", id=1, op=op, args={}))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            data = core.recv(deadline - time.monotonic())
            if data is None:
                break
            received.append(data)
            message = protocol.decode(data)
            if message.kind == "reply":
                return message
        raise AssertionError("no reply")

    def stop() -> None:
        core.send(protocol.encode("shutdown"))
        thread.join(5)

    return call, stop, received


def test_the_worker_reads_the_bridge_secret_by_name_and_never_sends_it(bridge):
    server, secret = bridge
    store_bridge_secret("127.0.0.1", server.port, secret)
    secrets.store_password("pw", PASSWORD)
    config = WorkerConfig("wb", BridgeTerminal(port=server.port), login=LOGIN, server=SERVER, password_key="pw",
                          heartbeat_s=0.05)
    assert secret.encode() not in pickle.dumps(config)  # what spawn would hand the worker
    call, stop, received = _run(config)
    try:
        reply = call("connect")
        assert reply["ok"], reply
    finally:
        stop()
    wire = b"".join(received)
    assert secret.encode() not in wire and PASSWORD.encode() not in wire


def test_a_bridge_never_paired_is_reported_naming_it(bridge):
    server, _ = bridge
    config = WorkerConfig("wb", BridgeTerminal(port=server.port, secret_key="bridge-secret:elsewhere:1"),
                          login=LOGIN, server=SERVER, heartbeat_s=0.05)
    call, stop, _ = _run(config)
    try:
        reply = call("connect")
    finally:
        stop()
    assert not reply["ok"]
    message = reply["error"]["message"]
    assert f"no shared secret for the bridge at 127.0.0.1:{server.port}" in message
    assert "--show-pairing" in message
