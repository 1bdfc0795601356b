"""Accounts changed while copying, on simulated brokers: a slave linked, removed (keeping or
closing its copies), reconnected, or moved to a new connection, without a restart."""

from __future__ import annotations

import asyncio

import pytest

from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector
from copier_gui.core.copier import SlaveLink, SlaveMode
from copier_gui.core.rules import CopyRules, Tolerances
from copier_gui.sim import new_terminal
from tests.kit.rig import Rig


def extra_slave(rig: Rig, profile: str = "harbor_fx", login: int = 50):
    terminal = new_terminal(profile, seed=3, clock=rig.clock, market=rig.master.sim.engine.market, login=login)
    rig.slaves[f"x{login}"] = terminal
    return terminal


def link(rig: Rig, slave_id: str, rules: CopyRules | None = None, **kw) -> SlaveLink:
    connector = MT5Connector(slave_id, rig.slaves[slave_id], invoker=InlineInvoker(), clock=rig.clock)
    return SlaveLink(slave_id, connector, rules or rig.rules, **kw)


def volumes(rig: Rig, slave_id: str) -> list[tuple[str, float]]:
    return sorted((p.symbol, p.volume) for p in rig.held(slave_id))


def no_errors(rig: Rig) -> list[str]:
    return [e.message for e in rig.journal.entries(kind="error")]


@pytest.mark.parametrize("copy_existing", [False, True])
def test_a_slave_linked_while_copying_follows_its_copy_existing_rule(copy_existing):
    rig = Rig(slaves=("harbor_fx",))

    async def script():
        copier = rig.copier()
        await copier.start()
        held = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(5)
        extra_slave(rig)
        rules = CopyRules(copy_existing=copy_existing, tolerances=Tolerances(max_delay_ms=1_000))
        text = await copier.add_slave(link(rig, "x50", rules))
        await asyncio.sleep(0.1)
        first = volumes(rig, "x50")
        rig.trade("GBPUSD", 1, 0.2)
        await asyncio.sleep(0.1)
        second = volumes(rig, "x50")
        await copier.stop()
        return held, text, first, second

    held, text, first, second = rig.run(script)
    assert "x50 linked while copying" in text
    assert first == ([("EURUSD.m", 0.5)] if copy_existing else [])
    assert second == sorted([*first, ("GBPUSD.m", 0.2)])
    if not copy_existing:
        reasons = [e.message for e in rig.journal.entries(kind="refusal", account="x50")
                   if e.data.get("master_ticket") == held]
        assert any("copy_existing is off" in r for r in reasons), reasons
    assert no_errors(rig) == []


def test_a_slave_linked_while_its_terminal_is_down_connects_when_it_comes_back():
    rig = Rig(slaves=("harbor_fx",))

    async def script():
        copier = rig.copier()
        await copier.start()
        terminal = extra_slave(rig)
        terminal.sim.disconnect(2.0)
        await copier.add_slave(link(rig, "x50"))
        state = copier.slaves["x50"].state.value
        await asyncio.sleep(3)
        rig.trade("EURUSD", 0, 0.1)
        await asyncio.sleep(0.2)
        out = volumes(rig, "x50")
        await copier.stop()
        return state, out

    state, out = rig.run(script)
    assert state == "disconnected" and out == [("EURUSD.m", 0.1)]


def test_removing_a_slave_keeping_its_copies_leaves_them_open_and_journals_their_tickets():
    rig = Rig()

    async def script():
        copier = rig.copier()
        await copier.start()
        ticket = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(0.1)
        kept = [p.ticket for p in rig.held("s0")]
        text = await copier.remove_slave("s0", flatten=False, by="the accounts menu")
        gone = "s0" not in copier.slaves and not rig.slaves["s0"].sim.connected  # its session closed
        rig.trade("EURUSD", 1, 0.5, position=ticket)
        await asyncio.sleep(2.5)  # periodic passes: nothing about s0 is an orphan or a duplicate
        out = {sid: volumes(rig, sid) for sid in rig.slaves}
        await copier.stop()
        return kept, text, gone, out

    kept, text, gone, out = rig.run(script)
    assert gone and out == {"s0": [("EURUSD.m", 0.5)], "s1": []}
    assert "left open, no longer managed" in text and f"#{kept[0]}" in text and "the accounts menu" in text
    entry = next(e for e in rig.journal.entries(kind="state", account="s0") if e.message == text)
    assert entry.data["tickets"] == kept
    assert no_errors(rig) == []


