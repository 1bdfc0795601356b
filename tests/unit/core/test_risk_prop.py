"""The risk gate under a prop-firm profile: its own trading day, the baseline and the trailing floor on
disk through restarts, breaches in the journal's words, and the room left."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copier_gui.clock import VirtualClock
from copier_gui.core.model import AccountState, CashFlow, Side
from copier_gui.core.prop_limits import Track
from copier_gui.core.reconciler import NetStep
from copier_gui.core.risk import RiskGate, TradingState, describe_reset
from copier_gui.core.riskstore import SCHEMA_VERSION, RiskStore
from copier_gui.core.rules import CopyRules, LimitAction, PropRules, Risk
from tests.unit.core.test_risk_copier import Rig

# Wednesday 25 November 2026, 12:00 UTC: 07:00 in New York, 13:00 in Prague.
NOON = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC).timestamp()
HOUR = 3600.0


def account(balance: float, equity: float | None = None, currency: str = "USD") -> AccountState:
    equity = balance if equity is None else equity
    return AccountState(1, "Sim-Server", "Sim Broker", "t", currency, balance, equity, 0.0, equity, 100, True, True)


def profile(reset: str = "17:00 America/New_York", daily: dict | None = None, max_loss: dict | None = None) -> Risk:
    return Risk(prop=PropRules.model_validate({"reset": reset, "daily_loss": daily, "max_loss": max_loss}))


def gate_on(store: RiskStore, risk: Risk, clock: VirtualClock, name: str = "s1") -> RiskGate:
    return RiskGate.open(risk, store, name, now=clock.time)


def server_day(clock: VirtualClock) -> int:
    return int(clock.time() // 86400)


def test_the_gate_counts_the_profiles_day_not_the_server_day(tmp_path):
    clock = VirtualClock(NOON + 11 * HOUR)  # 23:00 UTC, 18:00 in New York: an hour into its day
    gate = gate_on(RiskStore(None), profile(daily={"amount": 500}), clock)
    gate.update(account(10_000), server_day(clock))
    clock.advance(2 * HOUR)  # 01:00 UTC: a new server day, still 20:00 of the same New York day
    gate.update(account(9_700), server_day(clock))
    assert gate.day_start_balance == 10_000
    assert gate.update(account(9_700, 9_480), server_day(clock))[0].limit == "prop.daily_loss"
    clock.advance(21 * HOUR)  # 22:00 UTC: 17:00 in New York, a new prop day
    assert gate.update(account(9_700, 9_480), server_day(clock)) == []
    assert gate.day_start_balance == 9_700 and "prop.daily_loss" not in gate.breaches


def test_a_breach_names_its_numbers_and_a_flatten_halts(tmp_path):
    clock = VirtualClock(NOON)
    gate = gate_on(RiskStore(None), profile(daily={"amount": 500, "baseline": "equity", "action": "flatten"}), clock)
    gate.update(account(10_000, 10_250), server_day(clock))
    (breach,) = gate.update(account(10_000, 9_737.60), server_day(clock))
    assert breach.limit == "prop.daily_loss" and breach.action is LimitAction.FLATTEN
    assert breach.text == ("risk: daily loss 512.40 USD >= 500.00 USD (baseline: equity 10,250.00 USD at "
                           "17:00 America/New_York) (prop.daily_loss, action flatten)")
    assert gate.state is TradingState.HALTED and gate.halt.limit == "prop.daily_loss"
    # Exits still go: the master's close of a netting position passes a halted gate.
    exit_step = NetStep(1, "EURUSD", Side.SELL, 0.1, True, None, None, "master closed")
    allowed, refused, _ = gate.screen([exit_step], (), {})
    assert allowed == [exit_step] and refused == []


def test_an_equity_baseline_breaches_where_a_balance_baseline_does_not_and_the_reverse():
    clock = VirtualClock(NOON)
    store = RiskStore(None)
    on_equity = gate_on(store, profile(daily={"amount": 500, "baseline": "equity"}), clock, "equity")
    on_balance = gate_on(store, profile(daily={"amount": 500, "baseline": "balance"}), clock, "balance")
    # An open profit at the reset, given back: a loss on the equity baseline only.
    for gate in (on_equity, on_balance):
        gate.update(account(10_000, 10_300), server_day(clock))
    assert [b.limit for b in on_equity.update(account(10_000, 9_750), server_day(clock))] == ["prop.daily_loss"]
    assert on_balance.update(account(10_000, 9_750), server_day(clock)) == []

    clock.advance(10 * HOUR)  # past 17:00 in New York: both take a new baseline, now with an open loss
    for gate in (on_equity, on_balance):
        gate.update(account(10_000, 9_700), server_day(clock))
    assert on_equity.update(account(10_000, 9_450), server_day(clock)) == []
    assert [b.limit for b in on_balance.update(account(10_000, 9_450), server_day(clock))] == ["prop.daily_loss"]


def test_the_same_instant_is_two_days_for_two_profiles():
    clock = VirtualClock(NOON)
    store = RiskStore(None)
    new_york = gate_on(store, profile("17:00 America/New_York", daily={"amount": 500}), clock, "ny")
    prague = gate_on(store, profile("00:00 Europe/Prague", daily={"amount": 500}), clock, "prague")
    for gate in (new_york, prague):
        gate.update(account(10_000), server_day(clock))
    clock.advance(11 * HOUR)  # 23:00 UTC: 18:00 in New York, 00:00 in Prague; both have turned a day
    for gate in (new_york, prague):
        gate.update(account(9_800), server_day(clock))
    assert new_york.day != prague.day
    assert new_york.day == (dt.date(2026, 11, 25) - dt.date(1970, 1, 1)).days
    assert prague.day == (dt.date(2026, 11, 26) - dt.date(1970, 1, 1)).days
    # Each turns at its own instant: neither by 21:30 UTC the next day, then New York alone at 22:00.
    clock.advance(22.5 * HOUR)  # 21:30 UTC on the 26th: 16:30 in New York, 22:30 in Prague
    for gate in (new_york, prague):
        gate.update(account(9_600), server_day(clock))
    assert new_york.day_start_balance == 9_800 and prague.day_start_balance == 9_800
    clock.advance(1 * HOUR)  # 22:30 UTC: New York has reset, Prague has not
    for gate in (new_york, prague):
        gate.update(account(9_500), server_day(clock))
    assert new_york.day_start_balance == 9_500 and prague.day_start_balance == 9_800


def test_a_restart_mid_day_keeps_the_baseline_and_the_trailing_floor(tmp_path):
    path = tmp_path / "risk.sqlite3"
    clock = VirtualClock(NOON)
    risk = profile(daily={"amount": 500, "baseline": "higher"}, max_loss={"amount": 1_000, "mode": "trailing_intraday"})
    store = RiskStore(path)
    gate = gate_on(store, risk, clock)
    gate.update(account(10_000, 10_200), server_day(clock))
    gate.update(account(10_000, 10_600), server_day(clock))  # the equity high: floor 9,600
    gate.update(account(10_100, 10_100), server_day(clock))
    store.close()

    clock.advance(2 * HOUR)
    store = RiskStore(path)
    restarted = gate_on(store, risk, clock)
    assert restarted.track == Track(initial=10_000, high=10_600, locked=False)
    restarted.update(account(10_100, 9_690), server_day(clock))
    assert restarted.day_start_balance == 10_000 and restarted.day_start_equity == 10_200, "the baseline is kept"
    assert list(restarted.breaches) == ["prop.daily_loss"], "510 below the higher baseline, 10,200"
    breaches = restarted.update(account(10_100, 9_600), server_day(clock))
    assert "equity 9,600.00 USD <= max-loss floor 9,600.00 USD" in breaches[0].text
    store.close()


def test_a_trailing_max_loss_locks_at_the_initial_balance_and_stays_locked_after_a_restart(tmp_path):
    path = tmp_path / "risk.sqlite3"
    clock = VirtualClock(NOON)
    risk = profile(max_loss={"amount": 1_000, "mode": "trailing_eod", "lock_at_initial": True,
                             "initial_balance": 10_000})
    store = RiskStore(path)
    gate = gate_on(store, risk, clock)
    gate.update(account(10_400, 10_400), server_day(clock))
    assert gate.track.high == 10_000, "no close seen yet"
    gate.update(account(11_200, 11_200), server_day(clock))
    assert gate.room_left().floor == 9_000, "an end-of-day floor does not move intraday"
    clock.advance(12 * HOUR)  # the New York close at 22:00 UTC: the day closed at 11,200
    gate.update(account(11_200, 11_200), server_day(clock))
    assert gate.track == Track(initial=10_000, high=11_200, locked=True) and gate.room_left().floor == 10_000
    store.close()

    store = RiskStore(path)
    restarted = gate_on(store, risk, clock)
    assert restarted.track.locked
    clock.advance(24 * HOUR)
    restarted.update(account(12_500), server_day(clock))  # a higher close: the floor stays at 10,000
    assert restarted.room_left().floor == 10_000
    (breach,) = restarted.update(account(12_500, 10_000), server_day(clock))
    assert breach.text == ("risk: equity 10,000.00 USD <= max-loss floor 10,000.00 USD (trailing_eod, locked at the "
                           "initial balance 10,000.00 USD) (prop.max_loss, action stop_entries)")
    assert restarted.state is TradingState.REDUCING
    store.close()


def test_the_initial_balance_is_the_first_seen_unless_the_rules_give_one():
    clock = VirtualClock(NOON)
    store = RiskStore(None)
    risk = profile(max_loss={"percent": 10})
    gate = gate_on(store, risk, clock)
    gate.update(account(25_000), server_day(clock))
    gate.update(account(26_000), server_day(clock))
    assert gate.track.initial == 25_000 and gate.room_left().floor == 22_500
    edited = gate.with_risk(profile(max_loss={"percent": 10, "initial_balance": 20_000}))
    edited.update(account(26_000), server_day(clock))
    assert edited.track == Track(20_000, 20_000) and edited.room_left().floor == 18_000
    assert gate_on(store, risk, clock).track.initial == 20_000, "what the rules gave is kept"


def test_the_room_left_and_the_trading_days(tmp_path):
    path = tmp_path / "risk.sqlite3"
    clock = VirtualClock(NOON)
    risk = profile(daily={"amount": 500}, max_loss={"amount": 1_000})
    store = RiskStore(path)
    gate = gate_on(store, risk, clock)
    assert gate.room_left() is None, "nothing read yet"
    assert gate_on(RiskStore(None), Risk(), clock).room_left() is None, "no profile"
    gate.update(account(10_000), server_day(clock))
    gate.update(account(10_000, 9_600), server_day(clock))
    gate.note_deal(NOON - 3 * HOUR)
    gate.note_deal(NOON - 1 * HOUR)  # the same New York day
    gate.note_deal(NOON - 20 * HOUR)  # 11:00 New York time the day before
    room = gate.room_left()
    assert room.daily_left == 100 and room.daily_used == 0.8
    assert room.reset_in_s == 10 * HOUR, "17:00 in New York is 22:00 UTC in November"
    assert room.floor == 9_000 and room.to_floor == 600 and room.trading_days == 2
    store.close()
    restarted = gate_on(RiskStore(path), risk, clock)
    restarted.update(account(10_000, 9_600), server_day(clock))
    assert restarted.room_left().trading_days == 2
    restarted.store.close()


def test_a_reset_lifts_the_halt_and_re_bases_the_day_but_keeps_the_floor_and_the_trading_days(tmp_path):
    clock = VirtualClock(NOON)
    store = RiskStore(tmp_path / "risk.sqlite3")
    risk = profile(daily={"amount": 100, "baseline": "equity", "action": "flatten"},
                   max_loss={"amount": 1_000, "mode": "trailing_intraday"})
    gate = gate_on(store, risk, clock)
    gate.update(account(10_000, 10_500), server_day(clock))
    gate.note_deal(NOON)
    gate.update(account(10_000, 10_350), server_day(clock))
    assert gate.state is TradingState.HALTED
    before = gate.reset("the window")
    assert "max-loss floor kept (initial balance 10,000.00 USD, high 10,500.00 USD)" in describe_reset(before, "USD")
    assert gate.state is TradingState.ACTIVE and gate.day is None
    assert gate.track.high == 10_500 and gate.deal_days == frozenset({gate.day_of(NOON)})
    reopened = gate_on(RiskStore(tmp_path / "risk.sqlite3"), risk, clock)
    assert reopened.halt is None and reopened.track.high == 10_500 and len(reopened.deal_days) == 1
    reopened.update(account(10_000, 10_350), server_day(clock))
    assert reopened.state is TradingState.ACTIVE and reopened.room_left().floor == 9_500
    store.close()
    reopened.store.close()


def test_a_reset_of_a_max_loss_halt_starts_the_floor_again_here_and_from_the_command_line(tmp_path):
    # The maximum loss ends a challenge: the trader resets only to start a new one, often on the same
    # account at the same initial balance, so a floor kept from the old one would halt it at once.
    clock = VirtualClock(NOON)
    risk = profile(max_loss={"amount": 1_000, "mode": "trailing_intraday", "action": "flatten"})
    for by_command_line in (False, True):
        path = tmp_path / f"risk-{by_command_line}.sqlite3"
        store = RiskStore(path)
        gate = gate_on(store, risk, clock)
        gate.update(account(10_000, 10_800), server_day(clock))
        gate.update(account(9_800, 9_800), server_day(clock))
        assert gate.state is TradingState.HALTED and gate.halt.limit == "prop.max_loss"
        if by_command_line:
            other = RiskStore(path)
            before = other.reset("s1", at=clock.time(), by="the command line")
            other.close()
            assert store.changed_elsewhere() and store.load("s1").prop_initial is None
            gate.adopt_reset(store.load("s1").resets)
        else:
            before = gate.reset("the window")
        assert "max-loss floor starts again from the next reading" in describe_reset(before, "USD")
        assert gate.track is None and gate.state is TradingState.ACTIVE
        gate.update(account(10_000, 10_000), server_day(clock))  # the firm's fresh account
        assert gate.track == Track(10_000, 10_000) and gate.state is TradingState.ACTIVE
        store.close()


def test_a_first_version_store_is_migrated_and_keeps_its_rows(tmp_path):
    path = tmp_path / "risk.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE schema_version (version INTEGER NOT NULL);
        INSERT INTO schema_version VALUES (1);
        CREATE TABLE risk_state (account TEXT PRIMARY KEY, day INTEGER NULL, day_start_balance REAL NULL,
            day_start_equity REAL NULL, peak_equity REAL NULL, halt_state TEXT NULL, halt_limit TEXT NULL,
            halted_at REAL NULL, halt_text TEXT NULL, resets INTEGER NOT NULL DEFAULT 0, reset_at REAL NULL,
            reset_by TEXT NULL);
        INSERT INTO risk_state VALUES ('s1', 20417, 10000, 10050, 10100, 'halted', 'daily_loss', 5.0, 'why', 2,
            NULL, NULL);
    """)
    conn.commit()
    conn.close()
    store = RiskStore(path)
    record = store.load("s1")
    assert (record.day, record.day_start_balance, record.peak_equity, record.resets) == (20417, 10_000, 10_100, 2)
    assert record.halt.limit == "daily_loss" and record.prop_initial is None and record.deal_days == frozenset()
    store.save_figures("s1", 20417, 10_000, 10_050, 10_100, track=(10_000, 10_100, False))
    store.add_deal_day("s1", 20417)
    store.close()
    again = RiskStore(path)
    assert again.load("s1").prop_high == 10_100 and again.load("s1").deal_days == frozenset({20417})
    again.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION == 4
    conn.close()


