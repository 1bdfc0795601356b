"""The rules form's preview line, on symbols and accounts read from simulated brokers through the
MT5 connector: what the copier would send for a sample master trade, or why it would not."""

from __future__ import annotations

import asyncio

import pytest

from copier_gui.clock import VirtualClock
from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector
from copier_gui.core.model import Position, Side
from copier_gui.core.rules import (
    CopyRules,
    DeviationLimit,
    Filters,
    Sizing,
    SizingMode,
    Stops,
    StopsMode,
    SymbolMapping,
    SymbolRule,
    SymbolTolerance,
    Tolerances,
)
from copier_gui.core.rules_preview import (
    PreviewAccount,
    PreviewInputs,
    SampleTrade,
    default_sample,
    preview,
    sample_trade,
    symbol_rows,
)
from copier_gui.sim import Market, new_terminal
from tests.kit import WEEKDAY_NOON_UTC


def account(profile: str, market: Market, clock: VirtualClock, **overrides) -> PreviewAccount:
    terminal = new_terminal(profile, seed=3, clock=clock, market=market, **overrides)
    connector = MT5Connector(profile, terminal, invoker=InlineInvoker(), clock=clock)

    async def read():
        state = await connector.connect()
        return state, await connector.symbols()

    state, symbols = asyncio.run(read())
    return PreviewAccount(symbols, state)


@pytest.fixture(scope="module")
def brokers() -> dict[str, PreviewAccount]:
    clock = VirtualClock(WEEKDAY_NOON_UTC)
    market = Market(3, clock)
    return {
        "master": account("meridian_ecn", market, clock, login=1, balance=25_000.0),
        "harbor": account("harbor_fx", market, clock, login=2),  # EUR 10,000, suffix .m, no silver
        "apex": account("apex_prop", market, clock, login=3),  # lots of 0.1 at the least
    }


def inputs(brokers, slave: str = "harbor", positions=()) -> PreviewInputs:
    return PreviewInputs(brokers["master"], brokers[slave], tuple(positions))


def eurusd(brokers, volume: float = 1.0) -> SampleTrade:
    return sample_trade("EURUSD", brokers["master"], volume=volume)


def test_a_multiplier_is_shown_on_the_slaves_own_symbol_with_the_stop(brokers):
    rules = CopyRules(sizing=Sizing(multiplier=0.37))
    trade = eurusd(brokers)
    # The sample buys at the master's ask with a 50-pip stop, on the master's 5 digits.
    ask = brokers["master"].symbols["EURUSD"].ask
    assert trade.price == ask and trade.sl == round(ask - 0.0050, 5)
    shown = preview(rules, inputs(brokers), trade)
    assert shown.copied and shown.slave_symbol == "EURUSD.m" and shown.volume == 0.37
    assert shown.text == f"master buy 1.00 EURUSD → this slave buy 0.37 EURUSD.m, SL {trade.sl:.5f}"


def test_changing_the_sizing_changes_the_preview(brokers):
    trade = eurusd(brokers)
    double = preview(CopyRules(sizing=Sizing(multiplier=2)), inputs(brokers), trade)
    fixed = preview(CopyRules(sizing=Sizing(mode=SizingMode.FIXED_LOT, lots=0.05)), inputs(brokers), trade)
    assert (double.volume, fixed.volume) == (2.0, 0.05)
    assert "buy 2.00 EURUSD.m" in double.text and "buy 0.05 EURUSD.m" in fixed.text


def test_balance_ratio_compares_balances_in_one_currency(brokers):
    # 10,000 EUR at the slave is about 10,812 USD beside the master's 25,000 USD: 0.43 of a lot.
    shown = preview(CopyRules(sizing=Sizing(mode=SizingMode.BALANCE_RATIO)), inputs(brokers), eurusd(brokers))
    eur_usd = brokers["harbor"].symbols["EURUSD.m"]
    expected = int(10_000 * (eur_usd.bid + eur_usd.ask) / 2 / 25_000 * 100) / 100
    assert shown.copied and shown.volume == expected == 0.43


