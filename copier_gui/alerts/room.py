"""The 80% watch, polled from the alerts' own tick for a copier that does not announce crossings.

The copier's own watch (a ``room_watch`` on each slave link, whose crossings it journals and
announces as notices with ``state`` NEAR_LIMIT) is the better path. Until a copier has it, this
reads each prop-firm slave's room left once a tick, feeds one RoomWatch per slave and hands the
crossings back as the same notices. A slave whose link has its own watch is skipped, and the first
crossing the copier announces itself ends the polling for good, so a crossing is never said twice.
"""

from __future__ import annotations

from typing import Any

from copier_gui.core.executor import Notice
from copier_gui.core.room_watch import NEAR_LIMIT, RoomWatch

__all__ = ["RoomPoll"]


class RoomPoll:
    def __init__(self, copier: Any) -> None:
        self.copier = copier
        self.superseded = False
        self._watches: dict[str, RoomWatch] = {}

    def poll(self) -> list[Notice]:
        if self.superseded:
            return []
        out = []
        for slave in self.copier.slaves.values():
            gate = getattr(slave, "risk_gate", None)
            if gate is None or getattr(slave, "room_watch", None) is not None:
                continue
            watch = self._watches.setdefault(slave.id, RoomWatch())
            for crossing in watch.feed(gate.room_left()):
                out.append(Notice("info", slave.id, crossing.text, state=NEAR_LIMIT))
        return out

    def heard(self, notice: Notice) -> None:
        """A notice from the copier: its own crossing means it watches; polling stops."""
        if notice.state == NEAR_LIMIT:
            self.superseded = True
