"""Which of a copier's notices are worth waking a trader for, and in what words.

A link that goes down (disconnected, or connected but unable to trade), a refusal, a failure and a
risk halt become alerts; copies, master changes and information do not. It remembers which links
are down, so it says when one is back, and a link that keeps failing the same way is one alert.
"""

from __future__ import annotations

from dataclasses import dataclass

from copier_gui.alerts.settings import AlertKind
from copier_gui.core.executor import Notice

__all__ = ["Alert", "Classifier"]

_DOWN = {"disconnected": "connection lost", "degraded": "cannot trade"}
_RISK = {"halted": "risk halt: positions flattened, new entries stopped until the risk state is reset",
         "reducing": "risk limit: new entries stopped, exits still mirrored"}


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

    def classify(self, notice: Notice, at: float) -> Alert | None:
        account = notice.account
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
            # The copier announces the breach (a refusal) just before the state change it causes.
            why = self._last_refusal.pop(account, "")
            text = f"{notice.text} ({why})" if why else notice.text
            return Alert("risk", "risk", account, f"{account}: {_RISK[notice.state]}", text, at)
        return None