def test_a_symbol_the_slave_does_not_have_is_named_with_its_closest(brokers):
    trade = sample_trade("XAGUSD", brokers["master"])  # Harbor FX lists no silver
    shown = preview(CopyRules(), inputs(brokers), trade)
    assert not shown.copied and shown.slave_symbol is None
    assert shown.text.startswith("master buy 1.00 XAGUSD → this slave: not copied, no symbol matches XAGUSD "
                                 "at Harbor FX Europe AG")


def test_an_alias_to_a_symbol_the_slave_lacks_says_so(brokers):
    rules = CopyRules(symbols=SymbolMapping(aliases={"EURUSD": "EURUSD.pro"}))
    shown = preview(rules, inputs(brokers), eurusd(brokers))
    assert not shown.copied
    assert "the alias EURUSD=EURUSD.pro names no symbol at this broker" in shown.text


def test_a_volume_that_rounds_below_the_minimum_says_so(brokers):
    # Apex's lots step by 0.1 from 0.1: a 0.05 copy rounds down to nothing.
    shown = preview(CopyRules(sizing=Sizing(multiplier=0.05)), inputs(brokers, "apex"), eurusd(brokers))
    assert not shown.copied
    assert shown.text == ("master buy 1.00 EURUSD → this slave: not copied, volume 0.05 is below the minimum 0.1 "
                          "for EURUSD.raw at Apex Funded Traders LLC")


def test_a_minimum_lot_raises_the_copy_and_the_note_says_so(brokers):
    shown = preview(CopyRules(sizing=Sizing(multiplier=0.05, min_lot=0.2)), inputs(brokers, "apex"), eurusd(brokers))
    assert shown.copied and shown.volume == 0.2
    assert shown.note == "volume 0.05 raised to this slave's min_lot 0.2"


def test_contract_sizes_keep_the_exposure(brokers):
    # One lot of US30 at 1 per point is a tenth of a lot of US30.m at 10 per point.
    trade = sample_trade("US30", brokers["master"])
    shown = preview(CopyRules(), inputs(brokers), trade)
    assert shown.copied and (shown.slave_symbol, shown.volume) == ("US30.m", 0.1)
    assert " buy 0.10 US30.m, SL " in shown.text


def test_filters_and_reversal_are_applied(brokers):
    trade = eurusd(brokers)
    excluded = preview(CopyRules(filters=Filters(exclude_symbols=["EURUSD"])), inputs(brokers), trade)
    assert excluded.text.endswith("not copied, EURUSD is in filters.exclude_symbols")
    reversed_ = preview(CopyRules(filters=Filters(reverse=True)), inputs(brokers), trade)
    # Reversed, the master's stop is the copy's target.
    assert reversed_.copied and f"this slave sell 1.00 EURUSD.m, TP {trade.sl:.5f}" in reversed_.text


def test_fixed_offset_stops_are_set_from_the_entry(brokers):
    rules = CopyRules(stops=Stops(mode=StopsMode.FIXED_OFFSET, sl_points=200, tp_points=400))
    trade = eurusd(brokers)
    shown = preview(rules, inputs(brokers), trade)
    assert (shown.sl, shown.tp) == (round(trade.price - 0.002, 5), round(trade.price + 0.004, 5))
    none = preview(CopyRules(stops=Stops(mode=StopsMode.NONE)), inputs(brokers), trade)
    assert none.text.endswith("EURUSD.m, no stops")


def test_the_tolerance_that_applies_is_described(brokers):
    shown = preview(CopyRules(), inputs(brokers, "apex"), eurusd(brokers))
    assert shown.tolerance == ("price within default 2 pip maximum for fx (20 points); "
                               "filled at most 10 s after the master")
    # Harbor FX spreads EURUSD.m 13 points wide, so the default widens to two of its spreads.
    wide = preview(CopyRules(), inputs(brokers), eurusd(brokers))
    assert wide.tolerance.startswith("price within default maximum of 2 current spreads for fx (26 points)")
    rules = CopyRules(tolerances=Tolerances(per_symbol={"EURUSD": SymbolTolerance(
        max_price_deviation=DeviationLimit(value=5, unit="bp"), max_delay_ms=1500)}))
    own = preview(rules, inputs(brokers), eurusd(brokers))
    assert own.tolerance.startswith("price within 5 bp maximum for EURUSD (")
    assert own.tolerance.endswith("; filled at most 1.5 s after the master")


