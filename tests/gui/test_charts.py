"""The drift charts and the tray: ring buffers, the one timer, following, throttled messages."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest

from copier_gui.ui import palette
from copier_gui.ui.charts import FRAME_MS, DriftCharts, Ring, _nice
from copier_gui.ui.tray import Throttle, Tray
from tests.gui.conftest import dispose


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_ring_keeps_the_newest_points_oldest_first():
    ring = Ring(4)
    for i in range(6):
        ring.append(float(i), float(i * 10))
    x, y = ring.arrays()
    assert x.tolist() == [2.0, 3.0, 4.0, 5.0] and y.tolist() == [20.0, 30.0, 40.0, 50.0]
    assert ring.last() == (5.0, 50.0)
    assert ring.y_extent_since(3.5) == (40.0, 50.0)
    assert ring.y_extent_since(9.0) is None
    x[0] = -1  # a curve's copy: changing it leaves the ring alone
    assert ring.arrays()[0][0] == 2.0
    with pytest.raises(ValueError):
        Ring(1)


def test_ring_memory_is_allocated_once():
    ring = Ring(1000)
    buffer = ring._x
    for i in range(5000):
        ring.append(float(i), 1.0)
    assert ring._x is buffer and ring.count == 1000


def test_charts_draw_from_one_timer_at_most_twenty_times_a_second(qtbot):
    clock = Clock()
    charts = DriftCharts(["slave-1", "slave-2"], clock=clock)
    qtbot.addWidget(charts)
    timers = [t for t in charts.findChildren(type(charts.timer))]
    assert timers == [charts.timer] and charts.timer.interval() == FRAME_MS >= 50
    assert pg.getConfigOption("antialias") is False and pg.getConfigOption("useOpenGL") is False

    charts.add("slave-1", clock.now, 5.0, 2.0)
    charts.add("slave-2", clock.now + 0.5, 9.0, -4.0)
    charts.add("nobody", clock.now, 1.0, 1.0)  # an unknown slave is ignored
    charts.tick()
    assert charts.redraws == 2  # the latency curves of two slaves
    charts.tick()
    assert charts.redraws == 4  # then their slippage curves: the plots take turns
    charts.tick()
    charts.tick()
    assert charts.redraws == 4  # nothing new: nothing handed to pyqtgraph

    series = charts._series["slave-1"]
    curve = series.latency_curve
    assert curve.opts["clipToView"] is True
    assert curve.opts["autoDownsample"] is True and curve.opts["downsampleMethod"] == "peak"
    assert curve.opts["pen"].width() <= 1
    left = charts.latency_plot.getPlotItem().getAxis("left")
    assert left.labelUnits == "ms" and not left.autoSIPrefix
    # Basis points of price: a slave trading EURUSD and BTCUSD draws both on one meaningful scale.
    assert charts.slippage_plot.getPlotItem().getAxis("left").labelUnits == "bp"
    # No auto-range per frame: the view boxes are left alone between follow() calls.
    assert not any(charts.latency_plot.getPlotItem().getViewBox().autoRangeEnabled())


def test_charts_follow_the_newest_copies_until_the_user_pans(qtbot):
    clock = Clock()
    charts = DriftCharts(["slave-1"], clock=clock, window_s=60.0)
    qtbot.addWidget(charts)
    for i in range(100):
        clock.now += 1.0
        charts.add("slave-1", clock.now, 10.0 + i, float(i % 7) - 3)
    charts.tick()
    charts.tick()
    charts.follow()
    (x0, x1), (y0, y1) = charts.latency_plot.getPlotItem().getViewBox().viewRange()
    assert x0 == pytest.approx(clock.now - 60.0) and x1 > clock.now
    assert y0 == 0.0 and y1 >= 109.0
    charts.set_following(False)
    assert not charts.live.isChecked()
    charts.live.setChecked(True)
    assert charts.following


def test_hiding_a_slave_in_the_legend_hides_its_curves(qtbot):
    charts = DriftCharts(["slave-1", "slave-2"], clock=Clock())
    qtbot.addWidget(charts)
    charts.legend.chips["slave-2"].setChecked(False)
    assert not charts._series["slave-2"].latency_curve.isVisible()
    assert not charts._series["slave-2"].slippage_curve.isVisible()


def test_chart_colours_follow_the_theme(qtbot):
    charts = DriftCharts(["slave-1"], clock=Clock())
    qtbot.addWidget(charts)
    charts.apply_theme(palette.LIGHT)
    assert charts.latency_plot.backgroundBrush().color().name() == palette.LIGHT.panel
    charts.apply_theme(palette.DARK)
    assert charts.latency_plot.backgroundBrush().color().name() == palette.DARK.panel


@pytest.mark.parametrize(("value", "nice"), [(0.0, 0.0), (7.3, 8.0), (11.0, 12.0), (97.0, 100.0), (1234, 1500)])
def test_axis_limits_round_up_to_round_numbers(value, nice):
    assert _nice(value) == pytest.approx(nice)


def test_throttle_folds_bursts_into_one_message_per_interval():
    throttle = Throttle(10.0)
    assert throttle.offer("refusal", "a", 0.0)
    assert not throttle.offer("refusal", "b", 1.0)
    assert not throttle.offer("refusal", "c", 2.0)
    assert throttle.offer("disconnect", "x", 2.0)  # topics are throttled separately
    assert throttle.due(5.0) == []
    assert throttle.due(10.0) == [("refusal", ["b", "c"])]
    assert throttle.due(30.0) == []
    assert throttle.offer("refusal", "d", 30.0)


def test_tray_notifications_are_throttled(qapp):
    clock = Clock()
    tray = Tray(clock, interval_s=10.0)
    tray.notify("refusal", "slave-1: skipped")
    tray.notify("refusal", "slave-2: skipped")
    tray.notify("refusal", "slave-3: skipped")
    assert tray.shown == [("Copy refused", "slave-1: skipped")]
    clock.now += 11
    tray._release()
    assert tray.shown[-1] == ("Copy refused (2 more)", "slave-3: skipped")
    tray.hide()
    dispose(tray)


def test_palettes_are_complete_and_distinct():
    for theme in (palette.LIGHT, palette.DARK):
        assert len(set(theme.series)) == len(theme.series) >= 8
        assert theme.text != theme.base
    assert palette.theme_for("light") is palette.LIGHT and palette.theme_for("dark") is palette.DARK
    assert np.all([c.startswith("#") for c in palette.DARK.series])


@pytest.mark.parametrize("point_size", [6, 9, 12])
@pytest.mark.parametrize("density", [0.0005, 0.005, 0.02, 0.2, 2.0])
def test_time_axis_reads_as_clock_time_at_every_zoom(qtbot, density, point_size):
    # Which of pyqtgraph's zoom levels is used depends on the tick font's width; with Windows'
    # narrower fonts a few seconds in view chose its millisecond level, whose labels ("20.000")
    # read as plain numbers. The charts' axis keeps to clock time.
    from PySide6.QtGui import QFont, QFontMetrics

    from copier_gui.ui.charts import ClockAxis

    axis = ClockAxis(orientation="bottom")
    font = QFont()
    font.setPointSize(point_size)
    axis.fontMetrics = QFontMetrics(font)  # set by pyqtgraph when it draws
    start = 1_700_000_000.0
    values = axis.tickValues(start, start + density * 600, 600)
    strings = [s for _spacing, ticks in values for s in axis.tickStrings(ticks, 1.0, _spacing)]
    assert strings and all(":" in s for s in strings), strings


def test_charts_behind_another_tab_draw_nothing_and_catch_up_when_shown(qtbot):
    # In the dashboard the charts share a tab with the tracking-difference view, which is shown
    # first: pyqtgraph work for curves nobody sees only delays the copier's loop.
    from PySide6.QtWidgets import QLabel, QTabWidget

    clock = Clock()
    tabs = QTabWidget()
    qtbot.addWidget(tabs)
    tabs.addTab(QLabel("tracking difference"), "first")
    charts = DriftCharts(["slave-1"], clock=clock, window_s=60.0)
    tabs.addTab(charts, "charts")
    tabs.show()
    qtbot.waitExposed(tabs)
    for i in range(30):
        clock.now += 1.0
        charts.add("slave-1", clock.now, 10.0 + i, 1.0)
    view = charts.latency_plot.getPlotItem().getViewBox()
    before = view.viewRange()
    for _ in range(4 * 40):  # eight seconds of frames, four follow() passes among them
        charts.tick()
    assert charts.redraws == 0 and view.viewRange() == before

    tabs.setCurrentWidget(charts)
    (x0, x1), _ = view.viewRange()
    assert x0 == pytest.approx(clock.now - 30.0) and x1 > clock.now  # followed at once
    charts.tick()
    charts.tick()
    assert charts.redraws == 2  # both curves drawn with everything the rings hold
    assert len(charts._series["slave-1"].latency_curve.getData()[0]) == 30


def test_lazy_charts_build_their_plots_when_first_shown_and_draw_every_copy_so_far(qtbot):
    # Behind the dashboard's first tab, building two plots with a curve per slave in each was a
    # third of the dashboard's construction, for charts that may never be looked at.
    from PySide6.QtWidgets import QLabel, QTabWidget

    clock = Clock()
    tabs = QTabWidget()
    qtbot.addWidget(tabs)
    tabs.addTab(QLabel("tracking difference"), "first")
    slaves = [f"slave-{i}" for i in range(1, 21)]
    charts = DriftCharts(slaves, clock=clock, window_s=60.0, lazy=True)
    tabs.addTab(charts, "charts")
    tabs.show()
    qtbot.waitExposed(tabs)
    for i in range(30):
        clock.now += 1.0
        for slave in slaves:
            charts.add(slave, clock.now, 10.0 + i, 1.0)
    for _ in range(8):
        charts.tick()
    assert not charts.built and charts.findChildren(pg.PlotWidget) == [] and charts.redraws == 0
    assert charts.series_count("slave-20") == 30  # the rings fill all the same

    tabs.setCurrentWidget(charts)
    assert charts.built and len(charts.findChildren(pg.PlotWidget)) == 2
    assert list(charts.legend.chips) == slaves
    (x0, x1), _ = charts.latency_plot.getPlotItem().getViewBox().viewRange()
    assert x0 == pytest.approx(clock.now - 30.0) and x1 > clock.now  # followed at once
    charts.tick()
    charts.tick()
    assert charts.redraws == 40 and len(charts._series["slave-20"].slippage_curve.getData()[0]) == 30
