"""The Prop firm page's preset picker: the firms' challenge shapes shipped as data files
(copier_gui/prop_presets), one chosen with its firm, program and phase, the firm's own words and the
page and date they were read from shown with its notes; "Use this preset" puts its risk rules in the
form, as ``copier-gui risk use-preset`` does, for the trader to edit and save like any rules."""

from __future__ import annotations

import html
from typing import Any

from pydantic import ValidationError
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from copier_gui.core.rules import Risk
from copier_gui.prop_presets.loader import Preset, PresetError, presets, risk_block
from copier_gui.ui import palette
from copier_gui.ui.rules_form.draft import Path
from copier_gui.ui.rules_form.fields import Field

RISK: Path = ("risk",)


def name(preset: Preset) -> str:
    """"FTMO Challenge (2-step evaluation), challenge": the firm once, even when the program names it."""
    program = preset.program if preset.program.startswith(preset.firm) else f"{preset.firm} {preset.program}"
    return f"{program}, {preset.phase.value}"


def describe(preset: Preset) -> str:
    """The preset in a few lines of rich text: what it is, the firm's words, where they come from."""
    quoted = "".join(f"<li>“{html.escape(line)}”</li>" for line in preset.rule_text)
    notes = "".join(f"<li>{html.escape(line)}</li>" for line in preset.notes)
    url = html.escape(preset.source.url)
    return (f"<b>{html.escape(preset.firm)}</b>, {html.escape(preset.program)} ({preset.phase.value})"
            f"<ul style='margin:2px 0'>{quoted}</ul>"
            f"Source: <a href='{url}'>{url}</a>, read {preset.source.read_on.isoformat()}"
            + (f"<br>Notes:<ul style='margin:2px 0'>{notes}</ul>" if notes else ""))


class PresetField(Field):
    """Replaces the slave's whole risk block with a preset's; the choice shows the preset the rules
    match, if any, so a trader sees which one is in use until they edit it."""

    wide = True

    def __init__(self, parent: QWidget | None = None) -> None:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.combo = QComboBox(box)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.use = QPushButton("Use this preset", box)
        row.addWidget(self.combo)
        row.addWidget(self.use)
        row.addStretch(1)
        layout.addLayout(row)
        self.about = QLabel(box)
        self.about.setWordWrap(True)
        self.about.setOpenExternalLinks(True)
        self.about.setObjectName("groupHint")
        layout.addWidget(self.about)
        super().__init__(RISK, box, parent)
        try:
            self.presets: dict[str, Preset] = presets()
        except PresetError as exc:  # a broken file in an installation: said, and nothing offered
            self.presets = {}
            self.about.setText(exc.message)
            self.about.setStyleSheet(f"color: {palette.current().bad}")
        self.combo.addItem("Choose a firm's preset…", "")
        for preset in self.presets.values():
            self.combo.addItem(name(preset), preset.id)
        self.combo.setEnabled(bool(self.presets))
        self.combo.currentIndexChanged.connect(self._show)
        self.use.clicked.connect(self._use)
        self._show()

    @property
    def chosen(self) -> Preset | None:
        return self.presets.get(self.combo.currentData())

    def _show(self) -> None:
        self.use.setEnabled(self.chosen is not None)
        if self.chosen is not None:
            self.about.setText(describe(self.chosen))
        elif self.presets:
            self.about.setText(f"{len(self.presets)} presets: " + "; ".join(map(name, self.presets.values())))

    def _use(self) -> None:
        if self.chosen is not None:
            self._emit(risk_block(self.chosen))

    def load(self, value: Any) -> None:
        try:
            current = Risk.model_validate(value or {}).model_dump(mode="json", exclude_none=True)
        except (ValidationError, OSError):  # rules being typed: no preset matches them
            return
        matching = [i for i in range(1, self.combo.count())
                    if risk_block(self.presets[self.combo.itemData(i)]) == current]
        if self.combo.currentIndex() not in matching:
            # The first preset the rules are, or none: edited rules are the trader's own.
            self.combo.setCurrentIndex(matching[0] if matching else 0)
