"""The NATS transport's rules that need no server: which connections it refuses, how accounts become
subjects, and which requests the bus deduplicates."""

from __future__ import annotations

import pytest

from copier_gui.core.model import ClosePosition, OpenPosition, Side
from copier_gui.workers import protocol
from copier_gui.workers.nats_transport import NatsOptions, NatsSetupError, account_token, message_id


def test_a_server_on_another_computer_needs_tls_and_credentials():
    with pytest.raises(NatsSetupError, match="needs TLS"):
        NatsOptions("nats://hub.example:4222", user="copier", password_key="nats:copier")
    with pytest.raises(NatsSetupError, match="needs credentials"):
        NatsOptions("tls://hub.example:4222")
    NatsOptions("tls://hub.example:4222", user="copier", password_key="nats:copier")
    # On this computer's loopback a development server may go without either.
    NatsOptions("nats://127.0.0.1:4222")


def test_a_password_is_never_taken_in_the_url_and_a_user_needs_its_keyring_key():
    with pytest.raises(NatsSetupError, match="keyring"):
        NatsOptions("tls://copier:hunter2@hub.example:4222")
    with pytest.raises(NatsSetupError, match="keyring key"):
        NatsOptions("tls://hub.example:4222", user="copier")
    with pytest.raises(NatsSetupError, match="expected tls://"):
        NatsOptions("http://hub.example:4222")


def test_subjects_name_the_instance_and_the_account_and_refuse_an_id_that_is_no_token():
    options = NatsOptions("nats://127.0.0.1:4222", instance="desk-1")
    assert options.subject("slave_2", "req") == "copier.desk-1.slave_2.req"
    for bad in ("a.b", "a b", "a*", ">", ""):
        with pytest.raises(NatsSetupError, match="cannot be served over NATS"):
            account_token(bad)
    with pytest.raises(NatsSetupError, match="instance name"):
        NatsOptions("nats://127.0.0.1:4222", instance="a.b")


def _args(request) -> dict:
    return {"request": protocol.dataclass_to_wire(request)}


def test_an_entry_is_identified_by_its_copy_tag_and_body_and_an_exit_never_deduplicated():
    entry = OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:1")
    first = message_id("s1", "open", _args(entry))
    assert first == message_id("s1", "open", _args(entry))  # deterministic: a repeat is dropped
    assert "cg:1" in first
    # A retry the core changed on purpose (a new worst price after a requote) is another message.
    retried = OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:1", worst_price=95010.0)
    assert message_id("s1", "open", _args(retried)) != first
    assert message_id("s2", "open", _args(entry)) != first
    # Two partial closes of the same size are two exits: neither may be dropped.
    close = ClosePosition(ticket=7, symbol="BTCUSD", side=Side.BUY, volume=0.05, magic=5, comment="cg:1")
    assert message_id("s1", "close", _args(close)) is None
    assert message_id("s1", "snapshot", {"full": True}) is None


def test_the_hubs_jetstream_domain_comes_from_the_settings_or_the_url_and_is_checked():
    assert NatsOptions("nats://127.0.0.1:4222").jetstream_domain is None
    assert NatsOptions("nats://127.0.0.1:4222", jetstream_domain="hub").jetstream_domain == "hub"
    by_url = NatsOptions("tls://leaf.example:7422?domain=hub", user="copier", password_key="nats:copier")
    assert by_url.jetstream_domain == "hub"
    assert by_url.server_url == "tls://leaf.example:7422"  # what the client dials
    with pytest.raises(NatsSetupError, match="only parameter"):
        NatsOptions("nats://127.0.0.1:4222?domian=hub")
    with pytest.raises(NatsSetupError, match="give it once"):
        NatsOptions("nats://127.0.0.1:4222?domain=hub", jetstream_domain="other")
    with pytest.raises(NatsSetupError, match="JetStream domain"):
        NatsOptions("nats://127.0.0.1:4222", jetstream_domain="hub.eu")


def test_nats_settings_carry_the_jetstream_domain():
    from copier_gui.settings import NatsSettings

    assert NatsSettings(url="nats://127.0.0.1:4222", jetstream_domain="hub").options().jetstream_domain == "hub"