def test_a_running_copier_journals_a_prop_breach_and_flattens(tmp_path):
    # The spread of a 0.5 lot copy alone loses more than 1 USD of equity against the day's equity.
    rules = CopyRules(risk=profile("00:00 Etc/GMT-2", daily={"amount": 1, "baseline": "equity", "action": "flatten"}))
    rig = Rig(tmp_path, rules)

    async def script():
        copier = rig.copier()
        await copier.start()
        rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(2.5)
        state, room = copier.slaves["s1"].risk_gate.state, copier.slaves["s1"].risk_gate.room_left()
        await copier.stop()
        return state, room

    state, room = rig.run(script)
    assert state is TradingState.HALTED and rig.held() == []
    (entry,) = [e for e in rig.entries("refusal") if e.data.get("limit") == "prop.daily_loss"]
    assert entry.message.startswith("risk: daily loss ") and entry.data["action"] == "flatten"
    assert "at 00:00 Etc/GMT-2) (prop.daily_loss, action flatten)" in entry.message
    assert room.daily_left == 0 and room.daily_used > 1
    rig.journal.close()


# ----------------------------------------------------------------------------------- property

# Reset times outside 01:00-03:59, where no zone below changes its clocks: the oracle then reads the
# day from the local time of day alone. Reset times inside the changes are test_prop_day's.
RESETS = st.tuples(st.sampled_from(["America/New_York", "Europe/Prague", "Etc/GMT-2", "Australia/Sydney", "Etc/UTC"]),
                   st.sampled_from([0, 4, 9, 12, 17, 22, 23]), st.sampled_from([0, 30]))
