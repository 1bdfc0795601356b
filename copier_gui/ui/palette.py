"""Light and dark themes (Fusion palette, a small style sheet, status colours) following the OS.

Models and charts read :func:`current` at paint time, so a live OS switch needs no rebuild.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QApplication, QStyleFactory


@dataclass(frozen=True)
class Theme:
    name: str
    window: str
    panel: str
    base: str
    alt_base: str
    border: str
    text: str
    text_dim: str
    accent: str
    accent_text: str
    highlight: str
    ok: str
    warn: str
    bad: str
    idle: str
    buy: str
    sell: str
    grid: str
    series: tuple[str, ...]

    @property
    def dark(self) -> bool:
        return self.name == "dark"

    def color(self, name: str) -> QColor:
        return QColor(getattr(self, name))

    def series_color(self, i: int) -> QColor:
        return QColor(self.series[i % len(self.series)])


# Series colours are spaced around the hue wheel and checked against each background, so twenty
# slaves' curves stay tell-apart-able for the first eight and distinct enough after.
DARK = Theme(
    name="dark", window="#12151a", panel="#191d24", base="#191d24", alt_base="#1d222a",
    border="#2a313b", text="#e3e7ed", text_dim="#8a94a3", accent="#4c8dff", accent_text="#ffffff",
    highlight="#24406b", ok="#3ecf8e", warn="#f0b44c", bad="#ff5f5f", idle="#6f7a89",
    buy="#4ea1ff", sell="#ff6b6b", grid="#2a313b",
    series=("#4ea1ff", "#f0b44c", "#3ecf8e", "#e86fb0", "#a98bff", "#3cc8d4", "#e5d35a", "#ff8a5c",
            "#8fd14f", "#c9a0ff", "#5fb3b3", "#ff9fb1"),
)

LIGHT = Theme(
    name="light", window="#eef1f5", panel="#ffffff", base="#ffffff", alt_base="#f6f8fa",
    border="#d5dbe3", text="#1b222c", text_dim="#5d6978", accent="#1f6feb", accent_text="#ffffff",
    highlight="#d3e3fd", ok="#16875a", warn="#b26a00", bad="#cf2f2f", idle="#8893a2",
    buy="#1f6feb", sell="#cf2f2f", grid="#e3e8ee",
    series=("#1f6feb", "#d97706", "#16875a", "#c2407f", "#7c4dff", "#0e8a96", "#a58b00", "#e0531f",
            "#4d8f1c", "#9a5cd6", "#2f7f7f", "#d6455f"),
)

_current: Theme = DARK


def current() -> Theme:
    return _current


def theme_for(choice: str = "auto") -> Theme:
    """``auto`` follows the OS; an OS that does not say (Qt's Unknown) gets the dark theme."""
    if choice == "light":
        return LIGHT
    if choice == "dark":
        return DARK
    hints = QGuiApplication.styleHints()
    scheme = hints.colorScheme() if hasattr(hints, "colorScheme") else Qt.ColorScheme.Unknown
    return LIGHT if scheme == Qt.ColorScheme.Light else DARK


def _palette(t: Theme) -> QPalette:
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: t.window,
        QPalette.ColorRole.WindowText: t.text,
        QPalette.ColorRole.Base: t.base,
        QPalette.ColorRole.AlternateBase: t.alt_base,
        QPalette.ColorRole.ToolTipBase: t.panel,
        QPalette.ColorRole.ToolTipText: t.text,
        QPalette.ColorRole.PlaceholderText: t.text_dim,
        QPalette.ColorRole.Text: t.text,
        QPalette.ColorRole.Button: t.panel,
        QPalette.ColorRole.ButtonText: t.text,
        QPalette.ColorRole.BrightText: t.bad,
        QPalette.ColorRole.Highlight: t.highlight,
        QPalette.ColorRole.HighlightedText: t.text,
        QPalette.ColorRole.Link: t.accent,
        QPalette.ColorRole.Light: t.alt_base,
        QPalette.ColorRole.Midlight: t.border,
        QPalette.ColorRole.Mid: t.border,
        QPalette.ColorRole.Dark: t.window,
        QPalette.ColorRole.Shadow: "#000000",
    }
    for role, colour in roles.items():
        p.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(t.text_dim))
    return p


