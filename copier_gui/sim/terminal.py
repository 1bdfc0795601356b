"""A simulated MetaTrader 5 terminal with the ``MetaTrader5`` module's API, for one account.

The object has what the real module has: its 33 functions, 223 constants, 11 result types,
``__version__`` and the undocumented ``Buy``/``Sell``/``Close`` helpers. Argument checks, return
shapes and ``last_error()`` codes follow the real package, so the copier's MT5 connector runs
unchanged on it. Simulator controls live under ``.sim`` only, a name the real module lacks.
"""

from __future__ import annotations

import math
import random
import threading
from functools import wraps

import numpy as np

from copier_gui.clock import Clock
from copier_gui.sim import constants as _constants
from copier_gui.sim import structs as _structs
from copier_gui.sim.account import AccountSettings
from copier_gui.sim.arguments import (
    ArgumentError,
    check_filter_kwargs,
    is_int,
    ordinal,
    parse_date,
    parse_request,
    short_string_ok,
)
from copier_gui.sim.engine import TradeEngine, tick_value
from copier_gui.sim.faults import (
    CLIENT_SIDE_RETCODES,
    REJECTION_COMMENTS,
    Faults,
)
from copier_gui.sim.groups import matches
from copier_gui.sim.history import (
    RATES_DTYPE,
    TICKS_DTYPE,
    rates_between,
    ticks_between,
    timeframe_seconds,
)
from copier_gui.sim.instruments import INSTRUMENTS
from copier_gui.sim.market import Market
from copier_gui.sim.profiles import BrokerProfile, SymbolSpec

_SUCCESS = (1, "Success")
_NO_IPC = (-10004, "No IPC connection")
_IPC_TIMEOUT = (-10005, "IPC timeout")
# What a function returns when there is no connection, where that differs from None: the
# boolean functions answer False (symbols_get, whose argument errors give False, answers None).
_NO_CONNECTION_RESULT = {"_symbol_select": False, "_book_toggle": False}
_TERMINAL_BUILD = 5430
_TERMINAL_BUILD_DATE = "14 Nov 2025"


def _api(arg_failure=None, *, needs_connection: bool = True, trade: bool = False):
    """Wrap an API function: reset the error state, check the connection, map argument errors.

    A call without a connection returns None. ``arg_failure`` is what the real function returns
    when its arguments are refused: None, or False for symbols_get and the boolean functions.
    """

    def decorate(func):
        @wraps(func)
        def wrapper(self, *args, **kwargs):
            with self._lock:
                self._error = _SUCCESS
                if needs_connection:
                    fault = self._connection_fault(trade)
                    if fault is not None:
                        self._error = fault
                        return _NO_CONNECTION_RESULT.get(func.__name__)
                try:
                    return func(self, *args, **kwargs)
                except ArgumentError as exc:
                    self._error = (-2, exc.message)
                    return arg_failure

        return wrapper

    return decorate


