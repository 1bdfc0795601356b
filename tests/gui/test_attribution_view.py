"""The tracking-difference view: its headline, waterfall and line for a slave and a period, read
from a real journal in small rounds off the Qt thread, and its HTML export."""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from copier_gui.core.journal import Journal
from copier_gui.reports.parts import EXPLANATIONS
from copier_gui.ui import palette
from copier_gui.ui.attribution_view import AttributionView
from tests.gui.conftest import dispose, until
from tests.gui.test_drift_feed import SetClock, copy_into
from tests.unit.reports.journals import T0, HandJournal, K, two_slaves

NOW = T0 + 4000


@pytest.fixture
def journal(tmp_path):
    clock = SetClock()
    with Journal(tmp_path / "journal.sqlite3", clock) as j:
        j.test_clock = clock
        yield j


@pytest.fixture
def make_view(qtbot):
    views = []

    def make(journal, slaves=("s1", "s2"), *, session_start=T0, now=NOW, clock=None, marks=dict, shown=False):
        view = AttributionView(journal, list(slaves), session_start=session_start, clock=clock or (lambda: now),
                               marks=marks)
        views.append(view)
        if shown:
            view.resize(640, 560)
            view.show()
            qtbot.waitExposed(view)
        return view

    yield make
    for view in views:
        view.stop()
        dispose(view)


def _bars(view):
    """The waterfall as drawn: (row label, left end, right end, colour) per bar."""
    opts = view.waterfall.bars.opts
    ticks = view.waterfall.getPlotItem().getAxis("left")._tickLevels[0]
    return [(label, float(x0), float(x1), brush.color().name())
            for (_, label), x0, x1, brush in zip(ticks, opts["x0"], opts["x1"], opts["brushes"], strict=True)]


def test_headline_waterfall_and_warning_for_a_hand_made_journal(journal, make_view):
    copy_into(journal, journal.test_clock, two_slaves().entries)
    view = make_view(journal)
    view.refresh_now()
    # s1: docs/drift.md's first trade (-13.50), a missed one (-60.00), one sized out (-0.40) and an
    # open sell valued at the journal's marks (-9.00).
    assert view.slave == "s1"
    assert view.headline_plain == "Tracking difference −82.90 USD · ideal 412.90 · actual 330.00 · 4 trades, 1 missed"
    theme = palette.current()
    theme_bad, accent = theme.bad, theme.accent
    expected = [("Ideal P&L", 0.0, 412.9, accent), ("Timing", 405.9, 412.9, theme_bad),
                ("Entry price", 401.9, 405.9, theme_bad), ("Exit price", 392.9, 401.9, theme_bad),
                ("Sizing", 390.0, 392.9, theme_bad), ("Missed", 330.0, 390.0, theme_bad),
                ("Actual P&L", 0.0, 330.0, accent)]
    for got, want in zip(_bars(view), expected, strict=True):
        assert got[0] == want[0] and got[3] == want[3]
        assert got[1:3] == pytest.approx(want[1:3])
    assert [label.toPlainText() for label in view.waterfall.labels] == [
        "412.90", "−7.00", "−4.00", "−9.00", "−2.90", "−60.00", "330.00"]
    # Each part's row says what it means, in the report's words.
    assert EXPLANATIONS["timing"] in view.waterfall.tooltip_at(1) and "−7.00 USD" in view.waterfall.tooltip_at(1)
    assert EXPLANATIONS["missed"] in view.waterfall.tooltip_at(5)
    assert view.waterfall.tooltip_at(7) == ""
    # Closed trades step the line where each was booked; the open sell is a dashed jump at the end.
    assert list(view.points.getData()[1]) == pytest.approx([-13.5, -73.5, -73.9])
    jump_x, jump_y = view.open_jump.getData()
    assert list(jump_x) == pytest.approx([NOW, NOW]) and list(jump_y) == pytest.approx([-73.9, -82.9])
    assert list(view.open_point.getData()[1]) == pytest.approx([-82.9])
    # A trade nothing was journaled for is named, not dropped.
    assert view.warning.isVisibleTo(view) and "1 trade not valued" in view.warning.text()
    assert view.warning.toolTip() == "master #9 GBPUSD: no copy and no refusal journaled for s1"

    view.slave_box.setCurrentIndex(view.slave_box.findData("s2"))
    assert view.headline_plain == ("Tracking difference −2.43 EUR · ideal 135.00 · actual 132.57 · 1 trade, 0 missed, "
                                   "3 excluded by its rules")
    assert [b[0] for b in _bars(view)] == ["Ideal P&L", "Timing", "Entry price", "Exit price", "Actual P&L"]


