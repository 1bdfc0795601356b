"""The bridge's closed channel, on real sockets: TLS and the shared secret, what crosses the wire,
refusals on both sides, wrong servers on the bridge's port, and a relaying man in the middle."""

from __future__ import annotations

import contextlib
import http.server
import logging
import socket
import socketserver
import ssl
import threading
import time

import pytest
import rpyc
from rpyc.utils.server import ThreadedServer

from copier_gui.bridge import MT5Bridge
from copier_gui.bridge import client as bridge_client
from copier_gui.bridge.handshake import GREETING_PREFIX, BridgeAuthError, NotABridge, ServerTLS
from copier_gui.bridge.pairing import new_secret, store_bridge_secret
from copier_gui.bridge.server import PROTOCOL_CONFIG, MT5Service, make_server
from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector
from copier_gui.core.ports import ConnectorError
from copier_gui.sim import new_terminal

PASSWORD = "Wire-Passw0rd-7781"
SECRET = new_secret()
LOGIN, SERVER = 701, "MeridianMarkets-Demo"


def _terminal():
    return new_terminal("meridian_ecn", seed=3, clock=SYSTEM_CLOCK, login=LOGIN, password=PASSWORD)


def _run_in_thread(server) -> threading.Thread:
    thread = threading.Thread(target=server.start, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.active:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.005)
    return thread


@contextlib.contextmanager
def bridge_server(secret: str = SECRET, **kw):
    """A real bridge server in this process, on loopback, with one simulated terminal."""
    server = make_server({"alpha": _terminal()}, secret=secret, port=0, **kw)
    thread = _run_in_thread(server)
    try:
        yield server
    finally:
        server.close()
        thread.join(5)


