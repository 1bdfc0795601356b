"""One slave's copy rules as a form: pages for sizing, symbols, filters, stops, tolerances and risk,
each field checked as it is typed; a preview of what the slave would copy of a sample master trade;
and the YAML behind Advanced, kept in step with the form both ways.

Open it with ``open()``, never ``exec()``: a nested event loop would stall the copier. It is not
even window-modal, so the kill switch stays in reach while rules are edited. Save is enabled only
while everything is valid; it emits ``rulesSaved(slave_id, rules)``, the dashboard applies the
rules and reports back through :meth:`RulesEditor.show_result`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from copier_gui.core.copier import Copier
from copier_gui.core.rules import CopyRules
from copier_gui.core.rules_preview import PreviewInputs
from copier_gui.ui import palette
from copier_gui.ui.rules_form.advanced import AdvancedPage
from copier_gui.ui.rules_form.draft import Draft, Path, label, parse_rules, rules_yaml, set_in
from copier_gui.ui.rules_form.fields import Field, Page
from copier_gui.ui.rules_form.filters import FiltersPage
from copier_gui.ui.rules_form.preview import PreviewBar
from copier_gui.ui.rules_form.prop import PropPage
from copier_gui.ui.rules_form.risk import RiskPage
from copier_gui.ui.rules_form.sizing import SizingPage
from copier_gui.ui.rules_form.source import copier_source
from copier_gui.ui.rules_form.stops import StopsPage
from copier_gui.ui.rules_form.symbols import SymbolsPage
from copier_gui.ui.rules_form.tolerances import TolerancesPage

__all__ = ["RulesEditor", "parse_rules", "rules_yaml"]

HELP = ("Each change is checked as you type; Save is ready once nothing is wrong. What each rule means is "
        "explained, with examples, in docs/rules.md.")
PREFERRED = QSize(1080, 860)
MINIMUM = QSize(620, 480)
SOURCE_POLL_MS = 1000  # the accounts behind the preview: connections, balances, the master's positions


class RulesEditor(QDialog):
    """Edits one slave's rules. ``saved_to_file`` False (the demo) says they apply to this run only.

    ``preview_source`` returns the accounts the preview reads (see core.rules_preview); without
    it, a parent holding the running ``copier`` (the dashboard) is read. ``linked_accounts`` are
    the accounts the copier links (the hedging guard's choices); without them, that copier's.
    """

    rulesSaved = Signal(str, object)

    def __init__(self, slave_id: str, rules: CopyRules, *, saved_to_file: bool, parent=None,
                 preview_source: Callable[[], PreviewInputs] | None = None,
                 linked_accounts: Sequence[str] | None = None) -> None:
        super().__init__(parent)
        self.slave_id = slave_id
        self.setWindowTitle(f"Copy rules · {slave_id}")
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        self.draft = Draft(rules)

        help_text = HELP + (" Saved rules go to the settings file and apply to the running copier at once."
                            if saved_to_file else
                            " This session has no settings file: saved rules apply to the running copier "
                            "only and are gone when it stops.")
        self.help = QLabel(help_text, self)
        self.help.setWordWrap(True)
        self.help.setObjectName("pageIntro")

        self.pages: dict[str, Page] = {
            "sizing": SizingPage(), "symbols": SymbolsPage(), "filters": FiltersPage(),
            "stops": StopsPage(), "tolerances": TolerancesPage(), "risk": RiskPage(), "prop": PropPage(),
        }
        self.symbols_page: SymbolsPage = self.pages["symbols"]  # type: ignore[assignment]
        self.tolerances_page: TolerancesPage = self.pages["tolerances"]  # type: ignore[assignment]
        self.symbols_page.draft = self.draft
        self.prop_page: PropPage = self.pages["prop"]  # type: ignore[assignment]
        linked = linked_accounts if linked_accounts is not None else _linked_of(parent)
        self.prop_page.set_accounts([a for a in linked if a != slave_id])
        self.advanced = AdvancedPage()
        self.yaml_edit = self.advanced.edit
        self.yaml_error = self.advanced.error
        self.tabs = QTabWidget(self)
        for page in self.pages.values():
            self.tabs.addTab(page, page.title)
            page.edited.connect(self._edited)
        self.tabs.addTab(self.advanced, self.advanced.title)
        self.tabs.currentChanged.connect(self._tab_changed)
        self.fields: dict[str, Field] = {".".join(map(str, f.path)): f for p in self.pages.values() for f in p.fields}

        self.preview = PreviewBar(self)
        self.preview.sampleChanged.connect(self._update_preview)
        self.status = QLabel(self)
        self.status.setObjectName("rulesStatus")
        self.status.setWordWrap(True)
        self.message = QLabel("", self)
        self.message.setWordWrap(True)
        self.message.setObjectName("rulesMessage")
        self.save_button = QPushButton("Save", self)
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        self.close_button = QPushButton("Close", self)
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.message, 1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.addWidget(self.help)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.preview)
        layout.addLayout(buttons)
        self.setMinimumSize(MINIMUM)
        self.resize(PREFERRED)

        self._yaml_problem = ""  # the Advanced text's error while it does not validate
        self._loading_yaml = False
        self.yaml_edit.textChanged.connect(self._yaml_edited)
        self._source = preview_source or _copier_of(parent, slave_id)
        self._inputs = PreviewInputs()
        self._inputs_key: Any = None
        self._poll = QTimer(self)
        self._poll.setInterval(SOURCE_POLL_MS)
        self._poll.timeout.connect(self._read_source)
        self._style()
        palette.signals.changed.connect(self._style)
        self._read_source(force=True)
        self._refresh(None)

    # ---------------------------------------------------------------- showing
    def open(self) -> None:
        """Show without blocking anything: QDialog.open() would make the dialog window-modal."""
        self.setWindowModality(Qt.WindowModality.NonModal)
        screen = (self.parentWidget() or self).screen()
        if screen is not None:
            self.fit_to_screen(screen.availableGeometry())
        self.show()
        self.raise_()
        self.activateWindow()
        self._poll.start()

    def fit_to_screen(self, area: QRect) -> None:
        """The preferred size, or all of ``area`` when that is smaller, centred in it: each page
        scrolls, so on a 1366x768 laptop every field, the preview and Save are reachable."""
        self.setMinimumSize(MINIMUM.boundedTo(area.size()))
        frame = self.frameGeometry().size() - self.geometry().size()
        margin = QSize(max(frame.width(), 0), max(frame.height(), 0 if self.isVisible() else 32))
        self.resize(PREFERRED.boundedTo(area.size() - margin))
        outer = self.frameGeometry().size().expandedTo(self.size() + margin)
        self.move(area.x() + (area.width() - outer.width()) // 2, area.y() + (area.height() - outer.height()) // 2)

    def done(self, result: int) -> None:
        self._poll.stop()
        super().done(result)

    def _style(self, *_theme) -> None:
        t = palette.current()
        self.setStyleSheet(f"""
            QLabel#pageIntro, QLabel#groupHint, QLabel#previewDetail {{ color: {t.text_dim}; }}
            QLabel#fieldError, QLabel#pageError {{ color: {t.bad}; }}
            QLabel#previewCaption {{ font-weight: 700; }}
            QLabel#previewLine {{ font-weight: 600; font-size: 11pt; }}
            QFrame#previewBar {{ border: 1px solid {t.border}; border-radius: 6px; background: {t.panel}; }}
            QLineEdit[invalid="true"], QComboBox[invalid="true"] {{ border: 1px solid {t.bad}; }}
            QLineEdit:disabled, QComboBox:disabled {{ color: {t.text_dim}; background: transparent; }}
            QGroupBox {{ font-weight: 600; }}
        """)

    # ---------------------------------------------------------------- the trader's edits
    def _edited(self, origin: object, path: Path | None, value: Any) -> None:
        if path is None:  # several settings at once (a symbol's Copy box)
            for one_path, one_value in value:
                set_in(self.draft.data, one_path, one_value)
            self.draft.check()
        else:
            self.draft.set(path, value)
        self.message.setText("")
        self._yaml_problem = ""  # the form's rules replace a YAML edit that never validated
        self._refresh(origin)

    def _yaml_edited(self) -> None:
        if self._loading_yaml:
            return
        self.message.setText("")
        rules, problem = parse_rules(self.yaml_edit.toPlainText())
        self._yaml_problem = problem
        self.yaml_error.setText(problem)
        if rules is None:
            self._update_status()
            return
        self.draft.replace(rules)
        self._refresh(self.advanced)

    def _tab_changed(self, _index: int) -> None:
        # Leaving a valid YAML edit, its text is shown as the form writes it (the same rules).
        if self.tabs.currentWidget() is not self.advanced and not self._yaml_problem:
            self._load_yaml()

    def _load_yaml(self) -> None:
        self._loading_yaml = True
        try:
            self.advanced.set_text(self.draft.yaml())
        finally:
            self._loading_yaml = False

    # ---------------------------------------------------------------- the form from the draft
    def _refresh(self, origin: object) -> None:
        for page in self.pages.values():
            page.load(self.draft, origin)
        self._route_problems()
        if origin is not self.advanced:
            self._load_yaml()
            self.yaml_error.setText("")
        self._update_status()
        self._update_preview()

    def _route_problems(self) -> None:
        """Each problem beside its field; one with no field of its own on its page."""
        by_path = {p: f for f in self.fields.values() for p in (f.path, *f.also)}
        on_field: dict[Field, str] = {}
        on_page: dict[Page, dict[Path, str]] = {page: {} for page in self.pages.values()}
        for loc, text in self.draft.problems.items():
            field = next((by_path[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in by_path), None)
            if field is not None:
                on_field.setdefault(field, text)
                continue
            page = self._page_of(loc, with_tables=True)
            if page is not None:
                on_page[page][loc] = text
        for field in self.fields.values():
            field.show_problem(on_field.get(field, ""))
        for page, found in on_page.items():
            page.show_problems(found)
        theme = palette.current()
        for index in range(self.tabs.count()):
            page = self.tabs.widget(index)
            if page is self.advanced:
                count = 1 if self._yaml_problem else 0
            else:
                count = sum(1 for f in page.fields if f in on_field) + len(on_page.get(page, {}))
            self.tabs.setTabText(index, f"{page.title} ({count})" if count else page.title)
            self.tabs.tabBar().setTabTextColor(index, theme.color("bad") if count else self.palette().windowText().color())

    def _page_of(self, loc: Path, *, with_tables: bool = False) -> Page | None:
        """The page holding a setting: the one whose root is the longest part of its path (risk.prop
        is the Prop firm page's, the rest of risk the Risk page's)."""
        best, length = None, 0
        for page in self.pages.values():
            for root in (*page.problem_paths(), *page.roots) if with_tables else page.roots:
                if loc[:len(root)] == root and len(root) > length:
                    best, length = page, len(root)
        return best

    def _update_status(self) -> None:
        problems = list(self.draft.problems.items())
        if self._yaml_problem:
            text = f"Advanced: the YAML is not saved until it is fixed ({self._yaml_problem})"
        elif problems:
            loc, first = problems[0]
            page = getattr(self._page_of(loc), "title", label(loc))
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            text = f"To fix before saving: {page} › {first}{more}"
        else:
            text = ""
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {palette.current().bad}")
        self.save_button.setEnabled(self.draft.valid and not self._yaml_problem)
        self._route_tab_of_advanced()

    def _route_tab_of_advanced(self) -> None:
        index = self.tabs.indexOf(self.advanced)
        bad = bool(self._yaml_problem)
        self.tabs.setTabText(index, f"{self.advanced.title} (1)" if bad else self.advanced.title)
        color = palette.current().color("bad") if bad else self.palette().windowText().color()
        self.tabs.tabBar().setTabTextColor(index, color)

    # ---------------------------------------------------------------- preview
    def _read_source(self, force: bool = False) -> None:
        if self._source is None:
            return
        inputs = self._source()
        # A position's price and profit move every poll; what the preview reads of it does not.
        held = tuple((p.ticket, p.symbol, p.side, p.volume, p.price_open, p.sl, p.tp) for p in inputs.master_positions)
        key = (id(inputs.master.symbols), id(inputs.slave.symbols), inputs.master.account, inputs.slave.account,
               inputs.slave.broker, held)
        if key == self._inputs_key and not force:
            return
        self._inputs, self._inputs_key = inputs, key
        self.symbols_page.set_inputs(inputs)
        self.tolerances_page.set_symbols(sorted(inputs.master.symbols))
        self.preview.set_inputs(inputs)
        if not force:
            self.symbols_page.load(self.draft, None)
            self._update_preview()

    def _update_preview(self) -> None:
        self.preview.refresh(self.draft.rules, self._inputs, stale=not self.draft.valid)

    # ---------------------------------------------------------------- results
    def text(self) -> str:
        """The rules as the Advanced page holds them (YAML)."""
        return self.yaml_edit.toPlainText()

    def rules(self) -> CopyRules | None:
        """The rules Save would hand over, or None while anything is invalid."""
        return self.draft.rules if self.draft.valid and not self._yaml_problem else None

    def save(self) -> None:
        rules = self.rules()
        if rules is None:
            return
        self.message.setText("")
        self.rulesSaved.emit(self.slave_id, rules)

    def show_result(self, text: str, *, ok: bool = True) -> None:
        """What became of a save (applied, written to the settings file, or why not)."""
        theme = palette.current()
        self.message.setStyleSheet(f"color: {theme.ok if ok else theme.bad}")
        self.message.setText(text)


def _linked_of(parent: QWidget | None) -> list[str]:
    """The accounts the running copier links, master first, when the parent holds one."""
    copier = getattr(parent, "copier", None)
    return [copier.master_id, *copier.slaves] if isinstance(copier, Copier) else []


def _copier_of(parent: QWidget | None, slave_id: str) -> Callable[[], PreviewInputs] | None:
    """The running copier's view of the accounts when the parent holds one (the dashboard does)."""
    copier = getattr(parent, "copier", None)
    if isinstance(copier, Copier) and slave_id in copier.slaves:
        return copier_source(copier, slave_id)
    return None
