"""The prop-firm rules the copier enforces around the risk gate: a stop loss on every copy, added by
the copier or the copy closed, and the trading days counted from the copies' fills."""

from __future__ import annotations

import asyncio

from copier_gui.core.rules import CopyRules
from tests.kit.rig import Rig


def _rules(stop_loss: dict, **prop) -> CopyRules:
    return CopyRules.model_validate({"risk": {"prop": {"reset": "17:00 America/New_York",
                                                       "stop_loss": stop_loss, **prop}}})


def _set_master_sl(rig: Rig, ticket: int, sl: float) -> None:
    result = rig.master.order_send({"action": 6, "position": ticket, "symbol": "EURUSD", "sl": sl, "tp": 0.0})
    assert result.retcode == 10009, result


def test_a_copy_of_a_master_trade_without_a_stop_gets_its_own_and_then_follows_the_master_s():
    rig = Rig(slaves=("harbor_fx",), rules=_rules({"within_s": 30, "distance": {"value": 20, "unit": "pip"}}))

    async def script():
        copier = rig.copier()
        await copier.start()
        ticket = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(1.0)
        (copy,) = rig.held("s0")
        master = rig.master.positions_get(ticket=ticket)[0]
        own = (copy.sl, master.price_open)
        _set_master_sl(rig, ticket, round(master.price_open - 0.0050, 5))
        await asyncio.sleep(2.0)
        (followed,) = rig.held("s0")
        await copier.stop()
        return own, followed.sl, master.price_open

    (own_sl, opened_at), followed_sl, price = rig.run(script)
    assert abs(own_sl - (opened_at - 0.0020)) < 1e-9, (own_sl, opened_at)
    assert abs(followed_sl - (price - 0.0050)) < 1e-9


def test_a_stop_distance_that_cannot_apply_refuses_the_entry_naming_the_rule():
    rig = Rig(slaves=("harbor_fx",), rules=_rules({"within_s": 30, "distance": {"value": 20, "unit": "pip"}}))

    async def script():
        copier = rig.copier()
        await copier.start()
        rig.trade("BTCUSD", 0, 0.1)
        await asyncio.sleep(1.0)
        held = rig.held("s0")
        await copier.stop()
        return held

    assert rig.run(script) == []
    (refusal,) = [e.message for e in rig.journal.entries(kind="refusal", account="s0")]
    assert "risk.prop.stop_loss" in refusal and "pips apply to currency pairs only" in refusal, refusal


def test_a_copy_still_without_a_stop_after_the_firm_s_seconds_is_closed_and_not_copied_again():
    rig = Rig(slaves=("harbor_fx",), rules=_rules({"within_s": 5, "action": "close"}))

    async def script():
        copier = rig.copier()
        await copier.start()
        ticket = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(2.0)
        before = len(rig.held("s0"))
        await asyncio.sleep(4.0)
        after = len(rig.held("s0"))
        await asyncio.sleep(10.0)
        later = len(rig.held("s0"))
        master_open = bool(rig.master.positions_get(ticket=ticket))
        await copier.stop()
        return before, after, later, master_open

    assert rig.run(script) == (1, 0, 0, True)
    texts = [e.message for e in rig.journal.entries(account="s0")]
    assert any("no stop loss within 5 s" in t for t in texts), texts


def test_a_copy_whose_master_sets_a_stop_in_time_is_kept():
    rig = Rig(slaves=("harbor_fx",), rules=_rules({"within_s": 5, "action": "close"}))

    async def script():
        copier = rig.copier()
        await copier.start()
        ticket = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(2.0)
        master = rig.master.positions_get(ticket=ticket)[0]
        _set_master_sl(rig, ticket, round(master.price_open - 0.0050, 5))
        await asyncio.sleep(10.0)
        held = rig.held("s0")
        await copier.stop()
        return held

    (copy,) = rig.run(script)
    assert copy.sl > 0


def test_a_copy_without_a_stop_is_closed_on_time_even_when_no_periodic_pass_runs():
    rig = Rig(slaves=("harbor_fx",), rules=_rules({"within_s": 3, "action": "close"}))

    async def script():
        copier = rig.copier()
        copier.reconcile_interval_s = 3600.0  # only the look booked for the copy's deadline runs
        await copier.start()
        rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(1.0)
        before = len(rig.held("s0"))
        await asyncio.sleep(3.0)
        after = len(rig.held("s0"))
        await copier.stop()
        return before, after

    assert rig.run(script) == (1, 0)


def test_the_days_a_copy_filled_count_as_trading_days():
    rig = Rig(slaves=("harbor_fx",), rules=CopyRules.model_validate(
        # The rig's clock starts at noon UTC: the firm's day turns a minute later.
        {"risk": {"prop": {"reset": "12:01 UTC", "daily_loss": {"amount": 500}, "min_trading_days": 4}}}))

    async def script():
        copier = rig.copier()
        await copier.start()
        gate = copier.slaves["s0"].risk_gate
        await asyncio.sleep(1.0)
        before = gate.room_left().trading_days
        ticket = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(1.0)
        rig.trade("EURUSD", 1, 0.5, position=ticket)
        await asyncio.sleep(1.0)
        same_day = gate.room_left().trading_days
        await asyncio.sleep(60.0)  # the next trading day
        ticket = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(1.0)
        next_day = gate.room_left().trading_days
        await copier.stop()
        return before, same_day, next_day

    assert rig.run(script) == (0, 1, 2)
