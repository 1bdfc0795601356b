"""Alerts by Telegram and e-mail: a copier's disconnects, refusals, failures and risk halts reach a
trader who is away from the screen (a copier on a VPS has no tray).

Qt-free. ``build_alerter(settings.alerts, journal=...)`` gives an Alerter (or None when nothing is
enabled); ``alerter.attach(copier)``, ``await alerter.start()``, and ``await alerter.aclose()``
at shutdown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["AlertSettings", "Alerter", "build_alerter"]

if TYPE_CHECKING:
    from copier_gui.alerts.build import build_alerter
    from copier_gui.alerts.dispatcher import Alerter
    from copier_gui.alerts.settings import AlertSettings


def __getattr__(name: str) -> Any:
    # The settings file's model imports this package; it should not pay for httpx and aiosmtplib.
    if name == "build_alerter":
        from copier_gui.alerts.build import build_alerter

        return build_alerter
    if name == "Alerter":
        from copier_gui.alerts.dispatcher import Alerter

        return Alerter
    if name == "AlertSettings":
        from copier_gui.alerts.settings import AlertSettings

        return AlertSettings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