# A few days before each 2026 clock change of those zones, and a plain week.
STARTS = st.sampled_from([dt.datetime(2026, m, d, 6, tzinfo=dt.UTC).timestamp()
                          for m, d in ((3, 6), (3, 27), (4, 3), (7, 1), (10, 2), (10, 23), (10, 30))])
# Money in steps of 50, so that a loss lands exactly on a limit or an equity on a floor now and then.
STEP = st.tuples(st.integers(1, 2_000), st.integers(180, 230).map(lambda k: k * 50),
                 st.integers(-18, 18).map(lambda k: k * 50), st.booleans())


def oracle_day(t: float, zone: ZoneInfo, hour: int, minute: int) -> int:
    local = dt.datetime.fromtimestamp(t, zone)
    date = local.date() - dt.timedelta(days=1 if (local.hour, local.minute) < (hour, minute) else 0)
    return (date - dt.date(1970, 1, 1)).days


def oracle(path, zone, hour, minute, daily, max_loss) -> list[set[str]]:
    """The breaches at each step, recomputed from the whole path up to it."""
    days = [oracle_day(t, zone, hour, minute) for t, _, _ in path]
    initial = max_loss.get("initial_balance") or path[0][1]
    loss_cap = max_loss["amount"] if "amount" in max_loss else initial * max_loss["percent"] / 100
    out = []
    for i, (_, _, equity) in enumerate(path):
        found = set()
        _, b0, e0 = path[days.index(days[i])]  # the first reading of this day
        base = {"balance": b0, "equity": e0, "higher": max(b0, e0)}[daily["baseline"]]
        limit = daily["amount"] if "amount" in daily else base * daily["percent"] / 100
        if base - equity >= limit:
            found.add("prop.daily_loss")
        if max_loss["mode"] == "static":
            floor = initial - loss_cap
        else:
            if max_loss["mode"] == "trailing_intraday":
                high = max([initial] + [e for _, _, e in path[: i + 1]])
            else:  # the higher of balance and equity at each reset after the first reading
                high = max([initial] + [max(b, e) for j, (_, b, e) in enumerate(path[: i + 1])
                                        if j and days[j] != days[j - 1]])
            locked = max_loss["lock_at_initial"] and high - loss_cap >= initial
            floor = initial if locked else high - loss_cap
        if equity <= floor:
            found.add("prop.max_loss")
        out.append(found)
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reset=RESETS, start=STARTS, steps=st.lists(STEP, min_size=1, max_size=30),
       baseline=st.sampled_from(["balance", "equity", "higher"]),
       daily_size=st.sampled_from([{"amount": 300}, {"percent": 2.5}]),
       mode=st.sampled_from(["static", "trailing_eod", "trailing_intraday"]), lock=st.booleans(),
       max_size=st.sampled_from([{"amount": 1_000}, {"percent": 8}]),
       initial=st.sampled_from([None, 10_000]))
