"""Page 6 of the wizard: the account as it will be linked, in words, before Finish."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWizardPage

from copier_gui import account_setup, secrets
from copier_gui.settings import AccountSettings
from copier_gui.ui.wizard.common import WizardHost, error_label, show_error
from copier_gui.ui.wizard.draft import DraftInvalid


class FinishPage(QWizardPage):
    def __init__(self, wizard: WizardHost) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("Finish")
        self.setSubTitle("Check the account, then press Finish to link it.")
        self.setFinalPage(True)
        layout = QVBoxLayout(self)
        self.summary = QLabel()
        self.summary.setObjectName("summary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary)
        self.error = error_label()
        layout.addWidget(self.error)
        layout.addStretch(1)
        self.settings: AccountSettings | None = None

    def initializePage(self) -> None:
        show_error(self.error, "")
        try:
            self.settings = self._wizard.draft.to_settings()
        except DraftInvalid as exc:
            self.settings = None
            show_error(self.error, exc.message)
            self.summary.setText("")
        else:
            self.summary.setText(self._wizard.draft.summary(self.settings))
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.settings is not None

    def store_secrets(self) -> bool:
        """A cTrader account's application secret and tokens go to the keyring as it is linked (the
        wizard calls this on Finish, before it hands the account on); False once the error is shown."""
        draft, settings = self._wizard.draft, self.settings
        if settings is None:
            return False
        if settings.platform != "ctrader" or draft.editing:
            return True
        try:
            account_setup.store_ctrader_secrets(settings.ctrader_client_id, draft.ctrader_secret,
                                                settings.ctrader_token_key, draft.ctrader_tokens)
        except secrets.SecretsUnavailable as exc:
            show_error(self.error, exc.message)
            return False
        # Kept only in the keyring from here on.
        draft.ctrader_secret = ""
        draft.ctrader_tokens = None
        return True
