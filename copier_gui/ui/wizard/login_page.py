"""Page 3 of the wizard, and the edit dialog's login section: login, trade server and password.

A typed password goes to the keyring as the page is left (the wizard) or the dialog is saved, and
the field forgets it at once; nothing here keeps or shows it again.
"""

from __future__ import annotations

from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget, QWizardPage

from copier_gui import account_setup, secrets
from copier_gui.ui.wizard.common import LOGIN_PATTERN, WizardHost, error_label, show_error


class LoginForm(QWidget):
    """The three fields, the keyring's promise and, when the keyring is a weak one, its warning."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        self.login = QLineEdit()
        self.login.setObjectName("login")
        self.login.setValidator(QRegularExpressionValidator(LOGIN_PATTERN, self.login))
        self.login.setPlaceholderText("the account number, e.g. 51234567")
        self.server = QLineEdit()
        self.server.setObjectName("server")
        self.server.setPlaceholderText("as the terminal shows it, e.g. Broker-Demo")
        self.password = QLineEdit()
        self.password.setObjectName("password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("Login:", self.login)
        form.addRow("Server:", self.server)
        form.addRow("Password:", self.password)
        self._form = form
        layout.addLayout(form)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.hide()
        layout.addWidget(self.warning)
        self.error = error_label()
        layout.addWidget(self.error)
        for edit in (self.login, self.server, self.password):
            edit.textChanged.connect(lambda *_: show_error(self.error, ""))

    def explain(self, *, demo: bool, saved: bool, worker_host: str | None = None, platform: str = "mt5",
                nats_url: str = "URL") -> None:
        """Say where the password goes and what an empty field means (``saved``: one is kept).
        ``worker_host`` is the account id a worker host serves it under: the password is that
        computer's, so there is no field for it here, only how to store it there."""
        self.password.setVisible(worker_host is None)
        self._form.labelForField(self.password).setVisible(worker_host is None)
        if worker_host is not None:
            self.server.setReadOnly(False)
            self.hint.setText(
                "The account's password is not kept on this computer: the worker host reads it from its own "
                "keyring. On the worker host, link the account under the same id (`copier-gui accounts link "
                f"{worker_host} --platform {platform} --login LOGIN --server SERVER --terminal-path PATH`, which asks for "
                "the password and keeps it in that computer's keyring), then serve it with `copier-gui worker-host "
                f"--nats {nats_url} --account {worker_host}`.")
            self.warning.hide()
            show_error(self.error, "")
            return
        self.password.setPlaceholderText("saved in the system keyring; leave empty to keep it" if saved else "")
        self.server.setReadOnly(demo)
        self.hint.setText(
            "The password goes straight into the system keyring; copier_gui never writes it to a "
            "file and never shows it again."
            + ("" if demo or saved else " Leave it empty to use the password saved in the terminal."))
        warning = secrets.keyring_warning()
        self.warning.setText(warning or "")
        self.warning.setVisible(bool(warning))
        show_error(self.error, "")


class LoginPage(QWizardPage):
    def __init__(self, wizard: WizardHost) -> None:
        super().__init__()
        self._wizard = wizard
        self._prefilled_for: tuple | None = None
        self.setTitle("Login")
        layout = QVBoxLayout(self)
        self.form = LoginForm()
        layout.addWidget(self.form)
        layout.addStretch(1)
        for name in ("login", "server", "password", "hint", "warning", "error"):
            setattr(self, name, getattr(self.form, name))

    def initializePage(self) -> None:
        draft = self._wizard.draft
        demo = draft.demo
        prefill = (draft.platform, draft.demo_profile, draft.demo_login)
        if demo and self._prefilled_for != prefill:
            # The simulated broker has just opened this account; its login and server are given.
            self.login.setText(str(draft.demo_login))
            self.server.setText(account_setup.demo_server(draft.demo_profile))
            self._prefilled_for = prefill
        elif not demo and self._prefilled_for is not None and self._prefilled_for[0] == "demo":
            self.login.clear()
            self.server.clear()
            self._prefilled_for = None
        self.password.clear()
        if draft.remote:
            self.setSubTitle("The account's login and trade server, as linked on its worker host.")
            self.form.explain(demo=False, saved=False, worker_host=draft.account_id, platform=draft.platform,
                              nats_url=draft.nats_url)
            return
        if demo:
            self.setSubTitle("The demo broker opened this account for you. Choose its password: the "
                             "simulated broker checks it like a real one.")
        else:
            self.setSubTitle("The account's login, trade server and password.")
        self.form.explain(demo=demo, saved=draft.secret_key is not None)

    def cleanupPage(self) -> None:
        # Going back: a typed password is not kept in the widget for later.
        self.password.clear()
        show_error(self.error, "")

    def validatePage(self) -> bool:
        draft = self._wizard.draft
        draft.login = self.login.text().strip()
        draft.server = self.server.text().strip()
        # The same checks as `copier-gui accounts link`.
        problems = draft.login_problems()
        if problems:
            show_error(self.error, next(iter(problems.values())))
            return False
        if draft.remote:
            # The broker's password lives in the worker host's keyring; none is stored here.
            self._wizard.password_stored(None, created=False)
            return True
        key = draft.password_key()
        password = self.password.text()
        if password:
            try:
                existed = secrets.get_password(key) is not None
                secrets.store_password(key, password)
            except secrets.SecretsUnavailable as exc:
                show_error(self.error, exc.message)
                return False
            # Stored: the field forgets it, and the wizard never shows or holds it again.
            self.password.clear()
            del password
            self._wizard.password_stored(key, created=not existed)
        elif draft.secret_key != key:
            if draft.demo:
                show_error(self.error, "Choose a password for the demo account.")
                return False
            self._wizard.password_stored(None, created=False)
        return True
