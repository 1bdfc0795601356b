"""The endpoint as the command line starts it: options checked, token made once and shown once."""

from __future__ import annotations

import asyncio
import io
import ssl

import aiohttp
import pytest
import trustme

from copier_gui.monitor import MonitorRefused
from copier_gui.monitor.access import ensure_token
from copier_gui.monitor.service import HttpMonitor, check_options
from tests.unit.monitor.conftest import live_copier


@pytest.fixture
def tls_files(tmp_path):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return cert_file, key_file, client


@pytest.mark.parametrize(("bind", "cert", "key", "words"), [
    ("0.0.0.0:9464", None, None, "served over TLS only"),
    ("127.0.0.1:9464", "cert.pem", None, "go together"),
    ("0.0.0.0:9464", "missing.pem", "missing-key.pem", "does not exist"),
    ("nohost", None, None, "HOST:PORT"),
])
def test_bad_options_are_one_line(bind, cert, key, words):
    with pytest.raises(ValueError) as caught:
        check_options(bind, cert, key)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_loopback_needs_nothing_and_prints_the_url(tmp_path):
    out = io.StringIO()

    async def main():
        async with live_copier(tmp_path, slaves=1) as live:
            monitor = HttpMonitor(live.copier, bind="127.0.0.1:0", journal=live.journal, out=out)
            url = await monitor.start()
            try:
                async with aiohttp.ClientSession() as session, session.get(url + "metrics") as response:
                    return url, response.status
            finally:
                await monitor.aclose()

    url, status = asyncio.run(main())
    assert status == 200
    assert out.getvalue() == f"copier-gui: monitoring at {url} (metrics at {url}metrics)\n"


def test_token_is_shown_once_when_made(tmp_path, tls_files):
    cert_file, key_file, client = tls_files
    outs = [io.StringIO(), io.StringIO()]

    async def main():
        async with live_copier(tmp_path, slaves=1) as live:
            statuses = []
            for out in outs:
                monitor = HttpMonitor(live.copier, bind="0.0.0.0:0", cert=cert_file, key=key_file, out=out)
                url = await monitor.start()
                local = url.replace("0.0.0.0", "127.0.0.1")
                try:
                    async with aiohttp.ClientSession() as session:
                        for headers in ({}, {"Authorization": f"Bearer {ensure_token()[0]}"}):
                            async with session.get(local + "metrics", headers=headers, ssl=client) as response:
                                statuses.append(response.status)
                finally:
                    await monitor.aclose()
            return statuses

    statuses = asyncio.run(main())
    assert statuses == [401, 200, 401, 200]
    token, made = ensure_token()
    assert not made
    first, second = outs[0].getvalue(), outs[1].getvalue()
    assert f"?token={token}" in first and "shown this once" in first
    assert token not in second and second.startswith("copier-gui: monitoring at https://0.0.0.0:")


def test_refuses_without_tls_before_touching_the_keyring(tmp_path):
    async def main():
        async with live_copier(tmp_path, slaves=1) as live:
            with pytest.raises(MonitorRefused, match="served over TLS only"):
                await HttpMonitor(live.copier, bind="0.0.0.0:0", out=io.StringIO()).start()

    asyncio.run(main())
    assert ensure_token()[1]  # nothing was made by the refused start


class _ReaderGone(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_console_whose_reader_went_away_does_not_stop_the_endpoint(tmp_path):
    async def main():
        async with live_copier(tmp_path, slaves=1) as live:
            monitor = HttpMonitor(live.copier, bind="127.0.0.1:0", journal=live.journal, out=_ReaderGone())
            url = await monitor.start()
            try:
                async with aiohttp.ClientSession() as session, session.get(url + "metrics") as response:
                    return response.status
            finally:
                await monitor.aclose()

    assert asyncio.run(main()) == 200
