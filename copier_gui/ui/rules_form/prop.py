"""The Prop firm page: a prop-firm profile (risk.prop) field by field. Off until the trader says
the account is a prop-firm account; then the firm's trading day (its reset in its own zone) and
each rule the firm sets, each in a group box ticked on when the firm has that rule.

What a rule starts with when ticked is the model's own defaults; the numbers a firm decides (a
loss limit, seconds, a percent) start empty, so the form asks for them rather than guess.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget

from copier_gui.core.prop_rules import (
    Baseline,
    HedgingAction,
    MaxLossMode,
    PropRules,
    StopLossAction,
)
from copier_gui.core.rule_types import LimitAction
from copier_gui.ui.rules_form.draft import Path
from copier_gui.ui.rules_form.fields import (
    CheckField,
    ChoiceField,
    Field,
    NumberField,
    Page,
    PairField,
    hinted_group,
)
from copier_gui.ui.rules_form.prop_fields import (
    AccountsField,
    AmountOrPercentField,
    CalendarField,
    ImpactsField,
    SectionField,
    SwitchField,
)
from copier_gui.ui.rules_form.prop_preset import PresetField
from copier_gui.ui.rules_form.prop_time import TimeField, WeeklyTimeField, ZoneField
from copier_gui.ui.rules_form.risk import ACTIONS

PROP: Path = ("risk", "prop")
DEFAULT = PropRules(reset="17:00 America/New_York").model_dump(mode="json")
_LOSS = {"amount": None, "percent": None, "action": LimitAction.STOP_ENTRIES.value}
DEFAULTS: dict[str, dict] = {
    "daily_loss": {**_LOSS, "baseline": Baseline.BALANCE.value},
    "max_loss": {**_LOSS, "mode": MaxLossMode.STATIC.value, "lock_at_initial": False, "initial_balance": None},
    "stop_loss": {"within_s": None, "action": StopLossAction.ADD_STOP.value, "distance": None},
    "news": {"calendar": "", "before_min": 2.0, "after_min": 2.0, "impacts": ["high"],
             "action": LimitAction.STOP_ENTRIES.value},
    # The forex week is New York's: it closes Friday 5 pm and opens Sunday 5 pm there.
    "weekend": {"close": {"day": "fri", "time": "16:45", "zone": "America/New_York"},
                "reopen": {"day": "sun", "time": "17:00", "zone": "America/New_York"},
                "action": LimitAction.FLATTEN.value},
    "consistency": {"best_day_percent": None},
    "hedging": {"action": HedgingAction.REFUSE.value, "accounts": []},
}
BASELINES = [(Baseline.BALANCE.value, "Balance at the reset (FTMO)"),
             (Baseline.EQUITY.value, "Equity at the reset (Fintokei)"),
             (Baseline.HIGHER.value, "The higher of the two (Summit Strike)")]
MODES = [(MaxLossMode.STATIC.value, "Static: a floor at the initial balance less the limit"),
         (MaxLossMode.TRAILING_EOD.value, "Trailing at the end of each day"),
         (MaxLossMode.TRAILING_INTRADAY.value, "Trailing intraday (highest equity seen)")]
STOP_UNITS = [("pip", "pips (currency pairs)"), ("point", "points"), ("bp", "basis points of the price")]
INTRO = ("The firm's own rules for this account, measured on the firm's trading day, which starts at its "
         "reset in its own time zone. Each rule warns, stops new entries, or closes every copy; exits are never "
         "blocked. Check the numbers against your firm's current rules.")


class PropPage(Page):
    def __init__(self, parent=None) -> None:
        super().__init__("Prop firm", (PROP,), INTRO, parent)
        start = self.group("Start from a firm's preset", "Each preset follows a firm's public rules as read on "
                           "the date shown. Using one replaces this slave's risk rules; edit them after.")
        self.preset = self.add(start, "", PresetField())
        self.switch = self._field(self.body, SwitchField(PROP, "This is a prop-firm account", DEFAULT))
        self.rules_box = QWidget(self.widget())
        self.rules = QVBoxLayout(self.rules_box)
        self.rules.setContentsMargins(0, 0, 0, 0)
        self.rules.setSpacing(10)
        self.body.addWidget(self.rules_box)

        day = self._group("Trading day", "Daily loss, trailing at the end of the day and trading days all "
                                         "count in this day.")
        self.add(day, "Reset time", TimeField((*PROP, "reset", "time")), "24-hour time, e.g. 17:00 or 00:00")
        self.zone = self.add(day, "Reset time zone", ZoneField((*PROP, "reset", "zone")),
                             "An IANA zone; type any part of its name to find it")
        zones = QLabel("Europe/Prague is CET with summer time; Etc/GMT-2 is GMT+2 all year (POSIX signs are "
                       "reversed); America/New_York is 5 pm New York.", self.rules_box)
        zones.setWordWrap(True)
        zones.setObjectName("groupHint")
        day.addRow(zones)
        self.add(day, "Trading days required", NumberField((*PROP, "min_trading_days"), integer=True, optional=True,
                                                           placeholder="none", width=80),
                 "Days with at least one deal that the phase needs; shown as done of required")

        self._loss_rules()
        self._trade_rules()
        self.finish()

    # -- building
    def _field(self, layout, field: Field) -> Field:
        layout.addWidget(field)
        self.fields.append(field)
        field.edited.connect(self.edited)
        return field

    def _group(self, title: str, hint: str = "") -> QFormLayout:
        box, form = hinted_group(title, hint, self.rules_box)
        self.rules.addWidget(box)
        return form

    def _section(self, name: str, title: str, hint: str = "") -> QFormLayout:
        section = SectionField((*PROP, name), title, DEFAULTS[name], hint)
        self._field(self.rules, section)
        return section.form

    def _action(self, form: QFormLayout, name: str, choices=ACTIONS) -> Field:
        return self.add(form, "Then", ChoiceField((*PROP, name, "action"), choices))

    def _loss_rules(self) -> None:
        form = self._section("daily_loss", "Daily loss", "The most the equity may fall in one trading day below "
                             "the baseline as it stood at the reset.")
        self.add(form, "Daily loss at most", AmountOrPercentField((*PROP, "daily_loss"), "the baseline"))
        self.add(form, "Measured from", ChoiceField((*PROP, "daily_loss", "baseline"), BASELINES))
        self._action(form, "daily_loss")

        form = self._section("max_loss", "Maximum loss", "A floor the equity may never reach.")
        self.add(form, "Maximum loss", AmountOrPercentField((*PROP, "max_loss"), "the initial balance"))
        self.add(form, "The floor", ChoiceField((*PROP, "max_loss", "mode"), MODES))
        self.lock = self.add(form, "", CheckField((*PROP, "max_loss", "lock_at_initial"),
                                                  "A trailing floor stops rising at the initial balance"))
        self.add(form, "Initial balance", NumberField((*PROP, "max_loss", "initial_balance"), optional=True,
                                                      placeholder="as first seen"),
                 "Empty: the balance when the copier first saw the account")
        self._action(form, "max_loss")

    def _trade_rules(self) -> None:
        form = self._section("stop_loss", "Stop loss required", "Every position must carry a stop loss soon "
                             "after it opens.")
        self.add(form, "Within (seconds)", NumberField((*PROP, "stop_loss", "within_s"), width=80))
        self.add(form, "A copy still without one", ChoiceField((*PROP, "stop_loss", "action"), [
            (StopLossAction.ADD_STOP.value, "Gets a stop of its own"), (StopLossAction.CLOSE.value, "Is closed")]))
        self.distance = self.add(form, "Stop distance", PairField(
            (*PROP, "stop_loss", "distance"), "unit", STOP_UNITS, default="pip", placeholder="from the entry"))

        form = self._section("news", "News blackout", "Around the calendar's events, on the instruments they "
                             "move. No network is needed: import the calendar as a file.")
        self.add(form, "Calendar file", CalendarField((*PROP, "news", "calendar")))
        self.add(form, "Minutes before", NumberField((*PROP, "news", "before_min"), width=80))
        self.add(form, "Minutes after", NumberField((*PROP, "news", "after_min"), width=80))
        self.add(form, "Events of impact", ImpactsField((*PROP, "news", "impacts")))
        self._action(form, "news")

        form = self._section("weekend", "No weekend holding", "Entries stop from the close to the reopen.")
        self.add(form, "Weekend from", WeeklyTimeField((*PROP, "weekend", "close")))
        self.add(form, "Until", WeeklyTimeField((*PROP, "weekend", "reopen")))
        self._action(form, "weekend")

        form = self._section("consistency", "Consistency", "A warning, never a stop: the best day's share of the "
                             "total profit.")
        self.add(form, "Best day at most (% of profit)", NumberField((*PROP, "consistency", "best_day_percent"),
                                                                     width=80))

        form = self._section("hedging", "Hedging across your accounts", "An entry against another account's "
                             "position on the same instrument. None ticked: every other account linked in this "
                             "copier counts.")
        self.add(form, "Then", ChoiceField((*PROP, "hedging", "action"), [
            (HedgingAction.REFUSE.value, "Refuse the entry"), (HedgingAction.WARN.value, "Copy it and warn")]))
        self.accounts = self.add(form, "The other accounts", AccountsField((*PROP, "hedging", "accounts")))

    # -- from the draft
    def set_accounts(self, linked: list[str]) -> None:
        """The accounts this copier links besides this slave: the hedging guard's choices."""
        self.accounts.set_accounts(linked)

    def update_state(self, draft) -> None:
        self.rules_box.setEnabled(isinstance(draft.get(PROP), dict))
        adds_stop = draft.get((*PROP, "stop_loss", "action")) != StopLossAction.CLOSE.value
        self.distance.edit.setEnabled(adds_stop)
        self.distance.unit.setEnabled(adds_stop)
        self.lock.check.setEnabled(draft.get((*PROP, "max_loss", "mode")) != MaxLossMode.STATIC.value)
