"""``copier-gui accounts ...``: linking and editing accounts on a server without a window.

Through ``main([...])`` with a real settings file, the test's own keyring and real simulated
brokers; passwords come on standard input, as a script would give them.
"""

from __future__ import annotations

import io
import json
import re
import socket
import sys

import keyring
import pytest
import yaml

from copier_gui import instance
from copier_gui.bridge import pairing
from copier_gui.cli import main
from copier_gui.clock import SYSTEM_CLOCK
from copier_gui.core.rules import CopyRules
from copier_gui.paths import UserPaths
from copier_gui.settings import load_settings
from copier_gui.sim import PROFILES, new_terminal

PASSWORD = "Tr0ub4dor&3-vps"
OTHER = "correct-horse-battery"


@pytest.fixture
def home(tmp_path):
    return tmp_path / "copier-home"


@pytest.fixture
def cli(home, monkeypatch, capsys):
    """Run ``copier-gui --home HOME ARGS`` with ``stdin`` as piped standard input (no terminal)."""

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(["--home", str(home), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def settings(home):
    return load_settings(home / "settings.json")


def stored(key: str) -> str | None:
    return keyring.get_password("copier-gui", key)


def files_containing(folder, secret: str) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def link_demo(cli, account_id, role="slave", profile="harbor_fx", *extra, password=PASSWORD):
    return cli("accounts", "link", account_id, "--role", role, "--platform", "demo",
               "--demo-profile", profile, *extra, stdin=password + "\n")


# ---------------------------------------------------------------------------- link

def test_link_a_demo_account_keeps_the_password_in_the_keyring_only(cli, home):
    code, out, err = link_demo(cli, "harbor-1", "master", "harbor_fx", "--label", "Harbor main")
    assert code == 0, err
    account = settings(home).account("harbor-1")
    assert account.role == "master" and account.platform == "demo" and account.demo_profile == "harbor_fx"
    # The demo broker opened the account: its server, a login it issued.
    assert account.server == "HarborFX-Live2" and 5_000_000 <= account.login < 9_000_000
    assert account.label == "Harbor main"
    assert stored(f"HarborFX-Live2:{account.login}") == PASSWORD
    # Tested: the output says what the broker answered.
    assert f"connected to account {account.login} at Harbor FX Europe AG" in out
    assert "EUR" in out and "hedging" in out
    assert "harbor-1 linked as the master" in out
    # The password is in no file of the user folder, nor in what was printed.
    assert files_containing(home, PASSWORD) == []
    assert PASSWORD not in out + err
    assert "password" not in json.loads((home / "settings.json").read_text())["accounts"][0]


def test_link_a_slave_gets_default_rules_and_a_magic_number(cli, home):
    assert link_demo(cli, "summit", "slave", "summit_netting", "--login", "7000001", "--magic", "4242")[0] == 0
    account = settings(home).account("summit")
    assert account.login == 7000001 and account.magic == 4242
    assert account.rules == CopyRules()


def test_the_password_read_from_a_terminal_is_asked_for_without_echo(cli, home, monkeypatch):
    prompts = []

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("getpass.getpass", lambda prompt="": prompts.append(prompt) or PASSWORD)
    monkeypatch.setattr(sys, "stdin", Terminal(""))
    code = main(["--home", str(home), "accounts", "link", "m", "--role", "master", "--platform", "demo",
                 "--demo-profile", "meridian_ecn"])
    assert code == 0
    assert len(prompts) == 1 and "Password" in prompts[0]
    assert stored(f"MeridianMarkets-Demo:{settings(home).account('m').login}") == PASSWORD


@pytest.mark.parametrize(("args", "problem"), [
    (["--demo-profile", "nowhere_fx"], "'nowhere_fx' is not a demo broker"),
    (["--demo-profile", "harbor_fx", "--login", "12ab"], "12ab is not a MetaTrader 5 login number"),
    (["--demo-profile", "harbor_fx", "--login", "0"], "0 is not a MetaTrader 5 login number"),
    (["--demo-profile", "harbor_fx", "--server", "Elsewhere-Live"], "HarborFX-Live2"),
    (["--demo-profile", "harbor_fx", "--terminal-path", r"C:\MT5\terminal64.exe"], "--terminal-path"),
    ([], "--demo-profile"),
])
def test_bad_demo_input_is_refused_with_one_line_and_nothing_written(cli, home, args, problem):
    code, out, err = cli("accounts", "link", "x", "--role", "slave", "--platform", "demo", *args,
                         stdin=PASSWORD + "\n")
    assert code == 2
    assert problem in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (home / "settings.json").exists()
    assert files_containing(home.parent, PASSWORD) == []


TERMINAL = r"C:\Program Files\MetaTrader 5\terminal64.exe"


@pytest.mark.parametrize(("args", "problem"), [
    (["--login", "51234567", "--server", "Broker-Demo", "--terminal-path", r"C:\MT4\terminal.exe"],
     "MetaTrader 4's terminal.exe"),
    (["--login", "51234567", "--server", "Broker-Demo", "--terminal-path", r"C:\MT5\notes.txt"],
     "terminal64.exe, not notes.txt"),
    (["--server", "Broker-Demo", "--terminal-path", TERMINAL], "--login"),
    (["--login", "51234567", "--terminal-path", TERMINAL], "--server"),
    (["--login", "51234567", "--server", "Broker-Demo"], "--terminal-path"),
    (["--login", "-5", "--server", "Broker-Demo", "--terminal-path", TERMINAL],
     "-5 is not a MetaTrader 5 login number"),
    (["--login", "51234567", "--server", "Broker-Demo", "--terminal-path", TERMINAL, "--demo-profile",
      "harbor_fx"], "--demo-profile"),
    (["--login", "51234567", "--server", "Broker-Demo", "--terminal-path", TERMINAL, "--bridge",
      "127.0.0.1:18812"], "--bridge"),
])
def test_bad_terminal_input_is_refused(cli, home, args, problem):
    code, _, err = cli("accounts", "link", "x", "--role", "slave", "--platform", "mt5", "--no-test", *args,
                       stdin=PASSWORD + "\n")
    assert code == 2
    assert problem in err and "Traceback" not in err
    assert not (home / "settings.json").exists()


def test_an_unknown_platform_is_an_argument_error(cli):
    with pytest.raises(SystemExit) as exit_:
        cli("accounts", "link", "x", "--role", "slave", "--platform", "mt4")
    assert exit_.value.code == 2


def test_a_password_on_the_command_line_is_refused_without_repeating_it(cli, home, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--home", str(home), "accounts", "link", "x", "--role", "master", "--platform", "demo",
              "--demo-profile", "harbor_fx", "--password", PASSWORD])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "never" in err and "command line" in err and PASSWORD not in err
    assert not (home / "settings.json").exists()


def test_an_empty_or_missing_password_is_refused(cli, home):
    for stdin in ("\n", ""):
        code, _, err = link_demo(cli, "x", "master", password="") if stdin == "\n" else cli(
            "accounts", "link", "x", "--role", "master", "--platform", "demo", "--demo-profile", "harbor_fx",
            stdin=stdin)
        assert code == 2 and "password" in err.lower()
    assert not (home / "settings.json").exists()


def test_a_duplicate_id_and_a_second_master_are_refused(cli, home):
    assert link_demo(cli, "main", "master", "meridian_ecn")[0] == 0
    code, _, err = link_demo(cli, "main", "slave", "harbor_fx", password=OTHER)
    assert code == 2 and "An account with the id 'main' is already linked" in err
    code, _, err = link_demo(cli, "second", "master", "harbor_fx", password=OTHER)
    assert code == 2 and "'main' is already the master" in err and "set-master" in err
    assert [a.id for a in settings(home).accounts] == ["main"]
    assert files_containing(home.parent, OTHER) == []


def test_a_wrong_password_for_a_demo_account_that_exists_fails_the_test(cli, home):
    assert link_demo(cli, "harbor", "slave", "harbor_fx")[0] == 0
    login = settings(home).account("harbor").login
    code, out, _ = cli("accounts", "remove", "harbor", "--keep-password")
    assert code == 0 and "kept in the keyring" in out
    # Linking the same broker account again: the demo broker knows its password.
    code, out, err = link_demo(cli, "harbor-again", "slave", "harbor_fx", "--login", str(login), password=OTHER)
    assert code == 2
    assert f"login failed for account {login} on HarborFX-Live2: check the password and server" in err
    assert OTHER not in out + err
    assert stored(f"HarborFX-Live2:{login}") == PASSWORD  # the right one is kept
    assert settings(home).account("harbor-again") is None
    code, _, err = link_demo(cli, "harbor-again", "slave", "harbor_fx", "--login", str(login))
    assert code == 0, err


@pytest.mark.skipif(sys.platform == "win32", reason="the MetaTrader5 package exists on Windows")
def test_an_mt5_account_on_linux_is_linked_only_untested(cli, home, tmp_path):
    args = ("accounts", "link", "live", "--role", "master", "--platform", "mt5", "--login", "51234567",
            "--server", "Broker-Live", "--terminal-path", TERMINAL)
    code, _, err = cli(*args, stdin=PASSWORD + "\n")
    assert code == 2
    assert "only available on Windows" in err and "--no-test" in err
    assert stored("Broker-Live:51234567") is None and not (home / "settings.json").exists()

    code, out, err = cli(*args, "--no-test", stdin=PASSWORD + "\n")
    assert code == 0, err
    assert "not tested" in out
    account = settings(home).account("live")
    assert account.platform == "mt5" and account.terminal_path == TERMINAL and account.login == 51234567
    assert stored("Broker-Live:51234567") == PASSWORD
    assert files_containing(home, PASSWORD) == []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_bridge_account_stores_its_password_and_the_bridge_secret(cli, home):
    secret = pairing.new_secret()
    args = ("accounts", "link", "wine", "--role", "master", "--platform", "mt5_bridge", "--login", "51234567",
            "--server", "Broker-Live", "--terminal-path", TERMINAL, "--bridge", "127.0.0.1:18999")
    code, _, err = cli(*args, "--no-test", stdin=f"{PASSWORD}\nshort\n")
    assert code == 2 and "That shared secret is 5 characters long" in err
    assert stored("Broker-Live:51234567") is None and not (home / "settings.json").exists()

    code, out, err = cli(*args, "--no-test", stdin=f"{PASSWORD}\n{secret}\n")
    assert code == 0, err
    account = settings(home).account("wine")
    assert (account.bridge_host, account.bridge_port) == ("127.0.0.1", 18999)
    assert stored("Broker-Live:51234567") == PASSWORD
    assert pairing.bridge_secret("127.0.0.1", 18999) == secret
    assert files_containing(home, PASSWORD) == [] and files_containing(home, secret) == []
    assert PASSWORD not in out + err and secret not in out + err
    code, out, _ = cli("accounts", "list")
    assert "51234567@Broker-Live via 127.0.0.1:18999" in out and "no bridge secret" not in out

    code, out, _ = cli("accounts", "remove", "wine")
    assert code == 0 and "bridge at 127.0.0.1:18999" in out
    assert pairing.bridge_secret("127.0.0.1", 18999) is None and stored("Broker-Live:51234567") is None


def test_a_bridge_that_does_not_answer_fails_the_test_and_stores_nothing(cli, home):
    port = _free_port()
    earlier = pairing.new_secret()
    pairing.store_bridge_secret("127.0.0.1", port, earlier)
    code, out, err = cli("accounts", "link", "wine", "--role", "master", "--platform", "mt5_bridge",
                         "--login", "51234567", "--server", "Broker-Live", "--terminal-path", TERMINAL,
                         "--bridge", f"127.0.0.1:{port}", stdin=f"{PASSWORD}\n{pairing.new_secret()}\n")
    assert code == 2, out
    assert err.startswith("copier-gui: error: the connection test failed:") and f"127.0.0.1:{port}" in err
    assert "--no-test" in err and "Traceback" not in err
    # What was in the keyring before is back.
    assert stored("Broker-Live:51234567") is None
    assert pairing.bridge_secret("127.0.0.1", port) == earlier
    assert not (home / "settings.json").exists()


def test_an_mt5linux_account_is_tested_on_its_server_and_asked_for_no_bridge_secret(cli, home, monkeypatch):
    # A real rpyc classic server in this process, whose MetaTrader5 module is a simulated terminal.
    from tests.unit.bridge.test_mt5linux import LOGIN, SERVER, classic_server
    from tests.unit.bridge.test_mt5linux import PASSWORD as TERMINAL_PASSWORD

    sim = new_terminal("meridian_ecn", seed=4, clock=SYSTEM_CLOCK, login=LOGIN, password=TERMINAL_PASSWORD)
    monkeypatch.setitem(sys.modules, "MetaTrader5", sim)
    with classic_server() as server:
        # Only the password is read: a bridge secret on the next line would be left unread.
        code, out, err = cli("accounts", "link", "wine", "--role", "master", "--platform", "mt5_bridge",
                             "--login", str(LOGIN), "--server", SERVER,
                             "--terminal-path", PROFILES["meridian_ecn"].terminal_path,
                             "--bridge", f"127.0.0.1:{server.port}", "--bridge-kind", "mt5linux",
                             stdin=f"{TERMINAL_PASSWORD}\n")
    assert code == 0, err
    assert f"through the mt5linux server at 127.0.0.1:{server.port}" in out and f"account {LOGIN}" in out
    account = settings(home).account("wine")
    assert (account.bridge_kind, account.bridge_port) == ("mt5linux", server.port)
    assert stored(f"{SERVER}:{LOGIN}") == TERMINAL_PASSWORD
    assert pairing.bridge_secret("127.0.0.1", server.port) is None
    code, out, _ = cli("accounts", "list")
    assert f"via 127.0.0.1:{server.port} (mt5linux)" in out and "no bridge secret" not in out


@pytest.mark.parametrize("args, problem", [
    (["--platform", "mt5_bridge", "--bridge", "192.0.2.7:18812", "--bridge-kind", "mt5linux"],
     r"the mt5linux server at 192\.0\.2\.7:18812 is not on this computer.*mt5linux_remote"),
    (["--platform", "mt5", "--bridge-kind", "mt5linux"], "--bridge-kind does not apply to mt5 accounts"),
])
def test_an_mt5linux_server_beyond_this_computer_or_off_the_bridge_is_refused(cli, home, args, problem):
    code, _, err = cli("accounts", "link", "wine", "--role", "master", "--login", "51234567", "--server",
                       "Broker-Live", "--terminal-path", TERMINAL, *args, "--no-test", stdin=f"{PASSWORD}\n")
    assert code == 2 and re.search(problem, err), err
    assert "Traceback" not in err and not (home / "settings.json").exists()


def test_an_mt5linux_remote_account_is_linked_untested_with_its_kind(cli, home):
    code, out, err = cli("accounts", "link", "wine", "--role", "master", "--platform", "mt5_bridge", "--login",
                         "51234567", "--server", "Broker-Live", "--terminal-path", TERMINAL, "--bridge",
                         "192.0.2.7:18812", "--bridge-kind", "mt5linux_remote", "--no-test", stdin=f"{PASSWORD}\n")
    assert code == 0, err
    assert settings(home).account("wine").bridge_kind == "mt5linux_remote"
    assert stored("Broker-Live:51234567") == PASSWORD


def test_without_a_usable_keyring_nothing_is_linked_and_list_says_why(cli, home, monkeypatch):
    import keyring.backends.fail
    import keyring.core

    assert link_demo(cli, "main", "master", "meridian_ecn")[0] == 0
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    keyring.core.set_keyring(keyring.backends.fail.Keyring())
    code, _, err = link_demo(cli, "harbor", "slave", "harbor_fx", password=OTHER)
    assert code == 2 and "could not read the password" in err and "system keyring" in err
    assert OTHER not in err and settings(home).account("harbor") is None
    code, out, _ = cli("accounts", "list")
    assert code == 0 and "unknown" in out and "the keyring could not be read" in out


# ---------------------------------------------------------------------------- list, remove, set-master

def test_list_shows_each_account_and_whether_its_password_is_stored(cli, home):
    code, out, _ = cli("accounts", "list")
    assert code == 0 and "no linked accounts" in out
    assert link_demo(cli, "main", "master", "meridian_ecn", "--label", "Main")[0] == 0
    assert link_demo(cli, "harbor", "slave", "harbor_fx")[0] == 0
    login = settings(home).account("harbor").login
    keyring.delete_password("copier-gui", f"HarborFX-Live2:{login}")
    code, out, _ = cli("accounts", "list")
    assert code == 0
    lines = out.splitlines()
    header = lines[0].split()
    assert header[:4] == ["ID", "ROLE", "PLATFORM", "ACCOUNT"]
    main_line = next(line for line in lines if " main " in f" {line} ")
    harbor_line = next(line for line in lines if "harbor" in line)
    assert main_line.startswith("*") and "master" in main_line and "stored" in main_line and "Main" in main_line
    assert "meridian_ecn" in main_line and "@MeridianMarkets-Demo" in main_line
    assert f"{login}@HarborFX-Live2" in harbor_line and "missing" in harbor_line and " on " in harbor_line
    assert "* the master" in out


def test_remove_deletes_the_password_unless_another_account_uses_it(cli, home):
    assert link_demo(cli, "main", "master", "meridian_ecn")[0] == 0
    assert link_demo(cli, "a", "slave", "harbor_fx")[0] == 0
    login = settings(home).account("a").login
    key = f"HarborFX-Live2:{login}"
    # The same broker account linked twice (say, with other rules): one keyring entry.
    assert link_demo(cli, "b", "slave", "harbor_fx", "--login", str(login))[0] == 0
    code, out, _ = cli("accounts", "remove", "a")
    assert code == 0 and "b uses it too" in out
    assert stored(key) == PASSWORD
    code, out, _ = cli("accounts", "remove", "b")
    assert code == 0 and "deleted from the keyring" in out
    assert stored(key) is None
    assert [a.id for a in settings(home).accounts] == ["main"]
    code, _, err = cli("accounts", "remove", "b")
    assert code == 2 and "no account 'b'" in err and "main" in err


def test_removing_the_master_is_allowed_with_a_warning(cli, home):
    assert link_demo(cli, "main", "master", "meridian_ecn")[0] == 0
    code, out, _ = cli("accounts", "remove", "main")
    assert code == 0 and "copying needs a master" in out and "set-master" in out
    assert settings(home).accounts == []


def test_set_master_swaps_the_roles(cli, home):
    assert link_demo(cli, "main", "master", "meridian_ecn")[0] == 0
    assert link_demo(cli, "harbor", "slave", "harbor_fx")[0] == 0
    assert cli("accounts", "rules", "edit", "harbor", "--set", "sizing.multiplier=0.5")[0] == 0
    code, out, _ = cli("accounts", "set-master", "harbor")
    assert code == 0
    assert "harbor is now the master" in out and "main is now a slave" in out
    # The rules it had as a slave, as a command that gives them back, so they are not lost.
    assert "--set sizing.multiplier=0.5" in out and "multiplier=1" not in out
    after = settings(home)
    assert after.master.id == "harbor" and after.account("main").rules == CopyRules()
    code, out, _ = cli("accounts", "set-master", "harbor")
    assert code == 0 and "already the master" in out
    code, _, err = cli("accounts", "set-master", "nobody")
    assert code == 2 and "no account 'nobody'" in err


# ---------------------------------------------------------------------------- rules

def test_rules_show_prints_the_rules_with_their_defaults(cli, home):
    assert link_demo(cli, "main", "master", "meridian_ecn")[0] == 0
    assert link_demo(cli, "harbor", "slave", "harbor_fx")[0] == 0
    code, out, _ = cli("accounts", "rules", "show", "harbor")
    assert code == 0 and yaml.safe_load(out) == CopyRules().model_dump(mode="json")
    code, out, _ = cli("accounts", "rules", "show", "harbor", "--format", "json")
    assert code == 0 and json.loads(out) == CopyRules().model_dump(mode="json")
    code, _, err = cli("accounts", "rules", "show", "main")
    assert code == 2 and "master" in err and "slave" in err


def test_rules_edit_with_set_validates_and_saves(cli, home):
    assert link_demo(cli, "harbor", "slave", "harbor_fx")[0] == 0
    code, out, err = cli("accounts", "rules", "edit", "harbor", "--set", "sizing.mode=fixed_lot",
                         "--set", "sizing.lots=0.2", "--set", "symbols.aliases.GOLDSPOT=GOLD.m",
                         "--set", 'filters.include_symbols=["EURUSD", "GOLDSPOT"]',
                         "--set", "risk.daily_loss.value=250")
    assert code == 0, err
    assert "sizing.mode: lot_multiplier -> fixed_lot" in out and "sizing.lots: 0.01 -> 0.2" in out
    rules = settings(home).account("harbor").rules
    assert rules.sizing.mode == "fixed_lot" and rules.sizing.lots == 0.2
    assert rules.symbols.aliases == {"GOLDSPOT": "GOLD.m"}
    assert rules.filters.include_symbols == ["EURUSD", "GOLDSPOT"]
    assert rules.risk.daily_loss.value == 250


@pytest.mark.parametrize(("setting", "field"), [
    ("sizing.multiplier=-1", "sizing.multiplier"),
    ("sizing.mode=martingale", "sizing.mode"),
    ("tolerances.max_delay_ms=soon", "tolerances.max_delay_ms"),
    ("sizing.multipler=2", "multipler"),
    ("sizing.min_lot=2", None),
    ("sizing", "sizing"),
])
def test_rules_edit_names_the_field_of_a_bad_value_and_saves_nothing(cli, home, setting, field):
    assert link_demo(cli, "harbor", "slave", "harbor_fx")[0] == 0
    before = (home / "settings.json").read_bytes()
    extra = ["--set", "sizing.max_lot=1"] if setting.startswith("sizing.min_lot") else []
    code, _, err = cli("accounts", "rules", "edit", "harbor", "--set", setting, *extra)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert (field or "min_lot 2.0 is above max_lot 1.0") in err
    assert (home / "settings.json").read_bytes() == before


def test_rules_edit_takes_a_price_limit_in_units_and_the_older_points_key(cli, home):
    assert link_demo(cli, "harbor", "slave", "harbor_fx")[0] == 0
    code, out, err = cli("accounts", "rules", "edit", "harbor", "--set",
                         'tolerances.max_price_deviation={"value": 2, "unit": "pip"}')
    assert code == 0, err
    assert settings(home).account("harbor").rules.tolerances.max_price_deviation.unit == "pip"
    # The older key replaces the limit it stands for, rather than contradicting it.
    code, out, err = cli("accounts", "rules", "edit", "harbor", "--set", "tolerances.max_price_deviation_points=50")
    assert code == 0, err
    limit = settings(home).account("harbor").rules.tolerances.max_price_deviation
    assert (limit.value, limit.unit) == (50, "point")
    assert "max_price_deviation_points" not in (home / "settings.json").read_text()


def test_rules_edit_from_a_file(cli, home, tmp_path):
    assert link_demo(cli, "harbor", "slave", "harbor_fx")[0] == 0
    good = tmp_path / "rules.yaml"
    good.write_text("sizing:\n  mode: balance_ratio\n  multiplier: 2\ncopy_pending: false\n")
    code, _, err = cli("accounts", "rules", "edit", "harbor", "--file", str(good))
    assert code == 0, err
    rules = settings(home).account("harbor").rules
    assert rules.sizing.mode == "balance_ratio" and rules.sizing.multiplier == 2 and not rules.copy_pending
    bad = tmp_path / "rules.json"
    bad.write_text('{"sizing": {"multiplier": 2, "multiplier": 3}}')
    code, _, err = cli("accounts", "rules", "edit", "harbor", "--file", str(bad))
    assert code == 2 and str(bad) in err and "'multiplier' appears twice" in err
    bad.write_text('{"stops": {"mode": "fixed_offset"}}')
    code, _, err = cli("accounts", "rules", "edit", "harbor", "--file", str(bad))
    assert code == 2 and "stops: fixed_offset needs sl_points or tp_points" in err
    code, _, err = cli("accounts", "rules", "edit", "harbor", "--file", str(tmp_path / "missing.yaml"))
    assert code == 2 and "missing.yaml" in err
    # What `rules show` prints can be edited and given back on standard input.
    shown = cli("accounts", "rules", "show", "harbor")[1].replace("copy_pending: false", "copy_pending: true")
    code, _, err = cli("accounts", "rules", "edit", "harbor", "--file", "-", stdin=shown)
    assert code == 0, err
    assert settings(home).account("harbor").rules.copy_pending


def test_rules_edit_without_changes_or_a_terminal_explains(cli, home):
    assert link_demo(cli, "harbor", "slave", "harbor_fx")[0] == 0
    code, _, err = cli("accounts", "rules", "edit", "harbor")
    assert code == 2 and "--set" in err and "--file" in err


def test_rules_edit_opens_the_editor_on_a_terminal(cli, home, monkeypatch, tmp_path):
    assert link_demo(cli, "harbor", "slave", "harbor_fx")[0] == 0
    # An "editor" that changes the multiplier in the file it is given.
    editor = tmp_path / "editor.py"
    editor.write_text("import sys, pathlib\np = pathlib.Path(sys.argv[1])\n"
                      "p.write_text(p.read_text().replace('multiplier: 1.0', 'multiplier: 3.0', 1))\n")
    monkeypatch.setenv("VISUAL", f"{sys.executable} {editor}")

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdin", Terminal(""))
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    assert main(["--home", str(home), "accounts", "rules", "edit", "harbor"]) == 0
    assert settings(home).account("harbor").rules.sizing.multiplier == 3.0


# ---------------------------------------------------------------------------- every command

COMMANDS = [
    ("accounts", "list"),
    ("accounts", "remove", "x"),
    ("accounts", "set-master", "x"),
    ("accounts", "rules", "show", "x"),
    ("accounts", "rules", "edit", "x", "--set", "sizing.multiplier=2"),
    ("accounts", "link", "x", "--role", "slave", "--platform", "demo", "--demo-profile", "harbor_fx"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[1:3]))
def test_a_damaged_settings_file_is_named_and_left_alone(cli, home, command):
    home.mkdir()
    damaged = b'{"accounts": [{"id": "x", "role": "boss", "platform": "demo"}]'
    (home / "settings.json").write_bytes(damaged)
    code, _, err = cli(*command, stdin=PASSWORD + "\n")
    assert code == 2
    assert err.startswith(f"copier-gui: error: the settings file {home / 'settings.json'} cannot be used")
    assert (home / "settings.json").read_bytes() == damaged
    assert files_containing(home.parent, PASSWORD) == []


def test_changes_wait_while_a_copier_runs_on_the_folder(cli, home):
    assert link_demo(cli, "main", "master", "meridian_ecn")[0] == 0
    lock = instance.InstanceLock(UserPaths(home)).acquire()
    try:
        code, _, err = link_demo(cli, "harbor", "slave", "harbor_fx", password=OTHER)
        assert code == instance.EXIT_ALREADY_RUNNING
        assert "stop it first" in err and "reads the settings only when it starts" in err
        assert files_containing(home.parent, OTHER) == []
        # Reading runs beside it.
        assert cli("accounts", "list")[0] == 0
    finally:
        lock.release()
    assert [a.id for a in settings(home).accounts] == ["main"]


# ---------------------------------------------------------------------------- a server, start to end

def test_a_vps_links_a_master_and_three_slaves(cli, home):
    passwords = {"master": "m-pass-1", "harbor": "h-pass-2", "summit": "s-pass-3", "apex": "a-pass-4"}
    assert link_demo(cli, "master", "master", "meridian_ecn", "--label", "Strategy",
                     password=passwords["master"])[0] == 0
    for slave, profile in (("harbor", "harbor_fx"), ("summit", "summit_netting"), ("apex", "apex_prop")):
        code, out, err = link_demo(cli, slave, "slave", profile, password=passwords[slave])
        assert code == 0, err
        assert f"connected to account {settings(home).account(slave).login} at {PROFILES[profile].company}" in out
    assert cli("accounts", "rules", "edit", "apex", "--set", "risk.preset=two_step_challenge")[0] == 0
    code, out, _ = cli("accounts", "list")
    assert code == 0
    assert out.count("stored") == 4 and "missing" not in out
    assert "1 master, 3 slaves" in out
    current = settings(home)
    for account in current.accounts:
        assert stored(f"{account.server}:{account.login}") == passwords[account.id]
    assert current.account("apex").rules.risk.preset == "two_step_challenge"
    for secret in passwords.values():
        assert files_containing(home, secret) == []
