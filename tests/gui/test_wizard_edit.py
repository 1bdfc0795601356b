"""Editing a linked account: label, terminal, login and password, while the copier may run.

The account id stays; a typed password replaces the keyring's only when the edit is saved; the
rules go to the rules editor (``rulesRequested``), never through this dialog.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QWidget

from copier_gui import account_setup, secrets
from copier_gui.core.rules import CopyRules, Sizing, SizingMode, SymbolMapping
from copier_gui.settings import AccountSettings
from copier_gui.ui.wizard import EditAccountDialog
from tests.gui.conftest import until

OLD_PASSWORD = "0ld-pass"
NEW_PASSWORD = "n3w-pass-Tr0ub4dor"
MASTER = AccountSettings(id="main", role="master", platform="demo", demo_profile="meridian_ecn",
                         login=7_000_000, server="MeridianMarkets-Demo")
RULES = CopyRules(sizing=Sizing(mode=SizingMode.BALANCE_RATIO, multiplier=0.5),
                  symbols=SymbolMapping(aliases={"GOLDSPOT": "GOLD.m"}))
DEMO_SLAVE = AccountSettings(id="harbor", role="slave", platform="demo", demo_profile="harbor_fx",
                             login=7_000_001, server="HarborFX-Live2", label="Harbor", rules=RULES,
                             copy_enabled=False)


def _terminal(root: Path, name: str) -> Path:
    exe = root / name / "terminal64.exe"
    exe.parent.mkdir(parents=True)
    exe.write_bytes(b"MZ")
    return exe


@pytest.fixture
def make_dialog(qtbot, weekday_clock):
    window = QWidget()  # the main window, whose global switch must stay in reach
    qtbot.addWidget(window)
    window.show()

    def make(account: AccountSettings, **kw) -> EditAccountDialog:
        kw.setdefault("clock", weekday_clock)
        kw.setdefault("discover", lambda: [])
        kw.setdefault("accounts", [MASTER, account])
        dialog = EditAccountDialog(account, window, **kw)
        dialog.open()
        return dialog

    return make


def save(dialog: EditAccountDialog) -> None:
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()


def test_label_and_terminal_change_and_the_id_and_rules_stay(make_dialog, run, tmp_path):
    old, new = _terminal(tmp_path, "Harbor MT5"), _terminal(tmp_path, "Harbor MT5 (2)")
    account = AccountSettings(id="harbor-live", role="slave", platform="mt5", terminal_path=str(old),
                              login=51_234_567, server="HarborFX-Live2", label="Harbor", rules=RULES,
                              magic=777)
    key = account_setup.account_password_key(account)
    secrets.store_password(key, OLD_PASSWORD)
    dialog = make_dialog(account)
    edited: list[tuple[AccountSettings, bool]] = []
    dialog.accountEdited.connect(lambda a, changed: edited.append((a, changed)))
    assert dialog.isVisible() and dialog.windowModality() == Qt.WindowModality.NonModal
    assert QApplication.activeModalWidget() is None
    assert dialog.account_id.text() == "harbor-live" and dialog.account_id.isReadOnly()
    assert dialog.label.text() == "Harbor"
    assert dialog.terminal.path.text() == str(old)
    assert (dialog.login_form.login.text(), dialog.login_form.server.text()) == ("51234567", "HarborFX-Live2")
    assert dialog.login_form.password.text() == ""
    assert "leave empty to keep it" in dialog.login_form.password.placeholderText()

    async def steps():
        dialog.label.setText("Harbor, second terminal")
        dialog.terminal.path.setText(str(new))
        save(dialog)
        await until(lambda: not dialog.isVisible(), what="the dialog to close")

    run(steps)
    ((saved, password_changed),) = edited
    assert password_changed is False
    assert saved.id == "harbor-live" and saved.label == "Harbor, second terminal"
    assert saved.terminal_path == str(new)
    assert saved.rules == RULES and saved.magic == 777
    assert secrets.get_password(key) == OLD_PASSWORD


def test_a_bad_field_is_named_and_the_dialog_stays(make_dialog, run, tmp_path):
    account = AccountSettings(id="harbor-live", role="slave", platform="mt5",
                              terminal_path=str(_terminal(tmp_path, "MT5")), login=5, server="HarborFX-Live2")
    dialog = make_dialog(account)
    edited = []
    dialog.accountEdited.connect(lambda *a: edited.append(a))

    async def steps():
        dialog.login_form.server.setText("")
        save(dialog)
        assert dialog.isVisible()
        assert "trade server's name" in dialog.error.text() and dialog.error.isVisible()
        assert dialog.focusWidget() is dialog.login_form.server
        dialog.login_form.server.setText("HarborFX-Live2")
        dialog.terminal.path.setText(str(tmp_path / "nowhere" / "terminal64.exe"))
        save(dialog)
        assert "There is no terminal64.exe" in dialog.error.text()

    run(steps)
    assert edited == []


def test_a_new_password_is_tested_then_saved_to_the_keyring_only(make_dialog, run):
    key = account_setup.account_password_key(DEMO_SLAVE)
    secrets.store_password(key, OLD_PASSWORD)
    dialog = make_dialog(DEMO_SLAVE)
    edited: list[tuple[AccountSettings, bool]] = []
    dialog.accountEdited.connect(lambda a, changed: edited.append((a, changed)))

    async def steps():
        dialog.login_form.password.setText(NEW_PASSWORD)
        dialog.test_button.click()
        await until(lambda: dialog.test.ok or dialog.test.error.isVisible(), what="the connection test")
        assert dialog.test.ok, dialog.test.error.text()
        assert dialog.test.fields["company"].text() == "Harbor FX Europe AG"
        # Tested, not saved: a cancel now would leave the keyring as it was.
        assert secrets.get_password(key) == OLD_PASSWORD
        save(dialog)
        await until(lambda: not dialog.isVisible(), what="the dialog to close")

    run(steps)
    ((saved, password_changed),) = edited
    assert password_changed is True
    assert saved == DEMO_SLAVE  # nothing but the password changed, and it is not in the settings
    assert secrets.get_password(key) == NEW_PASSWORD
    assert NEW_PASSWORD not in saved.model_dump_json() and NEW_PASSWORD not in repr(saved)
    assert dialog.login_form.password.text() == ""


def test_cancel_leaves_the_keyring_and_the_account_as_they_were(make_dialog, run):
    key = account_setup.account_password_key(DEMO_SLAVE)
    secrets.store_password(key, OLD_PASSWORD)
    dialog = make_dialog(DEMO_SLAVE)
    edited = []
    dialog.accountEdited.connect(lambda *a: edited.append(a))

    async def steps():
        dialog.login_form.password.setText(NEW_PASSWORD)
        dialog.label.setText("changed my mind")
        dialog.reject()

    run(steps)
    assert edited == []
    assert secrets.get_password(key) == OLD_PASSWORD


def test_a_changed_login_takes_the_saved_password_along(make_dialog, run):
    """Correcting the server's name (a typo) keeps the password the trader saved."""
    account = DEMO_SLAVE.model_copy(update={"platform": "mt5_bridge", "demo_profile": None,
                                            "terminal_path": r"C:\MT5\terminal64.exe", "server": "HarborFX-Lve2"})
    old_key = account_setup.account_password_key(account)
    secrets.store_password(old_key, OLD_PASSWORD)
    secrets.store_password("SomeoneElse:1", "untouched")
    dialog = make_dialog(account)
    edited: list[tuple[AccountSettings, bool]] = []
    dialog.accountEdited.connect(lambda a, changed: edited.append((a, changed)))
    from copier_gui.bridge.pairing import new_secret, store_bridge_secret

    store_bridge_secret(account.bridge_host, account.bridge_port, new_secret())  # paired before

    async def steps():
        dialog.login_form.server.setText("HarborFX-Live2")
        save(dialog)
        await until(lambda: not dialog.isVisible(), what="the dialog to close")

    run(steps)
    ((saved, password_changed),) = edited
    assert saved.server == "HarborFX-Live2" and password_changed is False
    assert secrets.get_password(account_setup.account_password_key(saved)) == OLD_PASSWORD
    assert secrets.get_password(old_key) is None  # no account uses the mistyped entry any more
    assert secrets.get_password("SomeoneElse:1") == "untouched"


