"""The Windows side of the bridge: an RPyC service around the MetaTrader5 module, served only to a
client that proves it knows the bridge's shared secret over TLS (:mod:`copier_gui.bridge.handshake`),
sending results as plain values (the package's struct sequences cannot be pickled).
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import socket
import threading
from collections.abc import Callable, Mapping
from typing import Any

import rpyc
from rpyc.core.stream import SocketStream
from rpyc.utils.authenticators import AuthenticationError
from rpyc.utils.helpers import classpartial
from rpyc.utils.server import ThreadedServer

from copier_gui.bridge.handshake import HandshakeFailed, ServerTLS, server_handshake

DEFAULT_PORT = 18812
HANDSHAKE_TIMEOUT_S = 10.0

# The module's functions. Only these can be called: unlike mt5linux's classic server, nothing
# here evaluates code a client sends.
API_FUNCTIONS = frozenset({
    "initialize", "login", "shutdown", "version", "last_error", "account_info", "terminal_info",
    "symbols_total", "symbols_get", "symbol_info", "symbol_info_tick", "symbol_select",
    "market_book_add", "market_book_get", "market_book_release",
    "copy_rates_from", "copy_rates_from_pos", "copy_rates_range", "copy_ticks_from",
    "copy_ticks_range", "orders_total", "orders_get", "positions_total", "positions_get",
    "history_orders_total", "history_orders_get", "history_deals_total", "history_deals_get",
    "order_calc_margin", "order_calc_profit", "order_check", "order_send",
})
STRUCT_NAMES = frozenset({
    "TradePosition", "TradeOrder", "TradeDeal", "TradeRequest", "OrderSendResult",
    "OrderCheckResult", "Tick", "TerminalInfo", "SymbolInfo", "AccountInfo", "BookInfo",
})

# Tags for values RPyC's brine cannot carry by value (it would send a remote reference instead):
# a tuple starting with one of these is a tagged value, never API data.
TAG_STRUCT = "\x00mt5:struct"
TAG_DICT = "\x00mt5:dict"
TAG_ARRAY = "\x00mt5:ndarray"

PROTOCOL_CONFIG = {
    "allow_public_attrs": False,
    "allow_pickle": False,
    "include_local_traceback": False,  # a traceback could quote a request, password included
    "sync_request_timeout": 300,
}

log = logging.getLogger("copier_gui.bridge.server")


def to_plain(value: Any) -> Any:
    """A result or argument as values brine sends by value: structs, dicts and arrays tagged."""
    if value is None:
        return None
    if isinstance(value, (bool, int, float, str, bytes)):
        # numpy's float64 subclasses float and would arrive as a remote reference: make it plain.
        return value if type(value) in (bool, int, float, str, bytes) else _scalar(value)
    if isinstance(value, tuple) and type(value).__name__ in STRUCT_NAMES and hasattr(value, "_asdict"):
        return (TAG_STRUCT, type(value).__name__, tuple(to_plain(v) for v in value))
    if isinstance(value, (tuple, list)):
        return tuple(to_plain(v) for v in value)
    if isinstance(value, dict):
        return (TAG_DICT, tuple((str(k), to_plain(v)) for k, v in value.items()))
    kind = type(value).__module__.split(".")[0]
    if kind == "numpy":
        if hasattr(value, "dtype") and hasattr(value, "shape") and getattr(value, "ndim", 0) > 0:
            return (TAG_ARRAY, _descr(value.dtype), tuple(value.shape), value.tobytes())
        return _scalar(value)
    if hasattr(value, "timestamp"):  # datetime: the module reads a naive one as this host's local time
        return int(value.timestamp())
    raise TypeError(f"the bridge cannot carry a {type(value).__name__}")


def _scalar(value: Any) -> Any:
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bytes):
        return bytes(value)
    item = getattr(value, "item", None)
    if item is not None:
        return item()
    raise TypeError(f"the bridge cannot carry a {type(value).__name__}")


def _descr(dtype: Any) -> tuple:
    return tuple((name, str(dtype.fields[name][0].str)) for name in dtype.names) if dtype.names else (
        ("", dtype.str),)


def from_plain(value: Any, structs: Mapping[str, Callable] | None = None) -> Any:
    """Undo :func:`to_plain`; ``structs`` maps type names to constructors (None keeps tuples)."""
    if isinstance(value, tuple):
        if value and value[0] == TAG_STRUCT:
            _, name, items = value
            items = tuple(from_plain(v, structs) for v in items)
            make = structs.get(name) if structs else None
            return make(items) if make is not None else items
        if value and value[0] == TAG_DICT:
            return {k: from_plain(v, structs) for k, v in value[1]}
        if value and value[0] == TAG_ARRAY:
            import numpy as np

            _, descr, shape, raw = value
            if len(descr) == 1 and descr[0][0] == "":
                dtype = np.dtype(descr[0][1])
            else:
                dtype = np.dtype([(name, code) for name, code in descr])
            return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        return tuple(from_plain(v, structs) for v in value)
    return value


class MT5Service(rpyc.Service):
    """Calls the module's functions for one client; ``terminals`` maps names to API objects.

    A real server hosts one terminal (the module is bound to one per process); a test broker hosts
    several simulated ones. Calls to one terminal are serialized: the module is not thread-safe.
    """

    def __init__(self, terminals: Mapping[str, Any], locks: Mapping[str, threading.Lock]) -> None:
        super().__init__()
        self._terminals = terminals
        self._locks = locks
        self._name = next(iter(terminals)) if len(terminals) == 1 else None

    def exposed_open(self, name: str | None) -> bool:
        """Choose the terminal this connection talks to; False if there is no such terminal."""
        if name is None:
            return self._name is not None
        if not isinstance(name, str) or name not in self._terminals:
            return False
        self._name = name
        return True

    def exposed_call(self, function: str, args: tuple, kwargs: tuple) -> Any:
        if function not in API_FUNCTIONS:
            raise AttributeError(f"the bridge does not serve {function!r}")
        if self._name is None:
            raise LookupError("no terminal chosen: call open(name) first")
        api = self._terminals[self._name]
        call_args = from_plain(tuple(args))
        call_kwargs = {str(k): from_plain(v) for k, v in kwargs}
        with self._locks[self._name]:
            result = getattr(api, function)(*call_args, **call_kwargs)
        return to_plain(result)


class TLSStream(SocketStream):
    """RPyC's socket stream over TLS: bytes already decrypted and buffered count as readable,
    since select() on the socket cannot see them."""

    __slots__ = ()

    def poll(self, timeout):
        if self.sock.fileno() < 0:
            # Closed under a serving thread (the server stopping): an end, not an error to log.
            raise EOFError("the connection is closed")
        pending = getattr(self.sock, "pending", None)
        if pending is not None and pending():
            return True
        return super().poll(timeout)


class SharedSecretAuthenticator:
    """RPyC's authenticator hook: TLS, then the shared-secret proof, before any RPyC byte."""

    def __init__(self, secret: str, *, timeout: float = HANDSHAKE_TIMEOUT_S) -> None:
        if not secret:
            raise ValueError("a bridge server needs its shared secret")
        self._secret = secret
        self._tls = ServerTLS()
        self.timeout = timeout

    def __repr__(self) -> str:  # the secret must not show up in any log or traceback
        return f"{type(self).__name__}(timeout={self.timeout})"

    def __call__(self, sock: socket.socket):
        peer = _peer(sock)
        try:
            return server_handshake(sock, self._tls, self._secret, timeout=self.timeout), None
        except HandshakeFailed as exc:
            log.warning("bridge: refused a connection from %s: %s", peer, exc)
            raise AuthenticationError(str(exc)) from None


