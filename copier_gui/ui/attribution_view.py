"""The money side of drift, per slave: its tracking difference over a period, that difference over
time, and its attribution as a waterfall from ideal to actual P&L.

A DriftFeed folds the journal's new entries on a worker thread every two seconds and values open
trades at the copier's live marks; this widget only draws what a round found. The waterfall's
steps, words and the exported report come from copier_gui.reports, so the window and the report
show a trader the same figures and the same meanings.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from copier_gui.core.drift_ledger import Marks, SlaveDrift
from copier_gui.core.journal import Journal
from copier_gui.reports.drift_html import render_html, waterfall_steps
from copier_gui.reports.svg import Step
from copier_gui.ui import palette
from copier_gui.ui.charts import ClockAxis
from copier_gui.ui.drift_feed import DriftFeed, Figures
from copier_gui.ui.widgets import caption, save_dialog

# One round (read what is new, fold it, compute the figures) every two seconds; the poll that
# picks a finished round up is only a check of a future, so it can be frequent.
ROUND_MS = 2000
POLL_MS = 100
DAY_S = 86_400.0
REPORT_TITLE = "Drift report"  # as the command line titles it

PERIODS: tuple[tuple[str, str], ...] = (
    ("This session", "session"),
    ("Today (UTC)", "today"),
    ("Last 7 days", "week"),
)

MINUS = "\u2212"  # a real minus sign: as wide as the plus, so columns of figures line up
CENT = 0.005  # below half a cent an amount shows as 0.00, with no sign: a sign on nothing reads as a loss


def _text(text: str) -> str:
    """Minus signs for the hyphens in front of figures ("-3.00", "−3.00"); words keep theirs."""
    return re.sub(r"(?<![\w.])-(?=\d)", MINUS, text)


def money(value: float) -> str:
    """-2.96 -> "−2.96": cents, thousands apart."""
    return _text(f"{0.0 if abs(value) < CENT else value:,.2f}")


def signed(value: float) -> str:
    """A difference: "+1,234.50", "−3.00", "0.00"."""
    return _text(f"{value:+,.2f}") if abs(value) >= CENT else "0.00"


def period_bounds(period: str, now: float, session_start: float) -> tuple[float, float]:
    """[start, end) of a period in UTC seconds; trades the master opened in it count."""
    if period == "session":
        start = session_start
    elif period == "today":
        midnight = dt.datetime.fromtimestamp(now, dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        start = midnight.timestamp()
    elif period == "week":
        start = now - 7 * DAY_S
    else:
        raise ValueError(f"unknown period {period!r}; expected one of {[p for _, p in PERIODS]}")
    return start, now


def _holds(shown: tuple[float, float] | None, lo: float, hi: float) -> bool:
    """The range shown still holds [lo, hi] and is at most half again as wide: keep it (a new range
    redraws the axis, its ticks and text, the costliest part of a plot's repaint)."""
    return shown is not None and shown[0] <= lo and hi <= shown[1] and shown[1] - shown[0] <= 1.5 * (hi - lo)


def headline(d: SlaveDrift) -> str:
    """"Tracking difference −12.76 EUR · ideal −2.96 · actual −15.72 · 2 trades, 0 missed"."""
    a = d.attribution
    cur = f" {d.currency}" if d.currency else ""
    counts = d.as_json()
    text = (f"Tracking difference {signed(a.total)}{cur} · ideal {money(a.ideal)} · actual {money(a.actual)} · "
            f"{counts['trades']} trade{'s' * (counts['trades'] != 1)}, {counts['missed']} missed")
    if d.excluded:
        text += f", {d.excluded} excluded by its rules"
    return text


class _Amount(pg.TextItem):
    """A row's amount beside its bar, remembering what it shows so an unchanged one is not set again."""

    def __init__(self) -> None:
        super().__init__("", anchor=(0.0, 0.5))
        self.shown_as: tuple[str, str] | None = None  # (text, colour)


class WaterfallPlot(pg.PlotWidget):
    """Ideal P&L at the top, each part a step right (green, more money) or left (red), actual P&L at
    the bottom; each row's amount beside its bar and its meaning as the row's tooltip.

    A redraw runs on the copier's loop every round, so it does only what changed: the same steps
    draw nothing, the amounts' text items are kept and edited (creating and placing them was most
    of a redraw), and the axes, whose text is the costliest part of a repaint, change only when their
    labels or range must.
    """

    ROW_HEIGHT = 0.62  # of a row, in data units
    ROW_PX = 28  # a row's height on screen at most
    MIN_ROW_PX = 17  # and at least: its label's height
    HEADROOM = 0.15  # of the range, added where the bars may grow, so small changes keep the axis

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.steps: list[Step] = []
        self.currency = ""
        self.draws = 0  # redraws done, for tests
        self._drawn = False  # self.steps are what the plot shows
        self._ticks: list[tuple[float, str]] | None = None
        self._x_range: tuple[float, float] | None = None
        self._rows = -1  # the row count the heights and the vertical range were set for
        item = self.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        item.setMouseEnabled(x=False, y=False)
        item.invertY(True)  # row 0 (ideal P&L) on top, read downwards like the report
        left = item.getAxis("left")
        left.setWidth(86)
        left.setStyle(tickLength=0)
        bottom = item.getAxis("bottom")
        bottom.setHeight(22)
        bottom.enableAutoSIPrefix(False)
        self.bars = pg.BarGraphItem(x0=[], x1=[], y=[], height=self.ROW_HEIGHT)
        self.links = pg.PlotDataItem(connect="pairs")
        self.zero = pg.InfiniteLine(0.0, angle=90, movable=False)
        item.addItem(self.zero, ignoreBounds=True)
        item.addItem(self.links)
        item.addItem(self.bars)
        self.labels: list[_Amount] = []  # one per row shown, in row order
        self._spare: list[_Amount] = []  # hidden, kept for when rows come back
        # As tall as the two rows (ideal and actual P&L) of a first round, before any trade: a
        # new height lays the whole view out again and repaints both plots (~25 ms).
        self._fit(2)
        self.setMouseTracking(True)
        self.scene().sigMouseMoved.connect(self._hover)

    def set_steps(self, steps: Sequence[Step], currency: str) -> bool:
        """Show these steps; False, having touched nothing, when they are the ones shown."""
        steps = list(steps)
        if self._drawn and steps == self.steps and currency == self.currency:
            return False
        self.steps = steps
        self.currency = currency
        self._draw()
        return True

    def _draw(self) -> None:
        theme = palette.current()
        steps = self.steps
        item = self.getPlotItem()
        self.draws += 1
        self._drawn = True
        self._set_ticks([(float(i), s.label) for i, s in enumerate(steps)])
        if not steps:
            self.bars.setOpts(x0=[], x1=[], y=[], height=self.ROW_HEIGHT)
            self.links.setData([], [])
            self._set_labels([], [], 0.0, theme)
            return
        rows = np.arange(len(steps), dtype=float)
        starts = np.array([min(s.start, s.end) for s in steps])
        ends = np.array([max(s.start, s.end) for s in steps])
        brushes = [pg.mkBrush(self._colour(s, theme)) for s in steps]
        self.bars.setOpts(x0=starts, x1=ends, y=rows, height=self.ROW_HEIGHT, brushes=brushes,
                          pens=[pg.mkPen(None)] * len(steps))
        # Each bar hands its level to the next: a dashed line from one row's end to the next's start.
        xs, ys = [], []
        for i in range(len(steps) - 1):
            level = steps[i].end
            xs += [level, level]
            ys += [i + self.ROW_HEIGHT / 2, i + 1 - self.ROW_HEIGHT / 2]
        self.links.setData(xs, ys, connect="pairs")
        lo, hi = float(min(0.0, starts.min())), float(max(0.0, ends.max()))
        span = max(hi - lo, 1.0)
        self._set_labels(steps, ends, span, theme)
        # Room on the right for the amounts, which sit beyond each bar's right end.
        self._set_x_range(lo - span * 0.04, hi + span * 0.28, grow_left=lo < 0.0)
        if self._rows != len(steps):
            self._rows = len(steps)
            item.setYRange(-0.6, len(steps) - 0.4, padding=0)
            self._fit(len(steps))

    def _fit(self, rows: int) -> None:
        # Never taller than its rows need, so bars keep one thickness and a tall window gives the
        # line the rest; in a short one the two share the height, down to rows still readable.
        self.setMinimumHeight(self.MIN_ROW_PX * rows + 30)
        self.setMaximumHeight(self.ROW_PX * rows + 34)

    def _set_labels(self, steps: list[Step], ends, span: float, theme: palette.Theme) -> None:
        """Each row's amount beyond its bar's right end, in text items kept from the last redraw."""
        item = self.getPlotItem()
        while len(self.labels) > len(steps):
            label = self.labels.pop()
            label.hide()
            self._spare.append(label)
        while len(self.labels) < len(steps):
            if self._spare:
                label = self._spare.pop()
                label.show()
            else:
                label = _Amount()
                item.addItem(label, ignoreBounds=True)
            label.shown_as = None
            self.labels.append(label)
        for i, (label, step) in enumerate(zip(self.labels, steps, strict=True)):
            text = _text(step.value_text)
            colour = theme.text if step.total else theme.text_dim
            if label.shown_as != (text, colour):
                label.setText(text, color=colour)
                label.shown_as = (text, colour)
            pos = (float(ends[i]) + span * 0.015, float(i))
            if (label.pos().x(), label.pos().y()) != pos:
                label.setPos(*pos)

    def _set_ticks(self, ticks: list[tuple[float, str]]) -> None:
        if ticks != self._ticks:
            self._ticks = ticks
            self.getPlotItem().getAxis("left").setTicks([ticks])

    def _set_x_range(self, lo: float, hi: float, *, grow_left: bool) -> None:
        """A new range only when the bars left the one shown or fill too little of it; with some
        headroom on the sides they grow on."""
        if _holds(self._x_range, lo, hi):
            return
        room = (hi - lo) * self.HEADROOM
        self._x_range = (lo - room if grow_left else lo, hi + room)
        self.getPlotItem().setXRange(*self._x_range, padding=0)

    @staticmethod
    def _colour(step: Step, theme: palette.Theme) -> QColor:
        if step.total:
            return QColor(theme.accent)
        if abs(step.change) < CENT:
            return QColor(theme.idle)
        return QColor(theme.ok if step.change > 0 else theme.bad)

    def tooltip_at(self, row: int) -> str:
        """The tooltip of one row: its label, amount and what the part means."""
        if not 0 <= row < len(self.steps):
            return ""
        return _text(self.steps[row].tooltip)

    def _hover(self, pos: QPointF) -> None:
        item = self.getPlotItem()
        view = item.getViewBox()
        # Over a bar or over its label on the left axis.
        if not (view.sceneBoundingRect().contains(pos) or item.getAxis("left").sceneBoundingRect().contains(pos)):
            self.setToolTip("")
            return
        row = int(round(view.mapSceneToView(pos).y()))
        text = self.tooltip_at(row)
        if text != self.toolTip():
            self.setToolTip(text)
            if text:
                QToolTip.showText(self.mapToGlobal(self.mapFromScene(pos)), text, self)

    def apply_theme(self, theme: palette.Theme) -> None:
        self.setBackground(theme.panel)
        for name in ("left", "bottom"):
            axis = self.getPlotItem().getAxis(name)
            axis.setPen(pg.mkPen(theme.border, width=1))
            axis.setTextPen(pg.mkPen(theme.text if name == "left" else theme.text_dim))
        self.zero.setPen(pg.mkPen(theme.text_dim, width=1))
        self.links.setPen(pg.mkPen(theme.text_dim, width=1, style=Qt.PenStyle.DotLine))
        self._draw()


class AttributionView(QWidget):
    """Per slave and period: a headline, the tracking difference over time, and its waterfall."""

    def __init__(self, journal: Journal | None, slaves: Sequence[str], *, session_start: float,
                 clock: Callable[[], float], marks: Callable[[], Marks] = dict, notes: Sequence[str] = (),
                 parent=None) -> None:
        super().__init__(parent)
        self._clock = clock
        self._marks = marks
        self._session_start = session_start
        self._notes = tuple(notes)
        self.feed = DriftFeed(journal) if journal is not None else None
        self.figures: Figures | None = None  # the latest computed round
        self._polls = 0
        self._dirty = True  # a round is due now, not at the next two-second mark
        self._line_due = False  # a round's line waits for the tick after its waterfall
        self._line_drawn: tuple | None = None  # what the line shows, to skip drawing it again
        self._line_range: tuple[tuple[float, float], tuple[float, float]] | None = None  # x, y shown
        self.line_draws = 0  # for tests
        self.message_box: QMessageBox | None = None
        self.file_dialog: QFileDialog | None = None

        self.slave_box = QComboBox(self)
        self.slave_box.setToolTip("The slave whose drift is shown")
        for slave in slaves:
            self.slave_box.addItem(slave, slave)
        self.period_box = QComboBox(self)
        self.period_box.setToolTip("Master trades opened in this period count; open ones are valued at live prices")
        for label, key in PERIODS:
            self.period_box.addItem(label, key)
        self.export_button = QPushButton("Export report…", self)
        self.export_button.setToolTip("Write every slave's drift over this period as one HTML file, the same "
                                      "report the command line writes")
        self.export_button.clicked.connect(self.export_report)
        self.slave_box.currentIndexChanged.connect(lambda _i: self._show())
        self.period_box.currentIndexChanged.connect(lambda _i: self._period_changed())

        self.headline = QLabel("Reading the journal…", self)
        self.headline.setObjectName("driftHeadline")
        self.headline.setWordWrap(True)
        self.headline.setTextFormat(Qt.TextFormat.RichText)
        self.headline.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
        self.headline_plain = ""
        self.warning = QLabel(self)
        self.warning.setObjectName("cardHint")
        self.warning.setWordWrap(True)
        self.warning.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
        self.warning.hide()

        self.line_plot = self._line_plot()
        self.line = pg.PlotDataItem()
        self.line_plot.addItem(self.line)
        self.points = pg.ScatterPlotItem()
        self.line_plot.addItem(self.points)
        self.open_jump = pg.PlotDataItem()
        self.line_plot.addItem(self.open_jump)
        self.open_point = pg.ScatterPlotItem()
        self.line_plot.addItem(self.open_point)
        self._line_zero = pg.InfiniteLine(0.0, angle=0, movable=False)
        self.line_plot.addItem(self._line_zero, ignoreBounds=True)
        self.waterfall = WaterfallPlot(self)
        self._line_caption = caption(self, "Tracking difference over time", "as trades close, open ones now · UTC")
        self._waterfall_caption = caption(self, "From ideal to actual P&L", "hover a row for what it means")

        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.setSpacing(6)
        controls.addWidget(self.slave_box)
        controls.addWidget(self.period_box)
        controls.addStretch(1)
        controls.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(controls)
        layout.addWidget(self.headline)
        layout.addWidget(self.warning)
        layout.addWidget(self._line_caption)
        layout.addWidget(self.line_plot, 1)
        layout.addWidget(self._waterfall_caption)
        layout.addWidget(self.waterfall, 1)

        self.apply_theme(palette.current())
        palette.signals.changed.connect(self.apply_theme)
        if self.feed is None:
            self._say("No journal: drift is computed from the copier's journal, and this copier has none.")
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    # ---------------------------------------------------------------- construction
    def _line_plot(self) -> pg.PlotWidget:
        plot = pg.PlotWidget(self, axisItems={"bottom": ClockAxis(orientation="bottom", utcOffset=0)})
        plot.setMinimumHeight(90)
        item = plot.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        item.setMouseEnabled(x=False, y=False)
        item.showGrid(x=True, y=True, alpha=0.35)
        left = item.getAxis("left")
        left.enableAutoSIPrefix(False)
        left.setWidth(58)
        item.getAxis("bottom").setHeight(22)
        return plot

    # ---------------------------------------------------------------- rounds
    @property
    def slave(self) -> str:
        return self.slave_box.currentData() or ""

    @property
    def period(self) -> str:
        return self.period_box.currentData() or "session"

    @property
    def caught_up(self) -> bool:
        """Figures are shown and the last round found nothing more waiting in the journal."""
        figures = self.figures
        return figures is not None and figures.caught_up and not self._dirty and not (self.feed and self.feed.busy)

    def bounds(self) -> tuple[float, float]:
        """Every period ends now (the feed stretches the end to what its round read)."""
        return period_bounds(self.period, self._clock(), self._session_start)

    def tick(self) -> None:
        """Take a finished round, and start the next one when it is due. Never waits.

        A round's headline and waterfall are drawn in one tick, its line in the next: each plot's
        redraw and repaint is a loop pass of its own, never one pass holding the copier for both.
        """
        feed = self.feed
        if feed is None:
            return
        if self._line_due:
            self._line_due = False
            self._draw_shown_line()
            return
        figures = feed.take()
        if figures is not None:
            self._took(figures, split=True)
        if feed.busy:
            return
        self._polls += 1
        if self._dirty or self._polls * POLL_MS >= ROUND_MS:
            self._start_round()

    def _start_round(self) -> None:
        start, end = self.bounds()
        # Hidden (another tab is shown), a round only reads: the figures wait until they are seen.
        shown = self.isVisible()
        if self.feed.start_round(start=start, end=end, marks=self._marks(), compute=shown, now=True):
            self._polls = 0
            self._dirty = False

    def _took(self, figures: Figures, *, split: bool = False) -> None:
        if not figures.caught_up:
            self._dirty = True  # more entries are waiting: the next round starts at once
        if figures.error:
            self._warn(figures.error)
        if not figures.computed:
            return
        self.figures = figures
        for slave in figures.slaves:
            if self.slave_box.findData(slave) < 0:  # a slave from an earlier session, say
                self.slave_box.addItem(slave, slave)
        self._show(split=split)

    def _period_changed(self) -> None:
        self.figures = None
        self._say("Reading the journal…")
        self._dirty = True
        self.tick()

    def refresh_now(self, timeout: float = 30.0) -> Figures | None:
        """Run a round to the end and show it (tests, export); blocks the calling thread."""
        if self.feed is None:
            return None
        if self.feed.busy:
            self.feed.wait(timeout)
        while True:
            start, end = self.bounds()
            self.feed.start_round(start=start, end=end, marks=self._marks(), compute=True, now=True)
            figures = self.feed.wait(timeout)
            if figures is None:
                return None
            self._took(figures)
            if figures.caught_up:
                return figures

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._dirty = True  # figures are not computed while hidden

    # ---------------------------------------------------------------- drawing
    def _show(self, *, split: bool = False) -> None:
        """Draw the figures of the slave chosen; with ``split``, a changed waterfall leaves the line
        to the next tick."""
        self._line_due = False
        figures = self.figures
        if figures is None:
            return
        d = figures.drifts.get(self.slave)
        if d is None:
            self._say(f"No drift for {self.slave or 'this slave'} yet: nothing of it in the journal for "
                      "this period." if self.slave else "No slaves.")
            return
        theme = palette.current()
        plain = headline(d)
        self.headline_plain = plain
        total_text, *rest = plain.split(" · ")
        tone = theme.text if abs(d.tracking_difference) < CENT else (theme.ok if d.tracking_difference > 0
                                                                      else theme.bad)
        # Wrapped only between the figures, never inside one ("5 trades, 0 missed" stays whole).
        keep = [html.escape(part).replace(" ", "&nbsp;") for part in rest]
        rich = (f"<span style='font-size:12pt; font-weight:600; color:{tone}'>"
                f"{html.escape(total_text).replace(' ', '&nbsp;')}</span>"
                f"<span style='color:{theme.text_dim}'> · {' · '.join(keep)}</span>")
        if rich != self.headline.text():  # rich text is laid out again on every set
            self.headline.setText(rich)
        self.headline.setToolTip("The slave's P&L minus what perfect copying of the master under its rules "
                                 "would have made, over the master trades opened in this period. Open trades "
                                 "are valued at live prices.")
        if d.unvalued:
            count = len(d.unvalued)
            self._warn(f"⚠ {count} trade{'s' * (count != 1)} not valued, left out of these figures "
                       "(hover for why)", "\n".join(d.unvalued))
        elif not figures.error:
            self.warning.hide()
        drew = self.waterfall.set_steps(waterfall_steps(d.attribution), d.currency)
        if split and drew:
            self._line_due = True
        else:
            self._draw_line(d, figures)

    def _draw_shown_line(self) -> None:
        figures = self.figures
        d = figures.drifts.get(self.slave) if figures is not None else None
        if d is not None:
            self._draw_line(d, figures)

    def _draw_line(self, d: SlaveDrift, figures: Figures) -> None:
        """Closed trades as a filled step line; what open trades add now as a dashed jump at the
        period's end to a hollow dot (the ledger books open trades at the end), so a jump that
        can still change is not read as one that happened."""
        drawing = (d.slave, d.currency, tuple(d.series), figures.end, self.slave_box.currentIndex(),
                   palette.current().name)
        if drawing == self._line_drawn:
            return
        self._line_drawn = drawing
        self.line_draws += 1
        item = self.line_plot.getPlotItem()
        if item.getAxis("left").labelText != (d.currency or ""):
            item.getAxis("left").setLabel(d.currency or "")
        if not d.series:
            self._clear_line()
            # Nothing closed or open yet: the axis still shows the period's time (without this it
            # stayed at pyqtgraph's 0..1, the first second of 1970).
            start = figures.start if figures.start is not None else figures.end - 60.0
            span = max(figures.end - start, 60.0)
            self._set_line_range(start, (start - span * 0.02, start + span), (-1.0, 1.0))
            return
        end = figures.end
        closed = [(wall, value) for wall, value in d.series if wall < end]
        first = min((t.opened_wall for t in d.trades), default=d.series[0][0])
        xs, ys = [first], [0.0]
        for wall, value in closed:  # a step: the difference holds until the next trade ends
            xs += [wall, wall]
            ys += [ys[-1], value]
        end = max(end, xs[-1])
        xs.append(end)
        ys.append(ys[-1])
        now = d.series[-1][1]
        x, y = np.array(xs), np.array(ys)
        colour = QColor(palette.current().series_color(max(0, self.slave_box.currentIndex())))
        fill = QColor(colour)
        fill.setAlpha(48)
        self.line.setData(x, y, pen=pg.mkPen(colour, width=1), fillLevel=0.0, brush=pg.mkBrush(fill))
        # A dot where each closed trade's difference was booked; the step alone hides how many.
        self.points.setData([w for w, _ in closed], [v for _, v in closed], pen=None, brush=pg.mkBrush(colour),
                            size=5, symbol="o")
        has_open = len(closed) < len(d.series)
        self.open_jump.setData([end, end] if has_open else [], [ys[-1], now] if has_open else [],
                               pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine))
        self.open_point.setData([end] if has_open else [], [now] if has_open else [], pen=pg.mkPen(colour, width=1),
                                brush=pg.mkBrush(palette.current().panel), size=7, symbol="o")
        self.open_point.setToolTip("Open trades valued at live prices now" if has_open else "")
        span = max(end - first, 60.0)
        lo, hi = float(min(0.0, y.min(), now)), float(max(0.0, y.max(), now))
        pad = max((hi - lo) * 0.12, 0.5)
        self._set_line_range(first, (first - span * 0.02, end + span * 0.03), (lo - pad, hi + pad))

    def _set_line_range(self, first: float, x: tuple[float, float], y: tuple[float, float]) -> None:
        """Keep each range shown while it holds the line: time grows into room left on the right (a
        tenth of the span), so the axes are not laid out again every round."""
        item = self.line_plot.getPlotItem()
        x_shown, y_shown = self._line_range or (None, None)
        if not _holds(x_shown, first, x[1]):
            x_shown = (x[0], x[1] + (x[1] - x[0]) * 0.1)
            item.setXRange(*x_shown, padding=0)
        if not _holds(y_shown, *y):
            room = (y[1] - y[0]) * 0.1
            y_shown = (y[0] - room, y[1] + room)
            item.setYRange(*y_shown, padding=0)
        self._line_range = (x_shown, y_shown)

    def _clear_line(self) -> None:
        for curve in (self.line, self.points, self.open_jump, self.open_point):
            curve.setData([], [])

    def _say(self, text: str) -> None:
        self._line_due = False
        self._line_drawn = None
        self.headline_plain = text
        self.headline.setText(html.escape(text))
        self.headline.setToolTip("")
        self.waterfall.set_steps([], "")
        self._clear_line()

    def _warn(self, text: str, tooltip: str = "") -> None:
        self.warning.setText(text)
        self.warning.setToolTip(tooltip)
        self.warning.setStyleSheet(f"color: {palette.current().warn};")
        self.warning.show()

    def apply_theme(self, theme: palette.Theme) -> None:
        self.line_plot.setBackground(theme.panel)
        for name in ("left", "bottom"):
            axis = self.line_plot.getPlotItem().getAxis(name)
            axis.setPen(pg.mkPen(theme.border, width=1))
            axis.setTextPen(pg.mkPen(theme.text_dim))
        self._line_zero.setPen(pg.mkPen(theme.text_dim, width=1, style=Qt.PenStyle.DashLine))
        self.waterfall.apply_theme(theme)
        self._show()

    # ---------------------------------------------------------------- export
    def export_report(self) -> QFileDialog:
        """Ask where to save (non-modal; answered through ``fileSelected``), then write the report."""
        self.file_dialog = save_dialog(self, "Export drift report", "drift-report", "html", self._clock(),
                                       self.export_to)
        return self.file_dialog

    def export_to(self, path: Path) -> bool:
        """Write every slave's drift over the chosen period as the HTML report; a message box says
        why when it cannot be written."""
        figures = self.refresh_now() if self.feed is not None else None
        if figures is None or not figures.computed:
            why = figures.error if figures is not None and figures.error else "there are no figures yet"
            self._tell(f"Nothing to export: {why}.")
            return False
        start, end = figures.start, figures.end
        period_text = f"{self.period_box.currentText()}: {_utc(start)} to {_utc(end)} UTC"
        notes = [f"Trades the master opened in the period count. What was still open is valued at the prices the "
                 f"copier saw at {_utc(end)} UTC.", *self._notes]
        try:
            page = render_html(figures.drifts, title=REPORT_TITLE, period_text=period_text, generated_wall=end,
                               notes=notes)
            path.write_text(page, encoding="utf-8")
        except OSError as exc:
            self._tell(f"The report could not be written to {path}: {exc.strerror or exc}.")
            return False
        return True

    def _tell(self, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "Export drift report", text, QMessageBox.StandardButton.Ok, self)
        box.finished.connect(lambda _r: box.deleteLater())
        self.message_box = box
        box.open()

    def stop(self) -> None:
        self.timer.stop()
        if self.feed is not None:
            self.feed.close()


def _utc(wall: float | None) -> str:
    if wall is None or not math.isfinite(wall):
        return "the journal's start"
    return dt.datetime.fromtimestamp(wall, dt.UTC).strftime("%Y-%m-%d %H:%M")
