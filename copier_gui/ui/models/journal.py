"""The journal view's model: the copier's notices, newest first, in a bounded ring.

Notices queue as they happen and are inserted in one block per flush; a proxy filters them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt

from copier_gui.core.executor import Notice
from copier_gui.ui import format as fmt
from copier_gui.ui import palette
from copier_gui.ui.models.base import Column, Index, RowsTableModel

KIND_LABEL = {"copy": "Copy", "refusal": "Refused", "failure": "Failed", "state": "State",
              "master": "Master", "info": "Info"}
_KIND_COLOUR = {"copy": "ok", "refusal": "warn", "failure": "bad", "state": "text_dim", "master": "accent",
                "info": "text_dim"}
# Kinds a trader filters on together: everything that did not go as the master intended.
PROBLEMS = frozenset({"refusal", "failure"})


@dataclass(frozen=True, slots=True)
class JournalRow:
    seq: int
    wall: float
    kind: str
    account: str
    ticket: int
    text: str


class JournalModel(RowsTableModel):
    columns = (
        Column("Time", lambda r: fmt.clock_time(r.wall)),
        Column("Kind", lambda r: KIND_LABEL.get(r.kind, r.kind.capitalize()),
               foreground=lambda r: palette.current().color(_KIND_COLOUR.get(r.kind, "text"))),
        Column("Account", lambda r: r.account),
        Column("Master #", lambda r: str(r.ticket) if r.ticket else "", Qt.AlignmentFlag.AlignRight
               | Qt.AlignmentFlag.AlignVCenter),
        Column("Message", lambda r: r.text, tooltip=lambda r: r.text),
    )
    KIND, ACCOUNT, MESSAGE = 1, 2, 4

    def __init__(self, capacity: int = 5000, parent=None) -> None:
        super().__init__(None, parent)
        if capacity < 1:
            raise ValueError("the journal view needs room for at least one entry")
        self.capacity = capacity
        self._rows: deque[JournalRow] = deque()  # newest first
        self._queue: deque[JournalRow] = deque(maxlen=capacity)
        self._seq = 0

    def key(self, row: JournalRow) -> int:
        return row.seq

    def add(self, notice: Notice, wall: float) -> None:
        """Queue one notice; cheap, because it runs inside the copier's notify call."""
        self._seq += 1
        self._queue.append(JournalRow(self._seq, wall, notice.kind, notice.account, notice.master_ticket,
                                      notice.text))

    def flush(self) -> int:
        """Show the queued notices at the top; returns how many were added."""
        if not self._queue:
            return 0
        fresh = list(self._queue)
        self._queue.clear()
        overflow = len(self._rows) + len(fresh) - self.capacity
        if overflow > 0:
            drop = min(overflow, len(self._rows))
            if drop:
                first = len(self._rows) - drop
                self.beginRemoveRows(QModelIndex(), first, len(self._rows) - 1)
                for _ in range(drop):
                    self._rows.pop()
                self.endRemoveRows()
        self.beginInsertRows(QModelIndex(), 0, len(fresh) - 1)
        self._rows.extendleft(fresh)  # extendleft reverses, so the newest ends up first
        self.endInsertRows()
        return len(fresh)

    def set_rows(self, new) -> None:  # the ring is fed by add/flush, never replaced
        raise NotImplementedError("JournalModel is fed by add() and flush()")


class JournalFilter(QSortFilterProxyModel):
    """Rows for one account (or all), one kind or the problems (or all), containing some text."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._account = ""
        self._kinds: frozenset[str] = frozenset()
        self._text = ""

    def set_account(self, account: str) -> None:
        self._refilter("_account", account)

    def set_kinds(self, kinds: frozenset[str] | set[str] | tuple[str, ...]) -> None:
        self._refilter("_kinds", frozenset(kinds))

    def set_text(self, text: str) -> None:
        self._refilter("_text", text.strip().lower())

    def _refilter(self, attribute: str, value) -> None:
        if getattr(self, attribute) == value:
            return
        # Qt 6.9 added begin/endFilterChange and later deprecates invalidateFilter; the Windows
        # smoke build pins 6.9, so both paths stay.
        # 6.9 has beginFilterChange but not endFilterChange, so test for the one that is called last.
        if hasattr(self, "endFilterChange"):
            self.beginFilterChange()
            setattr(self, attribute, value)
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            setattr(self, attribute, value)
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        if not isinstance(model, JournalModel) or source_row >= model.rowCount():
            return True
        row = model.row_at(source_row)
        if self._account and row.account != self._account:
            return False
        if self._kinds and row.kind not in self._kinds:
            return False
        return not self._text or self._text in row.text.lower() or self._text in str(row.ticket)