def style_sheet(t: Theme) -> str:
    # Object names, not classes, carry the look, so a stray QFrame elsewhere is left alone.
    return f"""
    QMainWindow, QStackedWidget#pages {{ background: {t.window}; }}
    QFrame#card {{ background: {t.panel}; border: 1px solid {t.border}; border-radius: 8px; }}
    QFrame#header {{ background: {t.panel}; border-bottom: 1px solid {t.border}; }}
    QLabel#cardTitle {{ color: {t.text}; font-weight: 600; }}
    QLabel#cardHint {{ color: {t.text_dim}; }}
    QLabel#appTitle {{ color: {t.text}; font-size: 15pt; font-weight: 700; }}
    QLabel#appSubtitle {{ color: {t.text_dim}; }}
    QLabel#demoBadge {{ color: #1b1300; background: {t.warn}; border-radius: 10px; padding: 2px 10px;
                        font-weight: 700; }}
    QLabel#tileValue {{ color: {t.text}; font-size: 14pt; font-weight: 600; }}
    QLabel#tileLabel {{ color: {t.text_dim}; font-size: 8pt; }}
    QFrame#tile {{ border-left: 1px solid {t.border}; }}
    QLabel#copyState[copying="true"] {{ color: {t.ok}; font-weight: 700; }}
    QLabel#copyState[copying="false"] {{ color: {t.bad}; font-weight: 700; }}
    QPushButton#killSwitch {{ border-radius: 6px; padding: 8px 18px; font-weight: 700; font-size: 10pt;
                              min-width: 150px; }}
    QPushButton#killSwitch[copying="true"] {{ background: {t.bad}; color: #ffffff; border: 1px solid {t.bad}; }}
    QPushButton#killSwitch[copying="true"]:hover {{ background: {QColor(t.bad).lighter(112).name()}; }}
    QPushButton#killSwitch[copying="false"] {{ background: {t.ok}; color: #08170f; border: 1px solid {t.ok}; }}
    QPushButton#killSwitch[copying="false"]:hover {{ background: {QColor(t.ok).lighter(112).name()}; }}
    QPushButton#primary {{ background: {t.accent}; color: {t.accent_text}; border: none; border-radius: 6px;
                           padding: 10px 22px; font-weight: 600; }}
    QPushButton#secondary {{ background: transparent; color: {t.text}; border: 1px solid {t.border};
                             border-radius: 6px; padding: 10px 22px; font-weight: 600; }}
    QPushButton#secondary:hover {{ border-color: {t.accent}; }}
    QToolButton#chip {{ border: 1px solid {t.border}; border-radius: 10px; padding: 1px 8px; color: {t.text}; }}
    QToolButton#chip:!checked {{ color: {t.text_dim}; }}
    QToolButton#flat {{ border: 1px solid {t.border}; border-radius: 4px; padding: 2px 8px; color: {t.text}; }}
    QToolButton#flat:checked {{ background: {t.highlight}; }}
    QHeaderView::section {{ background: {t.panel}; color: {t.text_dim}; border: none;
                            border-bottom: 1px solid {t.border}; padding: 4px 6px; font-weight: 600; }}
    QTreeView, QTableView {{ border: none; gridline-color: {t.border}; selection-background-color: {t.highlight};
                             selection-color: {t.text}; }}
    QTabWidget::pane {{ border: none; }}
    QTabBar::tab {{ background: transparent; color: {t.text_dim}; padding: 6px 14px; border: none;
                    border-bottom: 2px solid transparent; font-weight: 600; }}
    QTabBar::tab:selected {{ color: {t.text}; border-bottom: 2px solid {t.accent}; }}
    QSplitter::handle {{ background: {t.window}; }}
    QStatusBar {{ background: {t.panel}; color: {t.text_dim}; border-top: 1px solid {t.border}; }}
    QStatusBar QLabel {{ color: {t.text_dim}; padding: 0 10px; }}
    QComboBox, QLineEdit {{ border: 1px solid {t.border}; border-radius: 4px; padding: 3px 6px;
                            background: {t.base}; color: {t.text}; }}
    QToolTip {{ color: {t.text}; background: {t.panel}; border: 1px solid {t.border}; }}
    """


