"""The risk gate's calendar rules under a prop-firm profile: news blackouts (refused, warned or
flattened per symbol, a copy held into a window journaled once), the weekend (a flatten that lifts by
itself at the reopen), and the consistency rule's best day, kept per day in the risk store."""

from __future__ import annotations

import datetime as dt
import sqlite3
from zoneinfo import ZoneInfo

from copier_gui.clock import VirtualClock
from copier_gui.core.model import AccountState, Execution, Position, Side, SymbolSpec, TradeMode
from copier_gui.core.planner import DesiredPosition
from copier_gui.core.prop_news import NewsEvent
from copier_gui.core.prop_rules import NewsImpact
from copier_gui.core.reconciler import OpenStep
from copier_gui.core.risk import RiskGate, TradingState
from copier_gui.core.riskstore import SCHEMA_VERSION, RiskStore
from copier_gui.core.rules import LimitAction, PropRules, Risk

NY = ZoneInfo("America/New_York")
NFP = dt.datetime(2026, 12, 4, 13, 30, tzinfo=dt.UTC).timestamp()  # a Friday, 08:30 in New York
MIN = 60.0


def spec(name: str, base: str, profit: str) -> SymbolSpec:
    return SymbolSpec(name=name, description="", digits=5, point=1e-5, contract_size=100_000.0, volume_min=0.01,
                      volume_step=0.01, volume_max=100.0, stops_level=0, freeze_level=0, fillings=frozenset(),
                      execution=Execution.MARKET, trade_mode=TradeMode.FULL, currency_base=base,
                      currency_profit=profit, tick_size=1e-5, tick_value=1.0)


SPECS = {"EURUSD.m": spec("EURUSD.m", "EUR", "USD"), "EURGBP": spec("EURGBP", "EUR", "GBP")}
EVENTS = (NewsEvent(NFP, "Non-Farm Payrolls", frozenset({"USD"}), NewsImpact.HIGH),
          NewsEvent(NFP + 3600, "Bank speech", frozenset({"GBP"}), NewsImpact.LOW))


def account(balance: float, equity: float | None = None) -> AccountState:
    equity = balance if equity is None else equity
    return AccountState(1, "Sim-Server", "Sim Broker", "t", "USD", balance, equity, 0.0, equity, 100, True, True)


def prop(**rules) -> Risk:
    return Risk(prop=PropRules.model_validate({"reset": "17:00 America/New_York", **rules}))


def news(action: str = "stop_entries", before: float = 2, after: float = 3) -> Risk:
    return prop(news={"calendar": "news.csv", "before_min": before, "after_min": after, "action": action})


def entry(symbol: str, ticket: int = 1) -> OpenStep:
    return OpenStep(DesiredPosition(ticket, symbol, Side.BUY, 0.1, 0.1, 0.0, 0.0, 1.1, 0, 0.1), 0.1)


def held(symbol: str, ticket: int = 7) -> Position:
    return Position(ticket, ticket, symbol, Side.BUY, 0.1, 1.1, 0.0, 0.0, 0, "copy", 0)


def gate(risk: Risk, clock: VirtualClock, store: RiskStore | None = None, events=EVENTS) -> RiskGate:
    return RiskGate.open(risk, store or RiskStore(None), "s1", now=clock.time, news=events)


def test_an_entry_on_an_instrument_the_event_moves_is_refused_inside_its_window_only():
    clock = VirtualClock(NFP - 2 * MIN - 1)
    g = gate(news(), clock)
    steps = [entry("EURUSD.m", 1), entry("EURGBP", 2)]
    assert g.screen(steps, (), SPECS)[1] == []
    clock.advance(1)
    allowed, refused, _ = g.screen(steps, (), SPECS)
    assert allowed == [steps[1]] and len(refused) == 1
    (step, why, rule) = refused[0]
    assert step is steps[0] and rule == "prop.news"
    assert "Non-Farm Payrolls" in why and "2026-12-04 13:30 UTC" in why and "13:28-13:33 UTC" in why
    assert g.state is TradingState.ACTIVE, "a news window stops entries on its instruments only"
    clock.advance(5 * MIN)
    assert g.screen(steps, (), SPECS)[0] == steps


