"""``copier-gui accounts link --platform ctrader``, ``show``, ``list`` and ``remove`` for cTrader accounts.

Through ``main([...])`` with a real settings file and the test's own keyring, against the
simulated Spotware OAuth endpoint and Open API server (on a loop of their own, since the command
runs its own); the "browser" follows the consent page's redirect back to the command's listener.
"""

from __future__ import annotations

import io
import json
import sys

import keyring
import pytest

from copier_gui import accounts_cli
from copier_gui.cli import main
from copier_gui.settings import load_settings
from tests.unit.sim.ctrader.oauth_rig import CLIENT_ID, CLIENT_SECRET, Browser, servers_in_thread


@pytest.fixture
def home(tmp_path):
    return tmp_path / "copier-home"


@pytest.fixture
def servers(monkeypatch):
    with servers_in_thread() as running:
        monkeypatch.setattr(accounts_cli, "ctrader_endpoints", lambda: running.endpoints)
        yield running


@pytest.fixture
def browser(monkeypatch):
    opened = Browser()
    monkeypatch.setattr("webbrowser.open", opened)
    return opened


@pytest.fixture
def cli(home, monkeypatch, capsys):
    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        try:
            code = main(["--home", str(home), *args])
        except SystemExit as exc:  # argparse's refusals
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


def stored(key: str) -> str | None:
    return keyring.get_password("copier-gui", key)


def link(cli, account_id, *extra, role="master", stdin=CLIENT_SECRET + "\n"):
    return cli("accounts", "link", account_id, "--role", role, "--platform", "ctrader", "--client-id", CLIENT_ID,
               *extra, stdin=stdin)


def files_containing(folder, secret: str) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def test_link_through_the_browser_keeps_the_secret_and_tokens_in_the_keyring_only(cli, home, servers, browser):
    netted = servers.openapi.netted
    code, out, err = link(cli, "kestrel", "--login", str(netted.login))
    assert code == 0, err
    assert browser.opened and "cTrader's sign-in" in out and browser.statuses == [200]
    account = load_settings(home / "settings.json").account("kestrel")
    assert (account.platform, account.login, account.server) == ("ctrader", netted.login, "Kestrel")
    assert (account.ctrader_account_id, account.ctrader_client_id) == (netted.account_id, CLIENT_ID)
    assert (account.ctrader_host, account.ctrader_port) == (servers.openapi.host, servers.openapi.port)
    assert account.ctrader_token_key == f"ctrader:{CLIENT_ID}:{servers.openapi.hedged.account_id}"
    assert account.label == f"Kestrel Markets Europe {netted.login}"
    assert stored(f"ctrader-app:{CLIENT_ID}") == CLIENT_SECRET
    pair = json.loads(stored(account.ctrader_token_key))
    assert set(pair) == {"access_token", "refresh_token", "expires_at", "token_type"}
    assert netted.account_id in servers.openapi.tokens.check(pair["access_token"]).account_ids
    assert "netted" in out and "linked as the master" in out
    for secret in (CLIENT_SECRET, pair["access_token"], pair["refresh_token"]):
        assert secret not in out + err
        assert files_containing(home, secret) == []


def test_several_accounts_and_no_choice_is_refused_with_the_list_and_nothing_kept(cli, home, servers, browser):
    code, _, err = link(cli, "acct")
    assert code == 2
    assert "several accounts" in err and "--login N" in err
    assert str(servers.openapi.hedged.login) in err and str(servers.openapi.netted.login) in err
    assert "Nothing was linked" in err
    assert not (home / "settings.json").exists() and stored(f"ctrader-app:{CLIENT_ID}") is None
    # A choice no account fits is refused too, naming what was asked for.
    code, _, err = link(cli, "acct", "--live")
    assert code == 2 and "no account the token gives access to is live" in err


def test_pasted_tokens_and_a_ctid_account_link_without_a_browser(cli, home, servers, browser):
    grant = servers.openapi.grant_pair
    hedged = servers.openapi.hedged
    code, out, err = link(cli, "lumen", "--paste-token", "--ctid-account", str(hedged.account_id), "--demo-server",
                          stdin=f"{CLIENT_SECRET}\n{grant.access_token}\n{grant.refresh_token}\n")
    assert code == 0, err
    assert browser.opened == []
    account = load_settings(home / "settings.json").account("lumen")
    assert account.ctrader_account_id == hedged.account_id and "hedged" in out
    assert json.loads(stored(account.ctrader_token_key))["refresh_token"] == grant.refresh_token


def test_a_second_account_of_the_same_ctrader_id_shares_the_new_tokens(cli, home, servers, browser):
    assert link(cli, "lumen", "--login", str(servers.openapi.hedged.login))[0] == 0
    first = json.loads(stored(f"ctrader:{CLIENT_ID}:{servers.openapi.hedged.account_id}"))
    code, _, err = link(cli, "kestrel", "--login", str(servers.openapi.netted.login), role="slave")
    assert code == 0, err
    settings = load_settings(home / "settings.json")
    assert settings.account("lumen").ctrader_token_key == settings.account("kestrel").ctrader_token_key
    second = json.loads(stored(settings.account("kestrel").ctrader_token_key))
    assert second["access_token"] != first["access_token"]


