"""The master's costs in a slave's drift scale by exposure in units of the base asset, not by the
ratio of two volumes counted in different units: a master's 2 lots of a Dow at 1 a lot and a
slave's 0.2 lot at 10 a lot hold the same exposure, and so do 0.5 lot of EURUSD and 50,000 units.
Journals from before the copier recorded each side's units per volume keep their old figures."""

from __future__ import annotations

import pytest

from copier_gui.core.drift_ledger import DriftLedger
from copier_gui.core.journal import JournalEntry

FX_LOT = 100_000.0


class Journal:
    """Journal entries written by hand, in the shapes the copier journals them."""

    def __init__(self) -> None:
        self.entries: list[JournalEntry] = []

    def add(self, wall, kind, account, message="", **data) -> None:
        self.entries.append(JournalEntry(len(self.entries) + 1, wall, wall, kind, account, None, message, data))

    def start(self, *slaves, currency="USD"):
        self.add(0.0, "state", "master", "copier starting", slaves=list(slaves))
        for s in slaves:
            self.add(0.0, "state", s, f"{s} connected", state="connected", currency=currency)

    def master(self, wall, ticket, what, *, volume, previous=0.0, price=1.1, symbol="EURUSD"):
        self.add(wall, "master_event", "master", f"master #{ticket} {what}", ticket=ticket, kind_of_event=what,
                 symbol=symbol, side="buy", volume=volume, previous_volume=previous, price_open=price, price=price)

    def fill(self, wall, slave, ticket, action, *, volume, price=1.1, symbol, k, ideal=0.0, master_volume=0.0,
             entry_price=0.0, **exposure):
        self.add(wall, "info", slave, f"copied {action}", metrics={
            "slave": slave, "master_ticket": ticket, "symbol": symbol, "action": action, "volume": volume,
            "slave_price": price, "master_price": price, "side": "buy", "ideal_volume": ideal,
            "sized_volume": volume if ideal else 0.0, "master_volume": master_volume, "quote": price,
            "money_per_price_lot": k, "entry_price": entry_price, **exposure})

    def deals(self, wall, account, ticket, position, *rows):
        self.add(wall, "deals", account, "", master_ticket=ticket, position=position, deals=[list(r) for r in rows])


def _copied(j: Journal, *, symbol, master_volume, slave_volume, slave_symbol, k, price=1.1, **exposure):
    """One master trade bought and sold at one price, copied whole; the master pays 8.00 commission
    and 2.00 swap, the slave nothing, so its costs part is minus the master's share of them."""
    j.start("s1")
    j.master(10.0, 7, "opened", volume=master_volume, price=price, symbol=symbol)
    j.fill(10.2, "s1", 7, "open", volume=slave_volume, ideal=slave_volume, master_volume=master_volume,
           symbol=slave_symbol, k=k, price=price, **exposure)
    j.master(50.0, 7, "closed", volume=master_volume, previous=master_volume, price=price, symbol=symbol)
    j.fill(50.3, "s1", 7, "close", volume=slave_volume, symbol=slave_symbol, k=k, price=price, entry_price=price)
    j.deals(50.5, "master", 7, 7, ("buy", master_volume, price, -4.0, 0.0, 0.0),
            ("sell", master_volume, price, -4.0, -2.0, 0.0))
    j.deals(50.6, "s1", 7, 99, ("buy", slave_volume, price, 0.0, 0.0, 0.0), ("sell", slave_volume, price, 0.0, 0.0, 0.0))
    ledger = DriftLedger()
    ledger.feed(j.entries)
    return ledger.drift()["s1"].attribution


def test_a_slave_with_ten_times_the_contract_takes_the_masters_whole_costs_for_a_tenth_of_its_lots():
    # 2 lots of US30 at 1 a lot, 0.2 lot of US30.m at 10 a lot: the same 2 units of the Dow.
    a = _copied(Journal(), symbol="US30", master_volume=2.0, slave_volume=0.2, slave_symbol="US30.m", k=10.0,
                price=44000.0, master_per_volume=1.0, slave_per_volume=10.0)
    trade = a.per_trade[0].trade
    assert trade.master_commission_scaled == pytest.approx(-8.0)
    assert trade.master_swap_scaled == pytest.approx(-2.0)
    assert a.parts["costs"] == pytest.approx(10.0)
    assert a.total == pytest.approx(10.0)


def test_a_slave_counting_units_takes_the_masters_costs_by_exposure():
    # 0.5 lot of EURUSD (100,000 a lot) is 50,000 units at a cTrader slave: the same exposure.
    a = _copied(Journal(), symbol="EURUSD", master_volume=0.5, slave_volume=50_000.0, slave_symbol="EURUSD",
                k=1.0, master_per_volume=FX_LOT, slave_per_volume=1.0)
    trade = a.per_trade[0].trade
    assert trade.master_commission_scaled == pytest.approx(-8.0)
    assert trade.master_swap_scaled == pytest.approx(-2.0)
    assert a.ideal == pytest.approx(-10.0)
    assert a.parts["costs"] == pytest.approx(10.0)


