"""Market data and broker profiles: numpy result layouts, time bases, date arguments, symbol and
account properties, and the order_calc_* functions.

Fact sheet sections 2 (dates), 3 (copy_*, order_calc_*), 5 (time bases, sample values),
6 (numpy dtypes), 8.4 (filling and execution) and checklist item 7.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np
import pytest

RATES_DTYPE = [
    ("time", "<i8"), ("open", "<f8"), ("high", "<f8"), ("low", "<f8"), ("close", "<f8"),
    ("tick_volume", "<u8"), ("spread", "<i4"), ("real_volume", "<u8"),
]  # fmt: skip
TICKS_DTYPE = [
    ("time", "<i8"), ("bid", "<f8"), ("ask", "<f8"), ("last", "<f8"), ("volume", "<u8"),
    ("time_msc", "<i8"), ("flags", "<u4"), ("volume_real", "<f8"),
]  # fmt: skip

TIMEFRAME_M1 = 1
TIMEFRAME_H1 = 16385
COPY_TICKS_ALL = -1
ORDER_TYPE_BUY, ORDER_TYPE_SELL = 0, 1

# What each profile is specified to offer (from the broker profiles' specification).
PROFILE_FACTS = {
    #                  currency margin_mode exemode filling stops freeze vol(min, step, max)
    "meridian_ecn": ("USD", 2, 2, 3, 0, 0, (0.01, 0.01, 500.0)),
    "harbor_fx": ("EUR", 2, 1, 1, 10, 5, (0.01, 0.01, 500.0)),
    "summit_netting": ("JPY", 0, 2, 2, 5, 0, (0.01, 0.01, 500.0)),
    "apex_prop": ("USD", 2, 2, 0, 20, 10, (0.1, 0.1, 50.0)),
}
SYMBOL_NAMES = {
    "meridian_ecn": ["EURUSD", "GBPUSD", "USDJPY", "EURJPY", "XAUUSD", "US30", "BTCUSD",
                     "GBPJPY", "EURGBP", "XAGUSD", "US500", "JP225", "ETHUSD"],
    "harbor_fx": ["EURUSD.m", "GBPUSD.m", "USDJPY.m", "EURJPY.m", "GOLD.m", "US30.m", "BTCUSD.m",
                  "EURGBP.m", "USDZAR.m", "SPX500.m", "ETHUSD.m"],
    "summit_netting": ["EURUSD-ECN", "GBPUSD-ECN", "USDJPY-ECN", "EURJPY-ECN", "XAUUSD-ECN",
                       "DJ30.cash", "BTCUSD-ECN", "GBPJPY-ECN", "XAGUSD-ECN", "JP225.cash"],
    "apex_prop": ["EURUSD.raw", "GBPUSD.raw", "USDJPY.raw", "EURJPY.raw", "XAUUSD.raw",
                  "US30.raw", "BTCUSD.raw", "XAGUSD.raw", "US500.raw"],
}  # fmt: skip


def _dtype_list(arr):
    return [(name, arr.dtype.fields[name][0].str) for name in arr.dtype.names]


@pytest.fixture
def t(terminal, clock):
    term = terminal("meridian_ecn")
    clock.advance(15 * 60 + 30)  # let some history accumulate; stop mid-minute
    term.symbol_info_tick("EURUSD")
    return term


# --- numpy layouts ---------------------------------------------------------------------------


def _bar_span(t):
    """(first, last) open times of the 5 newest M1 bars, in whatever time base the terminal uses.

    Tests of argument forms and layouts use these so that they do not depend on the time base;
    the time base itself is tested separately below.
    """
    bars = t.copy_rates_from_pos("EURUSD", TIMEFRAME_M1, 0, 5)
    assert bars is not None and len(bars) == 5, t.last_error()
    return int(bars["time"][0]), int(bars["time"][-1])


@pytest.mark.parametrize("form", ["from", "from_pos", "range"])
def test_rates_dtype(t, form):
    first, last = _bar_span(t)
    arr = {
        "from": lambda: t.copy_rates_from("EURUSD", TIMEFRAME_M1, last, 5),
        "from_pos": lambda: t.copy_rates_from_pos("EURUSD", TIMEFRAME_M1, 0, 5),
        "range": lambda: t.copy_rates_range("EURUSD", TIMEFRAME_M1, first, last),
    }[form]()
    assert isinstance(arr, np.ndarray), t.last_error()
    assert _dtype_list(arr) == RATES_DTYPE
    assert len(arr) >= 1


@pytest.mark.parametrize("form", ["from", "range"])
def test_ticks_dtype(t, form):
    last_tick = t.symbol_info_tick("EURUSD").time
    arr = {
        "from": lambda: t.copy_ticks_from("EURUSD", last_tick - 600, 100, COPY_TICKS_ALL),
        "range": lambda: t.copy_ticks_range(
            "EURUSD", last_tick - 600, last_tick + 1, COPY_TICKS_ALL
        ),
    }[form]()
    assert isinstance(arr, np.ndarray), t.last_error()
    assert _dtype_list(arr) == TICKS_DTYPE
    assert len(arr) >= 1
    assert all(row["time_msc"] // 1000 == row["time"] for row in arr)


def test_rates_from_pos_returns_consecutive_bars(t):
    arr = t.copy_rates_from_pos("EURUSD", TIMEFRAME_M1, 0, 5)
    assert len(arr) == 5
    times = [int(x) for x in arr["time"]]
    assert times == sorted(times)
    assert all(b - a == 60 for a, b in zip(times, times[1:], strict=False))
    assert all(x % 60 == 0 for x in times)
    for row in arr:
        assert (
            row["low"]
            <= min(row["open"], row["close"])
            <= max(row["open"], row["close"])
            <= row["high"]
        )


def test_bar_times_are_utc(t, clock):
    # Fact sheet section 2: bar and tick times are UTC epoch seconds [DOC].
    last = int(t.copy_rates_from_pos("EURUSD", TIMEFRAME_M1, 0, 1)["time"][0])
    assert last == int(clock.time()) // 60 * 60


def test_tick_times_are_utc(t, clock):
    tick = t.symbol_info_tick("EURUSD")
    assert 0 <= int(clock.time()) - tick.time < 60
    assert tick.time_msc // 1000 == tick.time


# --- date arguments --------------------------------------------------------------------------


def test_dates_accept_int_float_aware_datetime_and_subclass(t):
    lo, hi = _bar_span(t)

    class MyDatetime(datetime):
        pass

    by_int = t.copy_rates_range("EURUSD", TIMEFRAME_M1, lo, hi)
    by_float = t.copy_rates_range("EURUSD", TIMEFRAME_M1, lo + 0.7, hi + 0.7)
    by_dt = t.copy_rates_range(
        "EURUSD",
        TIMEFRAME_M1,
        datetime.fromtimestamp(lo, UTC),
        datetime.fromtimestamp(hi, UTC),
    )
    by_sub = t.copy_rates_range(
        "EURUSD",
        TIMEFRAME_M1,
        MyDatetime.fromtimestamp(lo, UTC),
        MyDatetime.fromtimestamp(hi, UTC),
    )
    assert len(by_int) >= 1
    for other in (by_float, by_dt, by_sub):
        assert other is not None, t.last_error()
        assert np.array_equal(other, by_int)


@pytest.fixture
def tokyo_local_time(monkeypatch):
    if not hasattr(time, "tzset"):
        pytest.skip("needs time.tzset")
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_naive_datetime_is_local_time(t, tokyo_local_time):
    lo, hi = _bar_span(t)
    naive_lo = datetime.fromtimestamp(lo)  # local (Tokyo) wall time, no tzinfo
    naive_hi = datetime.fromtimestamp(hi)
    assert naive_lo.tzinfo is None
    by_naive = t.copy_rates_range("EURUSD", TIMEFRAME_M1, naive_lo, naive_hi)
    by_int = t.copy_rates_range("EURUSD", TIMEFRAME_M1, lo, hi)
    assert len(by_int) >= 1
    assert np.array_equal(by_naive, by_int)


@pytest.mark.parametrize("name", ["copy_ticks_from", "copy_rates_from"])
def test_int_dates_are_32_bit_c_longs(t, name):
    # Windows' C long is 32-bit: a millisecond timestamp cannot pass silently as a date.
    millis = t.symbol_info_tick("EURUSD").time_msc
    args = (
        ("EURUSD", millis, 10, COPY_TICKS_ALL)
        if name == "copy_ticks_from"
        else ("EURUSD", TIMEFRAME_M1, millis, 10)
    )
    try:
        result = getattr(t, name)(*args)
    except (OverflowError, SystemError):
        return
    assert result is None
    assert t.last_error()[0] == -2


def test_string_date_is_rejected(t):
    result = None
    try:
        result = t.copy_rates_range("EURUSD", TIMEFRAME_M1, "2026-11-25", "2026-11-26")
    except (TypeError, SystemError):
        return
    assert result is None
    assert t.last_error()[0] == -2


# --- symbols and accounts per profile --------------------------------------------------------


@pytest.mark.parametrize("profile", sorted(PROFILE_FACTS))
def test_account_properties(terminal, profile):
    t = terminal(profile)
    currency, margin_mode, *_ = PROFILE_FACTS[profile]
    account = t.account_info()
    assert account.currency == currency
    assert account.margin_mode == margin_mode
    assert account.balance == account.equity == account.margin_free
    assert account.margin == 0.0
    assert t.terminal_info().connected is True
    assert t.terminal_info().trade_allowed is True
    assert t.terminal_info().tradeapi_disabled is False


@pytest.mark.parametrize("profile", sorted(PROFILE_FACTS))
def test_symbol_names(terminal, profile):
    t = terminal(profile)
    assert sorted(s.name for s in t.symbols_get()) == sorted(SYMBOL_NAMES[profile])


@pytest.mark.parametrize("profile", sorted(PROFILE_FACTS))
def test_symbol_trading_properties(terminal, profile):
    t = terminal(profile)
    _, _, exemode, filling, stops, freeze, (vmin, vstep, vmax) = PROFILE_FACTS[profile]
    for name in SYMBOL_NAMES[profile]:
        s = t.symbol_info(name)
        assert s is not None, name
        assert s.name == name
        assert (s.trade_exemode, s.filling_mode) == (exemode, filling), name
        assert (s.trade_stops_level, s.trade_freeze_level) == (stops, freeze), name
        assert (s.volume_min, s.volume_step, s.volume_max) == (vmin, vstep, vmax), name
        assert s.point == pytest.approx(10.0**-s.digits), name
        assert s.trade_mode == 4  # SYMBOL_TRADE_MODE_FULL


@pytest.mark.parametrize(
    ("profile", "gold", "digits"),
    [("meridian_ecn", "XAUUSD", 2), ("harbor_fx", "GOLD.m", 2), ("summit_netting", "XAUUSD-ECN", 3),
     ("apex_prop", "XAUUSD.raw", 2)],
)  # fmt: skip
def test_gold_naming_and_digits(terminal, profile, gold, digits):
    s = terminal(profile).symbol_info(gold)
    assert s is not None
    assert s.digits == digits
    assert (s.currency_base, s.currency_profit) == ("XAU", "USD")


def test_market_watch_selection(terminal):
    t = terminal("meridian_ecn")
    selected = {s.name: s.select for s in t.symbols_get()}
    assert selected == {
        "EURUSD": True, "GBPUSD": True, "USDJPY": True, "EURJPY": False, "XAUUSD": True,
        "US30": True, "BTCUSD": True, "GBPJPY": False, "EURGBP": False, "XAGUSD": True,
        "US500": True, "JP225": False, "ETHUSD": True,
    }  # fmt: skip


def test_symbol_info_agrees_with_tick(t):
    s = t.symbol_info("EURUSD")
    tick = t.symbol_info_tick("EURUSD")
    assert (s.bid, s.ask) == (tick.bid, tick.ask)
    assert s.bid < s.ask
    assert s.spread == round((s.ask - s.bid) / s.point)
    assert (s.currency_base, s.currency_profit, s.currency_margin) == ("EUR", "USD", "EUR")
    assert s.trade_contract_size == 100000.0
    assert s.path == "Forex\\EURUSD"


def test_market_book(t):
    assert t.market_book_add("EURUSD") is True
    book = t.market_book_get("EURUSD")
    assert isinstance(book, tuple)
    assert all(type(level) is t.BookInfo for level in book)
    assert all(level.type in (1, 2, 3, 4) for level in book)
    assert t.market_book_release("EURUSD") is True


# --- order_calc_* ----------------------------------------------------------------------------


def test_order_calc_profit_same_currency(terminal):
    t = terminal("meridian_ecn")  # USD account, EURUSD profit in USD
    assert t.order_calc_profit(ORDER_TYPE_BUY, "EURUSD", 1.0, 1.1, 1.101) == pytest.approx(
        100.0, abs=1e-6
    )
    assert t.order_calc_profit(ORDER_TYPE_SELL, "EURUSD", 1.0, 1.1, 1.101) == pytest.approx(
        -100.0, abs=1e-6
    )
    assert t.order_calc_profit(ORDER_TYPE_BUY, "EURUSD", 0.1, 1.1, 1.1) == 0.0


def test_order_calc_profit_in_jpy_account(terminal):
    t = terminal("summit_netting")  # JPY account, USDJPY profit in JPY
    value = t.order_calc_profit(ORDER_TYPE_BUY, "USDJPY-ECN", 1.0, 151.0, 151.1)
    assert type(value) is float
    assert value == pytest.approx(10_000.0, abs=1.0)


def test_order_calc_margin_forex(terminal):
    t = terminal("meridian_ecn")  # leverage 500: 1 lot EURUSD = 200 EUR of margin
    price = t.symbol_info_tick("EURUSD").ask
    margin = t.order_calc_margin(ORDER_TYPE_BUY, "EURUSD", 1.0, price)
    assert type(margin) is float
    assert margin == pytest.approx(200.0 * price, rel=0.01)
    assert t.order_calc_margin(ORDER_TYPE_BUY, "EURUSD", 2.0, price) == pytest.approx(
        2 * margin, rel=1e-6
    )


# --- contract terms that differ per broker ----------------------------------------------------

# (profile, symbol): (contract size, digits, profit currency), as the profiles are specified.
CONTRACT_TERMS = {
    ("meridian_ecn", "XAUUSD"): (100.0, 2, "USD"),
    ("harbor_fx", "GOLD.m"): (100.0, 2, "USD"),
    ("summit_netting", "XAUUSD-ECN"): (10.0, 3, "USD"),  # a 10-ounce gold
    ("apex_prop", "XAUUSD.raw"): (100.0, 2, "USD"),
    ("meridian_ecn", "US30"): (1.0, 1, "USD"),
    ("harbor_fx", "US30.m"): (10.0, 1, "USD"),
    ("summit_netting", "DJ30.cash"): (100.0, 2, "USD"),
    ("apex_prop", "US30.raw"): (1.0, 1, "USD"),
    ("meridian_ecn", "US500"): (1.0, 2, "USD"),
    ("harbor_fx", "SPX500.m"): (10.0, 1, "USD"),
    ("apex_prop", "US500.raw"): (1.0, 2, "USD"),
    ("meridian_ecn", "JP225"): (1.0, 1, "JPY"),
    ("summit_netting", "JP225.cash"): (100.0, 0, "JPY"),
    ("meridian_ecn", "XAGUSD"): (5000.0, 3, "USD"),
    ("summit_netting", "XAGUSD-ECN"): (1000.0, 3, "USD"),
    ("apex_prop", "XAGUSD.raw"): (5000.0, 3, "USD"),
    ("meridian_ecn", "ETHUSD"): (1.0, 2, "USD"),
    ("harbor_fx", "ETHUSD.m"): (10.0, 2, "USD"),
    ("meridian_ecn", "BTCUSD"): (1.0, 2, "USD"),
    ("harbor_fx", "EURGBP.m"): (100_000.0, 5, "GBP"),
    ("harbor_fx", "USDZAR.m"): (100_000.0, 5, "ZAR"),
    ("summit_netting", "GBPJPY-ECN"): (100_000.0, 3, "JPY"),
}
LEVERAGE = {"meridian_ecn": 500, "harbor_fx": 30, "summit_netting": 25, "apex_prop": 100}


@pytest.mark.parametrize(("profile", "symbol"), sorted(CONTRACT_TERMS))
def test_contract_terms_per_broker(terminal, profile, symbol):
    contract, digits, profit_ccy = CONTRACT_TERMS[(profile, symbol)]
    t = terminal(profile)
    assert t.symbol_select(symbol, True)
    s = t.symbol_info(symbol)
    assert (s.trade_contract_size, s.digits, s.currency_profit) == (contract, digits, profit_ccy)
    assert s.trade_tick_size == pytest.approx(10.0**-digits)


@pytest.mark.parametrize(("profile", "symbol"), sorted(CONTRACT_TERMS))
def test_tick_value_profit_and_margin_agree(terminal, profile, symbol):
    """trade_tick_value is what one tick earns on one lot, in the account currency; a copier sizes
    with it, so order_calc_profit and the margin must follow the same contract."""
    t = terminal(profile)
    assert t.symbol_select(symbol, True)
    s = t.symbol_info(symbol)
    assert s.trade_tick_value == s.trade_tick_value_profit == s.trade_tick_value_loss
    assert s.trade_tick_value > 0
    price = s.ask
    ticks = 1000
    volume = 10 * s.volume_min
    profit = t.order_calc_profit(ORDER_TYPE_BUY, symbol, volume, price, price + ticks * s.trade_tick_size)
    assert profit == pytest.approx(ticks * volume * s.trade_tick_value, rel=1e-3, abs=0.01)
    # Margin is the notional over the leverage; the tick value converts profit currency into the
    # account's, so notional in profit currency x (tick value / tick size / contract) is in the account's.
    to_account = s.trade_tick_value / (s.trade_tick_size * s.trade_contract_size)
    forex = s.path.startswith("Forex")
    notional = volume * s.trade_contract_size * (1.0 if forex else price)
    margin = t.order_calc_margin(ORDER_TYPE_BUY, symbol, volume, price)
    if forex:
        # A pair's margin is its base currency; at the pair's price that is this much profit
        # currency. Crosses walk apart from their dollar legs a little, hence the looser bound.
        notional *= price
    rel = 1e-2 if forex else 2e-3
    assert margin == pytest.approx(notional / LEVERAGE[profile] * to_account, rel=rel, abs=0.01)


def test_the_same_gold_move_is_worth_ten_times_less_per_lot_at_the_10_ounce_broker(terminal):
    ecn, summit = terminal("meridian_ecn"), terminal("summit_netting")
    usd_per_lot = ecn.order_calc_profit(ORDER_TYPE_BUY, "XAUUSD", 1.0, 2600.0, 2601.0)
    jpy_per_lot = summit.order_calc_profit(ORDER_TYPE_BUY, "XAUUSD-ECN", 1.0, 2600.0, 2601.0)
    usdjpy = summit.symbol_info_tick("USDJPY-ECN").bid
    assert usd_per_lot == pytest.approx(100.0)
    assert jpy_per_lot == pytest.approx(10.0 * usdjpy, rel=2e-4)
    # One tick (0.001) of one lot of 10 oz is a cent, in yen.
    assert summit.symbol_info("XAUUSD-ECN").trade_tick_value == pytest.approx(0.01 * usdjpy, rel=2e-4)
