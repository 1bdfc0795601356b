"""The rules form's Prop firm page: a prop-firm profile (risk.prop) edited field by field, each
sub-rule switched on with its group box, the model's errors in words under the field, and the YAML
behind Advanced kept in step both ways."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QComboBox, QFileDialog, QGroupBox, QStyle, QStyleOptionGroupBox

from copier_gui.core.prop_rules import (
    ConsistencyRule,
    DailyLossRule,
    DayReset,
    HedgingGuard,
    MaxLossRule,
    NewsBlackout,
    PropRules,
    StopLossRequired,
    WeekendRule,
)
from copier_gui.core.rule_types import DeviationLimit
from copier_gui.core.rules import CopyRules, Risk
from copier_gui.ui.rules_editor import RulesEditor
from tests.gui.test_rules_form import choose, retype

NY = DayReset(time="17:00", zone="America/New_York")


@pytest.fixture
def make(qtbot):
    def make(rules: CopyRules | None = None, accounts: tuple[str, ...] = ("master", "slave-1", "slave-2")) -> RulesEditor:
        editor = RulesEditor("slave-1", rules or CopyRules(), saved_to_file=True, linked_accounts=accounts)
        qtbot.addWidget(editor)
        editor.open()
        editor.tabs.setCurrentWidget(editor.pages["prop"])
        return editor

    return make


def prop_rules(editor: RulesEditor) -> PropRules | None:
    return editor.draft.rules.risk.prop


def tab_text(editor: RulesEditor) -> str:
    return editor.tabs.tabText(editor.tabs.indexOf(editor.pages["prop"]))


def tick(qtbot, box: QGroupBox) -> None:
    """Click a group box's own check box, where the style draws it."""
    option = QStyleOptionGroupBox()
    box.initStyleOption(option)
    spot = box.style().subControlRect(QStyle.ComplexControl.CC_GroupBox, option,
                                      QStyle.SubControl.SC_GroupBoxCheckBox, box)
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=spot.center())


def switch_on(editor: RulesEditor, qtbot, name: str) -> None:
    box = editor.fields[f"risk.prop.{name}"].box
    assert box.isEnabled() and not box.isChecked()
    tick(qtbot, box)
    assert box.isChecked()


def test_the_page_is_off_until_the_account_is_a_prop_firm_account(make):
    editor = make()
    page = editor.pages["prop"]
    assert tab_text(editor) == "Prop firm"
    switch = editor.fields["risk.prop"]
    assert switch.check.text() == "This is a prop-firm account" and not switch.check.isChecked()
    assert not page.rules_box.isEnabled()
    assert prop_rules(editor) is None and "prop: null" in editor.text()

    switch.check.click()
    assert page.rules_box.isEnabled()
    assert prop_rules(editor) == PropRules(reset=NY)
    assert editor.save_button.isEnabled()
    assert "prop:\n    reset:\n      time: '17:00'\n      zone: America/New_York" in editor.text()
    # Every sub-rule starts off, its box there to tick.
    for name in ("daily_loss", "max_loss", "stop_loss", "news", "weekend", "consistency", "hedging"):
        assert not editor.fields[f"risk.prop.{name}"].box.isChecked(), name

    switch.check.click()
    assert prop_rules(editor) is None and not page.rules_box.isEnabled()


def test_the_reset_zone_lists_the_firms_zones_first_and_names_a_near_miss(make, qtbot):
    editor = make(CopyRules(risk=Risk(prop=PropRules(reset=NY))))
    zone = editor.fields["risk.prop.reset.zone"]
    assert zone.combo.isEditable()
    assert [zone.combo.itemText(i) for i in range(4)] == ["Europe/Prague", "Etc/GMT-2", "America/New_York", "UTC"]
    assert zone.combo.findText("Asia/Tokyo") > 4, "every IANA zone is there after the common ones"
    assert zone.combo.currentText() == "America/New_York"

    retype(qtbot, zone.edit, "Europe/Prag")
    assert zone.error.isVisible()
    assert "did you mean Europe/Prague?" in zone.error.text()
    assert zone.error.text().startswith("Reset time zone: unknown time zone 'Europe/Prag'")
    assert tab_text(editor) == "Prop firm (1)" and not editor.save_button.isEnabled()
    assert "Prop firm" in editor.status.text()

    choose(zone.combo, "Europe/Prague")
    assert not zone.error.isVisible() and editor.save_button.isEnabled()
    retype(qtbot, editor.fields["risk.prop.reset.time"].edit, "24:00")
    assert "must be a 24-hour time HH:MM" in editor.fields["risk.prop.reset.time"].error.text()
    retype(qtbot, editor.fields["risk.prop.reset.time"].edit, "00:00")
    assert prop_rules(editor).reset == DayReset(time="00:00", zone="Europe/Prague")


