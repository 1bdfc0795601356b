"""A gate given the same account reading again skips the work (each master change's pass reads the
reading the periodic pass already took): against a twin gate that reads every time in full, in
random sequences of readings, repeats, cash moves, holds, resets and rule edits, it says and ends up
the same, breach for breach."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from copier_gui.core.model import AccountState, CashFlow
from copier_gui.core.risk import RiskGate
from copier_gui.core.riskstore import RiskStore
from copier_gui.core.rules import Limit, LimitAction, PercentLimit, Risk
from tests.kit import WEEKDAY_NOON_UTC

DAY = int(WEEKDAY_NOON_UTC // 86400)
RISKS = [
    Risk(),
    Risk(daily_loss=Limit(value=100, action=LimitAction.FLATTEN)),
    Risk(daily_loss=Limit(value=150, action=LimitAction.STOP_ENTRIES),
         max_drawdown_percent=PercentLimit(value=3, action=LimitAction.WARN)),
    Risk(equity_floor=Limit(value=9_700, action=LimitAction.STOP_ENTRIES),
         daily_loss_percent=PercentLimit(value=2, action=LimitAction.FLATTEN)),
]


def reading(balance: float, equity: float) -> AccountState:
    return AccountState(1, "Sim-Server", "Sim Broker", "t", "USD", balance, equity, 0.0, equity, 100, True, True)


step = st.one_of(
    st.tuples(st.just("read"), st.integers(9_600, 10_400), st.integers(-300, 300), st.integers(0, 2)),
    st.just(("again",)),
    st.tuples(st.just("cash"), st.integers(-500, 500)),
    st.just(("hold",)),
    st.just(("reset",)),
    st.tuples(st.just("rules"), st.integers(0, len(RISKS) - 1)),
)


def _state(gate: RiskGate) -> tuple:
    return (gate.state, gate.day, gate.day_start_balance, gate.day_start_equity, gate.peak_equity,
            gate.halt and (gate.halt.state, gate.halt.limit, gate.halt.text), sorted(gate.breaches),
            gate.room_left())


@settings(max_examples=300, deadline=None)
@given(first=st.integers(0, len(RISKS) - 1), steps=st.lists(step, max_size=30))
def test_a_repeated_reading_changes_nothing_a_full_read_would_not(first, steps):
    gates = [RiskGate.open(RISKS[first], RiskStore(None), "s1", now=lambda: WEEKDAY_NOON_UTC) for _ in range(2)]
    last = (reading(10_000, 10_000), DAY)
    for gate in gates:
        gate.note_cash([], "USD")  # the account's past: later moves count
        gate.update(*last)
    cash_id = 0
    for action, *args in steps:
        said = []
        for full, gate in enumerate(gates):
            if action in ("read", "again"):
                if action == "read":
                    balance, move, day = args
                    # A new object each time, equal or not to the last: the reading is read by value.
                    last = (reading(balance, balance + move), DAY + day)
                if full:
                    gate._taken = None  # the twin never skips
                said.append([b.text for b in gate.update(*last)])
            elif action == "cash":
                flow = CashFlow(cash_id + 1, float(args[0]))
                said.append([b.text for b in gate.note_cash([flow], "USD")])
            elif action == "hold":
                gate.hold("risk_state_lost", "risk: held")
            elif action == "reset":
                gate.reset("the test")
            else:
                gates[full] = gate = gate.with_risk(RISKS[args[0]])
        if action == "cash":
            cash_id += 1
        assert len({repr(s) for s in said}) <= 1, (action, said)
        assert _state(gates[0]) == _state(gates[1]), action


def test_the_same_reading_twice_is_not_read_again_in_full():
    gate = RiskGate.open(RISKS[1], RiskStore(None), "s1", now=lambda: WEEKDAY_NOON_UTC)
    gate.update(reading(10_000, 10_000), DAY)
    taken = gate._taken
    assert taken is not None
    gate.update(reading(10_000, 10_000), DAY)
    assert gate._taken is taken  # skipped: the record of what it read is the first one's