def test_warn_lets_the_entry_go_with_a_warning():
    clock = VirtualClock(NFP)
    allowed, refused, warnings = gate(news("warn"), clock).screen([entry("EURUSD.m")], (), SPECS)
    assert len(allowed) == 1 and refused == [] and warnings[0].limit == "prop.news"
    assert warnings[0].action is LimitAction.WARN


def test_a_copy_held_into_a_window_is_journaled_once_per_window():
    clock = VirtualClock(NFP - 10 * MIN)
    g = gate(news("stop_entries"), clock)
    g.screen([], (held("EURUSD.m"), held("EURGBP", 8)), SPECS)
    assert g.update(account(10_000), 0) == []
    clock.advance(9 * MIN)
    (note,) = g.update(account(10_000), 0)
    assert note.limit == "prop.news" and note.action is LimitAction.WARN
    assert "EURUSD.m" in note.text and "#7" in note.text and "EURGBP" not in note.text
    assert "stop loss or take profit" in note.text
    clock.advance(MIN)
    assert g.update(account(10_000), 0) == []


def test_flatten_names_the_symbols_to_close_from_before_the_event_and_refuses_entries_on_them():
    clock = VirtualClock(NFP - 4 * MIN)
    g = gate(news("flatten"), clock)
    g.screen([], (held("EURUSD.m"),), SPECS)
    assert g.flatten_symbols() == frozenset() and not g.flatten
    # A minute before the window opens (two before the event), so the close is not inside it.
    clock.advance(MIN)
    assert g.flatten_symbols() == frozenset({"EURUSD.m"}) and not g.flatten
    (note,) = g.update(account(10_000), 0)
    assert note.action is LimitAction.FLATTEN and "EURUSD.m" in note.text
    assert note.text.endswith("before the window opens (prop.news, action flatten)"), note.text
    clock.advance(MIN)
    allowed, refused, _ = g.screen([entry("EURUSD.m"), entry("EURGBP", 2)], (), SPECS)
    assert [s.desired.symbol for s in allowed] == ["EURGBP"] and refused[0][2] == "prop.news"
    clock.advance(10 * MIN)
    assert g.flatten_symbols() == frozenset()


def test_news_windows_lists_the_events_that_matter_and_events_can_be_handed_over_later():
    clock = VirtualClock(NFP - 3600)
    g = gate(news(), clock, events=())
    assert g.news_windows(clock.time(), 86400) == []
    g.set_news(EVENTS)
    (window,) = g.news_windows(clock.time(), 86400)  # the low-impact speech does not count
    assert window.event.title == "Non-Farm Payrolls" and window.start == NFP - 2 * MIN
    assert g.with_risk(news(before=5)).news_windows(clock.time(), 86400)[0].start == NFP - 5 * MIN


WEEKEND = {"close": "Fri 16:45 America/New_York", "reopen": "Sun 17:05 America/New_York"}


def test_a_weekend_flatten_closes_everything_and_lifts_by_itself_at_the_reopen(tmp_path):
    clock = VirtualClock(dt.datetime(2026, 12, 4, 16, 44, tzinfo=NY).timestamp())
    store = RiskStore(tmp_path / "risk.sqlite3")
    g = gate(prop(weekend={**WEEKEND, "action": "flatten"}), clock, store)
    assert g.update(account(10_000), 0) == [] and g.state is TradingState.ACTIVE
    clock.advance(MIN)
    (breach,) = g.update(account(10_000), 0)
    assert breach.limit == "prop.weekend" and breach.action is LimitAction.FLATTEN
    assert "Fri 16:45 America/New_York" in breach.text and "Sun 17:05 America/New_York" in breach.text
    assert g.flatten and g.state is TradingState.HALTED and "weekend" in g.reason
    assert store.load("s1").halt is None, "the weekend is not a latched halt"
    assert g.update(account(10_000), 0) == []
    clock.advance(dt.datetime(2026, 12, 6, 17, 5, tzinfo=NY).timestamp() - clock.time())
    notes = g.update(account(10_000), 0)
    assert not g.flatten and g.state is TradingState.ACTIVE, "no reset needed"
    assert [n.limit for n in notes] == ["prop.weekend"] and "reopen" in notes[0].text


