"""Tables that fit their panel: on a narrow screen the least needed columns step aside, so what a
trader acts on (the copy switch, the mode, the status) is in view without scrolling sideways.

A 1366x768 laptop gives the accounts table about 700 pixels for 1,150 pixels of columns; scrolling
sideways hid the copy switches. Columns marked optional are hidden, in the order given, until the
rest fit, and come back as the panel widens. Right-clicking the header lists every column to show
or hide by hand; a column the trader chose stays as chosen.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTableView, QTreeView


class FittedColumns(QObject):
    """Hides ``optional`` columns of ``view`` (first listed, first hidden) while its columns'
    ``widths`` (preferred, in pixels; a column not listed takes its size hint) do not fit."""

    def __init__(self, view: QAbstractItemView, widths: dict[int, int], optional: list[int]) -> None:
        super().__init__(view)
        self.view = view
        self.widths = widths
        self.optional = optional
        self.chosen: dict[int, bool] = {}  # column -> shown, as the trader set it from the header's menu
        self.header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.header.customContextMenuRequested.connect(self._header_menu)
        # The viewport is what the columns share; it is resized with the view (and when a scroll bar
        # comes or goes), and the view is shown once.
        view.viewport().installEventFilter(self)
        view.installEventFilter(self)
        self.fit()

    @property
    def header(self) -> QHeaderView:
        if isinstance(self.view, QTableView):
            return self.view.horizontalHeader()
        if isinstance(self.view, QTreeView):
            return self.view.header()
        raise TypeError(f"{type(self.view).__name__} has no column header")

    def width(self, column: int) -> int:
        return self.widths.get(column, self.header.sectionSizeHint(column))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            self.fit()
        return False

    def fit(self) -> list[int]:
        """Show or hide the optional columns for the view's width now; returns those hidden."""
        model = self.view.model()
        if model is None:
            return []
        columns = range(model.columnCount())
        shown = {c for c in columns if self.chosen.get(c, True)}
        room = self.view.viewport().width()
        total = sum(self.width(c) for c in shown)
        hidden = []
        for column in self.optional:
            if total <= room:
                break
            if column in shown and column not in self.chosen:
                shown.discard(column)
                hidden.append(column)
                total -= self.width(column)
        for column in columns:
            if self.header.isSectionHidden(column) == (column in shown):
                self.header.setSectionHidden(column, column not in shown)
        return hidden

    def set_shown(self, column: int, shown: bool) -> None:
        self.chosen[column] = shown
        self.fit()

    def menu(self) -> QMenu:
        """Every column, ticked when shown; unticking one hides it whatever the width."""
        model = self.view.model()
        menu = QMenu(self.view)
        for column in range(model.columnCount()):
            title = model.headerData(column, Qt.Orientation.Horizontal) or f"Column {column + 1}"
            action = menu.addAction(str(title))
            action.setCheckable(True)
            action.setChecked(not self.header.isSectionHidden(column))
            action.toggled.connect(lambda on, c=column: self.set_shown(c, on))
        menu.addSeparator()
        menu.addAction("Fit to the panel", self.forget_choices)
        return menu

    def forget_choices(self) -> None:
        self.chosen.clear()
        self.fit()

    def _header_menu(self, pos: QPoint) -> None:
        self.menu().popup(self.header.mapToGlobal(pos))
