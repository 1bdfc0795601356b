"""The window's menus: File (export the journal, export the drift report, quit) and Help (logs
folder, about with the version)."""

from __future__ import annotations

import csv

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
    assert menus["File"] == ["Export journal…", "Export drift report…", "Quit"]
    assert menus["Help"][-2:] == ["Open logs folder", "About copier_gui"]
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
