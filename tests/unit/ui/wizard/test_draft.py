"""The wizard's draft: what is wrong with an account as entered, by field, and what it becomes.

No Qt here: the draft is plain Python, checked the way the wizard and the edit dialog use it.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from copier_gui.core.rules import CopyRules, Filters, Limit, Risk, Sizing, SizingMode, SymbolMapping
from copier_gui.settings import AccountSettings
from copier_gui.ui.wizard.draft import TEST_ID, AccountDraft, DraftInvalid

MASTER = AccountSettings(id="master", role="master", platform="demo", demo_profile="meridian_ecn",
                         login=7_000_000, server="MeridianMarkets-Demo")
SLAVE = AccountSettings(id="slave-1", role="slave", platform="demo", demo_profile="harbor_fx",
                        login=7_000_001, server="HarborFX-Live2", label="Harbor",
                        rules=CopyRules(sizing=Sizing(mode=SizingMode.BALANCE_RATIO, multiplier=0.5),
                                        symbols=SymbolMapping(aliases={"GOLDSPOT": "GOLD.m"}),
                                        filters=Filters(exclude_symbols=["BTCUSD"]),
                                        risk=Risk(max_open_positions=Limit(value=5))),
                        copy_enabled=False, magic=4242)


def a_third_demo_slave() -> AccountDraft:
    draft = AccountDraft.for_new_account([MASTER, SLAVE])
    draft.platform = "demo"
    draft.demo_profile = "summit_netting"
    draft.login = " 6123456 "
    draft.server = "SummitSec-Server"
    draft.account_id = "summit"
    draft.label = " Summit "
    return draft


def test_a_blank_draft_names_every_field_still_missing():
    draft = AccountDraft.for_new_account([MASTER, SLAVE])
    draft.platform = "mt5"
    problems = draft.problems(check_exists=False)
    assert list(problems) == ["terminal_path", "login", "server", "account_id"]
    assert "terminal64.exe" in problems["terminal_path"]
    assert "Enter the account's login" in problems["login"]
    assert "trade server's name" in problems["server"]
    assert "Give the account an id" in problems["account_id"]
    with pytest.raises(DraftInvalid) as invalid:
        draft.to_settings(check_exists=False)
    assert invalid.value.problems == problems


def test_a_third_slave_becomes_settings_beside_the_two_linked():
    draft = a_third_demo_slave()
    draft.sizing_mode = SizingMode.FIXED_LOT
    draft.lots = 0.2
    draft.aliases = {"US30": "DJ30"}
    draft.slave_symbols = ["EURUSD", "DJ30"]
    assert draft.problems() == {}
    account = draft.to_settings()
    assert (account.id, account.role, account.platform) == ("summit", "slave", "demo")
    assert (account.login, account.server, account.label) == (6_123_456, "SummitSec-Server", "Summit")
    assert account.terminal_path is None and account.demo_profile == "summit_netting"
    assert account.rules.sizing.mode is SizingMode.FIXED_LOT and account.rules.sizing.lots == 0.2
    assert account.rules.symbols.aliases == {"US30": "DJ30"}
    assert account.copy_enabled and account.rules.copy_existing is False  # a new slave's defaults


def test_an_id_already_linked_is_refused_by_name():
    draft = a_third_demo_slave()
    draft.account_id = "slave-1"
    assert "An account with the id 'slave-1' is already linked" in draft.problems()["account_id"]
    draft.account_id = "Bad id"
    assert "cannot be an id" in draft.problems()["account_id"]


def test_a_second_master_points_to_set_as_master_and_never_to_unlinking():
    draft = a_third_demo_slave()
    draft.role = "master"
    problem = draft.problems()["role"]
    assert "'master' is already the master" in problem
    assert '"Set as master" in the accounts menu' in problem
    assert "unlink" not in problem
    # A slave beside the master is what the wizard links while copying: nothing to say.
    draft.role = "slave"
    assert "role" not in draft.problems()
    # The first account may be the master, and a master has no rules.
    first = AccountDraft.for_new_account([])
    first.__dict__.update(platform="demo", demo_profile="harbor_fx", login="5", server="HarborFX-Live2",
                          account_id="main", role="master")
    assert first.to_settings().rules is None


def test_sizing_and_symbol_mistakes_name_the_field_typed_in():
    draft = a_third_demo_slave()
    draft.multiplier = 0
    draft.lots = -1
    problems = draft.problems()
    assert problems["multiplier"].startswith("sizing.multiplier:")
    assert problems["lots"].startswith("sizing.lots:")
    draft.multiplier, draft.lots = 1.0, 0.01
    draft.slave_symbols = ["EURUSD.m", "GOLD.m"]
    draft.aliases = {"EURUSD": "NOPE.m", "XAUUSD": "GOLD.m"}
    assert draft.problems() == {"aliases": "These slave symbols are not at this broker: EURUSD -> NOPE.m. "
                                           "Choose one from the list."}


def test_terminal_and_login_problems_per_platform(tmp_path):
    draft = AccountDraft.for_new_account([MASTER])
    draft.platform = "mt5"
    draft.terminal_path = r"C:\MT4\terminal.exe"
    assert "MetaTrader 4's terminal.exe" in draft.terminal_problems()["terminal_path"]
    draft.terminal_path = str(tmp_path / "terminal64.exe")
    assert "There is no terminal64.exe" in draft.terminal_problems()["terminal_path"]
    assert draft.terminal_problems(check_exists=False) == {}
    draft.platform = "mt5_bridge"
    draft.bridge_host = " "
    draft.bridge_port = 0
    assert set(draft.terminal_problems()) == {"bridge_host", "bridge_port"}
    draft.platform = "demo"
    draft.demo_profile = "no_such_broker"
    assert "is not a demo broker" in draft.terminal_problems()["demo_profile"]
    draft.platform = "mt4"
    assert list(draft.terminal_problems()) == ["platform"]
    draft.login, draft.server = "12ab", "Broker-Demo"
    assert draft.login_problems() == {"login": "12ab is not a MetaTrader 5 login number."}
    assert draft.login_number is None


def test_the_connection_test_account_is_known_before_its_id():
    draft = a_third_demo_slave()
    draft.account_id = ""
    account = draft.test_settings()
    assert (account.id, account.role, account.login) == (TEST_ID, "slave", 6_123_456)
    draft.server = ""
    with pytest.raises(DraftInvalid) as invalid:
        draft.test_settings()
    assert list(invalid.value.problems) == ["server"]


def test_an_edited_account_comes_back_unchanged_when_nothing_is_changed():
    draft = AccountDraft.from_settings(SLAVE, [MASTER, SLAVE])
    assert draft.editing and draft.account_id == "slave-1" and draft.master_id == "master"
    assert draft.to_settings() == SLAVE  # rules beyond sizing and symbols, magic and copying kept
    assert AccountDraft.from_settings(MASTER, [MASTER, SLAVE]).to_settings() == MASTER


def test_an_edit_changes_label_terminal_and_login_but_never_the_id():
    draft = AccountDraft.from_settings(SLAVE, [MASTER, SLAVE])
    draft.label = "Harbor EUR"
    draft.platform = "mt5_bridge"
    draft.terminal_path = r"C:\Program Files\Harbor FX MT5\terminal64.exe"
    draft.bridge_host, draft.bridge_port = "10.0.0.5", 18813
    draft.login, draft.server = "51234567", "HarborFX-Live3"
    draft.account_id = "typed-over"  # a form never offers this; the edit keeps its own id regardless
    draft.account_id = SLAVE.id
    account = draft.to_settings()
    assert account.id == "slave-1" and account.label == "Harbor EUR"
    assert (account.platform, account.demo_profile) == ("mt5_bridge", None)
    assert (account.bridge_host, account.bridge_port, account.login) == ("10.0.0.5", 18813, 51_234_567)
    assert account.rules == SLAVE.rules and account.magic == 4242 and account.copy_enabled is False
    assert draft.password_key() == "HarborFX-Live3:51234567"


def test_the_summary_says_what_is_linked_and_no_secret():
    draft = a_third_demo_slave()
    draft.aliases = {"GOLDSPOT": "GOLD"}
    draft.secret_key = draft.password_key()
    text = draft.summary(draft.to_settings())
    assert "Account id: summit" in text and "Label: Summit" in text
    assert "Demo broker: Summit Securities K.K." in text
    assert "Password: kept in the system keyring" in text
    assert "Symbol corrections: GOLDSPOT -> GOLD" in text


def test_the_draft_loads_no_qt():
    code = ("import sys, copier_gui.ui.wizard.draft, copier_gui.ui.wizard.keyring_cleanup; "
            "qt = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'qasync')); "
            "print(qt); sys.exit(1 if qt else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_rules_saved_elsewhere_meanwhile_are_the_ones_the_edit_saves():
    draft = AccountDraft.from_settings(SLAVE, [MASTER, SLAVE])
    newer = SLAVE.rules.model_copy(update={"copy_existing": True,
                                           "sizing": Sizing(mode=SizingMode.FIXED_LOT, lots=0.3)})
    draft.keep_rules(newer)
    assert draft.to_settings().rules == newer


def test_an_edited_mt5linux_account_keeps_its_bridge_kind():
    # The pages do not show the kind: editing an account on an mt5linux server must not send it
    # back to the copier's bridge, in the connection test or in what is saved.
    wine = AccountSettings(id="wine", role="slave", platform="mt5_bridge", login=51_234_567, server="Broker-Live",
                           terminal_path=r"C:\Program Files\MetaTrader 5\terminal64.exe", bridge_kind="mt5linux")
    draft = AccountDraft.from_settings(wine, [MASTER, wine])
    assert draft.to_settings() == wine
    draft.label, draft.bridge_port = "Wine", 18813
    assert draft.test_settings().bridge_kind == "mt5linux"
    account = draft.to_settings()
    assert (account.bridge_kind, account.bridge_port, account.label) == ("mt5linux", 18813, "Wine")
    assert "Bridge: 127.0.0.1:18813 (an mt5linux server)" in draft.summary(account)
    assert AccountDraft.for_new_account([MASTER]).bridge_kind == "copier"
