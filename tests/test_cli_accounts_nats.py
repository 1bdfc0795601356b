"""``copier-gui accounts link ... --worker-host nats``: an account whose worker runs on a worker host
reached over NATS. The core keeps only the bus's settings and the NATS password (in the keyring);
the broker's password stays with the worker host, which tests the terminal when the copier connects.
"""

from __future__ import annotations

import io
import sys

import keyring
import pytest

from copier_gui.cli import main
from copier_gui.settings import load_settings

HUB = "tls://hub.example:4222"
NATS_PASSWORD = "hub-pa55-word"
LINK = ("accounts", "link", "vps", "--role", "slave", "--platform", "mt5", "--login", "51234567",
        "--server", "HarborFX-Live2", "--worker-host", "nats", "--nats", HUB, "--nats-user", "copier")


@pytest.fixture
def home(tmp_path):
    return tmp_path / "copier-home"


@pytest.fixture
def cli(home, monkeypatch, capsys):
    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(["--home", str(home), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def stored(key: str) -> str | None:
    return keyring.get_password("copier-gui", key)


def test_an_account_served_over_nats_is_linked_with_its_bus_and_the_nats_password_in_the_keyring(cli, home):
    code, out, err = cli(*LINK, "--nats-ca", "hub-ca.pem", "--nats-instance", "desk-2", stdin=NATS_PASSWORD + "\n")
    assert code == 0, err
    account = load_settings(home / "settings.json").account("vps")
    assert (account.worker_host, account.terminal_path) == ("nats", None)
    assert (account.nats.url, account.nats.user, account.nats.ca, account.nats.instance) == (
        HUB, "copier", "hub-ca.pem", "desk-2")
    assert stored("nats:copier") == NATS_PASSWORD
    assert not [p for p in home.rglob("*") if p.is_file() and NATS_PASSWORD.encode() in p.read_bytes()]
    # The broker's password is the worker host's: none is asked for or kept here.
    assert stored("HarborFX-Live2:51234567") is None
    assert "worker host" in out and "not tested here" in out and NATS_PASSWORD not in out

    code, out, _ = cli("accounts", "show", "vps")
    assert code == 0
    assert "worker host:" in out and f"nats {HUB}" in out and "user copier" in out and "instance desk-2" in out
    assert "NATS password:" in out and "in the system keyring (nats:copier)" in out
    assert "kept by its worker host" in out and NATS_PASSWORD not in out

    code, out, _ = cli("accounts", "list")
    row = next(line for line in out.splitlines() if line.split()[:1] == ["vps"])
    assert "on a worker host over NATS" in row and "on worker host" in row and "missing" not in row, row
    keyring.delete_password("copier-gui", "nats:copier")
    code, out, _ = cli("accounts", "list")
    assert "on worker host, no NATS password" in out


def test_a_nats_password_already_in_the_keyring_is_kept_and_not_asked_for(cli, home):
    keyring.set_password("copier-gui", "nats:copier", NATS_PASSWORD)
    code, out, err = cli(*LINK)
    assert code == 0, err
    assert stored("nats:copier") == NATS_PASSWORD
    assert "already in the system keyring" in out


@pytest.mark.parametrize(("args", "words"), [
    (("--nats", "nats://hub.example:4222"), "needs TLS"),
    (("--nats", "tls://copier:pw@hub.example:4222"), "put no user or password in the URL"),
    (("--nats-instance", "a.b"), "instance name"),
    (("--nats-cert", "client.pem"), "both its certificate and its key"),
])
def test_a_bad_nats_option_is_refused_and_nothing_is_linked(cli, home, args, words):
    code, _, err = cli(*LINK, *args, stdin=NATS_PASSWORD + "\n")
    assert code == 2 and words in err and err.count("\n") == 1, err
    assert not (home / "settings.json").exists()
    assert stored("nats:copier") is None


@pytest.mark.parametrize(("args", "words"), [
    (("accounts", "link", "vps", "--role", "slave", "--platform", "mt5", "--login", "1", "--server", "S",
      "--worker-host", "nats"), "--worker-host nats needs --nats"),
    (("accounts", "link", "vps", "--role", "slave", "--platform", "mt5", "--login", "1", "--server", "S",
      "--terminal-path", r"C:\MT5\terminal64.exe", "--nats", HUB), "--nats does not apply"),
    (("accounts", "link", "d", "--role", "slave", "--platform", "demo", "--demo-profile", "harbor_fx",
      "--worker-host", "nats", "--nats", HUB, "--nats-user", "copier"), "only an mt5 or mt5_bridge account"),
])
def test_the_worker_host_and_its_bus_options_go_together(cli, home, args, words):
    code, _, err = cli(*args, stdin=NATS_PASSWORD + "\n")
    assert code == 2 and words in err, err
    assert not (home / "settings.json").exists()
