"""The wizard links an MT5 account whose terminal runs on a worker host over NATS: the choice on the
platform page, the NATS page's checks (the transport's own, shown under their field), the NATS
password in the keyring under the command line's key, no broker password here, the account saved
as `accounts link --worker-host nats` saves it, and a connection test that goes through NATS.
"""

from __future__ import annotations

import io
import socket
import sys

import keyring
import pytest
from PySide6.QtWidgets import QWizard

from copier_gui.cli import main
from copier_gui.settings import load_settings
from copier_gui.ui.wizard import LinkAccountWizard
from tests.gui.conftest import dispose, until

HUB = "tls://hub.example:4222"
NATS_PASSWORD = "hub-pa55-word"
W = LinkAccountWizard


@pytest.fixture
def wizard(qtbot):
    wizard = LinkAccountWizard(discover=lambda: [])
    qtbot.addWidget(wizard)
    wizard.open()
    yield wizard
    wizard.test_page.stop()
    dispose(wizard)


def click_next(wizard) -> None:
    button = wizard.button(QWizard.WizardButton.NextButton)
    assert button.isEnabled(), f"Next is not available on page {wizard.currentId()}"
    button.click()


def to_worker_page(wizard, platform: str = "mt5") -> None:
    wizard.platform_page.buttons[platform].setChecked(True)
    wizard.platform_page.worker_buttons["nats"].setChecked(True)
    click_next(wizard)
    assert wizard.currentId() == W.WORKER_HOST_PAGE


def fill(page, **fields: str) -> None:
    for name, value in fields.items():
        page.edits[name].setText(value)


def stored(key: str) -> str | None:
    return keyring.get_password("copier-gui", key)


def shown(page) -> dict[str, str]:
    return {name: label.text() for name, label in page.errors.items() if label.isVisibleTo(page)}


def test_an_mt5_account_offers_this_computer_or_a_worker_host_and_this_computer_is_the_default(wizard):
    page = wizard.platform_page
    assert page.worker_buttons["local"].isChecked()
    assert page.worker_buttons["nats"].text() == "A worker host on another machine (NATS)"
    for platform in ("mt5", "mt5_bridge"):
        page.buttons[platform].setChecked(True)
        assert page.worker_box.isEnabled()
    for platform in ("demo", "ctrader"):
        page.buttons[platform].setChecked(True)
        assert not page.worker_box.isEnabled()
        page.worker_buttons["nats"].setChecked(True)
        assert page.worker_host() == "local"  # a demo or cTrader account has no worker to move
    page.buttons["mt5"].setChecked(True)
    page.worker_buttons["local"].setChecked(True)
    click_next(wizard)
    assert wizard.currentId() == W.TERMINAL_PAGE
    wizard.back()
    page.worker_buttons["nats"].setChecked(True)
    click_next(wizard)
    # The terminal is the worker host's: its NATS server replaces the terminal page.
    assert wizard.currentId() == W.WORKER_HOST_PAGE
    assert wizard.draft.worker_host == "nats"


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"nats_url": "nats://hub.example:4222"}, "nats_url", "needs TLS (tls://)"),
    ({"nats_url": HUB}, "nats_user", "needs credentials (a user, its password in the keyring)"),
    ({"nats_url": "tls://copier:pw@hub.example:4222", "nats_user": "copier"}, "nats_url",
     "put no user or password in the URL"),
    ({"nats_url": "http://hub.example"}, "nats_url", "expected tls://HOST:PORT"),
    ({"nats_url": HUB, "nats_user": "copier", "nats_instance": "desk 2"}, "nats_instance",
     "use letters, digits, '-' and '_' only"),
    ({"nats_url": HUB, "nats_user": "copier", "nats_ca": "no-such-ca.pem"}, "nats_ca", "does not exist"),
])
def test_nats_settings_the_transport_refuses_are_named_under_their_field(wizard, fields, field, words):
    to_worker_page(wizard)
    page = wizard.worker_host_page
    fill(page, account_id="vps", **fields)
    if "nats_user" in fields:
        page.nats_password.setText(NATS_PASSWORD)
    click_next(wizard)
    assert wizard.currentId() == W.WORKER_HOST_PAGE
    errors = shown(page)
    assert list(errors) == [field], errors
    assert words in errors[field] and "Traceback" not in errors[field]
    assert stored("nats:copier") is None  # nothing is stored before the settings are right
    page.edits[field].setText("x")
    assert not shown(page)  # typing in the field clears its message


