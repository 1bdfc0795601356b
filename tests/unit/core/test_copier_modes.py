"""Per-slave modes on simulated brokers: copying, close-only (no new entries, exits mirrored) and
paused (nothing sent at all, every change journaled with the pause as its reason)."""

from __future__ import annotations

import asyncio

from copier_gui.core.copier import SlaveMode
from copier_gui.core.rules import CopyRules, Tolerances
from tests.kit.rig import Rig


def set_stops(rig: Rig, position: int, symbol: str, sl: float) -> None:
    result = rig.master.order_send({"action": 6, "symbol": symbol, "position": position, "sl": sl, "tp": 0.0})
    assert result.retcode == 10009, result


def symbols(rig: Rig, slave: str) -> list[tuple[str, float]]:
    return sorted((p.symbol, p.volume) for p in rig.held(slave))


def test_close_only_takes_no_new_entry_but_mirrors_exits_and_is_journaled_with_who_asked():
    rig = Rig()

    async def script():
        copier = rig.copier()
        await copier.start()
        first = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(0.05)
        text = copier.set_mode("s0", SlaveMode.CLOSE_ONLY, by="the accounts menu")
        rig.trade("GBPUSD", 0, 0.3)
        await asyncio.sleep(0.05)
        mid = {sid: symbols(rig, sid) for sid in rig.slaves}
        rig.trade("EURUSD", 1, 0.5, position=first)
        await asyncio.sleep(0.05)
        end = {sid: symbols(rig, sid) for sid in rig.slaves}
        link = copier.slaves["s0"]
        await copier.stop()
        return text, mid, end, (link.mode, link.copy_enabled)

    text, mid, end, state = rig.run(script)
    assert mid == {"s0": [("EURUSD.m", 0.5)], "s1": [("EURUSD.raw", 0.5), ("GBPUSD.raw", 0.3)]}
    assert end == {"s0": [], "s1": [("GBPUSD.raw", 0.3)]}
    assert state == (SlaveMode.CLOSE_ONLY, False)
    assert "close-only" in text and "the accounts menu" in text
    entries = rig.journal.entries(kind="state", account="s0")
    assert [e.data.get("mode") for e in entries if e.message == text] == ["close_only"]
    refusals = [e.message for e in rig.journal.entries(kind="refusal", account="s0")]
    assert any("close-only" in m for m in refusals), refusals


def test_paused_sends_nothing_and_journals_every_change_it_did_not_follow():
    rig = Rig(slaves=("harbor_fx",))

    async def script():
        copier = rig.copier()
        await copier.start()
        held = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(0.05)
        copier.set_mode("s0", "paused")
        await asyncio.sleep(0.05)
        before = rig.slaves["s0"].positions_get()[0]
        tick = rig.master.symbol_info_tick("EURUSD")
        set_stops(rig, held, "EURUSD", round(tick.bid - 0.0050, 5))
        rig.trade("GBPUSD", 1, 0.2)
        await asyncio.sleep(0.05)
        rig.trade("EURUSD", 1, 0.5, position=held)
        await asyncio.sleep(1.5)  # a periodic pass too: it must not send anything either
        after = rig.slaves["s0"].positions_get()
        await copier.stop()
        return before, after

    before, after = rig.run(script)
    assert [(p.ticket, p.symbol, p.volume, p.sl) for p in after] == [(before.ticket, "EURUSD.m", 0.5, 0.0)]
    requests_after_pause = [e for e in rig.journal.entries(kind="request", account="s0")
                            if e.seq > _paused_at(rig)]
    assert requests_after_pause == []
    why = [e.message for e in rig.journal.entries(kind="refusal", account="s0") if "paused" in e.message]
    # The new GBPUSD entry, the stop change and the close: each journaled with the pause named.
    tickets = {e.data.get("master_ticket") for e in rig.journal.entries(kind="refusal", account="s0")
               if "paused" in e.message}
    assert len(tickets) == 2 and len(why) >= 3, why


def _paused_at(rig: Rig) -> int:
    return next(e.seq for e in rig.journal.entries(kind="state", account="s0") if e.data.get("mode") == "paused")


def test_resume_reconciles_exits_and_entries_opened_meanwhile_follow_the_late_start_rule():
    rig = Rig(slaves=("harbor_fx",), rules=CopyRules(tolerances=Tolerances(max_delay_ms=5_000)))

    async def script():
        copier = rig.copier()
        await copier.start()
        held = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(0.05)
        copier.set_mode("s0", SlaveMode.PAUSED)
        rig.trade("EURUSD", 1, 0.5, position=held)
        late = rig.trade("GBPUSD", 0, 0.2)
        await asyncio.sleep(30)
        paused = symbols(rig, "s0")
        copier.set_mode("s0", SlaveMode.COPYING)
        recent = rig.trade("USDJPY", 0, 0.1)
        await asyncio.sleep(0.5)
        resumed = symbols(rig, "s0")
        await copier.stop()
        return paused, resumed, late, recent

    paused, resumed, late, _recent = rig.run(script)
    assert paused == [("EURUSD.m", 0.5)]
    # The exit is done; GBPUSD opened 30 s ago, beyond the 5 s delay: journaled as missed.
    assert resumed == [("USDJPY.m", 0.1)]
    missed = [e.message for e in rig.journal.entries(kind="refusal", account="s0")
              if e.data.get("master_ticket") == late]
    assert any("maximum delay" in m for m in missed), missed


def test_a_resync_of_a_paused_slave_reads_it_and_sends_nothing():
    rig = Rig(slaves=("harbor_fx",))

    async def script():
        copier = rig.copier()
        await copier.start()
        copier.set_mode("s0", SlaveMode.PAUSED)
        rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(0.05)
        text = copier.resync("s0")
        await asyncio.sleep(0.2)
        out = symbols(rig, "s0")
        await copier.stop()
        return text, out

    text, out = rig.run(script)
    assert out == [] and "it is paused, so it is only read now" in text


def test_set_copy_enabled_still_switches_between_copying_and_close_only():
    rig = Rig(slaves=("harbor_fx",))

    async def script():
        copier = rig.copier()
        await copier.start()
        copier.set_copy_enabled("s0", False)
        off = copier.slaves["s0"].mode
        copier.set_mode("s0", SlaveMode.PAUSED)
        copier.set_copy_enabled("s0", True)
        on = copier.slaves["s0"].mode
        await copier.stop()
        return off, on

    assert rig.run(script) == (SlaveMode.CLOSE_ONLY, SlaveMode.COPYING)


def test_a_link_made_with_copy_enabled_off_starts_close_only():
    from copier_gui.core.copier import SlaveLink

    link = SlaveLink("s", connector=None, copy_enabled=False)
    assert link.mode is SlaveMode.CLOSE_ONLY and link.copy_enabled is False
    link = SlaveLink("s", connector=None, mode=SlaveMode.PAUSED)
    assert link.copy_enabled is False
    link = SlaveLink("s", connector=None)
    assert link.mode is SlaveMode.COPYING and link.copy_enabled is True
