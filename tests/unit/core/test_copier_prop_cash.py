"""Deposits and withdrawals on a prop slave, through the real copier over the simulated broker: the
back office's cash is not trading, so a withdrawal that would look like a day's loss breaches
nothing and a deposit does not lift a trailing floor, also when it happened while no copier ran."""

from __future__ import annotations

import asyncio

from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector
from copier_gui.core.copier import Copier, SlaveLink
from copier_gui.core.copybook import CopyBook
from copier_gui.core.risk import TradingState
from copier_gui.core.riskstore import RiskStore
from copier_gui.core.rules import CopyRules
from tests.kit.rig import Rig

# A day's loss of 500 closes every copy: a withdrawal read as a loss would flatten the slave.
_DAILY = {"risk": {"prop": {"reset": "17:00 America/New_York",
                            "daily_loss": {"amount": 500, "baseline": "balance", "action": "flatten"}}}}
_TRAILING = {"risk": {"prop": {"reset": "17:00 America/New_York",
                               "max_loss": {"amount": 1000, "mode": "trailing_intraday", "action": "flatten"}}}}


def _copier(rig: Rig, store: RiskStore) -> Copier:
    """The rig's copier, with a risk store on disk that a restart opens again."""
    links = [SlaveLink(sid, MT5Connector(sid, t, invoker=InlineInvoker(), clock=rig.clock), rig.rules)
             for sid, t in rig.slaves.items()]
    master = MT5Connector("master", rig.master, invoker=InlineInvoker(), clock=rig.clock)
    return Copier(master, links, journal=rig.journal, clock=rig.clock, copybook=CopyBook(rig.copybook_path),
                  poll_interval_s=0.005, reconcile_interval_s=1.0, risk_store=store)


def _breaches(rig: Rig) -> list[str]:
    return [e.message for e in rig.journal.entries(kind="refusal", account="s0") if "prop." in e.message]


def test_a_withdrawal_the_size_of_several_daily_limits_breaches_nothing_also_across_a_restart(tmp_path):
    rig = Rig(slaves=("harbor_fx",), rules=CopyRules.model_validate(_DAILY))
    path = tmp_path / "risk.sqlite3"

    async def script():
        copier = _copier(rig, RiskStore(path))
        await copier.start()
        rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(1.0)
        rig.slaves["s0"].sim.deposit(-2000.0, "payout")
        await asyncio.sleep(2.0)
        running = (len(rig.held("s0")), copier.slaves["s0"].risk_gate.state)
        await copier.stop()
        # While no copier runs, another withdrawal; the restarted copier must not read it as a loss.
        rig.slaves["s0"].sim.deposit(-1500.0, "payout")
        copier = _copier(rig, RiskStore(path))
        await copier.start()
        await asyncio.sleep(2.0)
        restarted = (len(rig.held("s0")), copier.slaves["s0"].risk_gate.state)
        await copier.stop()
        return running, restarted

    running, restarted = rig.run(script)
    assert running == (1, TradingState.ACTIVE)
    assert restarted == (1, TradingState.ACTIVE)
    assert _breaches(rig) == []
    texts = [e.message for e in rig.journal.entries(account="s0")]
    assert any("withdrawal of 2,000.00" in t for t in texts), texts
    assert any("withdrawal of 1,500.00" in t for t in texts), texts


def test_a_withdrawal_leaves_the_daily_room_where_trading_put_it(tmp_path):
    rig = Rig(slaves=("harbor_fx",), rules=CopyRules.model_validate(_DAILY))

    async def script():
        copier = _copier(rig, RiskStore(tmp_path / "risk.sqlite3"))
        await copier.start()
        await asyncio.sleep(1.0)
        gate = copier.slaves["s0"].risk_gate
        before = gate.room_left().daily_left
        rig.slaves["s0"].sim.deposit(-300.0)
        await asyncio.sleep(2.0)
        after = gate.room_left().daily_left
        await copier.stop()
        return before, after

    before, after = rig.run(script)
    assert before == after == 500.0


def test_a_deposit_does_not_lift_a_trailing_floor_also_across_a_restart(tmp_path):
    rig = Rig(slaves=("harbor_fx",), rules=CopyRules.model_validate(_TRAILING))
    path = tmp_path / "risk.sqlite3"

    async def script():
        copier = _copier(rig, RiskStore(path))
        await copier.start()
        await asyncio.sleep(1.0)
        floor = copier.slaves["s0"].risk_gate.room_left().floor
        rig.slaves["s0"].sim.deposit(5000.0)
        await asyncio.sleep(2.0)
        after_deposit = copier.slaves["s0"].risk_gate.room_left().floor
        await copier.stop()
        rig.slaves["s0"].sim.deposit(2500.0)
        copier = _copier(rig, RiskStore(path))
        await copier.start()
        await asyncio.sleep(2.0)
        after_restart = copier.slaves["s0"].risk_gate.room_left().floor
        state = copier.slaves["s0"].risk_gate.state
        await copier.stop()
        return floor, after_deposit, after_restart, state

    floor, after_deposit, after_restart, state = rig.run(script)
    assert floor is not None
    assert after_deposit == floor
    assert after_restart == floor
    assert state is TradingState.ACTIVE
    texts = [e.message for e in rig.journal.entries(account="s0")]
    assert any("deposit of 5,000.00" in t for t in texts), texts