def test_the_gate_breaches_exactly_when_an_oracle_on_the_path_says(reset, start, steps, baseline, daily_size, mode,
                                                                  lock, max_size, initial):
    zone, hour, minute = reset
    daily = {**daily_size, "baseline": baseline, "action": "warn"}
    max_loss = {**max_size, "mode": mode, "lock_at_initial": lock, "action": "warn"}
    if initial:
        max_loss["initial_balance"] = initial
    risk = profile(f"{hour:02d}:{minute:02d} {zone}", daily, max_loss)
    clock = VirtualClock(start)
    store = RiskStore(None)
    gate = gate_on(store, risk, clock)
    path, seen = [], []
    for minutes, balance, open_pnl, restart in steps:
        clock.advance(minutes * 60)
        if restart:  # the copier restarted: a new gate from what the store holds
            gate = gate_on(store, risk, clock)
        equity = balance + open_pnl
        path.append((clock.time(), balance, equity))
        gate.update(account(balance, equity), server_day(clock))
        seen.append({k for k in gate.breaches if k.startswith("prop.")})
    assert seen == oracle(path, ZoneInfo(zone), hour, minute, daily, max_loss)


def test_a_daily_loss_reached_stops_entries_for_the_rest_of_the_firm_s_day_even_when_the_equity_recovers(tmp_path):
    """A firm's limit once touched is a breach for the day: entries do not resume when the market
    gives the loss back, nor after a restart; the firm's reset lifts the stop."""
    clock = VirtualClock(NOON)
    store = RiskStore(tmp_path / "risk.sqlite3")
    risk = profile(daily={"amount": 300, "action": "stop_entries"})
    gate = gate_on(store, risk, clock)
    gate.update(account(10_000), server_day(clock))
    (breach,) = gate.update(account(10_000, 9_650), server_day(clock))
    assert breach.limit == "prop.daily_loss" and gate.state is TradingState.REDUCING
    clock.advance(60)
    assert gate.update(account(10_000, 9_900), server_day(clock)) == []
    assert gate.state is TradingState.REDUCING and "daily loss 350.00 USD" in gate.reason
    gate = gate_on(store, risk, clock)  # a restart
    gate.update(account(10_000, 9_950), server_day(clock))
    assert gate.state is TradingState.REDUCING
    clock.advance(10 * HOUR)  # past 17:00 New York
    gate.update(account(9_950), server_day(clock))
    assert gate.state is TradingState.ACTIVE and gate.reason == ""
    assert gate_on(store, risk, clock).state is TradingState.ACTIVE


