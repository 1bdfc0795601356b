"""Which of a copier's notices are worth waking a trader for, and in what words.

A link that goes down (disconnected, or connected but unable to trade), a refusal, a failure, a
risk limit breached (a prop-firm one included), an entry a risk limit refused, a prop-firm limit
80% used and a risk halt become alerts; copies, master changes and other information do not. It remembers which links
are down, so it says when one is back, and a link that keeps failing the same way is one alert.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from copier_gui.alerts.settings import AlertKind
from copier_gui.core.executor import Notice
from copier_gui.core.room_watch import NEAR_LIMIT

__all__ = ["Alert", "Classifier"]

_DOWN = {"disconnected": "connection lost", "degraded": "cannot trade"}
_RISK = {"halted": "risk halt: positions flattened, new entries stopped until the risk state is reset",
         "reducing": "risk limit: new entries stopped, exits still mirrored"}

# The risk gate ends a breach's text with its limit and action: "... (prop.daily_loss, action flatten)".
_BREACH = re.compile(r"\((?P<limit>[a-z_.]+), action (?P<action>warn|stop_entries|flatten)\)$")
_LIMITS = {"prop.daily_loss": "prop-firm daily loss limit", "prop.max_loss": "prop-firm maximum loss",
           "daily_loss": "daily loss limit", "daily_loss_percent": "daily loss limit (percent)",
           "max_drawdown_percent": "maximum drawdown", "equity_floor": "equity floor"}
_ACTIONS = {"flatten": "reached: flattening, new entries stopped",
            "stop_entries": "reached: new entries stopped, exits still mirrored",
            "warn": "reached (warning only)"}


@dataclass(frozen=True, slots=True)
class Alert:
    kind: AlertKind  # what the trader chose to hear about
    topic: str  # what throttling groups by, with the account ("reconnect" apart from "disconnect")
    account: str
    title: str  # short: "s1: connection lost"
    text: str  # the copier's own words
    at: float  # UTC seconds


class Classifier:
    def __init__(self) -> None:
        self._down: dict[str, str] = {}  # account -> the text of the alert that said it went down
        self._last_refusal: dict[str, str] = {}
        # Accounts whose breach was just announced as a risk alert, and when: the state change it causes
        # follows in the same pass.
        self._breached: dict[str, float] = {}

    def classify(self, notice: Notice, at: float) -> Alert | None:
        account = notice.account
        if notice.state == NEAR_LIMIT:
            head = notice.text.split(":", 1)[0]  # "prop-firm daily loss 82% used"
            return Alert("risk", "near_limit", account, f"{account}: {head}", notice.text, at)
        risk = self._risk(notice, at)
        if risk is not None:
            return risk
        if notice.kind == "refusal":
            self._last_refusal[account] = notice.text
            return Alert("refusal", "refusal", account, f"{account}: trade not copied", notice.text, at)
        if notice.kind == "failure":
            return Alert("failure", "failure", account, f"{account}: failure", notice.text, at)
        if notice.kind != "state":
            return None
        if notice.state in _DOWN:
            if self._down.get(account) == notice.text:
                return None  # a retry that failed the same way is not news
            self._down[account] = notice.text
            return Alert("disconnect", "disconnect", account, f"{account}: {_DOWN[notice.state]}", notice.text, at)
        if notice.state == "connected" and account in self._down:
            del self._down[account]
            return Alert("disconnect", "reconnect", account, f"{account}: connected again", notice.text, at)
        if notice.state in _RISK:
            if at - self._breached.pop(account, -1e18) <= 1.0:
                # The breach that caused it was just announced with what it does: one alert, not two.
                return None
            # The copier announces the breach (a refusal) just before the state change it causes.
            why = self._last_refusal.pop(account, "")
            text = f"{notice.text} ({why})" if why else notice.text
            return Alert("risk", "risk", account, f"{account}: {_RISK[notice.state]}", text, at)
        return None

    def _risk(self, notice: Notice, at: float) -> Alert | None:
        """A risk limit breached, or an entry a risk limit (or the hedging guard) refused."""
        account, text = notice.account, notice.text
        if notice.kind == "refusal" and text.startswith("skipped: risk"):
            # A breach prevented: the limit already stands, so this entry did not go.
            return Alert("risk", "risk-refused", account, f"{account}: entry refused by a risk limit", text, at)
        if notice.kind not in ("refusal", "info"):
            return None
        found = _BREACH.search(text.removeprefix("warning: "))
        if found is None or not text.removeprefix("warning: ").startswith("risk: "):
            return None
        limit, action = found["limit"], found["action"]
        if action != "warn":
            self._breached[account] = at
        name = _LIMITS.get(limit, f"risk limit {limit}")
        return Alert("risk", "risk", account, f"{account}: {name} {_ACTIONS[action]}", text, at)
