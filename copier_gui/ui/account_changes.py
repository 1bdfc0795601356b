"""The trader's account changes from the window, taken by the running copier and saved.

Link another account, edit one, reconnect it, make it the master, remove it (keeping or closing its
copies), and each slave's mode: the dashboard asks (its menus and questions), this carries it out.
A slave is added, edited, reconnected or removed while copying (``copier_gui.live_accounts``);
a new master, or an edited master, restarts the session, since every copy is planned from the
master. The settings file is written after the copier took the change, and the copier journals
each change. Dialogs open with ``open()``; the copier's side runs in tasks on the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox

from copier_gui.settings import AccountSettings
from copier_gui.ui.session import Session, SettingsStore

log = logging.getLogger(__name__)

DEMO_ACCOUNTS = ("The demo's accounts are simulated and kept only while it runs: link your own accounts (Accounts → "
                 "Link another account…) to keep and change them.")


class AccountChanges(QObject):
    """Wires each dashboard the window shows to the settings store and the running copier.

    ``session`` gives the running session (None before one runs); ``open_saved`` opens one from
    the store once it is ready; ``restart`` stops the running session and opens the saved accounts
    again (for a new or edited master).
    """

    def __init__(self, window, store: SettingsStore, *, session: Callable[[], Session | None],
                 open_saved: Callable[[], None], restart: Callable[[], Awaitable[None]]) -> None:
        super().__init__(window)
        self.window = window
        self.store = store
        self._session = session
        self._open_saved = open_saved
        self._restart = restart
        self._tasks: set[asyncio.Task] = set()
        self.wizard = None
        self.editors: dict[str, object] = {}
        self.boxes: list[QMessageBox] = []  # open questions, kept so they are not collected
        window.linkRequested.connect(self.link)
        window.dashboardAttached.connect(self.wire)

    # ---------------------------------------------------------------- wiring
    def wire(self, dashboard) -> None:
        dashboard.linkAccountRequested.connect(self.link)
        dashboard.editAccountRequested.connect(self.edit)
        dashboard.reconnectRequested.connect(self.reconnect)
        dashboard.setMasterRequested.connect(self.ask_set_master)
        dashboard.removeAccountRequested.connect(self.remove)
        if self._saved_session() is not None:
            # The demo's switches and modes are its own; the trader's are saved for the next start.
            dashboard.copyingChanged.connect(self._remember_copying)
            dashboard.copyEnabledChanged.connect(self.store.set_copy_enabled)
            dashboard.modeChanged.connect(self.store.set_mode)

    def _saved_session(self) -> Session | None:
        """The running session when it runs the saved accounts (not the demo's)."""
        session = self._session()
        return session if session is not None and session.store is self.store else None

    def _remember_copying(self, copying: bool) -> None:
        # Saved so that a trader who stopped copying finds it stopped after a restart.
        if self.store.settings is not None and self.store.settings.copying != copying:
            self.store.set_copying(copying)

    def _spawn(self, coro, name: str) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def say(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 15000)

    def warn(self, title: str, text: str) -> QMessageBox:
        """A non-modal message box: the copier and the window go on while it is open."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self.window)
        box.finished.connect(lambda _r: self._forget_box(box))
        self.boxes.append(box)
        box.open()
        return box

    def _forget_box(self, box: QMessageBox) -> None:
        if box in self.boxes:
            self.boxes.remove(box)
        box.deleteLater()

    def _refresh_dashboard(self) -> None:
        """A slave came or went: the dashboard is built again over the same session, so every list
        (accounts, charts, journal filter, rules menu) has it."""
        session = self._session()
        if session is not None and self.window.dashboard is not None:
            self.window.attach(session)

    # ---------------------------------------------------------------- link
    def link(self):
        """The linking wizard, beside the running copier; the new account is saved, then a slave
        joins the running copier at once (under its copy-existing rule)."""
        from copier_gui.ui.wizard import LinkAccountWizard

        if self.wizard is not None:
            self.wizard.raise_()
            self.wizard.activateWindow()
            return self.wizard
        if self.store.settings is None:
            self.window.show_welcome(self.store.error)
            return None
        session = self._session()
        symbols = None
        if session is not None and session.copier.master_symbols:
            symbols = list(session.copier.master_symbols)
        self.wizard = LinkAccountWizard(self.window, accounts=self.store.settings.accounts, master_symbols=symbols)
        self.wizard.accountLinked.connect(self.linked)
        self.wizard.finished.connect(lambda _result: setattr(self, "wizard", None))
        self.wizard.open()
        return self.wizard

    def linked(self, account: AccountSettings) -> asyncio.Task | None:
        if not self.store.add_account(account):
            self.warn("Link account", f"{account.id} could not be saved: {self.store.error or 'unknown error'}")
            return None
        session = self._saved_session()
        if session is None:
            if self._session() is None:
                self._open_saved()  # the welcome says what is still missing, or the copier starts
            else:
                self.say(f"{account.id} is linked and saved; it copies when your linked accounts run (the demo is "
                         "running now).")
            return None
        return self._spawn(self._add(session, account), f"link:{account.id}")

    async def _live(self, title: str, change, failure: str) -> None:
        """Run one live change (a coroutine of ``live_accounts``); on success the dashboard is built
        again and the journal's text is said, on failure ``failure`` and the reason are shown."""
        from copier_gui import live_accounts
        from copier_gui.runtime import RuntimeSetupError

        try:
            text = await change
        except (live_accounts.LiveChangeError, RuntimeSetupError) as exc:
            self.warn(title, failure.format(reason=exc.message))
            return
        self._refresh_dashboard()
        self.say(text)

    async def _add(self, session: Session, account: AccountSettings) -> None:
        from copier_gui import live_accounts

        await self._live("Link account", live_accounts.add_account(session.runtime, account),
                         f"{account.id} is saved, but the running copier could not take it: {{reason}}\nIt is tried "
                         "again at the next start.")

    # ---------------------------------------------------------------- edit
    def edit(self, account_id: str):
        """The account's dialog (label, terminal, login, password); saved, then taken by the copier."""
        from copier_gui.ui.wizard import EditAccountDialog

        if self._saved_session() is None and self._session() is not None:
            self.warn("Edit account", DEMO_ACCOUNTS)
            return None
        account = self.store.settings.account(account_id) if self.store.settings is not None else None
        if account is None:
            self.warn("Edit account", f"{account_id} is not among the saved accounts.")
            return None
        dialog = self.editors.get(account_id)
        if dialog is None:
            dialog = EditAccountDialog(account, self.window, accounts=self.store.settings.accounts)
            dialog.accountEdited.connect(self.edited)
            dialog.rulesRequested.connect(lambda sid, d=dialog: self._edit_rules(sid, d))
            dialog.finished.connect(lambda _r, sid=account_id: self._editor_closed(sid))
            self.editors[account_id] = dialog
            dialog.open()
        else:
            dialog.raise_()
            dialog.activateWindow()
        return dialog

    def _editor_closed(self, account_id: str) -> None:
        dialog = self.editors.pop(account_id, None)
        if dialog is not None:
            dialog.deleteLater()

    def _edit_rules(self, account_id: str, dialog) -> None:
        dashboard = self.window.dashboard
        if dashboard is None or account_id not in dashboard.copier.slaves:
            return
        editor = dashboard.edit_rules(account_id)
        editor.rulesSaved.connect(lambda _sid, rules: dialog.set_rules(rules))

    def edited(self, account: AccountSettings, new_password: bool) -> asyncio.Task | None:
        current = self.store.settings.account(account.id) if self.store.settings is not None else None
        if current is None:
            return None
        # Rules and mode are the saved ones: the rules editor and the row menu change them, and a
        # dialog opened before such a change must not write it back. Where the account's worker
        # runs (a worker host over NATS) is set on the command line, not in the dialog: kept too.
        account = AccountSettings.model_validate({**dict(account), "rules": current.rules, "mode": current.mode,
                                                  "worker_host": current.worker_host, "nats": current.nats})
        if not self.store.replace_account(account):
            self.warn("Edit account", f"{account.id} could not be saved: {self.store.error}")
            return None
        session = self._saved_session()
        if session is None:
            self.say(f"{account.id} saved.")
            return None
        changed = [name for name in AccountSettings.model_fields if getattr(account, name) != getattr(current, name)]
        if new_password:
            changed.append("password")  # that it changed, never what it is
        what = ", ".join(changed) or "nothing changed"
        if account.role == "master":
            session.copier.journal.record("state", f"master {account.id} edited by the window ({what}): the copier "
                                                   "restarts with it", account=account.id, changed=changed)
            self.say(f"{account.id} saved; the copier restarts with the edited master.")
            return self._spawn(self._restart(), "restart:master-edited")
        session.copier.journal.record("state", f"{account.id} edited by the window ({what})", account=account.id,
                                      changed=changed)
        return self._spawn(self._update(session, account, new_password), f"edit:{account.id}")

    async def _update(self, session: Session, account: AccountSettings, new_password: bool) -> None:
        from copier_gui import live_accounts

        await self._live("Edit account",
                         live_accounts.update_account(session.runtime, account, new_password=new_password),
                         f"{account.id} is saved, but the running copier could not take the change: {{reason}}\nIt "
                         "applies at the next start.")

    # ---------------------------------------------------------------- reconnect
    def reconnect(self, account_id: str) -> asyncio.Task | None:
        session = self._session()
        if session is None:
            return None

        async def again() -> None:
            from copier_gui import live_accounts

            try:
                self.say(await live_accounts.reconnect(session.runtime, account_id))
            except live_accounts.LiveChangeError as exc:
                self.warn("Reconnect", exc.message)

        return self._spawn(again(), f"reconnect:{account_id}")

    # ---------------------------------------------------------------- master
    def ask_set_master(self, account_id: str) -> QMessageBox | None:
        """Ask first, saying what happens to the master before it and to the copies."""
        session = self._saved_session()
        if session is None and self._session() is not None:
            self.warn("Set as master", DEMO_ACCOUNTS)
            return None
        settings = self.store.settings
        if settings is None or settings.account(account_id) is None:
            self.warn("Set as master", f"{account_id} is not among the saved accounts.")
            return None
        old = settings.master
        box = QMessageBox(QMessageBox.Icon.Question, "Set as master", f"Make {account_id} the master?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self.window)
        lines = ["The copier stops and starts again with it as the master; for those few seconds nothing is "
                 "copied."]
        if old is not None:
            lines.append(f"{old.id} stays linked as a slave in close-only mode: nothing is copied to it until you "
                         "choose Copying in its row's menu.")
            lines.append(f"The copies the slaves hold of {old.id}'s trades stay open and are no longer managed "
                         "(the journal lists them).")
        lines.append(f"The positions {account_id} holds now are treated as the master's open positions: each slave's "
                     "copy-existing rule decides whether they are copied.")
        box.setInformativeText("\n\n".join(lines))
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        yes = box.button(QMessageBox.StandardButton.Yes)
        yes.setText(f"Make {account_id} the master")
        box.finished.connect(lambda _r: self._master_answered(account_id, box.clickedButton() is yes, box))
        self.boxes.append(box)
        box.open()
        return box

    def _master_answered(self, account_id: str, confirmed: bool, box: QMessageBox) -> None:
        self._forget_box(box)
        if confirmed:
            self.set_master(account_id)

    def set_master(self, account_id: str) -> asyncio.Task | None:
        old = self.store.settings.master if self.store.settings is not None else None
        if not self.store.set_master(account_id):
            self.warn("Set as master", f"{account_id} could not be made the master: {self.store.error}")
            return None
        session = self._saved_session()
        if session is None:
            self.say(f"{account_id} is now the master.")
            if self._session() is None:
                self._open_saved()
            return None
        session.copier.journal.record(
            "state", f"{account_id} set as master by the window (was {old.id if old else 'none'}); the copier "
                     "restarts with it", account=account_id)
        self.say(f"{account_id} is now the master; the copier restarts with it.")
        return self._spawn(self._restart(), "restart:new-master")

    # ---------------------------------------------------------------- remove
    def remove(self, account_id: str, flatten: bool) -> asyncio.Task | None:
        """Unlink a slave (the dashboard asked whether to keep or close its copies)."""
        session = self._saved_session()
        if session is None and self._session() is not None:
            self.warn("Remove account", DEMO_ACCOUNTS)
            return None
        return self._spawn(self._remove(session, account_id, flatten), f"remove:{account_id}")

    async def _remove(self, session: Session | None, account_id: str, flatten: bool) -> None:
        from copier_gui import live_accounts

        text = ""
        if session is not None and account_id in session.copier.slaves:
            try:
                text = await live_accounts.remove_account(session.runtime, account_id, flatten=flatten)
            except live_accounts.LiveChangeError as exc:
                self.warn("Remove account", exc.message)
                return
        ok, said = self.store.remove_account(account_id)
        if not ok:
            self.warn("Remove account", f"{account_id} left the running copier, but the settings could not be "
                                        f"saved: {said}")
            return
        self._refresh_dashboard()
        self.say(" ".join(t for t in (text, said) if t))
