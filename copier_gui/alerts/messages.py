"""The words a trader receives: one subject line and a short body, the same on every channel."""

from __future__ import annotations

import datetime as dt

from copier_gui.alerts.channel import Message
from copier_gui.alerts.throttle import Release

__all__ = ["render", "probe_message"]

_NOUNS = {"disconnect": "connection alerts", "reconnect": "reconnections", "refusal": "refusals",
          "failure": "failures", "risk": "risk alerts", "risk-refused": "entries refused by risk limits",
          "near_limit": "near-limit alerts"}


def _when(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _span(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        hours = int(seconds // 3600)
        return f"{hours} hour{'s' if hours != 1 else ''}"
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} seconds"


def render(release: Release) -> Message:
    alert = release.alert
    if release.more:
        noun = _NOUNS.get(alert.topic, "alerts")
        subject = f"{alert.account}: {release.more} more {noun}"
        lines = [f"and {release.more} more {noun} for {alert.account} in the last {_span(release.window_s)}; "
                 f"the latest, at {_when(alert.at)}:", alert.text]
    else:
        subject = alert.title
        lines = [alert.text, _when(alert.at)]
    if release.capped:
        lines.append(f"({release.capped} earlier alert(s) were not sent: at most so many an hour)")
    return Message(subject, "\n".join(lines))


def probe_message(at: float) -> Message:
    return Message("test alert", f"This is a test from copier-gui, sent at {_when(at)}. "
                                 "Alerts for disconnects, refusals, failures and risk halts come here.")

