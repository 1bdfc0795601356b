"""The copier against real simulated brokers on virtual time: switches, exits, restarts, journal."""

from __future__ import annotations

import asyncio

from copier_gui.core.copier import LinkState
from copier_gui.core.rules import CopyRules, Tolerances
from tests.kit import WEEKDAY_NOON_UTC
from tests.kit.rig import Rig


def test_copies_open_and_close_to_every_slave():
    rig = Rig()

    async def script():
        copier = rig.copier()
        await copier.start()
        ticket = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(0.05)
        opened = {sid: [(p.symbol, p.volume) for p in rig.held(sid)] for sid in rig.slaves}
        rig.trade("EURUSD", 1, 0.5, position=ticket)
        await asyncio.sleep(0.05)
        closed = {sid: rig.held(sid) for sid in rig.slaves}
        await copier.stop()
        return opened, closed

    opened, closed = rig.run(script)
    assert opened == {"s0": [("EURUSD.m", 0.5)], "s1": [("EURUSD.raw", 0.5)]}
    assert closed == {"s0": [], "s1": []}


def test_kill_switch_stops_entries_but_never_exits():
    rig = Rig()

    async def script():
        copier = rig.copier()
        await copier.start()
        first = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(0.05)
        copier.set_copying(False)
        second = rig.trade("GBPUSD", 1, 0.3)
        await asyncio.sleep(0.05)
        after_second = {sid: [p.symbol for p in rig.held(sid)] for sid in rig.slaves}
        rig.trade("EURUSD", 1, 0.5, position=first)
        await asyncio.sleep(0.05)
        after_close = {sid: [p.symbol for p in rig.held(sid)] for sid in rig.slaves}
        await copier.stop()
        return second, after_second, after_close

    _, after_second, after_close = rig.run(script)
    assert after_second == {"s0": ["EURUSD.m"], "s1": ["EURUSD.raw"]}  # no GBPUSD copies
    assert after_close == {"s0": [], "s1": []}  # the exit went through with copying off


def test_slave_toggle_stops_that_slave_only_and_exits_still_follow():
    rig = Rig()

    async def script():
        copier = rig.copier()
        await copier.start()
        first = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(0.05)
        copier.set_copy_enabled("s0", False)
        rig.trade("GBPUSD", 0, 0.3)
        await asyncio.sleep(0.05)
        mid = {sid: sorted(p.symbol for p in rig.held(sid)) for sid in rig.slaves}
        rig.trade("EURUSD", 1, 0.5, position=first)
        await asyncio.sleep(0.05)
        end = {sid: sorted(p.symbol for p in rig.held(sid)) for sid in rig.slaves}
        await copier.stop()
        return mid, end

    mid, end = rig.run(script)
    assert mid == {"s0": ["EURUSD.m"], "s1": ["EURUSD.raw", "GBPUSD.raw"]}
    assert end == {"s0": [], "s1": ["GBPUSD.raw"]}


def test_positions_open_before_start_are_refused_with_a_reason():
    rig = Rig(rules=CopyRules(tolerances=Tolerances(max_delay_ms=5_000)))

    async def script():
        rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(60)  # the master traded a minute before the copier started
        copier = rig.copier()
        await copier.start()
        await asyncio.sleep(0.1)
        await copier.stop()

    rig.run(script)
    refusals = [n.text for n in rig.notices if n.kind == "refusal"]
    assert len(refusals) == 2 and all("already open when copying to this slave started" in r for r in refusals)
    assert all(rig.held(sid) == [] for sid in rig.slaves)
    journaled = rig.journal.entries(kind="refusal")
    rig.journal.close()
    assert len(journaled) == 2


def test_existing_positions_can_be_copied_at_market_by_rule():
    rig = Rig(rules=CopyRules(copy_existing=True, tolerances=Tolerances(max_price_deviation_points=5000)))

    async def script():
        rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(60)
        copier = rig.copier()
        await copier.start()
        await asyncio.sleep(0.1)
        await copier.stop()

    rig.run(script)
    rig.journal.close()
    assert all(len(rig.held(sid)) == 1 for sid in rig.slaves)


def test_restart_after_a_crash_neither_duplicates_nor_orphans(tmp_path):
    rig = Rig(copybook_path=tmp_path / "copies.sqlite3")

    async def script():
        copier = rig.copier()
        await copier.start()
        keep = rig.trade("EURUSD", 0, 0.5)
        gone = rig.trade("XAUUSD", 1, 0.2)
        await asyncio.sleep(0.05)
        copier.abandon()  # a crash: no clean-up at all
        rig.trade("XAUUSD", 0, 0.2, position=gone)  # the master closes while the copier is down
        rig.trade("EURUSD", 1, 0.2, position=keep)  # and partly closes the other
        await asyncio.sleep(5)
        restarted = rig.copier()
        await restarted.start()
        await asyncio.sleep(0.1)
        state = {sid: sorted((p.symbol, p.volume) for p in rig.held(sid)) for sid in rig.slaves}
        await restarted.stop()
        return state

    state = rig.run(script)
    assert state == {"s0": [("EURUSD.m", 0.3)], "s1": [("EURUSD.raw", 0.3)]}


