"""The shipped prop-firm presets: each one whole and valid through the copy rules, with its source."""

from __future__ import annotations

import datetime as dt

import pytest

from copier_gui.core.rules import Baseline, CopyRules, MaxLossMode
from copier_gui.prop_presets import PresetError, load_preset, presets
from copier_gui.prop_presets.loader import parse_preset, risk_block


def test_every_preset_names_its_firm_source_date_and_validates_as_copy_rules():
    shipped = presets()
    assert {"ftmo_2step_challenge", "ftmo_2step_verification", "fintokei_protrader_challenge"} <= set(shipped)
    for preset in shipped.values():
        assert preset.source.url.startswith("https://") and preset.rule_text
        assert preset.source.read_on <= dt.date.today()
        assert "stored copy" in preset.source.how
        rules = CopyRules.model_validate({"risk": risk_block(preset)})
        assert rules.risk.prop is not None


def test_the_firms_figures_are_the_ones_read():
    ftmo = load_preset("ftmo_2step_challenge").risk.prop
    assert str(ftmo.reset) == "00:00 Europe/Prague"
    assert ftmo.daily_loss.percent == 5 and ftmo.daily_loss.baseline is Baseline.BALANCE
    assert ftmo.max_loss.percent == 10 and ftmo.max_loss.mode is MaxLossMode.STATIC
    assert ftmo.min_trading_days == 4
    fintokei = load_preset("fintokei_protrader_challenge").risk.prop
    assert fintokei.daily_loss.baseline is Baseline.EQUITY and fintokei.hedging is not None


def test_a_broken_preset_file_names_the_file_and_the_field():
    text = (
        "id: broken\nfirm: X\nprogram: Y\nphase: challenge\nrule_text: [a]\n"
        "source: {url: 'https://example.com', read_on: 2026-11-28, how: read from a stored copy}\n"
        "risk: {prop: {reset: '00:00 Europe/Prague', daily_loss: {percent: 500}}}\n")
    with pytest.raises(PresetError, match=r"broken\.yaml: risk\.prop\.daily_loss\.percent"):
        parse_preset("broken.yaml", text)
    with pytest.raises(PresetError, match=r"other\.yaml: id"):
        parse_preset("other.yaml", text.replace("percent: 500", "percent: 5"))
    with pytest.raises(PresetError, match=r"no preset 'nope'"):
        load_preset("nope")
