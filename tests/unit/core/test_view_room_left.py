"""The room-left view: per slave with a prop-firm profile, what is left today, the time to the reset,
the distance to the max-loss floor, the trading days and the gate's state, as the displays show it."""

from __future__ import annotations

import asyncio

from copier_gui.core import view
from copier_gui.core.rules import CopyRules, PropRules, Risk
from tests.kit.rig import Rig


def _profile(**prop) -> CopyRules:
    return CopyRules(risk=Risk(prop=PropRules.model_validate({"reset": "17:00 America/New_York", **prop})))


def _rows(rules: dict[str, CopyRules], *, before=None):
    rig = Rig(slaves=("harbor_fx", "apex_prop"))

    async def script():
        copier = rig.copier()
        for sid, r in rules.items():
            copier.slaves[sid].rules = r
        if before is not None:
            before(copier)
        rows = view.room_left(copier)
        await copier.start()
        await asyncio.sleep(1.0)
        after = view.room_left(copier)
        await copier.stop()
        return rows, after

    return rig.run(script)


def test_a_slave_with_a_profile_has_its_room_left_and_one_without_has_none():
    rules = {"s0": _profile(daily_loss={"amount": 500}, max_loss={"amount": 1_000}, min_trading_days=4)}
    before, rows = _rows(rules)
    assert [r.slave for r in before] == ["s0"] and before[0].known is False, "no reading yet: named, not measured"
    (row,) = rows
    assert row.slave == "s0" and row.known
    assert row.currency == "EUR"  # harbor_fx keeps its account in euros
    assert row.daily_limit == 500 and 0 <= row.daily_used < 0.05 and 480 < row.daily_left <= 500
    # Noon UTC on a weekday in winter: 17:00 in New York (22:00 UTC) is about ten hours away.
    assert 9.9 * 3600 < row.reset_in_s <= 10 * 3600
    assert row.floor is not None and 950 < row.to_floor <= 1_000 and 0 <= row.max_loss_used < 0.05
    assert row.trading_days == 0 and row.min_trading_days == 4
    assert row.state == "active" and row.reason == ""
    assert row.used == max(row.daily_used, row.max_loss_used)
    assert row.level == "ok"


def test_the_level_follows_the_larger_fraction_used():
    row = view.RoomLeftRow("s1", True, "USD", 500, 100, 0.8, 22 * 3600.0, 3600.0, 9_000, 600, 0.4, 1, None,
                           "active", "")
    assert row.level == "warn" and row.used == 0.8
    assert view.RoomLeftRow("s1", True, "USD", 500, 0, 1.0, 0, 0, None, None, None, 0, None, "halted",
                            "risk: daily loss").level == "bad"
    assert view.RoomLeftRow("s1", True, "USD", None, None, None, 0, 0, 9_000, 900, 0.1, 0, None,
                            "active", "").level == "ok"
    assert view.RoomLeftRow("s1", False, "", None, None, None, 0, 0, None, None, None, 0, None,
                            "active", "").level == "idle"


def test_a_slave_past_its_daily_limit_shows_the_gates_state_and_reason():
    # A limit of 1 USD on equity: the copy's spread alone passes it.
    rules = {"s1": _profile(daily_loss={"amount": 1, "baseline": "equity", "action": "stop_entries"})}
    rig = Rig(slaves=("harbor_fx", "apex_prop"))

    async def script():
        copier = rig.copier()
        copier.slaves["s1"].rules = rules["s1"]
        await copier.start()
        rig.trade("EURUSD", 0, 0.5)
        await asyncio.sleep(2.5)
        rows = view.room_left(copier)
        await copier.stop()
        return rows

    (row,) = rig.run(script)
    assert row.slave == "s1" and row.daily_left == 0 and row.daily_used >= 1
    assert row.floor is None and row.to_floor is None
    assert row.state == "reducing" and row.reason.startswith("risk: daily loss ")
    assert row.level == "bad"


def test_the_one_line_a_trader_reads():
    row = view.RoomLeftRow("s1", True, "USD", 1_000, 312.4, 0.6876, 0.0, 3 * 3600 + 12 * 60, 9_000, 1_204.1, 0.4,
                           3, 4, "active", "")
    assert view.describe_room(row) == ("312.40 USD left today (69% used) · reset in 3 h 12 m · "
                                       "1,204.10 USD to the floor · 3 of 4 trading days")
    only_floor = view.RoomLeftRow("s1", True, "USD", None, None, None, 0.0, 60.0, 9_000, -5, 1.005, 1, None,
                                  "halted", "risk: equity ...")
    assert view.describe_room(only_floor) == "reset in 1 m 0 s · -5.00 USD to the floor · 1 trading day"
    assert view.describe_room(view.RoomLeftRow("s1", False, "", None, None, None, 0.0, 0.0, None, None, None, 0, 2,
                                               "active", "")) == "waiting for the account's first reading"


def test_a_consistency_rule_adds_the_best_days_share():
    row = view.RoomLeftRow("s1", True, "USD", 1_000, 900, 0.1, 0.0, 7_200, None, None, None, 5, None, "active", "",
                           best_day_share=38.4, best_day_limit=40)
    assert view.describe_room(row).endswith(" · 5 trading days · best day 38% of the profit (at most 40%)")
