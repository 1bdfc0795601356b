"""The wizard's draft of a cTrader account and of a simulated cTrader broker: what is missing, by
field, what it becomes, and that the application secret and the tokens stay out of its repr."""

from __future__ import annotations

from copier_gui.connectors.ctrader import TokenPair
from copier_gui.ctrader_auth import LinkableAccount
from copier_gui.settings import AccountSettings
from copier_gui.ui.wizard.draft import AccountDraft

SECRET = "app-secret-0123456789"
PAIR = TokenPair("access-token-0123456789", "refresh-token-0123456789", 1_800_000_000.0)
LUMEN = LinkableAccount(40_001, 3_000_001, "Lumen", True, "live.ctraderapi.com", 5035, "hedged", "Lumen Prime Ltd",
                        10_000.0, ("EURUSD", "XAUUSD"))
KESTREL = LinkableAccount(40_002, 3_000_002, "Kestrel", False, "demo.ctraderapi.com", 5035, "netted")
MASTER = AccountSettings(id="master", role="master", platform="demo", demo_profile="meridian_ecn",
                         login=7_000_000, server="MeridianMarkets-Demo")


def signed_in(linked=(MASTER,)) -> AccountDraft:
    draft = AccountDraft.for_new_account(list(linked))
    draft.platform = "ctrader"
    draft.ctrader_client_id = "77_app"
    draft.ctrader_secret = SECRET
    draft.ctrader_tokens = PAIR
    draft.ctrader_accounts = [LUMEN, KESTREL]
    draft.account_id = "lumen"
    return draft


def test_each_missing_step_is_named_in_order():
    draft = AccountDraft.for_new_account([MASTER])
    draft.platform = "ctrader"
    problems = draft.problems()
    assert list(problems)[:3] == ["ctrader_client_id", "ctrader_secret", "ctrader_tokens"]
    assert "login" not in problems and "server" not in problems and "terminal_path" not in problems
    draft = signed_in()
    assert list(draft.problems()) == ["ctrader_account"]
    draft.ctrader_account = LUMEN
    assert draft.problems() == {}


def test_the_chosen_account_becomes_ctrader_settings_with_a_shared_token_key():
    draft = signed_in()
    draft.ctrader_account = LUMEN
    account = draft.to_settings()
    assert (account.platform, account.role, account.login, account.server) == ("ctrader", "slave", 3_000_001, "Lumen")
    assert (account.ctrader_account_id, account.ctrader_host, account.ctrader_port) == (40_001, "live.ctraderapi.com",
                                                                                       5035)
    assert account.ctrader_client_id == "77_app" and account.ctrader_token_key == "ctrader:77_app:40001"
    # A second account of the same cTrader ID, linked later, shares the first one's entry.
    again = signed_in([MASTER, account])
    again.account_id = "kestrel"
    again.ctrader_account = KESTREL
    assert again.to_settings().ctrader_token_key == "ctrader:77_app:40001"
    text = draft.summary(account)
    assert "Login: 3000001 at Lumen Prime Ltd (live)" in text and "Positions: hedged" in text
    assert "Application secret and cTrader tokens: kept in the system keyring" in text
    for secret in (SECRET, PAIR.access_token, PAIR.refresh_token):
        assert secret not in text and secret not in repr(draft) and secret not in account.model_dump_json()


def test_an_edited_ctrader_account_keeps_its_key_and_needs_no_secret():
    draft = signed_in()
    draft.ctrader_account = KESTREL
    account = draft.to_settings()
    edited = AccountDraft.from_settings(account, [MASTER, account])
    assert edited.ctrader_account.account_id == 40_002 and not edited.ctrader_account.is_live
    edited.label = "Kestrel netted"
    again = edited.to_settings()
    assert again.ctrader_token_key == account.ctrader_token_key and again.label == "Kestrel netted"
    assert again.model_dump(exclude={"label"}) == account.model_dump(exclude={"label"})


def test_a_simulated_ctrader_broker_is_a_demo_account_without_a_password():
    draft = AccountDraft.for_new_account([MASTER])
    draft.platform, draft.demo_profile = "demo", "kestrel_netting"
    draft.login, draft.server, draft.account_id = "6123456", "Kestrel-cTrader", "kestrel-demo"
    assert draft.ctrader_demo and draft.problems() == {}
    account = draft.to_settings()
    assert account.demo_platform == "ctrader"
    text = draft.summary(account)
    assert "Demo broker: Kestrel Markets Europe" in text and "Password: none (a simulated cTrader broker)" in text


def test_an_mt5linux_server_elsewhere_must_be_asked_for_as_such():
    draft = AccountDraft.for_new_account([MASTER])
    draft.platform, draft.terminal_path = "mt5_bridge", r"C:\MT5\terminal64.exe"
    draft.bridge_host, draft.bridge_kind = "192.0.2.7", "mt5linux"
    assert "not on this computer" in draft.terminal_problems()["bridge_kind"]
    draft.bridge_kind = "mt5linux_remote"
    assert "bridge_kind" not in draft.terminal_problems()
