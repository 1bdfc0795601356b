"""Qt item models: thin adapters that turn the core's view rows into rows, cells and signals.

Each is refreshed from a plain list of rows by a keyed diff: inserts, removes, changed rows only.
"""

from copier_gui.ui.models.accounts import AccountsModel
from copier_gui.ui.models.journal import JournalFilter, JournalModel
from copier_gui.ui.models.positions import PositionsModel
from copier_gui.ui.models.summary import SummaryModel, summary_rows

__all__ = ["AccountsModel", "JournalFilter", "JournalModel", "PositionsModel", "SummaryModel", "summary_rows"]
