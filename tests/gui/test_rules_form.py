"""The rules form: one slave's copy rules as pages of fields, checked as they are typed, a preview of
what the slave would copy, and the YAML behind Advanced kept in step with the form.

The preview reads a master and a slave at simulated brokers through the MT5 connector, as the
dashboard's editor reads them from the running copier.
"""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import QRect, Qt

from copier_gui.clock import VirtualClock
from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector
from copier_gui.core.rules import (
    CopyRules,
    DeviationLimit,
    Filters,
    Limit,
    Risk,
    Sizing,
    SizingMode,
    SymbolMapping,
    SymbolTolerance,
    Tolerances,
)
from copier_gui.core.rules_preview import PreviewAccount, PreviewInputs
from copier_gui.sim import Market, new_terminal
from copier_gui.ui.rules_editor import RulesEditor
from tests.kit import WEEKDAY_NOON_UTC


def read_account(profile: str, market: Market, clock: VirtualClock, login: int, **overrides) -> PreviewAccount:
    terminal = new_terminal(profile, seed=3, clock=clock, market=market, login=login, **overrides)
    connector = MT5Connector(profile, terminal, invoker=InlineInvoker(), clock=clock)

    async def read():
        return await connector.connect(), await connector.symbols()

    state, symbols = asyncio.run(read())
    return PreviewAccount(symbols, state)


@pytest.fixture(scope="module")
def harbor() -> PreviewInputs:
    """A USD master at Meridian with 25,000 and a EUR slave at Harbor FX (names with .m, no silver)."""
    clock = VirtualClock(WEEKDAY_NOON_UTC)
    market = Market(3, clock)
    return PreviewInputs(read_account("meridian_ecn", market, clock, 1, balance=25_000.0),
                         read_account("harbor_fx", market, clock, 2))


@pytest.fixture
def make(qtbot, harbor):
    def make(rules: CopyRules | None = None, inputs: PreviewInputs | None = harbor) -> RulesEditor:
        editor = RulesEditor("slave-1", rules or CopyRules(), saved_to_file=True,
                             preview_source=(lambda: inputs) if inputs is not None else None)
        qtbot.addWidget(editor)
        editor.open()
        return editor

    return make


def retype(qtbot, edit, text: str) -> None:
    """Select what the field holds and type over it, key by key, as a trader would."""
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    if text:
        qtbot.keyClicks(edit, text)


def choose(combo, value) -> None:
    """Pick an entry by its value, as a click in the list does (``activated`` fires)."""
    index = combo.findData(value)
    assert index >= 0, (value, [combo.itemData(i) for i in range(combo.count())])
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def test_an_invalid_value_is_named_beside_its_field_and_save_waits(make, qtbot):
    editor = make()
    multiplier = editor.fields["sizing.multiplier"]
    assert editor.save_button.isEnabled()

    retype(qtbot, multiplier.edit, "0")
    assert multiplier.error.isVisible()
    assert multiplier.error.text() == "Multiplier must be more than 0"
    assert not editor.save_button.isEnabled()
    assert "Sizing" in editor.tabs.tabText(editor.tabs.indexOf(editor.pages["sizing"]))
    assert "Multiplier must be more than 0" in editor.status.text()

    retype(qtbot, multiplier.edit, "abc")
    assert multiplier.error.text() == "Multiplier must be a number"
    retype(qtbot, multiplier.edit, "0.5")
    assert not multiplier.error.isVisible() and editor.save_button.isEnabled()
    assert editor.draft.rules.sizing.multiplier == 0.5


def test_a_check_across_fields_is_shown_beside_the_field_it_names(make, qtbot):
    editor = make()
    retype(qtbot, editor.fields["sizing.min_lot"].edit, "0.5")
    retype(qtbot, editor.fields["sizing.max_lot"].edit, "0.1")
    assert editor.fields["sizing.max_lot"].error.text() == "Maximum lots: minimum lots 0.5 is above maximum lots 0.1"
    assert not editor.save_button.isEnabled()
    retype(qtbot, editor.fields["sizing.max_lot"].edit, "")  # no maximum
    assert not editor.fields["sizing.max_lot"].error.isVisible() and editor.save_button.isEnabled()
    assert editor.draft.rules.sizing.max_lot is None


