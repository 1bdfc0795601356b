"""The wizard's page for an MT5 account whose terminal runs on a worker host: the NATS server the
copier reaches it through, in place of the terminal page.

The fields are those of `copier-gui accounts link --worker-host nats` (URL, user, CA, instance) and
the account's id, which the worker host serves it under. NatsSettings checks them, with the
transport's own rules; each message is shown under the field it is about. The NATS user's
password goes straight to the keyring under ``nats:USER``, as the command line keeps it.
"""

from __future__ import annotations

from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from copier_gui import account_setup, secrets
from copier_gui.ui.wizard.common import (
    ID_PATTERN,
    LOGIN_PAGE,
    WizardHost,
    error_label,
    open_file_dialog,
    show_error,
)
from copier_gui.ui.wizard.draft import AccountDraft

# The fields, in the order the trader meets them: (draft field, label, placeholder).
FIELDS = (
    ("account_id", "Account id:", "the id the account is linked under on the worker host, e.g. vps"),
    ("nats_url", "NATS server:", "tls://hub.example:4222"),
    ("nats_user", "NATS user:", "the user the NATS server knows the copier by, e.g. copier"),
    ("nats_password", "NATS password:", ""),
    ("nats_ca", "CA file:", "the PEM of the NATS server's certificate authority (empty: the system's)"),
    ("nats_instance", "Instance:", "copier"),
)


class WorkerHostPage(QWizardPage):
    def __init__(self, wizard: WizardHost) -> None:
        super().__init__()
        self._wizard = wizard
        self._dialog: QFileDialog | None = None
        self.setTitle("Worker host")
        self.setSubTitle("The NATS server through which copier_gui reaches the worker host that runs this "
                         "account's terminal.")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.error = error_label()  # what is not about one field: the keyring unavailable
        self.edits: dict[str, QLineEdit] = {}
        self.errors: dict[str, QLabel] = {}
        for name, title, placeholder in FIELDS:
            edit = QLineEdit()
            edit.setObjectName(name)
            edit.setPlaceholderText(placeholder)
            self.edits[name] = edit
            error = error_label()
            error.setObjectName(f"{name}_error")
            self.errors[name] = error
            setattr(self, name, edit)
            cell = QWidget()
            column = QVBoxLayout(cell)
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(2)
            if name == "nats_ca":
                row = QHBoxLayout()
                row.addWidget(edit, 1)
                self.browse = QPushButton("Browse…")
                self.browse.setObjectName("nats_ca_browse")
                self.browse.clicked.connect(self._browse)
                row.addWidget(self.browse)
                column.addLayout(row)
            else:
                column.addWidget(edit)
            column.addWidget(error)
            form.addRow(title, cell)
            edit.textChanged.connect(lambda *_, n=name: self._edited(n))
        self.edits["account_id"].setValidator(QRegularExpressionValidator(ID_PATTERN, self.edits["account_id"]))
        self.edits["nats_password"].setEchoMode(QLineEdit.EchoMode.Password)
        self.edits["nats_instance"].setText(wizard.draft.nats_instance)
        layout.addLayout(form)
        self.hint = QLabel(
            "On the worker host, link the account under the same id (its broker password goes into that "
            "computer's keyring) and serve it with `copier-gui worker-host --nats URL --account ID`. "
            "The NATS password goes straight into this computer's system keyring, never into a file; "
            "the instance must match the worker host's --instance.")
        self.hint.setObjectName("worker_hint")
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        layout.addWidget(self.error)
        layout.addStretch(1)

    # -- the form
    def _edited(self, name: str) -> None:
        show_error(self.errors[name], "")
        show_error(self.error, "")
        if name == "nats_user":
            self._show_password_state()
        self.completeChanged.emit()

    def _show_password_state(self) -> None:
        key = _key(self.nats_user.text())
        try:
            stored = key is not None and secrets.get_secret(key, what="NATS password") is not None
        except secrets.SecretsUnavailable:
            stored = False  # said when the password is stored, where the trader can act on it
        self.nats_password.setPlaceholderText(
            "kept in the system keyring; type to replace it" if stored
            else "the NATS user's password" if key else "no user, no password")

    def _browse(self) -> None:
        self._dialog = open_file_dialog(self, "Choose the NATS server's certificate authority",
                                        ["Certificates (*.pem *.crt *.cer)", "All files (*)"],
                                        self.nats_ca.text().strip(), self.use_browsed)

    def use_browsed(self, path: str) -> None:
        if path:
            self.nats_ca.setText(path)

    # -- the wizard
    def nextId(self) -> int:
        return LOGIN_PAGE

    def initializePage(self) -> None:
        draft = self._wizard.draft
        if not self.account_id.text() and draft.account_id:
            self.account_id.setText(draft.account_id)
        self._show_password_state()

    def cleanupPage(self) -> None:
        self.nats_password.clear()

    def isComplete(self) -> bool:
        return bool(self.account_id.text().strip() and self.nats_url.text().strip())

    def show_problems(self, problems: dict[str, str]) -> None:
        for name, label in self.errors.items():
            show_error(label, problems.get(name, ""))

    def validatePage(self) -> bool:
        wizard, draft = self._wizard, self._wizard.draft
        draft.account_id = self.account_id.text().strip()
        draft.nats_url = self.nats_url.text().strip()
        draft.nats_user = self.nats_user.text().strip()
        draft.nats_ca = self.nats_ca.text().strip()
        draft.nats_instance = self.nats_instance.text().strip() or "copier"
        problems = {**draft.nats_problems(), **_id_problem(draft)}
        key = draft.nats_password_key()
        password = self.nats_password.text()
        if password and key is None:
            problems.setdefault("nats_password", "A NATS password needs its user: give the NATS user too.")
        self.show_problems(problems)
        if problems:
            return False
        if key is None:
            return True
        try:
            existed = secrets.get_secret(key, what="NATS password") is not None
            if password:
                secrets.store_secret(key, password, what="NATS password")
        except secrets.SecretsUnavailable as exc:
            show_error(self.error, exc.message)
            return False
        if not password and not existed:
            self.show_problems({"nats_password": f"Type the password of NATS user {draft.nats_user}: the "
                                                 f"keyring has none under {key} yet."})
            return False
        # Stored: the field forgets it, and the wizard never shows or holds it again.
        self.nats_password.clear()
        del password
        wizard.nats_password_stored(key, not existed)
        self._show_password_state()
        return True


def _key(user: str) -> str | None:
    return f"nats:{user.strip()}" if user.strip() else None


def _id_problem(draft: AccountDraft) -> dict[str, str]:
    problem = account_setup.account_id_problem(draft.account_id, draft.taken_ids)
    return {"account_id": problem} if problem else {}
