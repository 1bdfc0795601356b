"""The dashboard's room-left card: one row per slave with a prop-firm profile, hidden when none has.

The Used column is a bar in the level's colour with the percentage on it, so "how close" reads at a
glance; the figures beside it say how much in money and time.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QHeaderView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from copier_gui.ui import palette
from copier_gui.ui.models.room_left import USED_ROLE, RoomLeftModel
from copier_gui.ui.widgets import Card, PlaceholderTable, quiet_view, set_widths

ROW_HEIGHT = 26
WIDTHS = {0: 110, 1: 110, 2: 92, 3: 112, 4: 110, 5: 56, 6: 80}


class UsedBarDelegate(QStyledItemDelegate):
    """A thin bar filled to the share used, in the level's colour, under the percentage."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        value = index.data(USED_ROLE)
        if not value:
            super().paint(painter, option, index)
            return
        used, level = value
        theme = palette.current()
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text = opt.text
        opt.text = ""
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        cell: QRect = option.rect.adjusted(6, 0, -6, 0)
        track = QRectF(cell.left(), cell.bottom() - 7, cell.width(), 4)
        colour = theme.color({"warn": "warn", "bad": "bad", "idle": "idle"}.get(level, "ok"))
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.color("border"))
        painter.drawRoundedRect(track, 2, 2)
        if used > 0:
            painter.setBrush(colour)
            painter.drawRoundedRect(QRectF(track.left(), track.top(), max(track.width() * used, 3), 4), 2, 2)
        painter.setPen(colour if level in ("warn", "bad") else theme.color("text"))
        painter.drawText(cell.adjusted(0, 0, 0, -6), int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                         text)
        painter.restore()

    def sizeHint(self, option, index) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(hint.width(), max(hint.height(), ROW_HEIGHT))


class RoomLeftCard(Card):
    """The card, its model and table; ``refresh(rows)`` shows it while any slave has a profile."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self.model = RoomLeftModel()
        self.view = PlaceholderTable()
        self.view.placeholder = "No slave has a prop-firm profile."
        self.view.setModel(self.model)
        quiet_view(self.view)
        self.view.setSelectionMode(self.view.SelectionMode.NoSelection)
        self.view.setItemDelegateForColumn(RoomLeftModel.USED, UsedBarDelegate(self.view))
        super().__init__("Room left", self.view, hint="prop-firm limits per slave · warning from 80% used",
                         parent=parent)
        self.model.setParent(self)
        header = self.view.horizontalHeader()
        set_widths(header, WIDTHS)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.setVisible(False)

    def wanted_height(self, rows: int | None = None) -> int:
        """Title, header and ``rows`` rows (all of them, up to six)."""
        rows = self.model.rowCount() if rows is None else rows
        return 76 + ROW_HEIGHT * max(1, min(6, rows))

    def refresh(self, rows) -> bool:
        """New rows; returns True when the card has just appeared (the caller gives it room)."""
        self.model.set_rows(rows)
        shown = bool(rows)
        appeared = shown and self.isHidden()
        if shown == self.isHidden():
            self.setVisible(shown)
        return appeared
