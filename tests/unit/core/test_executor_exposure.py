"""Each copy and each refusal journals what one volume holds on either side, so drift attribution
compares exposures: a master's 2 lots of a Dow at 1 a lot against a slave's 0.2 lot at 10 a lot
(and a master in USD against a slave in EUR) pay the master's costs once, in the slave's money."""

from __future__ import annotations

import asyncio

import pytest

from copier_gui.core.drift_ledger import DriftLedger
from copier_gui.core.rules import CopyRules, Tolerances
from copier_gui.sim import constants as mt5
from tests.kit.rig import Rig


def _run(rig: Rig, *, close: bool):
    async def script():
        copier = rig.copier()
        await copier.start()
        for link in copier.slaves.values():
            # The copier's side of the wiring: its master's symbols, as it last loaded them.
            link.executor.master_spec = lambda name: copier.master_symbols.get(name)
        ticket = rig.trade("US30", mt5.ORDER_TYPE_BUY, 2.0)
        await asyncio.sleep(1.0)
        if close:
            rig.trade("US30", mt5.ORDER_TYPE_SELL, 2.0, position=ticket)
            await asyncio.sleep(1.0)
        await copier.stop()
        return copier.master_symbols["US30"], copier.slaves["s0"].symbols["US30.m"]

    return rig.run(script)


def _entries(rig: Rig):
    return rig.journal.entries(newest_first=False)


def test_a_copy_journals_the_units_in_one_volume_on_each_side_and_the_masters_money_per_price_unit():
    rig = Rig(slaves=("harbor_fx",))
    master_spec, slave_spec = _run(rig, close=True)
    opened = [e.data["metrics"] for e in _entries(rig)
              if e.kind == "info" and e.data.get("metrics", {}).get("action") == "open"]
    assert len(opened) == 1
    m = opened[0]
    assert (m["symbol"], m["volume"], m["master_volume"]) == ("US30.m", pytest.approx(0.2), pytest.approx(2.0))
    assert m["slave_per_volume"] == 10.0 and m["master_per_volume"] == 1.0
    assert m["master_money_per_price_lot"] == pytest.approx(master_spec.tick_value / master_spec.tick_size)

    ledger = DriftLedger()
    ledger.feed(_entries(rig))
    [valued] = ledger.drift()["s0"].attribution.per_trade
    master_deals = [e.data["deals"] for e in _entries(rig) if e.kind == "deals" and e.account == "master"][-1]
    commission = sum(row[3] for row in master_deals)
    assert commission < 0, "the master's broker charges commission on the Dow"
    # Same exposure (2 units of the Dow on both sides): the master's whole commission, in EUR at
    # the rate the two brokers' money per price unit on one unit of the Dow gives.
    usd_per_unit = master_spec.tick_value / master_spec.tick_size / master_spec.contract_size
    eur_per_unit = slave_spec.tick_value / slave_spec.tick_size / slave_spec.contract_size
    assert valued.trade.master_commission_scaled == pytest.approx(commission * eur_per_unit / usd_per_unit)
    assert 0.8 < eur_per_unit / usd_per_unit < 1.0, "a dollar is worth less than a euro at these brokers"


def test_a_refused_entry_journals_the_same_for_drift_to_value_what_was_missed():
    rig = Rig(slaves=("harbor_fx",), rules=CopyRules(tolerances=Tolerances(max_delay_ms=0)))
    master_spec, _ = _run(rig, close=False)
    refusals = [e.data["drift"] for e in _entries(rig) if e.kind == "refusal" and "drift" in e.data]
    assert refusals, [e.message for e in _entries(rig) if e.kind == "refusal"]
    drift = refusals[0]
    assert drift["cause"] == "missed" and drift["ideal_volume"] == pytest.approx(0.2)
    assert drift["slave_per_volume"] == 10.0 and drift["master_per_volume"] == 1.0
    assert drift["master_money_per_price_lot"] == pytest.approx(master_spec.tick_value / master_spec.tick_size)
