"""The room-left card on a live demo: hidden until a slave has a prop-firm profile, then one row per
such slave with its figures, a countdown that moves, and the theme's warning and danger colours
from 80% and at 100% used."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt

from copier_gui.core.rules import CopyRules, PropRules, Risk
from copier_gui.core.view import RoomLeftRow
from copier_gui.ui import palette
from copier_gui.ui.models.room_left import USED_ROLE, RoomLeftModel, countdown
from tests.gui.conftest import until


def profile(daily: float, max_loss: float | None = None, days: int | None = None) -> CopyRules:
    return CopyRules(risk=Risk(prop=PropRules.model_validate({
        "reset": "17:00 America/New_York", "daily_loss": {"amount": daily},
        "max_loss": {"amount": max_loss} if max_loss else None, "min_trading_days": days})))


def _texts(model, row: int) -> list[str]:
    return [model.index(row, c).data() for c in range(model.columnCount())]


def test_the_card_appears_with_a_profile_and_its_countdown_moves(demo, run, model_check):
    card = demo.dashboard.room_card
    model = card.model
    model_check(model)
    assert card.isHidden(), "no profile in the demo: no card"

    async def script():
        demo.copier.set_rules("slave-1", profile(500, 1_000, days=4))
        demo.copier.set_rules("slave-3", profile(2_000))
        await until(lambda: model.rowCount() == 2 and all(r.known and (r.to_floor is not None or r.slave == "slave-3")
                                                        for r in model.rows()), what="the room left")
        first = _texts(model, 0)
        await asyncio.sleep(1.2)
        return first, _texts(model, 0)

    first, later = run(script)
    assert not card.isHidden() and card.isVisible()
    assert [r.slave for r in model.rows()] == ["slave-1", "slave-3"]
    slave, left, used, reset, floor, days, state = first
    currency = demo.copier.slaves["slave-1"].account.currency
    assert slave == "slave-1" and left.endswith(f" {currency}") and used.endswith("%")
    assert " h " in reset and reset.endswith(" s")
    assert floor.endswith(f" {currency}") and days == "0 of 4" and state == "active"
    assert later[3] != reset, "the countdown moves"
    third = _texts(model, 1)
    assert third[4] == "—" and third[5] == "0", "no maximum loss, no minimum days"
    tip = model.index(0, RoomLeftModel.SLAVE).data(Qt.ItemDataRole.ToolTipRole)
    assert " left today (" in tip and " to the floor · 0 of 4 trading days" in tip
    # The loop was never held up: the card's refresh rides the tables' timer.
    assert demo.dashboard.timer.isActive()


def _row(used: float, state: str = "active", floor_used: float = 0.4) -> RoomLeftRow:
    return RoomLeftRow("s1", True, "USD", 1_000, 1_000 * (1 - min(used, 1)), used, 0.0, 3600.0, 9_000,
                       1_000 * (1 - floor_used), floor_used, 1, None, state, "")


def test_the_colours_follow_the_share_used(qapp):
    model = RoomLeftModel()
    theme = palette.current()
    for used, level in ((0.5, "ok"), (0.79, "ok"), (0.8, "warn"), (0.99, "warn"), (1.0, "bad")):
        model.set_rows([_row(used)])
        colour = None if level == "ok" else theme.color(level)
        assert model.index(0, RoomLeftModel.LEFT).data(Qt.ItemDataRole.ForegroundRole) == colour, used
        assert model.index(0, RoomLeftModel.USED).data(USED_ROLE) == (used, level)
    # Each figure in its own limit's colour: a floor far away stays plain beside a daily loss near its limit.
    assert model.index(0, RoomLeftModel.FLOOR).data(Qt.ItemDataRole.ForegroundRole) is None
    model.set_rows([_row(0.1, floor_used=0.9)])
    assert model.index(0, RoomLeftModel.LEFT).data(Qt.ItemDataRole.ForegroundRole) is None
    assert model.index(0, RoomLeftModel.FLOOR).data(Qt.ItemDataRole.ForegroundRole) == theme.color("warn")
    assert model.index(0, RoomLeftModel.USED).data(USED_ROLE) == (0.9, "warn")
    model.set_rows([_row(1.2, "halted")])
    assert model.index(0, RoomLeftModel.USED).data() == "120%"
    assert model.index(0, RoomLeftModel.USED).data(USED_ROLE) == (1.0, "bad")
    assert model.index(0, RoomLeftModel.STATE).data(Qt.ItemDataRole.ForegroundRole) == theme.color("bad")


def test_countdown_shows_the_seconds():
    assert countdown(3 * 3600 + 12 * 60 + 5) == "3 h 12 m 05 s"
    assert countdown(65) == "1 m 05 s"
    assert countdown(-1) == "0 m 00 s"


def test_a_slave_past_80_percent_pops_up_once(demo, run):
    seen: list[tuple[str, str]] = []
    demo.dashboard._notify = lambda topic, text: seen.append((topic, text))
    rules = CopyRules(risk=Risk(prop=PropRules.model_validate({
        "reset": "17:00 America/New_York", "daily_loss": {"amount": 0.01, "baseline": "equity", "action": "warn"}})))

    async def script():
        demo.copier.set_rules("slave-2", rules)
        demo.trade("EURUSD", 1.0)  # the copy's spread is a loss on an equity baseline: far past 0.01
        await until(lambda: any(topic == "risk" for topic, _ in seen), what="the crossing")
        await asyncio.sleep(1.5)  # three more refreshes: still one

    run(script)
    crossings = [text for topic, text in seen if topic == "risk"]
    assert len(crossings) == 1 and crossings[0].startswith("slave-2: prop-firm daily loss "), seen
