"""The Risk page: limits per slave, each with its action, and the prop-firm presets that fill them.

A preset's limits show as the empty fields' placeholders: a limit typed in wins over the preset's,
and clearing it gives the preset's back. No limit ever blocks an exit.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from copier_gui.core.rules import PROP_PRESETS, LimitAction
from copier_gui.ui.rules_form.fields import ChoiceField, Page, PairField

ACTIONS = [(LimitAction.STOP_ENTRIES.value, "then stop new entries"), (LimitAction.WARN.value, "then warn only"),
           (LimitAction.FLATTEN.value, "then close every copy and halt")]
LIMITS = (
    ("max_open_positions", "Open positions at most", "positions"),
    ("max_lots_per_symbol", "Lots on one symbol at most", "lots"),
    ("max_lots_total", "Lots in total at most", "lots"),
    ("max_exposure", "Exposure at most", "in the account currency"),
    ("daily_loss", "Daily loss at most", "in the account currency"),
    ("daily_loss_percent", "Daily loss at most (% of balance)", "% of the day's starting balance"),
    ("max_drawdown_percent", "Drawdown at most (% of peak equity)", "% of the peak equity"),
    ("equity_floor", "Equity floor", "in the account currency"),
)
_PRESET_NAMES = {
    "two_step_challenge": "Two-step challenge",
    "one_step_challenge": "One-step challenge",
    "instant_funding": "Instant funding",
}


def _preset_text(name: str) -> str:
    return _PRESET_NAMES.get(name, name.replace("_", " ").capitalize())


class RiskPage(Page):
    def __init__(self, parent=None) -> None:
        super().__init__("Risk", (("risk",),), "Money is in this slave's account currency. A limit stops new "
                         "entries, warns, or closes every copy and halts the slave until you reset it; exits "
                         "are never blocked.", parent)
        presets = self.group("Preset")
        choices = [(None, "None")] + [(name, _preset_text(name)) for name in PROP_PRESETS]
        self.preset = self.add(presets, "Preset", ChoiceField(("risk", "preset"), choices),
                               "Common prop-firm evaluation limits; check your firm's own numbers")
        self.preset_note = QLabel(self)
        self.preset_note.setWordWrap(True)
        self.preset_note.setObjectName("groupHint")
        presets.addRow("", self.preset_note)
        limits = self.group("Limits", "Empty means no limit (or the preset's, shown greyed).")
        self.limits: dict[str, PairField] = {}
        for name, text, unit in LIMITS:
            self.limits[name] = self.add(limits, text, PairField(("risk", name), "action", ACTIONS,
                                                                 default=LimitAction.STOP_ENTRIES.value,
                                                                 placeholder="no limit"), unit)
        self.finish()

    def update_state(self, draft) -> None:
        preset = PROP_PRESETS.get(draft.get(("risk", "preset")) or "", {})
        for name, field in self.limits.items():
            limit = preset.get(name)
            if limit is None:
                field.edit.setPlaceholderText("no limit")
                field.set_default(LimitAction.STOP_ENTRIES.value)
            else:
                field.edit.setPlaceholderText(f"{limit.value:g} (preset)")
                field.set_default(limit.action.value)
        if preset:
            parts = [f"{text.lower()} {preset[name].value:g}" for name, text, _ in LIMITS if name in preset]
            self.preset_note.setText("Sets " + ", ".join(parts) + ". Limits typed below win over the preset's.")
        else:
            self.preset_note.setText("")
