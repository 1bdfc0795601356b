"""The cTrader token pair in the (test's own) system keyring: round trip, and never a token in a
repr, a log or an error."""

from __future__ import annotations

import logging

import pytest

from copier_gui import secrets
from copier_gui.connectors.ctrader.links import LinkPool
from copier_gui.connectors.ctrader.session import TokenPair
from copier_gui.connectors.ctrader.token_keyring import (
    KeyringTokenStore,
    LoadableTokenStore,
    MemoryTokenStore,
    TokenStoreUnreadable,
)
from copier_gui.core.ports import ConnectorError
from tests.unit.connectors.ctrader.connector_rig import connector_for
from tests.unit.sim.ctrader.rig import running_server

pytestmark = pytest.mark.asyncio

PAIR = TokenPair("acc-SECRET-1", "ref-SECRET-2", 1_800_000_000.0)


async def test_the_pair_round_trips_through_the_keyring_under_its_key(caplog):
    caplog.set_level(logging.DEBUG)
    store = KeyringTokenStore("ctid:alice")
    assert isinstance(store, LoadableTokenStore) and isinstance(MemoryTokenStore(), LoadableTokenStore)
    assert await store.load() is None
    await store.save(PAIR)
    assert await KeyringTokenStore("ctid:alice").load() == PAIR
    assert await KeyringTokenStore("ctid:bob").load() is None
    for text in (repr(store), repr(PAIR), caplog.text):
        assert "SECRET" not in text


async def test_an_entry_that_is_not_a_pair_is_refused_without_quoting_it():
    secrets.store_secret("ctid:broken", '{"access_token": "acc-SECRET-3"}')
    with pytest.raises(TokenStoreUnreadable) as caught:
        await KeyringTokenStore("ctid:broken").load()
    assert "authorize the account again" in caught.value.message and "SECRET" not in str(caught.value)


async def test_a_connector_without_stored_tokens_says_what_to_do():
    async with running_server() as server:
        connector = connector_for(server, server.hedged, KeyringTokenStore("ctid:nobody"), LinkPool())
        with pytest.raises(ConnectorError) as caught:
            await connector.connect()
        assert "no cTrader authorization is stored" in caught.value.message
        secrets.store_secret("ctid:broken", "not json acc-SECRET-4")
        connector = connector_for(server, server.hedged, KeyringTokenStore("ctid:broken"), LinkPool())
        with pytest.raises(ConnectorError) as caught:
            await connector.connect()
        assert "not a token pair" in caught.value.message and "SECRET" not in caught.value.message


async def test_memory_stores_without_a_key_are_each_their_own_ctrader_id():
    a, b = MemoryTokenStore(PAIR), MemoryTokenStore(PAIR)
    assert a.key != b.key and MemoryTokenStore(key="shared").key == "shared"
    await a.save(TokenPair("x", "y", 1.0))
    assert a.saves == 1 and (await a.load()).access_token == "x" and (await b.load()) == PAIR


async def test_a_refresh_at_connect_lands_in_the_keyring_before_the_new_token_is_used():
    async with running_server() as server:
        g = server.grant_pair
        store = KeyringTokenStore("ctid:trader")
        await store.save(TokenPair(g.access_token, g.refresh_token, server.clock.time() + 60))
        connector = connector_for(server, server.hedged, store, LinkPool())
        try:
            await connector.connect()
            saved = await KeyringTokenStore("ctid:trader").load()
            assert saved.refresh_token != g.refresh_token and saved.expires_at > server.clock.time() + 86400
            server.tokens.check(saved.access_token)
            assert (await connector.snapshot()).positions == ()
        finally:
            await connector.close_session()
