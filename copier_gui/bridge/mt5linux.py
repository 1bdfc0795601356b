"""An MT5-bridge account on an mt5linux server: the ``MetaTrader5`` module's API, reached over the
rpyc *classic* server that mt5linux runs under Wine next to the terminal.

Such a server runs any code its client sends, has no password and no encryption: whoever reaches
its port can do anything the terminal's user can, and reads the account's password as the copier
logs in. So a server that is not on this computer (loopback) is refused unless the account says
``bridge_kind: mt5linux_remote``; the copier's own bridge (TLS, pairing) is the safer choice.

Why not the ``mt5linux`` package itself:

- it pins ``plumbum==1.7.0``, older than the plumbum this project's rpyc 6 runs with;
- it brings Docker and udocker container management the copier has no use for;
- it sends each call as Python source with the arguments formatted in (the password included) and
  takes results back with ``rpyc.classic.obtain``, which unpickles what the server sends: a hostile
  server could run code in the copier;
- ``rpyc.classic.connect`` serves the client's own process to the server in return.

So this connects as mt5linux does (plain rpyc to the classic service, port 18812 by default), but
offers the server nothing (a VoidService, no pickling), defines one small function on the server
that calls the module and converts results with the bridge's rules (structs, dicts and numpy arrays
as plain tuples that rpyc sends by value), and rebuilds the package's own result types here, so the
MT5 connector cannot tell it from the module.
"""

from __future__ import annotations

import contextlib
import ipaddress
from typing import Any

import rpyc

from copier_gui.bridge.handshake import BridgeError, NotABridge
from copier_gui.bridge.probe import CLASSIC_NAMES, SAFE_CLIENT_CONFIG, InertPeer, identify
from copier_gui.bridge.remote_module import RemoteModule
from copier_gui.bridge.server import (
    API_FUNCTIONS,
    STRUCT_NAMES,
    TAG_ARRAY,
    TAG_DICT,
    TAG_STRUCT,
)

__all__ = ["DEFAULT_PORT", "MT5LinuxBridge", "is_loopback"]

DEFAULT_PORT = 18812  # mt5linux's default, as rpyc's classic server
CONNECT_TIMEOUT_S = 10.0
DOCS = "docs/bridge-mt5linux.md"
_CALL = "_copier_gui_mt5_call"

# Run once on the server, in the classic service's namespace: Python 3 with nothing of copier_gui.
# It mirrors ``server.to_plain`` and ``server.from_plain`` (a test checks they agree), so results
# cross by value and the copier never unpickles nor reads a remote object attribute by attribute.
_REMOTE_SOURCE = f'''
def _copier_gui_plain(value):
    if value is None:
        return None
    if isinstance(value, (bool, int, float, str, bytes)):
        if type(value) in (bool, int, float, str, bytes):
            return value
        return _copier_gui_scalar(value)
    if isinstance(value, tuple) and type(value).__name__ in {sorted(STRUCT_NAMES)!r} and hasattr(value, "_asdict"):
        return ({TAG_STRUCT!r}, type(value).__name__, tuple(_copier_gui_plain(v) for v in value))
    if isinstance(value, (tuple, list)):
        return tuple(_copier_gui_plain(v) for v in value)
    if isinstance(value, dict):
        return ({TAG_DICT!r}, tuple((str(k), _copier_gui_plain(v)) for k, v in value.items()))
    if type(value).__module__.split(".")[0] == "numpy":
        if hasattr(value, "dtype") and hasattr(value, "shape") and getattr(value, "ndim", 0) > 0:
            dtype = value.dtype
            if dtype.names:
                descr = tuple((name, str(dtype.fields[name][0].str)) for name in dtype.names)
            else:
                descr = (("", dtype.str),)
            return ({TAG_ARRAY!r}, descr, tuple(value.shape), value.tobytes())
        return _copier_gui_scalar(value)
    if hasattr(value, "timestamp"):
        return int(value.timestamp())
    raise TypeError("the bridge cannot carry a " + type(value).__name__)


def _copier_gui_scalar(value):
    for kind in (bool, int, float, str, bytes):
        if isinstance(value, kind):
            return kind(value)
    item = getattr(value, "item", None)
    if item is not None:
        return item()
    raise TypeError("the bridge cannot carry a " + type(value).__name__)


def _copier_gui_unplain(value):
    if isinstance(value, tuple):
        if value and value[0] == {TAG_DICT!r}:
            return dict((k, _copier_gui_unplain(v)) for k, v in value[1])
        return tuple(_copier_gui_unplain(v) for v in value)
    return value


def {_CALL}(function, args, kwargs):
    import MetaTrader5
    if function not in {sorted(API_FUNCTIONS)!r}:
        raise AttributeError("not served: " + repr(function))
    call_args = _copier_gui_unplain(tuple(args))
    call_kwargs = dict((str(k), _copier_gui_unplain(v)) for k, v in kwargs)
    return _copier_gui_plain(getattr(MetaTrader5, function)(*call_args, **call_kwargs))
'''


