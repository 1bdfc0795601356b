"""Drift from the journal alone: hand-worked journals, random ones against an oracle written apart,
and a real copier on simulated brokers whose own deal profits check the figures."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from copier_gui.connectors.mt5 import MT5Connector
from copier_gui.core import tags
from copier_gui.core.attribution import PARTS
from copier_gui.core.drift_ledger import DriftLedger
from copier_gui.core.journal import JournalEntry
from copier_gui.core.ports import ConnectorError
from copier_gui.core.rules import CopyRules, Tolerances
from copier_gui.sim import Faults
from tests.kit.rig import Rig

K = 100_000.0  # EURUSD: tick value 1 USD per 0.00001 on one lot


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

    def master(self, wall, ticket, what, *, side="buy", volume=1.0, previous=0.0, price_open=1.1, price=1.1,
               symbol="EURUSD"):
        self.add(wall, "master_event", "master", f"master #{ticket} {what}", ticket=ticket, kind_of_event=what,
                 symbol=symbol, side=side, volume=volume, previous_volume=previous, price_open=price_open,
                 price=price)

    def fill(self, wall, slave, ticket, action, *, side="buy", volume, price, quote=None, ideal=0.0, sized=0.0,
             master_volume=0.0, entry_price=0.0, symbol="EURUSD.m", k=K):
        self.add(wall, "info", slave, f"copied {action}", metrics={
            "slave": slave, "master_ticket": ticket, "symbol": symbol, "action": action, "volume": volume,
            "slave_price": price, "master_price": 0.0, "side": side, "ideal_volume": ideal, "sized_volume": sized,
            "master_volume": master_volume, "quote": quote or price, "money_per_price_lot": k,
            "entry_price": entry_price})

    def refuse(self, wall, slave, ticket, reason, **drift):
        self.add(wall, "refusal", slave, reason, master_ticket=ticket, **({"drift": drift} if drift else {}))

    def marks(self, wall, marks):
        self.add(wall, "marks", "master", "prices of open positions", marks=marks)


def _drift(j: Journal, **kwargs):
    ledger = DriftLedger()
    ledger.feed(j.entries)
    return ledger.drift(**kwargs)


def test_worked_example_one_copied_trade():
    # The master buys 1 lot at 1.10000 and sells at 1.10500; the slave's rules ask for 0.505 lots,
    # its lot step makes 0.50 of it. It asks at 1.10010 (the market moved 1 pip during the copy's
    # latency), fills at 1.10012 and closes at 1.10490.
    j = Journal()
    j.start("s1")
    j.master(10.0, 7, "opened", price_open=1.10000, price=1.10000)
    j.fill(10.2, "s1", 7, "open", volume=0.50, price=1.10012, quote=1.10010, ideal=0.505, sized=0.50,
           master_volume=1.0)
    j.master(50.0, 7, "closed", previous=1.0, price=1.10500)
    j.fill(50.3, "s1", 7, "close", side="buy", volume=0.50, price=1.10490, entry_price=1.10012)
    d = _drift(j)["s1"]
    a = d.attribution
    assert d.currency == "USD"
    assert a.ideal == pytest.approx(0.00500 * 0.505 * K)  # 252.50
    assert a.actual == pytest.approx(0.00478 * 0.50 * K)  # 239.00
    assert a.total == pytest.approx(-13.50)
    assert a.parts["timing"] == pytest.approx(-0.00010 * 0.50 * K)  # -5.00
    assert a.parts["entry_price"] == pytest.approx(-0.00002 * 0.50 * K)  # -1.00
    assert a.parts["exit_price"] == pytest.approx(-0.00010 * 0.50 * K)  # -5.00
    assert a.parts["sizing"] == pytest.approx(-0.00500 * 0.005 * K)  # -2.50
    assert a.parts["residual"] == pytest.approx(0.0, abs=1e-9)
    assert [t.status for t in d.trades] == ["closed"]
    assert d.series == [(pytest.approx(50.3), pytest.approx(-13.50))]
    assert d.as_json()["attribution"]["timing"] == -5.0
    assert d.as_json()["tracking_difference"] == -13.5


def test_costs_are_the_slaves_own_minus_the_masters_scaled_to_the_ideal_volume():
    j = Journal()
    j.start("s1")
    j.master(10.0, 7, "opened", volume=2.0, price_open=1.10000)
    j.fill(10.2, "s1", 7, "open", volume=0.5, price=1.10000, ideal=0.5, sized=0.5, master_volume=2.0)
    j.master(50.0, 7, "closed", volume=2.0, previous=2.0, price=1.10000)
    j.fill(50.3, "s1", 7, "close", volume=0.5, price=1.10000, entry_price=1.1)
    # Read after each entry and after the exit: the latest read of each position counts.
    j.add(10.5, "deals", "master", "", master_ticket=7, position=7, deals=[["buy", 2.0, 1.1, -7.0, 0.0, 0.0]])
    j.add(50.5, "deals", "master", "", master_ticket=7, position=7,
          deals=[["buy", 2.0, 1.1, -7.0, 0.0, 0.0], ["sell", 2.0, 1.1, -7.0, -2.0, 0.0]])
    j.add(50.6, "deals", "s1", "", master_ticket=7, position=99,
          deals=[["buy", 0.5, 1.1, -1.25, 0.0, 0.0], ["sell", 0.5, 1.1, -1.25, -1.0, 0.0]])
    a = _drift(j)["s1"].attribution
    # Perfect copying of a quarter of the master's volume pays a quarter of its costs: -4.00.
    assert a.ideal == pytest.approx(-4.0)
    assert a.actual == pytest.approx(-3.5)
    assert a.parts["costs"] == pytest.approx(0.5)
    assert a.total == pytest.approx(0.5)


def test_the_brokers_deals_hold_a_fill_a_crash_kept_out_of_the_journal():
    j = Journal()
    j.start("s1")
    j.master(10.0, 7, "opened", volume=1.0, price_open=1.10000)
    j.fill(10.2, "s1", 7, "open", volume=1.0, price=1.10002, quote=1.10001, ideal=1.0, sized=1.0, master_volume=1.0)
    # The slave's copy was cut in two; the copier crashed after the first cut went out, so only
    # the second cut's fill is in the journal. The broker booked both.
    j.master(20.0, 7, "partially_closed", volume=0.6, previous=1.0, price=1.10100)
    j.master(30.0, 7, "closed", volume=0.6, previous=0.6, price=1.10200)
    j.fill(30.1, "s1", 7, "close", volume=0.6, price=1.10198, entry_price=1.10002)
    deals = [["buy", 1.0, 1.10002, 0.0, 0.0, 0.0], ["sell", 0.4, 1.10097, 0.0, 0.0, 0.0],
             ["sell", 0.6, 1.10198, 0.0, 0.0, 0.0]]
    j.add(30.2, "deals", "s1", "", master_ticket=7, position=70, deals=deals)
    j.add(30.2, "deals", "master", "", master_ticket=7, position=7,
          deals=[["buy", 1.0, 1.10000, 0, 0, 0], ["sell", 0.4, 1.10099, 0, 0, 0], ["sell", 0.6, 1.10201, 0, 0, 0]])
    a = _drift(j)["s1"].attribution
    assert a.actual == pytest.approx((0.4 * 0.00095 + 0.6 * 0.00196) * K)
    # The master's exits are its broker's too, not the last prices the copier saw.
    assert a.ideal == pytest.approx((0.4 * 0.00099 + 0.6 * 0.00201) * K)
    assert a.per_trade[0].trade.slave_quote_at_request == pytest.approx(1.10001)


def test_missed_trade_is_its_whole_ideal_and_an_excluded_one_is_not_counted():
    j = Journal()
    j.start("s1")
    j.master(10.0, 1, "opened", price_open=1.10000)
    j.refuse(10.1, "s1", 1, "skipped: the master filled 12.0 s ago, beyond the 10 s maximum delay",
             cause="missed", symbol="EURUSD.m", side="buy", ideal_volume=0.2, sized_volume=0.2,
             master_volume=1.0, money_per_price_lot=K)
    j.master(20.0, 1, "closed", previous=1.0, price=1.10300)
    j.master(30.0, 2, "opened", side="sell", price_open=1.10300)
    j.refuse(30.1, "s1", 2, "skipped: EURUSD is in filters.exclude_symbols", cause="excluded")
    j.master(40.0, 2, "closed", side="sell", previous=1.0, price=1.10000)
    d = _drift(j)["s1"]
    assert d.attribution.parts["missed"] == pytest.approx(-0.003 * 0.2 * K)  # the 60 USD it did not make
    assert d.attribution.total == pytest.approx(-60.0)
    assert d.excluded == 1
    assert [(t.master_ticket, t.status) for t in d.trades] == [(1, "missed")]
    assert "maximum delay" in d.trades[0].reason


def test_an_entry_the_broker_kept_refusing_is_missed_with_the_brokers_reason():
    j = Journal()
    j.start("s1")
    j.master(10.0, 1, "opened", volume=1.0, price_open=1.10000)
    j.add(10.1, "result", "s1", "failed: open buy 0.1 EURUSD.m: rejected by Harbor FX (10043 Only short positions "
          "are allowed)", master_ticket=1, status="rejected", retcode=10043,
          drift={"cause": "missed", "symbol": "EURUSD.m", "side": "buy", "ideal_volume": 0.1, "sized_volume": 0.1,
                 "master_volume": 1.0, "money_per_price_lot": K})
    j.add(10.2, "result", "s1", "filled: done", status="filled")  # a result of another step: no reason
    j.master(20.0, 1, "closed", volume=1.0, previous=1.0, price=1.10100)
    d = _drift(j)["s1"]
    assert d.unvalued == [] and [(t.status, t.reason[:20]) for t in d.trades] == [("missed", "failed: open buy 0.1")]
    assert d.attribution.parts["missed"] == pytest.approx(-10.0)


def test_a_trade_sized_to_nothing_is_sizing_not_missed():
    j = Journal()
    j.start("s1")
    j.master(10.0, 1, "opened", volume=0.04, price_open=1.10000)
    j.refuse(10.1, "s1", 1, "skipped: volume 0.004 is below the minimum 0.01", cause="sizing",
             symbol="EURUSD.m", side="buy", ideal_volume=0.004, sized_volume=0.0, master_volume=0.04,
             money_per_price_lot=K)
    j.master(20.0, 1, "closed", previous=0.04, volume=0.04, price=1.10100)
    d = _drift(j)["s1"]
    assert d.attribution.parts["sizing"] == pytest.approx(-0.001 * 0.004 * K)
    assert d.attribution.parts["missed"] == 0
    assert d.trades[0].status == "sized out"


def test_open_trades_are_valued_at_the_latest_marks_and_listed_when_there_are_none():
    j = Journal()
    j.start("s1")
    j.master(10.0, 1, "opened", price_open=1.10000)
    j.fill(10.1, "s1", 1, "open", volume=1.0, price=1.10002, ideal=1.0, sized=1.0, master_volume=1.0)
    d = _drift(j)["s1"]
    assert d.attribution.per_trade == [] and d.unvalued == [
        "master #1 EURUSD: still open at the period's end and no price of it was journaled"]
    j.marks(60.0, {"master": {"EURUSD": {"buy": 1.10100}}, "s1": {"EURUSD.m": {"buy": 1.10098}}})
    j.marks(120.0, {"master": {"EURUSD": {"buy": 1.10200}}, "s1": {"EURUSD.m": {"buy": 1.10197}}})
    at_90 = _drift(j, end=90.0)["s1"]
    assert at_90.attribution.ideal == pytest.approx(100.0)
    assert at_90.attribution.actual == pytest.approx(96.0)
    assert at_90.trades[0].status == "open"
    latest = _drift(j)["s1"]
    assert latest.attribution.actual == pytest.approx(195.0)


def test_period_takes_trades_the_master_opened_in_it():
    j = Journal()
    j.start("s1")
    for n, wall in enumerate((10.0, 100.0, 200.0), start=1):
        j.master(wall, n, "opened", price_open=1.1)
        j.fill(wall + 0.1, "s1", n, "open", volume=1.0, price=1.1, ideal=1.0, sized=1.0, master_volume=1.0)
        j.master(wall + 5, n, "closed", previous=1.0, price=1.1001)
        j.fill(wall + 5.1, "s1", n, "close", volume=1.0, price=1.1, entry_price=1.1)
    d = _drift(j, start=50.0, end=150.0)["s1"]
    assert [t.master_ticket for t in d.trades] == [2]
    assert d.attribution.total == pytest.approx(-10.0)


def test_partial_closes_and_a_pending_copy_filled_at_the_slave():
    j = Journal()
    j.start("s1")
    j.master(10.0, 5, "opened", side="sell", price_open=1.20000, volume=1.0)
    # The slave's pending copy filled at its broker: only its exits are journaled, with its entry.
    j.master(20.0, 5, "partially_closed", side="sell", volume=0.4, previous=1.0, price=1.19900)
    j.fill(20.1, "s1", 5, "reduce", side="sell", volume=0.6, price=1.19902, entry_price=1.19998)
    j.master(30.0, 5, "closed", side="sell", previous=0.4, volume=0.4, price=1.19800)
    j.fill(30.1, "s1", 5, "close", side="sell", volume=0.4, price=1.19803, entry_price=1.19998)
    a = _drift(j)["s1"].attribution
    assert a.ideal == pytest.approx((0.6 * 0.001 + 0.4 * 0.002) * K)  # 140
    assert a.actual == pytest.approx((0.6 * (1.19998 - 1.19902) + 0.4 * (1.19998 - 1.19803)) * K)
    assert math.fsum(a.parts.values()) == pytest.approx(a.total)


def test_a_copy_of_a_master_trade_the_journal_never_shows_counts_under_residual():
    # A pending copy that filled at the slave while the master's order never did: no master trade
    # is behind it, so what it made is residual; one still open is listed.
    j = Journal()
    j.start("s1")
    j.add(10.0, "deals", "s1", "", master_ticket=55, position=5,
          deals=[["sell", 0.45, 1.27225, -1.57, 0.0, 0.0], ["buy", 0.45, 1.27245, -1.57, 0.0, -9.0]])
    j.add(20.0, "deals", "s1", "", master_ticket=56, position=6, deals=[["buy", 0.1, 1.1, -0.35, 0.0, 0.0]])
    d = _drift(j)["s1"]
    assert d.attribution.parts["residual"] == pytest.approx(-9.0 - 3.14)
    assert d.attribution.total == pytest.approx(-12.14) and d.trades == []
    assert d.unvalued == ["master #56: s1 holds a copy of a master trade this journal does not show, still open"]


def test_an_unjournaled_trade_is_listed_not_silently_dropped():
    j = Journal()
    j.start("s1")
    j.master(10.0, 1, "opened")
    j.master(20.0, 1, "closed", previous=1.0)
    assert _drift(j)["s1"].unvalued == ["master #1 EURUSD: no copy and no refusal journaled for s1"]



def test_a_master_position_reversed_in_place_is_listed_not_valued_on_one_side():
    # A cTrader netting reversal keeps the position's id: both sides' copies are under one ticket.
    j = Journal()
    j.start("s1")
    j.master(10.0, 1, "opened")
    j.fill(10.2, "s1", 1, "open", volume=1.0, price=1.1, ideal=1.0, sized=1.0, master_volume=1.0)
    j.master(20.0, 1, "reversed", side="sell", volume=0.5, previous=1.0)
    j.fill(20.1, "s1", 1, "close", side="buy", volume=1.0, price=1.1001, entry_price=1.1)
    j.fill(20.2, "s1", 1, "open", side="sell", volume=0.5, price=1.1001, ideal=0.5, sized=0.5, master_volume=0.5)
    j.master(30.0, 1, "closed", side="sell", volume=0.5, previous=0.5)
    d = _drift(j)["s1"]
    assert d.trades == [] and d.unvalued == [
        "master #1 EURUSD: reversed in place (a netting account); its drift is not valued"]


def test_a_copy_that_filled_only_after_the_periods_end_is_listed_not_an_error():
    # The window's rounds end their period at "now", then read the journal: a copy journaled in
    # between filled after the end. At the end the copy was on its way, neither taken nor refused.
    j = Journal()
    j.start("s1")
    j.master(10.0, 1, "opened", price_open=1.10000)
    j.fill(10.2, "s1", 1, "open", volume=1.0, price=1.10002, ideal=1.0, sized=1.0, master_volume=1.0)
    j.marks(10.05, {"master": {"EURUSD": {"buy": 1.10010}}, "s1": {"EURUSD.m": {"buy": 1.10008}}})
    d = _drift(j, end=10.1)["s1"]
    assert d.trades == [] and d.unvalued == [
        "master #1 EURUSD: s1's copy of it was still on its way at the period's end"]
    assert _drift(j, end=10.3)["s1"].trades[0].status == "open"


# ----------------------------------------------------------------------------- random journals

fills = st.lists(st.tuples(st.floats(0.01, 2.0), st.floats(-0.002, 0.002), st.floats(-0.0005, 0.0005)),
                 min_size=1, max_size=3)


@st.composite
def journals(draw):
    """A random journal and, computed apart from the ledger, each trade's slave and master P&L."""
    j = Journal()
    j.start("s1")
    expect_actual, expect_ideal, wall = 0.0, 0.0, 1.0
    for ticket in range(1, draw(st.integers(1, 6)) + 1):
        side = draw(st.sampled_from(["buy", "sell"]))
        sign = 1 if side == "buy" else -1
        entry = 1.1 + draw(st.floats(-0.01, 0.01))
        exit_ = entry + draw(st.floats(-0.005, 0.005))
        master_volume = draw(st.floats(0.1, 5.0))
        ratio = draw(st.floats(0.05, 2.0))
        j.master(wall, ticket, "opened", side=side, volume=master_volume, price_open=entry, price=entry)
        expect_ideal += sign * (exit_ - entry) * master_volume * ratio * K
        legs = draw(fills)
        filled = sum(v for v, _, _ in legs)
        for n, (volume, gap, slip) in enumerate(legs):
            quote = entry + gap
            j.fill(wall + 0.1, "s1", ticket, "open" if n == 0 else "topup", side=side, volume=volume,
                   price=quote + slip, quote=quote, ideal=master_volume * ratio, sized=filled,
                   master_volume=master_volume)
            expect_actual -= sign * (quote + slip) * volume * K
        slave_exit = exit_ + draw(st.floats(-0.001, 0.001))
        j.master(wall + 1, ticket, "closed", side=side, previous=master_volume, volume=master_volume,
                 price=exit_)
        j.fill(wall + 1.1, "s1", ticket, "close", side=side, volume=filled, price=slave_exit, entry_price=entry)
        expect_actual += sign * slave_exit * filled * K
        wall += 2
    return j, expect_actual, expect_ideal


