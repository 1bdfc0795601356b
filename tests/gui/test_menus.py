"""The window's menus: File (export the journal, export the drift report, quit), Accounts (link,
the global switch, each slave's actions), View (theme, panels, layout, full screen) and Help
(documentation, logs folder, about with the version)."""

from __future__ import annotations

import csv

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMessageBox

from copier_gui import __version__
from copier_gui.ui.main_window import MainWindow
from tests.gui.conftest import dispose


def _titles(window: MainWindow) -> dict[str, list[str]]:
    return {menu.title().replace("&", ""): [a.text().replace("&", "") for a in menu.actions() if a.text()]
            for menu in (a.menu() for a in window.menuBar().actions()) if menu is not None}


def test_the_menus_name_what_a_trader_does_from_the_window(qtbot):
    window = MainWindow(tray=False)
    qtbot.addWidget(window)
    menus = _titles(window)
    assert list(menus) == ["File", "Accounts", "View", "Help"]
    assert menus["File"] == ["Export journal…", "Export drift report…", "Quit"]
    assert menus["Accounts"] == ["Link another account…", "Start copying", "Trade the demo master…"]
    assert not window.trade_ticket.action.isEnabled()  # no master to trade yet
    assert menus["View"] == ["Theme", "Panels", "Reset layout", "Full screen", "Find in journal"]
    assert menus["Help"] == ["Documentation", "Open logs folder", "About copier_gui"]
    assert window.link_action.shortcut().toString() == "Ctrl+L"
    assert not window.copying_action.isEnabled()  # no copier yet
    # Nothing to export before a session runs.
    assert not window.export_journal_action.isEnabled() and not window.export_report_action.isEnabled()
    assert window.quit_action.shortcut().toString() == "Ctrl+Q"


def test_about_says_the_version(qtbot, monkeypatch):
    window = MainWindow(tray=False)
    qtbot.addWidget(window)
    shown = []
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, text: shown.append((title, text)))
    window.about_action.trigger()
    assert shown and __version__ in shown[0][1] and "copier_gui" in shown[0][0]


def test_export_journal_writes_every_entry_as_csv(demo, tmp_path):
    window = demo.window
    assert window.export_journal_action.isEnabled() and window.export_report_action.isEnabled()
    out = tmp_path / "journal.csv"
    assert window.export_journal_to(out)
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[0][:4] == ["seq", "wall_utc_iso", "mono", "kind"]
    assert any("copier starting" in r[6] for r in rows[1:])


def test_export_journal_to_a_folder_says_why_in_a_message_box(demo, tmp_path, monkeypatch):
    said = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: said.append(text))
    assert not demo.window.export_journal_to(tmp_path)
    assert said and str(tmp_path) in said[0]


def test_quit_asks_for_an_ordered_shutdown(qtbot):
    window = MainWindow(tray=False)
    asked = []
    window.quitRequested.connect(lambda: asked.append(True))
    window.quit_action.trigger()
    assert asked == [True]
    dispose(window)


def _open(menu):
    menu.aboutToShow.emit()
    return [a.text().replace("&", "") for a in menu.actions() if a.text()]


def test_accounts_menu_lists_each_slave_with_its_row_actions(demo, run):
    window = demo.window
    items = _open(window.accounts_menu)
    slaves = list(demo.copier.slaves)
    assert items[:3] == ["Link another account…", "Stop copying (all slaves)", "Trade the demo master…"]
    assert items[3:] == slaves
    assert window.trade_ticket.action.isEnabled()  # the demo's master is simulated
    submenu = next(a.menu() for a in window.accounts_menu.actions() if a.text() == slaves[0])
    assert f"Resync {slaves[0]} now" in [a.text() for a in submenu.actions()]
    linked = []
    window.linkRequested.connect(lambda: linked.append(True))
    window.link_action.trigger()
    assert linked == [True]

    async def switch():
        window.copying_action.trigger()  # the global switch, as the header's button
        assert demo.copier.copying is False
        assert _open(window.accounts_menu)[1] == "Start copying"
        window.copying_action.trigger()
        assert demo.copier.copying is True

    run(switch)


def test_view_hides_and_shows_panels_and_reset_layout_brings_all_back(demo):
    window = demo.window
    assert _open(window.panels_menu) == ["Accounts", "Mirrored positions", "Journal", "Execution drift",
                                         "Drift summary"]
    journal = next(a for a in window.panels_menu.actions() if a.text() == "Journal")
    journal.trigger()
    assert demo.dashboard.journal_card.isHidden()
    assert not next(a for a in window.panels_menu.actions() if a.text() == "Journal").isChecked()
    left = demo.dashboard.splitters["left"]
    left.setSizes([400, 100, 100])
    window.reset_layout_action.trigger()
    assert not demo.dashboard.journal_card.isHidden()
    assert left.sizes()[0] < 400
    demo.dashboard.search.setText("EURUSD")
    window.show_panel("Journal", False)
    window.find_action.trigger()  # Ctrl+F: the journal's search, its panel shown again
    assert not demo.dashboard.journal_card.isHidden()
    assert demo.dashboard.search.selectedText() == "EURUSD"


def test_view_theme_switches_at_once_and_is_offered_for_saving(qtbot):
    from copier_gui.ui import palette

    window = MainWindow(tray=False)
    qtbot.addWidget(window)
    chosen = []
    window.themeChosen.connect(chosen.append)
    try:
        window.theme_actions["light"].trigger()
        assert palette.current().name == "light" and palette.choice() == "light"
        window.theme_actions["dark"].trigger()
        assert palette.current().name == "dark" and window.theme_actions["dark"].isChecked()
        assert chosen == ["light", "dark"]
    finally:
        window.set_theme("auto")


def test_full_screen_toggles(qtbot):
    window = MainWindow(tray=False)
    qtbot.addWidget(window)
    window.show()
    window.full_screen_action.trigger()
    assert window.isFullScreen() and window.full_screen_action.isChecked()
    window.full_screen_action.trigger()
    assert not window.isFullScreen() and not window.full_screen_action.isChecked()


def test_help_documentation_opens_the_guide_in_a_window_of_its_own(qtbot):
    window = MainWindow(tray=False)
    qtbot.addWidget(window)
    docs = window.show_documentation()
    assert docs.isVisible() and not docs.isModal() and docs.topics.count() >= 5
    assert window.show_documentation() is docs  # reopened, not a second one
    assert window.docs_action.shortcut().matches(QKeySequence(QKeySequence.StandardKey.HelpContents))
