"""The MetaTrader5 module's API over one rpyc connection: what our bridge's client and the mt5linux
client share. A subclass says how to connect (``_connect`` returns the remote call function);
this keeps the connection, one conversation at a time, drops it when it breaks (the next call
connects again), and turns plain values back into the module's structs.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import rpyc

from copier_gui.bridge.server import API_FUNCTIONS, from_plain, to_plain
from copier_gui.sim import constants as _constants
from copier_gui.sim.structs import STRUCT_TYPES

# The module's constants (ORDER_TYPE_BUY, TRADE_RETCODE_DONE, ...) are the same numbers on any
# terminal, so they are answered here without a round trip.
CONSTANTS = {name: value for name, value in vars(_constants).items() if name.isupper()}


class RemoteModule:
    """Base of the MetaTrader5-module clients; each API function is a method calling ``call``."""

    where = "remotely"  # how the methods' docstrings say they are called

    def __init__(self) -> None:
        self._conn: rpyc.Connection | None = None
        self._remote_call = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        try:
            return CONSTANTS[name]
        except KeyError:
            raise AttributeError(name) from None

    def _connect(self):
        raise NotImplementedError

    def call(self, function: str, *args: Any, **kwargs: Any) -> Any:
        """Call one module function remotely and return its result as the module would."""
        with self._lock:  # one rpyc connection is one conversation at a time
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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in sorted(API_FUNCTIONS):
            if name not in cls.__dict__:
                setattr(cls, name, _method(name, cls.where))


def _method(name: str, where: str):
    def call(self, *args, **kwargs):
        return self.call(name, *args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"MetaTrader5.{name}, called {where}."
    return call
