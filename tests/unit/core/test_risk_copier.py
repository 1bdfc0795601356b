"""Risk state in a running copier over simulated brokers: halts through restarts, rule edits and resets."""

from __future__ import annotations

import asyncio

from copier_gui.cli import main
from copier_gui.clock import VirtualClock
from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector
from copier_gui.core import tags, view
from copier_gui.core.copier import Copier, SlaveLink
from copier_gui.core.copybook import CopyBook
from copier_gui.core.journal import Journal
from copier_gui.core.risk import TradingState
from copier_gui.core.riskstore import RISK_FILE, RiskStore, open_risk_store
from copier_gui.core.rules import CopyRules, Limit, LimitAction, Risk
from copier_gui.replay.virtual_loop import run_virtual
from copier_gui.sim import Market, new_terminal
from tests.kit import WEEKDAY_NOON_UTC
from tests.kit.rig import master_trade

# The spread alone of a 0.5 lot copy loses more than this: the slave halts and is flattened.
HALT_ON_ANY_LOSS = CopyRules(risk=Risk(daily_loss=Limit(value=1, action=LimitAction.FLATTEN)))


class Rig:
    """One master, one slave ("s1"), a journal and the risk file in ``home``, on virtual time."""

    def __init__(self, home, rules: CopyRules = HALT_ON_ANY_LOSS) -> None:
        self.clock = VirtualClock(WEEKDAY_NOON_UTC)
        market = Market(3, self.clock)
        self.master = new_terminal("meridian_ecn", seed=3, clock=self.clock, market=market, login=1)
        assert self.master.initialize()
        self.slave = new_terminal("harbor_fx", seed=3, clock=self.clock, market=market, login=11)
        self.home = home
        home.mkdir(exist_ok=True)
        self.rules = rules
        self.journal = Journal(home / "journal.sqlite3", self.clock)
        self.notices = []
        self.stores: list[RiskStore] = []

    def copier(self, store: RiskStore | None = None) -> Copier:
        store = store or RiskStore(self.home / RISK_FILE)
        self.stores.append(store)
        link = SlaveLink("s1", MT5Connector("s1", self.slave, invoker=InlineInvoker(), clock=self.clock), self.rules)
        master = MT5Connector("master", self.master, invoker=InlineInvoker(), clock=self.clock)
        copier = Copier(master, [link], journal=self.journal, clock=self.clock, copybook=CopyBook(None),
                        poll_interval_s=0.005, reconcile_interval_s=1.0, risk_store=store)
        copier.subscribe(self.notices.append)
        return copier

    def trade(self, symbol, order_type, volume, position=0):
        return master_trade(self.master, symbol, order_type, volume, position)

    def held(self):
        if not self.slave.sim.connected:
            assert self.slave.initialize()
        return [p.symbol for p in self.slave.positions_get() if tags.master_ticket_of(p.comment) is not None]

    def run(self, script):
        try:
            return run_virtual(script, self.clock)
        finally:
            for store in self.stores:
                store.close()

    async def halted_copier(self) -> Copier:
        """A started copier whose slave copied one trade, lost the spread, halted and was flattened."""
        copier = self.copier()
        await copier.start()
        ticket = self.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(2.5)  # the periodic pass reads the account and finds the loss
        assert copier.slaves["s1"].risk_gate.state is TradingState.HALTED
        assert self.held() == [], "halted means flattened"
        self.trade("EURUSD", 1, 0.5, position=ticket)  # so that nothing is re-copied after a reset
        await asyncio.sleep(0.1)
        return copier

    def entries(self, kind: str | None = None):
        self.journal.flush()
        return self.journal.entries(kind=kind) if kind else self.journal.entries()


def test_a_slave_halted_by_its_daily_loss_stays_halted_after_a_restart(tmp_path):
    rig = Rig(tmp_path)

    async def script():
        copier = await rig.halted_copier()
        copier.abandon()  # a crash; the flatten already booked the loss, so today's balance is lower
        restarted = rig.copier()
        await restarted.start()
        state = restarted.slaves["s1"].risk_gate.state
        rig.trade("GBPUSD", 0, 0.3)
        await asyncio.sleep(2.5)
        held = rig.held()
        await restarted.stop()
        return state, held

    state, held = rig.run(script)
    assert state is TradingState.HALTED and held == []
    # The restarted copier measures from the day start on disk, so it finds the same loss again.
    breaches = [n.text for n in rig.notices if n.kind == "refusal" and n.text.startswith("risk: daily loss")]
    assert len(breaches) == 2 and breaches[0] == breaches[1]
    assert not any("-> active" in n.text for n in rig.notices)
    rig.journal.close()


def test_a_rule_edit_does_not_lift_a_halt(tmp_path):
    rig = Rig(tmp_path)

    async def script():
        copier = await rig.halted_copier()
        copier.set_rules("s1", CopyRules())  # every limit removed
        rig.trade("GBPUSD", 0, 0.3)
        await asyncio.sleep(2.5)
        result = copier.slaves["s1"].risk_gate.state, rig.held(), view.mirrored_positions(copier)
        await copier.stop()
        return result

    state, held, rows = rig.run(script)
    assert state is TradingState.HALTED and held == []
    # The window says why the new trade has no copy, rather than "pending".
    (row,) = rows
    assert row.copies[0].state == "skipped" and row.copies[0].reason.startswith("risk: daily loss")
    rig.journal.close()


