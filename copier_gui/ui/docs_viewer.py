"""Help → Documentation: the user guide, read inside the window, offline.

The guide is the project's own Markdown (the README and docs/), shipped with the build. Qt renders
Markdown itself, so nothing is converted and the text a trader reads is the text in the repository;
links between the pages are followed in place, web links open in the browser.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QTextDocument
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QTextBrowser,
    QWidget,
)

ROLE = Qt.ItemDataRole.UserRole  # a topic item keeps its file here

# The guide's pages in reading order: (title, file name in the docs folder).
TOPICS: tuple[tuple[str, str], ...] = (
    ("Getting started", "README.md"),
    ("The window", "desktop.md"),
    ("Copy rules", "rules.md"),
    ("Drift and its attribution", "drift.md"),
    ("Copying under faults", "faults.md"),
    ("Alerts", "alerts.md"),
    ("Monitoring", "monitoring.md"),
    ("Replay scenarios", "scenarios.md"),
)


def docs_dirs() -> list[Path]:
    """Where the guide may be: in a PyInstaller build its ``docs`` folder (the README copied into
    it), from a source checkout the repository's ``docs`` and root."""
    dirs = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        dirs.append(Path(bundle) / "docs")
    root = Path(__file__).resolve().parents[2]
    dirs += [root / "docs", root]
    return dirs


def find_page(name: str) -> Path | None:
    for folder in docs_dirs():
        if (folder / name).is_file():
            return folder / name
    return None


class DocsWindow(QDialog):
    """The guide: its pages on the left, the chosen one on the right. Non-modal."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("copier_gui documentation")
        self.resize(980, 680)
        self.topics = QListWidget(self)
        self.topics.setMaximumWidth(220)
        self.browser = QTextBrowser(self)
        self.browser.setOpenLinks(False)  # links are taken below: pages in place, the web outside
        self.browser.anchorClicked.connect(self.follow)
        self.missing: list[str] = []
        for title, name in TOPICS:
            path = find_page(name)
            if path is None:
                self.missing.append(name)
                continue
            item = QListWidgetItem(title, self.topics)
            item.setData(ROLE, str(path))
        self.topics.currentItemChanged.connect(lambda item, _old: item is not None and self.show_page(Path(item.data(ROLE))))
        layout = QHBoxLayout(self)
        layout.addWidget(self.topics)
        layout.addWidget(self.browser, 1)
        if self.topics.count():
            self.topics.setCurrentRow(0)
        else:
            self.browser.setPlainText("The documentation is not installed with this copy of copier_gui. It is in the "
                                      "project's README and docs folder.")

    def show_page(self, path: Path) -> None:
        # Relative links and images resolve against the page's own folder (and the root, where the
        # README's screenshots point into docs/).
        self.browser.setSearchPaths([str(path.parent), *(str(d) for d in docs_dirs())])
        self.browser.setSource(QUrl.fromLocalFile(str(path)), QTextDocument.ResourceType.MarkdownResource)
        self.page = path

    def follow(self, url: QUrl) -> None:
        """A link to another page of the guide opens here (and selects its topic); an anchor moves
        within the page; anything else (a web page) goes to the system's browser."""
        if url.scheme() in ("http", "https", "mailto"):
            QDesktopServices.openUrl(url)
            return
        if not url.path() and url.fragment():
            self.browser.scrollToAnchor(url.fragment())
            return
        target = self.page.parent / url.path() if not Path(url.path()).is_absolute() else Path(url.path())
        page = target if target.is_file() else find_page(Path(url.path()).name)
        if page is None or page.suffix.lower() != ".md":
            if page is not None:
                QDesktopServices.openUrl(QUrl.fromLocalFile(str(page)))
            return
        for row in range(self.topics.count()):
            if Path(self.topics.item(row).data(ROLE)).resolve() == page.resolve():
                self.topics.setCurrentRow(row)
                return
        self.show_page(page)
