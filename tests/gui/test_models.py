"""The item models on their own, fed synthetic view rows: diffs, rings, filters and model checks.

The rows are the frozen values ``core.view`` produces, so every structural case is exact.
"""

from __future__ import annotations

import sys
from dataclasses import replace

from PySide6.QtCore import QModelIndex, Qt

from copier_gui.core.executor import Notice
from copier_gui.core.view import AccountRow, MasterPositionRow, SlaveCopyRow
from copier_gui.ui.models import (
    AccountsModel,
    JournalFilter,
    JournalModel,
    PositionsModel,
    SummaryModel,
)
from copier_gui.ui.models.base import ranges
from copier_gui.ui.models.summary import SummaryRow


def account(id_: str, *, role: str = "slave", equity: float = 10_000.0, copy: bool = True,
            state: str = "connected", drift: str = "ok") -> AccountRow:
    return AccountRow(id_, role, "Harbor FX Europe AG", "HarborFX-Live2", 7_000_001, state, "", "EUR",
                      10_000.0, equity, copy, drift)


def copy_row(slave: str, *, volume: float = 0.5, state: str = "mirrored", reason: str = "") -> SlaveCopyRow:
    return SlaveCopyRow(slave, "EURUSD.m", volume, 1.08404 if volume else 0.0, 2.0, 5.3, state, reason, 5)


def position(ticket: int, *, volume: float = 0.5, slaves=("slave-1", "slave-2"), **copy_kw) -> MasterPositionRow:
    return MasterPositionRow(ticket, "EURUSD", "buy", volume, 1.08398, 1.07995, 1.08998, 5,
                             tuple(copy_row(s, volume=volume, **copy_kw) for s in slaves))


class Signals:
    def __init__(self, model) -> None:
        self.log: list[tuple] = []
        model.rowsInserted.connect(lambda p, a, b: self.log.append(("insert", self._key(p), a, b)))
        model.rowsRemoved.connect(lambda p, a, b: self.log.append(("remove", self._key(p), a, b)))
        model.dataChanged.connect(lambda a, b, *_: self.log.append(("changed", self._key(a.parent()),
                                                                      a.row(), b.row())))
        model.modelReset.connect(lambda: self.log.append(("reset",)))

    @staticmethod
    def _key(parent: QModelIndex):
        return parent.row() if parent.isValid() else None


def test_ranges_group_contiguous_rows():
    assert ranges([]) == []
    assert ranges([1, 2, 3, 7, 9, 10]) == [(1, 3), (7, 7), (9, 10)]


def test_accounts_model_signals_changed_rows_only(model_check):
    model = AccountsModel()
    model_check(model)
    signals = Signals(model)
    rows = [account("master", role="master"), account("slave-1"), account("slave-2"), account("slave-3")]
    model.set_rows(rows)
    assert signals.log == [("insert", None, 0, 3)]
    signals.log.clear()

    model.set_rows(rows)
    assert signals.log == []

    rows[1] = account("slave-1", equity=9_990.0)
    rows[2] = account("slave-2", equity=9_990.0)
    model.set_rows(rows)
    assert signals.log == [("changed", None, 1, 2)]
    signals.log.clear()

    model.set_rows([rows[0], rows[2], account("slave-4")])
    assert signals.log == [("remove", None, 3, 3), ("remove", None, 1, 1), ("insert", None, 2, 2)]
    assert [model.index(i, 0).data() for i in range(3)] == ["master", "slave-2", "slave-4"]



def test_a_refresh_signals_only_the_cells_that_show_something_new(model_check):
    # A table repaints what dataChanged covers: whole rows repainted every copy switch, dot and
    # balance of an account whose equity alone moved.
    model = AccountsModel()
    model_check(model)
    rows = [account("master", role="master"), account("slave-1"), account("slave-2")]
    model.set_rows(rows)
    cells: list[tuple[int, int, int, int]] = []
    model.dataChanged.connect(lambda a, b, *_: cells.append((a.row(), b.row(), a.column(), b.column())))
    equity = model.columns.index(next(c for c in model.columns if c.title == "Equity"))

    model.set_rows([rows[0], account("slave-1", equity=9_990.0), account("slave-2", equity=9_990.0)])
    assert cells == [(1, 2, equity, equity)]
    cells.clear()
    model.set_rows([rows[0], account("slave-1", equity=9_990.001), account("slave-2", equity=9_990.0)])
    assert cells == []  # shown to the cent: nothing new to paint, though the row changed
    assert model.row_at(1).equity == 9_990.001  # and the model holds the new row
    model.set_rows([rows[0], account("slave-1", equity=9_990.001, copy=False), account("slave-2", equity=9_990.0)])
    assert cells == [(1, 1, AccountsModel.COPY, AccountsModel.COPY)]

    tree = PositionsModel()
    model_check(tree)
    tree.set_rows([position(1)])
    tree_cells: list[tuple] = []
    tree.dataChanged.connect(lambda a, b, *_: tree_cells.append((a.parent().row(), a.row(), b.row(), a.column(),
                                                                 b.column())))
    before = position(1)
    slower = replace(before.copies[1], latency_ms=9.8)
    tree.set_rows([replace(before, copies=(before.copies[0], slower))])
    assert tree_cells == [(0, 1, 1, 8, 8)]  # slave-2's latency only; its master's row shows nothing new


