"""The draft of an account a worker host serves over NATS: each of the transport's refusals keyed by
the field it is about, the settings `accounts link --worker-host nats` would save, and an edited
account's NATS settings kept whole. No Qt here."""

from __future__ import annotations

import pytest

from copier_gui.settings import AccountSettings, NatsSettings
from copier_gui.ui.wizard.draft import TEST_ID, AccountDraft, DraftInvalid

HUB = "tls://hub.example:4222"


def served(**nats: str) -> AccountDraft:
    draft = AccountDraft.for_new_account(taken_ids=["main"])
    draft.platform, draft.worker_host, draft.account_id = "mt5", "nats", "vps"
    draft.login, draft.server = "51234567", "HarborFX-Live2"
    for name, value in nats.items():
        setattr(draft, name, value)
    return draft


@pytest.mark.parametrize(("nats", "field", "words"), [
    ({}, "nats_url", "Give the NATS server's URL"),
    ({"nats_url": "nats://hub.example:4222"}, "nats_url", "needs TLS"),
    ({"nats_url": HUB}, "nats_user", "needs credentials"),
    ({"nats_url": HUB, "nats_user": "copier", "nats_instance": "a.b"}, "nats_instance", "letters, digits"),
    ({"nats_url": HUB + "?x=1", "nats_user": "copier"}, "nats_url", "?domain=NAME"),
    ({"nats_url": HUB, "nats_user": "copier", "nats_ca": "missing.pem"}, "nats_ca", "does not exist"),
])
def test_each_refusal_is_keyed_by_the_field_it_is_about(nats, field, words):
    problems = served(**nats).nats_problems()
    assert list(problems) == [field] and words in problems[field], problems
    with pytest.raises(DraftInvalid) as caught:
        served(**nats).to_settings()
    assert field in caught.value.problems


def test_the_account_has_no_terminal_path_and_its_test_runs_under_its_own_id():
    draft = served(nats_url=HUB, nats_user="copier")
    assert draft.remote and not draft.terminal_problems()  # no terminal path asked for
    assert draft.nats_password_key() == "nats:copier"
    assert draft.test_settings().id == "vps" != TEST_ID  # the worker host serves it by this id
    account = draft.to_settings()
    assert (account.worker_host, account.terminal_path, account.nats) == (
        "nats", None, NatsSettings(url=HUB, user="copier"))


def test_a_demo_or_ctrader_account_is_never_remote():
    draft = served(nats_url=HUB, nats_user="copier")
    draft.platform = "demo"
    assert not draft.remote


def test_an_edited_accounts_nats_settings_are_kept_whole():
    nats = NatsSettings(url=HUB, user="copier", password_key="hub:copier", cert="c.pem", key="k.pem",
                        jetstream_domain="hub", instance="desk-2")
    account = AccountSettings(id="vps", role="slave", platform="mt5_bridge", login=5, server="S",
                              worker_host="nats", nats=nats)
    draft = AccountDraft.from_settings(account, [account])
    assert draft.remote and (draft.nats_url, draft.nats_user, draft.nats_instance) == (HUB, "copier", "desk-2")
    assert draft.nats_password_key() == "hub:copier"
    assert draft.to_settings().nats == nats
    draft.nats_user = "other"  # another user: the command line's key for it
    assert draft.nats_password_key() == "nats:other"
    assert draft.to_settings().nats.options().password_key == "nats:other"