def test_pips_on_a_coin_are_a_problem_named_by_its_setting(brokers):
    rules = CopyRules(tolerances=Tolerances(max_price_deviation=DeviationLimit(value=2, unit="pip")))
    shown = preview(rules, inputs(brokers), sample_trade("BTCUSD", brokers["master"]))
    assert shown.copied
    assert shown.problem.startswith("tolerances.max_price_deviation: pips apply to currency pairs only")


def test_ratios_wait_for_the_accounts_and_nothing_shows_without_the_slaves_symbols(brokers):
    unconnected = PreviewInputs(brokers["master"], PreviewAccount(brokers["harbor"].symbols))
    shown = preview(CopyRules(sizing=Sizing(mode=SizingMode.EQUITY_RATIO)), unconnected, eurusd(brokers))
    assert not shown.copied and "needs this slave's balance" in shown.text
    # A multiplier needs no figures, so the map and the lots show already.
    assert preview(CopyRules(), unconnected, eurusd(brokers)).copied
    empty = preview(CopyRules(), PreviewInputs(brokers["master"]), eurusd(brokers))
    assert empty.text == "master buy 1.00 EURUSD → this slave: connect this slave to see what it would copy"


def test_the_sample_is_the_masters_open_position_when_it_holds_one(brokers):
    held = Position(41, 41, "XAUUSD", Side.SELL, 0.3, 2650.0, 2660.0, 2600.0, 0, "", 0)
    sample = default_sample(inputs(brokers, positions=[held]))
    assert (sample.symbol, sample.side, sample.volume, sample.sl, sample.tp) == ("XAUUSD", Side.SELL, 0.3, 2660.0, 2600.0)
    shown = preview(CopyRules(), inputs(brokers, positions=[held]), sample)
    assert shown.text == "master sell 0.30 XAUUSD → this slave sell 0.30 GOLD.m, SL 2660.00, TP 2600.00"
    assert default_sample(inputs(brokers)).symbol == "EURUSD"
    assert default_sample(PreviewInputs()) is None


def test_the_symbol_map_lists_each_master_symbol_with_its_slave_name(brokers):
    rules = CopyRules(symbols=SymbolMapping(aliases={"US500": "SPX500.m"},
                                            per_symbol={"BTCUSD": SymbolRule(volume_multiplier=0.5),
                                                        "ETHUSD": SymbolRule(enabled=False)}),
                      filters=Filters(exclude_symbols=["GBPUSD"]))
    rows = {r.master: r for r in symbol_rows(rules, inputs(brokers))}
    assert set(brokers["master"].symbols) <= set(rows)
    assert (rows["EURUSD"].slave, rows["EURUSD"].how, rows["EURUSD"].copied) == ("EURUSD.m", "affix", True)
    assert (rows["XAUUSD"].slave, rows["XAUUSD"].how) == ("GOLD.m", "known alias")
    assert (rows["US500"].slave, rows["US500"].how, rows["US500"].alias) == ("SPX500.m", "alias", "SPX500.m")
    assert rows["XAGUSD"].slave is None and rows["XAGUSD"].how == "no symbol matches XAGUSD"
    assert not rows["GBPUSD"].copied and rows["GBPUSD"].why_not == "GBPUSD is in filters.exclude_symbols"
    assert not rows["ETHUSD"].copied and "copying ETHUSD is off" in rows["ETHUSD"].why_not
    assert rows["BTCUSD"].volume_multiplier == 0.5


def test_the_map_of_a_long_symbol_list_can_leave_the_closest_names_for_later(brokers):
    rows = symbol_rows(CopyRules(), inputs(brokers), closest=False)
    silver = next(r for r in rows if r.master == "XAGUSD")
    assert (silver.slave, silver.how, silver.candidates) == (None, "no symbol matches XAGUSD", ())
    assert [(r.master, r.slave, r.how) for r in rows] == [(r.master, r.slave, r.how) for r in symbol_rows(
        CopyRules(), inputs(brokers))]
