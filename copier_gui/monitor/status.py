"""What the status page shows, as plain JSON: accounts, mirrored positions, drift per slave, each
prop-firm slave's room left and the latest journal lines. Built from the core's display views on the copier's loop, at request time.

The journal lines come from a ring of the copier's notices (cheap, fed as they happen), seeded once
at start from the journal file, whose reads block and so run off the loop.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from copier_gui.core import view
from copier_gui.core.copier import Copier
from copier_gui.core.executor import Notice
from copier_gui.core.journal import Journal, JournalEntry

RECENT_LINES = 20
# Journal kinds a trader reads (the rest are requests, results and plans, for audits).
_SEED_KINDS = frozenset({"refusal", "failure", "error", "state", "correction"})


@dataclass(frozen=True, slots=True)
class Line:
    wall: float
    kind: str
    account: str
    text: str


class RecentLines:
    """The last ``size`` trader-facing lines, newest first."""

    def __init__(self, copier: Copier, size: int = RECENT_LINES) -> None:
        self.copier = copier
        self._lines: deque[Line] = deque(maxlen=size)

    def on_notice(self, notice: Notice) -> None:
        self._lines.appendleft(Line(self.copier.clock.time(), notice.kind, notice.account, notice.text))

    async def seed(self, journal: Journal) -> None:
        """Put the journal's latest lines behind any notice already received."""
        size = self._lines.maxlen or RECENT_LINES
        loop = asyncio.get_running_loop()
        # Ask for more than needed: the filtered kinds are a minority of entries.
        entries = await loop.run_in_executor(None, lambda: journal.entries(limit=size * 20))
        older = [_line(e) for e in entries if e.kind in _SEED_KINDS or _copied(e)]
        for line in older:
            if len(self._lines) >= size:
                break
            self._lines.append(line)

    def lines(self) -> list[Line]:
        return list(self._lines)


def _copied(entry: JournalEntry) -> bool:
    return entry.kind == "info" and isinstance(entry.data.get("metrics"), dict)


def _line(entry: JournalEntry) -> Line:
    if not _copied(entry):
        return Line(entry.wall, entry.kind, entry.account, entry.message)
    # A copied fill is journaled with its figures; say it as its notice said it.
    m = entry.data["metrics"]
    text = (f"{m.get('action')} {m.get('volume', 0):g} {m.get('symbol')} @ {m.get('slave_price', 0):g} "
            f"(master #{m.get('master_ticket')}) latency {m.get('total_ms', 0):.1f} ms, "
            f"slippage {m.get('slippage_points', 0):+.1f} pt"
            + (f" ({m['slippage']:+.1f} {m['slippage_unit']})" if m.get("slippage_unit") else ""))
    return Line(entry.wall, "copy", entry.account, text)


def status(copier: Copier, recent: RecentLines) -> dict[str, Any]:
    rows = view.accounts(copier)
    currency = {r.id: r.currency for r in rows}
    summary = copier.metrics.summary()
    drift = []
    for r in rows:
        if r.role != "slave":
            continue
        s = summary.get(r.id, {})
        drift.append({
            "account": r.id, "broker": r.broker, "drift": r.drift, "currency": r.currency,
            "copies": s.get("copies", 0), "refusals": s.get("refusals", 0), "failures": s.get("failures", 0),
            "latency_p50_ms": s.get("latency_p50_ms"), "latency_p95_ms": s.get("latency_p95_ms"),
            "slippage_mean_money": s.get("slippage_mean_money"),
        })
    positions = []
    for p in view.mirrored_positions(copier):
        item = asdict(p)
        for copy in item["copies"]:
            copy["currency"] = currency.get(copy["slave"], "")
            entry = copier.metrics.entries.get((copy["slave"], p.ticket))
            copy["slippage_money"] = entry.slippage_money if entry is not None else None
        positions.append(item)
    room = [{**asdict(r), "used": r.used, "level": r.level, "text": view.describe_room(r)}
            for r in view.room_left(copier)]
    return {
        "time": copier.clock.time(),
        "copying": copier.copying,
        "accounts": [asdict(r) for r in rows],
        "positions": positions,
        "drift": drift,
        # Per slave with a prop-firm profile: its room left before the firm's limits.
        "room_left": room,
        "journal": [asdict(line) for line in recent.lines()],
    }
