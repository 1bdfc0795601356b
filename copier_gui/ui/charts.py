"""Live drift charts: copy latency and slippage per slave over time (pyqtgraph).

Copies fill fixed-size numpy rings; one 20 Hz QTimer hands changed rings to the curves (the plots
take turns), and the view follows the newest data every two seconds, not every frame. Behind
another tab nothing is drawn; the rings keep filling and are drawn when the charts are shown. Built
``lazy``, the plots themselves wait for that first showing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from pyqtgraph.graphicsItems.DateAxisItem import (
    MINUTE_SPACING,
    MS_SPACING,
    TickSpec,
    ZoomLevel,
    makeMSStepper,
    makeSStepper,
)
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from copier_gui.ui import palette
from copier_gui.ui.widgets import FlowLayout, caption

# Set before any plot exists: 1-px pens are only cheap without antialiasing, and OpenGL is off so
# the window draws the same on every machine, including remote desktops and VMs.
pg.setConfigOptions(antialias=False, useOpenGL=False)

# 20 Hz, the ceiling, with the two plots taking turns: each redraws at most 10 times a second, and
# no frame pays for both, so a frame stays short beside the copier's own work on the loop.
FRAME_MS = 50
# Frames between view-range updates while following (every two seconds): a new range redraws
# every axis, the costliest part of a frame.
FOLLOW_EVERY = 40


class Ring:
    """A fixed-size ring of (x, y) points; memory is allocated once."""

    def __init__(self, capacity: int) -> None:
        if capacity < 2:
            raise ValueError("a ring needs room for at least two points")
        self.capacity = capacity
        self._x = np.zeros(capacity, dtype=np.float64)
        self._y = np.zeros(capacity, dtype=np.float64)
        self._next = 0
        self.count = 0
        self.version = 0
        self.drawn = -1  # the version its curve last got

    def append(self, x: float, y: float) -> None:
        self._x[self._next] = x
        self._y[self._next] = y
        self._next = (self._next + 1) % self.capacity
        self.count = min(self.count + 1, self.capacity)
        self.version += 1

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Oldest first, as copies: a curve may keep them while the ring moves on."""
        if self.count < self.capacity:
            return self._x[:self.count].copy(), self._y[:self.count].copy()
        order = np.r_[self._next:self.capacity, 0:self._next]
        return self._x[order], self._y[order]

    def last(self) -> tuple[float, float] | None:
        if not self.count:
            return None
        i = (self._next - 1) % self.capacity
        return float(self._x[i]), float(self._y[i])

    def y_extent_since(self, x0: float) -> tuple[float, float] | None:
        x, y = self.arrays()
        start = int(np.searchsorted(x, x0))
        if start >= len(y):
            return None
        visible = y[start:]
        return float(visible.min()), float(visible.max())


def _swatch(colour: QColor) -> QIcon:
    pixmap = QPixmap(10, 10)
    pixmap.fill(colour)
    return QIcon(pixmap)


class _Series:
    """One slave's two rings and its curve in each plot."""

    def __init__(self, slave: str, capacity: int) -> None:
        self.slave = slave
        self.latency = Ring(capacity)
        self.slippage = Ring(capacity)
        self.latency_curve: pg.PlotDataItem | None = None
        self.slippage_curve: pg.PlotDataItem | None = None


