"""The Filters page: which master trades this slave copies, and which kinds of change it follows."""

from __future__ import annotations

from copier_gui.core.rules import Direction
from copier_gui.ui.rules_form.fields import CheckField, ChoiceField, ListField, Page, TextField


class FiltersPage(Page):
    def __init__(self, parent=None) -> None:
        super().__init__("Filters", (("filters",), ("copy_partial_closes",), ("copy_pending",), ("copy_existing",)),
                         "Every trade a filter leaves out is journaled with the rule that did it. Exits are "
                         "never filtered: whatever the master closes, the slave closes.", parent)
        which = self.group("Which master trades", "Empty means every one.")
        self.add(which, "Only these master symbols", ListField(("filters", "include_symbols"),
                                                              placeholder="all symbols, e.g. EURUSD, XAUUSD"))
        self.add(which, "Never these master symbols", ListField(("filters", "exclude_symbols"),
                                                               placeholder="none"))
        self.add(which, "Only these magic numbers", ListField(("filters", "magic_numbers"), integer=True,
                                                             placeholder="any magic number"),
                 "The master's Expert Advisor numbers to copy, separated by commas")
        self.add(which, "Only comments containing", TextField(("filters", "comment_contains"), placeholder="any comment"))
        self.add(which, "Directions copied", ChoiceField(("filters", "direction"), [
            (Direction.BOTH.value, "Long and short"), (Direction.LONG_ONLY.value, "Long only"),
            (Direction.SHORT_ONLY.value, "Short only")]), "What the slave would hold, after reversing")
        self.add(which, "", CheckField(("filters", "reverse"), "Reverse every trade (a buy is copied as a sell, "
                                                                "stop loss and take profit swapped)"))
        what = self.group("What is copied")
        self.add(what, "", CheckField(("copy_partial_closes",), "Copy partial closes (in proportion to the copy)"))
        self.add(what, "", CheckField(("copy_pending",), "Copy pending orders"))
        self.add(what, "", CheckField(("copy_existing",), "Copy positions the master already held when copying "
                                                          "started (at market, within the price tolerance)"))
        self.finish()