def test_every_page_names_its_own_fields(make, qtbot):
    editor = make()
    editor.tabs.setCurrentWidget(editor.pages["tolerances"])
    delay = editor.fields["tolerances.max_delay_ms"]
    retype(qtbot, delay.edit, "1.5")
    assert delay.error.text() == "Maximum delay (ms) must be a whole number"
    retype(qtbot, delay.edit, "2500")
    deviation = editor.fields["tolerances.max_price_deviation"]
    retype(qtbot, deviation.edit, "-1")
    assert deviation.error.text() == "Maximum price deviation must be at least 0"
    retype(qtbot, deviation.edit, "2")
    choose(deviation.unit, "pip")
    editor.tabs.setCurrentWidget(editor.pages["risk"])
    daily = editor.fields["risk.daily_loss_percent"]
    retype(qtbot, daily.edit, "150")
    assert daily.error.text() == "Daily loss at most (% of balance) must be at most 100"
    retype(qtbot, daily.edit, "4")
    editor.tabs.setCurrentWidget(editor.pages["filters"])
    retype(qtbot, editor.fields["filters.magic_numbers"].edit, "7, x")
    assert editor.fields["filters.magic_numbers"].error.text() == "Only these magic numbers must be a whole number"
    retype(qtbot, editor.fields["filters.magic_numbers"].edit, "7, 11")
    assert editor.save_button.isEnabled()
    rules = editor.draft.rules
    assert rules.tolerances.max_delay_ms == 2500
    assert rules.tolerances.max_price_deviation == DeviationLimit(value=2, unit="pip")
    assert rules.risk.daily_loss_percent.value == 4 and rules.filters.magic_numbers == [7, 11]


def test_the_preview_follows_the_sizing(make, qtbot, harbor):
    editor = make()
    sl = harbor.master.symbols["EURUSD"].ask - 0.0050
    assert editor.preview.line.text() == f"master buy 1.00 EURUSD → this slave buy 1.00 EURUSD.m, SL {sl:.5f}"
    retype(qtbot, editor.fields["sizing.multiplier"].edit, "0.37")
    assert editor.preview.line.text() == f"master buy 1.00 EURUSD → this slave buy 0.37 EURUSD.m, SL {sl:.5f}"
    choose(editor.fields["sizing.mode"].combo, SizingMode.FIXED_LOT.value)
    assert not editor.fields["sizing.multiplier"].edit.isEnabled() and editor.fields["sizing.lots"].edit.isEnabled()
    retype(qtbot, editor.fields["sizing.lots"].edit, "0.05")
    assert " buy 0.05 EURUSD.m" in editor.preview.line.text()
    # While a field is invalid the preview keeps the last valid rules and says so.
    retype(qtbot, editor.fields["sizing.lots"].edit, "0")
    assert " buy 0.05 EURUSD.m" in editor.preview.line.text()
    assert "until the rules are fixed" in editor.preview.detail.text()
    assert "default maximum of 2 current spreads for fx" in make().preview.detail.text()


def test_the_preview_says_what_the_slave_cannot_copy(make, qtbot):
    editor = make()
    choose(editor.preview.symbol, "XAGUSD")  # Harbor FX lists no silver
    assert editor.preview.line.text().startswith(
        "master buy 1.00 XAGUSD → this slave: not copied, no symbol matches XAGUSD at Harbor FX Europe AG")
    choose(editor.preview.symbol, "EURUSD")
    retype(qtbot, editor.preview.volume, "0.004")
    assert "not copied, volume 0.004 is below the minimum 0.01 for EURUSD.m" in editor.preview.line.text()
    retype(qtbot, editor.preview.volume, "2")
    choose(editor.preview.side, "sell")
    assert editor.preview.line.text().startswith("master sell 2.00 EURUSD → this slave sell 2.00 EURUSD.m, SL ")


