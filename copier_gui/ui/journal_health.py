"""The journal's health in the window: a red banner while entries are not being saved, and its size.

The journal's writer thread only keeps ``error`` and ``unsaved``; this polls them (and the file's
size, two stat calls) every few seconds on the UI thread, cheap enough not to need a worker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QLabel, QWidget

from copier_gui.core.journal_archive import disk_size, format_size
from copier_gui.ui import palette

REFRESH_MS = 3000
ARCHIVE_HINT = "archive older entries: copier-gui journal archive --before DATE"


class WatchedJournal(Protocol):
    @property
    def path(self) -> Path | None: ...

    @property
    def error(self) -> BaseException | None: ...

    @property
    def unsaved(self) -> int: ...


def _reason(error: BaseException) -> str:
    # sqlite3 and OSError texts are what a trader can act on ("disk is full", "database is locked").
    text = str(error) or type(error).__name__
    return text[0].lower() + text[1:] if text else text


def banner_text(path: Path | None, error: BaseException | None, unsaved: int) -> str | None:
    """The banner's words while writes fail; None when all is well."""
    if error is None:
        return None
    where = str(path) if path is not None else "memory"
    waiting = f"{unsaved} entr{'y' if unsaved == 1 else 'ies'} waiting"
    return f"Journal entries are not being saved to {where}: {_reason(error)}; {waiting}."


def size_text(path: Path | None) -> str:
    if path is None:
        return ""
    return f"Journal {format_size(disk_size(path))} · {ARCHIVE_HINT}"


class JournalHealth(QObject):
    """Keeps ``banner`` (hidden while writes succeed) and ``size_label`` up to date for one journal."""

    def __init__(self, parent: QWidget, *, interval_ms: int = REFRESH_MS) -> None:
        super().__init__(parent)
        self._journal: WatchedJournal | None = None
        self.banner = QLabel(parent)
        self.banner.setObjectName("journalBanner")
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.setVisible(False)
        self.size_label = QLabel(parent)
        self.size_label.setObjectName("journalSize")
        self.size_label.setToolTip("The journal's size on disk, its write-ahead log included. "
                                   "`copier-gui journal info` lists its archives.")
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.refresh)

    def watch(self, journal: WatchedJournal | None) -> None:
        """Follow this journal from now on (None: show nothing)."""
        self._journal = journal
        self.refresh()
        if journal is None:
            self.timer.stop()
        else:
            self.timer.start()

    def refresh(self) -> None:
        journal = self._journal
        if journal is None:
            self.banner.setVisible(False)
            self.size_label.setText("")
            return
        text = banner_text(journal.path, journal.error, journal.unsaved)
        if text is None:
            self.banner.setVisible(False)
        else:
            bad = palette.current().bad
            self.banner.setStyleSheet(f"QLabel#journalBanner {{ background: {bad}; color: #ffffff; "
                                      "font-weight: 600; padding: 6px 12px; }")
            self.banner.setText(text)
            self.banner.setVisible(True)
        self.size_label.setText(size_text(journal.path))

    def stop(self) -> None:
        self.timer.stop()
