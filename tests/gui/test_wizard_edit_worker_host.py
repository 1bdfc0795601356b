"""Editing an account a worker host serves over NATS: the dialog asks for no terminal path (the
worker host's settings say where its terminal is), keeps the NATS settings, and its connection test
goes through the bus, as the wizard's does."""

from __future__ import annotations

import socket

import pytest
from PySide6.QtWidgets import QDialogButtonBox, QWidget

from copier_gui.settings import AccountSettings, NatsSettings
from copier_gui.ui.wizard import EditAccountDialog
from tests.gui.conftest import dispose, until

MASTER = AccountSettings(id="main", role="master", platform="demo", demo_profile="meridian_ecn", login=7_000_001,
                         server="MeridianECN-Demo")


def served(url: str = "tls://hub.example:4222") -> AccountSettings:
    return AccountSettings(id="vps", role="slave", platform="mt5", login=51_234_567, server="HarborFX-Live2",
                           label="Harbor", worker_host="nats",
                           nats=NatsSettings(url=url, user="copier", password_key="hub:copier", jetstream_domain="hub"))


@pytest.fixture
def make_dialog(qapp):
    window = QWidget()
    window.show()
    made: list[EditAccountDialog] = []

    def make(account: AccountSettings) -> EditAccountDialog:
        dialog = EditAccountDialog(account, window, accounts=[MASTER, account], discover=lambda: [])
        dialog.open()
        made.append(dialog)
        return dialog

    yield make
    for dialog in made:
        dialog.test.stop()
    dispose(*made, window)


def test_a_served_account_is_saved_with_its_nats_settings_and_no_terminal_path(make_dialog, run):
    account = served()
    dialog = make_dialog(account)
    edited: list[AccountSettings] = []
    dialog.accountEdited.connect(lambda a, _changed: edited.append(a))
    # Nothing of the worker host's terminal or password to edit here: said, not asked for.
    assert not dialog.terminal.isVisibleTo(dialog) and not dialog.platform.isEnabled()
    assert "runs on a worker host, reached through the NATS server tls://hub.example:4222" in dialog.ctrader_info.text()
    assert not dialog.login_form.password.isVisibleTo(dialog)
    assert "copier-gui worker-host --nats tls://hub.example:4222 --account vps" in dialog.login_form.hint.text()

    async def steps():
        dialog.label.setText("Harbor on the VPS")
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
        await until(lambda: not dialog.isVisible() or dialog.error.isVisible(), what="the dialog to save")
        return dialog.error.text()

    error = run(steps)
    assert not error
    [saved] = edited
    assert saved.label == "Harbor on the VPS"
    # Its NATS settings whole, the fields the dialog does not show (password key, JetStream domain) included.
    assert (saved.worker_host, saved.nats, saved.terminal_path) == ("nats", account.nats, None)


def test_a_served_accounts_test_goes_through_the_nats_server(make_dialog, run):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing answers there
    dialog = make_dialog(served().model_copy(update={"nats": NatsSettings(url=f"nats://127.0.0.1:{port}")}))

    async def steps():
        dialog.start_test()
        await until(lambda: not dialog.test.running and dialog.test.error.isVisible(), timeout=45,
                    what="the test to fail")
        return dialog.test.error.text()

    message = run(steps, timeout=60)
    assert message.startswith(f"The NATS server at nats://127.0.0.1:{port} cannot be reached"), message
