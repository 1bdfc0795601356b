"""The rules form's draft, without Qt: plain data checked whole by CopyRules, its errors named in
the form's words beside the field they are about, and presets left to fill what the trader did not."""

from __future__ import annotations

import pytest

from copier_gui.core.rules import PROP_PRESETS, CopyRules, Limit, LimitAction, PercentLimit, Risk
from copier_gui.ui.rules_form.draft import Draft, label, parse_rules, rules_data, rules_yaml


@pytest.mark.parametrize("preset", sorted(PROP_PRESETS))
def test_a_preset_keeps_its_own_limits_and_the_trader_keeps_theirs(preset):
    rules = CopyRules(risk=Risk(preset=preset, max_open_positions=Limit(value=3, action=LimitAction.WARN)))
    data = rules_data(rules)
    assert data["risk"]["max_open_positions"] == {"value": 3.0, "action": "warn"}
    assert data["risk"]["daily_loss_percent"] is None, "the preset's, so another preset changes it"
    assert parse_rules(rules_yaml(rules)) == (rules, "")
    # A limit typed with the preset's very value is the same rule either way.
    same = PROP_PRESETS[preset]["max_drawdown_percent"]
    explicit = CopyRules(risk=Risk(preset=preset, max_drawdown_percent=PercentLimit(value=same.value, action=same.action)))
    assert CopyRules.model_validate(rules_data(explicit)) == explicit


def test_each_problem_is_named_in_the_forms_words_beside_its_field():
    draft = Draft(CopyRules())
    draft.set(("sizing", "multiplier"), "abc")
    draft.set(("tolerances", "per_symbol"), {"BTCUSD": {"max_delay_ms": -1}})
    draft.set(("risk", "daily_loss"), {"value": 0, "action": "flatten"})
    assert not draft.valid and draft.rules == CopyRules(), "the last valid rules are kept"
    assert draft.problems == {
        ("sizing", "multiplier"): "Multiplier must be a number",
        ("tolerances", "per_symbol", "BTCUSD", "max_delay_ms"): "BTCUSD maximum delay (ms) must be at least 0",
        ("risk", "daily_loss", "value"): "Daily loss at most must be more than 0",
    }
    draft.set(("sizing", "multiplier"), 1.5)
    draft.set(("tolerances", "per_symbol"), {})
    draft.set(("risk", "daily_loss"), None)
    assert draft.valid and draft.rules.sizing.multiplier == 1.5


def test_a_check_across_fields_goes_beside_the_field_it_names():
    draft = Draft(CopyRules())
    draft.set(("stops", "mode"), "fixed_offset")
    assert draft.problems == {("stops", "sl_points"): "Stop loss distance (points): a fixed distance needs a stop "
                                                      "loss or a take profit distance"}
    draft.set(("stops", "mode"), "copy")
    draft.set(("sizing", "no_sl_fallback"), "fixed_risk")
    assert list(draft.problems) == [("sizing", "no_sl_fallback")]
    assert label(("symbols", "per_symbol", "XAUUSD", "volume_multiplier")) == "XAUUSD volume ×"
    assert label(("filters", "magic_numbers", 2)) == "Only these magic numbers"


def test_a_zone_naming_a_group_of_zones_is_named_not_raised():
    # Typed key by key, "Europe" comes before "Europe/Prague"; zoneinfo fails on it with an OS error.
    draft = Draft(CopyRules())
    draft.set(("risk", "prop"), {"reset": {"time": "17:00", "zone": "Europe"}})
    assert draft.problems == {("risk", "prop", "reset", "zone"): "Reset time zone: Europe is a group of zones, "
                                                                  "not a zone: pick one in it, e.g. Europe/Amsterdam"}
    draft.set(("risk", "prop", "reset", "zone"), "Europe/Prague")
    assert draft.valid and str(draft.rules.risk.prop.reset) == "17:00 Europe/Prague"
    assert parse_rules("risk: {prop: {reset: 17:00 America/Argentina}}") == (
        None, "risk.prop.reset.zone: America/Argentina is a group of zones, not a zone: pick one in it, "
              "e.g. America/Argentina/Buenos_Aires")