def test_daily_and_maximum_loss_take_an_amount_or_a_percent(make, qtbot):
    editor = make(CopyRules(risk=Risk(prop=PropRules(reset=NY))))
    switch_on(editor, qtbot, "daily_loss")
    daily = editor.fields["risk.prop.daily_loss.amount"]
    assert daily.error.text() == "Daily loss: give an amount or a percent, e.g. amount: 500 or percent: 5"
    assert not editor.save_button.isEnabled()
    choose(daily.unit, "percent")
    retype(qtbot, daily.edit, "150")
    assert daily.error.text() == "Daily loss (%) must be at most 100"
    retype(qtbot, daily.edit, "5")
    choose(editor.fields["risk.prop.daily_loss.baseline"].combo, "higher")
    choose(editor.fields["risk.prop.daily_loss.action"].combo, "flatten")
    assert prop_rules(editor).daily_loss == DailyLossRule(percent=5, baseline="higher", action="flatten")
    choose(daily.unit, "amount")
    assert prop_rules(editor).daily_loss == DailyLossRule(amount=5, baseline="higher", action="flatten")

    switch_on(editor, qtbot, "max_loss")
    max_loss = editor.fields["risk.prop.max_loss.amount"]
    assert max_loss.unit.currentData() == "percent", "firms mostly state a percent"
    choose(max_loss.unit, "amount")
    retype(qtbot, max_loss.edit, "1000")
    choose(editor.fields["risk.prop.max_loss.mode"].combo, "trailing_eod")
    editor.fields["risk.prop.max_loss.lock_at_initial"].check.click()
    retype(qtbot, editor.fields["risk.prop.max_loss.initial_balance"].edit, "0")
    assert editor.fields["risk.prop.max_loss.initial_balance"].error.text() == "Initial balance must be more than 0"
    retype(qtbot, editor.fields["risk.prop.max_loss.initial_balance"].edit, "10000")
    assert editor.save_button.isEnabled()
    assert prop_rules(editor).max_loss == MaxLossRule(amount=1000, mode="trailing_eod", lock_at_initial=True,
                                                      initial_balance=10_000)

    tick(qtbot, editor.fields["risk.prop.daily_loss"].box)  # off again
    assert prop_rules(editor).daily_loss is None and editor.fields["risk.prop.daily_loss.amount"].edit.text() == ""


def test_a_required_stop_is_added_at_a_distance_or_the_copy_closed(make, qtbot):
    editor = make(CopyRules(risk=Risk(prop=PropRules(reset=NY))))
    switch_on(editor, qtbot, "stop_loss")
    within = editor.fields["risk.prop.stop_loss.within_s"]
    retype(qtbot, within.edit, "30")
    distance = editor.fields["risk.prop.stop_loss.distance"]
    assert distance.error.text().startswith("Stop distance: action add_stop needs the stop's distance")
    assert distance.unit.findData("spread") < 0, "a stop cannot be in spreads"
    retype(qtbot, distance.edit, "20")
    choose(distance.unit, "pip")
    assert prop_rules(editor).stop_loss == StopLossRequired(within_s=30, distance=DeviationLimit(value=20, unit="pip"))
    choose(editor.fields["risk.prop.stop_loss.action"].combo, "close")
    assert not distance.edit.isEnabled()
    assert prop_rules(editor).stop_loss.action == "close"


