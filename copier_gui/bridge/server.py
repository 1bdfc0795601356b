"""The Windows side of the bridge: an RPyC service around the MetaTrader5 module, on loopback only,
that sends results as plain values (the package's struct sequences cannot be pickled).
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import rpyc
from rpyc.utils.helpers import classpartial
from rpyc.utils.server import ThreadedServer

DEFAULT_PORT = 18812

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


def check_loopback(host: str) -> None:
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ValueError(f"the bridge listens on loopback only, not {host!r}: anyone who reaches it "
                         "can trade the account")


def make_server(terminals: Mapping[str, Any], *, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                service: type[MT5Service] = MT5Service) -> ThreadedServer:
    """A threaded RPyC server for ``terminals`` on ``host`` (loopback only); call ``start()``."""
    check_loopback(host)
    locks = {name: threading.Lock() for name in terminals}
    factory = classpartial(service, terminals, locks)
    return ThreadedServer(factory, hostname=host, port=port, protocol_config=dict(PROTOCOL_CONFIG),
                          logger=log)


def main(argv: list[str] | None = None) -> None:
    """Run in the Python that has the ``MetaTrader5`` package (Windows Python under Wine, beside
    terminal64.exe): ``python -m copier_gui.bridge.server [--port 18812]``, or this file alone,
    since it needs only the standard library and ``rpyc`` (the same major version as the copier's).
    """
    parser = argparse.ArgumentParser(description="Serve this Python's MetaTrader5 module to the copier over RPyC.")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("-p", "--port", type=int, default=DEFAULT_PORT)
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    import MetaTrader5

    server = make_server({"default": MetaTrader5}, host=options.host, port=options.port)
    log.info("serving MetaTrader5 %s on %s:%s", getattr(MetaTrader5, "__version__", "?"), options.host,
             server.port)
    server.start()


if __name__ == "__main__":
    main()
