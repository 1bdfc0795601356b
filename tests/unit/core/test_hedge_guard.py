"""The cross-account hedging guard matches one instrument under every broker's name for it."""

from __future__ import annotations

import pytest

from copier_gui.core.hedge_guard import instrument
from copier_gui.core.model import Execution, SymbolSpec, TradeMode


def spec(name: str, base: str, profit: str) -> SymbolSpec:
    return SymbolSpec(name=name, description="", digits=5, point=1e-5, contract_size=1.0, volume_min=0.01,
                      volume_step=0.01, volume_max=100.0, stops_level=0, freeze_level=0, fillings=frozenset(),
                      execution=Execution.MARKET, trade_mode=TradeMode.FULL, currency_base=base,
                      currency_profit=profit, tick_size=1e-5, tick_value=1.0)


_SAME = (
    ("US30", "DJ30.cash", "US30.m", "WS30", "DJI", "#US30", "US30cash", "US 30"),
    ("NAS100", "USTEC", "NDX", "US100.cash", "NAS100.m"),
    ("GER40", "DE40", "DAX40", "GER40.cash"),
    ("XAUUSD", "GOLD", "XAUUSD.m", "GOLDm"),
)


@pytest.mark.parametrize("names", _SAME, ids=lambda names: names[0])
def test_every_alias_of_an_index_or_metal_is_one_instrument(names: tuple[str, ...]) -> None:
    keys = {instrument(name, None) for name in names}
    assert len(keys) == 1, keys


def test_a_metal_with_its_currencies_is_the_same_instrument_as_its_alias() -> None:
    gold = spec("XAUUSD.m", "XAU", "USD")
    assert instrument("XAUUSD.m", gold) == instrument("GOLD", None)


def test_different_indices_stay_apart() -> None:
    keys = [instrument(n, None) for n in ("US30", "NAS100", "GER40", "XAUUSD", "US500", "UK100")]
    assert len(set(keys)) == len(keys)


def test_currency_pairs_still_match_by_their_currencies() -> None:
    a = spec("EURUSD.m", "EUR", "USD")
    b = spec("EURUSD-ECN", "EUR", "USD")
    assert instrument("EURUSD.m", a) == instrument("EURUSD-ECN", b)
    assert instrument("EURUSD.m", a) != instrument("GBPUSD", None)
