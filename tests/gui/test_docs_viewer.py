"""Help → Documentation: the guide's pages read in the window, links between them followed."""

from __future__ import annotations

from PySide6.QtCore import QUrl

from copier_gui.ui import docs_viewer
from copier_gui.ui.docs_viewer import TOPICS, DocsWindow


def test_every_page_of_the_guide_is_there_and_renders(qtbot):
    window = DocsWindow()
    qtbot.addWidget(window)
    assert window.missing == []
    assert [window.topics.item(i).text() for i in range(window.topics.count())] == [t for t, _ in TOPICS]
    for row in range(window.topics.count()):
        window.topics.setCurrentRow(row)
        text = window.browser.toPlainText()
        # Rendered, not shown as source: no Markdown heading marks left.
        assert len(text) > 200 and not text.lstrip().startswith("#"), TOPICS[row]
    window.topics.setCurrentRow(0)
    assert "copier_gui is an open-source trade copier" in window.browser.toPlainText()


def test_a_link_to_another_page_opens_it_in_place(qtbot):
    window = DocsWindow()
    qtbot.addWidget(window)
    window.topics.setCurrentRow([name for _t, name in TOPICS].index("scenarios.md"))
    window.follow(QUrl("drift.md#what-if"))
    assert window.topics.currentItem().text() == "Drift and its attribution"
    assert window.page.name == "drift.md"


def test_web_links_go_to_the_browser(qtbot, monkeypatch):
    opened = []
    monkeypatch.setattr(docs_viewer.QDesktopServices, "openUrl", lambda url: opened.append(url.toString()))
    window = DocsWindow()
    qtbot.addWidget(window)
    window.follow(QUrl("https://example.org/x"))
    assert opened == ["https://example.org/x"] and window.page.name == "README.md"


def test_a_build_without_the_guide_says_where_it_is(qtbot, monkeypatch, tmp_path):
    monkeypatch.setattr(docs_viewer, "docs_dirs", lambda: [tmp_path])
    window = DocsWindow()
    qtbot.addWidget(window)
    assert window.topics.count() == 0 and "README" in window.browser.toPlainText()
