"""What watches a running copier besides its window: alerts and the monitoring server.

Each is a factory the builder calls with the copier and its stores, so the window, headless mode
and the demo get them the same way, from the settings and the command line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from copier_gui.settings import Settings

WatcherFactory = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class HttpOptions:
    """``--http HOST:PORT`` and, for an address other machines reach, its TLS certificate and key."""

    bind: str
    cert: str | None = None
    key: str | None = None


def watcher_factories(settings: Settings | None, *, http: HttpOptions | None = None) -> list[WatcherFactory]:
    """Alerts as the settings configure them, and the monitoring server when ``http`` is given."""
    factories: list[WatcherFactory] = []
    alerts = settings.alerts if settings is not None else None
    if alerts is not None:
        def alerter(copier, stores):
            from copier_gui.alerts import build_alerter

            made = build_alerter(alerts, journal=stores.journal)
            if made is not None:
                made.attach(copier)
            return made

        factories.append(alerter)
    if http is not None:
        def monitor(copier, stores):
            from copier_gui.monitor.service import HttpMonitor

            return HttpMonitor(copier, bind=http.bind, journal=stores.journal, cert=http.cert, key=http.key)

        factories.append(monitor)
    return factories
