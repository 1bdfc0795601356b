"""The checks the wizard and ``copier-gui accounts link`` share, and the connection test."""

from __future__ import annotations

import asyncio

import pytest

from copier_gui import account_setup as setup
from copier_gui import secrets
from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.settings import AccountSettings


@pytest.mark.parametrize(("text", "problem"), [
    ("51234567", ""),
    (" 7 ", ""),
    ("", "Enter the account's login"),
    ("0", "0 is not a MetaTrader 5 login number"),
    ("12ab", "12ab is not a MetaTrader 5 login number"),
    ("-5", "-5 is not a MetaTrader 5 login number"),
    ("٣٤", "is not a MetaTrader 5 login number"),  # digits, but not ones a login is written in
    (str(2**64), "is not a MetaTrader 5 login number"),
])
def test_login_problem(text, problem):
    found = setup.login_problem(text)
    assert (problem in found) if problem else found == ""


def test_terminal_path_problem(tmp_path):
    exe = tmp_path / "terminal64.exe"
    assert "MetaTrader 4's terminal.exe" in setup.terminal_path_problem(r"C:\MT4\terminal.exe", "mt5")
    assert setup.terminal_path_problem(r"C:\MT5\notes.txt", "mt5") == "Choose the terminal's terminal64.exe, not notes.txt."
    assert setup.terminal_path_problem(str(exe), "mt5") == f"There is no terminal64.exe at {exe}."
    # The bridge's path is the Windows side's; a terminal on another computer cannot be checked.
    assert setup.terminal_path_problem(str(exe), "mt5_bridge") == ""
    assert setup.terminal_path_problem(str(exe), "mt5", check_exists=False) == ""
    exe.write_bytes(b"MZ")
    assert setup.terminal_path_problem(str(exe), "mt5") == ""


def test_ids_and_the_one_master():
    assert setup.account_id_problem("harbor-1", {"main"}) == ""
    assert "already linked" in setup.account_id_problem("main", {"main"})
    assert "cannot be an id" in setup.account_id_problem("Main", set())
    assert "Give the account an id" in setup.account_id_problem("", set())
    assert setup.master_problem("slave", "main") == ""
    assert setup.master_problem("master", None) == ""
    assert "'main' is already the master" in setup.master_problem("master", "main")


def test_a_demo_login_is_not_one_already_linked():
    class Frozen:
        def time(self):
            return 1_000.0

    first = setup.issue_demo_login("harbor_fx", Frozen())
    assert 5_000_000 <= first < 9_000_000
    assert setup.issue_demo_login("harbor_fx", Frozen()) == first  # the clock makes it, nothing else
    second = setup.issue_demo_login("harbor_fx", Frozen(), taken=[first])
    assert second != first and 5_000_000 <= second < 9_000_000


def test_suggest_id_avoids_ids_taken():
    assert setup.suggest_id("HarborFX-Live2", 123, set()) == "harborfx-live2-123"
    assert setup.suggest_id("HarborFX-Live2", 123, {"harborfx-live2-123"}) == "harborfx-live2-123-2"


def _demo(login: int, server: str = "HarborFX-Live2") -> AccountSettings:
    return AccountSettings(id="d", role="slave", platform="demo", demo_profile="harbor_fx", login=login,
                           server=server)


def test_the_connection_test_reads_the_account_and_its_symbols():
    account = _demo(6_000_001)
    secrets.store_password(setup.account_password_key(account), "pw-1")
    result = asyncio.run(setup.run_connection_test(setup.open_test_connection(account, SYSTEM_CLOCK)))
    assert result.state.login == 6_000_001 and result.state.company == "Harbor FX Europe AG"
    assert "EURUSD.m" in result.symbols and result.symbols == sorted(result.symbols)


def test_a_broker_that_knows_another_password_refuses_the_one_stored():
    account = _demo(6_000_002)
    secrets.store_password(setup.account_password_key(account), "typed")
    connection = setup.open_test_connection(account, SYSTEM_CLOCK, broker_password="the real one")
    with pytest.raises(setup.ConnectionTestFailed) as failed:
        asyncio.run(setup.run_connection_test(connection))
    assert "login failed for account 6000002" in failed.value.message and "typed" not in failed.value.message


def test_a_typed_password_is_tested_without_touching_the_keyring():
    account = _demo(6_000_003)
    key = setup.account_password_key(account)
    secrets.store_password(key, "the old one")
    result = asyncio.run(setup.run_connection_test(
        setup.open_test_connection(account, SYSTEM_CLOCK, password="typed, not saved yet")))
    assert result.state.login == 6_000_003
    assert secrets.get_password(key) == "the old one"


def test_unlinking_an_mt5linux_account_leaves_our_bridges_secret_at_the_same_address():
    from copier_gui.account_setup import forget_secrets
    from copier_gui.bridge import pairing
    from copier_gui.settings import AccountSettings, Settings

    ours = AccountSettings(id="wine", role="slave", platform="mt5_bridge", login=11, server="S", bridge_port=18812)
    other = AccountSettings(id="linux", role="slave", platform="mt5_bridge", login=12, server="S", bridge_port=18812,
                            bridge_kind="mt5linux")
    pairing.store_bridge_secret("127.0.0.1", 18812, pairing.new_secret())
    said = forget_secrets(other, Settings(accounts=[ours]))
    assert pairing.bridge_secret("127.0.0.1", 18812) is not None
    assert not any("bridge" in line for line in said)
    # The last of our bridge's accounts takes its secret with it, even when an mt5linux account
    # at that address stays.
    said = forget_secrets(ours, Settings(accounts=[other]))
    assert pairing.bridge_secret("127.0.0.1", 18812) is None and any("bridge" in line for line in said)