def test_the_symbol_map_shows_each_master_symbol_and_edits_overrides_and_exclusions(make, qtbot):
    editor = make()
    editor.tabs.setCurrentWidget(editor.pages["symbols"])
    table = editor.symbols_page.table
    row = editor.symbols_page.row_of
    assert table.rowCount() >= 13
    assert table.item(row("EURUSD"), 1).text() == "EURUSD.m"
    assert table.item(row("XAUUSD"), 1).text() == "GOLD.m" and table.item(row("XAUUSD"), 2).text() == "known alias"
    assert table.item(row("XAGUSD"), 1).text() == "" and "not at this broker" in table.item(row("XAGUSD"), 2).text()
    assert ".m" in editor.symbols_page.note.text()

    # The S&P 500 is SPX500.m at Harbor FX, a well-known alias the map finds by itself.
    assert (table.item(row("US500"), 1).text(), table.item(row("US500"), 2).text()) == ("SPX500.m", "known alias")
    table.item(row("US500"), 1).setText("US500.cash")  # an override naming no symbol at this broker
    assert editor.draft.rules.symbols.aliases == {"US500": "US500.cash"}
    # The slave's closest names follow a moment later, a few at a time, so a long list never stalls the window.
    qtbot.waitUntil(lambda: table.item(row("US500"), 2).text().startswith("not at this broker (closest: "))
    choose(editor.preview.symbol, "US500")
    assert "not copied, the alias US500=US500.cash names no symbol at this broker" in editor.preview.line.text()
    table.item(row("ETHUSD"), 1).setText("BTCUSD.m")  # one that does
    assert editor.draft.rules.symbols.aliases == {"US500": "US500.cash", "ETHUSD": "BTCUSD.m"}
    assert table.item(row("ETHUSD"), 2).text() == "your choice"
    table.item(row("US500"), 1).setText("SPX500.m")  # what the map finds anyway: no override kept
    assert editor.draft.rules.symbols.aliases == {"ETHUSD": "BTCUSD.m"}
    table.item(row("GBPUSD"), 3).setCheckState(Qt.CheckState.Unchecked)  # not copied
    assert editor.draft.rules.filters.exclude_symbols == ["GBPUSD"]
    assert editor.fields["filters.exclude_symbols"].edit.text() == "GBPUSD"
    table.item(row("BTCUSD"), 4).setText("0")
    assert not editor.save_button.isEnabled()
    assert editor.symbols_page.error.text() == "BTCUSD volume × must be more than 0"
    table.item(row("BTCUSD"), 4).setText("0.5")
    assert editor.save_button.isEnabled() and editor.draft.rules.symbols.per_symbol["BTCUSD"].volume_multiplier == 0.5

    choose(editor.preview.symbol, "US500")
    assert " buy 0.10 SPX500.m" in editor.preview.line.text()  # 1 per point at the master, 10 at the slave
    choose(editor.preview.symbol, "GBPUSD")
    assert editor.preview.line.text().endswith("not copied, GBPUSD is in filters.exclude_symbols")

    table.item(row("ETHUSD"), 1).setText("")  # back to what the copier finds by itself
    table.item(row("GBPUSD"), 3).setCheckState(Qt.CheckState.Checked)
    assert editor.draft.rules.symbols.aliases == {} and editor.draft.rules.filters.exclude_symbols == []


def test_per_symbol_tolerances_are_rows_of_their_own(make, qtbot):
    editor = make(CopyRules(tolerances=Tolerances(per_symbol={"BTCUSD": SymbolTolerance(max_delay_ms=2000)})))
    page = editor.tolerances_page
    assert page.table.rowCount() == 1 and page.row_widgets(0).symbol.text() == "BTCUSD"
    page.add_button.click()
    widgets = page.row_widgets(1)
    retype(qtbot, widgets.symbol, "XAUUSD")
    retype(qtbot, widgets.value, "3")
    choose(widgets.unit, "spread")
    retype(qtbot, widgets.delay, "-5")
    assert page.error.text() == "XAUUSD maximum delay (ms) must be at least 0"
    assert not editor.save_button.isEnabled()
    retype(qtbot, widgets.delay, "")
    assert editor.save_button.isEnabled()
    assert editor.draft.rules.tolerances.per_symbol == {
        "BTCUSD": SymbolTolerance(max_delay_ms=2000),
        "XAUUSD": SymbolTolerance(max_price_deviation=DeviationLimit(value=3, unit="spread"))}
    page.remove_row(0)
    assert set(editor.draft.rules.tolerances.per_symbol) == {"XAUUSD"}


def test_a_preset_fills_the_limits_the_trader_leaves_empty(make, qtbot):
    editor = make()
    choose(editor.fields["risk.preset"].combo, "instant_funding")
    positions = editor.fields["risk.max_open_positions"]
    assert positions.edit.text() == "" and "5" in positions.edit.placeholderText()
    assert editor.draft.rules.risk.max_open_positions == Limit(value=5)
    retype(qtbot, positions.edit, "3")
    choose(positions.action, "warn")
    assert editor.draft.rules.risk.max_open_positions == Limit(value=3, action="warn")
    assert editor.draft.rules.risk.daily_loss_percent.value == 4  # still the preset's


