"""Journals for the report tests, written by hand in the shapes the copier journals them: two
slaves in different currencies, with a copied, a missed, a sized-out, an excluded, an open and an
unvalued trade, and a refusal reason that tries to be markup."""

from __future__ import annotations

import datetime as dt

from copier_gui.core.drift_ledger import DriftLedger, SlaveDrift
from copier_gui.core.journal import JournalEntry

K = 100_000.0  # EURUSD at a USD slave: 1 USD per 0.00001 on one lot
T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC).timestamp()
SCRIPT_REASON = "skipped: <script>alert('x')</script> & the maximum delay"


class HandJournal:
    def __init__(self) -> None:
        self.entries: list[JournalEntry] = []

    def add(self, wall, kind, account, message="", **data) -> None:
        self.entries.append(JournalEntry(len(self.entries) + 1, wall, wall, kind, account, None, message, data))

    def start(self, currencies: dict[str, str]) -> None:
        self.add(T0, "state", "master", "copier starting", slaves=list(currencies))
        for slave, currency in currencies.items():
            self.add(T0, "state", slave, f"{slave} connected", state="connected", currency=currency)

    def master(self, at, ticket, what, *, side="buy", volume=1.0, previous=0.0, price_open=1.1, price=1.1,
               symbol="EURUSD") -> None:
        self.add(T0 + at, "master_event", "master", f"master #{ticket} {what}", ticket=ticket,
                 kind_of_event=what, symbol=symbol, side=side, volume=volume, previous_volume=previous,
                 price_open=price_open, price=price)

    def fill(self, at, slave, ticket, action, *, side="buy", volume, price, quote=None, ideal=0.0, sized=0.0,
             master_volume=0.0, entry_price=0.0, symbol="EURUSD.m", k=K) -> None:
        self.add(T0 + at, "info", slave, f"copied {action}", metrics={
            "slave": slave, "master_ticket": ticket, "symbol": symbol, "action": action, "volume": volume,
            "slave_price": price, "master_price": 0.0, "side": side, "ideal_volume": ideal,
            "sized_volume": sized, "master_volume": master_volume, "quote": quote or price,
            "money_per_price_lot": k, "entry_price": entry_price})

    def refuse(self, at, slave, ticket, reason, **drift) -> None:
        self.add(T0 + at, "refusal", slave, reason, master_ticket=ticket, **({"drift": drift} if drift else {}))

    def marks(self, at, marks) -> None:
        self.add(T0 + at, "marks", "master", "prices of open positions", marks=marks)

    def drifts(self, **kwargs) -> dict[str, SlaveDrift]:
        ledger = DriftLedger()
        ledger.feed(self.entries)
        return ledger.drift(**kwargs)


def two_slaves() -> HandJournal:
    """s1 (USD) meets every status; s2 (EUR, k 90,000) copies the two trades it is sent."""
    j = HandJournal()
    j.start({"s1": "USD", "s2": "EUR"})
    # 7: copied by both, rounded and slipped (docs/drift.md's first example, without commission).
    j.master(60, 7, "opened", price_open=1.10000, price=1.10000)
    j.fill(60.2, "s1", 7, "open", volume=0.50, price=1.10012, quote=1.10010, ideal=0.505, sized=0.50,
           master_volume=1.0)
    j.fill(60.3, "s2", 7, "open", volume=0.30, price=1.10004, quote=1.10003, ideal=0.3, sized=0.3,
           master_volume=1.0, k=90_000.0)
    j.master(600, 7, "closed", previous=1.0, price=1.10500)
    j.fill(600.3, "s1", 7, "close", volume=0.50, price=1.10490, entry_price=1.10012)
    j.fill(600.2, "s2", 7, "close", volume=0.30, price=1.10495, entry_price=1.10004, k=90_000.0)
    # 1: s1 missed it, with a reason that tries to be markup.
    j.master(900, 1, "opened", price_open=1.10000)
    j.refuse(900.1, "s1", 1, SCRIPT_REASON, cause="missed", symbol="EURUSD.m", side="buy",
             ideal_volume=0.2, sized_volume=0.2, master_volume=1.0, money_per_price_lot=K)
    j.refuse(900.1, "s2", 1, "skipped: the filters leave this trade out", cause="excluded")
    j.master(1500, 1, "closed", previous=1.0, price=1.10300)
    # 3: sized to nothing at s1.
    j.master(1800, 3, "opened", volume=0.04, price_open=1.10000)
    j.refuse(1800.1, "s1", 3, "skipped: volume 0.004 is below the minimum 0.01", cause="sizing",
             symbol="EURUSD.m", side="buy", ideal_volume=0.004, sized_volume=0.0, master_volume=0.04,
             money_per_price_lot=K)
    j.refuse(1800.1, "s2", 3, "skipped: the filters leave this trade out", cause="excluded")
    j.master(2400, 3, "closed", previous=0.04, volume=0.04, price=1.10100)
    # 4: a sell still open at the end, valued at the journal's marks.
    j.master(3000, 4, "opened", side="sell", price_open=1.10200, price=1.10200)
    j.fill(3000.2, "s1", 4, "open", side="sell", volume=1.0, price=1.10195, quote=1.10198, ideal=1.0,
           sized=1.0, master_volume=1.0)
    j.refuse(3000.1, "s2", 4, "skipped: the filters leave this trade out", cause="excluded")
    j.marks(3600, {"master": {"EURUSD": {"sell": 1.10100}}, "s1": {"EURUSD.m": {"sell": 1.10104}}})
    # 9: nothing journaled at s1 or s2 for it: listed, never dropped.
    j.master(3300, 9, "opened", symbol="GBPUSD", price_open=1.25000)
    j.master(3400, 9, "closed", symbol="GBPUSD", previous=1.0, price=1.25100)
    return j
