"""The preview bar under the form, always in view: a sample master trade the trader may change
(symbol, side, lots) and what this slave would copy of it under the rules being edited."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFrame, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout

from copier_gui.core.model import Side
from copier_gui.core.rules import CopyRules
from copier_gui.core.rules_preview import (
    PreviewInputs,
    SampleTrade,
    default_sample,
    preview,
    sample_trade,
)
from copier_gui.ui.rules_form.fields import parse_number


class PreviewBar(QFrame):
    sampleChanged = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("previewBar")
        caption = QLabel("Preview", self)
        caption.setObjectName("previewCaption")
        self.symbol = QComboBox(self)
        self.symbol.setMinimumContentsLength(10)
        self.symbol.setToolTip("The master symbol of the sample trade")
        self.side = QComboBox(self)
        self.side.addItem("buy", Side.BUY.value)
        self.side.addItem("sell", Side.SELL.value)
        self.volume = QLineEdit("1.00", self)
        self.volume.setMaximumWidth(70)
        self.volume.setToolTip("The master's lots in the sample trade")
        sample = QHBoxLayout()
        sample.setContentsMargins(0, 0, 0, 0)
        sample.addWidget(caption)
        sample.addSpacing(8)
        sample.addWidget(QLabel("if the master trades", self))
        sample.addWidget(self.side)
        sample.addWidget(self.volume)
        sample.addWidget(QLabel("lots of", self))
        sample.addWidget(self.symbol)
        sample.addStretch(1)
        self.line = QLabel(self)
        self.line.setObjectName("previewLine")
        self.line.setWordWrap(True)
        self.line.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail = QLabel(self)
        self.detail.setObjectName("previewDetail")
        self.detail.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(4)
        layout.addLayout(sample)
        layout.addWidget(self.line)
        layout.addWidget(self.detail)
        self._names: list[str] = []
        self.symbol.activated.connect(lambda _i: self.sampleChanged.emit())
        self.side.activated.connect(lambda _i: self.sampleChanged.emit())
        self.volume.textEdited.connect(lambda _t: self.sampleChanged.emit())

    def set_inputs(self, inputs: PreviewInputs) -> None:
        """List the master's symbols (held ones first); the first time, pick a sample for the trader."""
        held = [p.symbol for p in inputs.master_positions]
        names = list(dict.fromkeys([*held, *sorted(inputs.master.symbols)]))
        if names == self._names:
            return
        first = not self._names
        current = self.symbol.currentText()
        self._names = names
        self.symbol.clear()
        for name in names:
            self.symbol.addItem(name, name)
        if first:
            sample = default_sample(inputs)
            if sample is not None:
                self.symbol.setCurrentIndex(max(names.index(sample.symbol), 0))
                self.side.setCurrentIndex(self.side.findData(sample.side.value))
                self.volume.setText(f"{sample.volume:.2f}")
        elif current in names:
            self.symbol.setCurrentIndex(names.index(current))

    def trade(self, inputs: PreviewInputs) -> SampleTrade | None:
        symbol = self.symbol.currentText()
        if not symbol:
            return None
        volume = parse_number(self.volume.text())
        volume = volume if isinstance(volume, float) else 0.0
        return sample_trade(symbol, inputs.master, side=Side(self.side.currentData()), volume=volume,
                            positions=inputs.master_positions)

    def refresh(self, rules: CopyRules, inputs: PreviewInputs, *, stale: bool) -> None:
        """What ``rules`` make of the sample; ``stale``: they are the last valid ones, not what is typed."""
        trade = self.trade(inputs)
        if trade is None:
            self.line.setText("What this slave would copy shows here once the master and this slave are connected.")
            self.detail.setText("")
            return
        result = preview(rules, inputs, trade)
        self.line.setText(result.text)
        parts = [p for p in (result.note, result.tolerance) if p]
        if result.problem:
            parts.append(f"Cannot apply here: {result.problem}")
        if stale:
            parts.append("Shown with the last valid rules until the rules are fixed.")
        self.detail.setText(" · ".join(parts))
        self.line.setProperty("copied", result.copied)
