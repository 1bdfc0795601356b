"""The live window against a real demo copier: the tree, the switches, the journal, the charts.

The master is traded at its simulated terminal, as an expert advisor would.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt

from copier_gui.ui.models import AccountsModel
from copier_gui.ui.models.journal import PROBLEMS
from tests.gui.conftest import dispose, until


def _children(model, row: int = 0) -> list:
    parent = model.index(row, 0)
    return [model.index(i, 0, parent).data() for i in range(model.rowCount(parent))]


def _child_text(model, master_row: int, child_row: int, column: int) -> str:
    parent = model.index(master_row, 0)
    return model.index(child_row, column, parent).data()


def test_every_model_passes_the_model_tester_while_trades_flow(demo, run, model_check):
    d = demo.dashboard
    for model in (d.accounts_model, d.positions_model, d.journal_model, d.journal_filter, d.summary_model):
        model_check(model)

    async def script():
        demo.trade("EURUSD", 1.0)
        demo.trade("XAUUSD", 0.3, buy=False)
        await until(lambda: d.positions_model.rowCount() == 2 and all(
            c.state.startswith("mirrored") for r in d.positions_model.master_rows() for c in r.copies))
        first = demo.master.positions_get()[0].ticket
        demo.close(first)
        await until(lambda: d.positions_model.rowCount() == 1)
        await until(lambda: d.summary_model.rowCount() == 3 and d.summary_model.row_at(0).copies >= 2)

    run(script)
    d.journal_filter.set_kinds(PROBLEMS)
    d.journal_filter.set_account("slave-1")
    d.journal_filter.set_text("eurusd")
    d.journal_filter.set_kinds(frozenset())


def test_the_tree_follows_a_master_open_partial_close_and_close(demo, run):
    model = demo.dashboard.positions_model
    inserted, removed = [], []
    model.rowsInserted.connect(lambda parent, first, last: inserted.append((parent.isValid(), first, last)))
    model.rowsRemoved.connect(lambda parent, first, last: removed.append((parent.isValid(), first, last)))

    async def script():
        demo.trade("EURUSD", 1.0)
        ticket = demo.master_ticket()
        await until(lambda: model.rowCount() == 1 and all(
            c.state.startswith("mirrored") for c in model.master_rows()[0].copies), what="the copies")
        assert model.index(0, 0).data() == f"#{ticket}"
        assert _children(model) == ["slave-1", "slave-2", "slave-3"]
        # slave-1 copies at 1x: the same volume, under its own symbol name.
        assert _child_text(model, 0, 0, 1) == "EURUSD.m"
        assert _child_text(model, 0, 0, 3) == "1"
        assert inserted == [(False, 0, 0)]  # one master row, its children with it

        demo.close(ticket, 0.4)
        await until(lambda: model.rowCount() == 1 and model.master_rows()[0].volume == 0.6
                    and _child_text(model, 0, 0, 3) == "0.6", what="the partial close")
        assert model.index(0, 3).data() == "0.6"
        assert removed == []

        demo.close(ticket)
        await until(lambda: model.rowCount() == 0, what="the close")
        assert removed == [(False, 0, 0)]
        await until(lambda: not demo.slave_positions("slave-1"), what="slave-1 to close")

    run(script)


def test_prices_show_at_the_symbols_digits_and_numbers_align_right(demo, run):
    model = demo.dashboard.positions_model

    async def script():
        demo.trade("USDJPY", 0.5)
        await until(lambda: model.rowCount() == 1 and model.master_rows()[0].copies[0].state == "mirrored")

    run(script)
    price = model.index(0, 4).data()
    assert len(price.split(".")[1]) == 3  # USDJPY quotes to 3 digits
    assert model.index(0, 4).data(Qt.ItemDataRole.TextAlignmentRole) & Qt.AlignmentFlag.AlignRight
    latency = _child_text(model, 0, 0, 8)
    assert len(latency.split(".")[1]) == 1  # ms with one decimal


def test_the_kill_switch_stops_entries_but_never_exits(demo, run, qtbot):
    d = demo.dashboard
    model = d.positions_model

    async def script():
        demo.trade("EURUSD", 1.0)
        held = demo.master_ticket()
        await until(lambda: all(demo.slave_positions(s) for s in ("slave-1", "slave-2", "slave-3")))

        qtbot.mouseClick(d.kill_switch, Qt.MouseButton.LeftButton)
        assert demo.copier.copying is False
        assert "Start" in d.kill_switch.text()

        # A new entry is not copied, and the tree says why.
        demo.trade("GBPUSD", 0.5)
        await until(lambda: model.rowCount() == 2)
        await until(lambda: all(c.state == "skipped" for c in model.master_rows()[1].copies))
        assert "copying is off" in _child_text(model, 1, 0, 9)

        # The exit of the position opened before the stop is still mirrored everywhere.
        demo.close(held)
        await until(lambda: not any(p.symbol.startswith("EURUSD") for s in ("slave-1", "slave-2", "slave-3")
                                    for p in demo.slave_positions(s)), what="the slaves to exit")
        assert all(not p.symbol.startswith("GBPUSD") for p in demo.slave_positions("slave-1"))

        qtbot.mouseClick(d.kill_switch, Qt.MouseButton.LeftButton)
        assert demo.copier.copying is True
        # Back on: the position opened meanwhile is copied now (the master still holds it).
        await until(lambda: any(p.symbol.startswith("GBPUSD") for p in demo.slave_positions("slave-1")))

    run(script)


def test_the_copy_switch_of_a_slave_changes_the_core_and_spares_exits(demo, run, qtbot):
    d = demo.dashboard
    model = d.accounts_model
    index = model.copy_index("slave-2")
    assert index.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert model.copy_index("master").data(Qt.ItemDataRole.CheckStateRole) is None
    assert not model.flags(model.copy_index("master")) & Qt.ItemFlag.ItemIsUserCheckable

    async def script():
        demo.trade("EURUSD", 1.0)
        held = demo.master_ticket()
        await until(lambda: demo.slave_positions("slave-2"))

        # A click in the switch cell, as the trader does it.
        view = d.accounts_view
        rect = view.visualRect(index)
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        assert demo.copier.slaves["slave-2"].copy_enabled is False
        assert index.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked

        demo.trade("GBPUSD", 0.5)
        await until(lambda: any(p.symbol.startswith("GBPUSD") for p in demo.slave_positions("slave-1")))
        assert not any(p.symbol.startswith("GBPUSD") for p in demo.slave_positions("slave-2"))

        demo.close(held)
        await until(lambda: not any(p.symbol.startswith("EURUSD") for p in demo.slave_positions("slave-2")),
                    what="slave-2 to exit although its copy switch is off")

        assert model.setData(index, Qt.CheckState.Checked, Qt.ItemDataRole.CheckStateRole)
        assert demo.copier.slaves["slave-2"].copy_enabled is True

    run(script)


def test_table_refreshes_signal_only_the_rows_that_changed(demo, run):
    d = demo.dashboard
    changes = []
    d.accounts_model.dataChanged.connect(lambda a, b, *_: changes.append((a.row(), b.row())))

    async def script():
        d.timer.stop()  # refresh by hand, to see exactly what one refresh signals
        d.refresh()
        changes.clear()
        d.refresh()
        assert changes == []  # nothing moved: nothing to repaint
        demo.copier.set_copy_enabled("slave-3", False)
        d.refresh()
        assert changes == [(3, 3)]

    run(script)


def test_the_journal_is_newest_first_and_filters_by_account_and_kind(demo, run):
    d = demo.dashboard

    async def script():
        demo.trade("EURUSD", 1.0)
        await until(lambda: sum(1 for r in d.journal_model.rows() if r.kind == "copy") >= 3)

    run(script)
    d.refresh()
    rows = d.journal_model.rows()
    assert [r.seq for r in rows] == sorted((r.seq for r in rows), reverse=True)
    proxy = d.journal_filter
    d.account_filter.setCurrentIndex(d.account_filter.findData("slave-1"))
    assert proxy.rowCount() > 0
    accounts = {proxy.index(i, 2).data() for i in range(proxy.rowCount())}
    assert accounts == {"slave-1"}
    d.kind_filter.setCurrentIndex(d.kind_filter.findText("Copies"))
    kinds = {proxy.index(i, 1).data() for i in range(proxy.rowCount())}
    assert kinds == {"Copy"}
    d.kind_filter.setCurrentIndex(d.kind_filter.findText("Problems"))
    assert proxy.rowCount() == 0


def test_charts_and_status_follow_the_copies(demo, run):
    d = demo.dashboard
    d.drift_tabs.setCurrentWidget(d.charts)  # behind the tracking-difference tab they draw nothing

    async def script():
        demo.trade("EURUSD", 1.0)
        await until(lambda: all(d.charts.series_count(s) >= 1 for s in ("slave-1", "slave-2", "slave-3")))
        await until(lambda: d.charts.redraws >= 6, what="the charts to draw")

    run(script)
    status = d.status()
    assert status["copying"] is True and status["master"] == "connected"
    assert status["last_copy"] and " ms (" in status["last_copy"]
    assert demo.window.status.last_copy.text().startswith("Last copy:")


def test_a_demo_window_says_its_brokers_are_simulated(demo):
    assert "DEMO" in demo.window.windowTitle()
    assert "simulated" in demo.window.windowTitle()
    badges = [w.text() for w in demo.dashboard.header.findChildren(type(demo.window.status.mode))
              if w.objectName() == "demoBadge"]
    assert badges and "SIMULATED" in badges[0]


def test_accounts_show_role_balance_currency_and_drift(demo, run):
    model = demo.dashboard.accounts_model
    demo.dashboard.refresh()
    # The demo's accounts span MT5 and cTrader, so each row names its platform.
    rows = {model.index(i, 0).data(): i for i in range(model.rowCount())}
    assert set(rows) == {"master · MT5", "slave-1 · MT5", "slave-2 · cTrader", "slave-3 · MT5"}
    rows = {text.split(" · ")[0]: i for text, i in rows.items()}
    master = rows["master"]
    assert model.index(master, 1).data() == "Master"
    assert model.index(master, 5).data() == "Connected"
    assert model.index(master, 6).data() == "25,000.00" and model.index(master, 8).data() == "USD"
    jpy = rows["slave-3"]  # the netting JPY account: no minor unit
    assert model.index(jpy, 8).data() == "JPY" and "." not in model.index(jpy, 6).data()
    assert model.index(rows["slave-1"], 9).data() == "No copies yet"
    assert model.index(rows["slave-1"], 0).data(Qt.ItemDataRole.DecorationRole) is not None
    assert model.headerData(AccountsModel.COPY, Qt.Orientation.Horizontal) == "Copy"
    assert model.rowCount(QModelIndex()) == 4


def test_table_refresh_chart_frames_and_tracking_view_fall_in_different_loop_passes(demo, run):
    # With timers of their own, Qt nudges them onto shared 50 and 100 ms boundaries; then all
    # three fire in one pass, and their work and repaints add up to one long stall of the loop.
    import asyncio
    import bisect
    import time

    d = demo.dashboard
    fires: dict[str, list[float]] = {"tables": [], "journal": [], "charts": [], "tracking": []}

    def recorded(name, call):
        def record(*args):
            fires[name].append(time.perf_counter())
            return call(*args)
        return record

    d.accounts_model.refresh = recorded("tables", d.accounts_model.refresh)
    d.journal_model.flush = recorded("journal", d.journal_model.flush)
    d.charts.tick = recorded("charts", d.charts.tick)
    d.attribution.tick = recorded("tracking", d.attribution.tick)

    async def script():
        await asyncio.sleep(2.0)

    run(script)
    tables = fires["tables"]
    # Ten times a second each, the charts twenty (their plots take turns), the journal five.
    assert 10 <= len(tables) <= 25 and abs(len(fires["tracking"]) - len(tables)) <= 2
    assert abs(len(fires["charts"]) - 2 * len(tables)) <= 3 and abs(2 * len(fires["journal"]) - len(tables)) <= 3

    def beside(name: str, others: list[float]) -> str:
        apart = []
        for t in fires[name]:
            i = bisect.bisect_left(others, t)
            apart.append(min(abs(t - others[j]) for j in (i - 1, i) if 0 <= j < len(others)))
        near = sum(1 for a in apart if a < 0.01)
        return "" if len(apart) >= 5 and near <= len(apart) // 5 else f"{near} of {len(apart)} {name} ticks"

    assert beside("charts", tables) == beside("tracking", tables) == beside("journal", tables) == ""
    assert beside("journal", fires["tracking"]) == ""


def test_the_latency_charts_are_built_when_their_tab_is_first_shown(demo, run):
    # They start behind the tracking-difference tab; building them was a third of the dashboard's
    # construction, all of it on the copier's loop.
    import pyqtgraph as pg

    d = demo.dashboard
    assert d.drift_tabs.currentWidget() is d.attribution
    assert not d.charts.built and d.charts.findChildren(pg.PlotWidget) == []

    async def script():
        demo.trade("EURUSD", 1.0)
        await until(lambda: all(d.charts.series_count(s) >= 1 for s in ("slave-1", "slave-2", "slave-3")))

    run(script)
    assert not d.charts.built
    d.drift_tabs.setCurrentWidget(d.charts)
    assert d.charts.built and len(d.charts.findChildren(pg.PlotWidget)) == 2


def test_a_rebuilt_dashboard_keeps_the_latency_history(demo, run):
    # Linking or removing a slave rebuilds the dashboard: its charts start from the copies the
    # copier already measured, not empty.
    from copier_gui.ui.dashboard import Dashboard

    d = demo.dashboard

    async def script():
        demo.trade("EURUSD", 0.5)
        await until(lambda: d.charts.series_count("slave-1") >= 1 and d.charts.series_count("slave-2") >= 1)

    run(script)
    rebuilt = Dashboard(demo.session, clock=demo.session.copier.clock.time)
    try:
        assert rebuilt.charts.series_count("slave-1") == d.charts.series_count("slave-1")
        assert rebuilt.charts.series_count("slave-2") >= 1
    finally:
        rebuilt.charts.timer.stop()
        dispose(rebuilt)
