"""The Stops page: a copy's stop loss and take profit, copied, left off, or at a fixed distance."""

from __future__ import annotations

from copier_gui.core.rules import StopsMode
from copier_gui.ui.rules_form.fields import CheckField, ChoiceField, NumberField, Page


class StopsPage(Page):
    def __init__(self, parent=None) -> None:
        super().__init__("Stops", (("stops",),), "Copied stops are the master's prices, rounded to the "
                         "slave's digits; a reversed trade takes the master's stop as its target.", parent)
        form = self.group("Stop loss and take profit")
        self.mode = self.add(form, "Stops on the copy", ChoiceField(("stops", "mode"), [
            (StopsMode.COPY.value, "The master's, as prices"), (StopsMode.NONE.value, "None"),
            (StopsMode.FIXED_OFFSET.value, "A fixed distance from the entry")]))
        self.sl = self.add(form, "Stop loss distance (points)", NumberField(
            ("stops", "sl_points"), integer=True, optional=True, placeholder="none"))
        self.tp = self.add(form, "Take profit distance (points)", NumberField(
            ("stops", "tp_points"), integer=True, optional=True, placeholder="none"))
        self.add(form, "", CheckField(("stops", "follow_modifications"), "Follow the master's later stop changes"))
        self.finish()

    def update_state(self, draft) -> None:
        fixed = draft.get(("stops", "mode")) == StopsMode.FIXED_OFFSET.value
        self.sl.edit.setEnabled(fixed)
        self.tp.edit.setEnabled(fixed)