def test_the_rules_are_edited_in_the_rules_editor(make_dialog, run):
    secrets.store_password(account_setup.account_password_key(DEMO_SLAVE), OLD_PASSWORD)
    dialog = make_dialog(DEMO_SLAVE)
    asked: list[str] = []
    dialog.rulesRequested.connect(asked.append)
    assert "in proportion to balances × 0.5" in dialog.rules_summary.text()
    assert "GOLDSPOT -> GOLD.m" in dialog.rules_summary.text()
    dialog.rules_button.click()
    assert asked == ["harbor"]
    # Rules saved in the editor meanwhile are the ones this dialog then saves with the account.
    newer = RULES.model_copy(update={"copy_existing": True})
    dialog.set_rules(newer)
    edited = []
    dialog.accountEdited.connect(lambda a, changed: edited.append(a))

    async def steps():
        save(dialog)
        await until(lambda: not dialog.isVisible(), what="the dialog to close")

    run(steps)
    assert edited[0].rules == newer

    master = make_dialog(MASTER, accounts=[MASTER, DEMO_SLAVE])
    assert not master.rules_button.isVisible()
    assert '"Set as master"' in master.role_note.text()


def test_a_demo_account_moved_to_another_broker_gets_a_new_login_and_needs_a_password(make_dialog, run):
    # No password saved for it (the keyring was reset, say): the demo broker needs one.
    dialog = make_dialog(DEMO_SLAVE)
    edited: list[tuple[AccountSettings, bool]] = []
    dialog.accountEdited.connect(lambda a, changed: edited.append((a, changed)))

    async def steps():
        dialog.terminal.select_profile("summit_netting")
        assert dialog.login_form.server.text() == "SummitSec-Server"
        assert dialog.login_form.login.text() != str(DEMO_SLAVE.login)
        save(dialog)
        assert dialog.isVisible() and "Choose a password" in dialog.error.text()
        dialog.login_form.password.setText(NEW_PASSWORD)
        save(dialog)
        await until(lambda: not dialog.isVisible(), what="the dialog to close")

    run(steps)
    ((saved, password_changed),) = edited
    assert (saved.demo_profile, saved.server, password_changed) == ("summit_netting", "SummitSec-Server", True)
    assert secrets.get_password(account_setup.account_password_key(saved)) == NEW_PASSWORD
