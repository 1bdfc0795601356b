"""Which addresses only this machine can reach: a server bound there, or a URL pointing there,
needs no TLS; anything else does (the monitoring endpoint, an alert webhook, a NATS server)."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach. ``0.0.0.0`` and ``::`` are every interface."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve anywhere