def test_the_nats_password_goes_to_the_keyring_under_the_command_lines_key_and_no_broker_password_is_asked(
        wizard, tmp_path):
    ca = tmp_path / "hub-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    to_worker_page(wizard)
    page = wizard.worker_host_page
    fill(page, account_id="vps", nats_url=HUB, nats_user="copier", nats_ca=str(ca))
    click_next(wizard)
    assert "Type the password of NATS user copier" in shown(page)["nats_password"]
    page.nats_password.setText(NATS_PASSWORD)
    click_next(wizard)
    assert wizard.currentId() == W.LOGIN_PAGE
    assert stored("nats:copier") == NATS_PASSWORD
    assert page.nats_password.text() == ""
    login = wizard.login_page
    # The broker's password is the worker host's: no field for it, and how to store it there.
    assert not login.password.isVisibleTo(login)
    assert "worker host reads it from its own keyring" in login.hint.text()
    assert f"copier-gui worker-host --nats {HUB} --account vps" in login.hint.text()
    login.login.setText("51234567")
    login.server.setText("HarborFX-Live2")
    click_next(wizard)
    assert wizard.currentId() == W.TEST_PAGE
    assert stored("HarborFX-Live2:51234567") is None
    wizard.reject()
    # Cancelled: the NATS password this wizard added belongs to no account and is removed.
    assert stored("nats:copier") is None


def test_a_nats_password_already_in_the_keyring_is_kept_when_the_field_is_left_empty(wizard):
    keyring.set_password("copier-gui", "nats:copier", "kept")
    to_worker_page(wizard)
    page = wizard.worker_host_page
    fill(page, account_id="vps", nats_url=HUB, nats_user="copier")
    assert "kept in the system keyring" in page.nats_password.placeholderText()
    click_next(wizard)
    assert wizard.currentId() == W.LOGIN_PAGE
    wizard.reject()
    assert stored("nats:copier") == "kept"  # it was there before: a linked account's


def test_the_account_is_saved_as_accounts_link_worker_host_nats_saves_it(wizard, tmp_path, monkeypatch, capsys):
    home = tmp_path / "cli-home"
    monkeypatch.setattr(sys, "stdin", io.StringIO(NATS_PASSWORD + "\n"))
    assert main(["--home", str(home), "accounts", "link", "vps", "--role", "slave", "--platform", "mt5",
                 "--login", "51234567", "--server", "HarborFX-Live2", "--worker-host", "nats", "--nats", HUB,
                 "--nats-user", "copier", "--nats-instance", "desk-2"]) == 0, capsys.readouterr()
    by_cli = load_settings(home / "settings.json").account("vps")
    keyring.delete_password("copier-gui", "nats:copier")

    to_worker_page(wizard)
    page = wizard.worker_host_page
    fill(page, account_id="vps", nats_url=HUB, nats_user="copier", nats_password=NATS_PASSWORD,
         nats_instance="desk-2")
    click_next(wizard)
    wizard.login_page.login.setText("51234567")
    wizard.login_page.server.setText("HarborFX-Live2")
    click_next(wizard)
    wizard.test_page.stop()  # no worker host here: the saved account is what this test compares
    draft = wizard.draft
    assert draft.test_settings().id == "vps"  # the test asks the worker host for the account by its id
    by_wizard = draft.to_settings()
    assert by_wizard.model_dump() == by_cli.model_dump()
    assert (by_wizard.worker_host, by_wizard.terminal_path, by_wizard.nats.user) == ("nats", None, "copier")
    assert stored("nats:copier") == NATS_PASSWORD
    summary = draft.summary(by_wizard)
    assert "on a worker host, over NATS tls://hub.example:4222 (instance desk-2)" in summary
    assert "Password: kept in the worker host's own keyring" in summary and NATS_PASSWORD not in summary


def test_a_nats_server_that_cannot_be_reached_fails_the_test_with_one_line(wizard, run):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing answers there
    to_worker_page(wizard, "mt5_bridge")
    page = wizard.worker_host_page
    fill(page, account_id="vps", nats_url=f"nats://127.0.0.1:{port}")
    click_next(wizard)
    wizard.login_page.login.setText("51234567")
    wizard.login_page.server.setText("HarborFX-Live2")

    async def steps():
        click_next(wizard)
        test = wizard.test_page
        assert f"through its worker host over NATS nats://127.0.0.1:{port}" in test.status.text()
        await until(lambda: test.error.isVisibleTo(test), timeout=45, what="the test to fail")
        return test.error.text()

    message = run(steps, timeout=60)
    assert message == (f"The NATS server at nats://127.0.0.1:{port} cannot be reached (nats: no servers available "
                       "for connection): check its address, that it runs, its CA file, and the NATS user and "
                       "password."), message
    assert "\n" not in message and "Traceback" not in message
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
