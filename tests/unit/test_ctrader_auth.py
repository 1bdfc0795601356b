"""Linking a cTrader account's authorization, end to end against the simulated OAuth endpoint and
the simulated Open API server: the consent URL, the one-shot redirect listener, refusals, the code
exchange, pasted tokens and the account list."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import urllib.parse

import httpx
import pytest

from copier_gui import ctrader_auth as auth
from copier_gui.connectors.ctrader import (
    AppCredentials,
    OpenApiConnection,
    OpenApiSession,
    TokenPair,
)
from tests.unit.sim.ctrader.oauth_rig import CLIENT_ID, CLIENT_SECRET, Browser, running_oauth

pytestmark = pytest.mark.asyncio

APP = AppCredentials(CLIENT_ID, CLIENT_SECRET)


def _query(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


async def test_the_consent_url_names_the_application_the_redirect_and_the_scope():
    url = auth.authorization_url("77_app", "http://127.0.0.1:5000/callback", state="s-1")
    assert url.startswith("https://openapi.ctrader.com/apps/auth?")
    assert _query(url) == {"client_id": "77_app", "redirect_uri": "http://127.0.0.1:5000/callback",
                           "scope": "trading", "state": "s-1"}
    assert _query(auth.authorization_url("77_app", "http://x/cb", state="s", scope="accounts"))["scope"] == "accounts"
    with pytest.raises(ValueError, match="scope"):
        auth.authorization_url("77_app", "http://x/cb", state="s", scope="everything")


async def test_the_browser_flow_gives_a_pair_that_lists_the_granted_accounts_with_details():
    async with running_oauth() as servers:
        browser = Browser()
        flow = auth.BrowserAuthorization(APP, endpoints=servers.endpoints, opener=browser, timeout=20)
        pair = await flow.run()
        # The browser opened the consent page, which sent it back to our listener on 127.0.0.1.
        assert browser.opened == [flow.url] and flow.browser_opened is True
        assert _query(flow.url)["redirect_uri"] == flow.redirect_uri
        assert flow.redirect_uri.startswith("http://127.0.0.1:") and flow.redirect_uri.endswith("/callback")
        assert browser.statuses == [200] and "You can close this tab" in browser.pages[0]
        assert servers.oauth.token_requests == ["authorization_code"]
        # The pair is the Open API server's own: it authorizes there.
        assert servers.openapi.tokens.check(pair.access_token).account_ids == (
            servers.openapi.hedged.account_id, servers.openapi.netted.account_id)
        accounts = await auth.list_accounts(APP, pair, endpoints=servers.endpoints)
    by_id = {a.account_id: a for a in accounts}
    hedged, netted = by_id[servers.openapi.hedged.account_id], by_id[servers.openapi.netted.account_id]
    assert (hedged.login, hedged.broker, hedged.is_live, hedged.account_type) == (
        servers.openapi.hedged.login, "Lumen", False, "hedged")
    assert (netted.broker, netted.account_type, netted.broker_name) == ("Kestrel", "netted", "Kestrel Markets Europe")
    assert (hedged.host, hedged.port) == (servers.openapi.host, servers.openapi.port)
    assert hedged.balance == pytest.approx(10_000.0) and "EURUSD" in hedged.symbols and "EUR/USD" in netted.symbols
    assert hedged.describe() == f"{hedged.login} · Lumen Prime Ltd · demo · hedged"


async def test_the_listener_answers_once_and_closes():
    listener = auth.RedirectListener(state="right")
    uri = await listener.start()
    async with httpx.AsyncClient() as client:
        first = await client.get(uri, params={"code": "c-1", "state": "right"})
        second = await client.get(uri, params={"code": "c-2", "state": "right"})
    assert await listener.wait(1) == "c-1"
    assert first.status_code == 200 and second.status_code == 409
    await listener.close()
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(uri, params={"code": "c-3", "state": "right"})


@pytest.mark.parametrize("answer_state, override", [(True, "forged"), (False, None)])
async def test_a_redirect_with_another_state_or_none_is_refused(answer_state, override):
    async with running_oauth() as servers:
        servers.oauth.answer_state, servers.oauth.state_override = answer_state, override
        browser = Browser()
        flow = auth.BrowserAuthorization(APP, endpoints=servers.endpoints, opener=browser, timeout=20)
        with pytest.raises(auth.StateMismatch, match="state"):
            await flow.run()
        assert browser.statuses == [400] and "does not belong" in browser.pages[0]
        assert servers.oauth.token_requests == []  # the code was never exchanged


async def test_access_denied_on_the_consent_page_is_said_as_such():
    async with running_oauth() as servers:
        servers.oauth.deny = True
        browser = Browser()
        with pytest.raises(auth.AccessDenied, match="refused on cTrader's consent page"):
            await auth.BrowserAuthorization(APP, endpoints=servers.endpoints, opener=browser, timeout=20).run()
        assert "not given access" in browser.pages[0]


async def test_no_answer_from_the_browser_times_out_and_frees_the_port():
    browser = Browser(available=False)  # no browser: the trader never signs in
    flow = auth.BrowserAuthorization(APP, opener=browser, timeout=0.3)
    with pytest.raises(auth.AuthTimeout, match="no answer came back from the browser within 0 seconds"):
        await flow.run()
    assert flow.browser_opened is False and browser.opened == [flow.url]
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(flow.redirect_uri)


async def test_cancelling_the_flow_closes_the_listener():
    flow = auth.BrowserAuthorization(APP, opener=Browser(available=False), timeout=30)
    task = asyncio.ensure_future(flow.run())
    await asyncio.wait_for(flow.waiting.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(flow.redirect_uri)


async def test_a_code_works_once_and_a_wrong_secret_is_refused():
    async with running_oauth() as servers:
        listener = auth.RedirectListener(state="s")
        uri = await listener.start()
        url = auth.authorization_url(CLIENT_ID, uri, state="s", endpoints=servers.endpoints)
        await asyncio.to_thread(Browser(), url)
        code = await listener.wait(5)
        await listener.close()
        with pytest.raises(auth.AuthFailed, match="ACCESS_DENIED") as refused:
            await auth.exchange_code(code, uri, AppCredentials(CLIENT_ID, "wrong-secret"), endpoints=servers.endpoints)
        assert "wrong-secret" not in refused.value.message and code not in refused.value.message
        # The refused exchange spent nothing here (the secret was checked first), but a code works once.
        pair = await auth.exchange_code(code, uri, APP, endpoints=servers.endpoints, clock=servers.openapi.clock)
        assert pair.expires_at == pytest.approx(servers.openapi.clock.time() + auth.ACCESS_TOKEN_SECONDS, abs=5)
        with pytest.raises(auth.AuthFailed, match="once only"):
            await auth.exchange_code(code, uri, APP, endpoints=servers.endpoints)


async def test_refresh_over_http_spends_the_old_refresh_token():
    async with running_oauth() as servers:
        first = servers.openapi.grant_pair
        pair = await auth.refresh_over_http(first.refresh_token, APP, endpoints=servers.endpoints)
        assert servers.openapi.tokens.check(pair.access_token)
        with pytest.raises(auth.AuthFailed, match="refresh token"):
            await auth.refresh_over_http(first.refresh_token, APP, endpoints=servers.endpoints)


async def test_an_unreachable_token_service_is_named():
    endpoints = auth.Endpoints(token_url="http://127.0.0.1:9/apps/token")
    with pytest.raises(auth.AuthFailed, match="cannot reach cTrader's token service at 127.0.0.1:9"):
        await auth.exchange_code("c", "http://127.0.0.1:1/callback", APP, endpoints=endpoints)


async def test_pasted_tokens_list_accounts_and_bad_ones_are_named():
    async with running_oauth() as servers:
        grant = servers.openapi.grant_pair
        pair = auth.pasted_tokens(f" {grant.access_token} ", grant.refresh_token, clock=servers.openapi.clock)
        assert pair.access_token == grant.access_token
        accounts = await auth.list_accounts(APP, pair, endpoints=servers.endpoints, details=False)
        assert {a.account_id for a in accounts} == set(grant.account_ids)
        assert all(a.account_type is None for a in accounts)
        stale = auth.pasted_tokens("a" * 32, "b" * 32)
        with pytest.raises(auth.AuthFailed, match="refused the access token .CH_ACCESS_TOKEN_INVALID."):
            await auth.list_accounts(APP, stale, endpoints=servers.endpoints)
        with pytest.raises(auth.AuthFailed, match="check its client id and secret"):
            await auth.list_accounts(AppCredentials(CLIENT_ID, "nope"), pair, endpoints=servers.endpoints)
    for access, refresh, problem in (("", "b" * 32, "Paste the access token"),
                                     ("a" * 32, "b b", "not a cTrader refresh token"),
                                     ("a" * 32, "a" * 32, "the same")):
        with pytest.raises(auth.AuthFailed, match=problem):
            auth.pasted_tokens(access, refresh)


async def test_an_account_on_the_other_environment_is_listed_without_details():
    async with running_oauth() as servers:
        live = servers.openapi.add_account("lumen_ctrader", is_live=True)
        pair = servers.openapi.grant(servers.openapi.hedged.account_id, live.account_id)
        accounts = await auth.list_accounts(APP, pair, endpoints=servers.endpoints)
    # The simulated proxy is a demo one: the live account is listed first, its details refused there.
    assert [a.is_live for a in accounts] == [True, False]
    assert accounts[0].account_type is None and "CANT_ROUTE_REQUEST" in accounts[0].problem
    assert accounts[1].account_type == "hedged" and not accounts[1].problem


async def test_the_pair_works_with_the_connector_session():
    async with running_oauth() as servers:
        pair = await auth.BrowserAuthorization(APP, endpoints=servers.endpoints, opener=Browser(), timeout=20).run()
        connection = await OpenApiConnection.open(servers.openapi.host, servers.openapi.port,
                                                  ssl_context=servers.endpoints.ssl_context)
        session = OpenApiSession(connection, APP, pair, _Kept())
        await session.authorize_application()
        await session.authorize_account(servers.openapi.netted.account_id)
        assert servers.openapi.netted.account_id in session.authorized
        await session.close()


class _Kept:
    async def save(self, tokens: TokenPair) -> None:
        self.tokens = tokens


async def test_keyring_names_and_the_json_shape():
    assert auth.app_secret_key("77_app") == "ctrader-app:77_app"
    assert auth.token_key("77_app", [42, 41]) == "ctrader:77_app:41"

    class Linked:
        platform, ctrader_client_id, ctrader_account_id, ctrader_token_key = "ctrader", "77_app", 42, "ctrader:77_app:9"

    # An account of the same cTrader ID is linked already: the new pair replaces its spent one.
    assert auth.token_key("77_app", [42, 43], [Linked()]) == "ctrader:77_app:9"
    assert auth.token_key("other", [42], [Linked()]) == "ctrader:other:42"
    pair = TokenPair("acc-token-123", "ref-token-456", 1_800_000_000.5)
    text = auth.tokens_to_json(pair)
    assert json.loads(text) == {"access_token": "acc-token-123", "refresh_token": "ref-token-456",
                                "expires_at": 1_800_000_000.5, "token_type": "bearer"}
    assert auth.tokens_from_json(text) == pair
    with pytest.raises(auth.AuthFailed, match="not readable") as bad:
        auth.tokens_from_json('{"access_token": "acc-token-123"}')
    assert "acc-token-123" not in bad.value.message
    assert "acc-token-123" not in repr(pair)


async def test_nothing_secret_reaches_the_log(caplog):
    caplog.set_level(logging.DEBUG)
    async with running_oauth() as servers:
        pair = await auth.BrowserAuthorization(APP, endpoints=servers.endpoints, opener=Browser(), timeout=20).run()
        await auth.refresh_over_http(servers.openapi.grant_pair.refresh_token, APP, endpoints=servers.endpoints)
        await auth.list_accounts(APP, pair, endpoints=servers.endpoints)
    # The fake browser runs on a thread of its own (and a real one is another program): what it logs
    # of the redirect it followed is not the copier's.
    text = "\n".join(r.getMessage() for r in caplog.records if r.threadName == threading.main_thread().name)
    assert "HTTP Request: GET" in text  # httpx did log its requests, without their query
    for secret in (CLIENT_SECRET, pair.access_token, pair.refresh_token, servers.openapi.grant_pair.refresh_token,
                   "code="):
        assert secret not in text
