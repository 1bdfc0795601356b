"""The copier under account faults: AutoTrading switched off and on, outages, pending copies that
outlive their master order, throttling, and copy IDs that stay unique per request."""

from __future__ import annotations

import asyncio

from copier_gui.core import tags
from copier_gui.core.copier import LinkState
from copier_gui.core.rules import CopyRules, DeviationPolicy, Tolerances
from tests.kit.rig import Rig


def copies(rig: Rig, slave: str) -> list:
    return [p for p in rig.held(slave)]


def test_autotrading_back_on_copies_what_is_missing_within_a_second():
    rig = Rig(slaves=("harbor_fx",))
    slave = rig.slaves["s0"]

    async def script():
        copier = rig.copier()
        await copier.start()
        slave.sim.set_algo_trading(False)
        rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(1.5)
        during = (copier.slaves["s0"].state, len(copies(rig, "s0")))
        slave.sim.set_algo_trading(True)
        switched_on = rig.clock.monotonic()
        for _ in range(100):
            await asyncio.sleep(0.01)
            if copies(rig, "s0"):
                break
        took = rig.clock.monotonic() - switched_on
        state = copier.slaves["s0"].state
        await copier.stop()
        return during, took, state

    during, took, state = rig.run(script)
    assert during == (LinkState.DEGRADED, 0)
    assert took <= 1.0, took
    assert state is LinkState.CONNECTED
    assert [(p.symbol, p.volume) for p in copies(rig, "s0")] == [("EURUSD.m", 0.5)]


def test_a_slave_that_connects_with_autotrading_off_recovers_by_itself():
    rig = Rig(slaves=("harbor_fx",))
    rig.slaves["s0"].sim.set_algo_trading(False)

    async def script():
        copier = rig.copier()
        await copier.start()
        first = (copier.slaves["s0"].state, copier.slaves["s0"].last_error)
        await asyncio.sleep(2)
        rig.slaves["s0"].sim.set_algo_trading(True)
        await asyncio.sleep(0.5)
        rig.trade("GBPUSD", 1, 0.2)
        await asyncio.sleep(0.1)
        second = copier.slaves["s0"].state
        await copier.stop()
        return first, second

    (state, detail), second = rig.run(script)
    assert state is LinkState.DEGRADED
    assert "Algo Trading" in detail and "resumes by itself" in detail
    assert second is LinkState.CONNECTED
    assert [(p.symbol, p.volume) for p in copies(rig, "s0")] == [("GBPUSD.m", 0.2)]


def test_reconnection_within_a_second_of_the_broker_coming_back():
    rig = Rig(slaves=("harbor_fx",))
    slave = rig.slaves["s0"]

    async def script():
        copier = rig.copier()
        await copier.start()
        slave.sim.disconnect(13.0)
        rig.trade("EURUSD", 0, 0.3)  # noticed by the copier, refused by the slave's lost pipe
        await asyncio.sleep(0.1)
        back_at = rig.clock.monotonic() + 13.0
        while copier.slaves["s0"].state is not LinkState.CONNECTED:
            await asyncio.sleep(0.01)
        took = rig.clock.monotonic() - back_at
        await copier.stop()
        return took

    took = rig.run(script)
    assert took <= 1.0, took


def test_a_pending_fill_is_copied_at_market_when_pending_orders_are_not_copied():
    rig = Rig(slaves=("harbor_fx",), rules=CopyRules(copy_pending=False,
                                                     tolerances=Tolerances(max_price_deviation_points=5000)))

    async def script():
        copier = rig.copier()
        await copier.start()
        tick = rig.master.symbol_info_tick("EURUSD")
        placed = rig.master.order_send({"action": 5, "symbol": "EURUSD", "volume": 0.4, "type": 4,
                                        "price": round(tick.ask + 0.00005, 5), "type_filling": 2})
        assert placed.retcode == 10009, placed
        await asyncio.sleep(0.05)
        before = copies(rig, "s0"), rig.slaves["s0"].orders_get()
        # The market comes to the order: fill it the way the broker would.
        for _ in range(600):
            await asyncio.sleep(0.5)
            if rig.master.positions_get():
                break
        await asyncio.sleep(0.2)
        filled = bool(rig.master.positions_get())
        await copier.stop()
        return before, filled

    (held, orders), filled = rig.run(script)
    assert held == [] and orders == ()
    assert filled, "the master's buy stop never filled in this market"
    assert [(p.symbol, p.volume) for p in copies(rig, "s0")] == [("EURUSD.m", 0.4)]
    refusals = [n.text for n in rig.notices if n.kind == "refusal"]
    assert any("copy_pending" in r for r in refusals)