def test_advanced_yaml_and_the_form_follow_each_other(make, qtbot):
    editor = make()
    retype(qtbot, editor.fields["sizing.multiplier"].edit, "0.37")
    assert "multiplier: 0.37" in editor.text()

    editor.tabs.setCurrentWidget(editor.advanced)
    editor.yaml_edit.setPlainText(editor.text().replace("copy_pending: true", "copy_pending: false"))
    assert editor.fields["copy_pending"].check.isChecked() is False
    assert editor.draft.rules.copy_pending is False and editor.save_button.isEnabled()

    # An invalid edit says what is wrong and leaves the form as it was.
    editor.yaml_edit.setPlainText(editor.text().replace("multiplier: 0.37", "multiplier: 0"))
    assert editor.yaml_error.text() == "sizing.multiplier: Input should be greater than 0"
    assert not editor.save_button.isEnabled()
    assert editor.fields["sizing.multiplier"].edit.text() == "0.37" and editor.draft.rules.sizing.multiplier == 0.37
    editor.yaml_edit.setPlainText("sizing: [unclosed")
    assert editor.yaml_error.text().startswith("not valid YAML at line 1")
    editor.tabs.setCurrentWidget(editor.pages["sizing"])
    assert editor.fields["sizing.multiplier"].edit.text() == "0.37"
    assert not editor.save_button.isEnabled(), "the YAML still holds an error"
    assert "Advanced" in editor.status.text()

    # Back on Advanced the trader's text is still there to fix; a form edit replaces it instead.
    editor.tabs.setCurrentWidget(editor.advanced)
    assert editor.text() == "sizing: [unclosed"
    editor.tabs.setCurrentWidget(editor.pages["sizing"])
    retype(qtbot, editor.fields["sizing.multiplier"].edit, "0.4")
    assert editor.save_button.isEnabled() and editor.yaml_error.text() == ""
    assert "multiplier: 0.4" in editor.text() and "copy_pending: false" in editor.text()


def test_save_hands_over_the_rules_the_dashboard_applies(make, qtbot):
    editor = make(CopyRules(symbols=SymbolMapping(aliases={"US500": "SPX500.m"})))
    choose(editor.fields["sizing.mode"].combo, SizingMode.BALANCE_RATIO.value)
    retype(qtbot, editor.fields["sizing.multiplier"].edit, "2")
    retype(qtbot, editor.fields["sizing.max_lot"].edit, "3")
    retype(qtbot, editor.fields["filters.exclude_symbols"].edit, "GBPUSD, USDJPY")
    choose(editor.fields["filters.direction"].combo, "long_only")
    retype(qtbot, editor.fields["tolerances.max_price_deviation"].edit, "2")
    choose(editor.fields["tolerances.max_price_deviation"].unit, "pip")
    choose(editor.fields["risk.preset"].combo, "two_step_challenge")
    editor.fields["copy_existing"].check.click()
    with qtbot.waitSignal(editor.rulesSaved) as blocker:
        editor.save_button.click()
    slave_id, rules = blocker.args
    assert slave_id == "slave-1"
    assert rules == CopyRules(
        sizing=Sizing(mode=SizingMode.BALANCE_RATIO, multiplier=2, max_lot=3),
        symbols=SymbolMapping(aliases={"US500": "SPX500.m"}),
        filters=Filters(exclude_symbols=["GBPUSD", "USDJPY"], direction="long_only"),
        tolerances=Tolerances(max_price_deviation=DeviationLimit(value=2, unit="pip")),
        risk=Risk(preset="two_step_challenge"),
        copy_existing=True)
    editor.show_result("Saved to the settings and applied to the running copier.")
    assert editor.message.text() == "Saved to the settings and applied to the running copier."


def test_without_a_preview_source_the_form_still_edits(make, qtbot):
    editor = make(inputs=None)
    assert "once the master and this slave are connected" in editor.preview.line.text()
    retype(qtbot, editor.fields["sizing.multiplier"].edit, "2")
    assert editor.draft.rules.sizing.multiplier == 2


@pytest.mark.parametrize("area", [QRect(0, 0, 1366, 728), QRect(0, 0, 1920, 1040)])
def test_the_editor_fits_the_screen_and_never_blocks_the_window(make, area):
    editor = make()
    editor.fit_to_screen(area)
    assert area.contains(editor.frameGeometry()), (editor.frameGeometry(), area)
    assert not editor.isModal() and editor.windowModality() == Qt.WindowModality.NonModal
    hint = editor.minimumSizeHint()
    assert hint.width() <= 1366 and hint.height() <= 700, hint
    # Each page scrolls inside the window, so a short screen loses no field.
    for page in editor.pages.values():
        assert page.widgetResizable()