@pytest.mark.parametrize("setup, problem", [
    ("deny", "access was refused on cTrader's consent page"),
    ("forge", "did not carry this sign-in's state"),
])
def test_a_refused_or_forged_sign_in_links_nothing(cli, home, servers, browser, setup, problem):
    if setup == "deny":
        servers.oauth.deny = True
    else:
        servers.oauth.state_override = "forged"
    code, _, err = link(cli, "acct", "--login", str(servers.openapi.hedged.login))
    assert code == 2 and problem in err and "Nothing was linked" in err
    assert "Traceback" not in err
    assert not (home / "settings.json").exists() and stored(f"ctrader-app:{CLIENT_ID}") is None


def test_a_wrong_application_secret_is_named(cli, home, servers, browser):
    grant = servers.openapi.grant_pair
    code, _, err = link(cli, "acct", "--paste-token", stdin=f"wrong-secret\n{grant.access_token}\n{grant.refresh_token}\n")
    assert code == 2 and "check its client id and secret" in err and "wrong-secret" not in err


def test_secrets_on_the_command_line_are_refused_without_repeating_them(cli, home):
    code, _, err = link(cli, "acct", "--client-secret", "hunter2-secret")
    assert code == 2 and "never taken on the command line" in err and "hunter2-secret" not in err
    code, _, err = link(cli, "acct", "--access-token", "tok-123456789")
    assert code == 2 and "tok-123456789" not in err


@pytest.mark.parametrize("args, problem", [
    (["--platform", "ctrader", "--client-id", "x", "--server", "S"], "--server does not apply to ctrader accounts"),
    (["--platform", "demo", "--demo-profile", "harbor_fx", "--client-id", "x"], "--client-id does not apply to demo"),
    (["--platform", "ctrader"], "needs --client-id"),
    (["--platform", "ctrader", "--client-id", "x", "--live", "--demo-server"], "not allowed with argument"),
])
def test_options_that_do_not_fit_are_refused(cli, home, args, problem):
    code, _, err = cli("accounts", "link", "acct", "--role", "master", *args, stdin=CLIENT_SECRET + "\n")
    assert code == 2 and problem in err


def test_show_and_list_name_the_keyring_entries_never_the_secrets(cli, home, servers, browser):
    assert link(cli, "kestrel", "--login", str(servers.openapi.netted.login))[0] == 0
    key = load_settings(home / "settings.json").account("kestrel").ctrader_token_key
    pair = json.loads(stored(key))
    code, out, err = cli("accounts", "show", "kestrel")
    assert code == 0, err
    assert f"ctidTraderAccountId: {servers.openapi.netted.account_id}" in out
    assert f"application:         {CLIENT_ID}" in out
    assert f"in the system keyring ({key})" in out and "access token runs until" in out
    code, out, _ = cli("accounts", "list")
    assert "tokens stored" in out and "(demo)" not in out  # the simulated proxy is neither live nor demo by name
    for text in (CLIENT_SECRET, pair["access_token"], pair["refresh_token"]):
        assert text not in out
    keyring.delete_password("copier-gui", key)
    assert "MISSING from the system keyring" in cli("accounts", "show", "kestrel")[1]
    assert "tokens missing" in cli("accounts", "list")[1]


def test_removing_the_last_account_of_a_ctrader_id_deletes_its_tokens_and_the_app_secret(cli, home, servers, browser):
    assert link(cli, "lumen", "--login", str(servers.openapi.hedged.login))[0] == 0
    assert link(cli, "kestrel", "--login", str(servers.openapi.netted.login), role="slave")[0] == 0
    key = load_settings(home / "settings.json").account("kestrel").ctrader_token_key
    code, out, _ = cli("accounts", "remove", "kestrel")
    assert code == 0 and f"its cTrader tokens stay in the keyring ({key}): lumen uses them too" in out
    assert stored(key) is not None and stored(f"ctrader-app:{CLIENT_ID}") is not None
    code, out, _ = cli("accounts", "remove", "lumen")
    assert code == 0 and "its cTrader tokens were deleted" in out and "application's secret was deleted" in out
    assert stored(key) is None and stored(f"ctrader-app:{CLIENT_ID}") is None


def test_a_simulated_ctrader_broker_links_as_a_demo_account_without_a_password(cli, home):
    code, out, err = cli("accounts", "link", "demo-kestrel", "--role", "master", "--platform", "demo",
                         "--demo-profile", "kestrel_netting")
    assert code == 0, err
    account = load_settings(home / "settings.json").account("demo-kestrel")
    assert account.demo_platform == "ctrader" and account.server == "Kestrel-cTrader"
    assert 5_000_000 <= account.login < 9_000_000
    assert "Kestrel Markets Europe" in out and "needs no password" in out
    code, out, _ = cli("accounts", "show", "demo-kestrel")
    assert "demo broker: kestrel_netting (Kestrel Markets Europe)" in out and "password" not in out
    assert "none needed" in cli("accounts", "list")[1]


def test_show_prints_an_mt5_demo_account_and_where_its_password_is(cli, home):
    code, _, err = cli("accounts", "link", "harbor", "--role", "master", "--platform", "demo",
                       "--demo-profile", "harbor_fx", stdin="Tr0ub4dor&3-vps\n")
    assert code == 0, err
    account = load_settings(home / "settings.json").account("harbor")
    code, out, _ = cli("accounts", "show", "harbor")
    assert code == 0 and "platform:    demo" in out and "demo broker: harbor_fx (Harbor FX Europe AG)" in out
    assert f"password:    in the system keyring (HarborFX-Live2:{account.login})" in out
    assert "Tr0ub4dor" not in out
    code, _, err = cli("accounts", "show", "nobody")
    assert code == 2 and "nobody" in err