def _peer(sock: socket.socket) -> str:
    try:
        host, port = sock.getpeername()[:2]
    except OSError:
        return "an unknown address"
    return f"{host}:{port}"


class BridgeServer(ThreadedServer):
    """RPyC's threaded server over the authenticated TLS sockets."""

    def _authenticate_and_serve_client(self, sock):
        try:
            sock.getpeername()
        except OSError:
            # Closed before this thread began (the server stopping): nothing to serve or report.
            self.clients.discard(sock)
            return
        super()._authenticate_and_serve_client(sock)

    def _serve_client(self, sock, credentials):
        # As ThreadedServer's, with a stream that knows TLS; the TLS socket is tracked so close()
        # ends its connection too (wrapping detached the socket the base class tracks).
        addrinfo = sock.getpeername()
        self.clients.add(sock)
        self.logger.info(f"welcome {addrinfo}")
        try:
            config = dict(self.protocol_config, credentials=credentials,
                          endpoints=(sock.getsockname(), addrinfo), logger=self.logger)
            conn = self.service._connect(rpyc.Channel(TLSStream(sock)), config)
            self._handle_connection(conn)
        finally:
            self.clients.discard(sock)
            self.logger.info(f"goodbye {addrinfo}")


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def check_loopback(host: str) -> None:
    if not is_loopback(host):
        raise ValueError(f"the bridge listens on loopback only, not {host!r}, unless told otherwise "
                         "(--allow-remote): anyone who learns its shared secret can trade the account")