@contextlib.contextmanager
def tcp_server(handler: type[socketserver.BaseRequestHandler]):
    """Any other program on the bridge's port."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


class Relay:
    """A TCP relay on loopback that records every byte either way: the wire, as anyone on the path
    sees it. With ``tls`` it is a man in the middle instead: it ends the client's TLS with its own
    certificate, opens its own TLS to the server, and relays (and records) the plaintext."""

    def __init__(self, target_port: int, *, tls: bool = False) -> None:
        self.target_port = target_port
        self.tls = ServerTLS() if tls else None
        self.wire = bytearray()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            if self.tls is not None:
                try:
                    client = self.tls.context.wrap_socket(client, server_side=True)
                    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
                    upstream = context.wrap_socket(upstream)
                except OSError:
                    continue
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                thread = threading.Thread(target=self._pump, args=(a, b), daemon=True)
                thread.start()
                self._threads.append(thread)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                with self._lock:
                    self.wire += data
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()
        for thread in self._threads:
            thread.join(5)


def _forms(text: str) -> list[bytes]:
    return [text.encode(), text.encode("utf-16-le"), text.encode("utf-16-be")]


def _connect_and_login(port: int, secret: str = SECRET) -> None:
    bridge = MT5Bridge(port=port, secret=lambda: secret)
    try:
        assert bridge.initialize(login=LOGIN, password=PASSWORD, server=SERVER), bridge.last_error()
        assert bridge.login(LOGIN, password=PASSWORD, server=SERVER)
        assert bridge.account_info().login == LOGIN
    finally:
        bridge.close()


# ----------------------------------------------------------------------------- the wire

def test_neither_the_password_nor_the_secret_crosses_the_wire():
    with bridge_server() as server:
        relay = Relay(server.port)
        try:
            _connect_and_login(relay.port)
        finally:
            relay.close()
    wire = bytes(relay.wire)
    assert len(wire) > 2000 and wire[0] == 0x16  # the recording saw a TLS session, from its start
    for secret in (PASSWORD, SECRET):
        for form in _forms(secret):
            assert form not in wire
    assert GREETING_PREFIX not in wire  # even the bridge's own greeting is encrypted


def test_the_recording_would_see_a_password_sent_in_clear():
    # The control for the test above: the same relay and search catch the old, plain bridge.
    server = ThreadedServer(MT5Service({"alpha": _terminal()}, {"alpha": threading.Lock()}),
                            hostname="127.0.0.1", port=0, protocol_config=dict(PROTOCOL_CONFIG))
    thread = _run_in_thread(server)
    relay = Relay(server.port)
    try:
        conn = rpyc.connect("127.0.0.1", relay.port, config=dict(PROTOCOL_CONFIG))
        conn.root.call("initialize", (), (("login", LOGIN), ("password", PASSWORD), ("server", SERVER)))
        conn.close()
    finally:
        relay.close()
        server.close()
        thread.join(5)
    assert PASSWORD.encode() in bytes(relay.wire)


# ----------------------------------------------------------------------------- refusals

def test_a_wrong_secret_is_refused_on_both_sides_and_neither_secret_is_logged(caplog):
    caplog.set_level(logging.DEBUG)
    wrong = new_secret()
    with bridge_server() as server:
        bridge = MT5Bridge(port=server.port, secret=lambda: wrong)
        with pytest.raises(BridgeAuthError, match=rf"the bridge at 127\.0\.0\.1:{server.port} refused the shared "
                                                  r"secret: .*--show-pairing"):
            bridge.account_info()
        _connect_and_login(server.port)  # the bridge still serves the right secret
    refusals = [r.getMessage() for r in caplog.records if "refused a connection from 127.0.0.1:" in r.getMessage()]
    assert len(refusals) == 1 and "does not know the shared secret" in refusals[0]
    for secret in (wrong, SECRET, PASSWORD):
        assert secret not in caplog.text


def test_a_refused_secret_is_not_tried_again_until_it_changes(caplog):
    caplog.set_level(logging.WARNING)
    secret = [new_secret()]
    with bridge_server() as server:
        bridge = MT5Bridge(port=server.port, secret=lambda: secret[0])
        for _ in range(3):  # the copier retries a lost terminal every second
            with pytest.raises(BridgeAuthError, match="refused the shared secret"):
                bridge.account_info()
        # The server logs on its own thread, maybe just after the client has its answer.
        deadline = time.monotonic() + 5
        while "refused a connection" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # time for a second refusal to be logged, were there one
        assert caplog.text.count("refused a connection") == 1
        secret[0] = SECRET  # paired again: tried at once
        assert bridge.initialize(login=LOGIN, password=PASSWORD, server=SERVER)
        bridge.close()


def test_no_secret_paired_is_a_clear_message_and_nothing_is_sent():
    with bridge_server() as server:
        bridge = MT5Bridge(port=server.port)  # the keyring has no secret for it
        with pytest.raises(BridgeAuthError, match=rf"no shared secret for the bridge at 127\.0\.0\.1:{server.port}"):
            bridge.account_info()
        store_bridge_secret("127.0.0.1", server.port, SECRET)  # pairing, as the wizard does
        assert bridge.initialize(login=LOGIN, password=PASSWORD, server=SERVER)
        bridge.close()


def test_a_plain_rpyc_client_is_refused_before_anything_is_served(caplog):
    caplog.set_level(logging.INFO)
    with bridge_server() as server:
        conn = rpyc.connect("127.0.0.1", server.port, config=dict(PROTOCOL_CONFIG, sync_request_timeout=10))
        with pytest.raises((EOFError, OSError)):
            conn.root.call("account_info", (), ())
        conn.close()
        # On a loaded machine the client can give up first (its 10 s request time-out) while the
        # server's thread still waits for a TLS handshake (as long again): the refusal is waited for
        # while the server still runs.
        deadline = time.monotonic() + 15
        while "refused a connection" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
    assert "refused a connection from 127.0.0.1:" in caplog.text and "no TLS handshake" in caplog.text


def test_a_tls_client_that_does_not_prove_the_secret_is_refused(caplog):
    caplog.set_level(logging.INFO)
    with bridge_server(handshake_timeout=0.5) as server:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        with context.wrap_socket(socket.create_connection(("127.0.0.1", server.port))) as sock:
            sock.settimeout(5)
            assert sock.recv(len(GREETING_PREFIX)) == GREETING_PREFIX
            sock.sendall(b"\x00\x00\x00\x10\x00 an rpyc frame, say")  # not a proof
            with contextlib.suppress(OSError):
                while sock.recv(4096):
                    pass  # the server answers nothing that helps and closes
        silent = socket.create_connection(("127.0.0.1", server.port))  # connects and says nothing
        silent.settimeout(5)
        assert silent.recv(10) == b""  # dropped after the handshake time-out, not held for ever
        silent.close()
    assert caplog.text.count("refused a connection from 127.0.0.1:") == 2


def test_a_man_in_the_middle_that_relays_the_handshake_is_refused(caplog):
    caplog.set_level(logging.WARNING)
    with bridge_server() as server:
        mitm = Relay(server.port, tls=True)
        try:
            bridge = MT5Bridge(port=mitm.port, secret=lambda: SECRET)
            with pytest.raises(BridgeAuthError, match="refused the shared secret"):
                bridge.initialize(login=LOGIN, password=PASSWORD, server=SERVER)
        finally:
            mitm.close()
        # The same relay without TLS of its own (it sees only ciphertext) is no obstacle.
        relay = Relay(server.port)
        try:
            _connect_and_login(relay.port)
        finally:
            relay.close()
    assert "does not know the shared secret" in caplog.text
    plaintext = bytes(mitm.wire)
    assert GREETING_PREFIX in plaintext  # it did read the handshake in clear...
    assert PASSWORD.encode() not in plaintext and SECRET.encode() not in plaintext  # ...and nothing else


# ----------------------------------------------------------------------------- wrong servers

class _Echo(socketserver.BaseRequestHandler):
    def handle(self):
        with contextlib.suppress(OSError):
            while data := self.request.recv(4096):
                self.request.sendall(data)


class _Http(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _SilentTLS(socketserver.BaseRequestHandler):
    tls = None

    def handle(self):
        with contextlib.suppress(OSError), type(self).tls.context.wrap_socket(self.request, server_side=True) as s:
            s.recv(100)  # waits for a request, as an HTTPS server would


class _NextVersion(_SilentTLS):
    def handle(self):
        with contextlib.suppress(OSError), type(self).tls.context.wrap_socket(self.request, server_side=True) as s:
            s.sendall(GREETING_PREFIX + b"0002\n" + bytes(32))
            s.recv(100)


@pytest.mark.parametrize(("handler", "pattern"), [
    (_Http, r"something that is not an rpyc server answered at 127\.0\.0\.1:{port}: not a copier_gui bridge "
            r"\(it does not speak TLS: SSLError: .*\) nor an mt5linux server; is another program using that port\?"),
    # An echo answers rpyc's question with the copier's own service's name: not taken for rpyc.
    (_Echo, r"something that is not an rpyc server answered at 127\.0\.0\.1:{port}: not a copier_gui bridge "
            r"\(it does not speak TLS: SSLError: .*\) nor an mt5linux server"),
    (_SilentTLS, r"something at 127\.0\.0\.1:{port} answered but it is not a copier_gui bridge: it sent no "
                 r"bridge greeting"),
])
def test_another_program_on_the_bridge_port_is_named_as_such(handler, pattern):
    _SilentTLS.tls = _SilentTLS.tls or ServerTLS()
    with tcp_server(handler) as port:
        bridge = MT5Bridge(port=port, secret=lambda: SECRET, handshake_timeout=1.0)
        with pytest.raises(NotABridge, match=pattern.format(port=port)):
            bridge.initialize()


def test_a_classic_rpyc_server_on_the_bridge_port_is_named_as_such():
    server = ThreadedServer(rpyc.SlaveService, hostname="127.0.0.1", port=0)
    thread = _run_in_thread(server)
    try:
        bridge = MT5Bridge(port=server.port, secret=lambda: SECRET, handshake_timeout=1.0)
        with pytest.raises(NotABridge, match=rf"an mt5linux server \(rpyc classic\) answered at "
                                             rf"127\.0\.0\.1:{server.port}, not a copier_gui bridge"):
            bridge.initialize()
    finally:
        server.close()
        thread.join(5)


def test_another_bridge_protocol_version_is_named():
    _NextVersion.tls = ServerTLS()
    with tcp_server(_NextVersion) as port:
        bridge = MT5Bridge(port=port, secret=lambda: SECRET, handshake_timeout=1.0)
        with pytest.raises(NotABridge, match="speaks bridge protocol 0002, this copier speaks 1"):
            bridge.initialize()


def test_nothing_listening_names_the_address():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with pytest.raises(ConnectionRefusedError, match=rf"nothing is listening at 127\.0\.0\.1:{port}"):
        bridge_client.connect("127.0.0.1", port, SECRET)


# ----------------------------------------------------------------------------- through the connector

@pytest.mark.asyncio
async def test_the_connector_reports_a_refused_secret_naming_the_bridge():
    with bridge_server() as server:
        bridge = MT5Bridge(port=server.port, secret=lambda: "x" * 43)
        connector = MT5Connector("a", bridge, invoker=InlineInvoker(), clock=SYSTEM_CLOCK, login=LOGIN,
                                 password_provider=lambda: PASSWORD)
        with pytest.raises(ConnectorError) as failure:
            await connector.connect()
        message = failure.value.message
        assert f"the bridge at 127.0.0.1:{server.port} refused the shared secret" in message
        assert PASSWORD not in message and "x" * 43 not in message
        bridge.close()
