"""What answered on a bridge port that is not a copier_gui bridge: an rpyc classic server (what
mt5linux runs), another rpyc service, or some other program.

The probe speaks plain rpyc and asks one thing, the service's name, which every rpyc server
answers. It offers the server nothing: the copier's side of the connection is an ``InertPeer``
with pickling and attribute access off, so even a hostile server can run nothing here. No
password and no secret is sent.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import rpyc

__all__ = ["CLASSIC_NAMES", "SAFE_CLIENT_CONFIG", "Answer", "InertPeer", "identify"]

# The names rpyc's classic services give (SlaveService before rpyc 5 and in some servers,
# ClassicService since): mt5linux's server is one of these.
CLASSIC_NAMES = frozenset({"SLAVE", "CLASSIC"})
# The copier's side of any plain rpyc connection: nothing of this process is served to the peer.
SAFE_CLIENT_CONFIG = {
    "allow_public_attrs": False,
    "allow_all_attrs": False,
    "allow_pickle": False,
    "allow_setattr": False,
    "allow_delattr": False,
    "import_custom_exceptions": False,
    "instantiate_custom_exceptions": False,
    "include_local_traceback": False,
}


class InertPeer(rpyc.Service):
    """The copier's side of a connection to an rpyc classic server: it serves nothing.

    rpyc's ClassicService is two-way: on connect, the server takes the client's ``getmodule``,
    ``eval``, ``execute`` and ``namespace``, and imports ``builtins`` through them, and drops a
    client that has none. This peer has them, and they do nothing: every module is missing and
    no code runs here.
    """

    exposed_namespace = None

    def exposed_getmodule(self, name):
        return None

    def exposed_eval(self, text):
        raise PermissionError("the copier runs no code for the server")

    def exposed_execute(self, text):
        raise PermissionError("the copier runs no code for the server")


@dataclass(frozen=True, slots=True)
class Answer:
    """``service`` is the rpyc service's name, or None when what answered is not rpyc."""

    service: str | None
    detail: str = ""

    @property
    def classic(self) -> bool:
        return self.service in CLASSIC_NAMES


def identify(host: str, port: int, *, timeout: float) -> Answer:
    """Ask what answers at ``host:port`` over plain rpyc; never raises for what it finds."""
    try:
        conn = rpyc.connect(host, port, service=InertPeer, ipv6=":" in host,
                            config=dict(SAFE_CLIENT_CONFIG, sync_request_timeout=timeout))
    except Exception as exc:  # any failure means: not an rpyc server we could reach
        return Answer(None, f"{type(exc).__name__}: {exc}")
    try:
        name = conn.root.get_service_name()
        if not isinstance(name, str) or name == InertPeer.get_service_name():
            # Our own name back: an echo answered the question with the copier's own service.
            return Answer(None, "it sent back what it was sent")
        return Answer(name, "")
    except Exception as exc:  # garbage, a closed connection or silence: not rpyc
        return Answer(None, type(exc).__name__)
    finally:
        with contextlib.suppress(Exception):
            conn.close()
