"""``--http HOST:PORT``: what parses, what is loopback, and the one-line message for what does not."""

from __future__ import annotations

import pytest

from copier_gui.monitor.bind import parse_bind
from copier_gui.netaddr import is_loopback


@pytest.mark.parametrize(("text", "expected"), [
    ("127.0.0.1:9464", ("127.0.0.1", 9464)),
    ("localhost:8080", ("localhost", 8080)),
    ("[::1]:9464", ("::1", 9464)),
    ("0.0.0.0:0", ("0.0.0.0", 0)),
    ("192.168.1.20:65535", ("192.168.1.20", 65535)),
    (" 127.0.0.1:9464 ", ("127.0.0.1", 9464)),
])
def test_parses_host_and_port(text, expected):
    assert parse_bind(text) == expected


@pytest.mark.parametrize(("text", "words"), [
    ("", "HOST:PORT"),
    ("9464", "HOST:PORT"),
    ("127.0.0.1", "HOST:PORT"),
    ("127.0.0.1:", "port"),
    (":9464", "host"),
    ("127.0.0.1:http", "'http' is not a port"),
    ("127.0.0.1:70000", "70000"),
    ("127.0.0.1:-1", "'-1' is not a port"),
    ("::1:9464", "brackets"),
    ("[::1:9464", "never closes"),
    ("[::1]9464", "HOST:PORT"),
    ("[nope]:9464", "'nope' is not an IPv6 address"),
    ("bad host:9464", "'bad host' is not a host name"),
])
def test_bad_input_names_what_is_wrong(text, words):
    with pytest.raises(ValueError) as caught:
        parse_bind(text)
    message = str(caught.value)
    assert words in message
    assert "\n" not in message


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.3.2.1", True), ("::1", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("example.org", False), ("", False),
])
def test_loopback(host, loopback):
    assert is_loopback(host) is loopback
