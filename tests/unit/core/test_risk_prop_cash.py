"""A property of the risk gate under a prop profile: on any path of trading results and balance
operations (deposits, withdrawals) over several firm days, the daily loss's breaches are exactly those
an oracle finds on the trading P&L alone, as the firms measure it."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from copier_gui.clock import VirtualClock
from copier_gui.core.model import AccountState, CashFlow
from copier_gui.core.prop_limits import DAILY_LOSS
from copier_gui.core.risk import RiskGate
from copier_gui.core.rules import PropRules, Risk

# Wednesday 25 November 2026, 12:00 UTC; the firm's day turns at 17:00 New York (22:00 UTC).
NOON = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC).timestamp()
HOUR = 3600.0
START = 10_000.0
LIMIT = 400.0


def _account(balance: float, equity: float) -> AccountState:
    return AccountState(1, "Sim-Server", "Sim Broker", "t", "USD", balance, equity, 0.0, equity, 100, True, True)


# One step: hours passed, then a trade's realized result, the open positions' result now, or cash moved
# in or out by the back office. Money in whole cents, as a broker books it.
_cents = st.integers(-60_000, 60_000).map(lambda c: c / 100)
_step = st.tuples(st.sampled_from([0.0, 0.0, 1.0, 6.0]),
                  st.one_of(st.tuples(st.just("realized"), _cents), st.tuples(st.just("open"), _cents),
                            st.tuples(st.just("cash"), st.integers(-300_000, 300_000).map(lambda c: c / 100))))


def _oracle(path: list[tuple[float, float]], days: list[int]) -> list[int]:
    """The steps at which the daily loss is newly breached, from the trading P&L alone: each day's
    baseline is the trading balance at its first reading; the loss is that less the trading equity."""
    found, baseline, day, was = [], 0.0, None, False
    for i, ((balance, equity), d) in enumerate(zip(path, days, strict=True)):
        if d != day:
            day, baseline, was = d, balance, False
        now = baseline - equity >= LIMIT
        if now and not was:
            found.append(i)
        was = now
    return found


@settings(max_examples=150, deadline=None)
@given(st.lists(_step, min_size=1, max_size=30))
def test_daily_loss_breaches_equal_those_of_the_trading_pnl_alone(steps):
    clock = VirtualClock(NOON)
    risk = Risk(prop=PropRules.model_validate({"reset": "17:00 America/New_York",
                                               "daily_loss": {"amount": LIMIT, "baseline": "balance",
                                                              "action": "warn"}}))
    gate = RiskGate(risk, now=clock.time)
    flows = [CashFlow(1, START, "opening")]
    realized = open_pnl = cash = 0.0
    gate.note_cash(flows, "USD")
    gate.update(_account(START, START), 0)
    trading: list[tuple[float, float]] = [(START, START)]
    days = [gate.day]
    seen: list[int] = []
    for i, (hours, (kind, amount)) in enumerate(steps, start=1):
        clock.advance(hours * HOUR)
        if kind == "realized":
            realized += amount
        elif kind == "open":
            open_pnl = amount
        else:
            cash += amount
            flows.append(CashFlow(len(flows) + 1, amount))
        gate.note_cash(flows, "USD")
        balance = START + realized
        new = gate.update(_account(balance + cash, balance + open_pnl + cash), 0)
        if any(b.limit == DAILY_LOSS for b in new):
            seen.append(i)
        trading.append((balance, balance + open_pnl))
        days.append(gate.day)
    assert seen == _oracle(trading, days)
