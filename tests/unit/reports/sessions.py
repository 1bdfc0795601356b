"""A real copier's journal for the report tests: a session on simulated brokers in three account
currencies (EUR, JPY, USD), on virtual time, with trades copied, refused, sized out, closed and
still open at the end."""

from __future__ import annotations

import asyncio
from pathlib import Path

from copier_gui.core.drift_ledger import DriftLedger, SlaveDrift
from copier_gui.core.journal import Journal
from tests.kit.rig import Rig

SLAVE_PROFILES = ("harbor_fx", "summit_netting", "apex_prop")


def trade_a_session(journal_path: Path | None = None) -> Rig:
    """Run the session; its journal is ``rig.journal`` (a file at ``journal_path`` if given, closed)."""
    rig = Rig(SLAVE_PROFILES)
    if journal_path is not None:
        rig.journal = Journal(journal_path, rig.clock)

    def trade(symbol, order_type, volume, position=0):
        rig.master.symbol_select(symbol, True)  # as a trader opens a chart first
        return rig.trade(symbol, order_type, volume, position)

    async def script():
        copier = rig.copier()
        await copier.start()
        gbp = trade("GBPUSD", 0, 0.1)
        await asyncio.sleep(5)
        eur = trade("EURUSD", 0, 0.3)
        await asyncio.sleep(10)
        gold = trade("XAUUSD", 1, 0.1)
        await asyncio.sleep(10)
        trade("USDJPY", 1, 0.2)
        trade("EURGBP", 0, 0.1)  # Summit has no EURGBP
        trade("US30", 0, 0.05)  # below Apex's 0.1 lot step
        await asyncio.sleep(30)
        trade("GBPUSD", 1, 0.1, position=gbp)
        await asyncio.sleep(30)
        trade("EURUSD", 1, 0.3, position=eur)
        await asyncio.sleep(20)
        trade("XAUUSD", 0, 0.1, position=gold)
        await asyncio.sleep(10)
        await copier.stop()

    rig.run(script)
    if journal_path is not None:
        rig.journal.close()
    return rig


def session_drifts() -> dict[str, SlaveDrift]:
    rig = trade_a_session()
    ledger = DriftLedger()
    ledger.feed(rig.journal.entries(newest_first=False))
    return ledger.drift()
