"""The trader's flatten on simulated brokers: only this copier's copies close, the slave goes
close-only first, each close is journaled with its reason, and a failed close is retried."""

from __future__ import annotations

import asyncio

from copier_gui.core import tags
from copier_gui.core.copier import SlaveMode
from copier_gui.core.flatten import FlattenItem
from tests.kit.rig import Rig

NETTING = 0  # ACCOUNT_MARGIN_MODE_RETAIL_NETTING


def own_trade(terminal, symbol: str, side: int, volume: float, *, magic: int = 0, comment: str = "") -> int:
    """A trade the slave's own trader (or another copier) makes by hand."""
    assert terminal.symbol_select(symbol, True)
    tick = terminal.symbol_info_tick(symbol)
    flags = terminal.symbol_info(symbol).filling_mode  # SYMBOL_FILLING_FOK = 1, SYMBOL_FILLING_IOC = 2
    filling = 0 if flags & 1 else 1 if flags & 2 else 2  # ORDER_FILLING_FOK, _IOC, _RETURN
    result = terminal.order_send({"action": 1, "symbol": symbol, "volume": volume, "type": side,
                                  "price": tick.ask if side == 0 else tick.bid, "type_filling": filling,
                                  "magic": magic, "comment": comment})
    assert result.retcode == 10009, result
    return result.order


def test_flatten_closes_only_our_copies_and_goes_close_only_first():
    rig = Rig(slaves=("harbor_fx",))
    slave = rig.slaves["s0"]

    async def script():
        copier = rig.copier(instance="AB12")
        await copier.start()
        rig.trade("EURUSD", 0, 0.5)
        rig.trade("GBPUSD", 1, 0.3)
        await asyncio.sleep(0.1)
        manual = own_trade(slave, "EURUSD.m", 0, 0.1)
        other = own_trade(slave, "USDJPY.m", 0, 0.2, magic=copier.slaves["s0"].magic,
                          comment=tags.comment_for(999, instance="ZZ99"))
        copier.resync("s0")
        await asyncio.sleep(0.1)
        preview = copier.flatten_preview("s0")
        text = copier.flatten("s0", by="the accounts menu")
        mode = copier.slaves["s0"].mode
        await asyncio.sleep(0.2)
        rig.trade("USDJPY", 0, 0.1)  # close-only now: not copied
        await asyncio.sleep(1.2)
        left = sorted(p.ticket for p in slave.positions_get())
        flattening = copier.slaves["s0"].flattening
        await copier.stop()
        return preview, text, mode, left, sorted([manual, other]), flattening

    preview, text, mode, left, theirs, flattening = rig.run(script)
    assert [(i.symbol, i.side, i.volume) for i in preview] == [("EURUSD.m", "buy", 0.5), ("GBPUSD.m", "sell", 0.3)]
    assert all(isinstance(i, FlattenItem) for i in preview)
    assert mode is SlaveMode.CLOSE_ONLY and flattening is False
    assert "the accounts menu" in text and "EURUSD.m buy 0.5" in text
    assert left == theirs  # the trader's own trade and the other copier's stay
    closes = [e.message for e in rig.journal.entries(kind="request", account="s0") if e.message.startswith("close")]
    assert len(closes) == 2 and all("flattened by the trader" in m for m in closes), closes
    assert any("s0 flattened" in e.message for e in rig.journal.entries(kind="state", account="s0"))


def test_flattened_copies_are_not_reopened_when_copying_resumes():
    rig = Rig(slaves=("harbor_fx",))

    async def script():
        copier = rig.copier()
        await copier.start()
        ticket = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(0.1)
        copier.flatten("s0")
        await asyncio.sleep(0.3)
        copier.set_mode("s0", SlaveMode.COPYING)
        await asyncio.sleep(1.5)
        held = [(p.symbol, p.volume) for p in rig.held("s0")]
        await copier.stop()
        return ticket, held

    ticket, held = rig.run(script)
    assert held == []
    reasons = [e.message for e in rig.journal.entries(kind="refusal", account="s0")
               if e.data.get("master_ticket") == ticket]
    assert any("flattened s0" in r and "not opened again" in r for r in reasons), reasons


def test_a_close_that_fails_is_journaled_and_retried_until_flat():
    rig = Rig(slaves=("harbor_fx",))
    slave = rig.slaves["s0"]

    async def script():
        copier = rig.copier()
        await copier.start()
        rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(0.1)
        slave.sim.set_algo_trading(False)
        copier.flatten("s0")
        await asyncio.sleep(0.5)
        during = len(rig.held("s0"))
        slave.sim.set_algo_trading(True)
        await asyncio.sleep(1.5)
        after = len(rig.held("s0"))
        await copier.stop()
        return during, after

    assert rig.run(script) == (1, 0)


def test_flatten_all_and_a_netting_slave_closes_only_our_part():
    rig = Rig(margin_modes={"s1": NETTING})
    netting = rig.slaves["s1"]

    async def script():
        copier = rig.copier()
        await copier.start()
        rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(0.1)
        own_trade(netting, "EURUSD.raw", 0, 0.2)
        copier.resync("s1")
        await asyncio.sleep(0.1)
        preview = copier.flatten_preview("s1")
        texts = copier.flatten_all(by="the window")
        await asyncio.sleep(1.2)
        held = {sid: [(p.symbol, round(p.volume, 2)) for p in rig.slaves[sid].positions_get()] for sid in rig.slaves}
        modes = {sid: link.mode for sid, link in copier.slaves.items()}
        await copier.stop()
        return preview, texts, held, modes

    preview, texts, held, modes = rig.run(script)
    assert [(i.symbol, i.side, i.volume) for i in preview] == [("EURUSD.raw", "buy", 0.5)]
    assert len(texts) == 2
    assert held == {"s0": [], "s1": [("EURUSD.raw", 0.2)]}
    assert set(modes.values()) == {SlaveMode.CLOSE_ONLY}


def test_flatten_preview_is_empty_when_nothing_is_held():
    rig = Rig(slaves=("harbor_fx",))

    async def script():
        copier = rig.copier()
        await copier.start()
        preview = copier.flatten_preview("s0")
        text = copier.flatten("s0")
        await asyncio.sleep(0.1)
        await copier.stop()
        return preview, text

    preview, text = rig.run(script)
    assert preview == [] and "nothing of this copier's was open" in text
