"""The wizard's connection test of an account served by a worker host passes through a real one: a
nats-server with TLS and a user, and `copier-gui worker-host` as a process of its own serving the
account from a simulated broker; the account read is the worker host's, and the wizard links it.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from PySide6.QtWidgets import QWizard

from copier_gui.bridge.simulated import BrokerProcess
from copier_gui.secrets import store_secret
from copier_gui.ui.wizard import LinkAccountWizard
from copier_gui.workers.config import SimTerminal
from tests.gui.conftest import dispose, until
from tests.kit.nats_server import NATS_PASSWORD, NATS_USER, NatsServer, running_nats_server

W = LinkAccountWizard
# As the transport's tests against a real server: nats-server is installed where those run, not on Windows.
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="nats-server runs in the POSIX tests only")


@pytest.fixture
def nats_server(tmp_path_factory):
    yield from running_nats_server(tmp_path_factory)


@pytest.fixture
def broker():
    with BrokerProcess({"vps": SimTerminal("harbor_fx", seed=3, account={"login": 51234567})}) as process:
        yield process


@pytest.fixture
def worker_host(nats_server: NatsServer, broker, tmp_path):
    """`copier-gui worker-host` serving account vps over the bus; it reads the NATS password from
    the keyring as a real worker host would (the test's own keyring file, which it inherits)."""
    store_secret(f"nats:{NATS_USER}", NATS_PASSWORD, what="NATS password")
    argv = [sys.executable, "-m", "copier_gui", "worker-host", "--nats", nats_server.url, "--nats-user", NATS_USER,
            "--nats-ca", str(nats_server.ca), "--sim-bridge", f"127.0.0.1:{broker.port}", "--account", "vps"]
    with open(tmp_path / "worker-host.log", "ab") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=log)
    yield process
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def click_next(wizard) -> None:
    button = wizard.button(QWizard.WizardButton.NextButton)
    assert button.isEnabled(), f"Next is not available on page {wizard.currentId()}"
    button.click()


def test_the_connection_test_reads_the_account_through_a_real_worker_host(qapp, run, nats_server, worker_host):
    wizard = LinkAccountWizard(discover=lambda: [])  # disposed below, on this thread
    linked = []
    wizard.accountLinked.connect(linked.append)
    wizard.open()
    try:
        wizard.platform_page.buttons["mt5"].setChecked(True)
        wizard.platform_page.worker_buttons["nats"].setChecked(True)
        click_next(wizard)
        page = wizard.worker_host_page
        page.account_id.setText("vps")
        page.nats_url.setText(nats_server.url)
        page.nats_user.setText(NATS_USER)
        page.nats_ca.setText(str(nats_server.ca))
        click_next(wizard)  # the password is in the keyring already, as the worker host's is
        wizard.login_page.login.setText("51234567")
        wizard.login_page.server.setText("HarborFX-Live")

        async def steps():
            click_next(wizard)
            test = wizard.test_page
            # A worker host just started may not serve the account yet: Retry, as a trader would.
            for _ in range(30):
                await until(lambda: not test.running, timeout=45, what="the connection test")
                if test.panel.ok:
                    break
                assert worker_host.poll() is None, "the worker host exited"
                await asyncio.sleep(0.5)
                test.retry.click()
            assert test.panel.ok, test.error.text()

        run(steps, timeout=120)
        test = wizard.test_page
        assert test.fields["account"].text() == "51234567"
        assert test.status.text().startswith("Connected to account 51234567")
        assert wizard.draft.slave_symbols  # the worker host's broker's symbols, for the symbol preview
        click_next(wizard)
        assert wizard.role_page.account_id.text() == "vps"
        wizard.role_page.master.setChecked(True)
        click_next(wizard)
        assert wizard.currentId() == W.FINISH_PAGE
        wizard.button(QWizard.WizardButton.FinishButton).click()
        [account] = linked
        assert (account.id, account.worker_host, account.nats.url, account.nats.user) == (
            "vps", "nats", nats_server.url, NATS_USER)
    finally:
        wizard.test_page.stop()
        dispose(wizard)


@pytest.mark.parametrize(("password", "words"), [
    (NATS_PASSWORD, "No worker host serves account vps on {url}: on the worker host, run `copier-gui worker-host "
                    "--nats {url} --account vps`."),
    ("not-the-password", "The NATS server at {url} refused the password of NATS user " + NATS_USER + ": enter "
                         "the one the server's settings give that user."),
])
def test_a_bus_without_the_worker_host_or_with_a_wrong_password_fails_the_test_with_one_line(
        qapp, run, nats_server, password, words):
    wizard = LinkAccountWizard(discover=lambda: [])  # disposed below, on this thread
    wizard.open()
    try:
        wizard.platform_page.buttons["mt5"].setChecked(True)
        wizard.platform_page.worker_buttons["nats"].setChecked(True)
        click_next(wizard)
        page = wizard.worker_host_page
        page.account_id.setText("vps")
        page.nats_url.setText(nats_server.url)
        page.nats_user.setText(NATS_USER)
        page.nats_password.setText(password)
        page.nats_ca.setText(str(nats_server.ca))
        click_next(wizard)
        wizard.login_page.login.setText("51234567")
        wizard.login_page.server.setText("HarborFX-Live")

        async def steps():
            click_next(wizard)
            test = wizard.test_page
            await until(lambda: not test.running, timeout=90, what="the connection test")
            return test.error.text()

        message = run(steps, timeout=120)
        assert message == words.format(url=nats_server.url), message
        assert "\n" not in message and "Traceback" not in message
        assert not wizard.test_page.panel.ok
    finally:
        wizard.test_page.stop()
        dispose(wizard)