class SimulatedTerminal:
    """One account's terminal. Build it with :func:`copier_gui.sim.new_terminal`."""

    __version__ = "5.0.6231"
    __author__ = "MetaQuotes Ltd."

    def __init__(self, profile: BrokerProfile, settings: AccountSettings, market: Market, clock: Clock,
                 *, seed: int, faults: Faults) -> None:
        self._profile = profile
        self._clock = clock
        self._lock = threading.RLock()
        # last_error() belongs to each client: the real package keeps it per process, and the
        # bridge serves each connection on a thread of its own, so one client's next call cannot
        # overwrite the error another client is about to read.
        self._errors = threading.local()
        self._initialized = False
        self._request_id = 0
        self._faults = faults
        self._fault_rng = random.Random(f"copier_gui.sim.faults:{seed}:{profile.name}:{settings.login}")
        self._engine = TradeEngine(profile, settings, market, clock,
                                   random.Random(f"copier_gui.sim.engine:{seed}:{profile.name}:{settings.login}"))
        self._selected = {s.name for s in profile.symbols if s.selected}
        self._books: set[str] = set()
        self._algo_trading = True
        self._tradeapi_disabled = False
        self._disconnected_until: float | None = None
        self._forced: list[int] = []
        self._latency_deferred = False
        self._positions_cache: tuple[tuple, tuple] | None = None
        self.sim = SimControl(self)

    # ----------------------------------------------------------------- connection and faults
    def _connection_fault(self, trade: bool):
        if not self._initialized:
            return _NO_IPC
        if self._disconnected_until is not None:
            if self._clock.time() < self._disconnected_until:
                return _NO_IPC
            # The outage is over, but the pipe broke: the client must initialize() again.
            self._disconnected_until = None
            self._initialized = False
            return _NO_IPC
        if not self._latency_deferred:
            delay = self._draw_latency(trade)
            if delay:
                self._clock.sleep(delay)
        if self._faults.ipc_timeout and self._fault_rng.random() < self._faults.ipc_timeout:
            return _IPC_TIMEOUT
        if self._faults.disconnect and self._fault_rng.random() < self._faults.disconnect:
            self._disconnected_until = self._clock.time() + self._faults.disconnect_seconds
            return _NO_IPC
        self._engine.refresh()
        return None

    def _draw_latency(self, trade: bool) -> float:
        latency = self._faults.trade_latency if trade else self._faults.read_latency
        return latency.draw(self._fault_rng)

    def _draw_trade_fault(self) -> int:
        if self._forced:
            return self._forced.pop(0)
        f = self._faults
        if not f.any_trade_fault:
            return 0
        rng = self._fault_rng
        if f.requote and rng.random() < f.requote:
            return _constants.TRADE_RETCODE_REQUOTE
        if f.price_off and rng.random() < f.price_off:
            return _constants.TRADE_RETCODE_PRICE_OFF
        for retcode, p in f.rejections.items():
            if rng.random() < p:
                return retcode
        if f.partial_fill and rng.random() < f.partial_fill:
            return _constants.TRADE_RETCODE_DONE_PARTIAL
        return 0

    def _spec(self, name: object) -> SymbolSpec | None:
        return self._profile.symbols_by_name.get(name) if isinstance(name, str) else None

    # ----------------------------------------------------------------- session
    def initialize(self, *args, **kwargs):
        with self._lock:
            self._error = _SUCCESS
            try:
                return self._initialize(args, kwargs)
            except ArgumentError as exc:
                self._error = (-2, exc.message)
                return False

    def _initialize(self, args, kwargs):
        if len(args) > 1:
            raise ArgumentError("Invalid number of arguments")
        path = args[0] if args else kwargs.get("path")
        if path is not None and not (isinstance(path, str) and len(path) < 260):
            raise ArgumentError('Invalid "path" argument')
        login, password, server = self._credentials(kwargs)
        timeout = kwargs.get("timeout", 60_000)
        if not is_int(timeout) or not 0 <= timeout < 2**32:
            raise ArgumentError('Invalid "timeout" argument')
        if path is not None and path.replace("/", "\\").lower() != self._profile.terminal_path.lower():
            if not path.lower().endswith("terminal64.exe"):
                self._error = (-10003, f"IPC initialize failed, Process create failed '{path}'")
            else:
                self._error = (-10003, "IPC initialize failed, MetaTrader 5 x64 not found")
            return False
        if self._disconnected_until is not None and self._clock.time() < self._disconnected_until:
            self._error = (-10003, "IPC initialize failed, Pipe server didn't answer in 60 sec")
            return False
        self._disconnected_until = None
        if not self._authorize(login, password, server):
            self._error = (-6, "Terminal: Authorization failed")
            return False
        self._initialized = True
        self._engine.refresh()
        return True

    def _credentials(self, kwargs):
        login = kwargs.get("login")
        if login is not None and (not is_int(login) or not 0 <= login < 2**64):
            raise ArgumentError('Invalid "login" argument')
        password = kwargs.get("password")
        if password is not None and not (isinstance(password, str) and len(password) < 254):
            raise ArgumentError('Invalid "password" argument')
        server = kwargs.get("server")
        if server is not None and not (isinstance(server, str) and len(server) < 254):
            raise ArgumentError('Invalid "server" argument')
        return login, password, server

    def _authorize(self, login, password, server) -> bool:
        settings = self._engine.settings
        if login is not None and int(login) != settings.login:
            return False
        if password is not None and password != settings.password:
            return False
        return not (server is not None and server != self._profile.server)

    def login(self, *args, **kwargs):
        with self._lock:
            self._error = _SUCCESS
            try:
                if not args and "login" not in kwargs:
                    raise ArgumentError("Invalid arguments")
                if len(args) > 3:
                    raise ArgumentError("Invalid number of arguments")
                merged = dict(kwargs)
                for key, value in zip(("login", "password", "server"), args, strict=False):
                    merged[key] = value
                login, password, server = self._credentials(merged)
            except ArgumentError as exc:
                self._error = (-2, exc.message)
                return False
            if not self._initialized:
                self._error = _NO_IPC
                return False
            if not self._authorize(login, password, server):
                self._error = (-6, "Terminal: Authorization failed")
                return False
            return True

    def shutdown(self):
        with self._lock:
            self._error = _SUCCESS
            self._initialized = False
            return True

    def last_error(self):
        return self._error

    @property
    def _error(self):
        return getattr(self._errors, "value", _SUCCESS)

    @_error.setter
    def _error(self, value) -> None:
        self._errors.value = value

    @_api()
    def version(self):
        return (500, _TERMINAL_BUILD, _TERMINAL_BUILD_DATE)

    # ----------------------------------------------------------------- account and terminal
    @_api()
    def account_info(self):
        e = self._engine
        s = e.settings
        profit, swap = e.floating()
        equity = e._round_money(e.balance + e.credit + profit + swap)
        margin = e._round_money(e.margin_used())
        level = round(equity / margin * 100.0, 2) if margin else 0.0
        return _structs.AccountInfo((
            s.login, s.trade_mode, s.leverage, s.limit_orders, _constants.ACCOUNT_STOPOUT_MODE_PERCENT,
            True, True, s.margin_mode, s.currency_digits, self._profile.fifo_close, e.balance, e.credit,
            e._round_money(profit), equity, margin, e._round_money(equity - margin), level,
            self._profile.margin_call_level, self._profile.stop_out_level, 0.0, 0.0, 0.0, 0.0, 0.0,
            s.name, self._profile.server, s.currency, self._profile.company))

    def terminal_info(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError("terminal_info() takes no arguments")
        with self._lock:
            self._error = _SUCCESS
            if not self._initialized:
                self._error = _NO_IPC
                return None
            lost = self._disconnected_until is not None and self._clock.time() < self._disconnected_until
            if not lost:
                self._engine.refresh()
            path = self._profile.terminal_path.rsplit("\\", 1)[0]
            data = "C:\\Users\\trader\\AppData\\Roaming\\MetaQuotes\\Terminal\\" + _path_hash(path)
            return _structs.TerminalInfo((
                False, False, not lost, False, self._algo_trading, self._tradeapi_disabled, False, False, False,
                False, _TERMINAL_BUILD, 100_000, 0, 0 if lost else 35_000, 0.0, 0.0, self._profile.company,
                f"{self._profile.company} MetaTrader 5", "English", path, data,
                "C:\\Users\\trader\\AppData\\Roaming\\MetaQuotes\\Terminal\\Common"))

    # ----------------------------------------------------------------- symbols
    @_api()
    def symbols_total(self):
        return len(self._profile.symbols)

    def symbols_get(self, *args, **kwargs):
        return self._symbols_get(*args, **kwargs)

    @_api(False)
    def _symbols_get(self, *args, **kwargs):
        if len(args) > 1 or (args and kwargs):
            raise ArgumentError("Invalid arguments")
        group = args[0] if args else kwargs.get("group")
        if group is not None and not (isinstance(group, str) and len(group) < 1998):
            raise ArgumentError('Invalid "group" argument')
        return tuple(self._symbol_info(s) for s in self._profile.symbols if group is None or matches(group, s.name))

    @_api()
    def symbol_info(self, *args):
        spec = self._symbol_arg(args)
        if spec is None:
            self._error = (-4, "Terminal: Not found")
            return None
        return self._symbol_info(spec)

    def _symbol_arg(self, args) -> SymbolSpec | None:
        if len(args) != 1 or not short_string_ok(args[0]):
            raise ArgumentError("Invalid arguments")
        return self._spec(args[0])

    def _symbol_info(self, spec: SymbolSpec):
        e = self._engine
        inst = INSTRUMENTS[spec.instrument]
        selected = spec.name in self._selected
        bid, ask, utc = e.quote(spec) if selected else (0.0, 0.0, 0.0)
        point = 10.0**-spec.digits
        tv = tick_value(e, spec)
        forex = inst.forex
        calc = _constants.SYMBOL_CALC_MODE_FOREX if forex else _constants.SYMBOL_CALC_MODE_CFD
        margin_ccy = inst.base if forex else inst.profit
        path = f"{inst.category}\\{spec.name}"
        return _structs.SymbolInfo((
            False, _constants.SYMBOL_CHART_MODE_BID, selected, selected, 0, 0, 0, 0, 0, 0,
            int(utc) if selected else 0,
            spec.digits, int(round((ask - bid) / point)) if selected else 0, True, 0, calc, spec.trade_mode, 0, 0,
            spec.stops_level, spec.freeze_level, self._profile.execution, _constants.SYMBOL_SWAP_MODE_POINTS,
            _constants.DAY_OF_WEEK_WEDNESDAY, True,
            15, self._profile.filling_mode, self._profile.order_mode, _constants.SYMBOL_ORDERS_GTC, 0, 0,
            bid, bid, bid, ask, ask, ask, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, point, tv, tv, tv, point,
            spec.contract_size, 0.0, 0.0, 0.0, spec.volume_min, spec.volume_max, spec.volume_step, 0.0,
            spec.swap_long, spec.swap_short, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
            spec.contract_size / 2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
            "", "", inst.base, inst.profit, margin_ccy, "", inst.description, "", "", "", spec.name, "", path))

    @_api()
    def symbol_info_tick(self, *args):
        spec = self._symbol_arg(args)
        if spec is None or spec.name not in self._selected:
            self._error = (-1, "Terminal: Call failed")
            return None
        bid, ask, utc = self._engine.quote(spec)
        msc = int(round(utc * 1000.0))
        return _structs.Tick((msc // 1000, bid, ask, 0.0, 0, msc, _constants.TICK_FLAG_BID | _constants.TICK_FLAG_ASK, 0.0))

    def symbol_select(self, *args, **kwargs):
        if kwargs:
            raise TypeError("symbol_select() takes no keyword arguments")
        return self._symbol_select(*args)

    @_api(False)
    def _symbol_select(self, *args):
        if not 1 <= len(args) <= 2 or not short_string_ok(args[0]):
            raise ArgumentError("Invalid arguments")
        spec = self._spec(args[0])
        if spec is None:
            self._error = (-1, "Terminal: Call failed")
            return False
        enable = bool(args[1]) if len(args) == 2 else True
        if enable:
            self._selected.add(spec.name)
        else:
            busy = any(p.spec.name == spec.name for p in self._engine.positions.values()) or any(
                o.spec.name == spec.name for o in self._engine.orders.values())
            if busy:
                self._error = (-1, "Terminal: Call failed")
                return False
            self._selected.discard(spec.name)
        return True

    # ----------------------------------------------------------------- market depth
    def market_book_add(self, *args, **kwargs):
        if kwargs:
            raise TypeError("market_book_add() takes no keyword arguments")
        return self._book_toggle(args, True)

    def market_book_release(self, *args, **kwargs):
        if kwargs:
            raise TypeError("market_book_release() takes no keyword arguments")
        return self._book_toggle(args, False)

    @_api(False)
    def _book_toggle(self, args, add: bool):
        spec = self._symbol_arg(args)
        if spec is None:
            self._error = (-1, "Terminal: Call failed")
            return False
        if add:
            self._books.add(spec.name)
        else:
            self._books.discard(spec.name)
        return True

    def market_book_get(self, *args, **kwargs):
        if kwargs:
            raise TypeError("market_book_get() takes no keyword arguments")
        return self._market_book_get(*args)

    @_api()
    def _market_book_get(self, *args):
        spec = self._symbol_arg(args)
        if spec is None or spec.name not in self._books:
            self._error = (-1, "Terminal: Call failed")
            return None
        bid, ask, _ = self._engine.quote(spec)
        point = 10.0**-spec.digits
        levels = []
        for i in range(5, 0, -1):
            size = round(spec.volume_max / 10 * i, 2)
            levels.append(_structs.BookInfo((_constants.BOOK_TYPE_SELL, round(ask + (i - 1) * point, spec.digits),
                                             int(size), size)))
        for i in range(1, 6):
            size = round(spec.volume_max / 10 * i, 2)
            levels.append(_structs.BookInfo((_constants.BOOK_TYPE_BUY, round(bid - (i - 1) * point, spec.digits),
                                             int(size), size)))
        return tuple(levels)

    # ----------------------------------------------------------------- history of prices
    def copy_rates_from(self, *args, **kwargs):
        return self._copy_rates("copy_rates_from", args, kwargs)

    def copy_rates_from_pos(self, *args, **kwargs):
        return self._copy_rates("copy_rates_from_pos", args, kwargs)

    def copy_rates_range(self, *args, **kwargs):
        return self._copy_rates("copy_rates_range", args, kwargs)

    def copy_ticks_from(self, *args, **kwargs):
        return self._copy_ticks("copy_ticks_from", args, kwargs)

    def copy_ticks_range(self, *args, **kwargs):
        return self._copy_ticks("copy_ticks_range", args, kwargs)

    def _copy_rates(self, name, args, kwargs):
        if kwargs:
            raise TypeError(f"{name}() takes no keyword arguments")
        if len(args) != 4:
            with self._lock:
                self._error = (-2, "Invalid arguments")
            return None
        if not is_int(args[1]):
            raise TypeError(f"{name}() argument 2 must be int, not {type(args[1]).__name__}")
        if name != "copy_rates_range" and not is_int(args[3]):
            raise TypeError(f"{name}() argument 4 must be int, not {type(args[3]).__name__}")
        if name == "copy_rates_from_pos" and not is_int(args[2]):
            raise TypeError(f"{name}() argument 3 must be int, not {type(args[2]).__name__}")
        return self._rates(name, *args)

    @_api()
    def _rates(self, name, symbol, timeframe, a, b):
        spec = self._symbol_arg((symbol,))
        if spec is None or timeframe_seconds(timeframe) is None:
            self._error = (-2, "Terminal: Invalid params")
            return None
        e = self._engine
        frame = timeframe_seconds(timeframe)
        now_utc = self._clock.time()
        if name == "copy_rates_from":
            end, count = parse_date(a, "3rd") or now_utc, b
            start = None
        elif name == "copy_rates_from_pos":
            start, end, count = None, now_utc - a * frame, b
        else:
            start, end, count = parse_date(a, "3rd"), parse_date(b, "4th"), None
        rates = rates_between(e, spec, frame, start, end, count)
        return np.array(rates, dtype=RATES_DTYPE)

    def _copy_ticks(self, name, args, kwargs):
        if kwargs:
            raise TypeError(f"{name}() takes no keyword arguments")
        if len(args) != 4:
            with self._lock:
                self._error = (-2, "Invalid arguments")
            return None
        if not is_int(args[3]) or (name == "copy_ticks_from" and not is_int(args[2])):
            raise TypeError(f"{name}() argument must be int")
        return self._ticks(name, *args)

    @_api()
    def _ticks(self, name, symbol, a, b, flags):
        spec = self._symbol_arg((symbol,))
        if spec is None:
            self._error = (-2, "Terminal: Invalid params")
            return None
        start = parse_date(a, "2nd")
        if name == "copy_ticks_from":
            rows = ticks_between(self._engine, spec, start, None, b, flags)
        else:
            rows = ticks_between(self._engine, spec, start, parse_date(b, "3rd"), None, flags)
        return np.array(rows, dtype=TICKS_DTYPE)

    # ----------------------------------------------------------------- orders and positions
    @_api()
    def orders_total(self):
        return len(self._engine.orders)

    @_api()
    def positions_total(self):
        return len(self._engine.positions)

    @_api()
    def positions_get(self, *args, **kwargs):
        filters = check_filter_kwargs(args, kwargs)
        everything = self._all_positions()
        return self._filtered(everything, filters, ticket_index=0, symbol_index=16)

    def _all_positions(self) -> tuple:
        e = self._engine
        stamp = (e.version, e.market.sync_stamp())
        cached = self._positions_cache
        if cached is not None and cached[0] == stamp:
            return cached[1]
        result = e.positions_tuples()
        self._positions_cache = (stamp, result)
        return result

    @_api()
    def orders_get(self, *args, **kwargs):
        filters = check_filter_kwargs(args, kwargs)
        everything = tuple(self._engine.order_tuple(o) for o in self._engine.orders.values())
        return self._filtered(everything, filters, ticket_index=0, symbol_index=21)

    @staticmethod
    def _filtered(items: tuple, filters: dict, *, ticket_index: int, symbol_index: int) -> tuple:
        if "ticket" in filters:
            return tuple(i for i in items if i[ticket_index] == filters["ticket"])
        if "symbol" in filters:
            return tuple(i for i in items if i[symbol_index] == filters["symbol"])
        if "group" in filters:
            return tuple(i for i in items if matches(filters["group"], i[symbol_index]))
        return items

    # ----------------------------------------------------------------- history of trading
    @_api()
    def history_orders_total(self, *args, **kwargs):
        start, end = self._history_range(args, kwargs)
        return sum(1 for o in self._engine.history_orders if start <= o.time_setup <= end)

    @_api()
    def history_deals_total(self, *args, **kwargs):
        start, end = self._history_range(args, kwargs)
        return sum(1 for d in self._engine.deals if start <= d.time <= end)

    def _history_range(self, args, kwargs):
        if kwargs:
            raise TypeError("function takes no keyword arguments")
        if len(args) != 2:
            raise ArgumentError("Invalid arguments")
        return parse_date(args[0], "1st"), parse_date(args[1], "2nd")

    @_api()
    def history_orders_get(self, *args, **kwargs):
        records = self._engine.history_orders
        return self._history_query(records, args, kwargs, by_ticket=lambda o, t: o.ticket == t,
                                   by_position=lambda o, p: o.position_id == p, time_of=lambda o: o.time_setup,
                                   symbol_of=lambda o: o.symbol)

    @_api()
    def history_deals_get(self, *args, **kwargs):
        records = self._engine.deals
        # ticket= is an ORDER ticket here: it returns the deals that order produced.
        return self._history_query(records, args, kwargs, by_ticket=lambda d, t: d.order == t,
                                   by_position=lambda d, p: d.position_id == p, time_of=lambda d: d.time,
                                   symbol_of=lambda d: d.symbol)

    def _history_query(self, records, args, kwargs, *, by_ticket, by_position, time_of, symbol_of):
        if args and ("ticket" in kwargs or "position" in kwargs):
            raise ArgumentError("Unnamed arguments not allowed")
        if not args:
            if "ticket" in kwargs:
                ticket = kwargs["ticket"]
                if not is_int(ticket):
                    raise ArgumentError('Invalid "ticket" argument')
                return tuple(r for r in records if by_ticket(r, ticket))
            if "position" in kwargs:
                position = kwargs["position"]
                if not is_int(position):
                    raise ArgumentError('Invalid "position" argument')
                return tuple(r for r in records if by_position(r, position))
            raise ArgumentError("Invalid arguments")
        if len(args) != 2:
            raise ArgumentError("Invalid arguments")
        start, end = (parse_date(a, ordinal(i)) for i, a in enumerate(args))
        group = kwargs.get("group")
        if group is not None and not (isinstance(group, str) and len(group) < 1998):
            raise ArgumentError('Invalid "group" argument')
        return tuple(r for r in records if start <= time_of(r) <= end
                     and (group is None or matches(group, symbol_of(r))))

    # ----------------------------------------------------------------- calculations
    def order_calc_margin(self, *args, **kwargs):
        if kwargs:
            raise TypeError("order_calc_margin() takes no keyword arguments")
        if len(args) == 4:
            _require_number(args[2], "order_calc_margin", 3)
            _require_number(args[3], "order_calc_margin", 4)
        return self._calc_margin(*args)

    @_api()
    def _calc_margin(self, *args):
        if len(args) != 4 or not is_int(args[0]):
            raise ArgumentError("Invalid arguments")
        action, symbol, volume, price = args
        spec = self._symbol_arg((symbol,))
        if spec is None or action not in (_constants.ORDER_TYPE_BUY, _constants.ORDER_TYPE_SELL):
            self._error = (-2, "Terminal: Invalid params")
            return None
        return round(self._engine.margin_of(spec, float(volume), float(price)), 2)

    def order_calc_profit(self, *args, **kwargs):
        if kwargs:
            raise TypeError("order_calc_profit() takes no keyword arguments")
        if len(args) == 5:
            for i in (2, 3, 4):
                _require_number(args[i], "order_calc_profit", i + 1)
        return self._calc_profit(*args)

    @_api()
    def _calc_profit(self, *args):
        if len(args) != 5 or not is_int(args[0]):
            raise ArgumentError("Invalid arguments")
        action, symbol, volume, price_open, price_close = args
        spec = self._symbol_arg((symbol,))
        if spec is None or action not in (_constants.ORDER_TYPE_BUY, _constants.ORDER_TYPE_SELL):
            self._error = (-2, "Terminal: Invalid params")
            return None
        return round(self._engine.profit_of(spec, action, float(volume), float(price_open), float(price_close)), 2)

    # ----------------------------------------------------------------- trading
    @_api()
    def order_check(self, *args, **kwargs):
        request = parse_request(args, kwargs)
        e = self._engine
        outcome = e.validate(request)
        profit, swap = e.floating()
        equity = e._round_money(e.balance + e.credit + profit + swap)
        margin = e._round_money(outcome.margin_after or e.margin_used())
        level = round(equity / margin * 100.0, 2) if margin else 0.0
        comment = "Done" if outcome.retcode == 0 else REJECTION_COMMENTS.get(outcome.retcode, "Request rejected")
        return _structs.OrderCheckResult((outcome.retcode, e.balance, equity, e._round_money(profit), margin,
                                          e._round_money(equity - margin), level, comment, request))

    @_api(trade=True)
    def order_send(self, *args, **kwargs):
        request = parse_request(args, kwargs)
        if self._tradeapi_disabled:
            self._error = (-8, "Auto-Trading using Python API disabled in Terminal")
            return None
        self._request_id += 1
        if not self._algo_trading:
            return _structs.OrderSendResult((_constants.TRADE_RETCODE_CLIENT_DISABLES_AT, 0, 0, 0.0, 0.0, 0.0, 0.0,
                                             "AutoTrading disabled by client", 0, 0, request))
        fault = self._draw_trade_fault()
        if fault in CLIENT_SIDE_RETCODES:
            # The terminal refuses on its own, as with its AutoTrading button off: nothing reached
            # the server, so there are no prices and no request id.
            return _structs.OrderSendResult((fault, 0, 0, 0.0, 0.0, 0.0, 0.0, REJECTION_COMMENTS[fault], 0, 0,
                                             request))
        outcome = self._engine.send(request, fault=fault)
        if outcome.retcode == _constants.TRADE_RETCODE_DONE:
            comment = "Request executed"
        else:
            comment = REJECTION_COMMENTS.get(outcome.retcode, "Request rejected")
        return _structs.OrderSendResult((outcome.retcode, outcome.deal, outcome.order, outcome.volume, outcome.price,
                                         outcome.bid, outcome.ask, comment, self._request_id, 0, request))

    # ----------------------------------------------------------------- the package's helpers
    def _RawOrder(self, order_type, symbol, volume, price, comment=None, ticket=None):  # noqa: N802
        order = {"action": self.TRADE_ACTION_DEAL, "symbol": symbol, "volume": volume, "type": order_type,
                 "price": price, "deviation": 10}
        if comment is not None:
            order["comment"] = comment
        if ticket is not None:
            order["position"] = ticket
        return self.order_send(order)

    def Close(self, symbol, *, comment=None, ticket=None):  # noqa: N802
        positions = self.positions_get(ticket=ticket) if ticket is not None else self.positions_get(symbol=symbol)
        tried = done = 0
        for pos in positions:
            if pos.type in (self.ORDER_TYPE_BUY, self.ORDER_TYPE_SELL):
                tried += 1
                for _ in range(10):
                    info = self.symbol_info_tick(symbol)
                    if info is None:
                        return None
                    if pos.type == self.ORDER_TYPE_BUY:
                        r = self._RawOrder(self.ORDER_TYPE_SELL, symbol, pos.volume, info.bid, comment, pos.ticket)
                    else:
                        r = self._RawOrder(self.ORDER_TYPE_BUY, symbol, pos.volume, info.ask, comment, pos.ticket)
                    if r is None:
                        return None
                    if r.retcode not in (self.TRADE_RETCODE_REQUOTE, self.TRADE_RETCODE_PRICE_OFF):
                        if r.retcode == self.TRADE_RETCODE_DONE:
                            done += 1
                        break
        if done > 0:
            return True if done == tried else "Partially"
        return False

    def Buy(self, symbol, volume, price=None, *, comment=None, ticket=None):  # noqa: N802
        return self._market_helper(self.ORDER_TYPE_BUY, symbol, volume, price, comment, ticket)

    def Sell(self, symbol, volume, price=None, *, comment=None, ticket=None):  # noqa: N802
        return self._market_helper(self.ORDER_TYPE_SELL, symbol, volume, price, comment, ticket)

    def _market_helper(self, order_type, symbol, volume, price, comment, ticket):
        if price is not None:
            return self._RawOrder(order_type, symbol, volume, price, comment, ticket)
        r = None
        for _ in range(10):
            info = self.symbol_info_tick(symbol)
            quote = info.ask if order_type == self.ORDER_TYPE_BUY else info.bid
            r = self._RawOrder(order_type, symbol, volume, quote, comment, ticket)
            if r is None:
                return None
            if r.retcode not in (self.TRADE_RETCODE_REQUOTE, self.TRADE_RETCODE_PRICE_OFF):
                break
        return r


# The module's constants and result types, as attributes of every terminal.
for _name in dir(_constants):
    if _name.isupper():
        setattr(SimulatedTerminal, _name, getattr(_constants, _name))
for _name, _type in _structs.STRUCT_TYPES.items():
    setattr(SimulatedTerminal, _name, _type)
del _name, _type


def _require_number(value, func: str, position: int) -> None:
    # "d" in PyArg_ParseTuple accepts int and float but nothing else.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{func}() argument {position} must be float, not {type(value).__name__}")


def _path_hash(path: str) -> str:
    import hashlib

    return hashlib.md5(path.lower().encode("utf-16-le")).hexdigest().upper()


class SimControl:
    """Levers a test, a scenario or the demo pulls on the simulated terminal and its broker."""

    def __init__(self, terminal: SimulatedTerminal) -> None:
        self._t = terminal

    @property
    def engine(self) -> TradeEngine:
        return self._t._engine

    @property
    def profile(self) -> BrokerProfile:
        return self._t._profile

    @property
    def faults(self) -> Faults:
        return self._t._faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._t._faults = faults

    def set_algo_trading(self, enabled: bool) -> None:
        """The terminal's Algo Trading button: off makes order_send answer 10027."""
        with self._t._lock:
            self._t._algo_trading = enabled

    def set_tradeapi_disabled(self, disabled: bool) -> None:
        """The terminal option that refuses the Python API: order_send returns None with -8."""
        with self._t._lock:
            self._t._tradeapi_disabled = disabled

    def disconnect(self, seconds: float) -> None:
        """Lose the connection for ``seconds``; afterwards the client must initialize() again.

        An outage already under way that lasts longer is not cut short.
        """
        with self._t._lock:
            until = self._t._clock.time() + seconds
            current = self._t._disconnected_until
            self._t._disconnected_until = until if current is None else max(current, until)

    def lose_connection(self) -> None:
        """Lose the connection until :meth:`restore_connection`."""
        with self._t._lock:
            self._t._disconnected_until = math.inf

    def restore_connection(self) -> None:
        """End an outage now; the client still has to initialize() again, as after any outage."""
        with self._t._lock:
            t = self._t
            if t._disconnected_until is not None and t._disconnected_until > t._clock.time():
                t._disconnected_until = t._clock.time()

    def force_retcodes(self, *retcodes: int) -> None:
        """Answer the next order_send calls that pass validation with these retcodes, in order.

        10010 fills part of the request; a code of the trade server's table is answered with the
        terminal's comment for it. Any other number is taken as it is, so a connector's handling of
        codes no table lists can be tested too.
        """
        with self._t._lock:
            self._t._forced.extend(retcodes)

    def defer_latency(self, deferred: bool = True) -> None:
        """Stop (or resume) sleeping a call's latency inside the call.

        Replay's invoker asks for each call's latency with :meth:`draw_latency` and lets it pass
        on the event loop, so other accounts, the master and faults go on meanwhile.
        """
        with self._t._lock:
            self._t._latency_deferred = deferred

    def draw_latency(self, trade: bool) -> float:
        """Seconds one call takes under the current faults: a trade request or a read."""
        with self._t._lock:
            return self._t._draw_latency(trade)

    def view(self) -> tuple:
        """(account_info, positions, orders) as the terminal shows them now, read without a connection.

        For reports: it neither needs nor touches the client's connection or its last error, so a
        report taken in the middle of a run, or of an account whose terminal is offline, changes
        nothing the copier sees.
        """
        t = self._t
        cls = type(t)
        with t._lock:
            saved = t._error
            try:
                t._engine.refresh()
                return (cls.account_info.__wrapped__(t), cls.positions_get.__wrapped__(t),
                        cls.orders_get.__wrapped__(t))
            finally:
                t._error = saved

    def deposit(self, amount: float, comment: str = "Deposit") -> None:
        """The broker's back office moves cash in (or out, when negative): a balance deal."""
        with self._t._lock:
            self._t._engine.deposit(amount, comment)

    @property
    def connected(self) -> bool:
        t = self._t
        return t._initialized and (t._disconnected_until is None or t._clock.time() >= t._disconnected_until)