def test_removing_a_slave_with_flatten_closes_its_copies_first():
    rig = Rig()

    async def script():
        copier = rig.copier()
        await copier.start()
        rig.trade("EURUSD", 0, 0.5)
        rig.trade("GBPUSD", 1, 0.2)
        await asyncio.sleep(0.1)
        text = await copier.remove_slave("s1", flatten=True)
        out = {sid: volumes(rig, sid) for sid in rig.slaves}
        await asyncio.sleep(1.5)
        await copier.stop()
        return text, out

    text, out = rig.run(script)
    assert out["s1"] == [] and len(out["s0"]) == 2
    assert text == "s1 removed (asked by the window): every copy of this copier there is closed"
    closes = [e.message for e in rig.journal.entries(kind="request", account="s1") if e.message.startswith("close")]
    assert len(closes) == 2 and all("flattened by the trader" in m for m in closes)
    assert no_errors(rig) == []


def test_a_removed_slave_linked_again_is_not_given_its_copies_a_second_time():
    rig = Rig(slaves=("harbor_fx",), rules=CopyRules(copy_existing=True))

    async def script():
        copier = rig.copier()
        await copier.start()
        rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(0.1)
        await copier.remove_slave("s0", flatten=False)
        await asyncio.sleep(0.5)
        await copier.add_slave(link(rig, "s0"))
        await asyncio.sleep(1.5)
        out = volumes(rig, "s0")
        await copier.stop()
        return out

    assert rig.run(script) == [("EURUSD.m", 0.5)]


def test_reconnect_drops_and_reestablishes_the_session_and_copying_goes_on():
    rig = Rig(slaves=("harbor_fx",))

    async def script():
        copier = rig.copier()
        await copier.start()
        text = await copier.reconnect("s0", by="the accounts menu")
        state = copier.slaves["s0"].state.value
        rig.trade("EURUSD", 0, 0.3)
        await asyncio.sleep(0.1)
        out = volumes(rig, "s0")
        await copier.stop()
        return text, state, out

    text, state, out = rig.run(script)
    assert "reconnect of s0 asked by the accounts menu" in text
    assert state == "connected" and out == [("EURUSD.m", 0.3)]
    states = [e.data.get("state") for e in rig.journal.entries(kind="state", account="s0")]
    assert "disconnected" in states and states[0] == "connected"  # newest first


def test_a_new_connector_for_a_slave_reconnects_through_it_and_reconciles():
    rig = Rig(slaves=("harbor_fx",))

    async def script():
        copier = rig.copier()
        await copier.start()
        ticket = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(0.1)
        # The trader moved this slave to another account (a new login): its copies start there.
        extra_slave(rig, login=51)
        replacement = MT5Connector("s0", rig.slaves["x51"], invoker=InlineInvoker(), clock=rig.clock)
        text = await copier.replace_connector("s0", replacement)
        rig.trade("GBPUSD", 0, 0.2)
        await asyncio.sleep(0.1)
        rig.trade("EURUSD", 1, 0.5, position=ticket)
        await asyncio.sleep(0.2)
        out = {sid: volumes(rig, sid) for sid in ("s0", "x51")}
        link_ = copier.slaves["s0"]
        await copier.stop()
        return text, out, link_.connector is replacement, link_.mode

    text, out, swapped, mode = rig.run(script)
    assert swapped and mode is SlaveMode.COPYING
    assert "new connection" in text
    assert out == {"s0": [("EURUSD.m", 0.5)], "x51": [("GBPUSD.m", 0.2)]}
    assert any("left open there, no longer managed: EURUSD.m buy 0.5" in e.message
               for e in rig.journal.entries(kind="state", account="s0"))
    assert no_errors(rig) == []


def test_unknown_and_duplicate_slaves_are_refused_with_a_clear_error():
    rig = Rig(slaves=("harbor_fx",))

    async def script():
        copier = rig.copier()
        await copier.start()
        errors = []
        for attempt in (copier.add_slave(link(rig, "s0")), copier.remove_slave("nope", flatten=False),
                        copier.reconnect("nope")):
            try:
                await attempt
            except (KeyError, ValueError) as exc:
                errors.append(str(exc))
        await copier.stop()
        return errors

    errors = rig.run(script)
    assert len(errors) == 3
    assert "s0 is already linked" in errors[0] and "nope is not a linked slave" in errors[1]
