"""Guards against the PySide6 6.12.0 / Python 3.11 bug that decrements None's refcount.

Each Python override that returns None (here a table model's ``data()`` for a role it does not
handle) lost one reference to None, until the process aborted with ``none_dealloc``. Python 3.12+
has an immortal None, so only 3.11 needs the version cap in pyproject.toml.
"""

from __future__ import annotations

import sys

import PySide6
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

CALLS = 10_000
UNHANDLED_ROLE = Qt.ItemDataRole.UserRole + 7

_Index = QModelIndex | QPersistentModelIndex


class _OneCellModel(QAbstractTableModel):
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else 1

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 1

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole:
            return "cell"
        return None


def test_model_data_returning_none_keeps_nones_refcount(qapp):
    model = _OneCellModel()
    index = model.index(0, 0)
    assert index.data(Qt.ItemDataRole.DisplayRole) == "cell"
    index.data(UNHANDLED_ROLE)  # warm up any first-call caches

    before = sys.getrefcount(None)
    for _ in range(CALLS):
        assert index.data(UNHANDLED_ROLE) is None
    after = sys.getrefcount(None)

    assert after >= before, (
        f"None lost {before - after} references over {CALLS} data() calls "
        f"(PySide6 {PySide6.__version__}, Python {sys.version.split()[0]})"
    )


def _release(version: str) -> tuple[int, ...]:
    """'6.11.3' -> (6, 11, 3); stops at the first part that is not a plain number."""
    parts = []
    for part in version.split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


def test_installed_pyside6_respects_the_pin():
    version = _release(PySide6.__version__)
    assert version >= (6, 9), PySide6.__version__
    if sys.version_info < (3, 12):
        assert version < (6, 12), (
            f"PySide6 {PySide6.__version__} on Python 3.11 corrupts None's refcount; "
            "pyproject.toml caps it below 6.12"
        )
