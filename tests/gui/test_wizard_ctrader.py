"""The wizard's cTrader path, its simulated cTrader brokers and the bridge's server choice, driven
page by page on a qasync loop.

The sign-in runs against the simulated Spotware OAuth endpoint and Open API server on the same
loop; the "browser" follows the consent page's redirect back to the wizard's listener.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time

import keyring.backends.fail
import keyring.core
import pytest
from PySide6.QtWidgets import QWizard

from copier_gui import secrets
from copier_gui.settings import AccountSettings, Settings, save_settings
from copier_gui.ui.wizard import LinkAccountWizard
from tests.unit.sim.ctrader.oauth_rig import CLIENT_ID, CLIENT_SECRET, Browser, running_oauth

W = LinkAccountWizard


@pytest.fixture
def make_wizard(qtbot, qapp, weekday_clock):
    # As in the application: closing the wizard must not end the loop, which still stops the servers.
    quits = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)

    def make(**kw) -> LinkAccountWizard:
        kw.setdefault("clock", weekday_clock)
        kw.setdefault("discover", lambda: [])
        wizard = LinkAccountWizard(None, **kw)
        qtbot.addWidget(wizard)
        wizard.open()
        return wizard

    yield make
    qapp.setQuitOnLastWindowClosed(quits)


async def until(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the wizard")
        await asyncio.sleep(0.01)


def click_next(wizard: LinkAccountWizard) -> None:
    button = wizard.button(QWizard.WizardButton.NextButton)
    assert button.isEnabled() and button.isVisible(), f"Next is not available on page {wizard.currentId()}"
    button.click()


def next_enabled(wizard: LinkAccountWizard) -> bool:
    return wizard.button(QWizard.WizardButton.NextButton).isEnabled()


def to_ctrader_page(wizard: LinkAccountWizard):
    wizard.platform_page.buttons["ctrader"].setChecked(True)
    click_next(wizard)
    assert wizard.currentId() == W.CTRADER_PAGE
    page = wizard.ctrader_page
    page.client_id.setText(CLIENT_ID)
    page.secret.setText(CLIENT_SECRET)
    return page


def row_of(page, login: int) -> int:
    (row,) = [i for i in range(page.accounts.topLevelItemCount())
              if page.accounts.topLevelItem(i).text(0) == str(login)]
    return row


def test_signing_in_lists_the_accounts_and_finish_keeps_the_secrets_in_the_keyring_only(
        make_wizard, run, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    linked: list[AccountSettings] = []
    browser = Browser()

    async def steps():
        async with running_oauth() as servers:
            wizard = make_wizard(ctrader_endpoints=servers.endpoints, open_browser=browser)
            wizard.accountLinked.connect(linked.append)
            page = to_ctrader_page(wizard)
            assert page.secret.echoMode() == page.secret.EchoMode.Password
            assert not next_enabled(wizard)  # no account chosen yet
            page.sign_in.click()
            assert page.running and not page.sign_in.isEnabled()
            await until(lambda: page.accounts.topLevelItemCount() == 2)
            assert browser.opened and browser.statuses == [200]
            assert "Choose the one to link" in page.status.text() and not page.error.isVisible()
            netted = servers.openapi.netted
            row = page.accounts.topLevelItem(row_of(page, netted.login))
            assert [row.text(c) for c in range(5)] == [str(netted.login), "Kestrel Markets Europe", "demo", "netted",
                                                       "10,000.00"]
            page.accounts.setCurrentItem(row)
            assert next_enabled(wizard)
            click_next(wizard)
            # Role: the first account is the master; its id and label come from the account chosen.
            role = wizard.role_page
            assert wizard.currentId() == W.ROLE_PAGE and role.master.isChecked()
            assert role.account_id.text() == f"kestrel-{netted.login}"
            assert role.label.text() == f"Kestrel Markets Europe {netted.login}"
            click_next(wizard)
            summary = wizard.finish_page.summary.text()
            assert "Platform: cTrader account" in summary and f"ctidTraderAccountId: {netted.account_id}" in summary
            assert "Positions: netted" in summary and "kept in the system keyring" in summary
            assert CLIENT_SECRET not in summary and CLIENT_SECRET not in repr(wizard.draft)
            tokens = wizard.draft.ctrader_tokens
            assert tokens.access_token not in repr(wizard.draft)
            wizard.button(QWizard.WizardButton.FinishButton).click()
            await until(lambda: not wizard.isVisible())
            assert servers.openapi.tokens.check(tokens.access_token)
            return wizard, tokens, servers.openapi.netted.account_id

    wizard, tokens, account_id = run(steps)
    (account,) = linked
    assert (account.platform, account.role, account.ctrader_account_id) == ("ctrader", "master", account_id)
    assert account.ctrader_client_id == CLIENT_ID and account.server == "Kestrel"
    assert secrets.get_secret(f"ctrader-app:{CLIENT_ID}") == CLIENT_SECRET
    stored = json.loads(secrets.get_secret(account.ctrader_token_key))
    assert stored["access_token"] == tokens.access_token and stored["refresh_token"] == tokens.refresh_token
    assert wizard.draft.ctrader_secret == "" and wizard.draft.ctrader_tokens is None  # only the keyring has them
    settings_file = tmp_path / "settings.json"
    save_settings(Settings(accounts=[account]), settings_file)
    log = "\n".join(r.getMessage() for r in caplog.records if r.threadName == threading.main_thread().name)
    for secret in (CLIENT_SECRET, tokens.access_token, tokens.refresh_token):
        assert secret not in settings_file.read_text() and secret not in repr(account)
        assert secret not in log


def test_pasted_tokens_list_the_accounts_and_a_bad_paste_is_named(make_wizard, run):
    async def steps():
        async with running_oauth() as servers:
            wizard = make_wizard(ctrader_endpoints=servers.endpoints, open_browser=Browser())
            page = to_ctrader_page(wizard)
            page.paste_box.setChecked(True)
            page.access_token.setText("short")
            page.refresh_token.setText("b" * 32)
            page.use_tokens.click()
            assert "not a cTrader access token" in page.error.text() and page.task is None
            grant = servers.openapi.grant_pair
            page.access_token.setText(grant.access_token)
            page.refresh_token.setText(grant.refresh_token)
            page.use_tokens.click()
            assert page.access_token.text() == "" and page.refresh_token.text() == ""  # the fields forget them
            await until(lambda: page.accounts.topLevelItemCount() == 2)
            assert wizard.draft.ctrader_tokens.refresh_token == grant.refresh_token
            # Another application's id: its tokens no longer apply, so the list goes.
            page.client_id.textEdited.emit("other_app")
            assert page.accounts.topLevelItemCount() == 0 and wizard.draft.ctrader_tokens is None
            assert "sign in again" in page.status.text()

    run(steps)


def test_a_refused_sign_in_is_explained_and_lists_nothing(make_wizard, run):
    async def steps():
        async with running_oauth() as servers:
            servers.oauth.deny = True
            browser = Browser()
            wizard = make_wizard(ctrader_endpoints=servers.endpoints, open_browser=browser)
            page = to_ctrader_page(wizard)
            page.secret.setText("")
            page.sign_in.click()
            assert "application's secret" in page.error.text() and page.task is None
            page.secret.setText(CLIENT_SECRET)
            page.sign_in.click()
            await until(lambda: page.error.isVisible())
            assert "access was refused on cTrader's consent page" in page.error.text()
            assert page.accounts.topLevelItemCount() == 0 and not next_enabled(wizard)
            assert page.sign_in.isEnabled() and not page.cancel.isVisible()

    run(steps)


def test_cancel_stops_waiting_for_the_browser_and_frees_its_port(make_wizard, run):
    import httpx

    async def steps():
        browser = Browser(available=False)  # nothing opens: the page shows the address to open
        wizard = make_wizard(open_browser=browser)
        page = to_ctrader_page(wizard)
        page.sign_in.click()
        await until(lambda: "open this address" in page.status.text())
        assert "No browser could be opened" in page.status.text() and page.flow.url in page.status.text()
        assert page.cancel.isVisible()
        page.cancel.click()
        await until(lambda: page.task is None)
        assert "Cancelled" in page.status.text() and page.sign_in.isEnabled()
        await asyncio.sleep(0.05)
        async with httpx.AsyncClient() as client:
            with pytest.raises(httpx.ConnectError):
                await client.get(page.flow.redirect_uri)
        # Back also stops a sign-in in progress.
        page.sign_in.click()
        await until(lambda: page.flow.url is not None and page.running)
        wizard.back()
        assert wizard.currentId() == W.PLATFORM_PAGE
        await until(lambda: page.task is None or page.task.done())

    run(steps)


def test_keyring_unavailable_at_finish_is_explained_and_nothing_is_linked(make_wizard, run, monkeypatch):
    linked: list[AccountSettings] = []

    async def steps():
        async with running_oauth() as servers:
            wizard = make_wizard(ctrader_endpoints=servers.endpoints, open_browser=Browser())
            wizard.accountLinked.connect(linked.append)
            page = to_ctrader_page(wizard)
            page.sign_in.click()
            await until(lambda: page.accounts.topLevelItemCount() == 2)
            page.accounts.setCurrentItem(page.accounts.topLevelItem(0))
            click_next(wizard)
            click_next(wizard)
            monkeypatch.setattr(keyring.core, "_keyring_backend", None)
            keyring.core.set_keyring(keyring.backends.fail.Keyring())
            wizard.button(QWizard.WizardButton.FinishButton).click()
            assert wizard.isVisible() and wizard.currentId() == W.FINISH_PAGE
            assert "system keyring" in wizard.finish_page.error.text()

    run(steps)
    assert linked == []


def test_a_simulated_ctrader_broker_skips_the_login_and_the_test(make_wizard, run):
    linked: list[AccountSettings] = []

    async def steps():
        wizard = make_wizard()
        wizard.accountLinked.connect(linked.append)
        wizard.platform_page.buttons["demo"].setChecked(True)
        click_next(wizard)
        profiles = wizard.terminal_page.profiles
        (row,) = [i for i in range(profiles.count()) if profiles.item(i).data(0x0100) == "lumen_ctrader"]
        profiles.setCurrentRow(row)
        assert "Lumen Prime Ltd (cTrader)" in profiles.item(row).text()
        click_next(wizard)
        assert wizard.currentId() == W.ROLE_PAGE
        assert wizard.role_page.label.text() == f"Lumen Prime Ltd {wizard.draft.demo_login}"
        click_next(wizard)
        assert "Password: none (a simulated cTrader broker)" in wizard.finish_page.summary.text()
        assert "Demo broker: Lumen Prime Ltd" in wizard.finish_page.summary.text()
        wizard.button(QWizard.WizardButton.FinishButton).click()
        await until(lambda: not wizard.isVisible())

    run(steps)
    (account,) = linked
    assert account.demo_profile == "lumen_ctrader" and account.demo_platform == "ctrader"
    assert account.server == "Lumen-cTrader" and account.login is not None


def test_the_bridge_page_chooses_the_server_kind_and_warns_about_mt5linux(make_wizard, run):
    async def steps():
        wizard = make_wizard()
        wizard.platform_page.buttons["mt5_bridge"].setChecked(True)
        click_next(wizard)
        page = wizard.terminal_page
        kinds = [page.bridge_kind.itemData(i) for i in range(page.bridge_kind.count())]
        assert kinds == ["copier", "mt5linux", "mt5linux_remote"]
        assert page.bridge_secret.isVisible() and not page.bridge_warning.isVisible()
        page.path.setText(r"C:\Program Files\MetaTrader 5\terminal64.exe")
        page.bridge_kind.setCurrentIndex(1)
        assert not page.bridge_secret.isVisible() and page.bridge_warning.isVisible()
        assert "runs any Python code" in page.bridge_warning.text() and "in clear" not in page.bridge_warning.text()
        page.bridge_host.setText("192.0.2.7")
        click_next(wizard)
        assert wizard.currentId() == W.TERMINAL_PAGE and "not on this computer" in page.error.text()
        page.bridge_kind.setCurrentIndex(2)
        assert "crosses the network in clear" in page.bridge_warning.text()
        click_next(wizard)  # no shared secret asked: an mt5linux server has none
        assert wizard.currentId() == W.LOGIN_PAGE
        assert wizard.draft.bridge_kind == "mt5linux_remote" and wizard.draft.bridge_secret_key is None

    run(steps)


def test_editing_a_ctrader_account_shows_it_and_saves_only_what_the_dialog_edits(qtbot, run, weekday_clock):
    from PySide6.QtWidgets import QDialogButtonBox, QWidget

    from copier_gui.ui.wizard import EditAccountDialog

    account = AccountSettings(id="kestrel", role="master", platform="ctrader", login=3_000_002, server="Kestrel",
                              ctrader_host="demo.ctraderapi.com", ctrader_client_id=CLIENT_ID,
                              ctrader_account_id=40_002, ctrader_token_key=f"ctrader:{CLIENT_ID}:40001",
                              label="Kestrel")
    window = QWidget()
    qtbot.addWidget(window)
    edited: list[AccountSettings] = []

    async def steps():
        dialog = EditAccountDialog(account, window, accounts=[account], clock=weekday_clock, discover=lambda: [])
        dialog.accountEdited.connect(lambda a, _changed: edited.append(a))
        dialog.open()
        assert not dialog.platform.isEnabled() and dialog.platform.currentData() == "ctrader"
        assert dialog.ctrader_info.isVisible() and not dialog.terminal.isVisible()
        assert "ctidTraderAccountId 40002 on demo.ctraderapi.com:5035" in dialog.ctrader_info.text()
        dialog.label.setText("Kestrel netted")
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
        await until(lambda: not dialog.isVisible())

    run(steps)
    (saved,) = edited
    assert saved.label == "Kestrel netted"
    assert saved.model_dump(exclude={"label"}) == account.model_dump(exclude={"label"})
