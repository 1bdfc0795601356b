"""The prop-firm rules the copier enforces around the risk gate: a stop loss on every copy, added by
the copier or the copy closed, and the trading days counted from the copies' fills."""

from __future__ import annotations

import asyncio

from copier_gui.core.rules import CopyRules
from tests.kit.rig import Rig


def _rules(stop_loss: dict, **prop) -> CopyRules:
    return CopyRules.model_validate({"risk": {"prop": {"reset": "17:00 America/New_York",
                                                       "stop_loss": stop_loss, **prop}}})


def _set_master_sl(rig: Rig, ticket: int, sl: float) -> None:
    result = rig.master.order_send({"action": 6, "position": ticket, "symbol": "EURUSD", "sl": sl, "tp": 0.0})
    assert result.retcode == 10009, result


def test_a_copy_of_a_master_trade_without_a_stop_gets_its_own_and_then_follows_the_master_s():
    rig = Rig(slaves=("harbor_fx",), rules=_rules({"within_s": 30, "distance": {"value": 20, "unit": "pip"}}))

    async def script():
        copier = rig.copier()
        await copier.start()
        ticket = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(1.0)
        (copy,) = rig.held("s0")
        master = rig.master.positions_get(ticket=ticket)[0]
        own = (copy.sl, master.price_open)
        _set_master_sl(rig, ticket, round(master.price_open - 0.0050, 5))
        await asyncio.sleep(2.0)
        (followed,) = rig.held("s0")
        await copier.stop()
        return own, followed.sl, master.price_open

    (own_sl, opened_at), followed_sl, price = rig.run(script)
    assert abs(own_sl - (opened_at - 0.0020)) < 1e-9, (own_sl, opened_at)
    assert abs(followed_sl - (price - 0.0050)) < 1e-9


def test_a_stop_distance_that_cannot_apply_refuses_the_entry_naming_the_rule():
    rig = Rig(slaves=("harbor_fx",), rules=_rules({"within_s": 30, "distance": {"value": 20, "unit": "pip"}}))

    async def script():
        copier = rig.copier()
        await copier.start()
        rig.trade("BTCUSD", 0, 0.1)
        await asyncio.sleep(1.0)
        held = rig.held("s0")
        await copier.stop()
        return held

    assert rig.run(script) == []
    (refusal,) = [e.message for e in rig.journal.entries(kind="refusal", account="s0")]
    assert "risk.prop.stop_loss" in refusal and "pips apply to currency pairs only" in refusal, refusal


def test_a_copy_still_without_a_stop_after_the_firm_s_seconds_is_closed_and_not_copied_again():
    rig = Rig(slaves=("harbor_fx",), rules=_rules({"within_s": 5, "action": "close"}))

    async def script():
        copier = rig.copier()
        await copier.start()
        ticket = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(2.0)
        before = len(rig.held("s0"))
        await asyncio.sleep(4.0)
        after = len(rig.held("s0"))
        await asyncio.sleep(10.0)
        later = len(rig.held("s0"))
        master_open = bool(rig.master.positions_get(ticket=ticket))
        await copier.stop()
        return before, after, later, master_open

    assert rig.run(script) == (1, 0, 0, True)
    texts = [e.message for e in rig.journal.entries(account="s0")]
    assert any("no stop loss within 5 s" in t for t in texts), texts


def test_a_copy_whose_master_sets_a_stop_in_time_is_kept():
    rig = Rig(slaves=("harbor_fx",), rules=_rules({"within_s": 5, "action": "close"}))

    async def script():
        copier = rig.copier()
        await copier.start()
        ticket = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(2.0)
        master = rig.master.positions_get(ticket=ticket)[0]
        _set_master_sl(rig, ticket, round(master.price_open - 0.0050, 5))
        await asyncio.sleep(10.0)
        held = rig.held("s0")
        await copier.stop()
        return held

    (copy,) = rig.run(script)
    assert copy.sl > 0


def test_a_copy_without_a_stop_is_closed_on_time_even_when_no_periodic_pass_runs():
    rig = Rig(slaves=("harbor_fx",), rules=_rules({"within_s": 3, "action": "close"}))

    async def script():
        copier = rig.copier()
        copier.reconcile_interval_s = 3600.0  # only the look booked for the copy's deadline runs
        await copier.start()
        rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(1.0)
        before = len(rig.held("s0"))
        await asyncio.sleep(3.0)
        after = len(rig.held("s0"))
        await copier.stop()
        return before, after

    assert rig.run(script) == (1, 0)


