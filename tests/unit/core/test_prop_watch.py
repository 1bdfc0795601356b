"""The gate's calendar memory: the weekend answer it keeps between passes is the one computed afresh;
news flattens ahead of a window, and a position that closes inside one is said once."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from copier_gui.core.model import Execution, Position, Side, SymbolSpec, TradeMode
from copier_gui.core.prop_news import NewsEvent
from copier_gui.core.prop_rules import NewsBlackout, NewsImpact, WeekendRule
from copier_gui.core.prop_watch import FLATTEN_LEAD_S, PropWatch
from copier_gui.core.prop_week import weekend_window
from copier_gui.core.rule_types import LimitAction

START = dt.datetime(2026, 10, 20, tzinfo=dt.UTC).timestamp()  # the weeks around the autumn changes


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(st.floats(0, 3 * 86400), min_size=1, max_size=60),
       close=st.sampled_from(["Fri 16:45 America/New_York", "Fri 23:00 Europe/Prague", "Sat 01:30 Australia/Sydney"]),
       reopen=st.sampled_from(["Sun 17:05 America/New_York", "Mon 00:00 Asia/Tokyo", "Sun 01:30 Europe/London"]))
def test_the_kept_answer_is_the_fresh_one_at_every_pass(steps, close, reopen):
    rule = WeekendRule.model_validate({"close": close, "reopen": reopen, "action": "stop_entries"})
    watch, now = PropWatch(), START
    for step in steps:
        now += step
        breach, _ = watch.weekend(rule, now)
        assert (breach is not None) == (weekend_window(now, rule.close, rule.reopen) is not None)


# ------------------------------------------------------------------------------------ news

NFP = dt.datetime(2026, 12, 4, 13, 30, tzinfo=dt.UTC).timestamp()


def _news_watch(action: str) -> tuple[PropWatch, NewsBlackout]:
    watch = PropWatch(news=(NewsEvent(NFP, "Non-Farm Payrolls", frozenset({"USD"}), NewsImpact.HIGH),))
    watch.look([_position(1, "EURUSD"), _position(2, "EURJPY")], {"EURUSD": spec("EURUSD", "EUR", "USD"),
                                                                  "EURJPY": spec("EURJPY", "EUR", "JPY")})
    return watch, NewsBlackout.model_validate({"calendar": "n.csv", "before_min": 2, "after_min": 2,
                                               "action": action})


def spec(name: str, base: str, profit: str) -> SymbolSpec:
    return SymbolSpec(name=name, description="", digits=5, point=1e-5, contract_size=1.0, volume_min=0.01,
                      volume_step=0.01, volume_max=100.0, stops_level=0, freeze_level=0, fillings=frozenset(),
                      execution=Execution.MARKET, trade_mode=TradeMode.FULL, currency_base=base,
                      currency_profit=profit, tick_size=1e-5, tick_value=1.0)


def _position(ticket: int, symbol: str) -> Position:
    return Position(ticket, ticket, symbol, Side.BUY, 0.1, 1.1, 0.0, 1.2, 7, "", 0)


def test_flatten_closes_ahead_of_the_window_so_the_close_is_not_inside_it():
    watch, rule = _news_watch("flatten")
    opens = NFP - 120
    assert watch.flatten_symbols(rule, opens - FLATTEN_LEAD_S - 1) == frozenset()
    assert watch.flatten_symbols(rule, opens - FLATTEN_LEAD_S) == {"EURUSD"}
    (note,) = watch.news_notes(rule, opens - FLATTEN_LEAD_S)
    assert "closing EURUSD #1" in note.text and "before the window opens" in note.text
    assert watch.flatten_symbols(rule, NFP + 119) == {"EURUSD"}
    assert watch.flatten_symbols(rule, NFP + 120) == frozenset()


def test_a_copy_closed_at_the_slave_inside_a_window_is_journaled_as_the_firm_counts_it():
    watch, rule = _news_watch("stop_entries")
    specs = dict(watch.specs)
    (held,) = watch.news_notes(rule, NFP - 60)
    assert "held into the window: EURUSD #1" in held.text
    # A take profit fills: the position is gone at the next look, inside the window.
    watch.look([_position(2, "EURJPY")], specs)
    (closed,) = watch.news_notes(rule, NFP + 5)
    assert closed.action is LimitAction.WARN
    assert "EURUSD #1 closed inside the window" in closed.text and "counts" in closed.text
    assert watch.news_notes(rule, NFP + 6) == []
    # A position gone on an instrument the event does not move, or outside any window, says nothing.
    watch.look([], specs)
    assert watch.news_notes(rule, NFP + 7) == []
    watch.look([_position(3, "EURUSD")], specs)
    watch.look([], specs)
    assert watch.news_notes(rule, NFP + 600) == []