def test_the_rules_multiplier_still_scales_the_masters_costs_across_units():
    # Twice the master's exposure (multiplier 2): 100,000 units against 0.5 lot pays twice its costs.
    a = _copied(Journal(), symbol="EURUSD", master_volume=0.5, slave_volume=100_000.0, slave_symbol="EURUSD",
                k=1.0, master_per_volume=FX_LOT, slave_per_volume=1.0)
    assert a.per_trade[0].trade.master_commission_scaled == pytest.approx(-16.0)
    assert a.per_trade[0].trade.master_swap_scaled == pytest.approx(-4.0)


def test_the_masters_costs_come_in_the_slaves_currency():
    # A USD master's EURUSD lot makes 100,000 USD a price unit; a EUR slave's lot, at EURUSD 1.1,
    # 90,909.09 EUR. Its 8.00 USD commission and 2.00 USD swap are 7.27 and 1.82 EUR at that rate.
    eur_k = FX_LOT / 1.1
    a = _copied(Journal(), symbol="EURUSD", master_volume=0.5, slave_volume=0.5, slave_symbol="EURUSD.m", k=eur_k,
                master_per_volume=FX_LOT, slave_per_volume=FX_LOT, master_money_per_price_lot=FX_LOT)
    assert a.per_trade[0].trade.master_commission_scaled == pytest.approx(-8.0 / 1.1)
    assert a.per_trade[0].trade.master_swap_scaled == pytest.approx(-2.0 / 1.1)


def test_a_journal_from_before_units_were_recorded_keeps_lots_of_equal_contract():
    # No units per volume journaled: the slave's volume and the master's are taken as the same lots.
    a = _copied(Journal(), symbol="EURUSD", master_volume=2.0, slave_volume=0.5, slave_symbol="EURUSD.m",
                k=FX_LOT)
    assert a.per_trade[0].trade.master_commission_scaled == pytest.approx(-2.0)
    assert a.per_trade[0].trade.master_swap_scaled == pytest.approx(-0.5)


def _refused(drift: dict, *, fill_other: bool = False):
    """The master buys 0.5 lot of EURUSD and pays 8.00 commission; a units slave refused it."""
    j = Journal()
    j.start("s1")
    if fill_other:
        # An earlier trade of the same symbols, copied, says what a volume holds on each side.
        j.master(1.0, 5, "opened", volume=0.5, symbol="EURUSD")
        j.fill(1.2, "s1", 5, "open", volume=50_000.0, ideal=50_000.0, master_volume=0.5, symbol="EURUSD", k=1.0,
               master_per_volume=FX_LOT, slave_per_volume=1.0)
        j.master(2.0, 5, "closed", volume=0.5, previous=0.5, symbol="EURUSD")
        j.fill(2.1, "s1", 5, "close", volume=50_000.0, symbol="EURUSD", k=1.0, entry_price=1.1)
    j.master(10.0, 7, "opened", volume=0.5, symbol="EURUSD")
    j.add(10.1, "refusal", "s1", "skipped: the maximum delay", master_ticket=7,
          drift={"symbol": "EURUSD", "side": "buy", "ideal_volume": 50_000.0, "sized_volume": 50_000.0,
                 "master_volume": 0.5, "money_per_price_lot": 1.0, **drift})
    j.master(50.0, 7, "closed", volume=0.5, previous=0.5, symbol="EURUSD")
    j.deals(50.5, "master", 7, 7, ("buy", 0.5, 1.1, -4.0, 0.0, 0.0), ("sell", 0.5, 1.1, -4.0, 0.0, 0.0))
    ledger = DriftLedger()
    ledger.feed(j.entries)
    return next(t for t in ledger.drift()["s1"].attribution.per_trade if t.trade.key == "#7")


def test_a_refused_trade_misses_the_masters_costs_by_exposure():
    part = _refused({"cause": "missed", "master_per_volume": FX_LOT, "slave_per_volume": 1.0})
    assert part.trade.master_commission_scaled == pytest.approx(-8.0)
    assert part.parts["missed"] == pytest.approx(8.0)


def test_a_sized_out_trade_without_units_takes_them_from_a_copy_of_the_same_symbols():
    # A refusal planned before any fill carries no units per volume; another copy of the same
    # master symbol to the same slave symbol says what they are.
    part = _refused({"cause": "sizing"}, fill_other=True)
    assert part.trade.master_commission_scaled == pytest.approx(-8.0)
    assert part.parts["costs"] == pytest.approx(8.0)
