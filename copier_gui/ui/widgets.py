"""Small widgets the window is built from: cards, header tiles, a switch cell, quiet item views.

They carry the look and a little behaviour, nothing about copying itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLayout,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from copier_gui.ui import palette


def repolish(widget: QWidget) -> None:
    """Re-apply the style sheet after a dynamic property the sheet selects on has changed."""
    widget.style().unpolish(widget)
    widget.style().polish(widget)
    widget.update()


class Card(QFrame):
    """A titled panel: a title, an optional hint, optional tools on the right, then the content."""

    def __init__(self, title: str, content: QWidget, *, hint: str = "", tools: list[QWidget] | None = None,
                 parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.title = QLabel(title, self)
        self.title.setObjectName("cardTitle")
        self.hint = QLabel(hint, self)
        self.hint.setObjectName("cardHint")
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.setSpacing(8)
        top.addWidget(self.title)
        top.addWidget(self.hint)
        top.addStretch(1)
        for tool in tools or []:
            top.addWidget(tool)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(8)
        layout.addLayout(top)
        layout.addWidget(content, 1)


class Tile(QFrame):
    """A figure in the header: a big value over a small label."""

    def __init__(self, label: str, tooltip: str = "", parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("tile")
        self.value = QLabel("—", self)
        self.value.setObjectName("tileValue")
        caption = QLabel(label.upper(), self)
        caption.setObjectName("tileLabel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 2, 16, 2)
        layout.setSpacing(0)
        layout.addWidget(self.value)
        layout.addWidget(caption)
        self.setToolTip(tooltip)

    def set(self, text: str) -> None:
        if self.value.text() != text:
            self.value.setText(text)


class SwitchDelegate(QStyledItemDelegate):
    """Draws a checkable cell as an on/off switch and toggles it on click or Space."""

    SIZE = QSize(34, 18)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        state = index.data(Qt.ItemDataRole.CheckStateRole)
        if state is None:
            super().paint(painter, option, index)
            return
        on = Qt.CheckState(state) == Qt.CheckState.Checked
        theme = palette.current()
        # The row's background and selection first, without the stock check box.
        plain = QStyleOptionViewItem(option)
        self.initStyleOption(plain, index)
        plain.features &= ~QStyleOptionViewItem.ViewItemFeature.HasCheckIndicator
        plain.text = ""
        option.widget.style().drawControl(option.widget.style().ControlElement.CE_ItemViewItem, plain, painter,
                                          option.widget)
        rect = self._switch_rect(option.rect)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(theme.ok if on else theme.border))
        radius = rect.height() / 2
        painter.drawRoundedRect(QRectF(rect), radius, radius)
        knob = rect.height() - 4
        x = rect.right() - knob - 2 + 1 if on else rect.left() + 2
        painter.setBrush(QColor("#ffffff"))
        painter.drawEllipse(QRectF(x, rect.top() + 2, knob, knob))
        painter.restore()

    def _switch_rect(self, cell: QRect) -> QRect:
        size = self.SIZE
        return QRect(cell.center().x() - size.width() // 2, cell.center().y() - size.height() // 2 + 1,
                     size.width(), size.height())

    def sizeHint(self, option, index) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(max(hint.width(), self.SIZE.width() + 16), max(hint.height(), self.SIZE.height() + 8))

    def editorEvent(self, event, model, option, index) -> bool:
        if index.data(Qt.ItemDataRole.CheckStateRole) is None or \
                not index.flags() & Qt.ItemFlag.ItemIsUserCheckable:
            return False
        kind = event.type()
        if kind == QEvent.Type.MouseButtonRelease:
            if event.button() != Qt.MouseButton.LeftButton or not option.rect.contains(event.position().toPoint()):
                return False
        elif kind == QEvent.Type.MouseButtonDblClick:
            return True  # swallow, so a double click is two toggles, not an edit
        elif kind == QEvent.Type.KeyPress:
            if event.key() not in (Qt.Key.Key_Space, Qt.Key.Key_Select):
                return False
        else:
            return False
        on = Qt.CheckState(index.data(Qt.ItemDataRole.CheckStateRole)) == Qt.CheckState.Checked
        return model.setData(index, Qt.CheckState.Unchecked if on else Qt.CheckState.Checked,
                             Qt.ItemDataRole.CheckStateRole)


def caption(parent: QWidget, title: str, hint: str) -> QWidget:
    """A chart's title with a dimmer hint beside it, as cards have."""
    box = QWidget(parent)
    row = QHBoxLayout(box)
    row.setContentsMargins(2, 4, 0, 0)
    label = QLabel(title, box)
    label.setObjectName("cardTitle")
    tip = QLabel(hint, box)
    tip.setObjectName("cardHint")
    row.addWidget(label)
    row.addWidget(tip)
    row.addStretch(1)
    return box


