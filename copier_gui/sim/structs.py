"""The eleven result types of the MetaTrader5 package, field for field.

The real types are C struct sequences: tuples with named attributes and an ``_asdict()`` method,
but no ``_fields``, ``_replace`` or ``_make`` (so they are not namedtuples), and their bare type
name lives in ``builtins``, which makes pickling fail. Code written against the simulator must not
be able to lean on anything the real types lack, so these copy that shape exactly.
"""

from __future__ import annotations

from operator import itemgetter

_FIELDS: dict[str, tuple[str, ...]] = {
    "TradePosition": ["ticket", "time", "time_msc", "time_update", "time_update_msc", "type", "magic", "identifier", "reason", "volume", "price_open", "sl", "tp", "price_current", "swap", "profit", "symbol", "comment", "external_id"],
    "TradeOrder": ["ticket", "time_setup", "time_setup_msc", "time_done", "time_done_msc", "time_expiration", "type", "type_time", "type_filling", "state", "magic", "position_id", "position_by_id", "reason", "volume_initial", "volume_current", "price_open", "sl", "tp", "price_current", "price_stoplimit", "symbol", "comment", "external_id"],
    "TradeDeal": ["ticket", "order", "time", "time_msc", "type", "entry", "magic", "position_id", "reason", "volume", "price", "commission", "swap", "profit", "fee", "symbol", "comment", "external_id"],
    "TradeRequest": ["action", "magic", "order", "symbol", "volume", "price", "stoplimit", "sl", "tp", "deviation", "type", "type_filling", "type_time", "expiration", "comment", "position", "position_by"],
    "OrderSendResult": ["retcode", "deal", "order", "volume", "price", "bid", "ask", "comment", "request_id", "retcode_external", "request"],
    "OrderCheckResult": ["retcode", "balance", "equity", "profit", "margin", "margin_free", "margin_level", "comment", "request"],
    "Tick": ["time", "bid", "ask", "last", "volume", "time_msc", "flags", "volume_real"],
    "BookInfo": ["type", "price", "volume", "volume_dbl"],
    "AccountInfo": ["login", "trade_mode", "leverage", "limit_orders", "margin_so_mode", "trade_allowed", "trade_expert", "margin_mode", "currency_digits", "fifo_close", "balance", "credit", "profit", "equity", "margin", "margin_free", "margin_level", "margin_so_call", "margin_so_so", "margin_initial", "margin_maintenance", "assets", "liabilities", "commission_blocked", "name", "server", "currency", "company"],
    "TerminalInfo": ["community_account", "community_connection", "connected", "dlls_allowed", "trade_allowed", "tradeapi_disabled", "email_enabled", "ftp_enabled", "notifications_enabled", "mqid", "build", "maxbars", "codepage", "ping_last", "community_balance", "retransmission", "company", "name", "language", "path", "data_path", "commondata_path"],
    "SymbolInfo": ["custom", "chart_mode", "select", "visible", "session_deals", "session_buy_orders", "session_sell_orders", "volume", "volumehigh", "volumelow", "time", "digits", "spread", "spread_float", "ticks_bookdepth", "trade_calc_mode", "trade_mode", "start_time", "expiration_time", "trade_stops_level", "trade_freeze_level", "trade_exemode", "swap_mode", "swap_rollover3days", "margin_hedged_use_leg", "expiration_mode", "filling_mode", "order_mode", "order_gtc_mode", "option_mode", "option_right", "bid", "bidhigh", "bidlow", "ask", "askhigh", "asklow", "last", "lasthigh", "lastlow", "volume_real", "volumehigh_real", "volumelow_real", "option_strike", "point", "trade_tick_value", "trade_tick_value_profit", "trade_tick_value_loss", "trade_tick_size", "trade_contract_size", "trade_accrued_interest", "trade_face_value", "trade_liquidity_rate", "volume_min", "volume_max", "volume_step", "volume_limit", "swap_long", "swap_short", "margin_initial", "margin_maintenance", "session_volume", "session_turnover", "session_interest", "session_buy_orders_volume", "session_sell_orders_volume", "session_open", "session_close", "session_aw", "session_price_settlement", "session_price_limit_min", "session_price_limit_max", "margin_hedged", "price_change", "price_volatility", "price_theoretical", "price_greeks_delta", "price_greeks_theta", "price_greeks_gamma", "price_greeks_vega", "price_greeks_rho", "price_greeks_omega", "price_sensitivity", "basis", "category", "currency_base", "currency_profit", "currency_margin", "bank", "description", "exchange", "formula", "isin", "name", "page", "path"],
}


def _make_struct_type(name: str, fields: tuple[str, ...]) -> type[tuple]:
    names = tuple(fields)

    def __new__(cls, values):  # noqa: N807 - mirrors structseq(values)
        values = tuple(values)
        if len(values) != len(names):
            raise TypeError(f"{name}() takes a {len(names)}-sequence ({len(values)}-sequence given)")
        return tuple.__new__(cls, values)

    def _asdict(self):
        """Convert named tuple object to dictionary"""
        return dict(zip(names, self, strict=True))

    def __repr__(self):
        inner = ", ".join(f"{n}={v!r}" for n, v in zip(names, self, strict=True))
        return f"{name}({inner})"

    namespace = {
        "__slots__": (),
        "__new__": __new__,
        "_asdict": _asdict,
        "__repr__": __repr__,
        "__module__": "builtins",
        "__qualname__": name,
        "n_fields": len(names),
        "n_sequence_fields": len(names),
        "n_unnamed_fields": 0,
    }
    for index, field in enumerate(names):
        namespace[field] = property(itemgetter(index), doc=field)
    return type(name, (tuple,), namespace)


TradePosition = _make_struct_type("TradePosition", _FIELDS["TradePosition"])
TradeOrder = _make_struct_type("TradeOrder", _FIELDS["TradeOrder"])
TradeDeal = _make_struct_type("TradeDeal", _FIELDS["TradeDeal"])
TradeRequest = _make_struct_type("TradeRequest", _FIELDS["TradeRequest"])
OrderSendResult = _make_struct_type("OrderSendResult", _FIELDS["OrderSendResult"])
OrderCheckResult = _make_struct_type("OrderCheckResult", _FIELDS["OrderCheckResult"])
Tick = _make_struct_type("Tick", _FIELDS["Tick"])
BookInfo = _make_struct_type("BookInfo", _FIELDS["BookInfo"])
AccountInfo = _make_struct_type("AccountInfo", _FIELDS["AccountInfo"])
TerminalInfo = _make_struct_type("TerminalInfo", _FIELDS["TerminalInfo"])
SymbolInfo = _make_struct_type("SymbolInfo", _FIELDS["SymbolInfo"])

STRUCT_TYPES = {
    t.__name__: t
    for t in (
        TradePosition,
        TradeOrder,
        TradeDeal,
        TradeRequest,
        OrderSendResult,
        OrderCheckResult,
        Tick,
        BookInfo,
        AccountInfo,
        TerminalInfo,
        SymbolInfo,
    )
}


def fields_of(struct_type: type) -> tuple[str, ...]:
    """Field names of a struct type, for the simulator's own use (the real types expose none)."""
    return tuple(_FIELDS[struct_type.__name__])
