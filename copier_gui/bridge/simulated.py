"""A simulated broker behind the bridge: a process hosting simulated terminals on an RPyC server,
which outlive the copier's workers as real terminals do. Tests and benchmarks use ``BrokerProcess``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
import time
from collections.abc import Mapping
from typing import Any

import rpyc

from copier_gui.bridge.server import PROTOCOL_CONFIG, MT5Service, make_server

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


def run_broker(specs: Mapping[str, Any], anchor: float, port: int, conn) -> None:
    """Process entry point: host ``specs`` (name -> SimTerminal) until ``conn`` closes."""
    from copier_gui.clock import SYSTEM_CLOCK
    from copier_gui.sim import Market, new_terminal

    markets: dict[int, Market] = {}
    terminals = {}
    for name, spec in specs.items():
        market = markets.get(spec.seed)
        if market is None:
            market = markets[spec.seed] = Market(spec.seed, SYSTEM_CLOCK, anchor=anchor)
        terminals[name] = new_terminal(spec.profile, seed=spec.seed, market=market, faults=spec.faults,
                                       **spec.account)
    server = make_server(terminals, port=port, service=SimulatedMT5Service)
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

    def start(self, timeout: float = 30.0) -> BrokerProcess:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self._process = context.Process(target=run_broker, args=(self.specs, self.anchor, self._port, child),
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
        return self

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def control(self, terminal: str, lever: str, *args: Any) -> None:
        """Pull a simulator lever on one hosted terminal."""
        conn = rpyc.connect("127.0.0.1", self.port, config=dict(PROTOCOL_CONFIG))
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

    def __enter__(self) -> BrokerProcess:
        return self.start() if self._process is None else self

    def __exit__(self, *exc) -> None:
        self.stop()
