"""The tray icon: back to the window, the kill switch, and throttled notifications.

Refusals and lost slaves pop up; bursts fold into one message per topic and interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from copier_gui.ui import palette


@dataclass
class Throttle:
    """At most one message per topic every ``interval_s``; what arrives meanwhile is counted."""

    interval_s: float = 15.0
    _last: dict[str, float] = field(default_factory=dict)
    _held: dict[str, list[str]] = field(default_factory=dict)

    def offer(self, topic: str, text: str, now: float) -> bool:
        """True if ``text`` may be shown now; otherwise it is held for :meth:`due`."""
        last = self._last.get(topic)
        if last is None or now - last >= self.interval_s:
            self._last[topic] = now
            return True
        self._held.setdefault(topic, []).append(text)
        return False

    def due(self, now: float) -> list[tuple[str, list[str]]]:
        """Topics whose interval has passed with messages held, with those messages."""
        out = []
        for topic, texts in list(self._held.items()):
            if texts and now - self._last.get(topic, 0.0) >= self.interval_s:
                out.append((topic, texts))
                self._last[topic] = now
                del self._held[topic]
        return out


TITLES = {"refusal": "Copy refused", "disconnect": "Slave disconnected", "failure": "Copy failed"}


class Tray(QObject):
    """Wraps QSystemTrayIcon when the desktop has a tray; every method is safe without one."""

    showRequested = Signal()
    copyingToggled = Signal()
    quitRequested = Signal()

    def __init__(self, clock: Callable[[], float], *, interval_s: float = 15.0, parent=None) -> None:
        super().__init__(parent)
        self._clock = clock
        self.throttle = Throttle(interval_s)
        self.shown: list[tuple[str, str]] = []  # (title, text) of every message shown, newest last
        self.icon: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.icon = QSystemTrayIcon(palette.app_icon(), self)
            self.icon.setToolTip("copier_gui")
            menu = QMenu()
            show = QAction("Show window", menu)
            show.triggered.connect(self.showRequested)
            self.toggle_action = QAction("Stop copying", menu)
            self.toggle_action.triggered.connect(self.copyingToggled)
            leave = QAction("Quit", menu)
            leave.triggered.connect(self.quitRequested)
            for action in (show, self.toggle_action, leave):
                menu.addAction(action)
            self._menu = menu  # the tray does not own its menu
            self.icon.setContextMenu(menu)
            self.icon.activated.connect(self._activated)
            self.icon.show()
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._release)
        self._timer.start()

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.showRequested.emit()

    def set_copying(self, copying: bool) -> None:
        if self.icon is not None:
            self.toggle_action.setText("Stop copying" if copying else "Start copying")
            self.icon.setToolTip(f"copier_gui: {'copying' if copying else 'copying stopped'}")

    def notify(self, topic: str, text: str) -> None:
        if self.throttle.offer(topic, text, self._clock()):
            self._show(TITLES.get(topic, "copier_gui"), text)

    def _release(self) -> None:
        for topic, texts in self.throttle.due(self._clock()):
            title = TITLES.get(topic, "copier_gui")
            if len(texts) == 1:
                self._show(title, texts[0])
            else:
                self._show(f"{title} ({len(texts)} more)", texts[-1])

    def _show(self, title: str, text: str) -> None:
        self.shown.append((title, text))
        del self.shown[:-50]
        if self.icon is not None:
            critical = QSystemTrayIcon.MessageIcon.Warning
            self.icon.showMessage(title, text, critical, 8000)

    def hide(self) -> None:
        self._timer.stop()
        if self.icon is not None:
            self.icon.hide()