def test_an_old_pending_copy_is_not_taken_for_the_price_chasing_order():
    """The slave refuses to move its copy; the master's order then fills: the old copy goes and
    the position is copied at market. Only an order tagged as the copier's own limit is waited on."""
    rules = CopyRules(tolerances=Tolerances(max_price_deviation_points=5000,
                                            on_price_deviation=DeviationPolicy.LIMIT_AT_MASTER_PRICE))
    rig = Rig(slaves=("harbor_fx",), rules=rules)
    slave = rig.slaves["s0"]

    async def script():
        copier = rig.copier()
        await copier.start()
        tick = rig.master.symbol_info_tick("EURUSD")
        placed = rig.master.order_send({"action": 5, "symbol": "EURUSD", "volume": 0.5, "type": 3,
                                        "price": round(tick.bid + 0.0100, 5), "type_filling": 2})
        await asyncio.sleep(0.05)
        copied = slave.orders_get()
        # The slave's broker refuses every change now; the master moves its order to the market.
        slave.sim.force_retcodes(*[10006] * 3)
        tick = rig.master.symbol_info_tick("EURUSD")
        moved = rig.master.order_send({"action": 7, "order": placed.order, "price": round(tick.bid + 0.00005, 5)})
        assert moved.retcode == 10009, moved
        for _ in range(240):
            await asyncio.sleep(0.5)
            if rig.master.positions_get():
                break
        filled = bool(rig.master.positions_get())
        await asyncio.sleep(3)
        await copier.stop()
        return copied, filled

    copied, filled = rig.run(script)
    assert len(copied) == 1
    assert filled, "the master's sell limit never filled"
    held = copies(rig, "s0")
    assert [(p.symbol, p.volume, p.type) for p in held] == [("EURUSD.m", 0.5, 1)]
    assert slave.orders_get() == ()


def test_two_equal_partial_closes_have_distinct_copy_ids():
    rig = Rig(slaves=("harbor_fx",))

    async def script():
        copier = rig.copier()
        await copier.start()
        ticket = rig.trade("EURUSD", 0, 0.6)
        await asyncio.sleep(0.1)
        rig.trade("EURUSD", 1, 0.2, position=ticket)
        await asyncio.sleep(0.1)
        rig.trade("EURUSD", 1, 0.2, position=ticket)
        await asyncio.sleep(0.1)
        await copier.stop()

    rig.run(script)
    requests = [e for e in rig.journal.entries() if e.kind == "request" and e.account == "s0"]
    ids = [e.copy_id for e in requests]
    assert len(ids) == 3 and len(set(ids)) == 3, ids


def test_too_many_requests_pauses_the_slave_then_copies():
    rig = Rig(slaves=("harbor_fx",))
    slave = rig.slaves["s0"]

    async def script():
        copier = rig.copier()
        await copier.start()
        slave.sim.force_retcodes(10024)
        rig.trade("EURUSD", 0, 0.3)
        await asyncio.sleep(0.1)
        during = copies(rig, "s0")
        await asyncio.sleep(1.0)
        await copier.stop()
        return during

    during = rig.run(script)
    assert during == []
    assert [(p.symbol, p.volume) for p in copies(rig, "s0")] == [("EURUSD.m", 0.3)]
    texts = [n.text for n in rig.notices if n.account == "s0"]
    assert any("next request in 0.5 s" in t for t in texts), texts


def test_a_crash_just_after_a_master_open_loses_nothing(tmp_path):
    rig = Rig(slaves=("harbor_fx",), copybook_path=tmp_path / "copies.sqlite3")

    async def script():
        copier = rig.copier()
        await copier.start()
        await asyncio.sleep(1.5)  # alive for a while: the heartbeat is on disk
        rig.trade("EURUSD", 0, 0.4)
        copier.abandon()  # before the copier's next poll saw the new position
        copier.copybook.close()
        await asyncio.sleep(0.5)
        second = rig.copier()
        await second.start()
        await asyncio.sleep(0.2)
        await second.stop()

    rig.run(script)
    assert [(p.symbol, p.volume) for p in copies(rig, "s0")] == [("EURUSD.m", 0.4)]
    assert not [n for n in rig.notices if n.kind == "refusal"]


