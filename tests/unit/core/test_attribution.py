"""Drift attribution: the parts add up to the total, and the worked examples in docs/drift.md."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copier_gui.core.attribution import (
    PARTS,
    Attribution,
    CopiedTrade,
    attribute,
    attribute_trade,
)

EURUSD_K = 100_000.0  # USD per price unit per lot: tick value 1 / tick size 0.00001
XAUUSD_K = 100.0  # 100 oz, tick 0.01 worth 1 USD


def _eurusd_buy() -> CopiedTrade:
    return CopiedTrade(
        key="eurusd",
        side=1,
        master_entry=1.10000,
        master_exit=1.10200,
        ideal_volume=0.495,
        intended_volume=0.49,
        filled_volume=0.49,
        money_per_price_unit_per_lot=EURUSD_K,
        slave_quote_at_request=1.10001,
        slave_entry=1.10003,
        slave_exit=1.10195,
        slave_commission=-3.43,
        master_commission_scaled=-3.465,
    )


def _xauusd_sell_open() -> CopiedTrade:
    return CopiedTrade(
        key="xauusd",
        side=-1,
        master_entry=2000.00,
        master_exit=None,
        master_mark=1990.00,
        ideal_volume=0.6,
        intended_volume=0.6,
        filled_volume=0.4,
        money_per_price_unit_per_lot=XAUUSD_K,
        slave_quote_at_request=2000.50,
        slave_entry=2000.30,
        slave_mark=1990.20,
        slave_swap=-1.20,
        master_swap_scaled=-1.80,
    )


def _gbpusd_refused() -> CopiedTrade:
    return CopiedTrade(
        key="gbpusd",
        side=1,
        master_entry=1.25000,
        master_exit=1.24800,
        ideal_volume=0.5,
        intended_volume=0.5,
        filled_volume=0.0,
        money_per_price_unit_per_lot=EURUSD_K,
        master_commission_scaled=-3.50,
        missed_reason="max open positions reached",
    )


def _expect(parts: dict[str, float], **expected: float) -> None:
    want = dict.fromkeys(PARTS, 0.0) | expected
    assert parts == pytest.approx(want, abs=1e-9)


def _assert_adds_up(result: Attribution) -> None:
    scale = max(1.0, math.fsum(abs(v) for v in result.parts.values()), abs(result.total))
    assert abs(math.fsum(result.parts.values()) - result.total) <= 1e-9 * scale
    assert abs((result.actual - result.ideal) - result.total) <= 1e-9 * scale
    for trade in result.per_trade:
        trade_scale = max(
            1.0,
            math.fsum(abs(v) for v in trade.parts.values()),
            abs(trade.ideal),
            abs(trade.actual),
        )
        assert abs(math.fsum(trade.parts.values()) - trade.total) <= 1e-9 * trade_scale
        # The split is exact, so a trade's residual is float rounding and nothing else.
        assert abs(trade.parts["residual"]) <= 1e-9 * trade_scale


def _assert_only_other_pnl_is_residual(result: Attribution, other: float) -> None:
    scale = max(1.0, math.fsum(abs(v) for v in result.parts.values()))
    assert abs(result.parts["residual"] - other) <= 1e-9 * scale


def test_example_1_eurusd_buy_rounded_and_slipped() -> None:
    result = attribute_trade(_eurusd_buy())
    assert result.ideal == pytest.approx(95.535)
    assert result.actual == pytest.approx(90.65)
    assert result.total == pytest.approx(-4.885)
    _expect(
        result.parts,
        timing=-0.49,
        entry_price=-0.98,
        exit_price=-2.45,
        sizing=-1.00,
        costs=0.035,
    )


def test_example_2_xauusd_sell_partly_filled_and_open() -> None:
    trade = _xauusd_sell_open()
    assert trade.is_open
    result = attribute_trade(trade)
    assert result.ideal == pytest.approx(598.20)
    assert result.actual == pytest.approx(402.80)
    assert result.total == pytest.approx(-195.40)
    _expect(
        result.parts,
        timing=20.00,
        entry_price=-8.00,
        exit_price=-8.00,
        partial_fill=-200.00,
        costs=0.60,
    )


def test_example_3_refused_trade_is_all_missed_and_the_period_adds_up() -> None:
    refused = attribute_trade(_gbpusd_refused())
    assert refused.ideal == pytest.approx(-103.50)
    assert refused.actual == 0.0
    _expect(refused.parts, missed=103.50)

    period = attribute([_eurusd_buy(), _xauusd_sell_open(), _gbpusd_refused()], currency="USD")
    assert period.currency == "USD"
    assert period.total == pytest.approx(-96.785)
    _expect(
        period.parts,
        timing=19.51,
        entry_price=-8.98,
        exit_price=-10.45,
        sizing=-1.00,
        partial_fill=-200.00,
        missed=103.50,
        costs=0.635,
    )
    assert [t.trade.key for t in period.per_trade] == ["eurusd", "xauusd", "gbpusd"]
    _assert_adds_up(period)


def test_slave_pnl_without_a_master_trade_is_residual() -> None:
    period = attribute([_eurusd_buy()], currency="USD", other_slave_pnl=12.5)
    assert period.total == pytest.approx(-4.885 + 12.5)
    assert period.parts["residual"] == pytest.approx(12.5)
    _assert_adds_up(period)


def test_no_trades_is_all_zero() -> None:
    period = attribute([], currency="EUR")
    assert period.total == 0.0
    assert period.parts == dict.fromkeys(PARTS, 0.0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"side": 0}, "side must be +1 (buy) or -1 (sell)"),
        ({"filled_volume": 0.6}, "filled_volume 0.6 is more than intended_volume 0.49"),
        ({"ideal_volume": -1.0}, "ideal_volume must be a number >= 0"),
        ({"money_per_price_unit_per_lot": 0.0}, "money_per_price_unit_per_lot must be > 0"),
        ({"slave_entry": None}, "slave_entry must be a price > 0"),
        ({"master_exit": None}, "master_exit or master_mark is needed"),
        ({"slave_exit": None}, "slave_exit or slave_mark is needed"),
        ({"missed_reason": "refused"}, "missed (refused) but filled_volume is 0.49"),
        ({"slave_commission": math.nan}, "slave_commission must be a finite number"),
    ],
)
def test_bad_input_gets_one_clear_message(change: dict[str, object], message: str) -> None:
    fields = {name: getattr(_eurusd_buy(), name) for name in CopiedTrade.__slots__}
    with pytest.raises(ValueError, match="trade eurusd: " + re.escape(message)):
        CopiedTrade(**(fields | change))


# Property tests: random trades, the parts always add up.

_prices = st.floats(min_value=0.5, max_value=5000.0, allow_nan=False, allow_infinity=False)
_volumes = st.floats(min_value=0.0, max_value=100.0, allow_nan=False, allow_infinity=False)
_costs = st.floats(min_value=-500.0, max_value=500.0, allow_nan=False, allow_infinity=False)
_k = st.sampled_from([1.0, 10.0, 100.0, 100_000.0, 123.456])


@st.composite
def _trades(draw: st.DrawFn) -> CopiedTrade:
    side = draw(st.sampled_from([1, -1]))
    ideal = draw(_volumes)
    intended = draw(st.one_of(st.just(ideal), _volumes))
    missed = draw(st.booleans())
    if missed:
        filled = 0.0
    else:
        filled = draw(st.sampled_from([0.0, 1.0, 0.5])) * intended
        filled = draw(st.one_of(st.just(filled), st.floats(min_value=0.0, max_value=intended)))
    master_open = draw(st.booleans())
    slave_open = draw(st.booleans())
    master_close = draw(_prices)
    slave_close = draw(_prices)
    return CopiedTrade(
        side=side,
        master_entry=draw(_prices),
        master_exit=None if master_open else master_close,
        master_mark=master_close if master_open else None,
        ideal_volume=ideal,
        intended_volume=intended,
        filled_volume=filled,
        money_per_price_unit_per_lot=draw(_k),
        slave_quote_at_request=None if missed else draw(_prices),
        slave_entry=None if missed else draw(_prices),
        slave_exit=None if missed or slave_open else slave_close,
        slave_mark=None if missed or not slave_open else slave_close,
        slave_commission=0.0 if missed else draw(_costs),
        slave_swap=0.0 if missed else draw(_costs),
        master_commission_scaled=draw(_costs),
        master_swap_scaled=draw(_costs),
        missed_reason="refused by a rule" if missed else None,
    )


@given(st.lists(_trades(), max_size=8), _costs)
def test_parts_always_add_up_to_the_total(trades: list[CopiedTrade], other: float) -> None:
    result = attribute(trades, currency="USD", other_slave_pnl=other)
    assert set(result.parts) == set(PARTS)
    _assert_adds_up(result)
    _assert_only_other_pnl_is_residual(result, other)


@given(_trades())
def test_a_missed_trade_is_all_missed(trade: CopiedTrade) -> None:
    if trade.missed_reason is None:
        return
    parts = attribute_trade(trade).parts
    assert parts["missed"] == -trade.ideal_pnl()
    assert all(parts[name] == 0.0 for name in PARTS if name != "missed")


@given(
    side=st.sampled_from([1, -1]),
    entry=_prices,
    close=_prices,
    volume=_volumes,
    k=_k,
    commission=_costs,
    swap=_costs,
    is_open=st.booleans(),
)
def test_a_perfect_copy_has_no_drift(
    side: int,
    entry: float,
    close: float,
    volume: float,
    k: float,
    commission: float,
    swap: float,
    is_open: bool,
) -> None:
    trade = CopiedTrade(
        side=side,
        master_entry=entry,
        master_exit=None if is_open else close,
        master_mark=close if is_open else None,
        ideal_volume=volume,
        intended_volume=volume,
        filled_volume=volume,
        money_per_price_unit_per_lot=k,
        slave_quote_at_request=entry,
        slave_entry=entry,
        slave_exit=None if is_open else close,
        slave_mark=close if is_open else None,
        slave_commission=commission,
        slave_swap=swap,
        master_commission_scaled=commission,
        master_swap_scaled=swap,
    )
    result = attribute([trade], currency="USD")
    assert result.total == 0.0
    assert result.parts == dict.fromkeys(PARTS, 0.0)


@given(
    side=st.sampled_from([1, -1]),
    entry=_prices,
    delay_move=st.floats(min_value=-50.0, max_value=50.0),
    close=_prices,
    volume=st.floats(min_value=0.01, max_value=100.0),
    k=_k,
)
def test_a_pure_delay_is_all_timing(
    side: int, entry: float, delay_move: float, close: float, volume: float, k: float
) -> None:
    quote = entry + delay_move
    if quote <= 0:
        return
    trade = CopiedTrade(
        side=side,
        master_entry=entry,
        master_exit=close,
        ideal_volume=volume,
        intended_volume=volume,
        filled_volume=volume,
        money_per_price_unit_per_lot=k,
        slave_quote_at_request=quote,
        slave_entry=quote,  # filled at the quote: no slippage, only the latency's move
        slave_exit=close,
    )
    result = attribute_trade(trade)
    assert result.parts["timing"] == pytest.approx(-side * volume * (quote - entry) * k)
    assert all(result.parts[n] == 0.0 for n in PARTS if n not in ("timing", "residual"))
    scale = max(1.0, abs(result.ideal), abs(result.actual))
    assert abs(result.parts["residual"]) <= 1e-9 * scale
    assert abs(result.total - result.parts["timing"]) <= 1e-9 * scale