def test_news_blackouts_read_a_calendar_chosen_without_blocking_the_window(make, qtbot, tmp_path):
    calendar = tmp_path / "week.ics"
    calendar.write_text("BEGIN:VCALENDAR\nEND:VCALENDAR\n")
    editor = make(CopyRules(risk=Risk(prop=PropRules(reset=NY))))
    switch_on(editor, qtbot, "news")
    field = editor.fields["risk.prop.news.calendar"]
    assert field.error.text() == "Calendar file is required"
    field.button.click()
    dialog = field.dialog
    assert isinstance(dialog, QFileDialog) and dialog.isVisible()
    assert dialog.fileMode() == QFileDialog.FileMode.ExistingFile
    assert "*.ics" in " ".join(dialog.nameFilters())
    dialog.fileSelected.emit(str(calendar))
    assert field.edit.text() == str(calendar)
    impacts = editor.fields["risk.prop.news.impacts"]
    assert [box.isChecked() for box in impacts.boxes.values()] == [True, False, False]  # high, medium, low
    impacts.boxes["high"].click()
    assert impacts.error.text() == "Impacts: name at least one of low, medium, high"
    impacts.boxes["medium"].click()
    impacts.boxes["high"].click()
    retype(qtbot, editor.fields["risk.prop.news.before_min"].edit, "5")
    choose(editor.fields["risk.prop.news.action"].combo, "flatten")
    assert editor.save_button.isEnabled()
    assert prop_rules(editor).news == NewsBlackout(calendar=str(calendar), before_min=5, after_min=2,
                                                   impacts=("high", "medium"), action="flatten")


def test_weekend_consistency_hedging_and_trading_days(make, qtbot):
    editor = make(CopyRules(risk=Risk(prop=PropRules(reset=NY))))
    switch_on(editor, qtbot, "weekend")
    assert prop_rules(editor).weekend == WeekendRule(close="Fri 16:45 America/New_York",
                                                     reopen="Sun 17:00 America/New_York")
    close = editor.fields["risk.prop.weekend.close"]
    choose(close.day, "thu")
    retype(qtbot, close.time, "22:00")
    retype(qtbot, close.zone.lineEdit(), "Etc/GMT-")
    assert "unknown time zone 'Etc/GMT-'" in close.error.text() and close.error.text().startswith("Weekend from")
    choose(close.zone, "Etc/GMT-2")
    choose(editor.fields["risk.prop.weekend.action"].combo, "stop_entries")
    assert prop_rules(editor).weekend == WeekendRule(close="Thu 22:00 Etc/GMT-2", reopen="Sun 17:00 America/New_York",
                                                     action="stop_entries")

    switch_on(editor, qtbot, "consistency")
    retype(qtbot, editor.fields["risk.prop.consistency.best_day_percent"].edit, "30")
    assert prop_rules(editor).consistency == ConsistencyRule(best_day_percent=30)

    switch_on(editor, qtbot, "hedging")
    accounts = editor.fields["risk.prop.hedging.accounts"]
    assert list(accounts.boxes) == ["master", "slave-2"], "the other linked accounts, not this one"
    accounts.boxes["slave-2"].click()
    choose(editor.fields["risk.prop.hedging.action"].combo, "warn")
    assert prop_rules(editor).hedging == HedgingGuard(action="warn", accounts=("slave-2",))

    retype(qtbot, editor.fields["risk.prop.min_trading_days"].edit, "2.5")
    assert editor.fields["risk.prop.min_trading_days"].error.text() == "Trading days required must be a whole number"
    retype(qtbot, editor.fields["risk.prop.min_trading_days"].edit, "4")
    assert prop_rules(editor).min_trading_days == 4 and editor.save_button.isEnabled()


