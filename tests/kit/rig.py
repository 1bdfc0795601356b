"""A copier over simulated brokers on virtual time, driven by a test script: the rig for copier tests."""

from __future__ import annotations

from copier_gui.clock import VirtualClock
from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector
from copier_gui.core import tags
from copier_gui.core.copier import Copier, SlaveLink
from copier_gui.core.copybook import CopyBook
from copier_gui.core.journal import Journal
from copier_gui.core.rules import CopyRules
from copier_gui.replay.virtual_loop import run_virtual
from copier_gui.sim import Market, new_terminal
from tests.kit import WEEKDAY_NOON_UTC


class Rig:
    def __init__(self, slaves=("harbor_fx", "apex_prop"), *, rules: CopyRules | None = None, copybook_path=None,
                 margin_modes: dict[str, int] | None = None, slave_faults: dict | None = None):
        self.clock = VirtualClock(WEEKDAY_NOON_UTC)
        market = Market(3, self.clock)
        self.master = new_terminal("meridian_ecn", seed=3, clock=self.clock, market=market, login=1)
        assert self.master.initialize()  # the master's own trader (an EA) is logged in already
        modes, faults = margin_modes or {}, slave_faults or {}
        self.slaves = {f"s{i}": new_terminal(p, seed=3, clock=self.clock, market=market, login=10 + i,
                                             faults=faults.get(f"s{i}"),
                                             **({"margin_mode": modes[f"s{i}"]} if f"s{i}" in modes else {}))
                       for i, p in enumerate(slaves)}
        self.rules = rules or CopyRules()
        self.journal = Journal(None, self.clock)
        self.copybook_path = copybook_path
        self.notices = []

    def copier(self, instance: str = "") -> Copier:
        links = [SlaveLink(sid, MT5Connector(sid, t, invoker=InlineInvoker(), clock=self.clock), self.rules)
                 for sid, t in self.slaves.items()]
        master = MT5Connector("master", self.master, invoker=InlineInvoker(), clock=self.clock)
        copier = Copier(master, links, journal=self.journal, clock=self.clock,
                        copybook=CopyBook(self.copybook_path), poll_interval_s=0.005, reconcile_interval_s=1.0,
                        instance=instance)
        copier.subscribe(self.notices.append)
        return copier

    def trade(self, symbol, order_type, volume, position=0):
        return master_trade(self.master, symbol, order_type, volume, position)

    def held(self, slave_id):
        t = self.slaves[slave_id]
        if not t.sim.connected:
            assert t.initialize()  # the copier shut its session down when it stopped
        return [p for p in t.positions_get() if tags.master_ticket_of(p.comment) is not None]

    def run(self, script):
        return run_virtual(script, self.clock)


def master_trade(terminal, symbol, order_type, volume, position=0) -> int:
    """A market deal at the master's terminal, as its own trader would send it; the order ticket."""
    tick = terminal.symbol_info_tick(symbol)
    request = {"action": 1, "symbol": symbol, "volume": volume, "type": order_type,
               "price": tick.ask if order_type == 0 else tick.bid, "type_filling": 1}
    if position:
        request["position"] = position
    result = terminal.order_send(request)
    assert result.retcode == 10009, result
    return result.order
