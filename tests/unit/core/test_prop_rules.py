"""A prop-firm profile as data (``risk.prop``): what it accepts, and errors that name the bad value."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from copier_gui.core.rules import (
    Baseline,
    CopyRules,
    LimitAction,
    MaxLossMode,
    PropRules,
    Risk,
)

PROFILE = """
risk:
  prop:
    reset: 17:00 America/New_York
    daily_loss: {amount: 500, baseline: equity, action: flatten}
    max_loss: {percent: 10, mode: trailing_intraday, lock_at_initial: true, initial_balance: 10000}
"""


def error_of(data: dict) -> str:
    with pytest.raises(ValidationError) as caught:
        PropRules.model_validate(data)
    return str(caught.value)


def test_existing_rules_load_unchanged_with_no_profile():
    assert Risk().prop is None and CopyRules().risk.prop is None
    assert Risk.model_validate({"daily_loss": {"value": 100}}).prop is None


def test_a_profile_reads_from_yaml_with_the_reset_written_as_one_phrase():
    rules = CopyRules.model_validate(yaml.safe_load(PROFILE))
    prop = rules.risk.prop
    assert prop.reset.time == "17:00" and prop.reset.zone == "America/New_York"
    assert prop.reset.clock == dt.time(17, 0) and str(prop.reset.tz) == "America/New_York"
    assert str(prop.reset) == "17:00 America/New_York"
    assert prop.daily_loss.amount == 500 and prop.daily_loss.percent is None
    assert prop.daily_loss.baseline is Baseline.EQUITY and prop.daily_loss.action is LimitAction.FLATTEN
    m = prop.max_loss
    assert m.percent == 10 and m.mode is MaxLossMode.TRAILING_INTRADAY and m.lock_at_initial
    assert m.initial_balance == 10_000 and m.action is LimitAction.STOP_ENTRIES
    # Saved and read again: the same profile.
    assert CopyRules.model_validate(rules.model_dump(mode="json")) == rules


def test_the_reset_may_be_a_mapping_and_defaults_to_a_balance_baseline():
    prop = PropRules.model_validate({"reset": {"time": "00:00", "zone": "Etc/GMT-2"},
                                     "daily_loss": {"percent": 5}})
    assert prop.reset.clock == dt.time(0, 0) and prop.daily_loss.baseline is Baseline.BALANCE
    assert prop.max_loss is None


def test_an_unknown_zone_is_named_with_an_example():
    text = error_of({"reset": "17:00 America/NewYork"})
    assert "America/NewYork" in text and "America/New_York" in text and "zone" in text
    text = error_of({"reset": {"time": "17:00", "zone": "CET+1"}})
    assert "'CET+1'" in text and "Europe/Prague" in text


def test_a_bad_time_is_named():
    assert "'25:00'" in error_of({"reset": "25:00 Europe/Prague"})
    assert "'5pm'" in error_of({"reset": {"time": "5pm", "zone": "Europe/Prague"}})
    # YAML reads an unquoted 17:00 as the number 1020 (base 60): say so rather than guess.
    text = error_of(yaml.safe_load("reset: {time: 17:00, zone: Europe/Prague}"))
    assert "1020" in text and "quotes" in text
    assert "time and a zone" in error_of({"reset": "17:00"})


def test_an_amount_or_a_percent_but_not_both_nor_neither():
    assert "not both" in error_of({"reset": "00:00 Etc/UTC", "daily_loss": {"amount": 500, "percent": 5}})
    assert "amount or a percent" in error_of({"reset": "00:00 Etc/UTC", "max_loss": {"mode": "static"}})
    assert "percent" in error_of({"reset": "00:00 Etc/UTC", "daily_loss": {"percent": 150}})
    assert "baseline" in error_of({"reset": "00:00 Etc/UTC", "daily_loss": {"amount": 5, "baseline": "peak"}})
    assert "mode" in error_of({"reset": "00:00 Etc/UTC", "max_loss": {"amount": 5, "mode": "trailing"}})
    assert "initial_balance" in error_of({"reset": "00:00 Etc/UTC",
                                          "max_loss": {"amount": 5, "initial_balance": -1}})


def test_the_reset_is_required_and_unknown_keys_are_refused():
    assert "reset" in error_of({"daily_loss": {"amount": 500}})
    assert "daily_los" in error_of({"reset": "00:00 Etc/UTC", "daily_los": {"amount": 500}})


def test_the_example_in_the_rules_docs_is_a_valid_profile():
    docs = (Path(__file__).parents[3] / "docs" / "rules.md").read_text(encoding="utf-8")
    section = docs[docs.index("### Prop-firm rules (`risk.prop`)"):]
    example = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    prop = CopyRules.model_validate(yaml.safe_load(example)).risk.prop
    assert str(prop.reset) == "17:00 America/New_York" and prop.max_loss.mode is MaxLossMode.TRAILING_INTRADAY


def test_the_later_rules_read_from_phrases_and_name_what_is_wrong():
    prop = PropRules.model_validate({
        "reset": "00:00 Etc/GMT-2",
        "stop_loss": {"within_s": 60, "distance": {"value": 20, "unit": "pip"}},
        "news": {"calendar": "calendar.ics", "before_min": 5, "impacts": ["high", "medium"]},
        "weekend": {"close": "Friday 16:45 America/New_York", "reopen": "Sun 17:00 America/New_York"},
        "consistency": {"best_day_percent": 40}, "hedging": {"accounts": ["funded"]}, "min_trading_days": 4})
    assert (prop.weekend.close.weekday, prop.weekend.close.time, str(prop.weekend.reopen)) == (
        4, "16:45", "Sun 17:00 America/New_York")
    assert prop.stop_loss.action == "add_stop" and str(prop.stop_loss.distance) == "20 pip"
    assert prop.news.action == "stop_entries" and prop.hedging.action == "refuse"

    def error(prop: dict) -> str:
        with pytest.raises(ValidationError) as caught:
            PropRules.model_validate({"reset": "17:00 UTC", **prop})
        return str(caught.value)

    assert "add_stop needs the stop's distance" in error({"stop_loss": {"within_s": 30}})
    assert "cannot be in spreads" in error({"stop_loss": {"within_s": 30, "distance": {"value": 2, "unit": "spread"}}})
    assert "weekday 'Fry' is not one of" in error({"weekend": {"close": "Fry 16:45 UTC", "reopen": "Sun 17:00 UTC"}})
    assert "must be a weekday, a time and a zone" in error({"weekend": {"close": "16:45 UTC", "reopen": "Sun 17:00 UTC"}})
    assert "name at least one of low, medium, high" in error({"news": {"calendar": "x.csv", "impacts": []}})
    assert "min_trading_days" in error({"min_trading_days": 0})


def test_a_zone_folder_is_refused_as_an_unknown_zone_not_a_traceback():
    # "Europe" is a folder of zones: zoneinfo raises an OS error for it, not its own.
    with pytest.raises(ValidationError) as caught:
        PropRules.model_validate({"reset": "17:00 Europe"})
    assert "Europe is a group of zones, not a zone: pick one in it, e.g. Europe/Amsterdam" in str(caught.value)
