"""A simulated broker behind the bridge: a process hosting simulated terminals on a bridge server,
which outlive the copier's workers as real terminals do. Tests and benchmarks use ``BrokerProcess``.

It is secured like a real bridge (TLS and a shared secret), so what is tested is the production
path. The secret reaches the broker process only through the keyring, as it would on Windows, and
the broker is paired with this machine's copier for 127.0.0.1:<port> while it runs.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
import time
from collections.abc import Mapping
from typing import Any

from copier_gui import secrets
from copier_gui.bridge import pairing
from copier_gui.bridge.client import connect
from copier_gui.bridge.server import MT5Service, make_server

# Levers a test may pull on a hosted terminal (see copier_gui.sim.terminal.SimControl).
SIM_LEVERS = frozenset({"set_algo_trading", "set_tradeapi_disabled", "disconnect", "force_retcodes",
                        "deposit", "trade_latency_ms"})


class SimulatedMT5Service(MT5Service):
    """The bridge service plus the simulator's levers, which a real terminal does not have."""

    def exposed_sim(self, lever: str, *args: Any) -> None:
        if lever not in SIM_LEVERS:
            raise AttributeError(f"no simulator lever {lever!r}")
        terminal = self._terminals[self._name]
        with self._locks[self._name]:
            if lever == "trade_latency_ms":
                import dataclasses

                from copier_gui.sim import Latency

                (median_ms,) = args
                terminal.sim.faults = dataclasses.replace(terminal.sim.faults,
                                                          trade_latency=Latency(median_ms=float(median_ms), sigma=0.0))
            else:
                getattr(terminal.sim, lever)(*args)


def run_broker(specs: Mapping[str, Any], anchor: float, port: int, secret_key: str, conn) -> None:
    """Process entry point: host ``specs`` (name -> SimTerminal) until ``conn`` closes, for clients
    that know the secret kept in the keyring under ``secret_key``."""
    from copier_gui.clock import SYSTEM_CLOCK
    from copier_gui.sim import Market, new_terminal

    secret = secrets.get_secret(secret_key, what=pairing.WHAT)
    if not secret:
        raise RuntimeError(f"the simulated broker found no secret under {secret_key} in the keyring")

    markets: dict[int, Market] = {}
    terminals = {}
    for name, spec in specs.items():
        market = markets.get(spec.seed)
        if market is None:
            market = markets[spec.seed] = Market(spec.seed, SYSTEM_CLOCK, anchor=anchor)
        terminals[name] = new_terminal(spec.profile, seed=spec.seed, market=market, faults=spec.faults,
                                       **spec.account)
    server = make_server(terminals, secret=secret, port=port, service=SimulatedMT5Service)
    del secret
    thread = threading.Thread(target=server.start, name="bridge-server", daemon=True)
    thread.start()
    # start() binds, then listens; the port is only worth announcing once it accepts connections.
    while not server.active and thread.is_alive():
        time.sleep(0.001)
    conn.send(server.port)
    with contextlib.suppress(EOFError, OSError):
        conn.recv()  # nothing is ever sent: this returns when the parent closes its end or dies
    server.close()


class BrokerProcess:
    """Start and stop a simulated broker process; ``port`` is where its bridge server listens."""

    def __init__(self, specs: Mapping[str, Any], *, anchor: float | None = None, port: int = 0) -> None:
        from copier_gui.clock import SYSTEM_CLOCK

        self.specs = dict(specs)
        self.anchor = SYSTEM_CLOCK.time() if anchor is None else anchor
        self._port = port
        self.port: int | None = None
        self._process = None
        self._conn = None
        self._secret: str | None = None
        self._secret_key = pairing.server_secret_key(f"sim-{os.getpid()}-{id(self):x}")

    def start(self, timeout: float = 30.0) -> BrokerProcess:
        # Made here, where the copier's side needs it too; the broker process reads it from the keyring.
        self._secret, _ = pairing.server_secret(self._secret_key, renew=True)
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self._process = context.Process(target=run_broker,
                                        args=(self.specs, self.anchor, self._port, self._secret_key, child),
                                        name="copier-sim-broker", daemon=True)
        self._process.start()
        child.close()
        self._conn = parent
        try:
            if not parent.poll(timeout):
                raise EOFError
            self.port = parent.recv()
        except (EOFError, OSError):
            code = self._process.exitcode
            self.stop()
            raise RuntimeError(f"the simulated broker did not start (exit code {code})") from None
        finally:
            # The broker read it at start; from now on it lives only in the two processes' memory.
            with contextlib.suppress(secrets.SecretsUnavailable):
                secrets.delete_secret(self._secret_key, what=pairing.WHAT)
        self.pair()
        return self

    def pair(self) -> None:
        """Give the keyring in use this broker's secret for 127.0.0.1:<port>, as a trader pairing
        a copier with a bridge would (replacing any earlier pairing for that address; a test that
        changes keyrings calls it again). ``stop`` removes it."""
        pairing.store_bridge_secret("127.0.0.1", self.port, self._secret)

    def secret(self) -> str | None:
        """The broker's shared secret (a provider for MT5Bridge's ``secret``)."""
        return self._secret

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def control(self, terminal: str, lever: str, *args: Any) -> None:
        """Pull a simulator lever on one hosted terminal."""
        conn = connect("127.0.0.1", self.port, self._secret)
        try:
            if not conn.root.open(terminal):
                raise KeyError(terminal)
            conn.root.sim(lever, *args)
        finally:
            conn.close()

    def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._process is not None:
            self._process.join(5.0)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(5.0)
            self._process = None
        if self._secret is not None and self.port is not None:
            with contextlib.suppress(secrets.SecretsUnavailable):  # a pairing left behind is harmless
                if pairing.bridge_secret("127.0.0.1", self.port) == self._secret:
                    pairing.delete_bridge_secret("127.0.0.1", self.port)
        self._secret = None

    def __enter__(self) -> BrokerProcess:
        return self.start() if self._process is None else self

    def __exit__(self, *exc) -> None:
        self.stop()