def test_the_line_steps_at_each_trade_and_a_gain_is_a_green_step(journal, make_view):
    j = HandJournal()
    j.start({"s1": "USD"})
    # The master makes 0.00010 on each; the slave closes 10 USD short of it, then 20 USD beyond it.
    for n, at, slave_exit in ((1, 100.0, 1.1), (2, 400.0, 1.1003)):
        j.master(at, n, "opened", price_open=1.1)
        j.fill(at + 0.1, "s1", n, "open", volume=1.0, price=1.1, ideal=1.0, sized=1.0, master_volume=1.0)
        j.master(at + 50, n, "closed", previous=1.0, price=1.1001)
        j.fill(at + 50.1, "s1", n, "close", volume=1.0, price=slave_exit, entry_price=1.1)
    copy_into(journal, journal.test_clock, j.entries)
    view = make_view(journal, ["s1"])
    view.refresh_now()
    # The difference holds from one trade's end to the next, and up to the period's end.
    x, y = view.line.getData()
    assert list(x) == pytest.approx([T0 + 100, T0 + 150.1, T0 + 150.1, T0 + 450.1, T0 + 450.1, NOW])
    assert list(y) == pytest.approx([0.0, 0.0, -10.0, -10.0, 10.0, 10.0])
    assert view.line.opts["fillLevel"] == 0.0
    assert list(view.points.getData()[1]) == pytest.approx([-10.0, 10.0])
    x, _ = view.open_jump.getData()
    assert x is None or len(x) == 0  # nothing open: no dashed jump
    theme = palette.current()
    assert [(b[0], b[3]) for b in _bars(view)] == [("Ideal P&L", theme.accent), ("Exit price", theme.ok),
                                                  ("Actual P&L", theme.accent)]
    assert view.headline_plain.startswith("Tracking difference +10.00 USD · ideal 20.00 · actual 30.00")


def _days_journal() -> tuple[HandJournal, float, float]:
    """Three trades: six days ago, earlier today (UTC), and in this session; each 10 USD short."""
    now = dt.datetime(2026, 11, 25, 15, 0, tzinfo=dt.UTC).timestamp()
    session = now - 3600
    j = HandJournal()
    j.add(now - 6 * 86_400, "state", "master", "copier starting", slaves=["s1"])
    j.add(now - 6 * 86_400, "state", "s1", "s1 connected", state="connected", currency="USD")
    for n, wall in enumerate((now - 6 * 86_400 + 60, now - 5 * 3600, session + 60), start=1):
        at = wall - T0
        j.master(at, n, "opened", price_open=1.1)
        j.fill(at + 0.1, "s1", n, "open", volume=n * 1.0, price=1.1, ideal=n * 1.0, sized=n * 1.0,
               master_volume=1.0)
        j.master(at + 30, n, "closed", previous=1.0, price=1.1001)
        j.fill(at + 30.1, "s1", n, "close", volume=n * 1.0, price=1.1, entry_price=1.1)
    return j, now, session


def test_the_period_selector_changes_the_figures(journal, make_view):
    j, now, session = _days_journal()
    copy_into(journal, journal.test_clock, j.entries)
    view = make_view(journal, ["s1"], session_start=session, now=now)
    seen = {}
    for label in ("This session", "Today (UTC)", "Last 7 days"):
        view.period_box.setCurrentIndex(view.period_box.findText(label))
        view.refresh_now()
        seen[label] = view.headline_plain
    # Trade n is n lots, each lot 10 USD short of the master's 0.00010 move.
    assert seen == {
        "This session": "Tracking difference −30.00 USD · ideal 30.00 · actual 0.00 · 1 trade, 0 missed",
        "Today (UTC)": "Tracking difference −50.00 USD · ideal 50.00 · actual 0.00 · 2 trades, 0 missed",
        "Last 7 days": "Tracking difference −60.00 USD · ideal 60.00 · actual 0.00 · 3 trades, 0 missed",
    }


