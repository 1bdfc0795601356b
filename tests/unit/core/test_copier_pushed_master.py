"""A master whose platform pushes its changes is looked at as soon as one arrives, not at the next
poll: the copier waits on the connector instead of sleeping out the interval."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses

from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector
from copier_gui.core.capabilities import EventDelivery
from copier_gui.core.copier import Copier, SlaveLink
from copier_gui.core.copybook import CopyBook
from tests.kit.rig import Rig


class PushingMaster(MT5Connector):
    """A simulated terminal whose changes are announced, as a cTrader server's executions are."""

    def __init__(self, *args, pushed: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pushed = pushed
        self.changed = asyncio.Event()
        self.waits = 0

    @property
    def capabilities(self):
        caps = super().capabilities
        return dataclasses.replace(caps, events=EventDelivery.PUSHED if self.pushed else EventDelivery.POLLED)

    async def wait_for_change(self, timeout: float) -> None:
        self.waits += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.changed.wait(), timeout)
        self.changed.clear()


def _detection_ms(pushed: bool) -> tuple[float, int]:
    rig = Rig(slaves=("harbor_fx",))

    async def script():
        master = PushingMaster("master", rig.master, invoker=InlineInvoker(), clock=rig.clock, pushed=pushed)
        links = [SlaveLink(sid, MT5Connector(sid, t, invoker=InlineInvoker(), clock=rig.clock), rig.rules)
                 for sid, t in rig.slaves.items()]
        # A slow poll: a polled master's fill waits up to a second to be seen.
        copier = Copier(master, links, journal=rig.journal, clock=rig.clock, copybook=CopyBook(None),
                        poll_interval_s=1.0, reconcile_interval_s=30.0)
        await copier.start()
        await asyncio.sleep(1.3)
        rig.trade("EURUSD", 0, 0.5)
        master.changed.set()  # the platform's push of that fill
        await asyncio.sleep(2.0)
        await copier.stop()
        entries = [c for c in copier.metrics.copies if c.action == "open"]
        return entries[0].detection_ms, master.waits

    return rig.run(script)


def test_a_pushed_change_is_seen_at_once_and_a_polled_one_at_the_next_poll():
    pushed_ms, waits = _detection_ms(pushed=True)
    polled_ms, no_waits = _detection_ms(pushed=False)
    assert pushed_ms < 1.0, pushed_ms
    assert polled_ms > 500.0, polled_ms
    assert waits > 0 and no_waits == 0  # a polled master is never asked to wait
