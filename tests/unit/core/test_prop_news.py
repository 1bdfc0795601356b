"""News blackouts as data: the window around each event, the instruments it moves, and a property
test of the calendar's windows against an oracle that scans every event."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from copier_gui.core.model import Execution, SymbolSpec, TradeMode
from copier_gui.core.prop_news import Calendar, NewsEvent, describe, moves, symbols_moved
from copier_gui.core.prop_rules import NewsBlackout, NewsImpact

NFP = dt.datetime(2026, 12, 4, 13, 30, tzinfo=dt.UTC).timestamp()
MIN = 60.0


def spec(name: str, base: str, profit: str) -> SymbolSpec:
    return SymbolSpec(name=name, description="", digits=5, point=1e-5, contract_size=1.0, volume_min=0.01,
                      volume_step=0.01, volume_max=100.0, stops_level=0, freeze_level=0, fillings=frozenset(),
                      execution=Execution.MARKET, trade_mode=TradeMode.FULL, currency_base=base,
                      currency_profit=profit, tick_size=1e-5, tick_value=1.0)


def event(at: float = NFP, title: str = "Non-Farm Payrolls", ccys: str = "USD",
          impact: NewsImpact = NewsImpact.HIGH) -> NewsEvent:
    return NewsEvent(at, title, frozenset(ccys.split()), impact)


def rule(**kw) -> NewsBlackout:
    return NewsBlackout.model_validate({"calendar": "news.csv", **kw})


def test_an_event_moves_the_symbols_with_its_currency_as_base_or_profit_currency():
    nfp = event()
    assert moves(nfp, spec("EURUSD.m", "EUR", "USD")) and moves(nfp, spec("USDJPY", "USD", "JPY"))
    assert not moves(nfp, spec("EURGBP", "EUR", "GBP"))
    specs = {"EURUSD.m": spec("EURUSD.m", "EUR", "USD"), "EURGBP": spec("EURGBP", "EUR", "GBP")}
    assert set(symbols_moved(Calendar([nfp], rule()).open_at(NFP), specs)) == {"EURUSD.m"}


def test_the_window_runs_from_before_to_after_the_event_end_excluded():
    cal = Calendar([event()], rule(before_min=5, after_min=10))
    assert cal.open_at(NFP - 5 * MIN - 1) == []
    assert [w.event.title for w in cal.open_at(NFP - 5 * MIN)] == ["Non-Farm Payrolls"]
    assert cal.open_at(NFP + 10 * MIN - 0.001) and cal.open_at(NFP + 10 * MIN) == []


def test_only_the_rules_impacts_count():
    cal = Calendar([event(impact=NewsImpact.MEDIUM), event(title="CPI", impact=NewsImpact.HIGH)], rule())
    assert [w.event.title for w in cal.open_at(NFP)] == ["CPI"]
    both = Calendar([event(impact=NewsImpact.MEDIUM)], rule(impacts=["medium", "high"]))
    assert len(both.open_at(NFP)) == 1


def test_the_text_names_the_event_its_time_and_its_window():
    (window,) = Calendar([event()], rule(before_min=2, after_min=3)).open_at(NFP)
    text = describe(window)
    assert "Non-Farm Payrolls" in text and "2026-12-04 13:30 UTC" in text and "13:28-13:33 UTC" in text


def test_upcoming_lists_the_open_and_the_next_windows_soonest_first():
    cal = Calendar([event(NFP + 3600, "CPI"), event(), event(NFP + 86400, "GDP")], rule())
    assert [w.event.title for w in cal.upcoming(NFP - 3600, 7200)] == ["Non-Farm Payrolls", "CPI"]
    assert [w.event.title for w in cal.upcoming(NFP + 60, 3600)] == ["Non-Farm Payrolls", "CPI"]


ZONES = ("UTC", "America/New_York", "Europe/Prague", "Australia/Sydney", "Asia/Kolkata", "Pacific/Chatham")


@st.composite
def local_events(draw) -> NewsEvent:
    # An event written in a zone's local time, as a calendar exported for that zone shows it.
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    wall = draw(st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31)))
    at = wall.replace(second=0, microsecond=0, tzinfo=zone).timestamp()
    impact = draw(st.sampled_from(list(NewsImpact)))
    return NewsEvent(at, f"e{draw(st.integers(0, 999))}", frozenset({"USD"}), impact)


@settings(max_examples=300, deadline=None)
@given(events=st.lists(local_events(), max_size=12),
       before=st.integers(0, 240), after=st.integers(0, 240),
       impacts=st.sets(st.sampled_from(list(NewsImpact)), min_size=1),
       probe=st.one_of(st.integers(-600, 600), st.integers(-10**6, 10**6)),
       pick=st.integers(0, 11), horizon=st.integers(0, 10**5))
def test_the_windows_are_exactly_what_a_scan_of_every_event_says(events, before, after, impacts, probe, pick,
                                                                 horizon):
    cal = Calendar(events, rule(before_min=before, after_min=after, impacts=sorted(impacts)))
    # Probe near an event's edges as often as anywhere.
    now = (events[pick % len(events)].at if events else 1.8e9) + probe

    def oracle_open(t: float) -> list[NewsEvent]:
        return sorted((e for e in events if e.impact in impacts and e.at - before * 60 <= t < e.at + after * 60),
                      key=lambda e: (e.at, e.title))

    assert [w.event for w in cal.open_at(now)] == oracle_open(now)
    soon = sorted((e for e in events if e.impact in impacts and e.at + after * 60 > now
                   and e.at - before * 60 <= now + horizon), key=lambda e: (e.at, e.title))
    assert [w.event for w in cal.upcoming(now, horizon)] == soon