def test_the_yaml_and_the_prop_page_follow_each_other(make, qtbot):
    editor = make()
    editor.tabs.setCurrentWidget(editor.advanced)
    editor.yaml_edit.setPlainText(editor.text().replace("  prop: null", "\n".join([
        "  prop:",
        "    reset: 00:00 Europe/Prague",
        "    daily_loss: {percent: 5, baseline: equity, action: flatten}",
        "    news: {calendar: cal.csv, impacts: [high, low]}",
        "    hedging: {accounts: [slave-9]}",
    ])))
    assert editor.yaml_error.text() == ""
    assert editor.fields["risk.prop"].check.isChecked()
    assert editor.fields["risk.prop.reset.zone"].combo.currentText() == "Europe/Prague"
    assert editor.fields["risk.prop.reset.time"].edit.text() == "00:00"
    daily = editor.fields["risk.prop.daily_loss.amount"]
    assert editor.fields["risk.prop.daily_loss"].box.isChecked()
    assert (daily.edit.text(), daily.unit.currentData()) == ("5", "percent")
    assert editor.fields["risk.prop.daily_loss.baseline"].combo.currentData() == "equity"
    assert editor.fields["risk.prop.news.calendar"].edit.text() == "cal.csv"
    impacts = editor.fields["risk.prop.news.impacts"]
    assert {name for name, box in impacts.boxes.items() if box.isChecked()} == {"high", "low"}
    assert not editor.fields["risk.prop.max_loss"].box.isChecked()
    # An account the YAML names that this copier does not link is kept, ticked, and said so.
    accounts = editor.fields["risk.prop.hedging.accounts"]
    assert list(accounts.boxes) == ["master", "slave-2", "slave-9"] and accounts.boxes["slave-9"].isChecked()
    assert "not linked" in accounts.boxes["slave-9"].text()

    # An invalid YAML edit is named on Advanced and leaves the page as it was.
    editor.yaml_edit.setPlainText(editor.text().replace("00:00 Europe/Prague", "00:00 Europe/Pargue"))
    assert editor.yaml_error.text().startswith("risk.prop.reset.zone: unknown time zone 'Europe/Pargue'")
    assert editor.fields["risk.prop.reset.zone"].combo.currentText() == "Europe/Prague"

    editor.tabs.setCurrentWidget(editor.pages["prop"])
    retype(qtbot, daily.edit, "4")
    assert editor.yaml_error.text() == ""
    assert "    daily_loss:\n      amount: null\n      percent: 4.0\n" in editor.text()
    tick(qtbot, editor.fields["risk.prop.news"].box)
    assert "    news: null\n" in editor.text()


@pytest.mark.parametrize("area", [QRect(0, 0, 1366, 728), QRect(0, 0, 1920, 1040)])
def test_the_page_fits_a_laptop_screen_and_scrolls(make, area):
    editor = make(CopyRules(risk=Risk(prop=PropRules(reset=NY))))
    editor.fit_to_screen(area)
    assert area.contains(editor.frameGeometry())
    page = editor.pages["prop"]
    assert page.widgetResizable()
    # Nothing wider than the page: no sideways scrolling at 1366.
    assert page.widget().minimumSizeHint().width() <= page.viewport().width(), (
        page.widget().minimumSizeHint(), page.viewport().size())


def test_no_choice_list_shows_a_stray_item_for_a_rule_left_off(make):
    """A rule not set has no values: its choice lists show nothing chosen, never a made-up "none"."""
    editor = make(CopyRules(risk=Risk(prop=PropRules(reset=NY))))
    page = editor.pages["prop"]
    for combo in page.findChildren(QComboBox):
        texts = [combo.itemText(i) for i in range(combo.count())]
        assert not any(t.strip("\0").lower() == "none" for t in texts), texts


def test_a_firm_preset_is_shown_with_its_source_and_used_as_the_slave_s_risk_rules(make, qtbot):
    editor = make(CopyRules(risk=Risk(max_open_positions={"value": 3})))
    picker = editor.pages["prop"].preset
    ids = [picker.combo.itemData(i) for i in range(picker.combo.count())]
    assert "ftmo_2step_challenge" in ids and "fintokei_protrader_challenge" in ids
    assert picker.combo.currentIndex() == 0 and not picker.use.isEnabled()  # these rules are no preset
    picker.combo.setCurrentIndex(ids.index("ftmo_2step_challenge"))
    assert "https://ftmo.com/en/trading-objectives" in picker.about.text()
    assert "read 2026-11-28" in picker.about.text() and "Minimum Trading Days" in picker.about.text()
    qtbot.mouseClick(picker.use, Qt.MouseButton.LeftButton)
    prop = prop_rules(editor)
    assert str(prop.reset) == "00:00 Europe/Prague" and prop.daily_loss.percent == 5 and prop.min_trading_days == 4
    assert prop.max_loss.mode == "static" and prop.max_loss.action == "flatten"
    # The whole risk block is the preset's, as the command line's use-preset makes it.
    assert editor.draft.rules.risk.max_open_positions is None
    assert editor.pages["prop"].switch.check.isChecked()
    assert "Europe/Prague" in editor.draft.yaml() and editor.draft.valid
    # Opened on rules that are a preset's, the picker shows that preset.
    again = make(editor.draft.rules)
    assert again.pages["prop"].preset.combo.currentData() == "ftmo_2step_challenge"
    # Edited after, they are the trader's own: the picker no longer names a preset.
    retype(qtbot, again.fields["risk.prop.min_trading_days"].edit, "5")
    assert again.pages["prop"].preset.combo.currentIndex() == 0
