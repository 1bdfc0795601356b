"""The 80% crossing reaches the alert channels from a running copier: polled from the alerts' tick
until the copier announces crossings itself, once per crossing, never twice."""

from __future__ import annotations

import asyncio

from copier_gui.alerts.channel import Message
from copier_gui.alerts.dispatcher import Alerter
from copier_gui.alerts.settings import AlertSettings
from copier_gui.core.executor import Notice
from copier_gui.core.room_watch import NEAR_LIMIT
from copier_gui.core.rules import CopyRules, PropRules, Risk
from tests.kit.rig import Rig


class Inbox:
    """A channel that keeps what it is given (the real senders are test_dispatcher's)."""

    name = "inbox"

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def send(self, message: Message) -> None:
        self.messages.append(message)

    async def aclose(self) -> None:
        pass


def _rules(amount: float) -> CopyRules:
    return CopyRules(risk=Risk(prop=PropRules.model_validate({
        "reset": "17:00 America/New_York", "daily_loss": {"amount": amount, "baseline": "equity", "action": "warn"}})))


def _run(amount: float, *, copier_says: bool = False):
    rig = Rig(slaves=("harbor_fx",))
    rig.rules = _rules(amount)
    inbox = Inbox()
    settings = AlertSettings.model_validate({"kinds": ["risk"], "throttle": {"window_s": 60, "max_per_hour": 100}})

    async def script():
        copier = rig.copier()
        alerter = Alerter(settings, [inbox], clock=rig.clock, tick_s=3600)
        alerter.attach(copier)
        await alerter.start()
        await copier.start()
        if copier_says:
            copier._notify(Notice("info", "s0", "prop-firm daily loss 81% used: ...", state=NEAR_LIMIT))
        rig.trade("EURUSD", 0, 0.5)  # the spread of the copy is a loss on an equity baseline
        await asyncio.sleep(2.0)
        for _ in range(5):  # every pass after the crossing: still one alert
            alerter.poll_room()
            await asyncio.sleep(0.2)
        room = copier.slaves["s0"].risk_gate.room_left()
        await copier.stop()
        await alerter.aclose()
        return room

    room = rig.run(script)
    return room, inbox.messages


def test_a_slave_past_80_percent_of_its_daily_loss_is_one_alert():
    # The copy's spread costs about 1.85 EUR: a limit of 2 is more than 80% used (the market may take
    # it past the limit too, which is an alert of its own).
    room, messages = _run(2)
    assert room.daily_used >= 0.8, room
    near = [m for m in messages if "% used" in m.subject]
    assert len(near) == 1, [m.subject for m in messages]
    assert near[0].subject.startswith("s0: prop-firm daily loss ") and near[0].subject.endswith("% used")
    assert "left of the 2.00 EUR limit today (resets in " in near[0].body


def test_far_from_the_limit_nothing_is_said():
    room, messages = _run(1_000)
    assert room.daily_used < 0.8 and messages == []


def test_a_copier_that_announces_crossings_itself_is_not_polled():
    _, messages = _run(2, copier_says=True)
    assert [m.subject for m in messages if "% used" in m.subject] == ["s0: prop-firm daily loss 81% used"]
