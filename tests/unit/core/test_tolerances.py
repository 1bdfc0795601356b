"""Tolerances: a price limit in the unit a trader thinks in, per master symbol, and the older
points-only key still read."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from copier_gui.core.rules import CopyRules, DeviationLimit, Tolerances


def test_defaults_leave_the_price_limit_to_the_asset_class():
    tol = Tolerances()
    assert tol.max_price_deviation is None
    assert tol.max_delay_ms == 10_000
    assert tol.per_symbol == {}
    assert tol.for_symbol("EURUSD") == (10_000, None)


def test_the_new_shape_reads_from_yaml_like_data():
    tol = Tolerances.model_validate({
        "max_delay_ms": 10000,
        "max_price_deviation": {"value": 2, "unit": "pip"},
        "per_symbol": {
            "BTCUSD": {"max_price_deviation": {"value": 20, "unit": "bp"}, "max_delay_ms": 2000},
            "XAUUSD": {"max_price_deviation": {"value": 3, "unit": "spread"}},
        },
    })
    assert tol.for_symbol("EURUSD") == (10_000, DeviationLimit(value=2, unit="pip"))
    assert tol.for_symbol("BTCUSD") == (2_000, DeviationLimit(value=20, unit="bp"))
    # Each field of an override falls back to the slave-wide value on its own.
    assert tol.for_symbol("XAUUSD") == (10_000, DeviationLimit(value=3, unit="spread"))


def test_an_override_without_a_limit_keeps_the_slave_wide_one():
    tol = Tolerances.model_validate({"max_price_deviation": {"value": 5, "unit": "point"},
                                     "per_symbol": {"US30": {"max_delay_ms": 500}}})
    assert tol.for_symbol("US30") == (500, DeviationLimit(value=5, unit="point"))


def test_setting_names_say_where_a_symbols_limit_comes_from():
    tol = Tolerances.model_validate({"max_price_deviation": {"value": 2, "unit": "pip"},
                                     "per_symbol": {"BTCUSD": {"max_price_deviation": {"value": 20, "unit": "bp"}},
                                                    "US30": {"max_delay_ms": 500}}})
    assert tol.deviation_setting("BTCUSD") == "tolerances.per_symbol.BTCUSD.max_price_deviation"
    assert tol.deviation_setting("US30") == "tolerances.max_price_deviation"
    assert tol.deviation_setting("EURUSD") == "tolerances.max_price_deviation"


@pytest.mark.parametrize("old", [0, 50, 200, 1_000_000])
def test_the_older_points_key_is_read_as_a_point_limit(old):
    tol = Tolerances.model_validate({"max_price_deviation_points": old})
    assert tol.max_price_deviation == DeviationLimit(value=old, unit="point")
    # Constructed in code too (tests and benches used the keyword).
    assert Tolerances(max_price_deviation_points=old).max_price_deviation == DeviationLimit(value=old, unit="point")
    # And saved in the new shape only.
    assert "max_price_deviation_points" not in tol.model_dump()


def test_the_older_key_works_inside_per_symbol_and_whole_rules():
    rules = CopyRules.model_validate({"tolerances": {"per_symbol": {"GER40": {"max_price_deviation_points": 30}}}})
    assert rules.tolerances.for_symbol("GER40")[1] == DeviationLimit(value=30, unit="point")


def test_giving_both_keys_is_an_error_naming_both():
    with pytest.raises(ValidationError) as info:
        Tolerances.model_validate({"max_price_deviation_points": 50,
                                   "max_price_deviation": {"value": 2, "unit": "pip"}})
    text = str(info.value)
    assert "max_price_deviation_points" in text and "max_price_deviation " in text


def test_the_older_key_beside_a_null_limit_is_no_contradiction():
    # Rules as shown list the limit as null; a tool adding the older key to them means that key.
    tol = Tolerances.model_validate({"max_price_deviation": None, "max_price_deviation_points": 40})
    assert tol.max_price_deviation == DeviationLimit(value=40, unit="point")


@pytest.mark.parametrize("bad", [-1, "wide", 1_000_001, None])
def test_a_bad_older_key_names_it(bad):
    with pytest.raises(ValidationError) as info:
        Tolerances.model_validate({"max_price_deviation_points": bad})
    assert "max_price_deviation_points" in str(info.value)


@pytest.mark.parametrize("limit, field", [
    ({"value": 2, "unit": "pips"}, "unit"),
    ({"value": -1, "unit": "pip"}, "value"),
    ({"value": float("inf"), "unit": "bp"}, "value"),
    ({"value": 2}, "unit"),
    ({"value": 2, "unit": "pip", "extra": 1}, "extra"),
])
def test_a_bad_limit_names_its_field(limit, field):
    with pytest.raises(ValidationError) as info:
        Tolerances.model_validate({"max_price_deviation": limit})
    assert info.value.errors()[0]["loc"][:2] == ("max_price_deviation", field)


def test_null_means_the_class_default():
    assert Tolerances.model_validate({"max_price_deviation": None}).max_price_deviation is None


def test_per_symbol_rejects_unknown_keys_and_bad_delays():
    with pytest.raises(ValidationError) as info:
        Tolerances.model_validate({"per_symbol": {"BTCUSD": {"max_delay": 5}}})
    assert info.value.errors()[0]["loc"] == ("per_symbol", "BTCUSD", "max_delay")
    with pytest.raises(ValidationError) as info:
        Tolerances.model_validate({"per_symbol": {"BTCUSD": {"max_delay_ms": -5}}})
    assert info.value.errors()[0]["loc"] == ("per_symbol", "BTCUSD", "max_delay_ms")


def test_round_trip_through_json_keeps_everything():
    tol = Tolerances.model_validate({"max_price_deviation": {"value": 1.5, "unit": "pip"},
                                     "per_symbol": {"BTCUSD": {"max_price_deviation": {"value": 20, "unit": "bp"}}}})
    assert Tolerances.model_validate(tol.model_dump(mode="json")) == tol