def is_loopback(host: str) -> bool:
    """True for an address of this computer only: ``localhost``, 127.0.0.0/8 or ::1.

    Names other than localhost are not resolved: what a name points to can change after the check.
    """
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


class MT5LinuxBridge(RemoteModule):
    """The MetaTrader5 module behind an mt5linux (rpyc classic) server at ``host:port``.

    Connects on first use and again after the connection drops. A lost or refused connection
    raises OSError or EOFError, as the MT5 connector expects of a bridge; something other than a
    classic rpyc server on the port raises NotABridge, saying what answered.

    ``allow_remote`` lets ``host`` be another computer: the password then crosses the network in
    clear, and anyone on the path can take over the server. Without it such a host raises
    BridgeError here, before anything is sent.
    """

    where = "on the mt5linux server"

    def __init__(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *, allow_remote: bool = False,
                 timeout: float = 300.0, connect_timeout: float = CONNECT_TIMEOUT_S) -> None:
        if not allow_remote and not is_loopback(host):
            raise BridgeError(
                f"the mt5linux server at {host}:{port} is not on this computer, and an mt5linux server "
                "has no encryption: the account's password would cross the network in clear, and anyone "
                "who reaches that port can run any program as the terminal's user. Reach it through an "
                "SSH tunnel to 127.0.0.1, use the copier_gui bridge (TLS and pairing), or accept the "
                f"risk with \"bridge_kind\": \"mt5linux_remote\" (see {DOCS})")
        self.host = host
        self.port = int(port)
        self.timeout = float(timeout)
        self.connect_timeout = float(connect_timeout)
        super().__init__()

    def __repr__(self) -> str:
        return f"MT5LinuxBridge({self.host!r}, {self.port})"

    def _connect(self):
        where = f"{self.host}:{self.port}"
        try:
            conn = rpyc.connect(self.host, self.port, service=InertPeer, ipv6=":" in self.host,
                                config=dict(SAFE_CLIENT_CONFIG, sync_request_timeout=self.connect_timeout))
        except ConnectionRefusedError:
            raise ConnectionRefusedError(f"nothing is listening at {where}: start the mt5linux server there "
                                         f"(see {DOCS})") from None
        except TimeoutError:
            raise TimeoutError(f"the mt5linux server at {where} did not answer within "
                               f"{self.connect_timeout:g} s") from None
        except OSError as exc:
            raise ConnectionError(f"could not reach the mt5linux server at {where} ({exc})") from None
        try:
            try:
                name = conn.root.get_service_name()
            except Exception:  # silence or garbage: ask again, politely, what it is
                name = identify(self.host, self.port, timeout=self.connect_timeout).service
            if name not in CLASSIC_NAMES:
                what = (f"an rpyc server of another kind (service {name})" if name
                        else "something that is not an rpyc server")
                hint = ("; if it is a copier_gui bridge, set this account's bridge back to copier"
                        if name is None or name == "MT5" else "")
                raise NotABridge(f"{where} is not an mt5linux server: {what} answered{hint}")
            try:
                conn.root.execute("import MetaTrader5")
            except Exception as exc:  # the server's own failure, as rpyc rebuilds it here
                raise BridgeError(f"the mt5linux server at {where} cannot import the MetaTrader5 package "
                                  f"({type(exc).__name__}): install it in the Windows Python that runs "
                                  "the server") from None
            conn.root.execute(_REMOTE_SOURCE)
            remote_call = conn.root.eval(_CALL)
            # Set up in connect_timeout; calls then get the module's long timeout. rpyc keeps a
            # live connection's timeout only in its config, with no public setter.
            conn._config["sync_request_timeout"] = self.timeout
        except BaseException:
            with contextlib.suppress(Exception):
                conn.close()
            raise
        self._conn, self._remote_call = conn, remote_call
        return remote_call

    def _remote(self):
        """The server-side call function (connecting if need be); for tests."""
        with self._lock:
            return self._remote_call or self._connect()

    def call(self, function: str, *args: Any, **kwargs: Any) -> Any:
        """Call one module function on the server and return its result as the module would."""
        if function not in API_FUNCTIONS:
            raise AttributeError(f"the mt5linux bridge does not call {function!r}")
        return super().call(function, *args, **kwargs)