def test_positions_opened_while_the_copier_was_down_are_copied_but_older_ones_are_not(tmp_path):
    rig = Rig(slaves=("harbor_fx",), copybook_path=tmp_path / "copies.sqlite3")

    async def script():
        before = rig.trade("GBPUSD", 1, 0.2)  # held before copying ever started
        await asyncio.sleep(1.0)
        copier = rig.copier()
        await copier.start()
        await asyncio.sleep(1.5)
        await copier.stop()
        copier.copybook.close()
        assert rig.master.initialize()
        during = rig.trade("EURUSD", 0, 0.3)  # opened while the copier is down
        await asyncio.sleep(3.0)
        second = rig.copier()
        await second.start()
        await asyncio.sleep(0.2)
        await second.stop()
        return before, during

    before, during = rig.run(script)
    held = {p.symbol: p.volume for p in copies(rig, "s0")}
    assert held == {"EURUSD.m": 0.3}
    refusals = [n for n in rig.notices if n.kind == "refusal"]
    assert {n.master_ticket for n in refusals} == {before}
    assert all("already open when copying to this slave started" in n.text for n in refusals)


def test_a_round_trip_while_a_slave_was_away_is_journaled():
    rig = Rig(slaves=("harbor_fx",))
    slave = rig.slaves["s0"]

    async def script():
        copier = rig.copier()
        await copier.start()
        slave.sim.disconnect(3.0)
        await asyncio.sleep(0.1)  # a pass notices the slave is gone
        copier._spawn_all_syncs("test")
        await asyncio.sleep(0.1)
        ticket = rig.trade("EURUSD", 0, 0.3)
        await asyncio.sleep(0.5)
        rig.trade("EURUSD", 1, 0.3, position=ticket)
        await asyncio.sleep(4.0)
        await copier.stop()
        return ticket

    ticket = rig.run(script)
    mine = [e for e in rig.journal.entries() if e.kind == "refusal" and e.data.get("master_ticket") == ticket]
    texts = [e.message for e in mine]
    assert any(t.startswith("not copied yet: s0 is disconnected") for t in texts), texts
    assert any("opened and closed at the master while s0 was disconnected" in t for t in texts), texts
    assert copies(rig, "s0") == []


def test_a_master_open_while_autotrading_is_off_is_journaled_as_waiting():
    rig = Rig(slaves=("harbor_fx",))

    async def script():
        copier = rig.copier()
        await copier.start()
        rig.slaves["s0"].sim.set_algo_trading(False)
        await asyncio.sleep(1.2)  # the periodic pass sees trading is off
        ticket = rig.trade("EURUSD", 0, 0.3)
        await asyncio.sleep(0.2)
        await copier.stop()
        return ticket

    ticket = rig.run(script)
    texts = [e.message for e in rig.journal.entries() if e.kind == "refusal" and e.data.get("master_ticket") == ticket]
    assert any(t.startswith("not copied yet: s0 is degraded (trading is off:") for t in texts), texts


def test_fifty_master_stop_changes_in_a_second_give_at_most_ten_modifies_ending_on_the_masters():
    rig = Rig(slaves=("harbor_fx",))

    async def script():
        copier = rig.copier()
        await copier.start()
        ticket = rig.trade("EURUSD", 0, 0.3)
        await asyncio.sleep(0.5)
        (pos,) = rig.master.positions_get(ticket=ticket)
        started = rig.clock.monotonic()
        for i in range(50):
            sl = round(pos.price_open - 0.0100 + i * 0.00002, 5)
            result = rig.master.order_send({"action": 6, "symbol": "EURUSD", "position": ticket, "sl": sl, "tp": 0.0})
            assert result.retcode == 10009, result
            await asyncio.sleep(0.02)
        assert rig.clock.monotonic() - started <= 1.01
        await asyncio.sleep(1.0)
        (master_pos,) = rig.master.positions_get(ticket=ticket)
        await copier.stop()
        return started, master_pos.sl

    started, master_sl = rig.run(script)
    modifies = [e for e in rig.journal.entries() if e.kind == "request" and e.account == "s0"
                and e.message.startswith("set SL")]
    assert len(modifies) <= 10, len(modifies)
    (copy,) = rig.held("s0")
    assert copy.sl == master_sl


