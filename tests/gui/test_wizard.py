"""The account-linking wizard, driven page by page on a qasync loop, offscreen.

Each test makes its own qasync loop over the QApplication and closes it, and runs its steps as one
coroutine on that loop, as the application does: the connection test is a task on the same loop.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from pathlib import Path

import keyring.backends.fail
import keyring.core
import pytest
from PySide6.QtWidgets import QWizard

from copier_gui import secrets
from copier_gui.bridge.pairing import bridge_secret, bridge_secret_key, new_secret
from copier_gui.bridge.server import make_server
from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.connectors.mt5.discovery import DiscoveredTerminal
from copier_gui.core.rules import SizingMode
from copier_gui.settings import AccountSettings, Settings, save_settings
from copier_gui.sim import PROFILES, new_terminal
from copier_gui.ui.wizard import LinkAccountWizard

PASSWORD = "Tr0ub4dor&3-demo"
BRIDGE_SECRET = new_secret()
MASTER_SYMBOLS = [s.name for s in PROFILES["meridian_ecn"].symbols] + ["GOLDSPOT"]
W = LinkAccountWizard


# `loop` and `run` (a qasync loop over qapp, closed after each test) come from tests/gui/conftest.py.


@pytest.fixture
def make_wizard(qtbot, weekday_clock):
    def make(**kw) -> LinkAccountWizard:
        kw.setdefault("clock", weekday_clock)
        kw.setdefault("discover", lambda: [])
        wizard = LinkAccountWizard(None, **kw)
        qtbot.addWidget(wizard)
        wizard.open()
        return wizard

    return make


@pytest.fixture
def no_keyring(monkeypatch):
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    keyring.core.set_keyring(keyring.backends.fail.Keyring())


async def until(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the wizard")
        await asyncio.sleep(0.01)


def click_next(wizard: LinkAccountWizard) -> None:
    button = wizard.button(QWizard.WizardButton.NextButton)
    assert button.isEnabled() and button.isVisible(), f"Next is not available on page {wizard.currentId()}"
    button.click()


def choose_platform(wizard: LinkAccountWizard, platform: str) -> None:
    assert wizard.currentId() == W.PLATFORM_PAGE
    wizard.platform_page.buttons[platform].setChecked(True)
    click_next(wizard)
    assert wizard.currentId() == W.TERMINAL_PAGE


def choose_profile(wizard: LinkAccountWizard, profile: str) -> None:
    profiles = wizard.terminal_page.profiles
    (row,) = [i for i in range(profiles.count()) if profiles.item(i).data(0x0100) == profile]
    profiles.setCurrentRow(row)
    click_next(wizard)
    assert wizard.currentId() == W.LOGIN_PAGE


def key_for(login, server) -> str:
    return secrets.password_key(login=int(login), server=server, account_id="")


def _demo_to_login(wizard, profile="harbor_fx"):
    choose_platform(wizard, "demo")
    choose_profile(wizard, profile)
    return wizard.login_page


def _fake_terminal(tmp_path: Path) -> Path:
    exe = tmp_path / "Program Files" / "Harbor FX MT5" / "terminal64.exe"
    exe.parent.mkdir(parents=True)
    exe.write_bytes(b"MZ")
    return exe


# ---------------------------------------------------------------------------- the happy path

def test_happy_path_links_a_demo_slave_and_keeps_the_password_only_in_the_keyring(
        make_wizard, run, tmp_path):
    wizard = make_wizard(master_symbols=MASTER_SYMBOLS, existing_ids={"master"})
    linked: list[AccountSettings] = []
    wizard.accountLinked.connect(linked.append)

    async def steps():
        # 1-2: platform and broker.
        choose_platform(wizard, "demo")
        assert wizard.terminal_page.stack.currentIndex() == 1
        choose_profile(wizard, "harbor_fx")
        # 3: login and server come from the demo broker; the password is the user's.
        page = wizard.login_page
        login, server = page.login.text(), page.server.text()
        assert login == str(wizard.draft.demo_login)
        assert server == "HarborFX-Live2" and page.server.isReadOnly()
        assert page.password.echoMode() == page.password.EchoMode.Password
        page.password.setText(PASSWORD)
        click_next(wizard)
        assert page.password.text() == ""
        assert secrets.get_password(key_for(login, server)) == PASSWORD
        # 4: the connection test runs on the loop, and the page completes when it succeeds.
        test = wizard.test_page
        assert wizard.currentId() == W.TEST_PAGE
        assert not test.isComplete()
        assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
        await until(test.isComplete)
        assert test.fields["account"].text() == login
        assert test.fields["company"].text() == "Harbor FX Europe AG"
        assert test.fields["currency"].text() == "EUR"
        assert test.fields["balance"].text() == "10,000.00 EUR"
        assert test.fields["margin_mode"].text().startswith("hedging")
        assert test.fields["name"].text() == "Demo Trader"
        assert not test.error.isVisible()
        click_next(wizard)
        # 5: a slave by default (a master exists); the symbol map is detected and editable.
        role = wizard.role_page
        assert wizard.currentId() == W.ROLE_PAGE
        assert role.slave.isChecked() and role.rules_box.isVisible()
        table = role.table
        rows = {table.item(r, 0).text(): r for r in range(table.rowCount())}
        assert list(rows) == MASTER_SYMBOLS
        slave_of = {m: table.item(r, 1).text() for m, r in rows.items()}
        assert slave_of["EURUSD"] == "EURUSD.m"
        assert slave_of["XAUUSD"] == "GOLD.m"
        assert slave_of["US30"] == "US30.m"
        assert slave_of["GOLDSPOT"] == ""
        assert table.item(rows["GOLDSPOT"], 2).text().startswith("no match")
        assert "end with '.m'" in role.symbols_note.text()
        table.item(rows["GOLDSPOT"], 1).setText("GOLD.m")
        assert table.item(rows["GOLDSPOT"], 2).text() == "your choice"
        role.sizing_mode.setCurrentIndex(role.sizing_mode.findData(SizingMode.BALANCE_RATIO))
        role.multiplier.setValue(0.5)
        assert role.account_id.text() == f"harborfx-live2-{login}"
        role.account_id.setText("harbor-eur")
        role.label.setText("Harbor EUR")
        click_next(wizard)
        # 6: the summary, then Finish.
        assert wizard.currentId() == W.FINISH_PAGE
        summary = wizard.finish_page.summary.text()
        assert "Account id: harbor-eur" in summary and "Role: slave" in summary
        assert "GOLDSPOT -> GOLD.m" in summary
        assert "Password: kept in the system keyring" in summary
        assert PASSWORD not in summary
        wizard.button(QWizard.WizardButton.FinishButton).click()
        await until(lambda: not wizard.isVisible())

    run(steps)
    (account,) = linked
    assert account == wizard.linked
    assert account.id == "harbor-eur" and account.role == "slave" and account.platform == "demo"
    assert account.demo_profile == "harbor_fx" and account.server == "HarborFX-Live2"
    assert account.login == wizard.draft.demo_login and account.label == "Harbor EUR"
    assert account.rules.sizing.mode is SizingMode.BALANCE_RATIO and account.rules.sizing.multiplier == 0.5
    assert account.rules.symbols.aliases == {"GOLDSPOT": "GOLD.m"}
    # The password is in the keyring, and nowhere in what the window will save.
    key = key_for(account.login, account.server)
    assert secrets.get_password(key) == PASSWORD
    assert PASSWORD not in account.model_dump_json()
    assert PASSWORD not in repr(account)
    settings_file = tmp_path / "settings.json"
    save_settings(Settings(accounts=[account]), settings_file)
    assert PASSWORD not in settings_file.read_text()
    assert "password" not in json.loads(settings_file.read_text())["accounts"][0]


def test_a_first_account_is_offered_as_master_without_rules(make_wizard, run):
    wizard = make_wizard()
    linked = []
    wizard.accountLinked.connect(linked.append)

    async def steps():
        page = _demo_to_login(wizard, "meridian_ecn")
        page.password.setText(PASSWORD)
        click_next(wizard)
        await until(wizard.test_page.isComplete)
        click_next(wizard)
        assert wizard.role_page.master.isChecked()
        assert not wizard.role_page.rules_box.isVisible()
        click_next(wizard)
        wizard.button(QWizard.WizardButton.FinishButton).click()

    run(steps)
    (account,) = linked
    assert account.role == "master" and account.rules is None


def test_discovered_terminals_are_listed_and_browse_opens_without_blocking(make_wizard, run, tmp_path):
    exe = _fake_terminal(tmp_path)
    other = tmp_path / "Other" / "terminal64.exe"
    found = [DiscoveredTerminal(exe, None, "Harbor FX MT5", None)]
    wizard = make_wizard(discover=lambda: found)

    async def steps():
        choose_platform(wizard, "mt5")
        page = wizard.terminal_page
        await until(lambda: page.terminal_list.count() == 1)
        assert "Found 1 MetaTrader 5 terminal." in page.status.text()
        page.terminal_list.setCurrentRow(0)
        assert page.path.text() == str(exe)
        # Browse opens a dialog with open(), so the loop (and this coroutine) keeps running.
        page.browse.click()
        dialog = page._dialog
        assert dialog is not None and dialog.isVisible()
        await asyncio.sleep(0.05)
        other.parent.mkdir()
        other.write_bytes(b"MZ")
        dialog.fileSelected.emit(str(other))
        dialog.reject()
        assert page.path.text() == str(other)
        click_next(wizard)
        assert wizard.currentId() == W.LOGIN_PAGE
        assert wizard.draft.terminal_path == str(other)

    run(steps)


def test_a_wrong_terminal_file_is_explained(make_wizard, run, tmp_path):
    wizard = make_wizard()

    async def steps():
        choose_platform(wizard, "mt5")
        page = wizard.terminal_page
        await until(lambda: "No installed MetaTrader 5 terminal" in page.status.text())
        for path, problem in ((r"C:\MT4\terminal.exe", "MetaTrader 4's terminal.exe"),
                              (str(tmp_path / "notes.txt"), "Choose the terminal's terminal64.exe"),
                              (str(tmp_path / "missing" / "terminal64.exe"), "There is no terminal64.exe")):
            page.path.setText(path)
            click_next(wizard)
            assert wizard.currentId() == W.TERMINAL_PAGE
            assert problem in page.error.text() and page.error.isVisible()

    run(steps)


# ---------------------------------------------------------------------------- each error

def test_empty_login_is_refused_on_the_page(make_wizard, run):
    wizard = make_wizard()

    async def steps():
        page = _demo_to_login(wizard)
        page.login.clear()
        page.password.setText(PASSWORD)
        click_next(wizard)
        assert wizard.currentId() == W.LOGIN_PAGE
        assert page.error.isVisible()
        assert "Enter the account's login" in page.error.text()
        # Nothing reached the keyring for a login that was never accepted.
        assert secrets.get_password(key_for(wizard.draft.demo_login, "HarborFX-Live2")) is None

    run(steps)


def test_empty_server_is_refused_for_a_terminal(make_wizard, run, tmp_path):
    exe = _fake_terminal(tmp_path)
    wizard = make_wizard()

    async def steps():
        choose_platform(wizard, "mt5")
        wizard.terminal_page.path.setText(str(exe))
        click_next(wizard)
        page = wizard.login_page
        page.login.setText("51234567")
        click_next(wizard)
        assert wizard.currentId() == W.LOGIN_PAGE
        assert "trade server's name" in page.error.text()

    run(steps)


def test_keyring_unavailable_is_explained_and_the_wizard_stays(make_wizard, run, no_keyring, monkeypatch):
    monkeypatch.setattr(secrets.sys, "platform", "linux")
    wizard = make_wizard()

    async def steps():
        page = _demo_to_login(wizard)
        page.password.setText(PASSWORD)
        click_next(wizard)
        assert wizard.currentId() == W.LOGIN_PAGE
        text = page.error.text()
        assert page.error.isVisible()
        assert "system keyring" in text and "GNOME Keyring" in text and "keyrings.alt" in text
        assert PASSWORD not in text

    run(steps)


def test_mt5_on_linux_fails_the_connection_test_with_the_not_found_message(
        make_wizard, run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "MetaTrader5", None)  # as on Linux, wherever the test runs
    exe = _fake_terminal(tmp_path)
    wizard = make_wizard()

    async def steps():
        choose_platform(wizard, "mt5")
        wizard.terminal_page.path.setText(str(exe))
        click_next(wizard)
        page = wizard.login_page
        page.login.setText("51234567")
        page.server.setText("HarborFX-Live2")
        page.password.setText(PASSWORD)
        click_next(wizard)
        test = wizard.test_page
        assert wizard.currentId() == W.TEST_PAGE
        await until(lambda: test.error.isVisible())
        assert "MetaTrader 5 terminal not found" in test.error.text()
        assert not test.isComplete()
        assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
        assert test.retry.isEnabled()
        test.retry.click()
        await until(lambda: test.error.isVisible())
        assert "MetaTrader 5 terminal not found" in test.error.text()

    run(steps)


def test_a_demo_login_that_does_not_match_fails_then_retry_after_fixing_it(make_wizard, run):
    wizard = make_wizard()

    async def steps():
        page = _demo_to_login(wizard)
        issued = int(page.login.text())
        server = page.server.text()
        page.login.setText(str(issued + 1))
        page.password.setText(PASSWORD)
        click_next(wizard)
        test = wizard.test_page
        await until(lambda: test.error.isVisible())
        assert f"login failed for account {issued + 1}" in test.error.text()
        assert "check the password and server" in test.error.text()
        assert not test.isComplete()
        assert PASSWORD not in test.error.text()
        # Back, correct the login: a new account key needs the password again.
        wizard.back()
        assert wizard.currentId() == W.LOGIN_PAGE
        page.login.setText(str(issued))
        click_next(wizard)
        assert wizard.currentId() == W.LOGIN_PAGE
        assert "Choose a password" in page.error.text()
        page.password.setText(PASSWORD)
        click_next(wizard)
        await until(test.isComplete)
        # The password stored under the mistyped login was removed again.
        assert secrets.get_password(key_for(issued + 1, server)) is None
        assert secrets.get_password(key_for(issued, server)) == PASSWORD

    run(steps)


def test_an_unreachable_bridge_is_explained(make_wizard, run):
    wizard = make_wizard()

    async def steps():
        choose_platform(wizard, "mt5_bridge")
        page = wizard.terminal_page
        assert page.bridge_box.isVisible()
        page.path.setText(r"C:\Program Files\MetaTrader 5\terminal64.exe")
        page.bridge_secret.setText(BRIDGE_SECRET)
        click_next(wizard)
        wizard.login_page.login.setText("5")
        wizard.login_page.server.setText("Broker-Demo")
        click_next(wizard)
        await until(lambda: wizard.test_page.error.isVisible())
        assert "could not reach" in wizard.test_page.error.text()

    run(steps)


def test_duplicate_id_is_refused(make_wizard, run):
    wizard = make_wizard(existing_ids={"taken", "master"}, master_symbols=MASTER_SYMBOLS)

    async def steps():
        page = _demo_to_login(wizard)
        page.password.setText(PASSWORD)
        click_next(wizard)
        await until(wizard.test_page.isComplete)
        click_next(wizard)
        role = wizard.role_page
        role.account_id.setText("taken")
        click_next(wizard)
        assert wizard.currentId() == W.ROLE_PAGE
        assert "An account with the id 'taken' is already linked" in role.error.text()
        role.account_id.setText("bad-")
        click_next(wizard)
        assert "cannot be an id" in role.error.text()
        role.account_id.setText("fresh")
        click_next(wizard)
        assert wizard.currentId() == W.FINISH_PAGE

    run(steps)


def test_a_second_master_and_an_unknown_slave_symbol_are_refused(make_wizard, run):
    wizard = make_wizard(existing_master="main", master_symbols=MASTER_SYMBOLS)

    async def steps():
        page = _demo_to_login(wizard)
        page.password.setText(PASSWORD)
        click_next(wizard)
        await until(wizard.test_page.isComplete)
        click_next(wizard)
        role = wizard.role_page
        role.master.setChecked(True)
        click_next(wizard)
        assert "'main' is already the master" in role.error.text()
        assert '"Set as master" in the accounts menu' in role.error.text()
        assert "unlink" not in role.error.text().lower()
        role.slave.setChecked(True)
        role.table.item(0, 1).setText("NOPE.m")
        assert role.table.item(0, 2).text() == "not a symbol at this broker"
        click_next(wizard)
        assert wizard.currentId() == W.ROLE_PAGE
        assert "EURUSD -> NOPE.m" in role.error.text()

    run(steps)


def test_cancel_removes_a_password_stored_for_an_account_never_linked(make_wizard, run):
    secrets.store_password("Existing:1", "keep me")
    wizard = make_wizard()
    linked = []
    wizard.accountLinked.connect(linked.append)

    async def steps():
        page = _demo_to_login(wizard)
        page.password.setText(PASSWORD)
        click_next(wizard)
        key = key_for(page.login.text(), page.server.text())
        assert secrets.get_password(key) == PASSWORD
        wizard.reject()
        assert secrets.get_password(key) is None
        assert wizard.test_page.task is None

    run(steps)
    assert linked == []
    assert secrets.get_password("Existing:1") == "keep me"


# ---------------------------------------------------------------------------- the bridge

@pytest.fixture
def bridge_port():
    """A real bridge server on loopback, with one simulated terminal behind it."""
    terminal = new_terminal("meridian_ecn", seed=6, clock=SYSTEM_CLOCK, login=9001, password=PASSWORD)
    server = make_server({"only": terminal}, secret=BRIDGE_SECRET, port=0)
    thread = threading.Thread(target=server.start, daemon=True)
    thread.start()
    while not server.active:
        time.sleep(0.005)
    yield server.port
    server.close()
    thread.join(5)


def _to_bridge_page(wizard, port: int):
    choose_platform(wizard, "mt5_bridge")
    page = wizard.terminal_page
    page.path.setText(PROFILES["meridian_ecn"].terminal_path)  # as the Windows side sees it
    page.bridge_port.setValue(port)
    return page


def _login(wizard, login="9001"):
    page = wizard.login_page
    page.login.setText(login)
    page.server.setText("MeridianMarkets-Demo")
    page.password.setText(PASSWORD)
    click_next(wizard)


def test_a_bridge_account_is_paired_with_the_secret_only_in_the_keyring(make_wizard, run, bridge_port, tmp_path):
    wizard = make_wizard()
    linked: list[AccountSettings] = []
    wizard.accountLinked.connect(linked.append)

    async def steps():
        page = _to_bridge_page(wizard, bridge_port)
        assert page.bridge_secret.echoMode() == page.bridge_secret.EchoMode.Password
        assert "paste the secret" in page.bridge_secret.placeholderText()
        click_next(wizard)  # no secret yet
        assert wizard.currentId() == W.TERMINAL_PAGE
        assert "Enter the bridge's shared secret" in page.error.text() and "--show-pairing" in page.error.text()
        page.bridge_secret.setText(BRIDGE_SECRET[:12])
        click_next(wizard)
        assert wizard.currentId() == W.TERMINAL_PAGE and "Copy all of it" in page.error.text()
        assert bridge_secret("127.0.0.1", bridge_port) is None
        page.bridge_secret.setText(f" {BRIDGE_SECRET} ")
        click_next(wizard)
        assert wizard.currentId() == W.LOGIN_PAGE
        assert page.bridge_secret.text() == ""  # the widget forgets it at once
        assert bridge_secret("127.0.0.1", bridge_port) == BRIDGE_SECRET
        _login(wizard)
        test = wizard.test_page
        await until(lambda: test.isComplete() or test.error.isVisible())
        assert test.isComplete(), test.error.text()
        assert test.fields["account"].text() == "9001"
        click_next(wizard)
        click_next(wizard)
        assert wizard.currentId() == W.FINISH_PAGE
        assert BRIDGE_SECRET not in wizard.finish_page.summary.text()
        wizard.button(QWizard.WizardButton.FinishButton).click()
        await until(lambda: not wizard.isVisible())

    run(steps)
    (account,) = linked
    assert (account.platform, account.bridge_host, account.bridge_port) == ("mt5_bridge", "127.0.0.1", bridge_port)
    assert bridge_secret("127.0.0.1", bridge_port) == BRIDGE_SECRET  # kept: the account is linked
    settings_file = tmp_path / "settings.json"
    save_settings(Settings(accounts=[account]), settings_file)
    assert BRIDGE_SECRET not in settings_file.read_text() and BRIDGE_SECRET not in repr(account)


def test_a_wrong_bridge_secret_is_explained_and_cancel_removes_it(make_wizard, run, bridge_port):
    wizard = make_wizard()

    async def steps():
        page = _to_bridge_page(wizard, bridge_port)
        page.bridge_secret.setText(new_secret())
        click_next(wizard)
        _login(wizard)
        test = wizard.test_page
        await until(lambda: test.error.isVisible())
        assert f"the bridge at 127.0.0.1:{bridge_port} refused the shared secret" in test.error.text()
        assert bridge_secret("127.0.0.1", bridge_port) is not None
        wizard.reject()

    run(steps)
    assert secrets.get_secret(bridge_secret_key("127.0.0.1", bridge_port)) is None
