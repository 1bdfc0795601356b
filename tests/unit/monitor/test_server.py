"""The monitoring endpoint on a live copier: metrics, status JSON, read-only, and who may read it."""

from __future__ import annotations

import asyncio
import ssl

import aiohttp
import pytest
import trustme
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from copier_gui.monitor import MonitorRefused, MonitorServer
from tests.unit.monitor.conftest import live_copier

BUY, SELL = 0, 1


async def _get(url: str, **kwargs) -> tuple[int, str, dict]:
    async with aiohttp.ClientSession() as session, session.get(url, **kwargs) as response:
        return response.status, await response.text(), dict(response.headers)


def test_metrics_count_the_copies_made(tmp_path):
    async def main():
        async with live_copier(tmp_path) as live:
            server = MonitorServer(live.copier, bind="127.0.0.1:0", token=None)
            url = await server.start()
            try:
                first = live.trade("EURUSD", BUY, 0.2)
                live.trade("USDJPY", SELL, 0.1)
                await live.until(lambda: all(live.copies(s) >= 2 for s in live.copier.slaves))
                live.trade("EURUSD", SELL, 0.2, position=first)
                await live.until(lambda: all(live.copies(s) >= 3 for s in live.copier.slaves))
                status, text, headers = await _get(url + "metrics")
                return live.copier.metrics.summary(), status, text, headers
            finally:
                await server.aclose()

    summary, status, text, headers = asyncio.run(main())
    assert status == 200
    assert headers["Content-Type"] == CONTENT_TYPE_LATEST
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families and all(name.startswith("copier_") for name in families)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples}

    for slave in ("slave-1", "slave-2"):
        copies = summary[slave]["copies"]
        assert copies == 3
        assert samples[("copier_copy_latency_seconds_count", (("slave", slave),))] == copies
        assert samples[("copier_copy_latency_seconds_bucket", (("le", "+Inf"), ("slave", slave)))] == copies
        assert samples[("copier_copies_total", (("action", "open"), ("slave", slave)))] == 2
        assert samples[("copier_copies_total", (("action", "close"), ("slave", slave)))] == 1
        assert samples[("copier_refusals_total", (("slave", slave),))] == 0
        slips = [v for (name, labels), v in samples.items()
                 if name == "copier_slippage_money_count" and ("slave", slave) in labels]
        assert slips == [copies]
    # In each slave's account currency: Harbor FX keeps euros, Summit yen.
    assert samples[("copier_slippage_money_count", (("currency", "EUR"), ("slave", "slave-1")))] == 3
    assert samples[("copier_slippage_money_count", (("currency", "JPY"), ("slave", "slave-2")))] == 3
    assert samples[("copier_connection_state", (("account", "master"), ("role", "master"),
                                                ("state", "connected")))] == 1
    assert samples[("copier_connection_state", (("account", "slave-1"), ("role", "slave"),
                                                ("state", "disconnected")))] == 0
    assert samples[("copier_trading_state", (("account", "slave-2"), ("state", "active")))] == 1
    assert samples[("copier_master_positions", ())] == 1
    assert samples[("copier_up", ())] == 1
    assert samples[("copier_balance", (("account", "master"), ("currency", "USD")))] == 25_000.0


def test_status_json_has_accounts_positions_drift_and_journal(tmp_path):
    async def main():
        async with live_copier(tmp_path) as live:
            server = MonitorServer(live.copier, bind="127.0.0.1:0", token=None, journal=live.journal)
            url = await server.start()
            try:
                live.trade("EURUSD", BUY, 0.2)
                await live.until(lambda: all(live.copies(s) >= 1 for s in live.copier.slaves))
                # The slaves' next snapshot shows the copies they hold.
                await live.until(lambda: all(s.last_snapshot and s.last_snapshot.positions
                                             for s in live.copier.slaves.values()))
                async with aiohttp.ClientSession() as session, session.get(url + "api/status") as response:
                    return response.status, response.headers["Content-Type"], await response.json()
            finally:
                await server.aclose()

    status, content_type, data = asyncio.run(main())
    assert status == 200 and content_type.startswith("application/json")
    assert [(a["id"], a["role"], a["state"]) for a in data["accounts"]] == [
        ("master", "master", "connected"), ("slave-1", "slave", "connected"), ("slave-2", "slave", "connected")]
    [position] = data["positions"]
    assert (position["symbol"], position["side"], position["volume"]) == ("EURUSD", "buy", 0.2)
    assert [(c["slave"], c["state"]) for c in position["copies"]] == [("slave-1", "mirrored"),
                                                                      ("slave-2", "mirrored")]
    assert all(c["latency_ms"] is not None and c["slippage_money"] is not None for c in position["copies"])
    assert [(d["account"], d["copies"]) for d in data["drift"]] == [("slave-1", 1), ("slave-2", 1)]
    assert all(d["latency_p50_ms"] > 0 for d in data["drift"])
    texts = [line["text"] for line in data["journal"]]
    assert any(line["kind"] == "copy" and "EURUSD" in line["text"] for line in data["journal"])
    # Seeded from the journal: what happened before the endpoint started.
    assert "copier starting" in texts