def test_accounts_model_reorder_falls_back_to_a_reset(model_check):
    model = AccountsModel()
    model_check(model)
    model.set_rows([account("a"), account("b")])
    signals = Signals(model)
    model.set_rows([account("b"), account("a")])
    assert signals.log == [("reset",)]


def test_copy_switch_cell_is_checkable_for_slaves_and_calls_back(model_check):
    calls = []
    rows = [account("master", role="master"), account("slave-1")]
    model = AccountsModel(lambda: rows, lambda slave, on: calls.append((slave, on)))
    model_check(model)
    model.refresh()
    slave = model.index(1, AccountsModel.COPY)
    assert slave.flags() & Qt.ItemFlag.ItemIsUserCheckable
    assert slave.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert model.setData(slave, Qt.CheckState.Unchecked, Qt.ItemDataRole.CheckStateRole)
    assert calls == [("slave-1", False)]
    master = model.index(0, AccountsModel.COPY)
    assert not model.setData(master, Qt.CheckState.Unchecked, Qt.ItemDataRole.CheckStateRole)
    assert not model.setData(slave, "text", Qt.ItemDataRole.EditRole)


def test_positions_tree_follows_open_partial_close_and_close(model_check):
    model = PositionsModel()
    model_check(model)
    signals = Signals(model)

    model.set_rows([position(101)])
    assert signals.log == [("insert", None, 0, 0)]
    assert model.rowCount(model.index(0, 0)) == 2
    signals.log.clear()

    model.set_rows([position(101), position(102, state="pending", volume=0.0)])
    assert signals.log == [("insert", None, 1, 1)]
    signals.log.clear()

    # The pending copies fill: the children change, and the master row's status with them.
    model.set_rows([position(101), position(102, volume=0.3)])
    assert ("changed", 1, 0, 1) in signals.log and ("changed", None, 1, 1) in signals.log
    assert not [e for e in signals.log if e[0] in ("insert", "remove", "reset")]
    signals.log.clear()

    model.set_rows([position(101, volume=0.2), position(102, volume=0.3)])  # a partial close
    assert model.index(0, 3).data() == "0.2"
    signals.log.clear()

    model.set_rows([position(102, volume=0.3)])  # 101 closes: the row above 102 goes
    assert signals.log == [("remove", None, 0, 0)]
    child = model.index(0, 0, model.index(0, 0))
    assert child.data() == "slave-1" and child.parent().row() == 0

    model.set_rows([position(102, volume=0.3, slaves=("slave-1", "slave-2", "slave-3"))])
    assert model.rowCount(model.index(0, 0)) == 3
    model.set_rows([])
    assert model.rowCount() == 0


def test_positions_tree_cells_say_what_each_slave_holds():
    model = PositionsModel()
    model.set_rows([MasterPositionRow(7, "USDJPY", "sell", 1.0, 151.234, 0.0, 150.5, 3, (
        SlaveCopyRow("slave-1", "USDJPY.m", 1.0, 151.2301, 3.9, 12.25, "mirrored", "", 3, slippage=0.39,
                     slippage_unit="pip", slippage_money=2.58, currency="USD"),
        SlaveCopyRow("slave-2", "USDJPY-ECN", 0.0, 0.0, None, None, "skipped",
                     "volume 0.004 is below the minimum 0.01", None),
    ))])
    master = model.index(0, 0)
    assert [model.index(0, c).data() for c in range(7)] == ["#7", "USDJPY", "Sell", "1", "151.234", "—", "150.500"]
    assert model.index(0, 9).data() == "1/2 mirrored · 1 skipped"
    # Slippage in a unit that compares across symbols (pips here), its points and money on hover.
    assert [model.index(0, c, master).data() for c in (1, 3, 4, 7, 8)] == ["USDJPY.m", "1", "151.230", "+0.4 pip",
                                                                         "12.2"]
    assert model.index(0, 7, master).data(Qt.ItemDataRole.ToolTipRole) == "+3.9 points · +2.58 USD"
    assert model.headerData(7, Qt.Orientation.Horizontal) == "Slippage"
    skipped = model.index(1, 9, master)
    assert skipped.data() == "Skipped: volume 0.004 is below the minimum 0.01"
    assert "below the minimum" in skipped.data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(1, 4, master).data() == "—"


