"""Where the monitoring endpoint listens: ``HOST:PORT`` from the command line, and whether that
host is loopback (reachable from this machine only), which decides if an access token is needed."""

from __future__ import annotations

import ipaddress
import re

# A DNS name's labels: letters, digits and inner hyphens (RFC 1123), dot-separated.
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
_USAGE = "give HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464"


def parse_bind(text: str) -> tuple[str, int]:
    """``"127.0.0.1:9464"`` -> ``("127.0.0.1", 9464)``; an IPv6 address goes in brackets.

    Port 0 asks the system for a free port. Anything else raises ValueError with one line that
    names what is wrong.
    """
    text = text.strip()
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise ValueError(f"'{text}' opens a bracket for an IPv6 address but never closes it; {_USAGE}")
        host, rest = text[1:close], text[close + 1:]
        if not rest.startswith(":"):
            raise ValueError(f"'{text}' has no ':PORT' after the address; {_USAGE}")
        port_text = rest[1:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"'{host}' is not an IPv6 address (only IPv6 addresses go in brackets)") from None
    else:
        if ":" not in text:
            raise ValueError(f"'{text}' has no port; {_USAGE}")
        host, _, port_text = text.rpartition(":")
        if ":" in host:
            raise ValueError(f"'{text}' looks like an IPv6 address: put it in brackets, e.g. [::1]:9464")
        if not host:
            raise ValueError(f"'{text}' has no host; {_USAGE}")
        if not _is_ipv4(host) and not _HOSTNAME.match(host):
            raise ValueError(f"'{host}' is not a host name or IP address")
    if not port_text:
        raise ValueError(f"'{text}' has no port number after ':'; {_USAGE}")
    if not port_text.isdigit():
        raise ValueError(f"'{port_text}' is not a port number; {_USAGE}")
    port = int(port_text)
    if port > 65535:
        raise ValueError(f"port {port} is out of range: ports go from 1 to 65535 (0 picks a free one)")
    return host, port




def url_host(host: str) -> str:
    """The host as it goes in a URL: IPv6 addresses in brackets."""
    return f"[{host}]" if ":" in host else host


def _is_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True
