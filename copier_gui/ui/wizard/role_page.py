"""Page 5 of the wizard: master or slave, the account's id and label, and a slave's first rules
(sizing and the symbol map; the rest of the rules are edited later, in the rules editor)."""

from __future__ import annotations

from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWizardPage,
)

from copier_gui import account_setup
from copier_gui.core.rules import SizingMode
from copier_gui.ui.wizard.common import ID_PATTERN, WizardHost, error_label, show_error
from copier_gui.ui.wizard.draft import SIZING_LABELS
from copier_gui.ui.wizard.symbol_preview import SymbolPreview


class RolePage(QWizardPage):
    def __init__(self, wizard: WizardHost) -> None:
        super().__init__()
        self._wizard = wizard
        self._suggested_id = ""
        self.setTitle("Role and copy rules")
        self.setSubTitle("The master is copied from; each slave copies it under its own rules.")
        layout = QVBoxLayout(self)

        roles = QHBoxLayout()
        self.master = QRadioButton("Master: its trades are copied")
        self.master.setObjectName("role_master")
        self.slave = QRadioButton("Slave: copies the master")
        self.slave.setObjectName("role_slave")
        self.role_group = QButtonGroup(self)
        self.role_group.addButton(self.master)
        self.role_group.addButton(self.slave)
        roles.addWidget(self.master)
        roles.addWidget(self.slave)
        roles.addStretch(1)
        layout.addLayout(roles)

        form = QFormLayout()
        self.account_id = QLineEdit()
        self.account_id.setObjectName("account_id")
        self.account_id.setValidator(QRegularExpressionValidator(ID_PATTERN, self.account_id))
        self.label = QLineEdit()
        self.label.setObjectName("label")
        form.addRow("Account id:", self.account_id)
        form.addRow("Label:", self.label)
        layout.addLayout(form)

        self.rules_box = QGroupBox("Copy rules")
        rules = QVBoxLayout(self.rules_box)
        sizing = QFormLayout()
        self.sizing_mode = QComboBox()
        self.sizing_mode.setObjectName("sizing_mode")
        for mode, text in SIZING_LABELS.items():
            self.sizing_mode.addItem(text, mode)
        self.multiplier = QDoubleSpinBox()
        self.multiplier.setObjectName("multiplier")
        self.multiplier.setRange(0.01, 1000.0)
        self.multiplier.setDecimals(2)
        self.multiplier.setSingleStep(0.1)
        self.multiplier.setValue(1.0)
        self.lots = QDoubleSpinBox()
        self.lots.setObjectName("lots")
        self.lots.setRange(0.01, 10_000.0)
        self.lots.setDecimals(2)
        self.lots.setValue(0.01)
        sizing.addRow("Sizing:", self.sizing_mode)
        sizing.addRow("Multiplier:", self.multiplier)
        sizing.addRow("Lots:", self.lots)
        rules.addLayout(sizing)
        self.preview = SymbolPreview()
        self.symbols_note = self.preview.note
        self.table = self.preview.table
        rules.addWidget(self.preview, 1)
        layout.addWidget(self.rules_box, 1)
        self.error = error_label()
        layout.addWidget(self.error)

        self.role_group.buttonToggled.connect(lambda *_: self._on_role())
        self.sizing_mode.currentIndexChanged.connect(lambda *_: self._on_sizing())
        self.account_id.textChanged.connect(lambda *_: show_error(self.error, ""))
        self.preview.rowEdited.connect(lambda: show_error(self.error, ""))
        self._on_sizing()

    def initializePage(self) -> None:
        wizard, draft = self._wizard, self._wizard.draft
        if self.role_group.checkedButton() is None:
            # Beside a linked master (the wizard opened while copying), a new account is a slave.
            has_master = draft.master_id is not None or wizard.master_symbols is not None
            (self.slave if has_master else self.master).setChecked(True)
        state = draft.account
        suggested = wizard.suggest_id(draft.server or "account", draft.login_number)
        # Follow the account when the user has not typed an id of their own.
        if draft.remote and draft.account_id:
            # The id the worker host serves the account under, tested already: not changed here.
            self.account_id.setText(draft.account_id)
            suggested = draft.account_id
        elif not self.account_id.text() or self.account_id.text() == self._suggested_id:
            self.account_id.setText(suggested)
        self._suggested_id = suggested
        chosen = draft.ctrader_account if draft.ctrader else None
        if not self.label.text() and state is not None:
            self.label.setText(f"{state.company} {state.login}")
        elif not self.label.text() and chosen is not None:
            self.label.setText(f"{chosen.broker_name or chosen.broker} {chosen.login}")
        elif not self.label.text() and draft.ctrader_demo:
            self.label.setText(f"{account_setup.demo_company(draft.demo_profile)} {draft.login}")
        self.preview.fill(wizard.master_symbols, draft.slave_symbols,
                          master_linked=draft.master_id is not None)
        self._on_role()
        show_error(self.error, "")

    def role(self) -> str:
        return "master" if self.master.isChecked() else "slave"

    def _on_role(self) -> None:
        self.rules_box.setVisible(self.role() == "slave")
        show_error(self.error, "")

    def _on_sizing(self) -> None:
        fixed = self.sizing_mode.currentData() == SizingMode.FIXED_LOT
        self.multiplier.setEnabled(not fixed)
        self.lots.setEnabled(fixed)

    def aliases(self, *, valid_only: bool = True) -> dict[str, str]:
        return self.preview.aliases(valid_only=valid_only)

    def validatePage(self) -> bool:
        draft = self._wizard.draft
        draft.account_id = self.account_id.text().strip()
        draft.role = self.role()
        draft.label = self.label.text().strip()
        draft.sizing_mode = self.sizing_mode.currentData()
        draft.multiplier = self.multiplier.value()
        draft.lots = self.lots.value()
        # All corrections, unknown ones too: the draft names those the broker does not have.
        draft.aliases = self.preview.aliases(valid_only=False)
        problems = draft.account_problems()
        if problems:
            show_error(self.error, next(iter(problems.values())))
            return False
        return True