def test_journal_ring_is_bounded_newest_first_and_filterable(model_check):
    model = JournalModel(capacity=5)
    proxy = JournalFilter()
    proxy.setSourceModel(model)
    model_check(model)
    model_check(proxy)
    for i in range(4):
        model.add(Notice("copy", f"slave-{i % 2 + 1}", f"copy {i}", 100 + i), wall=1_700_000_000.0 + i)
    assert model.flush() == 4
    assert [model.row_at(i).text for i in range(4)] == ["copy 3", "copy 2", "copy 1", "copy 0"]
    for i in range(4, 8):
        model.add(Notice("refusal" if i == 7 else "copy", "slave-1", f"copy {i}", 100 + i), wall=1_700_000_000.0 + i)
    model.flush()
    assert model.rowCount() == 5
    assert [r.text for r in model.rows()] == ["copy 7", "copy 6", "copy 5", "copy 4", "copy 3"]
    assert model.flush() == 0

    proxy.set_kinds({"refusal"})
    assert proxy.rowCount() == 1 and proxy.index(0, 1).data() == "Refused"
    proxy.set_kinds(())
    proxy.set_account("slave-2")
    assert [proxy.index(i, 4).data() for i in range(proxy.rowCount())] == ["copy 3"]
    proxy.set_account("")
    proxy.set_text("107")
    assert proxy.rowCount() == 1


def test_journal_flush_of_more_than_the_ring_keeps_the_newest(model_check):
    model = JournalModel(capacity=3)
    model_check(model)
    model.add(Notice("copy", "a", "old"), 1.0)
    model.flush()
    for i in range(10):
        model.add(Notice("copy", "a", f"n{i}"), 2.0 + i)
    model.flush()
    assert [r.text for r in model.rows()] == ["n9", "n8", "n7"]


def test_summary_model_formats_latency_and_slippage(model_check):
    model = SummaryModel()
    model_check(model)
    model.set_rows([SummaryRow("slave-1", "Harbor", 12, 1, 0, 5.25, 9.5, 14.0, 2.5, -3.0, 12.5, "EUR"),
                    SummaryRow("slave-2", "Summit", 0, 0, 0, None, None, None, None, None, None, "JPY"),
                    SummaryRow("slave-3", "Apex", 3, 0, 0, 5.0, 6.0, 7.0, -0.4, -0.9, -1234.0, "JPY")])
    # Slippage in basis points of price (its largest in the tooltip) and what it cost, in the
    # slave's currency: comparable across symbols, unlike points.
    assert [model.index(0, c).data() for c in range(9)] == ["slave-1", "12", "1", "0", "5.2", "9.5", "14.0",
                                                            "+2.5", "+12.50 EUR"]
    assert model.index(0, 7).data(Qt.ItemDataRole.ToolTipRole) == "largest: -3.0 bp"
    assert model.index(2, 8).data() == "-1,234 JPY"
    assert model.index(1, 4).data() == "—" and model.index(1, 8).data() == "—"
    assert model.index(0, 4).data(Qt.ItemDataRole.TextAlignmentRole) & Qt.AlignmentFlag.AlignRight


def test_model_data_for_unhandled_roles_keeps_nones_refcount():
    # The PySide6 6.12 / Python 3.11 bug (see test_pyside_refcount.py), on this project's models.
    model = PositionsModel()
    model.set_rows([position(1)])
    indexes = [model.index(0, 5), model.index(0, 7, model.index(0, 0))]
    before = sys.getrefcount(None)
    for _ in range(5000):
        for index in indexes:
            index.data(Qt.ItemDataRole.UserRole + 3)
    assert sys.getrefcount(None) >= before


def test_accounts_name_their_platform_when_the_copier_spans_two(model_check):
    rows = [replace(account("master", role="master"), platform="mt5"),
            replace(account("slave-1"), platform="ctrader"), account("slave-2")]
    model = AccountsModel(lambda: rows)
    model.refresh()
    texts = [model.data(model.index(i, 0)) for i in range(3)]
    assert texts == ["master · MT5", "slave-1 · cTrader", "slave-2"]
    assert "cTrader" in model.data(model.index(1, 0), Qt.ItemDataRole.ToolTipRole)


def test_volumes_in_units_say_so_and_lots_stay_bare(model_check):
    ct = replace(copy_row("slave-2", volume=50_000.0), symbol="EUR/USD", units=True)
    row = replace(position(7, volume=0.5, slaves=("slave-1",)), copies=(copy_row("slave-1", volume=0.5), ct))
    model = PositionsModel(lambda: [row])
    model_check(model)
    model.refresh()
    head = model.index(0, 0)
    assert model.index(0, 3).data() == "0.5"
    assert model.index(0, 3, head).data() == "0.5"
    assert model.index(1, 3, head).data() == "50,000 u"
    assert model.index(1, 3, head).data(Qt.ItemDataRole.ToolTipRole) == "50,000 units of EUR/USD"