def test_export_writes_the_report_with_the_slaves_figures(journal, make_view, tmp_path):
    copy_into(journal, journal.test_clock, two_slaves().entries)
    view = make_view(journal)
    out = tmp_path / "report.html"
    assert view.export_to(out)
    page = out.read_text(encoding="utf-8")
    assert "s1" in page and "s2" in page
    assert "-82.90" in page and "412.90" in page and "-2.43" in page
    assert "This session: 2026-11-25 09:00 to 2026-11-25 10:06 UTC" in page
    assert "What was still open is valued at the prices the copier saw at 2026-11-25 10:06 UTC." in page
    assert view.message_box is None


def test_an_export_that_cannot_be_written_says_why_in_a_message_box(journal, make_view, tmp_path):
    copy_into(journal, journal.test_clock, two_slaves().entries)
    view = make_view(journal)
    target = tmp_path / "no such folder" / "report.html"
    assert not view.export_to(target)
    box = view.message_box
    assert box is not None and box.isVisible()
    assert str(target) in box.text() and "could not be written" in box.text()
    box.close()


def test_the_export_button_asks_where_without_blocking(journal, make_view, tmp_path):
    copy_into(journal, journal.test_clock, two_slaves().entries)
    view = make_view(journal, shown=True)
    view.export_button.click()
    dialog = view.file_dialog  # shown with open(): the click returned while it waits for an answer
    assert dialog is not None and dialog.isVisible()
    out = tmp_path / "chosen.html"
    dialog.fileSelected.emit(str(out))  # what choosing a file and Save does
    dialog.close()
    assert "s1" in out.read_text(encoding="utf-8")


def test_no_journal_is_said_plainly(make_view):
    view = make_view(None)
    assert view.headline_plain.startswith("No journal")
    view.tick()
    assert not view.export_to(Path("unused.html"))
    assert "Nothing to export" in view.message_box.text()
    view.message_box.close()


def _big_journal(journal: Journal, clock: SetClock, entries: int) -> int:
    """A journal shaped like a busy copier's: per master trade 3 slaves' plans, requests, results and
    fills; ``entries`` entries in all. Returns the number of master trades."""
    slaves = ["s1", "s2", "s3"]
    clock.now = T0
    journal.record("state", "copier starting", account="master", slaves=slaves)
    for s in slaves:
        journal.record("state", f"{s} connected", account=s, state="connected", currency="USD")
    rng = np.random.default_rng(1)
    n, ticket = 4, 0
    while n < entries:
        ticket += 1
        clock.now += 5
        price = 1.1 + float(rng.uniform(-0.01, 0.01))
        journal.record("master_event", f"master #{ticket} opened", account="master", ticket=ticket,
                       kind_of_event="opened", symbol="EURUSD", side="buy", volume=1.0, previous_volume=0.0,
                       price_open=price, price=price)
        for s in slaves:
            for kind in ("plan", "request", "result"):
                journal.record(kind, f"{kind} for {s}: open buy 1 EURUSD.m", account=s, copy_id=f"{ticket}-{s}")
            journal.record("info", "copied open", account=s, metrics={
                "slave": s, "master_ticket": ticket, "symbol": "EURUSD.m", "action": "open", "volume": 1.0,
                "slave_price": price + 2e-5, "master_price": price, "side": "buy", "ideal_volume": 1.0,
                "sized_volume": 1.0, "master_volume": 1.0, "quote": price + 1e-5, "money_per_price_lot": K})
        close = price + float(rng.uniform(-0.001, 0.001))
        clock.now += 30
        journal.record("master_event", f"master #{ticket} closed", account="master", ticket=ticket,
                       kind_of_event="closed", symbol="EURUSD", side="buy", volume=1.0, previous_volume=1.0,
                       price_open=price, price=close)
        for s in slaves:
            journal.record("info", "copied close", account=s, metrics={
                "slave": s, "master_ticket": ticket, "symbol": "EURUSD.m", "action": "close", "volume": 1.0,
                "slave_price": close - 1e-5, "master_price": close, "side": "buy", "money_per_price_lot": K,
                "entry_price": price + 2e-5})
        n += 1 + 3 * 4 + 1 + 3
    journal.flush()
    return ticket


