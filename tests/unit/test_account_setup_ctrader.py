"""What linking shares for cTrader accounts and simulated cTrader brokers, and the bridge kind check."""

from __future__ import annotations

import keyring
import pytest

from copier_gui import account_setup as setup
from copier_gui.connectors.ctrader import TokenPair
from copier_gui.ctrader_auth import LinkableAccount, tokens_from_json
from copier_gui.settings import AccountSettings, Settings


def test_simulated_ctrader_brokers_are_demo_brokers_with_their_own_names():
    assert setup.demo_profile_problem("lumen_ctrader") == ""
    assert "kestrel_netting" in setup.demo_profile_problem("nope")
    assert setup.is_ctrader_demo("kestrel_netting") and not setup.is_ctrader_demo("harbor_fx")
    assert setup.demo_company("lumen_ctrader") == "Lumen Prime Ltd"
    assert setup.demo_server("lumen_ctrader") == "Lumen-cTrader"
    assert setup.demo_server("harbor_fx") == "HarborFX-Live2"


@pytest.mark.parametrize("kind, host, problem", [
    ("copier", "192.0.2.7", ""),
    ("mt5linux", "127.0.0.1", ""),
    ("mt5linux", "::1", ""),
    ("mt5linux", "192.0.2.7", "not on this computer"),
    ("mt5linux_remote", "192.0.2.7", ""),
    ("rpyc", "127.0.0.1", "not a bridge kind"),
])
def test_bridge_kind_problem(kind, host, problem):
    found = setup.bridge_kind_problem(kind, host)
    assert (problem in found) if problem else found == ""


def _ctrader(account_id: str, ctid: int, key: str, client_id: str = "77_app", role: str = "slave") -> AccountSettings:
    listed = LinkableAccount(ctid, 3_000_001, "Lumen", False, "demo.ctraderapi.com", 5035)
    return AccountSettings(id=account_id, role=role,
                           **setup.ctrader_fields(listed, client_id=client_id, token_key=key))


def test_ctrader_fields_make_a_valid_account_and_secrets_go_to_the_keyring():
    account = _ctrader("lumen", 41, "ctrader:77_app:41", role="master")
    assert (account.server, account.login, account.ctrader_host) == ("Lumen", 3_000_001, "demo.ctraderapi.com")
    pair = TokenPair("access-token-0123456789", "refresh-token-0123456789", 1_800_000_000.0)
    setup.store_ctrader_secrets("77_app", "app-secret", "ctrader:77_app:41", pair)
    assert keyring.get_password("copier-gui", "ctrader-app:77_app") == "app-secret"
    assert tokens_from_json(keyring.get_password("copier-gui", "ctrader:77_app:41")) == pair


def test_unlinking_keeps_what_another_account_still_uses():
    pair = TokenPair("access-token-0123456789", "refresh-token-0123456789", 1_800_000_000.0)
    setup.store_ctrader_secrets("77_app", "app-secret", "ctrader:77_app:41", pair)
    setup.store_ctrader_secrets("77_app", "app-secret", "ctrader:77_app:50", pair)
    first, second, other_id = (_ctrader("a", 41, "ctrader:77_app:41", role="master"),
                               _ctrader("b", 42, "ctrader:77_app:41"), _ctrader("c", 50, "ctrader:77_app:50"))
    said = setup.forget_secrets(first, Settings(accounts=[second, other_id]))
    assert said == ["its cTrader tokens stay in the keyring (ctrader:77_app:41): b uses them too"]
    said = setup.forget_secrets(second, Settings(accounts=[other_id]))
    assert said == ["its cTrader tokens were deleted from the keyring (ctrader:77_app:41)"]
    assert keyring.get_password("copier-gui", "ctrader-app:77_app") == "app-secret"
    setup.forget_secrets(other_id, Settings(accounts=[]))
    assert keyring.get_password("copier-gui", "ctrader-app:77_app") is None
    assert keyring.get_password("copier-gui", "ctrader:77_app:50") is None