def test_the_days_a_copy_filled_count_as_trading_days():
    rig = Rig(slaves=("harbor_fx",), rules=CopyRules.model_validate(
        # The rig's clock starts at noon UTC: the firm's day turns a minute later.
        {"risk": {"prop": {"reset": "12:01 UTC", "daily_loss": {"amount": 500}, "min_trading_days": 4}}}))

    async def script():
        copier = rig.copier()
        await copier.start()
        gate = copier.slaves["s0"].risk_gate
        await asyncio.sleep(1.0)
        before = gate.room_left().trading_days
        ticket = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(1.0)
        rig.trade("EURUSD", 1, 0.5, position=ticket)
        await asyncio.sleep(1.0)
        same_day = gate.room_left().trading_days
        await asyncio.sleep(60.0)  # the next trading day
        ticket = rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(1.0)
        next_day = gate.room_left().trading_days
        await copier.stop()
        return before, same_day, next_day

    assert rig.run(script) == (0, 1, 2)


def own_trade(terminal, symbol: str, order_type: int, volume: float) -> int:
    """A slave's trader's own market deal, with a filling mode its broker takes."""
    tick = terminal.symbol_info_tick(symbol)
    for filling in (0, 1, 2):
        result = terminal.order_send({"action": 1, "symbol": symbol, "volume": volume, "type": order_type,
                                      "price": tick.ask if order_type == 0 else tick.bid, "type_filling": filling})
        if result.retcode == 10009:
            return result.order
    raise AssertionError(result)


def _hedging(action: str = "refuse", **rule) -> CopyRules:
    return CopyRules.model_validate({"risk": {"prop": {"reset": "17:00 America/New_York",
                                                       "hedging": {"action": action, **rule}}}})


def test_a_copy_that_would_hedge_another_linked_account_s_own_trade_is_refused_naming_it():
    rig = Rig(rules=_hedging())  # s0 at harbor_fx, s1 at apex_prop: both under the guard

    async def script():
        copier = rig.copier()
        await copier.start()
        copier.set_rules("s1", CopyRules())  # s1 is free to copy
        own = own_trade(rig.slaves["s1"], "EURUSD.raw", 1, 0.3)  # s1's trader sells EURUSD himself
        await asyncio.sleep(1.0)
        rig.trade("EURUSD", 0, 0.5)  # the master buys
        await asyncio.sleep(1.0)
        held = {sid: sorted((p.symbol, "buy" if p.type == 0 else "sell") for p in rig.held(sid)) for sid in rig.slaves}
        await copier.stop()
        return own, held

    own, held = rig.run(script)
    assert held == {"s0": [], "s1": [("EURUSD.raw", "buy")]}
    (refusal,) = [e.message for e in rig.journal.entries(kind="refusal", account="s0")]
    assert refusal.startswith("skipped: risk.prop.hedging: buy 0.5 EURUSD.m would hedge "
                              f"s1's position #{own} (sell 0.3 EURUSD.raw)"), refusal


def _reversed_slave_guarded_against_s0(rig: Rig, *, free_s0: bool) -> None:
    """s1 copies the master reversed under a guard naming s0: its sell would stand against s0's
    buy, sent in the same fan-out, so it is refused as a hedge of an entry on its way."""

    async def script():
        copier = rig.copier()
        await copier.start()
        if free_s0:
            copier.set_rules("s0", CopyRules())
        copier.set_rules("s1", CopyRules.model_validate({
            "filters": {"reverse": True}, "risk": {"prop": {"reset": "17:00 America/New_York",
                                                            "hedging": {"accounts": ["s0"]}}}}))
        rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(1.0)
        held = {sid: ["buy" if p.type == 0 else "sell" for p in rig.held(sid)] for sid in rig.slaves}
        await copier.stop()
        return held

    assert rig.run(script) == {"s0": ["buy"], "s1": []}
    (refusal,) = [e.message for e in rig.journal.entries(kind="refusal", account="s1")]
    assert "would hedge an entry on its way to s0" in refusal, refusal


def test_a_copy_against_another_account_s_copy_still_on_its_way_is_refused():
    _reversed_slave_guarded_against_s0(Rig(rules=_hedging()), free_s0=True)


def test_a_guard_given_by_a_rule_edit_sees_entries_on_their_way_from_then_on():
    """Entries in flight are kept only while some slave has the guard: a copier started with none
    keeps them from the edit that gives one on."""
    _reversed_slave_guarded_against_s0(Rig(), free_s0=False)  # no slave under the guard at the start