def make_server(terminals: Mapping[str, Any], *, secret: str, host: str = "127.0.0.1",
                port: int = DEFAULT_PORT, service: type[MT5Service] = MT5Service,
                allow_remote: bool = False, handshake_timeout: float = HANDSHAKE_TIMEOUT_S) -> ThreadedServer:
    """A threaded RPyC server for ``terminals`` on ``host``, for clients that know ``secret``.

    Loopback only unless ``allow_remote``. Call ``start()``.
    """
    if not allow_remote:
        check_loopback(host)
    authenticator = SharedSecretAuthenticator(secret, timeout=handshake_timeout)
    locks = {name: threading.Lock() for name in terminals}
    factory = classpartial(service, terminals, locks)
    return BridgeServer(factory, hostname=host, port=port, protocol_config=dict(PROTOCOL_CONFIG),
                        logger=log, authenticator=authenticator)


def pairing_text(host: str, port: int, secret: str, *, new: bool) -> str:
    """What the trader gives the copier, for this server's console (never for a log)."""
    head = "A new shared secret was made for this bridge." if new else "This bridge's shared secret:"
    return (f"{head}\n\n    {secret}\n\n"
            f"Give it to copier_gui for the bridge at {host}:{port} (the address the copier reaches): "
            "in Link an account > MetaTrader 5 through the Linux bridge, paste it into Shared secret, "
            "or pass it to `copier-gui accounts link`. It is kept in this computer's keyring; "
            "show it again with --show-pairing.\n")


def main(argv: list[str] | None = None) -> None:
    """Run in the Python that has the ``MetaTrader5`` package (Windows Python under Wine, beside
    terminal64.exe, with copier_gui, rpyc, cryptography and keyring installed):
    ``python -m copier_gui.bridge.server [--port 18812]``. rpyc must be the copier's major version.
    """
    parser = argparse.ArgumentParser(
        prog="python -m copier_gui.bridge.server",
        description="Serve this Python's MetaTrader5 module to copier_gui over TLS, to a copier that "
                    "knows the bridge's shared secret.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; another needs --allow-remote)")
    parser.add_argument("-p", "--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow an address beyond loopback: the connection is encrypted and "
                             "needs the shared secret, but it is reachable from other machines")
    parser.add_argument("--show-pairing", action="store_true",
                        help="print the shared secret to give the copier, and exit")
    parser.add_argument("--new-secret", action="store_true",
                        help="replace the shared secret (copiers paired before must be paired again)")
    options = parser.parse_args(argv)
    if not options.allow_remote and not is_loopback(options.host):
        parser.error(f"{options.host} is not a loopback address: pass --allow-remote too if other "
                     "machines should reach this bridge (anyone who learns its shared secret can "
                     "trade the account)")
    from copier_gui import secrets
    from copier_gui.bridge.pairing import server_secret, server_secret_key

    try:
        secret, new = server_secret(server_secret_key(options.port), renew=options.new_secret)
    except secrets.SecretsUnavailable as exc:
        parser.exit(2, f"{parser.prog}: {exc.message}\n")
    if new or options.show_pairing:
        # The trader's own console, and only it: the secret is never logged.
        print(pairing_text(options.host, options.port, secret, new=new), flush=True)
    if options.show_pairing:
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        import MetaTrader5
    except ImportError:
        parser.exit(2, f"{parser.prog}: this Python has no MetaTrader5 package: run the bridge in the "
                       "Windows Python beside the terminal, after `pip install MetaTrader5`\n")
    try:
        server = make_server({"default": MetaTrader5}, secret=secret, host=options.host,
                             port=options.port, allow_remote=options.allow_remote)
    except OSError as exc:
        parser.exit(2, f"{parser.prog}: cannot listen on {options.host}:{options.port} ({exc})\n")
    del secret
    log.info("serving MetaTrader5 %s on %s:%s over TLS, to copiers that know the shared secret",
             getattr(MetaTrader5, "__version__", "?"), options.host, server.port)
    if not is_loopback(options.host):
        log.warning("the bridge is reachable beyond this computer at %s:%s", options.host, server.port)
    server.start()


if __name__ == "__main__":
    main()