def test_weekend_stop_entries_reduces_and_warn_journals_once_if_positions_are_held():
    clock = VirtualClock(dt.datetime(2026, 12, 4, 17, 0, tzinfo=NY).timestamp())
    g = gate(prop(weekend={**WEEKEND, "action": "stop_entries"}), clock)
    g.update(account(10_000), 0)
    assert g.state is TradingState.REDUCING and not g.flatten
    w = gate(prop(weekend={**WEEKEND, "action": "warn"}), clock)
    assert w.update(account(10_000), 0) == [], "nothing held: nothing to say"
    w.screen([], (held("EURUSD.m"),), SPECS)
    (note,) = w.update(account(10_000), 0)
    assert note.action is LimitAction.WARN and "held" in note.text and w.state is TradingState.ACTIVE
    clock.advance(3600)
    assert w.update(account(10_000), 0) == []


def day_at(y: int, m: int, d: int, hh: int = 12) -> float:
    return dt.datetime(y, m, d, hh, tzinfo=NY).timestamp()


def test_the_consistency_rule_warns_once_a_day_when_the_best_day_exceeds_its_share(tmp_path):
    clock = VirtualClock(day_at(2026, 11, 30))
    store = RiskStore(tmp_path / "risk.sqlite3")
    g = gate(prop(consistency={"best_day_percent": 50}), clock, store)
    g.update(account(10_000), 0)
    g.update(account(10_100), 0)  # Monday: +100
    clock.advance(86400)
    g.update(account(10_100), 0)
    g.update(account(10_200), 0)  # Tuesday: +100, the best day 50% of 200: not above
    assert g.room_left().best_day_share == 50.0 and g.room_left().best_day_limit == 50
    clock.advance(86400)
    g.update(account(10_200), 0)
    (warning,) = g.update(account(10_500), 0)  # Wednesday: +300 of 500: 60%
    assert warning.limit == "prop.consistency" and warning.action is LimitAction.WARN
    assert "60.0%" in warning.text and "50%" in warning.text and g.state is TradingState.ACTIVE
    assert g.update(account(10_600), 0) == [], "once a day at most"
    store.close()
    again = RiskStore(tmp_path / "risk.sqlite3")
    assert sorted(profit for _, profit in again.load("s1").day_profits) == [100.0, 100.0, 400.0]
    restarted = gate(prop(consistency={"best_day_percent": 50}), clock, again)
    restarted.update(account(10_600), 0)
    assert round(restarted.room_left().best_day_share, 1) == 66.7


def test_a_second_version_store_is_migrated_and_keeps_its_rows(tmp_path):
    path = tmp_path / "risk.sqlite3"
    store = RiskStore(path)
    store.save_figures("s1", 20417, 10_000, 10_050, 10_100, track=(10_000, 10_100, False))
    store.add_deal_day("s1", 20417)
    store.close()
    conn = sqlite3.connect(path)
    conn.executescript("DROP TABLE risk_day_profit; DROP TABLE risk_cash; DELETE FROM schema_version; "
                       "INSERT INTO schema_version VALUES (2);")
    conn.commit()
    conn.close()
    store = RiskStore(path)
    record = store.load("s1")
    assert (record.day, record.prop_high, record.deal_days, record.day_profits) == (20417, 10_100, {20417}, ())
    store.save_day_profit("s1", 20417, 250.0)
    store.close()
    assert RiskStore(path).load("s1").day_profits == ((20417, 250.0),)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION == 4
    conn.close()