def test_a_20k_entry_journal_keeps_every_tick_short_and_then_reads_only_new_entries(journal, make_view, qtbot):
    trades = _big_journal(journal, journal.test_clock, 20_000)
    now = journal.test_clock.now + 1
    view = make_view(journal, ["s1", "s2", "s3"], now=now, shown=True)
    view.timer.stop()  # ticked by hand below, each one timed
    longest, ticks, started = 0.0, 0, time.perf_counter()
    while not view.caught_up:
        t0 = time.perf_counter()
        view.tick()
        longest = max(longest, time.perf_counter() - t0)
        ticks += 1
        qtbot.wait(10)
        assert time.perf_counter() - started < 60, "the figures never came"
    # Reading, folding and computing ran on the feed's thread; a tick only starts a round or draws one.
    print(f"{ticks} ticks in {time.perf_counter() - started:.2f} s, the longest {longest * 1000:.1f} ms")
    assert longest < 0.08, f"the longest tick took {longest * 1000:.0f} ms"
    assert view.headline_plain.endswith(f"· {trades} trades, 0 missed")
    assert view.feed.reads[0] == (0, 2000) and sum(count for _, count in view.feed.reads) >= 20_000

    read_before = view.figures.entries
    clock = journal.test_clock
    clock.now = now
    journal.record("master_event", "master #99999 opened", account="master", ticket=99_999, kind_of_event="opened",
                   symbol="EURUSD", side="buy", volume=1.0, previous_volume=0.0, price_open=1.1, price=1.1)
    journal.flush()
    last = view.feed.reads[-1][0] + view.feed.reads[-1][1]
    qtbot.waitUntil(lambda: (view.tick() or True) and view.figures.entries == read_before + 1, timeout=10_000)
    assert view.feed.reads[-1] == (last, 1)  # the round after it read that one entry, nothing else


def test_the_dashboard_shows_a_live_trade_valued_at_the_copiers_live_prices(demo, run):
    d = demo.dashboard
    view = d.attribution
    assert d.drift_tabs.currentWidget() is view and view.slave == "slave-1" and view.period_box.currentText() == \
        "This session"

    async def script():
        demo.trade("EURUSD", 1.0)
        await until(lambda: view.figures is not None and "slave-1" in view.figures.drifts
                    and [t.status for t in view.figures.drifts["slave-1"].trades] == ["open"],
                    timeout=20, what="the open trade in the drift view")

    run(script)
    drift = view.figures.drifts["slave-1"]
    # Open, and no marks journaled for it yet (they come once a minute): the copier's live prices
    # value it, so nothing is left unvalued.
    assert not [e for e in demo.copier.journal.entries(kind="marks") if "EURUSD" in str(e.data)]
    assert drift.unvalued == [] and drift.currency == "EUR"
    figure = r"(0\.00|[+−]?[\d,]+\.\d\d)"
    assert re.fullmatch(f"Tracking difference {figure} EUR · ideal {figure} · actual {figure} · 1 trade, 0 missed",
                        view.headline_plain), view.headline_plain
    assert [step.label for step in view.waterfall.steps][0] == "Ideal P&L"


def test_hovering_a_waterfall_row_shows_what_that_part_means(journal, make_view, qtbot):
    copy_into(journal, journal.test_clock, two_slaves().entries)
    view = make_view(journal, shown=True)
    view.refresh_now()
    plot = view.waterfall
    qtbot.waitUntil(lambda: plot.getPlotItem().getViewBox().sceneBoundingRect().height() > 100)
    box = plot.getPlotItem().getViewBox()
    for row, part in ((1, "timing"), (5, "missed")):
        scene_point = box.mapViewToScene(QPointF(400.0, float(row)))
        plot.scene().sigMouseMoved.emit(scene_point)  # what a mouse move over the plot emits
        assert EXPLANATIONS[part] in plot.toolTip()
    plot.scene().sigMouseMoved.emit(QPointF(-50.0, -50.0))  # outside the plot: no tooltip
    assert plot.toolTip() == ""