def test_a_hedge_under_a_warning_rule_is_opened_and_warned_of_once():
    rig = Rig(rules=_hedging("warn"))

    async def script():
        copier = rig.copier()
        await copier.start()
        copier.set_rules("s1", CopyRules())
        own_trade(rig.slaves["s1"], "EURUSD.raw", 1, 0.3)
        await asyncio.sleep(1.0)
        rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(3.0)  # several passes
        held = ["buy" if p.type == 0 else "sell" for p in rig.held("s0")]
        await copier.stop()
        return held

    assert rig.run(script) == ["buy"]
    warnings = [e.message for e in rig.journal.entries(kind="refusal", account="s0")]
    assert len(warnings) == 1 and warnings[0].startswith("warning: risk.prop.hedging:"), warnings
    assert "opened anyway" in warnings[0]


def _news_rules(calendar: str = "news.csv", action: str = "flatten", **prop) -> CopyRules:
    return CopyRules.model_validate({"risk": {"prop": {
        "reset": "17:00 America/New_York", **prop,
        "news": {"calendar": calendar, "before_min": 2, "after_min": 2, "action": action}}}})


def test_a_news_window_with_flatten_closes_the_copies_its_event_moves_and_only_those():
    from copier_gui.core.prop_news import NewsEvent
    from copier_gui.core.prop_rules import NewsImpact
    from tests.kit import WEEKDAY_NOON_UTC

    ecb = NewsEvent(WEEKDAY_NOON_UTC + 300, "ECB rate decision", frozenset({"EUR"}), NewsImpact.HIGH)
    rig = Rig(slaves=("harbor_fx",), rules=_news_rules())

    async def script():
        copier = rig.copier()
        copier.news_source = lambda prop: ((ecb,), "")  # what the runtime reads from the calendar file
        await copier.start()
        rig.trade("EURUSD", 0, 0.5)
        rig.trade("GBPUSD", 0, 0.5)
        await asyncio.sleep(5)
        before = sorted(p.symbol for p in rig.held("s0"))
        await asyncio.sleep(WEEKDAY_NOON_UTC + 200 - rig.clock.time())  # the window opened at +180 s
        inside = sorted(p.symbol for p in rig.held("s0"))
        await asyncio.sleep(WEEKDAY_NOON_UTC + 500 - rig.clock.time())  # and closed at +420 s
        after = sorted(p.symbol for p in rig.held("s0"))
        await copier.stop()
        return before, inside, after

    before, inside, after = rig.run(script)
    assert before == ["EURUSD.m", "GBPUSD.m"]
    assert inside == ["GBPUSD.m"] and after == ["GBPUSD.m"], "closed for the window and not opened again"
    texts = [e.message for e in rig.journal.entries(kind="refusal", account="s0")]
    assert any("risk.prop.news: a news window is open or opens within a minute on EURUSD.m" in t for t in texts), texts


def test_a_news_calendar_that_cannot_be_read_is_journaled_and_told():
    rig = Rig(slaves=("harbor_fx",), rules=_news_rules(action="stop_entries"))

    async def script():
        copier = rig.copier()
        copier.news_source = lambda prop: ((), f"{prop.news.calendar}: no such file")
        await copier.start()
        await asyncio.sleep(1)
        await copier.stop()

    rig.run(script)
    (entry,) = [e for e in rig.journal.entries(kind="state", account="s0") if "news calendar" in e.message]
    assert entry.message == "s0: the news calendar could not be read: news.csv: no such file"
    assert any(n.kind == "refusal" and "news calendar" in n.text for n in rig.notices)


def test_a_prop_slave_that_has_used_80_percent_of_its_daily_loss_is_told_once():
    # Opening costs the spread at once: 1.85 EUR on 0.5 lots of EURUSD there, over 80% of a 2.20 EUR limit.
    rig = Rig(slaves=("harbor_fx",), rules=CopyRules.model_validate({"risk": {"prop": {
        "reset": "17:00 America/New_York", "daily_loss": {"amount": 2.2, "action": "warn"}}}}))

    async def script():
        copier = rig.copier()
        await copier.start()
        await asyncio.sleep(1)
        rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(5)  # several passes
        await copier.stop()

    rig.run(script)
    near = [n for n in rig.notices if n.state == "near_limit"]
    assert len(near) == 1 and near[0].account == "s0", [n.text for n in near]
    assert any("80%" in e.message or "used" in e.message for e in rig.journal.entries(kind="state", account="s0"))
