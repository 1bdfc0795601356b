"""The Linux side of the bridge: an object with the MetaTrader5 module's API, over RPyC on an
authenticated TLS connection, whose results are the package's own result types, so the MT5
connector cannot tell it from the module.
"""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Callable

import rpyc

from copier_gui import secrets
from copier_gui.bridge import pairing
from copier_gui.bridge.handshake import (
    PAIRING_HINT,
    BridgeAuthError,
    NotABridge,
    NoTLS,
    client_handshake,
)
from copier_gui.bridge.probe import identify
from copier_gui.bridge.remote_module import RemoteModule
from copier_gui.bridge.server import (
    DEFAULT_PORT,
    HANDSHAKE_TIMEOUT_S,
    PROTOCOL_CONFIG,
    TLSStream,
)

# The package's constants never change between releases, and reading each off the server would be
# a round trip; the simulator's copy is checked against the package's list by its own tests.
# After the bridge refused the secret, the same secret is not tried again for this long: the
# copier retries a lost terminal every second, and each try would be one more refusal in the
# bridge's log. A secret changed in the keyring is tried at once.
REFUSAL_HOLD_S = 30.0
# As rpyc.connect leaves it: a read that times out is retried, sync_request_timeout bounds a call.
_SOCKET_TIMEOUT_S = 3.0

SecretProvider = Callable[[], "str | None"]


def connect(host: str, port: int, secret: str | None, *, timeout: float = 300.0,
            handshake_timeout: float = HANDSHAKE_TIMEOUT_S) -> rpyc.Connection:
    """An RPyC connection to the bridge at ``host:port``, over TLS, after both sides proved they
    know ``secret``. Every failure is an OSError whose message names ``host:port``."""
    where = f"{host}:{port}"
    if not secret:
        raise BridgeAuthError(f"the copier has no shared secret for the bridge at {where}: {PAIRING_HINT}")
    try:
        sock = socket.create_connection((host, port), timeout=handshake_timeout)
    except ConnectionRefusedError:
        raise ConnectionRefusedError(f"nothing is listening at {where}: start the bridge there "
                                     "(python -m copier_gui.bridge.server)") from None
    except TimeoutError:
        raise TimeoutError(f"the bridge at {where} did not answer within {handshake_timeout:g} s") from None
    except OSError as exc:
        raise ConnectionError(f"could not reach the bridge at {where} ({exc})") from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        conn = client_handshake(sock, secret, where=where, timeout=handshake_timeout)
    except NoTLS as exc:
        raise NotABridge(what_answered(host, port, exc.detail, timeout=handshake_timeout)) from None
    conn.settimeout(_SOCKET_TIMEOUT_S)
    try:
        return rpyc.connect_stream(TLSStream(conn), config=dict(PROTOCOL_CONFIG, sync_request_timeout=timeout))
    except BaseException:
        conn.close()
        raise


def what_answered(host: str, port: int, tls_failure: str, *, timeout: float) -> str:
    """What to tell the trader when the bridge's port answered without TLS: what it is instead."""
    where = f"{host}:{port}"
    answer = identify(host, port, timeout=timeout)
    if answer.classic:
        return (f"an mt5linux server (rpyc classic) answered at {where}, not a copier_gui bridge: set this "
                "account's bridge to mt5linux to use it (\"bridge_kind\": \"mt5linux\"), knowing that such a "
                "server runs any code a client sends, as the terminal's user, with no password and no "
                "encryption (see docs/bridge-mt5linux.md); or start the copier_gui bridge there instead")
    if answer.service == "MT5":
        return (f"an rpyc server of another kind (service MT5) answered at {where}: an older copier_gui "
                "bridge without encryption? Run the same copier_gui version on both sides")
    if answer.service is not None:
        return (f"an rpyc server of another kind (service {answer.service}) answered at {where}, neither a "
                "copier_gui bridge nor an mt5linux server: is another program using that port?")
    return (f"something that is not an rpyc server answered at {where}: not a copier_gui bridge (it does "
            f"not speak TLS: {tls_failure}) nor an mt5linux server; is another program using that port?")


class MT5Bridge(RemoteModule):
    """One connection to a bridge server; ``terminal`` picks one of a test broker's terminals.

    Connects on first use and again after the connection drops. A lost or refused connection
    raises OSError or EOFError, as the MT5 connector expects of a bridge; a secret that is missing
    or refused raises BridgeAuthError, a ConnectionError whose message says how to pair.

    ``secret`` returns the bridge's shared secret when a connection is made (default: the one
    paired in the keyring for ``host:port``); the secret is not kept between connections.
    """

    where = "through the bridge"

    def __init__(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *, terminal: str | None = None,
                 timeout: float = 300.0, secret: SecretProvider | None = None,
                 handshake_timeout: float = HANDSHAKE_TIMEOUT_S) -> None:
        self.host = host
        self.port = int(port)
        self.terminal = terminal
        self.timeout = float(timeout)
        self.handshake_timeout = float(handshake_timeout)
        self._secret = secret or (lambda: pairing.bridge_secret(self.host, self.port))
        self._refused: tuple[float, bytes, BridgeAuthError] | None = None
        super().__init__()

    def __repr__(self) -> str:
        return f"MT5Bridge({self.host!r}, {self.port}, terminal={self.terminal!r})"

    def _read_secret(self) -> str | None:
        try:
            return self._secret()
        except secrets.SecretsUnavailable as exc:
            raise BridgeAuthError(f"could not read the shared secret for the bridge at "
                                  f"{self.host}:{self.port}: {exc.message}") from None

    def _connect(self):
        secret = self._read_secret()
        digest = hashlib.sha256(secret.encode()).digest() if secret else b""
        if self._refused is not None:
            until, refused_digest, error = self._refused
            if refused_digest == digest and time.monotonic() < until:
                raise BridgeAuthError(str(error))
            self._refused = None
        try:
            conn = connect(self.host, self.port, secret, timeout=self.timeout,
                           handshake_timeout=self.handshake_timeout)
        except BridgeAuthError as exc:
            if secret:
                self._refused = (time.monotonic() + REFUSAL_HOLD_S, digest, exc)
            raise
        finally:
            secret = None
        try:
            if not conn.root.open(self.terminal):
                raise ConnectionRefusedError(
                    f"the bridge at {self.host}:{self.port} has no terminal {self.terminal!r}")
            # One netref to the bound method: each API call is then one round trip, not two.
            remote_call = conn.root.call
        except BaseException:
            conn.close()
            raise
        self._conn, self._remote_call = conn, remote_call
        return remote_call