class ThemeSignals(QObject):
    changed = Signal(object)


signals = ThemeSignals()


def apply_theme(app: QApplication, theme: Theme) -> None:
    global _current
    _current = theme
    app.setStyle(QStyleFactory.create("Fusion"))
    app.setPalette(_palette(theme))
    # Fusion outlines a radio button or check box in the Window colour made darker, which on a dark
    # window is no outline at all: those two get a window colour whose darker shade is visible.
    indicators = _palette(theme)
    indicators.setColor(QPalette.ColorRole.Window, QColor(theme.idle).lighter(150 if theme.dark else 115))
    for cls in ("QRadioButton", "QCheckBox"):
        app.setPalette(indicators, cls)
    app.setStyleSheet(style_sheet(theme))
    dot_icon.cache_clear()
    signals.changed.emit(theme)


THEME_CHOICES = ("auto", "light", "dark")
_choice = "auto"
_following: set[int] = set()  # the applications already told of the OS's scheme changes


def choice() -> str:
    """The theme the trader chose: ``auto`` (the OS's), ``light`` or ``dark``."""
    return _choice


def follow_os(app: QApplication, choice: str = "auto") -> None:
    """Apply the chosen theme now and, for ``auto``, again whenever the OS scheme changes.

    Called again (View → Theme) it changes the choice; the OS's changes are listened to once and
    only followed while the choice is ``auto``.
    """
    global _choice
    if choice not in THEME_CHOICES:
        raise ValueError(f"theme must be one of {', '.join(THEME_CHOICES)}, not {choice!r}")
    _choice = choice
    apply_theme(app, theme_for(choice))
    hints = QGuiApplication.styleHints()
    if id(app) not in _following and hasattr(hints, "colorSchemeChanged"):
        _following.add(id(app))
        hints.colorSchemeChanged.connect(lambda _scheme: _choice == "auto" and apply_theme(app, theme_for("auto")))


# The screen scales a dot is drawn for, 100% to 300% (between them Qt takes the nearest), so a 150% or 200% display gets a dot drawn
# at its own resolution instead of a 100% one stretched (blurred).
_DOT_SCALES = (1.0, 1.5, 2.0, 3.0)


@functools.lru_cache(maxsize=64)
def dot_icon(colour: str, size: int = 10) -> QIcon:
    """A filled circle, for status cells; cached because views ask for it on every paint."""
    icon = QIcon()
    for scale in _DOT_SCALES:
        pixels = round(size * scale)
        pixmap = QPixmap(pixels, pixels)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(colour))
        inset = scale
        painter.drawEllipse(QRectF(inset, inset, pixels - 2 * inset, pixels - 2 * inset))
        painter.end()
        pixmap.setDevicePixelRatio(scale)
        icon.addPixmap(pixmap)
    return icon


def _resource_dirs() -> list[Path]:
    dirs = []
    bundle = getattr(sys, "_MEIPASS", None)  # a PyInstaller build unpacks resources here
    if bundle:
        dirs.append(Path(bundle) / "resources")
    dirs.append(Path(__file__).resolve().parents[2] / "resources")
    return dirs


def app_icon() -> QIcon:
    for folder in _resource_dirs():
        for name in ("app.ico", "app.png"):
            if (folder / name).is_file():
                return QIcon(str(folder / name))
    return dot_icon(DARK.accent, 32)