def save_dialog(parent: QWidget, title: str, stem: str, suffix: str, now: float,
                save: Callable[[Path], object]) -> QFileDialog:
    """A non-modal "save as" in the home folder, named ``stem-YYYY-MM-DD-HHMM.suffix`` (UTC); the
    chosen path goes to ``save``. Non-modal, so the copier's window keeps drawing meanwhile."""
    stamp = dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%d-%H%M")
    dialog = QFileDialog(parent, title, str(Path.home() / f"{stem}-{stamp}.{suffix}"),
                         f"{suffix.upper()} files (*.{suffix})")
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setDefaultSuffix(suffix)
    dialog.fileSelected.connect(lambda path: save(Path(path)))
    dialog.finished.connect(lambda _r: dialog.deleteLater())
    dialog.open()
    return dialog


def quiet_view(view: QAbstractItemView) -> None:
    """The shared look of the window's tables and trees: no grid, row selection, no editing."""
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    view.setFrameShape(QFrame.Shape.NoFrame)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)
    if isinstance(view, QTableView):
        view.setShowGrid(False)
        view.verticalHeader().hide()
        view.verticalHeader().setDefaultSectionSize(26)
        view.setWordWrap(False)
        view.setCornerButtonEnabled(False)
    header = view.horizontalHeader() if isinstance(view, QTableView) else view.header()
    header.setHighlightSections(False)
    header.setSectionsClickable(False)
    header.setStretchLastSection(True)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setMinimumSectionSize(40)


def set_widths(header: QHeaderView, widths: dict[int, int]) -> None:
    """Column widths, never narrower than the column's own title (a clipped unit misleads)."""
    for section, width in widths.items():
        header.resizeSection(section, max(width, header.sectionSizeHint(section)))


class RowHeightDelegate(QStyledItemDelegate):
    """Gives a tree the same row height as the tables; a tree's default rows are cramped."""

    def __init__(self, height: int, parent=None) -> None:
        super().__init__(parent)
        self._height = height

    def sizeHint(self, option, index) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(hint.width(), max(hint.height(), self._height))


class _Placeholder:
    """Paints a line of text in an empty view, so an empty panel says why it is empty."""

    placeholder = ""

    def _paint_placeholder(self, view: QAbstractItemView) -> None:
        model = view.model()
        if not self.placeholder or model is None or model.rowCount() > 0:
            return
        painter = QPainter(view.viewport())
        painter.setPen(palette.current().color("text_dim"))
        painter.drawText(view.viewport().rect().adjusted(16, 16, -16, -16), Qt.AlignmentFlag.AlignCenter
                         | Qt.TextFlag.TextWordWrap, self.placeholder)
        painter.end()


class PlaceholderTree(QTreeView, _Placeholder):
    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        self._paint_placeholder(self)


class PlaceholderTable(QTableView, _Placeholder):
    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        self._paint_placeholder(self)


class FlowLayout(QLayout):
    """Lays widgets out left to right and wraps them onto new lines, like words in a paragraph."""

    def __init__(self, parent=None, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, i: int):
        return self._items[i] if 0 <= i < len(self._items) else None

    def takeAt(self, i: int):
        return self._items.pop(i) if 0 <= i < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, apply=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        return size

    def _arrange(self, rect: QRect, *, apply: bool) -> int:
        x, y, line = rect.x(), rect.y(), 0
        for item in self._items:
            hint = item.sizeHint()
            if x + hint.width() > rect.right() + 1 and line > 0:
                x, y, line = rect.x(), y + line + self._spacing, 0
            if apply:
                item.setGeometry(QRect(x, y, hint.width(), hint.height()))
            x += hint.width() + self._spacing
            line = max(line, hint.height())
        return y + line - rect.y()
