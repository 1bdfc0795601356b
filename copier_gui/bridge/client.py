"""The Linux side of the bridge: an object with the MetaTrader5 module's API, over RPyC, whose
results are the package's own result types, so the MT5 connector cannot tell it from the module.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import rpyc

from copier_gui.bridge.server import (
    API_FUNCTIONS,
    DEFAULT_PORT,
    PROTOCOL_CONFIG,
    from_plain,
    to_plain,
)
from copier_gui.sim import constants as _constants
from copier_gui.sim.structs import STRUCT_TYPES

# The package's constants never change between releases, and reading each off the server would be
# a round trip; the simulator's copy is checked against the package's list by its own tests.
_CONSTANTS = {name: value for name, value in vars(_constants).items() if name.isupper()}


class MT5Bridge:
    """One connection to a bridge server; ``terminal`` picks one of a test broker's terminals.

    Connects on first use and again after the connection drops. A lost or refused connection
    raises OSError or EOFError, as the MT5 connector expects of a bridge.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *, terminal: str | None = None,
                 timeout: float = 300.0) -> None:
        self.host = host
        self.port = int(port)
        self.terminal = terminal
        self.timeout = float(timeout)
        self._conn: rpyc.Connection | None = None
        self._remote_call = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MT5Bridge({self.host!r}, {self.port}, terminal={self.terminal!r})"

    def __getattr__(self, name: str) -> Any:
        try:
            return _CONSTANTS[name]
        except KeyError:
            raise AttributeError(name) from None

    def _connect(self):
        config = dict(PROTOCOL_CONFIG, sync_request_timeout=self.timeout)
        conn = rpyc.connect(self.host, self.port, config=config)
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

    def call(self, function: str, *args: Any, **kwargs: Any) -> Any:
        """Call one module function remotely and return its result as the module would."""
        with self._lock:  # one RPyC connection is one conversation at a time
            remote_call = self._remote_call or self._connect()
            try:
                raw = remote_call(function, to_plain(args), tuple((k, to_plain(v)) for k, v in kwargs.items()))
            except (EOFError, OSError):
                self._drop()
                raise
        return from_plain(raw, STRUCT_TYPES)

    def _drop(self) -> None:
        conn, self._conn, self._remote_call = self._conn, None, None
        if conn is not None:
            with contextlib.suppress(Exception):  # closing a broken connection may fail any way
                conn.close()

    def close(self) -> None:
        with self._lock:
            self._drop()


def _method(name: str):
    def call(self, *args, **kwargs):
        return self.call(name, *args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"MetaTrader5.{name}, called through the bridge."
    return call


for _name in sorted(API_FUNCTIONS):
    setattr(MT5Bridge, _name, _method(_name))
del _name
