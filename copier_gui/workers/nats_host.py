"""A worker host: serves some accounts' workers to a core over NATS. Each account runs in a local
worker process on pipes, exactly as the core would start it; this host bridges the pipe to the bus
(requests from the JetStream stream in, everything the worker says out), holds the account's lease
in the key-value bucket, and never executes a redelivered trade twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from copier_gui.workers import protocol
from copier_gui.workers.config import WorkerConfig
from copier_gui.workers.nats_transport import (
    TRADE_OPS,
    NatsOptions,
    NatsRefused,
    account_token,
    connect,
    ensure_streams,
    host_lease_key,
    started_key,
    tag_prefix,
    tagged,
)
from copier_gui.workers.transport import Channel, ChannelClosed, PipeHost, WorkerProcess

log = logging.getLogger(__name__)

# How long a worker host waits between tries to reach a hub out of reach: doubling from the first
# to the second, then every second.
HUB_RETRY_S = (0.5, 30.0)


@dataclass(eq=False)
class _Served:
    """One account this host serves, and its current worker (if any)."""

    config: WorkerConfig
    generation: int = 0
    channel: Channel | None = None
    process: WorkerProcess | None = None
    token: str | None = None  # the core channel the current worker answers
    waiting: dict[int, asyncio.Future] = field(default_factory=dict)
    consumer: asyncio.Task | None = None
    reader_fd: int | None = None  # the worker's pipe, watched by the loop's selector
    # The generation whose worker was up when this host lost the bus: the core may give up on it
    # meanwhile (no heartbeat reaches it), so nothing more is executed for it; None while linked.
    cut_off: int | None = None


class WorkerHostServer:
    """Serve ``configs`` (one per account) over the bus until :meth:`stop`.

    ``spawn`` starts a worker (``PipeHost(worker_main).start`` in production)."""

    def __init__(self, options: NatsOptions, configs: list[WorkerConfig], spawn: Callable[[Any], tuple]) -> None:
        self.options = options
        self.accounts = {c.account_id: _Served(c) for c in configs}
        for account in self.accounts:
            account_token(account)
        self._spawn = spawn
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.lease_key = host_lease_key(self.name)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._lost_at: float | None = None
        self.nc = self.js = self.leases = self.started = None

    async def _reach_hub(self):
        """The bus connection. A hub out of reach (a VPS whose network is not up yet after a reboot,
        the hub restarting) is waited for, each try logged, for as long as it takes; a hub that
        turns this host away (NatsRefused: a wrong password, a certificate that does not verify)
        ends it, since waiting cannot cure that. None if the host is stopped meanwhile."""
        delay = HUB_RETRY_S[0]
        while not self._stop.is_set():
            try:
                return await connect(self.options, name=f"copier-worker-host {self.name}",
                                     disconnected_cb=self._bus_lost, reconnected_cb=self._bus_back)
            except NatsRefused:
                raise
            except ConnectionError as exc:
                log.warning("%s; trying again in %g s", exc, delay)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
            delay = min(delay * 2, HUB_RETRY_S[1])
        return None

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.nc = await self._reach_hub()
        if self.nc is None:
            return  # stopped while waiting for the hub
        try:
            self.js = self.options.jetstream(self.nc)
            self.leases, self.started = await ensure_streams(self.js, self.options)
            for account, served in self.accounts.items():
                await self.nc.subscribe(self.options.subject(account, "ctl"), cb=self._controller(served))
                await self.nc.subscribe(self.options.subject(account, "read"), cb=self._reader(served))
                served.consumer = asyncio.create_task(self._consume(served), name=f"nats-consume-{account}")
                self._tasks.append(served.consumer)
            self._tasks.append(asyncio.create_task(self._renew_leases(), name="nats-leases"))
            log.info("worker host %s serves %s on %s", self.name, ", ".join(self.accounts), self.options.url)
            await self._stop.wait()
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            for served in self.accounts.values():
                await self._end_worker(served, "the worker host stopped", graceful=True)
            with contextlib.suppress(Exception):
                await self.leases.delete(self.lease_key)
            # Not drain(): it can wait for half a minute; whatever the workers said is already out,
            # and unacknowledged requests are redelivered to the next host.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.nc.close(), 5.0)

    def stop(self) -> None:
        self._stop.set()

    # ------------------------------------------------------------------ the bus lost and back
    # Cut off from the server, this host cannot tell how long the core waits: past a few missed
    # heartbeats it gives the worker up, and what it sent meanwhile waits in the stream. Executed
    # once the link is back, such a request would act on intent the core has since written off
    # (and journaled as not copied), a trade it may also send again to the fresh worker it starts.
    # So every worker up when the bus went is ended once it is back, and nothing sent to it
    # meanwhile is executed; the core starts a fresh worker and reconciles from the broker.
    async def _bus_lost(self) -> None:
        # nats-py calls this before it reconnects, so before any request can come in again.
        if self._lost_at is None:
            self._lost_at = self._loop.time()
        for served in self.accounts.values():
            if served.channel is not None and served.cut_off is None:
                served.cut_off = served.generation

    async def _bus_back(self) -> None:
        away = self._loop.time() - (self._lost_at if self._lost_at is not None else self._loop.time())
        self._lost_at = None
        # Not awaited here: nats-py's reconnection waits for this callback.
        self._tasks.append(asyncio.create_task(self._end_cut_off(away), name="nats-cut-off"))

    async def _end_cut_off(self, away: float) -> None:
        for served in self.accounts.values():
            generation, served.cut_off = served.cut_off, None
            if generation is not None and generation == served.generation and served.channel is not None:
                log.warning("%s: cut off from the NATS server for %.1f s: its worker is ended, and what was sent "
                            "to it meanwhile is not executed", served.config.account_id, away)
                await self._end_worker(served, f"its worker host was cut off from the NATS server for {away:.1f} s")

    # ------------------------------------------------------------------ control
    def _controller(self, served: _Served):
        async def on_control(msg) -> None:
            try:
                command = json.loads(msg.data)
                op = command.get("op")
                if op == "start":
                    answer = await self._start_worker(served, str(command.get("ch")))
                elif op == "shutdown" and command.get("generation") == served.generation and served.channel:
                    with contextlib.suppress(ChannelClosed):
                        served.channel.send(protocol.encode("shutdown"))
                    answer = {"ok": True}
                elif op == "kill" and command.get("generation") == served.generation:
                    await self._end_worker(served, "stopped by the core")
                    answer = {"ok": True}
                else:
                    answer = {"ok": False, "error": f"nothing to do for {op!r}"}
            except Exception as exc:  # the core must hear why, not wait for a timeout
                log.exception("%s: control request failed", served.config.account_id)
                answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            with contextlib.suppress(Exception):
                await msg.respond(json.dumps(answer).encode())

        return on_control

    async def _start_worker(self, served: _Served, token: str) -> dict:
        # A start is a fresh worker, as with pipes: the core gave up on any earlier one.
        await self._end_worker(served, "replaced by a new worker")
        channel, process = await self._loop.run_in_executor(None, self._spawn, served.config)
        served.generation += 1
        served.channel, served.process, served.token = channel, process, token
        await self._put_lease()
        self._watch(served, served.generation, channel)
        log.info("%s: worker %s started (generation %s)", served.config.account_id, process.pid, served.generation)
        return {"ok": True, "pid": process.pid, "generation": served.generation, "host": self.name}

    async def _end_worker(self, served: _Served, reason: str, *, graceful: bool = False) -> None:
        channel, process, fd = served.channel, served.process, served.reader_fd
        if channel is None:
            return
        served.channel = served.process = served.token = None
        if graceful:
            with contextlib.suppress(ChannelClosed):
                channel.send(protocol.encode("shutdown"))
            await self._loop.run_in_executor(None, process.wait, 5.0)
        process.kill()
        await self._loop.run_in_executor(None, process.wait, 5.0)
        self._unwatch(served, fd)
        channel.close()
        await self._gone(served, served.generation, reason)

    async def _gone(self, served: _Served, generation: int, reason: str) -> None:
        for future in served.waiting.values():
            if not future.done():
                future.set_exception(ChannelClosed(reason))
        served.waiting.clear()
        account = served.config.account_id
        with contextlib.suppress(Exception):
            await self.nc.publish(self.options.subject(account, "gone"),
                                  json.dumps({"generation": generation, "reason": reason}).encode())
            if served.generation == generation and served.channel is None:
                await self._put_lease()  # no longer naming it

    # ------------------------------------------------------------------ worker -> core
    def _watch(self, served: _Served, generation: int, channel: Channel) -> None:
        """Read the worker's pipe from the loop's selector where there is one (POSIX): no thread per
        worker, and no hand-off from it to the loop for every message. Else a thread."""
        fileno = getattr(channel, "fileno", None)
        fd = fileno() if fileno is not None else None
        if fd is not None:
            try:
                self._loop.add_reader(fd, self._readable, served, generation, channel, fd)
            except (NotImplementedError, RuntimeError, ValueError, OSError):
                pass  # e.g. the proactor loop on Windows
            else:
                served.reader_fd = fd
                return
        threading.Thread(target=self._pump, args=(served, generation, channel), daemon=True,
                         name=f"nats-pump-{served.config.account_id}").start()

    def _unwatch(self, served: _Served, fd: int | None) -> None:
        # Before the channel closes: the selector must not watch a closed handle.
        if fd is None:
            return
        with contextlib.suppress(Exception):
            self._loop.remove_reader(fd)
        if served.reader_fd == fd:
            served.reader_fd = None

    def _readable(self, served: _Served, generation: int, channel: Channel, fd: int) -> None:
        try:
            for _ in range(64):  # bounded: one chatty worker cannot hold the loop
                data = channel.recv(0)
                if data is None:
                    return
                self._dispatch(served, generation, data)
        except ChannelClosed:
            self._unwatch(served, fd)
            asyncio.ensure_future(self._worker_exited(served, generation))

    def _dispatch(self, served: _Served, generation: int, data: bytes) -> None:
        if b'"kind":"reply"' in data:
            self._replied(served, generation, data)
        else:
            self._forward(served, generation, data)

    def _pump(self, served: _Served, generation: int, channel: Channel) -> None:
        """The worker's messages onto the bus, in order (a thread: the pipe blocks)."""
        loop = self._loop
        while True:
            try:
                data = channel.recv(None)
            except ChannelClosed:
                break
            if b'"kind":"reply"' in data:
                loop.call_soon_threadsafe(self._replied, served, generation, data)
            else:
                loop.call_soon_threadsafe(self._forward, served, generation, data)
        with contextlib.suppress(RuntimeError):
            asyncio.run_coroutine_threadsafe(self._worker_exited(served, generation), loop)

    def _forward(self, served: _Served, generation: int, data: bytes) -> None:
        # A replaced worker's last words (read before it was ended) would look like the new one's.
        # Tagged with the channel's token, as replies are: the core drops a stale worker's pushes.
        if generation == served.generation and served.channel is not None and served.token:
            self._publish_event(served, tagged(served.token, data))

    def _publish_event(self, served: _Served, data: bytes) -> None:
        asyncio.ensure_future(self.nc.publish(self.options.subject(served.config.account_id, "evt"), data))

    def _replied(self, served: _Served, generation: int, data: bytes) -> None:
        if generation != served.generation:
            return
        try:
            reply = json.loads(data)
        except ValueError:
            return
        future = served.waiting.pop(reply.get("id"), None)
        if future is not None and not future.done():
            future.set_result(None)
        if served.token:
            self._publish_event(served, tagged(served.token, data))

    async def _worker_exited(self, served: _Served, generation: int) -> None:
        if served.generation != generation or served.channel is None:
            return  # ended on purpose; _end_worker said so
        process = served.process
        await self._loop.run_in_executor(None, process.wait, 2.0)
        if served.generation != generation or served.channel is None:
            return  # replaced or ended meanwhile: that path closed it
        code = process.exitcode
        self._unwatch(served, served.reader_fd)
        served.channel.close()
        served.channel = served.process = served.token = None
        await self._gone(served, generation, f"its process on {self.name} exited" +
                         ("" if code is None else f" with code {code}"))

    # ------------------------------------------------------------------ core -> worker
    async def _consume(self, served: _Served) -> None:
        """Take the account's requests from the stream, one at a time: a push consumer with one
        unacknowledged message at most, so the next request is pushed the moment the last is
        acknowledged (a pull loop would poll every idle account and add a round trip per request)."""
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        account = served.config.account_id
        durable = f"push_{account}"
        config = ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.EXPLICIT, max_ack_pending=1,
                                ack_wait=self.options.ack_wait_s, deliver_policy=DeliverPolicy.ALL,
                                filter_subject=self.options.subject(account, "req"))
        # A work-queue stream takes one consumer per subject: an earlier version's pull consumer
        # (its requests, if any, are redelivered to this one) goes first.
        with contextlib.suppress(Exception):
            await self.js.delete_consumer(self.options.stream, f"host_{account}")

        async def on_request(msg) -> None:
            await self._serve(served, msg)

        while True:
            try:
                await self.js.subscribe(self.options.subject(account, "req"), durable=durable,
                                        stream=self.options.stream, config=config, manual_ack=True,
                                        cb=on_request)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the bus away, or a killed predecessor still bound for a moment
                log.warning("%s: could not take the request stream yet (%s)", account, exc)
                await asyncio.sleep(1.0)

    def _reader(self, served: _Served):
        async def on_read(msg) -> None:
            # A read for the current worker only, and never for one cut off from the bus; no reply
            # here for another: its core gave that worker up and counts the read as failed.
            token = served.token
            if (token is None or served.channel is None or not msg.data.startswith(tag_prefix(token))
                    or (served.cut_off is not None and served.cut_off == served.generation)):
                return
            with contextlib.suppress(ChannelClosed):
                served.channel.send(msg.data)

        return on_read

    async def _serve(self, served: _Served, msg) -> None:
        account = served.config.account_id
        try:
            request = json.loads(msg.data)
        except ValueError:
            await msg.ack()
            return
        token, op, request_id = request.get("ch"), request.get("op"), request.get("id")
        channel = served.channel
        if served.cut_off is not None and served.cut_off == served.generation:
            log.info("%s: dropped %s request %s meant for a worker cut off from the bus", account, op, request_id)
            await msg.ack()
            return
        if channel is None or token != served.token:
            # Sent to a worker that is gone (an earlier core, an earlier start): its core already
            # counts the outcome as unknown and reconciles; executing it now would act on stale intent.
            log.info("%s: dropped %s request %s meant for a worker that is gone", account, op, request_id)
            await msg.ack()
            return
        msg_id = (msg.headers or {}).get("Nats-Msg-Id")
        if op in TRADE_OPS:
            marker = started_key(msg_id or f"{token}:{request_id}")
            try:
                await self.started.create(marker, self.name.encode())
            except Exception:
                # Delivered before (the ack was lost in a reconnect), or given up by its core, which
                # then writes the marker itself: either way it is not executed now.
                log.warning("%s: %s request %s was delivered again or given up; not executed", account, op,
                            request_id)
                await self._refuse(served, token, request_id, "the request was delivered twice by the bus or given "
                                   "up by the core; it was executed at most once, and the snapshot shows whether "
                                   "it reached the broker")
                await msg.ack()
                return
            # The write took a round trip: the worker may have been replaced, ended or cut off from
            # the bus meanwhile, and its core may have given it up. Checked again, not assumed.
            if (served.channel is not channel or served.token != token
                    or (served.cut_off is not None and served.cut_off == served.generation)):
                log.info("%s: dropped %s request %s: its worker went while it was being started", account, op,
                         request_id)
                await msg.ack()
                return
        future = self._loop.create_future()
        served.waiting[request_id] = future
        try:
            channel.send(msg.data)
        except ChannelClosed:
            served.waiting.pop(request_id, None)
            await msg.ack()
            return
        while True:
            try:
                await asyncio.wait_for(asyncio.shield(future), self.options.ack_wait_s / 3)
                break
            except TimeoutError:
                with contextlib.suppress(Exception):
                    await msg.in_progress()  # a slow terminal call, not a lost host
            except ChannelClosed:
                break
        with contextlib.suppress(Exception):
            await msg.ack()

    async def _refuse(self, served: _Served, token: str, request_id: Any, text: str) -> None:
        reply = protocol.encode("reply", id=request_id if isinstance(request_id, int) else 0, ok=False,
                                error=protocol.error_to_wire("transport", text))
        await self.nc.publish(self.options.subject(served.config.account_id, "evt"), tagged(token, reply))

    # ------------------------------------------------------------------ leases
    # One lease for the host, naming each worker it runs by generation, renewed every beat: a lease
    # per account cost a write and a push to the core per account and beat.
    async def _put_lease(self) -> None:
        lease = {"host": self.name, "accounts": {account: served.generation
                                                 for account, served in self.accounts.items()
                                                 if served.channel is not None}}
        await self.leases.put(self.lease_key, json.dumps(lease).encode())

    async def _renew_leases(self) -> None:
        # A renewal is also this host's probe of the stream's server: connected to a leaf node, its
        # own connection stays up while the leaf's link to the hub is down, and only a write that
        # the hub does not answer tells. Such a host is cut off as surely as one whose connection
        # dropped, and is treated the same (see _bus_lost).
        hub_away = False
        while True:
            await asyncio.sleep(self.options.lease_beat_s)
            try:
                if any(served.channel is not None for served in self.accounts.values()):
                    await self._put_lease()
            except Exception as exc:
                if self.nc.is_connected and not hub_away:
                    hub_away = True
                    log.warning("the stream's server does not answer through %s (%s: %s): the workers up now "
                                "are ended once it does", self.options.url, type(exc).__name__, exc)
                    await self._bus_lost()
                continue  # a dropped connection of our own: reconnected_cb handles it
            if hub_away:
                hub_away = False
                await self._bus_back()


def local_spawn() -> Callable[[Any], tuple]:
    """Workers as local processes on pipes, as the core starts them without NATS."""
    from copier_gui.workers.worker import main as worker_main

    return PipeHost(worker_main).start


__all__ = ["WorkerHostServer", "local_spawn"]