def test_read_only_and_loopback_names_only(tmp_path):
    async def main():
        async with live_copier(tmp_path, slaves=1) as live:
            server = MonitorServer(live.copier, bind="127.0.0.1:0", token=None)
            url = await server.start()
            try:
                async with aiohttp.ClientSession() as session:
                    answers = {}
                    for method in ("POST", "PUT", "DELETE", "PATCH"):
                        async with session.request(method, url + "api/status") as response:
                            answers[method] = (response.status, response.headers.get("Allow"))
                    async with session.head(url + "metrics") as response:
                        answers["HEAD"] = (response.status, None)
                    async with session.get(url, headers={"Host": "attacker.example"}) as response:
                        answers["rebound"] = (response.status, None)
                    async with session.get(url.replace("127.0.0.1", "localhost")) as response:
                        answers["localhost"] = (response.status, None)
                    async with session.get(url + "nothing") as response:
                        answers["missing"] = (response.status, None)
                return answers
            finally:
                await server.aclose()

    answers = asyncio.run(main())
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        assert answers[method] == (405, "GET, HEAD")
    assert answers["HEAD"][0] == 200
    assert answers["rebound"][0] == 403
    assert answers["localhost"][0] == 200
    assert answers["missing"][0] == 404


def test_page_is_served_with_a_strict_policy(tmp_path):
    async def main():
        async with live_copier(tmp_path, slaves=1) as live:
            server = MonitorServer(live.copier, bind="127.0.0.1:0", token=None)
            url = await server.start()
            try:
                return await _get(url)
            finally:
                await server.aclose()

    status, text, headers = asyncio.run(main())
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer" and headers["Cache-Control"] == "no-store"
    assert "http://" not in text and "https://" not in text  # nothing loaded from elsewhere


@pytest.mark.parametrize(("token", "words"), [
    (None, "needs an access token"),
    ("s3cret-token", "TLS certificate"),
])
def test_other_machines_need_a_token_and_tls(tmp_path, token, words):
    async def main():
        async with live_copier(tmp_path, slaves=1) as live:
            server = MonitorServer(live.copier, bind="0.0.0.0:0", token=token)
            with pytest.raises(MonitorRefused) as caught:
                await server.start()
            return str(caught.value)

    message = asyncio.run(main())
    assert words in message and "0.0.0.0" in message and "\n" not in message


def test_token_is_required_from_other_machines(tmp_path):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    token = "tok-" + "x" * 40

    async def main():
        async with live_copier(tmp_path, slaves=1) as live:
            server = MonitorServer(live.copier, bind="0.0.0.0:0", token=token, tls=server_tls)
            url = await server.start()
            local = url.replace("0.0.0.0", "127.0.0.1")
            try:
                answers = {}
                async with aiohttp.ClientSession() as session:
                    for name, path, headers in (
                            ("none", "metrics", {}),
                            ("wrong", "metrics", {"Authorization": "Bearer nope"}),
                            ("basic", "metrics", {"Authorization": f"Basic {token}"}),
                            ("bearer", "metrics", {"Authorization": f"Bearer {token}"}),
                            ("query", f"api/status?token={token}", {}),
                            ("wrong query", "api/status?token=tok-", {}),
                            ("page", f"?token={token}", {}),
                            ("page without", "", {})):
                        async with session.get(local + path, headers=headers, ssl=client_tls) as response:
                            answers[name] = (response.status, response.headers.get("WWW-Authenticate"))
                    # Plain HTTP to a TLS port gets nothing.
                    with pytest.raises(aiohttp.ClientError):
                        async with session.get(local.replace("https", "http") + "metrics"):
                            pass
                return url, answers
            finally:
                await server.aclose()

    url, answers = asyncio.run(main())
    assert url.startswith("https://0.0.0.0:")
    assert answers["none"] == (401, 'Bearer realm="copier_gui"')
    for name in ("wrong", "basic", "wrong query", "page without"):
        assert answers[name][0] == 401, name
    for name in ("bearer", "query", "page"):
        assert answers[name][0] == 200, name


def test_a_busy_port_is_one_clear_refusal_and_aclose_frees_it(tmp_path):
    async def main():
        async with live_copier(tmp_path, slaves=1) as live:
            first = MonitorServer(live.copier, bind="127.0.0.1:0", token=None)
            url = await first.start()
            second = MonitorServer(live.copier, bind=f"127.0.0.1:{first.port}", token=None)
            with pytest.raises(MonitorRefused) as caught:
                await second.start()
            await first.aclose()
            with pytest.raises(aiohttp.ClientConnectionError):
                await _get(url + "metrics")
            return str(caught.value), first.port

    message, port = asyncio.run(main())
    assert message.startswith(f"cannot listen on 127.0.0.1:{port}: ")
