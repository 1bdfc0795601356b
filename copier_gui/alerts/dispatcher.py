"""The Alerter: listens to a copier's notices, keeps what is worth an alert, throttles it, and sends it
from background tasks, one per channel, so a slow mail server never delays Telegram.

The listener runs on the copier's loop inside its notify call: it only classifies, counts and
appends to a bounded queue. Nothing here raises into the copier. A channel that fails is logged and
journaled once per distinct error, and once more when it works again, never once per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from copier_gui.alerts.channel import Channel, Message, SendError
from copier_gui.alerts.classify import Classifier
from copier_gui.alerts.messages import probe_message, render
from copier_gui.alerts.settings import AlertSettings
from copier_gui.alerts.throttle import Throttle
from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.core.executor import Notice

__all__ = ["Alerter"]

log = logging.getLogger(__name__)


@dataclass
class _Lane:
    channel: Channel
    queue: deque[Message] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None
    error: str = ""  # the failure last reported, so the next identical one is not
    dropped: int = 0
    sent: int = 0
    busy: bool = False


class Alerter:
    def __init__(self, settings: AlertSettings, channels: Sequence[Channel], *, journal: Any = None,
                 clock: Clock = SYSTEM_CLOCK, queue_limit: int = 100, tick_s: float = 1.0) -> None:
        self.settings = settings
        self.journal = journal  # anything with the Journal's record(kind, message, account=...)
        self.clock = clock
        self._kinds = frozenset(settings.kinds)
        self._classifier = Classifier()
        self._throttle = Throttle(settings.throttle.window_s, settings.throttle.max_per_hour)
        self._lanes = [_Lane(c) for c in channels]
        self._queue_limit = queue_limit
        self._tick_s = tick_s
        self._tick_task: asyncio.Task | None = None
        self._closing = False

    @property
    def channels(self) -> list[Channel]:
        return [lane.channel for lane in self._lanes]

    def attach(self, copier: Any) -> None:
        """Listen to ``copier``'s notices (anything with ``subscribe(listener)``): a prop-firm slave's
        80% crossings among them (the copier's own watch, core.room_watch)."""
        copier.subscribe(self.notice)

    def notice(self, notice: Notice) -> None:
        """The copier's listener: cheap and never raising, it runs inside the copier's notify call."""
        if self._closing:
            return
        self._take(notice)

    def _take(self, notice: Notice) -> None:
        try:
            alert = self._classifier.classify(notice, self.clock.time())
            if alert is None or alert.kind not in self._kinds:
                return
            release = self._throttle.admit(alert, self.clock.monotonic())
            if release is not None:
                self._post(render(release))
        except Exception:  # a bug here must cost an alert, never a copy
            log.exception("alerts: could not handle a notice")

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for lane in self._lanes:
            lane.task = loop.create_task(self._run_lane(lane), name=f"alerts:{lane.channel.name}")
        self._tick_task = loop.create_task(self._tick(), name="alerts:digests")
        names = ", ".join(lane.channel.name for lane in self._lanes)
        log.info("alerts by %s started (%s)", names, ", ".join(sorted(self._kinds)))

    async def aclose(self, timeout_s: float = 10.0) -> None:
        """Send the digests still held and what is queued, for at most ``timeout_s``, then stop."""
        if self._closing:
            return
        self._closing = True
        if self._tick_task is not None:
            self._tick_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tick_task
        for release in self._throttle.due(self.clock.monotonic(), all_=True):
            self._post(render(release))
        running = [lane for lane in self._lanes if lane.task is not None]
        for lane in running:
            lane.wake.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while any(lane.queue or lane.busy for lane in running):
                    await asyncio.sleep(0.02)
        for lane in running:
            lane.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await lane.task
            left = len(lane.queue) + (1 if lane.busy else 0)
            if left:
                self._report(f"alerts by {lane.channel.name}: {left} message(s) not sent before shutdown")
            lane.queue.clear()
        for lane in self._lanes:
            with contextlib.suppress(Exception):
                await lane.channel.aclose()

    async def send_probe(self) -> dict[str, str]:
        """A test message through every channel now, past the throttle: channel -> error ("" if sent)."""
        message = probe_message(self.clock.time())
        results = await asyncio.gather(*(self._try(lane.channel, message) for lane in self._lanes))
        return {lane.channel.name: result for lane, result in zip(self._lanes, results, strict=True)}

    # ------------------------------------------------------------------ inside
    def _post(self, message: Message) -> None:
        for lane in self._lanes:
            if len(lane.queue) >= self._queue_limit:
                lane.queue.popleft()  # the newest say most about now
                lane.dropped += 1
                if lane.dropped == 1:
                    log.warning("alerts by %s: the queue is full; the oldest messages are dropped", lane.channel.name)
            lane.queue.append(message)
            lane.wake.set()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self._tick_s)
            for release in self._throttle.due(self.clock.monotonic()):
                self._post(render(release))

    async def _run_lane(self, lane: _Lane) -> None:
        while True:
            await lane.wake.wait()
            lane.wake.clear()
            while lane.queue:
                message = lane.queue.popleft()
                lane.busy = True
                try:
                    error = await self._try(lane.channel, message)
                finally:
                    lane.busy = False
                if error:
                    if error != lane.error:
                        self._report(f"alerts by {lane.channel.name} failed: {error}")
                    lane.error = error
                else:
                    lane.sent += 1
                    if lane.error:
                        self._report(f"alerts by {lane.channel.name} work again", level=logging.INFO)
                    lane.error = ""

    @staticmethod
    async def _try(channel: Channel, message: Message) -> str:
        try:
            await channel.send(message)
        except SendError as exc:
            return exc.message
        except Exception as exc:  # a bug in a channel is one failed message, not a dead lane
            log.exception("alerts by %s: unexpected error", channel.name)
            return f"unexpected error: {type(exc).__name__}"
        return ""

    def _report(self, text: str, *, level: int = logging.WARNING) -> None:
        log.log(level, "%s", text)
        if self.journal is None:
            return
        # The journal may close before the alerter at shutdown; the log still has it.
        with contextlib.suppress(Exception):
            self.journal.record("error" if level >= logging.WARNING else "state", text)
