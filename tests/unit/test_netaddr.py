"""Loopback addresses: what needs no TLS."""

from __future__ import annotations

import pytest

from copier_gui.netaddr import is_loopback


@pytest.mark.parametrize(("host", "loopback"), [
    ("localhost", True), ("LOCALHOST", True), ("127.0.0.1", True), ("127.3.4.5", True), ("::1", True),
    ("0.0.0.0", False), ("::", False), ("10.0.0.2", False), ("example.com", False),
])
def test_only_this_machine_is_loopback(host, loopback):
    assert is_loopback(host) is loopback