def _next_round(view, qtbot) -> None:
    """Tick as the dashboard's clock does until the view takes a new round's figures."""
    before, started = view.figures, time.perf_counter()
    while view.figures is before:
        view.tick()
        qtbot.wait(10)
        assert time.perf_counter() - started < 20, "no round came"


def _one_more_trade(journal) -> None:
    """s1 copies a trade and makes what the master makes: 10 USD."""
    j = HandJournal()
    j.master(3700, 20, "opened", price_open=1.1)
    j.fill(3700.1, "s1", 20, "open", volume=1.0, price=1.1, ideal=1.0, sized=1.0, master_volume=1.0)
    j.master(3750, 20, "closed", previous=1.0, price=1.1001)
    j.fill(3750.1, "s1", 20, "close", volume=1.0, price=1.1001, entry_price=1.1)
    copy_into(journal, journal.test_clock, j.entries)


def test_a_rounds_waterfall_and_line_are_drawn_in_ticks_of_their_own(journal, make_view, qtbot):
    # Each plot's redraw and repaint holds the copier's loop; in one tick they held it for their sum.
    copy_into(journal, journal.test_clock, two_slaves().entries)
    now = [NOW]
    view = make_view(journal, clock=lambda: now[0], shown=True)
    view.timer.stop()  # ticked by hand, as the dashboard's clock ticks it
    view.refresh_now()
    labels = list(view.waterfall.labels)
    x_before, y_before = (list(a) for a in view.line.getData())
    range_before = view.line_plot.getPlotItem().viewRange()

    _one_more_trade(journal)
    now[0] = NOW + 2  # the next round's period ends two seconds later
    _next_round(view, qtbot)
    assert [view.waterfall.labels[i].toPlainText() for i in (0, -1)] == ["422.90", "340.00"]
    assert [list(a) for a in view.line.getData()] == [x_before, y_before]  # not yet
    view.tick()
    x, y = view.line.getData()
    assert x[-1] == pytest.approx(NOW + 2) and len(x) == len(x_before) + 2  # one more step
    # The same text items, edited: making and placing new ones was most of a redraw.
    assert view.waterfall.labels == labels
    # The line's end moved two seconds into room left for it: the axes keep their range and text.
    assert view.line_plot.getPlotItem().viewRange() == range_before


def test_a_round_with_the_same_figures_draws_nothing(journal, make_view, qtbot):
    copy_into(journal, journal.test_clock, two_slaves().entries)
    view = make_view(journal, shown=True)
    view.timer.stop()
    view.refresh_now()
    waterfall, line = view.waterfall.draws, view.line_draws
    for _ in range(2):
        _next_round(view, qtbot)
        view.tick()
    assert (view.waterfall.draws, view.line_draws) == (waterfall, line)
    view.slave_box.setCurrentIndex(view.slave_box.findData("s2"))  # another slave: drawn at once
    assert (view.waterfall.draws, view.line_draws) == (waterfall + 1, line + 1)


def test_a_first_round_before_any_trade_needs_no_new_layout(journal, make_view):
    # A new waterfall height lays the view out again and repaints both plots, at start-up too.
    j = HandJournal()
    j.start({"s1": "USD"})
    copy_into(journal, journal.test_clock, j.entries)
    view = make_view(journal, ["s1"])
    heights = (view.waterfall.minimumHeight(), view.waterfall.maximumHeight())
    view.refresh_now()
    assert [step.label for step in view.waterfall.steps] == ["Ideal P&L", "Actual P&L"]
    assert (view.waterfall.minimumHeight(), view.waterfall.maximumHeight()) == heights


def test_a_period_with_no_trades_yet_shows_its_own_time_on_the_axis(journal, make_view):
    # A session that has copied nothing yet (the Windows smoke's first seconds): the line's axis
    # spans the period, not pyqtgraph's default 0..1 (00:00:00 on 1 January 1970).
    journal.record("state", "copier starting", account="master", slaves=["s1"])
    journal.flush()
    view = make_view(journal, ("s1",), session_start=NOW - 30, now=NOW)
    view.refresh_now()
    view.tick()
    (x0, x1), _y = view.line_plot.getPlotItem().getViewBox().viewRange()
    assert NOW - 120 < x0 < NOW and x1 > NOW - 30, (x0, x1)