def test_another_copier_on_the_same_slave_is_named_and_never_fought(tmp_path):
    """The same slave linked by a second copier (a desktop and a VPS, say): the second one warns,
    naming the account, leaves the first one's copy alone and copies nothing twice."""
    rig = Rig(slaves=("harbor_fx",))

    async def script():
        first = rig.copier(instance="DESK")
        await first.start()
        ticket = rig.trade("EURUSD", 0, 0.3)
        await asyncio.sleep(0.2)
        second = rig.copier(instance="VPS1")
        await second.start()
        await asyncio.sleep(3)
        other = rig.trade("GBPUSD", 1, 0.2)
        await asyncio.sleep(3)
        state = second.slaves["s0"].other_copiers
        await second.stop()
        await first.stop()
        return ticket, other, state

    ticket, other, state = rig.run(script)
    held = sorted((p.symbol, p.volume, p.comment) for p in copies(rig, "s0"))
    assert held == [("EURUSD.m", 0.3, f"CG:{tags.base36(ticket)}.DESK"), ("GBPUSD.m", 0.2, f"CG:{tags.base36(other)}.DESK")]
    assert state == ("DESK",)
    warnings = [n.text for n in rig.notices if n.kind == "failure" and n.account == "s0"]
    assert len(warnings) == 1 and warnings[0].startswith("another copier is trading s0")


def test_a_one_off_broker_refusal_is_retried_well_inside_the_maximum_delay():
    rig = Rig(slaves=("harbor_fx",))

    async def script():
        copier = rig.copier()
        await copier.start()
        rig.slaves["s0"].sim.force_retcodes(10006)
        rig.trade("EURUSD", 0, 0.3)
        await asyncio.sleep(2.5)
        held = copies(rig, "s0")
        await copier.stop()
        return held

    held = rig.run(script)
    assert [(p.symbol, p.volume) for p in held] == [("EURUSD.m", 0.3)]
    assert not [n for n in rig.notices if n.kind == "refusal"]


def test_a_crash_during_start_up_still_copies_what_opened_meanwhile(tmp_path):
    rig = Rig(slaves=("harbor_fx",), copybook_path=tmp_path / "copies.sqlite3")

    async def script():
        copier = rig.copier()
        start = asyncio.get_running_loop().create_task(copier.start())
        await asyncio.sleep(0)  # the first run has begun, then dies before its first pass
        copier.abandon()
        start.cancel()
        copier.copybook.close()
        rig.trade("EURUSD", 0, 0.2)
        await asyncio.sleep(0.5)
        second = rig.copier()
        await second.start()
        await asyncio.sleep(0.2)
        await second.stop()

    rig.run(script)
    assert [(p.symbol, p.volume) for p in copies(rig, "s0")] == [("EURUSD.m", 0.2)]


def test_autotrading_refusals_twice_in_a_row_are_still_recovered():
    """The broker answers 10027 twice although the button is on: the second refusal comes from
    the pass the watch itself started, and the watch must go on watching."""
    rig = Rig(slaves=("harbor_fx",))

    async def script():
        copier = rig.copier()
        await copier.start()
        rig.slaves["s0"].sim.force_retcodes(10027, 10027)
        rig.trade("EURUSD", 0, 0.3)
        await asyncio.sleep(2.0)
        state = copier.slaves["s0"].state
        await copier.stop()
        return state

    state = rig.run(script)
    assert state is LinkState.CONNECTED
    assert [(p.symbol, p.volume) for p in copies(rig, "s0")] == [("EURUSD.m", 0.3)]


