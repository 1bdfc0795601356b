"""The Sizing page: how a copy's volume follows the master's, then the slave's own lot limits."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from copier_gui.core.rules import Rounding, SizingMode
from copier_gui.ui.rules_form.fields import ChoiceField, NumberField, Page

MODES = [
    (SizingMode.LOT_MULTIPLIER.value, "Master's lots × multiplier"),
    (SizingMode.BALANCE_RATIO.value, "In proportion to balance"),
    (SizingMode.EQUITY_RATIO.value, "In proportion to equity"),
    (SizingMode.FREE_MARGIN_RATIO.value, "In proportion to free margin"),
    (SizingMode.FIXED_LOT.value, "Fixed lots"),
    (SizingMode.FIXED_RISK.value, "Fixed risk at the master's stop"),
]
_EXPLAINED = {
    SizingMode.LOT_MULTIPLIER: "Each copy is the master's lots times the multiplier.",
    SizingMode.BALANCE_RATIO: "Master's lots × (this slave's balance / the master's) × multiplier, in one currency.",
    SizingMode.EQUITY_RATIO: "Master's lots × (this slave's equity / the master's) × multiplier, in one currency.",
    SizingMode.FREE_MARGIN_RATIO: "Master's lots × (this slave's free margin / the master's) × multiplier.",
    SizingMode.FIXED_LOT: "Every copy is the same number of lots, whatever the master trades.",
    SizingMode.FIXED_RISK: "The volume that loses the risk percent of this slave's equity if the master's stop "
                           "is hit; a master trade without a stop is sized the other way chosen below.",
}
_MULTIPLIED = {SizingMode.LOT_MULTIPLIER, SizingMode.BALANCE_RATIO, SizingMode.EQUITY_RATIO,
               SizingMode.FREE_MARGIN_RATIO}


class SizingPage(Page):
    def __init__(self, parent=None) -> None:
        super().__init__("Sizing", (("sizing",),),
                         "Exposure is kept across contract sizes (1 lot of 10 contracts is 0.1 lot of 100), then "
                         "the minimum and maximum apply, then the slave's lot step rounds.", parent)
        rule = self.group("How much each copy is")
        self.mode = self.add(rule, "Size copies by", ChoiceField(("sizing", "mode"), MODES))
        self.explained = QLabel(self)
        self.explained.setWordWrap(True)
        self.explained.setObjectName("groupHint")
        rule.addRow("", self.explained)
        self.multiplier = self.add(rule, "Multiplier", NumberField(("sizing", "multiplier")),
                                   "Master's lots (or the ratio) times this; 1 copies the same size")
        self.lots = self.add(rule, "Fixed lots", NumberField(("sizing", "lots")))
        self.risk = self.add(rule, "Risk per trade (% of equity)", NumberField(("sizing", "risk_percent")))
        self.fallback = self.add(rule, "Without a master stop, size by", ChoiceField(
            ("sizing", "no_sl_fallback"), [m for m in MODES if m[0] != SizingMode.FIXED_RISK.value]))
        limits = self.group("This slave's limits", "Empty means no limit of its own; the broker's minimum, "
                                                   "maximum and lot step always apply.")
        self.min_lot = self.add(limits, "Minimum lots", NumberField(("sizing", "min_lot"), optional=True,
                                                                    placeholder="none"))
        self.max_lot = self.add(limits, "Maximum lots", NumberField(("sizing", "max_lot"), optional=True,
                                                                    placeholder="none"))
        self.rounding = self.add(limits, "Round to the lot step", ChoiceField(
            ("sizing", "rounding"), [(Rounding.DOWN.value, "Down (never more than the rule asks)"),
                                     (Rounding.NEAREST.value, "To the nearest step")]))
        self.finish()

    def update_state(self, draft) -> None:
        mode = _mode(draft.get(("sizing", "mode")))
        fallback = _mode(draft.get(("sizing", "no_sl_fallback")))
        used = {mode} | ({fallback} if mode is SizingMode.FIXED_RISK else set())
        self.multiplier.edit.setEnabled(bool(used & _MULTIPLIED))
        self.lots.edit.setEnabled(SizingMode.FIXED_LOT in used)
        self.risk.edit.setEnabled(mode is SizingMode.FIXED_RISK)
        self.fallback.combo.setEnabled(mode is SizingMode.FIXED_RISK)
        self.explained.setText(_EXPLAINED.get(mode, ""))


def _mode(value) -> SizingMode | None:
    try:
        return SizingMode(value)
    except ValueError:
        return None
