"""Test doubles for worker processes: in-memory channels, recording hosts and misbehaving workers.

The worker targets here run in spawned processes, so they live in an importable module.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time

from copier_gui.workers import protocol
from copier_gui.workers.transport import ChannelClosed, PipeHost
from copier_gui.workers.worker import main as worker_main

_CLOSED = object()


class QueueChannel:
    """One end of an in-memory channel; make a pair with :func:`channel_pair`."""

    def __init__(self, inbox: queue.Queue, outbox: queue.Queue) -> None:
        self._in = inbox
        self._out = outbox
        self.closed = False

    def send(self, data: bytes) -> None:
        if self.closed:
            raise ChannelClosed("closed")
        self._out.put(bytes(data))

    def recv(self, timeout: float | None = None) -> bytes | None:
        try:
            item = self._in.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is _CLOSED:
            self._in.put(_CLOSED)  # stays closed for every later call
            raise ChannelClosed("closed")
        return item

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._out.put(_CLOSED)


def channel_pair() -> tuple[QueueChannel, QueueChannel]:
    a, b = queue.Queue(), queue.Queue()
    return QueueChannel(a, b), QueueChannel(b, a)


class RecordingChannel:
    """Wraps the core's end of a channel and keeps every byte that crosses it, both ways."""

    def __init__(self, inner, log: list[tuple[str, bytes]]) -> None:
        self._inner = inner
        self.log = log
        self._lock = threading.Lock()

    def send(self, data: bytes) -> None:
        with self._lock:
            self.log.append(("to_worker", bytes(data)))
        self._inner.send(data)

    def recv(self, timeout: float | None = None) -> bytes | None:
        data = self._inner.recv(timeout)
        if data is not None:
            with self._lock:
                self.log.append(("to_core", bytes(data)))
        return data

    def close(self) -> None:
        self._inner.close()


class RecordingHost:
    """A PipeHost whose channels record everything; ``wire`` holds (direction, bytes) pairs."""

    def __init__(self, target=None) -> None:
        self._host = PipeHost(target or worker_main)
        self.wire: list[tuple[str, bytes]] = []

    def start(self, config):
        channel, process = self._host.start(config)
        return RecordingChannel(channel, self.wire), process

    def all_bytes(self) -> bytes:
        return b"".join(data for _, data in self.wire)


def _hello(channel, config) -> None:
    channel.send(protocol.encode("hello", account=config.account_id, pid=os.getpid(), mono=time.monotonic(),
                                 api="fake"))


def garbage_worker(channel, config) -> None:
    """Greets, then answers every request with junk first and a proper reply after it."""
    _hello(channel, config)
    junk = [
        b"\xff\xfe not json",
        b"[1, 2, 3]",
        json.dumps({"v": 99, "kind": "reply", "id": 1, "ok": True}).encode(),
        json.dumps({"v": 1, "kind": "teleport"}).encode(),
        json.dumps({"v": 1, "kind": "heartbeat", "mono": "soon"}).encode(),
        json.dumps({"v": 1, "kind": "state", "state": "on fire", "detail": ""}).encode(),
        json.dumps({"v": 1, "kind": "snapshot", "seq": 1, "base": None, "taken_at": 0.0, "offset": None,
                    "pos": [["not", "a", "position"]], "ord": [], "gone_pos": [], "gone_ord": []}).encode(),
        json.dumps({"v": 1, "kind": "request", "id": 5, "op": "connect", "args": {}}).encode(),
    ]
    while True:
        try:
            data = channel.recv(1.0)
        except ChannelClosed:
            return
        if data is None:
            channel.send(protocol.encode("heartbeat", mono=time.monotonic(), polled=None, seq=0, busy=None,
                                         busy_for=0.0))
            continue
        message = json.loads(data)
        if message.get("kind") == "shutdown":
            return
        for item in junk:
            channel.send(item)
        channel.send(protocol.encode("reply", id=message["id"], ok=True, result={"mono": time.monotonic()}))


def silent_worker(channel, config) -> None:
    """Greets, then neither answers nor sends heartbeats: a hung worker."""
    _hello(channel, config)
    time.sleep(120)