def test_a_link_lost_again_by_the_pass_after_a_reconnect_is_retried():
    rig = Rig(slaves=("harbor_fx",))

    async def script():
        copier = rig.copier()
        await copier.start()
        ticket = rig.trade("EURUSD", 0, 0.3)
        await asyncio.sleep(0.1)
        # The trade server is unreachable for the next two requests: the close, then its retry
        # in the pass right after the reconnect.
        rig.slaves["s0"].sim.force_retcodes(10031, 10031)
        rig.trade("EURUSD", 1, 0.3, position=ticket)
        await asyncio.sleep(3)
        state = copier.slaves["s0"].state
        await copier.stop()
        return state

    state = rig.run(script)
    assert state is LinkState.CONNECTED
    assert copies(rig, "s0") == []


def test_a_copier_started_while_a_slave_is_out_of_reach_journals_what_it_cannot_follow(tmp_path):
    rig = Rig(slaves=("harbor_fx",), copybook_path=tmp_path / "copies.sqlite3")

    async def script():
        copier = rig.copier()
        await copier.start()
        kept = rig.trade("EURUSD", 0, 0.3)
        await asyncio.sleep(0.2)
        copier.abandon()
        copier.copybook.close()
        rig.slaves["s0"].sim.disconnect(30.0)
        rig.trade("EURUSD", 1, 0.3, position=kept)  # closed while the copier is down
        fresh = rig.trade("GBPUSD", 1, 0.2)  # opened while the copier is down
        tick = rig.master.symbol_info_tick("EURUSD")  # and an order placed meanwhile
        placed = rig.master.order_send({"action": 5, "symbol": "EURUSD", "volume": 0.1, "type": 4,
                                        "price": round(tick.ask + 0.005, 5), "type_time": 0})
        assert placed.retcode == 10009, placed
        await asyncio.sleep(0.5)
        second = rig.copier()
        await second.start()
        await asyncio.sleep(0.5)
        second.abandon()
        return kept, fresh, placed.order

    kept, fresh, order = rig.run(script)
    reasons = {e.data.get("master_ticket"): e.message for e in rig.journal.entries() if e.kind == "refusal"}
    assert reasons[kept].startswith("not followed yet: s0 is disconnected")
    assert reasons[fresh].startswith("not copied yet: s0 is disconnected")
    assert reasons[order].startswith("not copied yet: s0 is disconnected")


def test_a_capped_copy_keeps_its_share_when_the_master_closes_part():
    rules = CopyRules.model_validate({"sizing": {"mode": "lot_multiplier", "multiplier": 1.0, "max_lot": 0.2}})
    rig = Rig(slaves=("harbor_fx",), rules=rules)

    async def script():
        copier = rig.copier()
        await copier.start()
        ticket = rig.trade("EURUSD", 0, 1.0)
        await asyncio.sleep(0.2)
        rig.trade("EURUSD", 1, 0.5, position=ticket)
        await asyncio.sleep(0.2)
        await copier.stop()

    rig.run(script)
    assert [(p.symbol, p.volume) for p in copies(rig, "s0")] == [("EURUSD.m", 0.1)]


def test_a_copy_waiting_its_turn_when_the_slave_goes_still_gets_a_journaled_reason():
    # A pass for a new master position waits for the slave's lock (another pass holds it) and the
    # slave disconnects meanwhile: the position must not go unmentioned for that slave.
    rig = Rig(slaves=("harbor_fx",))

    async def script():
        copier = rig.copier()
        await copier.start()
        await asyncio.sleep(0.3)
        slave = copier.slaves["s0"]
        async with slave.lock:  # the pass now running elsewhere
            rig.trade("EURUSD", 0, 0.3)
            for _ in range(100):
                await asyncio.sleep(0.01)
                if copier.master_snapshot and copier.master_snapshot.positions:
                    break
            await asyncio.sleep(0.05)  # the copy's pass is queued on the lock
            copier._set_slave_state(slave, LinkState.DISCONNECTED, "its terminal went away")
        await asyncio.sleep(0.05)
        ticket = copier.master_snapshot.positions[0].ticket
        await copier.stop()
        return ticket

    ticket = rig.run(script)
    reasons = [e for e in rig.journal.entries(account="s0") if e.kind in ("refusal", "waiting")
               or "not copied" in e.message]
    assert any(f"#{ticket}" in e.message or e.data.get("master_ticket") == ticket for e in reasons), \
        [e.message for e in rig.journal.entries(account="s0")]