def test_a_max_loss_reached_stops_entries_for_good_until_the_trader_resets(tmp_path):
    clock = VirtualClock(NOON)
    store = RiskStore(tmp_path / "risk.sqlite3")
    risk = profile(max_loss={"amount": 500, "initial_balance": 10_000, "action": "stop_entries"},
                   daily={"amount": 300, "action": "stop_entries"})
    gate = gate_on(store, risk, clock)
    gate.update(account(10_000), server_day(clock))
    gate.update(account(10_000, 9_700), server_day(clock))  # the daily loss first
    gate.update(account(10_000, 9_450), server_day(clock))  # then the floor: it outranks the day's stop
    clock.advance(10 * HOUR)
    gate.update(account(9_900), server_day(clock))  # a new day, and back above the floor
    assert gate.state is TradingState.REDUCING and "max-loss floor" in gate.reason
    gate = gate_on(store, risk, clock)
    gate.update(account(9_900), server_day(clock))
    assert gate.state is TradingState.REDUCING
    gate.reset("the trader")
    gate.update(account(9_900), server_day(clock))
    assert gate.state is TradingState.ACTIVE


def test_deposits_and_withdrawals_move_the_day_s_baseline_but_not_the_floor_through_a_restart(tmp_path):
    """Balance operations are not trading: a payout is no daily loss and a deposit no new high, while
    the maximum-loss floor stays where trading put it (a withdrawal brings the equity nearer, as at
    the firm). The first look takes the account's history as its past."""
    clock = VirtualClock(NOON)
    store = RiskStore(tmp_path / "risk.sqlite3")
    risk = profile(daily={"amount": 300, "action": "stop_entries"},
                   max_loss={"amount": 500, "mode": "trailing_intraday", "initial_balance": 10_000,
                             "action": "flatten"})
    gate = gate_on(store, risk, clock)
    assert gate.note_cash([CashFlow(1, 10_000.0, "opening")], "USD") == []  # the past
    gate.update(account(10_000), server_day(clock))
    (note,) = gate.note_cash([CashFlow(1, 10_000.0), CashFlow(2, -400.0, "payout")], "USD")
    assert note.text.startswith("withdrawal of 400.00 USD (payout): not trading")
    assert gate.update(account(9_600), server_day(clock)) == [] and gate.state is TradingState.ACTIVE
    assert gate.room_left().floor == 9_500.0 and gate.room_left().to_floor == 100.0
    gate = gate_on(store, risk, clock)  # a restart keeps what was taken in
    assert gate.note_cash([CashFlow(1, 10_000.0), CashFlow(2, -400.0)], "USD") == []
    gate.note_cash([CashFlow(3, 3_000.0, "deposit")], "USD")
    gate.update(account(12_600), server_day(clock))
    # The deposit is no new high: the floor stays 500 under the trading high of 10,000.
    assert gate.room_left().floor == 9_500.0
    (breach,) = gate.update(account(12_600, 12_290), server_day(clock))  # 310 lost by trading today
    assert breach.limit == "prop.daily_loss"
    assert gate_on(store, risk, clock).track.cash == 2_600.0