def test_a_disconnected_slave_is_reconnected_and_reconciled():
    rig = Rig()

    async def script():
        copier = rig.copier()
        await copier.start()
        ticket = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(0.05)
        rig.slaves["s1"].sim.disconnect(3.0)
        rig.trade("EURUSD", 1, 0.5, position=ticket)
        await asyncio.sleep(0.5)
        during = (copier.slaves["s1"].state, len(rig.slaves["s1"].sim.engine.positions))
        await asyncio.sleep(6)
        after = (copier.slaves["s1"].state, rig.held("s1"))
        await copier.stop()
        return during, after

    during, after = rig.run(script)
    assert during == (LinkState.DISCONNECTED, 1)
    assert after == (LinkState.CONNECTED, [])
    states = [n.text for n in rig.notices if n.kind == "state" and n.account == "s1"]
    assert any("disconnected" in s for s in states) and states[-1] == "s1 connected"


def test_autotrading_off_is_reported_with_what_to_press():
    rig = Rig(slaves=("harbor_fx",))
    rig.slaves["s0"].sim.set_algo_trading(False)

    async def script():
        copier = rig.copier()
        await copier.start()
        rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(0.05)
        await copier.stop()

    rig.run(script)
    texts = " ".join(n.text for n in rig.notices)
    assert "Algo Trading" in texts


def test_journal_records_every_step_with_both_clocks():
    rig = Rig(slaves=("harbor_fx",))

    async def script():
        copier = rig.copier()
        await copier.start()
        ticket = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(0.05)
        rig.trade("EURUSD", 1, 0.5, position=ticket)
        await asyncio.sleep(0.05)
        await copier.stop()

    rig.run(script)
    entries = rig.journal.entries()
    rig.journal.close()
    assert {"master_event", "plan", "request", "result", "state", "info"} <= {e.kind for e in entries}
    for entry in entries:
        assert entry.wall >= WEEKDAY_NOON_UTC and entry.mono >= 0


def test_set_rules_reaches_the_link_executor_symbol_map_and_risk_gate():
    rig = Rig()

    async def script():
        copier = rig.copier()
        await copier.start()
        link = copier.slaves["s0"]
        old_map, old_gate = link.symbol_map, link.risk_gate
        rules = CopyRules(copy_pending=False, tolerances=Tolerances(requote_retries=1))
        copier.set_rules("s0", rules)
        seen = (link.rules, link.executor.rules, link.symbol_map is not old_map, link.risk_gate is not old_gate,
                link.risk_gate.risk, link.symbol_map.resolve("EURUSD").slave_symbol, copier.slaves["s1"].rules)
        await copier.stop()
        return rules, seen

    rules, (link_rules, executor_rules, new_map, new_gate, risk, resolved, other) = rig.run(script)
    assert link_rules is rules and executor_rules is rules
    assert new_map and new_gate and risk == rules.risk
    assert resolved == "EURUSD.m"
    assert other is rig.rules
    assert "rules changed for s0" in [n.text for n in rig.notices if n.kind == "state"]


def test_resync_reads_a_slave_at_once_and_is_journaled():
    rig = Rig(slaves=("harbor_fx",))

    async def script():
        copier = rig.copier()
        copier.reconcile_interval_s = 3600.0  # no periodic pass in this test: only the resync looks
        await copier.start()
        ticket = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(0.5)
        terminal = rig.slaves["s0"]
        (held,) = rig.held("s0")
        tick = terminal.symbol_info_tick(held.symbol)
        assert terminal.order_send({"action": 1, "symbol": held.symbol, "volume": held.volume, "type": 1,
                                    "price": tick.bid, "position": held.ticket, "type_filling": 0}).retcode == 10009
        await asyncio.sleep(0.5)
        before = [e.message for e in rig.journal.entries(kind="refusal", account="s0")]
        said = copier.resync("s0", by="a test")
        await asyncio.sleep(0.2)
        after = [e.message for e in rig.journal.entries(kind="refusal", account="s0")]
        await copier.stop()
        return ticket, before, said, after

    _, before, said, after = rig.run(script)
    assert said.startswith("resync of s0 asked by a test")
    assert not any("closed at the slave" in m for m in before)
    assert any("closed at the slave" in m for m in after)  # the resync looked and saw it
    states = [e.message for e in rig.journal.entries(kind="state", account="s0")]
    assert said in states