def test_reset_risk_lifts_the_halt_journals_it_and_copying_resumes(tmp_path):
    rig = Rig(tmp_path)

    async def script():
        copier = await rig.halted_copier()
        text = copier.reset_risk("s1")
        state = copier.slaves["s1"].risk_gate.state
        rig.trade("GBPUSD", 0, 0.3)
        await asyncio.sleep(0.1)
        held = rig.held()
        await copier.stop()
        return text, state, held

    text, state, held = rig.run(script)
    assert state is TradingState.ACTIVE and held == ["GBPUSD.m"]
    assert text.startswith("risk reset for s1 by the window: halt lifted (daily_loss: risk: daily loss")
    assert "trading state halted -> active" in text
    assert text in [n.text for n in rig.notices if n.kind == "state" and n.account == "s1"]
    journaled = [e for e in rig.entries("state") if e.message == text]
    assert len(journaled) == 1 and journaled[0].account == "s1"
    assert journaled[0].data["risk_reset"] is True and journaled[0].data["halt_limit"] == "daily_loss"
    assert RiskStore(tmp_path / RISK_FILE).load("s1").resets == 1
    rig.journal.close()


def test_a_reset_from_the_command_line_reaches_the_running_copier(tmp_path, capsys):
    rig = Rig(tmp_path)

    async def script():
        copier = await rig.halted_copier()
        assert main(["--home", str(tmp_path), "risk", "reset", "s1"]) == 0
        await asyncio.sleep(0.5)  # the next periodic pass reads the store
        state = copier.slaves["s1"].risk_gate.state
        rig.trade("GBPUSD", 0, 0.3)
        await asyncio.sleep(0.1)
        held = rig.held()
        await copier.stop()
        return state, held

    state, held = rig.run(script)
    assert state is TradingState.ACTIVE and held == ["GBPUSD.m"]
    assert "risk reset for s1 by the command line" in capsys.readouterr().out
    texts = [e.message for e in rig.entries("state") if e.account == "s1"]
    assert any(t.startswith("risk reset for s1 by the command line: halt lifted") for t in texts)
    assert any(t.startswith("risk reset for s1 by the command line took effect") for t in texts)
    rig.journal.close()


def test_an_unreadable_risk_file_starts_every_slave_on_exits_only(tmp_path):
    rig = Rig(tmp_path, CopyRules())

    async def script():
        copier = rig.copier()
        await copier.start()
        ticket = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(0.1)
        assert rig.held() == ["EURUSD.m"]
        copier.abandon()
        rig.stores.pop().close()
        (tmp_path / RISK_FILE).write_bytes(b"\x00garbage" * 512)
        for side in ("-wal", "-shm"):
            (tmp_path / f"{RISK_FILE}{side}").unlink(missing_ok=True)

        store = open_risk_store(tmp_path / RISK_FILE, backups_dir=tmp_path / "backups", clock=rig.clock)
        restarted = rig.copier(store)
        await restarted.start()
        state = restarted.slaves["s1"].risk_gate.state
        rig.trade("GBPUSD", 0, 0.3)  # refused: entries are stopped
        rig.trade("EURUSD", 1, 0.5, position=ticket)  # mirrored: exits never are
        await asyncio.sleep(0.1)
        held = rig.held()
        await restarted.stop()
        again = rig.copier()  # the hold is on disk: a second restart keeps it
        return state, held, again.slaves["s1"], again

    state, held, link, again = rig.run(script)
    assert state is TradingState.REDUCING and held == []
    assert again.risk_store.load("s1").halt.limit == "risk_state_lost"
    errors = [e.message for e in rig.entries("error")]
    assert any(m.startswith("risk state lost: the risk state file") and "backups" in m for m in errors)
    assert any("risk state file could not be read" in n.text and n.kind == "refusal" for n in rig.notices)
    assert [p.name for p in (tmp_path / "backups").iterdir()][0].startswith("risk-unreadable-")
    rig.journal.close()


def test_a_risk_file_that_fails_mid_run_is_journaled_once_and_copying_goes_on(tmp_path):
    rig = Rig(tmp_path, CopyRules())

    async def script():
        copier = rig.copier()
        await copier.start()
        copier.risk_store.close()  # as a disk that went away would
        rig.slave.sim.engine.deposit(500)  # a new peak to write
        await asyncio.sleep(1.5)
        rig.slave.sim.engine.deposit(500)  # and another
        await asyncio.sleep(1.0)
        rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(0.1)
        held, peak = rig.held(), copier.slaves["s1"].risk_gate.peak_equity
        await copier.stop()
        return held, peak

    held, peak = rig.run(script)
    assert held == ["EURUSD.m"] and peak >= 11_000, "the gate goes on from memory"
    errors = sorted(e.message for e in rig.entries("error"))
    # Said once each (looking for a reset, saving a peak), not on every pass.
    assert [e.split(" the risk state file")[0] for e in errors] == ["cannot read", "cannot write"]
    assert all(e.endswith("the risk limits still apply, from memory") for e in errors)
    assert sorted(n.text for n in rig.notices if n.kind == "failure") == errors
    rig.journal.close()
