"""Scenarios: a running copier over simulated brokers under a prop profile's calendar rules. The
weekend flattens every copy and lifts by itself at the reopen; a news window refuses the entries on
the instruments its event moves, naming the event."""

from __future__ import annotations

import asyncio
import datetime as dt

from copier_gui.core.prop_news import NewsEvent
from copier_gui.core.prop_rules import NewsImpact
from copier_gui.core.risk import TradingState
from copier_gui.core.rules import CopyRules
from tests.kit import WEEKDAY_NOON_UTC
from tests.kit.rig import Rig

# The rig's clock starts on Wednesday 25 November 2026 at 12:00 UTC; a "weekend" from 12:01 to 12:03
# that day keeps the scenario short and runs the same code as Friday to Sunday.
WEEKEND = {"close": "Wed 12:01 UTC", "reopen": "Wed 12:03 UTC", "action": "flatten"}


def _rules(**prop) -> CopyRules:
    return CopyRules.model_validate({"risk": {"prop": {"reset": "17:00 America/New_York", **prop}}})


def test_the_weekend_flattens_every_copy_and_lifts_by_itself_at_the_reopen():
    rig = Rig(slaves=("harbor_fx",), rules=_rules(weekend=WEEKEND))

    async def script():
        copier = rig.copier()
        await copier.start()
        rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(5)
        before = [p.symbol for p in rig.held("s0")]
        await asyncio.sleep(WEEKDAY_NOON_UTC + 65 - rig.clock.time())
        gate = copier.slaves["s0"].risk_gate
        inside = ([p.symbol for p in rig.held("s0")], gate.state, gate.halt)
        await asyncio.sleep(WEEKDAY_NOON_UTC + 185 - rig.clock.time())
        after = gate.state
        await copier.stop()
        return before, inside, after

    before, (held, state, halt), after = rig.run(script)
    assert before == ["EURUSD.m"]
    assert held == [] and state is TradingState.HALTED and halt is None, "flattened, but not a latched halt"
    assert after is TradingState.ACTIVE, "the reopen lifts it with no reset"
    texts = [e.message for e in rig.journal.entries(account="s0")]
    assert any("prop.weekend, action flatten" in t and "Wed 12:01 UTC" in t for t in texts), texts
    assert any("weekend over" in t for t in texts) and any("halted -> active" in t for t in texts), texts
    assert not any("risk: risk:" in t for t in texts), "a gate's reason already says risk: once"


def test_a_news_window_refuses_the_entries_its_event_moves_naming_the_event():
    rig = Rig(slaves=("harbor_fx",), rules=_rules(news={"calendar": "news.csv", "before_min": 2, "after_min": 2}))
    nfp = NewsEvent(WEEKDAY_NOON_UTC + 120, "Non-Farm Payrolls", frozenset({"USD"}), NewsImpact.HIGH)

    async def script():
        copier = rig.copier()
        await copier.start()
        copier.slaves["s0"].risk_gate.set_news([nfp])  # what the runtime hands over from the calendar file
        rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(5)
        held = [p.symbol for p in rig.held("s0")]
        await copier.stop()
        return held

    assert rig.run(script) == []
    (refusal,) = [e.message for e in rig.journal.entries(kind="refusal", account="s0")]
    stamp = dt.datetime.fromtimestamp(nfp.at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    assert "Non-Farm Payrolls" in refusal and stamp in refusal and "prop.news" in refusal, refusal