class LegendBar(QWidget):
    """One chip per slave in its curve colour; unchecking a chip hides that slave's curves."""

    toggled = Signal(str, bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        # Wrapping, so twenty slaves' chips take a few lines rather than widening the window.
        self._layout = FlowLayout(self)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.chips: dict[str, QToolButton] = {}

    def set_slaves(self, slaves: Sequence[str], colour: Callable[[int], QColor]) -> None:
        for chip in self.chips.values():
            chip.deleteLater()
        self.chips.clear()
        for i, slave in enumerate(slaves):
            chip = QToolButton(self)
            chip.setObjectName("chip")
            chip.setText(slave)
            chip.setCheckable(True)
            chip.setChecked(True)
            chip.setIconSize(QSize(10, 10))
            chip.setIcon(_swatch(colour(i)))
            chip.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            chip.setToolTip(f"Show or hide {slave}'s curves")
            chip.toggled.connect(lambda on, s=slave: self.toggled.emit(s, on))
            self._layout.addWidget(chip)
            self.chips[slave] = chip

    def recolour(self, colour: Callable[[int], QColor]) -> None:
        for i, chip in enumerate(self.chips.values()):
            chip.setIcon(_swatch(colour(i)))


# pyqtgraph picks a zoom level from how wide the tick font draws "99:99:99"; with Windows' narrower
# fonts a few seconds in view fell to its millisecond level, labelled "20.000", "21.000": plain
# numbers, not times. Below a second the charts' labels keep the clock time and add milliseconds.
_CLOCK_MS_LEVEL = ZoomLevel([
    TickSpec(MINUTE_SPACING, makeSStepper(MINUTE_SPACING), "%H:%M:%S"),
    TickSpec(MS_SPACING, makeMSStepper(MS_SPACING), "%H:%M:%S.%f", autoSkip=[1, 5, 10, 25]),
], "99:99:99.999")


class ClockAxis(pg.DateAxisItem):
    """A time axis whose every label reads as clock time, at any zoom and with any font."""

    def __init__(self, orientation: str = "bottom", **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self.zoomLevels[1] = _CLOCK_MS_LEVEL


class DriftCharts(QWidget):
    """Latency (ms) and slippage (basis points of price, comparable across symbols) per slave
    against clock time, sharing the time axis.

    ``lazy``: the plots, curves and legend are built when the charts are first shown, not with
    them. In the dashboard they start behind another tab, and building them (two plots, a curve per
    slave in each, a legend chip per slave) was a third of its construction: 50-200 ms of the
    loop's time with 20 slaves, spent on what may never be looked at. Copies fill the rings
    meanwhile, so the first showing draws all of them.
    """

    def __init__(self, slaves: Sequence[str] = (), *, clock: Callable[[], float], capacity: int = 4000,
                 window_s: float = 300.0, lazy: bool = False, parent=None) -> None:
        super().__init__(parent)
        self._clock = clock
        self._capacity = capacity
        self.window_s = window_s
        self._series: dict[str, _Series] = {}
        self._frames = 0
        self.following = True
        self._origin = clock()
        self.redraws = 0  # curve updates handed to pyqtgraph, for tests and benchmarks
        self.built = False
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self.set_slaves(slaves)

        # The one timer every curve is drawn by.
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self.tick)
        self.timer.start()
        if not lazy:
            self.build()

    def build(self) -> None:
        """The legend, the plots and a curve per slave in each (once)."""
        if self.built:
            return
        self.built = True
        self.legend = LegendBar(self)
        self.legend.toggled.connect(self._show_slave)
        self.live = QToolButton(self)
        self.live.setObjectName("flat")
        self.live.setText("Live")
        self.live.setCheckable(True)
        self.live.setChecked(True)
        self.live.setToolTip("Follow the newest copies (panning or zooming a chart pauses this)")
        self.live.toggled.connect(self.set_following)

        self.latency_plot = self._plot("Latency", "ms")
        self.slippage_plot = self._plot("Slippage", "bp")
        self.slippage_plot.setXLink(self.latency_plot)
        self._zero = pg.InfiniteLine(0.0, angle=0, movable=False)
        self.slippage_plot.addItem(self._zero, ignoreBounds=True)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.legend, 1)
        top.addWidget(self.live, 0, Qt.AlignmentFlag.AlignTop)
        layout = self._layout
        layout.addLayout(top)
        layout.addWidget(caption(self, "Copy latency per slave", "master fill → slave fill"))
        layout.addWidget(self.latency_plot, 1)
        layout.addWidget(caption(self, "Slippage per slave", "slave fill vs master fill; + is worse"))
        layout.addWidget(self.slippage_plot, 1)

        self._add_curves()
        self.apply_theme(palette.current())
        palette.signals.changed.connect(self.apply_theme)

    # ---------------------------------------------------------------- construction
    def _plot(self, name: str, units: str) -> pg.PlotWidget:
        plot = pg.PlotWidget(axisItems={"bottom": ClockAxis(orientation="bottom")})
        plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        plot.setMinimumHeight(120)
        item = plot.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()  # "Live" replaces pyqtgraph's auto-range button
        item.showGrid(x=True, y=True, alpha=0.35)
        item.disableAutoRange()
        # Long series draw only what is in view, reduced to each pixel column's peaks.
        item.setClipToView(True)
        item.setDownsampling(auto=True, mode="peak")
        left = item.getAxis("left")
        left.setLabel(name, units=units)
        # "kms" or "kpoints" would read as nonsense; the numbers stay in the stated unit.
        left.enableAutoSIPrefix(False)
        left.setWidth(58)
        item.getAxis("bottom").setHeight(22)
        item.getViewBox().setMouseEnabled(x=True, y=True)
        item.getViewBox().sigRangeChangedManually.connect(lambda *_: self.set_following(False))
        return plot

    def set_slaves(self, slaves: Sequence[str]) -> None:
        if self.built:
            for series in self._series.values():
                self.latency_plot.removeItem(series.latency_curve)
                self.slippage_plot.removeItem(series.slippage_curve)
        self._series = {s: _Series(s, self._capacity) for s in slaves}
        if self.built:
            self._add_curves()

    def _add_curves(self) -> None:
        for i, series in enumerate(self._series.values()):
            series.latency_curve = self._curve(self.latency_plot, i)
            series.slippage_curve = self._curve(self.slippage_plot, i)
        self.legend.set_slaves(list(self._series), palette.current().series_color)

    def _curve(self, plot: pg.PlotWidget, i: int) -> pg.PlotDataItem:
        colour = palette.current().series_color(i)
        # Lines only: per-point markers cost more to draw than every curve's line together.
        curve = pg.PlotDataItem(pen=pg.mkPen(colour, width=1))
        plot.addItem(curve)
        # After addItem: PlotItem.addItem applies the plot's own clip and downsampling settings.
        curve.setClipToView(True)
        curve.setDownsampling(auto=True, method="peak")
        return curve

    # ---------------------------------------------------------------- data
    def add(self, slave: str, wall: float, latency_ms: float, slippage_bp: float) -> None:
        """Record one copy; cheap, because it runs inside the copier's notify call."""
        series = self._series.get(slave)
        if series is None:
            return
        series.latency.append(wall, latency_ms)
        series.slippage.append(wall, slippage_bp)

    def series_count(self, slave: str) -> int:
        series = self._series.get(slave)
        return series.latency.count if series else 0

    def tick(self) -> None:
        """One frame: the changed curves of one plot (latency and slippage take turns)."""
        if not self.built or self._behind():
            return  # the rings keep filling; showEvent builds and catches up
        self._frames += 1
        latency = self._frames % 2 == 1
        for series in self._series.values():
            ring, curve = ((series.latency, series.latency_curve) if latency
                           else (series.slippage, series.slippage_curve))
            if ring.drawn == ring.version:
                continue
            ring.drawn = ring.version
            x, y = ring.arrays()
            curve.setData(x, y)
            self.redraws += 1
        if self.following and self._frames % FOLLOW_EVERY == 1:
            self.follow()

    def _behind(self) -> bool:
        """Hidden in a shown window: a page behind another tab. Drawing curves nobody sees costs
        the loop the copier runs on (measured: 20 ms a second, up to 15 ms a frame, with 20 slaves)."""
        return not self.isVisible() and self.window().isVisible()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.build()
        if self.following:
            self.follow()

    def follow(self) -> None:
        """Show the last ``window_s`` seconds, and every visible point of every shown slave."""
        if not self.built:
            return
        now = self._clock()
        left = max(self._origin, now - self.window_s)
        right = now + max(2.0, (now - left) * 0.02)
        self.latency_plot.setXRange(left, right, padding=0)
        lat = self._extent((s.latency for s in self._visible()), left)
        slip = self._extent((s.slippage for s in self._visible()), left)
        top = max(10.0, lat[1] if lat else 0.0)
        self.latency_plot.setYRange(0.0, _nice(top * 1.12), padding=0)
        low = min(-5.0, slip[0] * 1.15) if slip else -5.0
        high = max(5.0, slip[1] * 1.15) if slip else 5.0
        self.slippage_plot.setYRange(-_nice(-low), _nice(high), padding=0)

    def _visible(self):
        return (s for s in self._series.values() if s.latency_curve is not None and s.latency_curve.isVisible())

    @staticmethod
    def _extent(rings, x0: float) -> tuple[float, float] | None:
        lows, highs = [], []
        for ring in rings:
            extent = ring.y_extent_since(x0)
            if extent is not None:
                lows.append(extent[0])
                highs.append(extent[1])
        return (min(lows), max(highs)) if lows else None

    def set_following(self, on: bool) -> None:
        if self.following == on:
            return
        self.following = on
        if self.built and self.live.isChecked() != on:
            self.live.blockSignals(True)
            self.live.setChecked(on)
            self.live.blockSignals(False)
        if on:
            self.follow()

    def _show_slave(self, slave: str, shown: bool) -> None:
        series = self._series.get(slave)
        if series is not None and series.latency_curve is not None:
            series.latency_curve.setVisible(shown)
            series.slippage_curve.setVisible(shown)

    # ---------------------------------------------------------------- look
    def apply_theme(self, theme: palette.Theme) -> None:
        if not self.built:
            return  # build() takes the theme of its time
        for plot in (self.latency_plot, self.slippage_plot):
            plot.setBackground(theme.panel)
            item = plot.getPlotItem()
            for name in ("left", "bottom"):
                axis = item.getAxis(name)
                axis.setPen(pg.mkPen(theme.border, width=1))
                axis.setTextPen(pg.mkPen(theme.text_dim))
        self._zero.setPen(pg.mkPen(theme.text_dim, width=1, style=Qt.PenStyle.DashLine))
        for i, series in enumerate(self._series.values()):
            colour = theme.series_color(i)
            for curve in (series.latency_curve, series.slippage_curve):
                curve.setPen(pg.mkPen(colour, width=1))
        self.legend.recolour(theme.series_color)


def _nice(value: float) -> float:
    """Round an axis limit up to a round multiple of a power of ten, so ticks land on round numbers."""
    if value <= 0:
        return 0.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if value <= step * power:
            return step * power
    return 10 * power
