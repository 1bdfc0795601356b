"""The worker protocol over NATS with JetStream, for workers on other hosts: the core's end
(``NatsHost``, a ``WorkerHost`` whose channels reach a ``copier-gui worker-host`` over the bus).

The schema is the pipes' one, byte for byte; only the carriage differs. The core keeps the same
synchronous ``Channel`` and ``WorkerConnector``: nats-py is asyncio, so one private event loop on
a thread of its own holds the connection, and the channel hands bytes across with thread-safe
queues. That keeps one connector for both transports (its reader thread, its watchdog, its restart
backoff) instead of an async twin of it, and the core's loop never waits on the bus: a send is
queued, and a failed publish comes back as the request's failed reply.

Subjects, per instance and account (``copier.<instance>.<account>.<what>``):
- ``read``: core -> worker reads (snapshot, symbol, position_deals, deals_since, cash_flows, account,
  ping), core NATS.
- ``req``: core -> worker requests, in a JetStream work-queue stream. An entry (open, pending
  order) carries its copy tag and a digest of its body as ``Nats-Msg-Id``: a repeat inside the
  duplicate window is dropped by the server and answered here as "outcome unknown" (the broker's
  tagged state tells), unless the core had written the earlier one off before any host took it
  (its started marker, below): that one never ran, and the repeat goes under the next id. The
  host takes one request at a time per account (a push consumer with
  ``max_ack_pending=1``: the next is pushed as soon as the last is acknowledged, no polling),
  acknowledges it once the worker answered, and never executes a redelivered trade twice.
- ``evt``: worker -> core messages (hello, replies, snapshot pushes, heartbeats), core NATS: a
  push lost in a reconnect is a snapshot gap the connector already repairs with a full snapshot.
- ``ctl``: core -> host requests: start (a fresh worker, as a pipe start does), shutdown, kill.
- ``gone``: host -> core: the worker exited, and why.
Worker leases live in a key-value bucket (one key per account, refreshed each second, expiring
with the bucket's TTL): a host killed outright drops its leases, and the core closes the channel.

Every connection uses TLS and credentials unless the server is on this computer's loopback; the
NATS password comes from the keyring (never a file, an argument or a message), and account
passwords never travel: the worker host reads its own keyring, as local workers do.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import queue
import re
import ssl
import threading
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from copier_gui.netaddr import is_loopback
from copier_gui.workers.transport import ChannelClosed

log = logging.getLogger(__name__)

# Entries are deduplicated by copy tag; closes and modifications never are (two partial closes of
# the same size are two exits, and an exit is never held back).
DEDUPLICATED_OPS = ("open", "place_pending")
TRADE_OPS = ("open", "close", "modify", "place_pending", "modify_pending", "cancel")
# Reads change nothing at the broker: they go on core NATS straight to the host (no stream write,
# no acknowledgement, no wait behind a trade), and one lost in a reconnect is a read that times out
# and is asked again. Everything else (trades, connect, close_session, sim) keeps the stream's order.
READ_OPS = ("account", "snapshot", "symbols", "symbol", "position_deals", "deals_since", "cash_flows", "ping")

# A trade's started marker as the core writes it when it writes the trade off: no host took it, and
# none will (see NatsChannel._give_up and _written_off).
GIVEN_UP = b"given up by the core"
# How many times one send may find its request written off and go again under the next id.
_MAX_RESENDS = 8

_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")
# A reply's id as the protocol encodes it (the id first after the kind), read without decoding the
# whole reply on the bus's thread; any other layout falls back to decoding it.
_REPLY_ID = re.compile(rb'"kind":"reply","id":(\d+)')
_NATS_PASSWORD_WHAT = "NATS password"


class NatsRefused(ConnectionError):
    """The NATS server was reached and turned this client away (a wrong password, a certificate that
    does not verify): trying again cannot help, unlike a server out of reach."""


class NatsSetupError(ValueError):
    """The NATS options cannot make a safe connection; ``str()`` says which option and why."""


@dataclass(frozen=True, slots=True)
class NatsOptions:
    """How to reach the bus. ``password_key`` names the keyring entry of ``user``'s password;
    ``ca`` is the PEM of the certificate authority to trust (the system's when None); ``cert`` and
    ``key`` a client certificate, where the server asks for one."""

    url: str
    instance: str = "copier"
    user: str | None = None
    password_key: str | None = None
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    duplicate_window_s: float = 120.0
    lease_ttl_s: float = 5.0
    lease_beat_s: float = 1.0
    ack_wait_s: float = 5.0  # a crashed host holds its account's queue this long; in_progress keeps slow calls
    connect_timeout_s: float = 5.0
    # The JetStream domain of the server that holds the stream and the buckets (the hub's), for a
    # party connected to a leaf node that runs a JetStream of its own: its API requests then go to
    # $JS.<domain>.API; key-value writes and the requests themselves reach the hub's streams by
    # subject. None: the server this party is connected to (or a leaf without JetStream) serves it.
    jetstream_domain: str | None = None

    def __post_init__(self) -> None:
        if not _TOKEN.match(self.instance):
            raise NatsSetupError(f"NATS instance name {self.instance!r}: use letters, digits, '-' and '_' only")
        if self.jetstream_domain is not None and not _TOKEN.match(self.jetstream_domain):
            raise NatsSetupError(f"JetStream domain {self.jetstream_domain!r}: use letters, digits, '-' and '_' only "
                                 "(the domain named in the hub server's jetstream settings)")
        parts = urlsplit(self.url)
        if parts.query or parts.fragment:
            # The one URL parameter: ?domain=NAME, the hub's JetStream domain, so a command line
            # that passes only --nats reaches the hub's stream through a leaf node too.
            query = dict(pair.partition("=")[::2] for pair in parts.query.split("&"))
            if parts.fragment or set(query) != {"domain"}:
                raise NatsSetupError(f"NATS URL {self.url!r}: the only parameter it takes is ?domain=NAME, the hub's "
                                     "JetStream domain")
            if self.jetstream_domain not in (None, query["domain"]):
                raise NatsSetupError(f"NATS URL {self.url!r} names JetStream domain {query['domain']!r}, the settings "
                                     f"{self.jetstream_domain!r}: give it once")
            object.__setattr__(self, "jetstream_domain", query["domain"])
        if parts.scheme not in ("nats", "tls") or not parts.hostname:
            raise NatsSetupError(f"NATS URL {self.url!r}: expected tls://HOST:PORT (or nats://HOST:PORT on "
                                 "this computer)")
        if parts.username or parts.password:
            raise NatsSetupError("NATS URL: put no user or password in the URL; give the user with --nats-user "
                                 "and keep the password in the keyring")
        if not is_loopback(parts.hostname):
            if not self.tls:
                raise NatsSetupError(f"NATS URL {self.url!r}: a server on another computer needs TLS (tls://)")
            if not self.user:
                raise NatsSetupError(f"NATS server {parts.hostname}: a server on another computer needs "
                                     "credentials (a user, its password in the keyring)")
        if self.user and not self.password_key:
            raise NatsSetupError(f"NATS user {self.user!r} without the keyring key of its password")
        if (self.cert is None) != (self.key is None):
            raise NatsSetupError("a NATS client certificate needs both its certificate and its key")

    @property
    def server_url(self) -> str:
        """The URL the client dials: ``url`` without its parameter."""
        return urlsplit(self.url)._replace(query="", fragment="").geturl()

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "tls" or self.ca is not None

    def jetstream(self, nc):
        """The JetStream context of ``nc``, in this party's domain."""
        return nc.jetstream(domain=self.jetstream_domain) if self.jetstream_domain else nc.jetstream()

    def subject(self, account: str, what: str) -> str:
        return f"copier.{self.instance}.{account_token(account)}.{what}"

    @property
    def stream(self) -> str:
        return f"COPIER_{self.instance.upper()}_REQ"

    @property
    def lease_bucket(self) -> str:
        return f"copier_{self.instance}_leases"

    @property
    def started_bucket(self) -> str:
        return f"copier_{self.instance}_started"


def account_token(account: str) -> str:
    """The account's id as one subject token and key-value key; NatsSetupError if it cannot be one."""
    if not _TOKEN.match(account):
        raise NatsSetupError(f"account {account!r} cannot be served over NATS: its id may hold only letters, "
                             "digits, '-' and '_'")
    return account



def message_id(account: str, op: str, args: dict) -> str | None:
    """The JetStream message id of a request: an entry's copy tag and a digest of its body, or
    None (no deduplication) for every other request. The digest keeps a retry the core changed on
    purpose (a requoted entry at a new worst price) apart from a repeat of the same one."""
    if op not in DEDUPLICATED_OPS:
        return None
    request = args.get("request")
    if not isinstance(request, dict):
        return None
    body = json.dumps(request, sort_keys=True, separators=(",", ":")).encode()
    return f"{account}:{op}:{request.get('magic')}:{request.get('comment')}:{hashlib.sha256(body).hexdigest()[:16]}"


def tagged(token: str, data: bytes) -> bytes:
    """``data`` (one JSON object) with the channel's token as its first field, ``ch``: spliced in
    rather than decoded and encoded again, and found again with :func:`tag_prefix`."""
    return tag_prefix(token) + data[1:]


def tag_prefix(token: str) -> bytes:
    return b'{"ch":"' + token.encode() + b'",'


def host_lease_key(host: str) -> str:
    """The key of a worker host's lease: one per host, naming every worker it runs. It cannot be an
    account's key (an account's id holds no dot)."""
    return "host." + re.sub(r"[^A-Za-z0-9_-]", "_", host)


def started_key(msg_id: str) -> str:
    """A key-value key for a message id (which may hold any character the tag does)."""
    return hashlib.sha256(msg_id.encode()).hexdigest()


async def connect(options: NatsOptions, *, name: str, **callbacks: Any):
    """One client connection, with TLS and credentials as ``options`` say; reconnects for ever."""
    import nats

    # A few attempts at first, so a wrong password or address ends in a clear error; once
    # connected, reconnecting never stops (a server restart, a link down for minutes).
    refused: list[str] = []
    turned_away = asyncio.Event()

    async def noted(exc: Exception) -> None:
        # nats-py ends a refused login with "no servers available"; the server's own reason only
        # reaches this callback, so it is kept for the error below.
        if "authorization violation" in str(exc).lower() and not refused:
            refused.append(f"; the server refused user {options.user}'s password (Authorization Violation)")
        elif isinstance(exc, ssl.SSLCertVerificationError) and not refused:
            refused.append(f"; the server's certificate did not verify ({exc.verify_message or exc})")
            # nats-py goes on waiting after a failed handshake, for ever: no attempt can cure it.
            turned_away.set()
        await _quiet(exc)

    kwargs: dict[str, Any] = {"servers": [options.server_url], "name": name, "connect_timeout": options.connect_timeout_s,
                              "max_reconnect_attempts": 3, "reconnect_time_wait": 0.25,
                              "allow_reconnect": True, "error_cb": noted, **callbacks}
    if options.tls:
        context = ssl.create_default_context(cafile=options.ca)
        if options.cert is not None:
            context.load_cert_chain(options.cert, options.key)
        kwargs["tls"] = context
        kwargs["tls_hostname"] = urlsplit(options.url).hostname
    if options.user:
        from copier_gui.secrets import get_secret

        password = get_secret(options.password_key, what=_NATS_PASSWORD_WHAT)
        if password is None:
            raise NatsSetupError(f"no {_NATS_PASSWORD_WHAT} in the keyring under {options.password_key!r}: "
                                 "store it first (`copier-gui worker-host --nats URL --nats-user "
                                 f"{options.user} --store-nats-password` asks for it; so does linking an "
                                 "account with `accounts link ... --worker-host nats`)")
        kwargs["user"], kwargs["password"] = options.user, password
    try:
        client = await _first_of(nats.connect(**kwargs), turned_away, options.connect_timeout_s * 4 + 2.0)
    except Exception as exc:
        # nats-py's own text may echo the URL; never the password, which it does not print.
        raise (NatsRefused if refused else ConnectionError)(
            f"could not reach the NATS server at {options.url} ({type(exc).__name__}: {exc}){''.join(refused)}") from None
    client.options["max_reconnect_attempts"] = -1  # nats-py reads it at each reconnect
    return client


async def _first_of(connecting: Coroutine, turned_away: asyncio.Event, timeout: float):
    """The connection, unless the server turns the client away first (ConnectionRefusedError) or
    ``timeout`` passes (TimeoutError): nats-py's own attempts can hang past their limits."""
    attempt = asyncio.ensure_future(connecting)
    refusal = asyncio.ensure_future(turned_away.wait())
    try:
        done, _ = await asyncio.wait({attempt, refusal}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        refusal.cancel()
    if attempt in done:
        return attempt.result()
    attempt.cancel()
    with contextlib.suppress(BaseException):
        await attempt
    if turned_away.is_set():
        raise ConnectionRefusedError("turned away at the TLS handshake")
    raise TimeoutError(f"no connection within {timeout:g} s")


async def _quiet(exc: Exception) -> None:
    # nats-py's default prints every failed attempt with a traceback; a reconnect is routine here.
    log.info("NATS: %s: %s", type(exc).__name__, exc)


async def ensure_streams(js, options: NatsOptions) -> tuple[Any, Any]:
    """The request stream, the lease bucket and the started-requests bucket, created or updated:
    every party calls this, whoever comes first. Returns (leases, started)."""
    from nats.js.api import RetentionPolicy, StorageType, StreamConfig
    from nats.js.errors import BadRequestError

    config = StreamConfig(name=options.stream, subjects=[f"copier.{options.instance}.*.req"],
                          retention=RetentionPolicy.WORK_QUEUE, storage=StorageType.FILE,
                          duplicate_window=options.duplicate_window_s, max_age=max(3600.0, options.duplicate_window_s))
    try:
        await js.add_stream(config)
    except BadRequestError:
        # Made by another party, maybe with other limits: theirs stand, and the subjects are the same.
        with contextlib.suppress(BadRequestError):
            await js.update_stream(config)
    leases = await _bucket(js, options.lease_bucket, options.lease_ttl_s)
    started = await _bucket(js, options.started_bucket, options.duplicate_window_s)
    if options.jetstream_domain:
        # nats-py's key-value writes publish to $KV.<bucket>.<key> whatever the domain, and a leaf
        # node carries only the hub's $JS.<domain>.API.> across; the hub maps that prefix back.
        for bucket in (leases, started):
            bucket._js = _DomainWrites(bucket._js, options.jetstream_domain)
    return leases, started


class _DomainWrites:
    """A JetStream context whose key-value writes go to ``$JS.<domain>.API.$KV...`` (as nats.go
    sends them), so they reach the hub's buckets from a leaf node; everything else is the context's."""

    def __init__(self, js, domain: str) -> None:
        self._inner = js
        self._prefix = f"$JS.{domain}.API."

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def publish(self, subject: str, *args: Any, **kwargs: Any):
        if subject.startswith("$KV."):
            subject = self._prefix + subject
        return await self._inner.publish(subject, *args, **kwargs)


async def _bucket(js, name: str, ttl: float):
    """A key-value bucket, bound if it exists (whoever made it first set its TTL), else made."""
    from nats.js.errors import BadRequestError, BucketNotFoundError

    with contextlib.suppress(BucketNotFoundError):
        return await js.key_value(name)
    try:
        return await js.create_key_value(bucket=name, ttl=ttl, history=1)
    except BadRequestError:
        return await js.key_value(name)  # made by another party meanwhile


class LoopThread:
    """A private asyncio loop on a daemon thread, for a synchronous caller of nats-py."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def call(self, coro: Coroutine, timeout: float | None = None) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def spawn(self, coro: Coroutine) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.loop)

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5.0)


class SharedLoop:
    """The copier's own asyncio loop, used as the bus's loop: the client's callbacks run where the
    copier runs, so a reply reaches the connector without crossing threads (a private thread is
    starved by the CPU share of many worker processes, then hands over once more). The same calls
    as LoopThread; a blocking ``call`` is only for other threads, as the loop cannot wait on itself."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.shared = True

    def on_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False

    def call(self, coro: Coroutine, timeout: float | None = None) -> Any:
        if self.on_loop():
            coro.close()
            raise RuntimeError("a blocking call on the bus from the bus's own loop")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def spawn(self, coro: Coroutine) -> None:
        if self.on_loop():
            self.loop.create_task(coro)
        else:
            asyncio.run_coroutine_threadsafe(coro, self.loop)

    def stop(self) -> None:
        pass  # the loop is the copier's, not ours to stop


_CLOSED = object()


class NatsChannel:
    """The core's end of one account's worker over NATS (one per worker start, like a pipe)."""

    def __init__(self, host: NatsHost, account: str) -> None:
        self._host = host
        self.account = account
        self.token = uuid.uuid4().hex
        self._incoming: queue.Queue = queue.Queue()
        self._outgoing: asyncio.Queue | None = None
        self.closed = threading.Event()
        self.reason = ""
        self.generation: int | None = None
        self.lease_key = ""  # its worker host's lease (host_lease_key), known once the host answers
        self._tasks: list[asyncio.Task] = []
        self._subs: list[Any] = []
        self._prefix = tag_prefix(self.token)
        # Trades sent and not yet answered, by request id: their started markers, which this side
        # writes itself when it gives the channel up (see _give_up).
        self._unanswered: dict[Any, str] = {}
        # A wake-up pipe, so the connector reads this channel from its own loop's selector, as it
        # reads a local pipe, instead of one blocked thread per remote worker (POSIX only).
        self._wake_lock = threading.Lock()
        self._wake: tuple[int, int] | None = None
        # (on_message, on_closed) of a connector reading on the bus's own loop (see deliver_to).
        self._receiver: tuple[Callable[[bytes], None], Callable[[], None]] | None = None
        if os.name == "posix":
            self._wake = os.pipe()
            for fd in self._wake:
                os.set_blocking(fd, False)

    # ---------------------------------------------------------------- on the bus's loop
    async def open(self) -> None:
        nc, options = self._host.nc, self._host.options
        self._outgoing = asyncio.Queue()
        self._subs.append(await nc.subscribe(options.subject(self.account, "evt"), cb=self._on_event))
        self._subs.append(await nc.subscribe(options.subject(self.account, "gone"), cb=self._on_gone))
        await nc.flush()  # subscribed at the server before the worker can say hello
        self._tasks.append(asyncio.create_task(self._publisher(), name=f"nats-send-{self.account}"))

    async def _on_event(self, msg) -> None:
        data = msg.data
        # Only what the worker started for this channel says is ours: an earlier worker's last
        # words (a reply whose id collides with this connector's, a snapshot push its numbering
        # does not follow) reach the same subject after a restart. The host tags every event with
        # the token, first; one that lacks it or names another is dropped, whatever its kind.
        if not data.startswith(self._prefix):
            try:
                ours = json.loads(data).get("ch") == self.token
            except (ValueError, AttributeError):
                ours = False
            if not ours:
                log.debug("%s: dropped a message meant for another worker start", self.account)
                return
        if self._unanswered and b'"kind":"reply"' in data:
            found = _REPLY_ID.search(data)
            with contextlib.suppress(ValueError, AttributeError):
                self._unanswered.pop(int(found.group(1)) if found else json.loads(data).get("id"), None)
        self._put(data)

    def _put(self, item: Any) -> None:
        if self._receiver is not None:
            # The connector reads on this loop: handed over now, with no queue and no wake-up.
            on_message, on_closed = self._receiver
            if item is _CLOSED:
                self._receiver = None
                on_closed()
            else:
                on_message(item)
            return
        self._incoming.put(item)
        # One wake-up per batch, not per message: a queue that was not empty has one pending
        # already (the reader drains the pipe only once it finds the queue empty).
        if self._incoming.qsize() == 1:
            self._wake_up()

    def _wake_up(self) -> None:
        with self._wake_lock:
            if self._wake is not None:
                with contextlib.suppress(BlockingIOError):  # full: the reader has plenty to wake on
                    os.write(self._wake[1], b"\0")

    async def _on_gone(self, msg) -> None:
        with contextlib.suppress(ValueError):
            notice = json.loads(msg.data)
            if notice.get("generation") in (None, self.generation):
                self._close_from_bus(str(notice.get("reason") or "the worker host said it exited"))

    def _close_from_bus(self, reason: str) -> None:
        if not self.closed.is_set():
            self.reason = reason
            log.info("%s: the remote worker is gone: %s", self.account, reason)
            self.closed.set()
            self._put(_CLOSED)

    async def _publisher(self) -> None:
        options = self._host.options
        while True:
            data = await self._outgoing.get()
            if data is _CLOSED:
                return
            try:
                message = json.loads(data)
            except ValueError:
                continue
            if message.get("kind") == "shutdown":
                await self._control("shutdown")
                continue
            op = message.get("op")
            if op in READ_OPS:
                try:
                    await self._host.nc.publish(options.subject(self.account, "read"), tagged(self.token, data))
                except Exception as exc:
                    self._fail(message, f"the read could not be sent ({type(exc).__name__}: {exc})")
                continue
            msg_id = message_id(self.account, op, message.get("args") or {})
            for attempt in range(_MAX_RESENDS + 1):
                ack = await self._publish(message, op, msg_id, data)
                if ack is None or not ack.duplicate:
                    break
                # The bus dropped it as a repeat. If the core wrote the earlier one off before any
                # host took it, it never ran and never will: it goes again under the next id of its
                # chain. If a host took it, it may have reached the broker: its outcome is unknown
                # (the broker's tagged state tells), and sending it again could trade twice.
                if msg_id is None or attempt == _MAX_RESENDS or not await self._written_off(started_key(msg_id)):
                    self._fail(message, "the same request went out before, within the bus's duplicate window, and "
                               "was not sent again")
                    break
                msg_id = f"{msg_id}:again"

    async def _publish(self, message: dict, op: str, msg_id: str | None, data: bytes):
        """Publish one request to the stream; its acknowledgement, or None once failed (and answered)."""
        options = self._host.options
        headers = {"Nats-Msg-Id": msg_id} if msg_id else None
        if op in TRADE_OPS:
            # The host's own key for it (see WorkerHostServer._serve), written before it executes.
            self._unanswered[message.get("id")] = started_key(msg_id or f"{self.token}:{message.get('id')}")
        try:
            return await self._host.js.publish(options.subject(self.account, "req"), tagged(self.token, data),
                                               headers=headers, timeout=options.connect_timeout_s)
        except Exception as exc:
            # No acknowledgement is not "not sent": the server may hold it and deliver it still.
            self._fail(message, f"the NATS server did not acknowledge the request ({type(exc).__name__}: "
                       f"{exc}); it may still be delivered")
            return None

    async def _written_off(self, key: str) -> bool:
        """Whether the request with started marker ``key`` is sure never to run: the core's own
        marker is on it (written now, if no one had: a host that takes it later refuses it)."""
        started = getattr(self._host, "started", None)
        if started is None:
            return False
        try:
            await asyncio.wait_for(started.create(key, GIVEN_UP), self._host.options.connect_timeout_s)
            return True
        except Exception:
            pass
        try:
            entry = await asyncio.wait_for(started.get(key), self._host.options.connect_timeout_s)
        except Exception:
            return False  # unreadable: it may have run
        return entry.value == GIVEN_UP

    def _fail(self, message: dict, text: str) -> None:
        # The connector's failed reply: the trade turns into "outcome unknown", the snapshot tells.
        from copier_gui.workers import protocol

        self._put(protocol.encode("reply", id=message.get("id", 0), ok=False,
                                  error=protocol.error_to_wire("transport", text), ch=self.token))

    async def _control(self, op: str) -> dict | None:
        payload = json.dumps({"op": op, "ch": self.token, "generation": self.generation}).encode()
        try:
            reply = await self._host.nc.request(self._host.options.subject(self.account, "ctl"), payload,
                                                timeout=self._host.options.connect_timeout_s)
        except Exception as exc:
            log.info("%s: the worker host did not take %s (%s)", self.account, op, exc)
            return None
        with contextlib.suppress(ValueError):
            return json.loads(reply.data)
        return None

    async def _give_up(self) -> None:
        """Mark every trade still unanswered as started, so a host that has not taken it yet (a
        held link, a frozen host) finds the marker and refuses it: once the core has given the
        worker up and counted the trade as unknown, it must never run. One the host did take
        already keeps its own marker, and this write fails harmlessly."""
        started = getattr(self._host, "started", None)
        markers, self._unanswered = list(self._unanswered.values()), {}
        if started is None or not markers:
            return

        async def mark(key: str) -> None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(started.create(key, GIVEN_UP),
                                       self._host.options.connect_timeout_s)

        await asyncio.gather(*(mark(key) for key in markers))

    async def _shut(self) -> None:
        await self._give_up()
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        for task in self._tasks:
            task.cancel()

    # ---------------------------------------------------------------- the Channel, any thread
    def send(self, data: bytes) -> None:
        if self.closed.is_set():
            raise ChannelClosed(self.reason or "closed")
        runner = self._host.runner
        if getattr(runner, "shared", False) and runner.on_loop():
            self._outgoing.put_nowait(data)  # already on the bus's loop: no hop
        else:
            runner.loop.call_soon_threadsafe(self._outgoing.put_nowait, data)

    def recv(self, timeout: float | None = None) -> bytes | None:
        try:
            data = self._incoming.get(timeout=timeout) if timeout != 0 else self._incoming.get_nowait()
        except queue.Empty:
            data = self._drained() if timeout == 0 else None
            if data is None:
                if self.closed.is_set():
                    raise ChannelClosed(self.reason) from None
                return None
        if data is _CLOSED:
            self._incoming.put(_CLOSED)  # every later call sees it too
            raise ChannelClosed(self.reason)
        return data

    def _drained(self) -> Any:
        """Empty the wake-up pipe, then look once more: a message put after the first look wrote
        its byte after this drain, so the selector wakes the reader again for it."""
        with self._wake_lock:
            if self._wake is not None:
                with contextlib.suppress(BlockingIOError):
                    while os.read(self._wake[0], 4096):
                        pass
        try:
            data = self._incoming.get_nowait()
        except queue.Empty:
            return None
        if not self._incoming.empty():
            self._wake_up()  # more came meanwhile, some after their wake-up was drained
        return data

    def deliver_to(self, loop: asyncio.AbstractEventLoop, on_message: Callable[[bytes], None],
                   on_closed: Callable[[], None]) -> bool:
        """Hand each message to ``on_message`` as the bus delivers it, and call ``on_closed`` once
        the channel closes, if the bus's client runs on ``loop`` and this is called on it: a reader
        there needs no queue, no wake-up pipe and no turn of the selector per message (each cost
        the core tens of microseconds, a thousand times in a fan-out to 200 slaves). What waits
        already is handed over first, in order. False: read with recv() as before."""
        runner = self._host.runner
        if not (getattr(runner, "shared", False) and runner.loop is loop and runner.on_loop()):
            return False
        with self._wake_lock:  # the wake-ups written so far go unread: empty the pipe
            if self._wake is not None:
                with contextlib.suppress(BlockingIOError):
                    while os.read(self._wake[0], 4096):
                        pass
        while True:
            try:
                item = self._incoming.get_nowait()
            except queue.Empty:
                break
            if item is _CLOSED:
                self._incoming.put(item)
                on_closed()
                return True
            on_message(item)
        self._receiver = (on_message, on_closed)
        return True

    def stop_delivering(self) -> None:
        self._receiver = None

    def fileno(self) -> int | None:
        """The wake-up pipe's reading end, readable while messages wait (None: read on a thread)."""
        return self._wake[0] if self._wake is not None else None

    def kill(self) -> None:
        if self._host.runner.loop.is_running():
            self._host.runner.spawn(self._control("kill"))

    def close(self) -> None:
        if not self.closed.is_set():
            self.reason = self.reason or "closed by the core"
            self.closed.set()
        self._incoming.put(_CLOSED)
        # The connector stops watching before it closes; the bus's thread checks under the lock,
        # so it never writes to a number the system has since given to another file.
        with self._wake_lock:
            wake, self._wake = self._wake, None
        for fd in wake or ():
            os.close(fd)
        loop = self._host.runner.loop
        if loop.is_running() and self._outgoing is not None:
            loop.call_soon_threadsafe(self._outgoing.put_nowait, _CLOSED)
            self._host.runner.spawn(self._shut())


class RemoteWorker:
    """The core's handle on a worker that runs on a worker host."""

    def __init__(self, channel: NatsChannel, pid: int | None, host: str) -> None:
        self._channel = channel
        self.pid = pid
        self.host = host

    def alive(self) -> bool:
        return not self._channel.closed.is_set()

    def kill(self) -> None:
        self._channel.kill()

    def wait(self, timeout: float) -> bool:
        return self._channel.closed.wait(timeout)

    @property
    def exitcode(self) -> int | None:
        return None  # the host's own words come with the channel's reason

    @property
    def reason(self) -> str:
        """Why the worker went, as the bus told it (the host's notice, a lapsed lease); "" while up."""
        return self._channel.reason if self._channel.closed.is_set() else ""


def _named_workers(value: bytes | None) -> dict[str, Any] | None:
    """The workers a host's lease names, {account: generation}; None if it is not one."""
    try:
        named = json.loads(value or b"").get("accounts")
    except (ValueError, AttributeError):
        return None
    return named if isinstance(named, dict) else None


class NatsHost:
    """A ``WorkerHost`` whose workers run on worker hosts reached over NATS: ``start`` asks the host
    serving the account for a fresh worker and returns a channel to it. Local pipes stay the
    default; this is chosen per account where workers run elsewhere."""

    def __init__(self, options: NatsOptions, loop: asyncio.AbstractEventLoop | None = None, *,
                 own_thread: bool = False) -> None:
        self.options = options
        # With ``loop`` (the copier's own asyncio loop) the client runs on it; without, on the loop
        # of the first connector to start a worker through it (``adopt_loop``), or on a thread of its
        # own for a synchronous caller, or when ``own_thread`` asks for one.
        self.runner: LoopThread | SharedLoop | None = SharedLoop(loop) if loop is not None else None
        self._own_thread = own_thread
        self.nc = None
        self.js = None
        self.leases = None
        self.started = None
        self._lock = threading.Lock()
        # Lease following, on the bus's loop: the current channel per account, when its lease was
        # last seen renewed for that channel's worker (loop time) and at which revision.
        self._followed: dict[str, NatsChannel] = {}
        self._lease_seen: dict[str, tuple[float, int]] = {}
        self._lease_tasks: list[asyncio.Task] = []
        self._watcher: asyncio.Task | None = None
        self._watch_heard = 0.0

    def _ensure(self) -> None:
        with self._lock:
            if self.nc is not None:
                return
            self.runner = self.runner or LoopThread("nats-core")
            self.runner.call(self._connect(), timeout=self.options.connect_timeout_s * 3)

    async def _connect(self) -> None:
        self.nc = await connect(self.options, name="copier-core")
        self.js = self.options.jetstream(self.nc)
        self.leases, self.started = await ensure_streams(self.js, self.options)

    def start(self, config: Any) -> tuple[NatsChannel, RemoteWorker]:
        account = config.account_id
        account_token(account)
        self._ensure()
        channel = NatsChannel(self, account)
        try:
            answer = self.runner.call(self._attach(channel), timeout=self.options.connect_timeout_s * 6)
        except BaseException:
            channel.close()  # its subscriptions go with it
            raise
        if not answer or not answer.get("ok"):
            channel.close()
            why = (answer or {}).get("error") or "no worker host answered for it"
            raise ConnectionError(f"no worker host serves {account} on {self.options.url} ({why})")
        channel.generation = answer.get("generation")
        channel.lease_key = host_lease_key(str(answer.get("host")))
        self.runner.spawn(self._follow(channel))
        return channel, RemoteWorker(channel, answer.get("pid"), str(answer.get("host")))

    # ---------------------------------------------------------------- leases, on the bus's loop
    # Each worker host renews one lease, naming every worker it runs by generation (a lease per
    # account was a write a second for each, each pushed here: 400 messages a second on the bus for
    # 200 accounts at rest). One watcher of the whole bucket has every renewal pushed to it. A
    # watcher sees no expiry, and can lag or stall: an account whose worker is not seen named in a
    # renewal for two beats, or a renewal that no longer names it, has its host's lease read
    # directly (the latest value decides), and only then is its channel closed. A stalled watcher
    # thus costs a read per host and beat, never a missed lapse.
    async def _follow(self, channel: NatsChannel) -> None:
        account = account_token(channel.account)
        self._followed[account] = channel
        self._lease_seen[account] = (asyncio.get_running_loop().time(), 0)
        if not self._lease_tasks:
            self._restart_watcher()
            self._lease_tasks.append(asyncio.create_task(self._sweep_leases(), name="nats-lease-sweep"))

    def _restart_watcher(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
        self._watch_heard = asyncio.get_running_loop().time()
        self._watcher = asyncio.create_task(self._watch_leases(), name="nats-lease-watch")
        self._lease_tasks.append(self._watcher)

    async def _watch_leases(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            watcher = None
            try:
                watcher = await self.leases.watchall()
                async for entry in watcher:
                    self._watch_heard = loop.time()
                    if entry is not None:
                        self._on_lease(entry)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.info("the lease watcher stopped (%s: %s); it starts again", type(exc).__name__, exc)
            finally:
                if watcher is not None:
                    with contextlib.suppress(Exception):
                        await watcher.stop()
            await asyncio.sleep(self.options.lease_beat_s)

    def _on_lease(self, entry: Any) -> None:
        channels = [c for c in self._followed.values() if c.lease_key == entry.key and not c.closed.is_set()]
        if not channels:
            return
        named = _named_workers(entry.value) if entry.operation is None else None
        doubtful = []
        now = asyncio.get_running_loop().time()
        for channel in channels:
            account = channel.account
            if named is not None and named.get(account) == channel.generation:
                if entry.revision > self._lease_seen.get(account, (0.0, 0))[1]:
                    self._lease_seen[account] = (now, entry.revision)
            else:
                doubtful.append(channel)
        if doubtful:
            # Deleted, or no longer naming this worker: maybe a stale push (an earlier renewal), so
            # the bucket's latest value decides.
            asyncio.ensure_future(self._check_leases(entry.key, doubtful))

    async def _sweep_leases(self) -> None:
        loop = asyncio.get_running_loop()
        beat, ttl = self.options.lease_beat_s, self.options.lease_ttl_s
        while True:
            await asyncio.sleep(beat)
            for account, channel in list(self._followed.items()):
                if channel.closed.is_set():
                    self._followed.pop(account, None)
                    self._lease_seen.pop(account, None)
            if not self._followed or not self.nc.is_connected:
                continue  # the bus itself is away (a server restart): the heartbeats judge meanwhile
            now = loop.time()
            if now - self._watch_heard > max(ttl, 2 * beat):
                self._restart_watcher()  # not one renewal heard of any followed account: stalled
            late: dict[str, list[NatsChannel]] = {}
            for account, channel in self._followed.items():
                if now - self._lease_seen[account][0] > 2 * beat:
                    late.setdefault(channel.lease_key, []).append(channel)
            if late:
                await asyncio.gather(*(self._check_leases(key, channels) for key, channels in late.items()))

    async def _check_leases(self, key: str, channels: list[NatsChannel]) -> None:
        """Read the host's lease ``key`` once and judge each of its ``channels`` by it."""
        from nats.js.errors import KeyNotFoundError

        try:
            entry = await self.leases.get(key)
        except KeyNotFoundError:
            entry = None
        except Exception:
            return  # the bus itself is away: the heartbeats judge meanwhile
        named = _named_workers(entry.value) if entry is not None else None
        now = asyncio.get_running_loop().time()
        for channel in channels:
            account = channel.account
            if self._followed.get(account) is not channel or channel.closed.is_set():
                continue
            if entry is None:
                channel._close_from_bus(f"its worker host's lease lapsed (no renewal for "
                                        f"{self.options.lease_ttl_s:.0f} s)")
            elif named is None:
                channel._close_from_bus(f"its worker host's lease under {key!r} could not be read")
            elif named.get(account) != channel.generation:
                channel._close_from_bus("its worker host no longer runs this worker" if account not in named
                                        else "another worker now holds the account's lease")
            elif entry.revision > self._lease_seen.get(account, (0.0, 0))[1]:
                self._lease_seen[account] = (now, entry.revision)

    def use_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Run the client on ``loop``, the copier's own, from the first connection on."""
        with self._lock:
            if self.runner is not None and self.runner.loop is not loop:
                raise RuntimeError("the bus's client already runs on another loop")
            self.runner = SharedLoop(loop)

    def adopt_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Run the client on ``loop``, the loop of the first connector that starts a worker through
        this host, unless it already has one. On the copier's loop a reply is read where it is used:
        no hop between threads for each message, and no second loop's thread competing with the
        copier's for the interpreter (measured: NATS p50 2.30x pipes on a thread, 1.38x on the loop)."""
        with self._lock:
            if self.runner is None and not self._own_thread:
                self.runner = SharedLoop(loop)

    async def _close(self, nc: Any = None) -> None:
        nc = nc or self.nc
        current = asyncio.current_task()
        if getattr(self.runner, "shared", False):
            # The copier's loop: only this host's own tasks go; nats-py closes its own.
            tasks = [t for t in self._lease_tasks if t is not current]
            for channel in self._followed.values():
                tasks += channel._tasks
        else:
            tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if nc is not None:
            await nc.close()

    async def _attach(self, channel: NatsChannel) -> dict | None:
        await channel.open()
        return await channel._control("start")

    def close(self) -> None:
        if self.runner is None:
            return
        runner = self.runner
        if getattr(runner, "shared", False) and (runner.on_loop() or not runner.loop.is_running()):
            # From the copier's own loop, which cannot wait on itself: the close runs on its next
            # turns. A loop already stopped took the connection's sockets with it.
            if runner.loop.is_running() and self.nc is not None:
                runner.spawn(self._close(self.nc))
            self.nc = None
            return
        with contextlib.suppress(Exception):
            runner.call(self._close(), timeout=10.0)
        runner.stop()
        self.nc = None


__all__ = ["READ_OPS", "NatsChannel", "NatsHost", "NatsOptions", "NatsSetupError", "RemoteWorker", "SharedLoop",
           "account_token",
           "connect", "ensure_streams", "host_lease_key", "message_id", "started_key", "tag_prefix", "tagged"]
