"""Symbol mapping across broker naming conventions."""

from __future__ import annotations

import pytest

from copier_gui.core.rules import SymbolMapping
from copier_gui.core.symbols import SymbolMap, detect_affixes
from copier_gui.sim import PROFILES


def names(profile: str) -> list[str]:
    return [s.name for s in PROFILES[profile].symbols]


@pytest.mark.parametrize(("profile", "affixes"), [
    ("meridian_ecn", ("", "")), ("harbor_fx", ("", ".m")), ("summit_netting", ("", "-ECN")),
    ("apex_prop", ("", ".raw")),
])
def test_affixes_are_detected(profile, affixes):
    assert detect_affixes(names(profile)) == affixes


@pytest.mark.parametrize(("profile", "expected"), [
    ("harbor_fx", {"EURUSD": "EURUSD.m", "XAUUSD": "GOLD.m", "US30": "US30.m", "BTCUSD": "BTCUSD.m"}),
    ("summit_netting", {"EURUSD": "EURUSD-ECN", "XAUUSD": "XAUUSD-ECN", "US30": "DJ30.cash"}),
    ("apex_prop", {"GBPUSD": "GBPUSD.raw", "XAUUSD": "XAUUSD.raw", "US30": "US30.raw"}),
])
def test_master_names_resolve_at_each_broker(profile, expected):
    m = SymbolMap(names(profile), SymbolMapping())
    assert {k: m.resolve(k).slave_symbol for k in expected} == expected


def test_a_suffixed_master_maps_to_a_plain_slave():
    m = SymbolMap(names("meridian_ecn"), SymbolMapping())
    assert m.resolve("EURUSD.m").slave_symbol == "EURUSD"
    assert m.resolve("GOLD.m").slave_symbol == "XAUUSD"
    assert m.resolve("DJ30.cash").slave_symbol == "US30"


def test_explicit_alias_wins_and_a_wrong_alias_is_explained():
    m = SymbolMap(names("harbor_fx"), SymbolMapping(aliases={"XAUUSD": "GOLD.m", "US30": "WALLST.m"}))
    assert m.resolve("XAUUSD").how == "alias"
    bad = m.resolve("US30")
    assert bad.slave_symbol is None and "WALLST.m" in bad.how and "US30.m" in bad.candidates


def test_unknown_symbol_names_the_closest_candidates():
    m = SymbolMap(names("harbor_fx"), SymbolMapping())
    result = m.resolve("EURUSDX")
    assert result.slave_symbol is None
    assert result.candidates and result.candidates[0] == "EURUSD.m"
    assert m.resolve("NATGAS").slave_symbol is None


def test_affix_detection_can_be_turned_off():
    m = SymbolMap(names("harbor_fx"), SymbolMapping(detect_affixes=False))
    assert m.resolve("EURUSD").slave_symbol is None


KESTREL = ["EUR/USD", "GBP/USD", "USD/JPY", "EUR/GBP", "GOLD", "US 30", "BTC/USD"]  # a cTrader broker's spelling


@pytest.mark.parametrize(("master", "slave"), [
    ("EURUSD", "EUR/USD"), ("EURUSD.m", "EUR/USD"), ("US30", "US 30"), ("DJ30.cash", "US 30"),
    ("XAUUSD-ECN", "GOLD"), ("BTCUSD", "BTC/USD"),
])
def test_names_spelled_with_separators_match(master, slave):
    assert SymbolMap(KESTREL, SymbolMapping()).resolve(master).slave_symbol == slave


@pytest.mark.parametrize(("master", "profile", "slave"), [
    ("EUR/USD", "harbor_fx", "EURUSD.m"), ("US 30", "harbor_fx", "US30.m"), ("US 30", "summit_netting", "DJ30.cash"),
    ("BTC/USD", "summit_netting", "BTCUSD-ECN"), ("EUR/GBP", "meridian_ecn", "EURGBP"),
])
def test_a_master_spelled_with_separators_maps_to_mt5_names(master, profile, slave):
    assert SymbolMap(names(profile), SymbolMapping()).resolve(master).slave_symbol == slave


def test_a_separator_does_not_join_different_instruments():
    assert SymbolMap(KESTREL, SymbolMapping()).resolve("EURUSDX").slave_symbol is None


@pytest.mark.parametrize(("master", "slave"), [("JP225", "JP225.cash"), ("JPN225", "JP225.cash"),
                                               ("NIKKEI225", "JP225.cash")])
def test_the_nikkei_finds_its_cash_index(master, slave):
    assert SymbolMap(["EURUSD", "JP225.cash", "US30.cash"], SymbolMapping()).resolve(master).slave_symbol == slave


def test_a_known_instrument_is_worked_out_once_per_name_not_once_per_entry():
    # Every entry sent looks its instrument up (the hedging guard's in-flight list): a fan-out to a
    # hundred slaves asks for the same few names a hundred times.
    from copier_gui.core import symbols

    symbols.known_instrument.cache_clear()
    assert symbols.known_instrument("DJ30CASH") == symbols.known_instrument("DJ30CASH") == "DJ30"
    assert symbols.known_instrument("EURUSD") is None
    info = symbols.known_instrument.cache_info()
    assert (info.hits, info.misses) == (1, 2)
