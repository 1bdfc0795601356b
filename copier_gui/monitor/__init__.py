"""Monitoring over HTTP: Prometheus metrics and a read-only status page, off unless ``--http``.

``MonitorServer`` serves one copier on its own event loop; ``parse_bind`` reads ``HOST:PORT``;
``start_monitor`` is the whole start-up for the command line (token, TLS, the URL printed once).
"""

from copier_gui.monitor.bind import parse_bind
from copier_gui.monitor.server import MonitorRefused, MonitorServer
from copier_gui.netaddr import is_loopback

__all__ = ["MonitorRefused", "MonitorServer", "is_loopback", "parse_bind"]
