"""The window's journal health (a red banner while entries are not saved, the journal's size) and
the Help menu's "Open logs folder"."""

from __future__ import annotations

import re
import sqlite3

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from copier_gui.core import journal_schema
from copier_gui.core.journal_archive import disk_size
from copier_gui.ui.journal_health import banner_text
from copier_gui.ui.main_window import MainWindow
from tests.gui.conftest import dispose, until


@pytest.fixture
def short_busy_timeout(monkeypatch):
    """Journal writes blocked by another connection's lock fail after 50 ms, not 5 s."""
    monkeypatch.setattr(journal_schema, "BUSY_TIMEOUT_S", 0.05)


def _visible(label) -> bool:
    return not label.isHidden()


def test_the_banner_names_the_file_the_error_and_what_waits_then_clears(short_busy_timeout, demo, run):
    health = demo.window.journal_health
    health.timer.setInterval(50)
    journal = demo.copier.journal
    assert health.size_label.text().startswith("Journal ")
    assert "copier-gui journal archive --before DATE" in health.size_label.text()
    assert not _visible(health.banner)

    # Another program holds the journal's write lock: every batch the writer tries now fails.
    blocker = sqlite3.connect(journal.path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        journal.record("info", "while the file is locked")
        journal.record("info", "and another")
        run(lambda: until(lambda: _visible(health.banner), what="the journal banner"))
        text = health.banner.text()
        assert text.startswith(f"Journal entries are not being saved to {journal.path}: database is locked;")
        # The copier journals on its own too, so at least the two recorded here wait.
        waiting = re.search(r"; (\d+) entries waiting\.$", text)
        assert waiting and int(waiting[1]) >= 2, text
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    run(lambda: until(lambda: not _visible(health.banner), what="the banner to clear"))
    assert journal.error is None and journal.unsaved == 0


def test_the_size_follows_the_file(demo, run):
    health = demo.window.journal_health
    path = demo.copier.journal.path
    before = health.size_label.text()
    for i in range(3000):
        demo.copier.journal.record("info", f"filler {i}", text="x" * 400)
    demo.copier.journal.flush()
    health.refresh()
    assert health.size_label.text() != before
    assert "MB" in health.size_label.text()
    # Until a checkpoint, new entries sit in the write-ahead log, which the size counts.
    assert disk_size(path) > 1024 * 1024


def test_banner_text():
    assert banner_text(None, None, 0) is None
    assert banner_text(None, OSError(28, "No space left on device"), 1) == (
        "Journal entries are not being saved to memory: [Errno 28] No space left on device; 1 entry waiting.")


def test_open_logs_folder_opens_the_user_folders_logs(qtbot, tmp_path, monkeypatch):
    opened: list[QUrl] = []

    def open_url(url: QUrl) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr(QDesktopServices, "openUrl", open_url)
    logs = tmp_path / "home" / "logs"
    window = MainWindow(tray=False, logs_dir=logs)
    try:
        (help_menu,) = [a.menu() for a in window.menuBar().actions() if a.text() == "&Help"]
        assert window.open_logs_action in help_menu.actions()
        window.open_logs_action.trigger()
        assert opened == [QUrl.fromLocalFile(str(logs))]
        assert logs.is_dir()  # made for a file manager that cannot show a missing folder
    finally:
        window.allow_close()
        dispose(window)


def test_a_folder_that_cannot_be_opened_says_where_it_is(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: False)
    window = MainWindow(tray=False, logs_dir=tmp_path / "logs")
    try:
        assert window.open_logs_folder() is False
        assert str(tmp_path / "logs") in window.status.currentMessage()
    finally:
        window.allow_close()
        dispose(window)


def test_without_a_logs_folder_the_action_is_off(qtbot):
    window = MainWindow(tray=False)
    try:
        assert not window.open_logs_action.isEnabled()
    finally:
        window.allow_close()
        dispose(window)
