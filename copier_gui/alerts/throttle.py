"""How many messages a burst of alerts becomes: one per (topic, account) per window, then one digest
of what else came in that window, and never more than a cap per hour.

Pure bookkeeping on a monotonic clock the caller passes in, so it is tested without waiting.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from copier_gui.alerts.classify import Alert

__all__ = ["Release", "Throttle"]

_HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class Release:
    """An alert to send: the first of its window (``more`` 0), or a digest of ``more`` held back."""

    alert: Alert
    more: int = 0
    window_s: float = 0.0
    capped: int = 0  # messages dropped by the hourly cap since the last one sent


@dataclass
class _Window:
    start: float
    held: int = 0
    latest: Alert | None = None


class Throttle:
    def __init__(self, window_s: float, max_per_hour: int) -> None:
        self.window_s = window_s
        self.max_per_hour = max_per_hour
        self._windows: dict[tuple[str, str], _Window] = {}
        self._sent: deque[float] = deque()
        self._capped = 0

    def admit(self, alert: Alert, now: float) -> Release | None:
        """The alert as a message to send now, or None if it is held for this window's digest."""
        key = (alert.topic, alert.account)
        window = self._windows.get(key)
        if window is not None and now - window.start < self.window_s:
            window.held += 1
            window.latest = alert
            return None
        self._windows[key] = _Window(now)
        return self._cap(Release(alert), now)

    def due(self, now: float, *, all_: bool = False) -> list[Release]:
        """Digests of windows that ended (every window with ``all_``, at shutdown)."""
        out = []
        for key, window in list(self._windows.items()):
            if not all_ and now - window.start < self.window_s:
                continue
            if window.held and window.latest is not None:
                released = self._cap(Release(window.latest, window.held, self.window_s), now)
                if released is not None:
                    out.append(released)
                # A steady stream stays at one message per window: the next window starts now.
                self._windows[key] = _Window(now)
            else:
                del self._windows[key]
        return out

    def _cap(self, release: Release, now: float) -> Release | None:
        while self._sent and now - self._sent[0] >= _HOUR:
            self._sent.popleft()
        if len(self._sent) >= self.max_per_hour:
            self._capped += 1
            return None
        self._sent.append(now)
        capped, self._capped = self._capped, 0
        return Release(release.alert, release.more, release.window_s, capped) if capped else release
