"""The rules editor's YAML behind Advanced, and the editor opened from the dashboard: rules checked,
applied to the running copier and saved, with a preview read from the copier's own accounts."""

from __future__ import annotations

import yaml

from copier_gui.core.risk import RiskGate
from copier_gui.core.rules import CopyRules, Sizing
from copier_gui.paths import user_paths
from copier_gui.settings import AccountSettings, Settings, load_settings, save_settings
from copier_gui.ui.rules_editor import RulesEditor, parse_rules, rules_yaml
from copier_gui.ui.session import SettingsStore
from tests.gui.conftest import dispose


def edited(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


def test_the_dialog_shows_the_rules_as_yaml(qtbot):
    rules = CopyRules(sizing=Sizing(multiplier=2.5), copy_existing=True)
    editor = RulesEditor("slave-1", rules, saved_to_file=True)
    qtbot.addWidget(editor)
    assert editor.text() == rules_yaml(rules)
    assert "multiplier: 2.5" in editor.text()
    assert CopyRules.model_validate(yaml.safe_load(editor.text())) == rules
    assert "docs/rules.md" in editor.help.text()
    assert editor.tabs.tabText(editor.tabs.indexOf(editor.advanced)).startswith("Advanced")


def test_an_invalid_edit_names_the_field_and_is_not_emitted(qtbot):
    editor = RulesEditor("slave-1", CopyRules(), saved_to_file=True)
    qtbot.addWidget(editor)
    editor.open()
    editor.yaml_edit.setPlainText(edited(editor.text(), "multiplier: 1.0", "multiplier: 0"))
    assert not editor.save_button.isEnabled()
    with qtbot.assertNotEmitted(editor.rulesSaved):
        editor.save_button.click()
        editor.save()
    assert editor.yaml_error.text() == "sizing.multiplier: Input should be greater than 0"
    assert editor.isVisible(), "the dialog stays open to fix the error"

    editor.yaml_edit.setPlainText(rules_yaml(CopyRules()).replace("copy_pending: true", "copy_pendign: true"))
    assert editor.yaml_error.text().startswith("copy_pendign: Extra inputs are not permitted")
    assert editor.rules() is None
    assert parse_rules("sizing: [unclosed")[1].startswith("not valid YAML at line 1")


def test_a_price_limit_is_edited_in_its_unit_and_per_symbol(qtbot):
    editor = RulesEditor("slave-1", CopyRules(), saved_to_file=True)
    qtbot.addWidget(editor)
    assert "unit: pip" in editor.advanced.help.text()
    assert "max_price_deviation: null" in editor.text()  # the asset class's default
    text = edited(editor.text(), "max_price_deviation: null", "max_price_deviation: {value: 2, unit: pip}")
    text = edited(text, "  per_symbol: {}\nrisk:", "  per_symbol: {BTCUSD: {max_price_deviation: {value: 20, unit: bp}}}\nrisk:")
    rules, problem = parse_rules(text)
    assert problem == "" and rules is not None
    assert (rules.tolerances.max_price_deviation.value, rules.tolerances.max_price_deviation.unit) == (2, "pip")
    assert rules.tolerances.for_symbol("BTCUSD")[1].unit == "bp"
    rules, problem = parse_rules(edited(editor.text(), "max_price_deviation: null",
                                        "max_price_deviation: {value: 2, unit: pips}"))
    assert rules is None and problem.startswith("tolerances.max_price_deviation.unit: Input should be 'point'")


def test_a_valid_edit_is_emitted(qtbot):
    editor = RulesEditor("slave-1", CopyRules(), saved_to_file=True)
    qtbot.addWidget(editor)
    editor.yaml_edit.setPlainText(edited(editor.text(), "multiplier: 1.0", "multiplier: 3.0"))
    with qtbot.waitSignal(editor.rulesSaved) as blocker:
        editor.save_button.click()
    slave_id, rules = blocker.args
    assert slave_id == "slave-1" and rules.sizing.multiplier == 3.0


def test_the_demo_applies_saved_rules_to_the_running_copier_only(demo, qtbot):
    link = demo.copier.slaves["slave-3"]
    old_gate = link.risk_gate
    assert link.executor is not None and isinstance(old_gate, RiskGate)
    editor = demo.dashboard.edit_rules("slave-3")
    assert editor.isVisible() and not editor.isModal()
    assert demo.dashboard.edit_rules("slave-3") is editor, "one editor per slave"
    assert CopyRules.model_validate(yaml.safe_load(editor.text())) == link.rules
    assert "no settings file" in editor.help.text()
    # The preview reads the running copier's accounts: the demo master's EURUSD onto this slave's own name.
    assert editor.preview.line.text().startswith("master buy 1.00 EURUSD → this slave buy ")
    assert "EURUSD-ECN" in editor.preview.line.text()
    assert editor.symbols_page.table.rowCount() >= 13
    # A cTrader slave's preview counts its volume in units, as its broker does.
    ctrader = demo.dashboard.edit_rules("slave-2")
    assert ctrader.preview.line.text().startswith("master buy 1.00 EURUSD → this slave buy 100000 units EURUSD")
    ctrader.close_button.click()
    dispose(ctrader)

    notices = []
    demo.copier.subscribe(notices.append)
    editor.yaml_edit.setPlainText(edited(editor.text(), "copy_pending: true", "copy_pending: false"))
    editor.save_button.click()
    assert link.rules.copy_pending is False
    assert link.executor.rules is link.rules
    assert link.risk_gate is not old_gate and link.risk_gate.risk == link.rules.risk
    assert "running copier only" in editor.message.text()
    assert "rules changed for slave-3" in [n.text for n in notices if n.kind == "state"]
    editor.close_button.click()
    assert "slave-3" not in demo.dashboard.rules_editors
    dispose(editor)


def test_saved_rules_go_to_the_settings_file_and_the_copier(demo, tmp_path):
    paths = user_paths(tmp_path / "saved")
    paths.ensure()
    save_settings(Settings(accounts=[
        AccountSettings(id="master", role="master", platform="demo", demo_profile="meridian_ecn"),
        AccountSettings(id="slave-1", role="slave", platform="demo", demo_profile="harbor_fx"),
    ]), paths.settings_file)
    store = SettingsStore(paths)
    assert store.load() is not None
    demo.session.store = store

    editor = demo.dashboard.edit_rules("slave-1")
    assert "settings file" in editor.help.text() and "no settings file" not in editor.help.text()
    editor.yaml_edit.setPlainText(edited(editor.text(), "multiplier: ", "multiplier: 4.0 #"))
    editor.save_button.click()
    assert demo.copier.slaves["slave-1"].rules.sizing.multiplier == 4.0
    saved = load_settings(paths.settings_file, backups_dir=paths.backups_dir)
    assert saved.account("slave-1").rules.sizing.multiplier == 4.0
    assert "Saved" in editor.message.text()
    editor.close()


def test_a_settings_file_that_failed_to_load_is_never_written_over(demo, tmp_path):
    paths = user_paths(tmp_path / "broken")
    paths.ensure()
    paths.settings_file.write_text('{"accounts": [ broken')
    store = SettingsStore(paths)
    assert store.load() is None
    demo.session.store = store
    before = demo.copier.slaves["slave-1"].rules

    editor = demo.dashboard.edit_rules("slave-1")
    editor.yaml_edit.setPlainText(edited(editor.text(), "multiplier: ", "multiplier: 4.0 #"))
    editor.save_button.click()
    assert paths.settings_file.read_text() == '{"accounts": [ broken'
    assert demo.copier.slaves["slave-1"].rules is before
    assert editor.message.text().startswith("Not saved")
    editor.close()
