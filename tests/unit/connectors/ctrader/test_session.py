"""The connector's session against the simulated server over real TLS: authorizations and tokens."""

from __future__ import annotations

import contextlib
import logging

import pytest

from copier_gui import ctrader_messages as cm
from copier_gui.connectors.ctrader import (
    AppCredentials,
    OpenApiConnection,
    OpenApiError,
    OpenApiSession,
    TokenPair,
    TokenStoreError,
)
from tests.unit.sim.ctrader.rig import CLIENT_ID, CLIENT_SECRET, running_server

M = cm.messages
MM = cm.model

pytestmark = pytest.mark.asyncio


class RecordingStore:
    """Keeps each saved pair and what the server had seen when it was saved."""

    def __init__(self, server, fail: bool = False) -> None:
        self.server = server
        self.fail = fail
        self.saved: list[TokenPair] = []
        self.auths_seen_at_save: list[int] = []

    async def save(self, tokens: TokenPair) -> None:
        self.auths_seen_at_save.append(
            sum(1 for name, _ in self.server.requests if name == "ProtoOAAccountAuthReq"))
        if self.fail:
            raise OSError(f"keyring locked while saving {tokens.refresh_token}")
        self.saved.append(tokens)


def _tokens(server) -> TokenPair:
    g = server.grant_pair
    return TokenPair(g.access_token, g.refresh_token, g.expires_at)


@contextlib.asynccontextmanager
async def session_on(server, *, secret: str = CLIENT_SECRET, store=None, tokens: TokenPair | None = None):
    connection = await OpenApiConnection.open(server.host, server.port, ssl_context=server.client_ssl_context())
    session = OpenApiSession(connection, AppCredentials(CLIENT_ID, secret), tokens or _tokens(server),
                             store or RecordingStore(server), clock=server.clock)
    try:
        yield session
    finally:
        await session.close()


async def test_wrong_application_secret_names_the_error_code():
    async with running_server() as server, session_on(server, secret="nope") as session:
        with pytest.raises(OpenApiError) as caught:
            await session.authorize_application()
        assert caught.value.code == "CH_CLIENT_AUTH_FAILURE"
        assert "CH_CLIENT_AUTH_FAILURE" in str(caught.value) and "wrong client id or secret" in str(caught.value)


async def test_accounts_of_the_token_and_their_authorization():
    async with running_server() as server, session_on(server) as session:
        await session.authorize_application()
        with pytest.raises(OpenApiError, match="CH_CLIENT_ALREADY_AUTHENTICATED"):
            await session.authorize_application()
        accounts = await session.accounts()
        assert [(a.account_id, a.broker, a.is_live) for a in accounts] == [
            (server.hedged.account_id, "Lumen", False), (server.netted.account_id, "Kestrel", False)]
        with pytest.raises(OpenApiError) as caught:
            await session.connection.request(M.ProtoOATraderReq(ctidTraderAccountId=server.netted.account_id))
        assert caught.value.code == "ACCOUNT_NOT_AUTHORIZED"
        for account in accounts:
            await session.authorize_account(account.account_id)
        reply = await session.connection.request(M.ProtoOATraderReq(ctidTraderAccountId=server.netted.account_id))
        trader = reply.trader
        assert trader.HasField("moneyDigits") and trader.moneyDigits == 2
        assert trader.accountType == MM.NETTED and trader.depositAssetId == 3
        assert session.authorized == {server.hedged.account_id, server.netted.account_id}


async def test_an_expired_access_token_is_refused_with_its_code():
    async with running_server() as server, session_on(server) as session:
        await session.authorize_application()
        server.tokens.expire(server.grant_pair.access_token)
        with pytest.raises(OpenApiError) as caught:
            await session.authorize_account(server.hedged.account_id)
        assert caught.value.code == "OA_AUTH_TOKEN_EXPIRED"


async def test_refresh_saves_the_new_pair_before_using_it_and_the_old_one_is_spent(caplog):
    caplog.set_level(logging.DEBUG)
    async with running_server() as server:
        store = RecordingStore(server)
        old = _tokens(server)
        async with session_on(server, store=store) as session:
            await session.authorize_application()
            await session.authorize_account(server.hedged.account_id)
            new = await session.refresh_tokens()
            assert store.saved == [new] and session.tokens == new
            assert new.access_token != old.access_token and new.refresh_token != old.refresh_token
            # Saved while only the first authorization had been sent: the new token was not used yet.
            assert store.auths_seen_at_save == [1]
            assert new.expires_at == pytest.approx(server.clock.time() + 2_628_000, abs=5)
            # The server ended the old token's session; the session authorized again with the new one.
            reply = await session.connection.request(M.ProtoOATraderReq(ctidTraderAccountId=server.hedged.account_id))
            assert reply.trader.ctidTraderAccountId == server.hedged.account_id
            assert session.lost == {}
        async with session_on(server, tokens=old) as stale:
            await stale.authorize_application()
            with pytest.raises(OpenApiError) as caught:
                await stale.refresh_tokens()
            assert caught.value.code == "CH_ACCESS_TOKEN_INVALID"
            with pytest.raises(OpenApiError, match="CH_ACCESS_TOKEN_INVALID"):
                await stale.authorize_account(server.hedged.account_id)
    text = caplog.text + "".join(repr(t) for t in store.saved)
    for secret in (old.access_token, old.refresh_token, new.access_token, new.refresh_token, CLIENT_SECRET):
        assert secret not in text


async def test_a_pair_that_cannot_be_saved_is_not_used():
    async with running_server() as server:
        store = RecordingStore(server, fail=True)
        async with session_on(server, store=store) as session:
            await session.authorize_application()
            before = session.tokens
            with pytest.raises(TokenStoreError) as caught:
                await session.refresh_tokens()
            assert session.tokens == before
            assert before.refresh_token not in str(caught.value) and "OSError" in str(caught.value)


async def test_a_spurious_disconnect_after_a_refresh_is_checked_before_it_is_believed():
    async with running_server() as server:
        server.faults.spurious_disconnect_on_refresh = True
        lost: list[tuple[int, str]] = []
        async with session_on(server) as session:
            session.on_account_lost(lambda account, reason: lost.append((account, reason)))
            await session.authorize_application()
            await session.authorize_account(server.hedged.account_id)
            await session.refresh_tokens()
            # Let the verification the disconnect report started run to its end.
            await session.connection.request(M.ProtoOAVersionReq())
            for task in list(session._tasks):
                await task
            assert lost == [] and session.authorized == {server.hedged.account_id}