@settings(max_examples=150, deadline=None)
@given(journals(), st.integers(1, 5))
def test_random_journals_agree_with_an_oracle_and_fold_the_same_in_any_batches(case, batches):
    j, actual, ideal = case
    whole = _drift(j)["s1"].attribution
    assert whole.actual == pytest.approx(actual, abs=1e-6)
    assert whole.ideal == pytest.approx(ideal, abs=1e-6)
    assert math.fsum(whole.parts[p] for p in PARTS) == pytest.approx(whole.total, abs=1e-6)
    assert abs(whole.parts["residual"]) < 1e-6  # every trade has a master trade behind it
    ledger = DriftLedger()
    size = max(1, len(j.entries) // batches)
    for i in range(0, len(j.entries), size):
        ledger.feed(j.entries[i:i + size])
        ledger.drift()  # keeps the trades already final; what arrives later must still count
    again = ledger.drift()["s1"]
    assert again.attribution.parts == pytest.approx(whole.parts)
    series = _drift(j)["s1"].series
    assert [w for w, _ in again.series] == [w for w, _ in series]
    assert [v for _, v in again.series] == pytest.approx([v for _, v in series])


# ----------------------------------------------------------------------------- a real copier

def test_copier_journal_gives_the_slaves_own_profit_from_its_broker():
    rig = Rig()

    async def script():
        copier = rig.copier()
        await copier.start()
        first = rig.trade("EURUSD", 0, 0.5)
        second = rig.trade("GBPUSD", 1, 0.3)
        await asyncio.sleep(30)  # virtual time: the market moves
        rig.trade("EURUSD", 1, 0.5, position=first)
        await asyncio.sleep(30)
        rig.trade("GBPUSD", 0, 0.3, position=second)
        rig.trade("EURUSD", 1, 0.4)  # still open at the end: its entry commission is paid already
        await asyncio.sleep(5)
        await copier.stop()

    rig.run(script)
    if not rig.master.sim.connected:
        assert rig.master.initialize()
    ledger = DriftLedger()
    ledger.feed(rig.journal.entries(newest_first=False))
    drift = ledger.drift()
    assert set(drift) == set(rig.slaves)
    for sid, terminal in rig.slaves.items():
        if not terminal.sim.connected:
            assert terminal.initialize()  # the copier shut its session down when it stopped
        everything = terminal.history_deals_get(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
        deals = [d for d in everything if tags.master_ticket_of(d.comment) is not None]
        floating = math.fsum(p.profit + p.swap for p in terminal.positions_get())
        broker_result = math.fsum(d.profit + d.commission + d.swap + d.fee for d in deals) + floating
        broker_costs = math.fsum(d.commission + d.swap + d.fee for d in deals)
        d = drift[sid]
        assert d.unvalued == [] and [t.status for t in d.trades] == ["closed", "closed", "open"]
        assert d.currency == terminal.account_info().currency
        # The broker books each deal's profit rounded to the cent, at its own rates.
        assert d.attribution.actual == pytest.approx(broker_result, abs=0.02 * len(deals))
        assert math.fsum(d.attribution.parts.values()) == pytest.approx(d.attribution.total)
        slave_costs = math.fsum(t.trade.slave_commission + t.trade.slave_swap for t in d.attribution.per_trade)
        assert slave_costs == pytest.approx(broker_costs)
    # The master's broker charges commission, so perfect copying would have paid its share too.
    master_deals = rig.master.history_deals_get(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    assert math.fsum(d.commission for d in master_deals) < 0
    for d in drift.values():
        assert all(t.trade.master_commission_scaled < 0 for t in d.attribution.per_trade)


def test_a_netting_slaves_shares_of_one_position_each_journal_their_own_costs():
    rig = Rig(slaves=("summit_netting",), rules=CopyRules(tolerances=Tolerances(max_price_deviation_points=5000)))

    async def script():
        copier = rig.copier()
        await copier.start()
        first = rig.trade("EURUSD", 0, 0.2)
        await asyncio.sleep(2)
        second = rig.trade("EURUSD", 0, 0.3)  # the slave's one EURUSD position now holds both
        await asyncio.sleep(10)
        rig.trade("EURUSD", 1, 0.2, position=first)
        await asyncio.sleep(10)
        rig.trade("EURUSD", 1, 0.3, position=second)
        await asyncio.sleep(5)
        await copier.stop()
        return first, second

    first, second = rig.run(script)
    costs = rig.journal.entries(kind="deals", account="s0", newest_first=False)
    # Read after each entry and exit (and again as the master closes); each share is its own.
    assert {e.data["master_ticket"] for e in costs} == {first, second}
    assert len(costs) >= 4
    assert len({e.data["position"] for e in costs}) == 1  # one netting position, two shares
    ledger = DriftLedger()
    ledger.feed(rig.journal.entries(newest_first=False))
    d = ledger.drift()["s0"]
    assert d.unvalued == [] and [t.status for t in d.trades] == ["closed", "closed"]


@pytest.mark.parametrize("master_closes_after_s", [10, 0], ids=["later", "at_once"])
def test_a_copy_closed_at_the_slave_takes_its_exit_from_the_slaves_deals(master_closes_after_s):
    rig = Rig(slaves=("harbor_fx",))

    async def script():
        copier = rig.copier()
        await copier.start()
        ticket = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(10)
        # The slave's trader closes the copy by hand: a deal with no tag of ours.
        terminal = rig.slaves["s0"]
        (copy,) = rig.held("s0")
        tick = terminal.symbol_info_tick(copy.symbol)
        result = terminal.order_send({"action": 1, "symbol": copy.symbol, "volume": copy.volume, "type": 1,
                                      "price": tick.bid, "position": copy.ticket, "type_filling": 0})
        assert result.retcode == 10009
        # Later, the copier sees the copy gone while the master holds on; at once, it may see the
        # copy gone or the master's close first: either way the slave's deals hold the exit.
        if master_closes_after_s:
            await asyncio.sleep(master_closes_after_s)
        rig.trade("EURUSD", 1, 0.5, position=ticket)
        await asyncio.sleep(5)
        await copier.stop()

    rig.run(script)
    terminal = rig.slaves["s0"]
    if not terminal.sim.connected:
        assert terminal.initialize()
    everything = terminal.history_deals_get(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    broker_result = math.fsum(d.profit + d.commission + d.swap + d.fee for d in everything if d.type in (0, 1))
    ledger = DriftLedger()
    ledger.feed(rig.journal.entries(newest_first=False))
    d = ledger.drift()["s0"]
    assert d.unvalued == [] and [t.status for t in d.trades] == ["closed"]
    assert d.attribution.actual == pytest.approx(broker_result, abs=0.02)
    assert d.attribution.parts["exit_price"] != 0  # it left earlier than the master


def _broker_result(terminal) -> float:
    """Everything the account made and paid, from its broker's own books: deals plus what is open."""
    if not terminal.sim.connected:
        assert terminal.initialize()
    deals = terminal.history_deals_get(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    booked = math.fsum(d.profit + d.commission + d.swap + d.fee for d in deals if d.type in (0, 1))
    return booked + math.fsum(p.profit + p.swap for p in terminal.positions_get())


def test_netting_shares_that_cancel_out_in_one_pass_still_count_every_deal():
    # A buy and a sell of the same symbol at once: on the netting slave the second deal closes the
    # first's position, and the next deal opens a new one; each share's deals span positions.
    rig = Rig(slaves=("meridian_ecn",), rules=CopyRules(tolerances=Tolerances(max_price_deviation_points=5000)),
              margin_modes={"s0": 0})  # netting, at a broker that charges commission on each deal

    async def script():
        copier = rig.copier()
        await copier.start()
        long = rig.trade("XAUUSD", 0, 0.3)
        short = rig.trade("XAUUSD", 1, 0.3)
        await asyncio.sleep(20)
        rig.trade("XAUUSD", 0, 0.3, position=short)
        await asyncio.sleep(20)
        await copier.stop()
        return long, short

    rig.run(script)
    ledger = DriftLedger()
    ledger.feed(rig.journal.entries(newest_first=False))
    d = ledger.drift()["s0"]
    assert d.unvalued == [] and sorted(t.status for t in d.trades) == ["closed", "open"]
    assert d.attribution.actual == pytest.approx(_broker_result(rig.slaves["s0"]), abs=0.05)


def test_a_master_trade_closed_while_no_copier_ran_is_valued_from_the_masters_deals(tmp_path):
    rig = Rig(slaves=("harbor_fx",), copybook_path=tmp_path / "copies.sqlite3")

    async def script():
        copier = rig.copier()
        await copier.start()
        ticket = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(5)
        await copier.stop()
        await asyncio.sleep(20)
        assert rig.master.initialize()  # the master's own trader is still there
        rig.trade("EURUSD", 1, 0.5, position=ticket)  # while no copier runs
        await asyncio.sleep(20)
        copier = rig.copier()
        await copier.start()  # closes the copy left behind
        await asyncio.sleep(5)
        await copier.stop()
        return ticket

    ticket = rig.run(script)
    ledger = DriftLedger()
    ledger.feed(rig.journal.entries(newest_first=False))
    d = ledger.drift()["s0"]
    assert d.unvalued == [] and [t.status for t in d.trades] == ["closed"]
    assert d.attribution.actual == pytest.approx(_broker_result(rig.slaves["s0"]), abs=0.02)
    assert rig.master.sim.connected or rig.master.initialize()
    master = rig.master.history_deals_get(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    exit_price = next(x.price for x in master if x.position_id == ticket and x.entry == 1)
    assert d.attribution.per_trade[0].trade.master_exit == pytest.approx(exit_price)


def test_the_copies_held_at_start_have_their_deals_read_again(tmp_path, monkeypatch):
    # The first run's reads never land (as when it crashes first): the next run reads the deals of
    # every copy it finds, so the entry commission already paid counts.
    rig = Rig(slaves=("meridian_ecn",), copybook_path=tmp_path / "copies.sqlite3")
    real = MT5Connector.position_deals

    async def unreachable(self, position_id=0, *, order=0):
        raise ConnectorError("the terminal did not answer")

    async def script():
        monkeypatch.setattr(MT5Connector, "position_deals", unreachable)
        copier = rig.copier()
        await copier.start()
        rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(5)
        await copier.stop()
        monkeypatch.setattr(MT5Connector, "position_deals", real)
        copier = rig.copier()
        await copier.start()
        await asyncio.sleep(5)
        await copier.stop()

    rig.run(script)
    first_run_notes = rig.journal.entries(kind="info", account="s0")
    assert any("were not read" in e.message for e in first_run_notes)
    ledger = DriftLedger()
    ledger.feed(rig.journal.entries(newest_first=False))
    d = ledger.drift()["s0"]
    assert d.unvalued == [] and [t.status for t in d.trades] == ["open"]
    assert d.attribution.per_trade[0].trade.slave_commission < 0
    assert d.attribution.per_trade[0].trade.master_commission_scaled < 0
    assert d.attribution.actual == pytest.approx(_broker_result(rig.slaves["s0"]), abs=0.02)


def test_a_trade_that_waited_for_a_slave_with_trading_off_and_was_never_copied_is_missed():
    rig = Rig(slaves=("harbor_fx",))

    async def script():
        copier = rig.copier()
        await copier.start()
        rig.slaves["s0"].sim.set_algo_trading(False)
        await asyncio.sleep(3)
        ticket = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(20)
        rig.trade("EURUSD", 1, 0.5, position=ticket)  # closed before trading came back
        await asyncio.sleep(3)
        await copier.stop()

    rig.run(script)
    ledger = DriftLedger()
    ledger.feed(rig.journal.entries(newest_first=False))
    d = ledger.drift()["s0"]
    assert d.unvalued == [] and [t.status for t in d.trades] == ["missed"]
    assert "not copied yet" in d.trades[0].reason
    assert d.attribution.parts["missed"] == pytest.approx(-d.attribution.ideal) != 0


def test_the_working_rest_of_a_partly_filled_copy_that_the_broker_fills_later_counts():
    # apex_prop fills with RETURN: a partly filled order keeps its rest working at the broker,
    # which fills it on a later tick with no request of ours.
    rig = Rig(slaves=("apex_prop",), slave_faults={"s0": Faults(partial_fill=1.0)})

    async def script():
        copier = rig.copier()
        await copier.start()
        rig.trade("EURUSD", 0, 1.5)
        await asyncio.sleep(30)
        await copier.stop()

    rig.run(script)
    ledger = DriftLedger()
    ledger.feed(rig.journal.entries(newest_first=False))
    d = ledger.drift()["s0"]
    (trade,) = d.attribution.per_trade
    (held,) = rig.held("s0")
    assert trade.trade.filled_volume == pytest.approx(held.volume)
    assert d.attribution.actual == pytest.approx(_broker_result(rig.slaves["s0"]), abs=0.02)
