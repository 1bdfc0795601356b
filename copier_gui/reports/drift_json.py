"""The drift report as JSON: the period and each slave's figures as ``SlaveDrift.as_json`` gives
them (money rounded to cents, in the slave's currency), for scripts and other tools."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping

from copier_gui.core.drift_ledger import SlaveDrift

__all__ = ["render_json", "report_json"]


def _iso(wall: float | None) -> str | None:
    if wall is None:
        return None
    return dt.datetime.fromtimestamp(wall, dt.UTC).isoformat().replace("+00:00", "Z")


def report_json(drifts: Mapping[str, SlaveDrift], *, start: float | None, end: float,
                generated_wall: float) -> dict:
    """``{"period": {"from", "to", "generated"}, "drift": {slave: ...}}``; times are UTC ISO 8601,
    ``from`` None for everything before ``to``. The period holds the trades the master opened in
    [from, to)."""
    return {
        "period": {"from": _iso(start), "to": _iso(end), "generated": _iso(generated_wall)},
        "drift": {slave: d.as_json() for slave, d in drifts.items()},
    }


def render_json(drifts: Mapping[str, SlaveDrift], *, start: float | None, end: float,
                generated_wall: float) -> str:
    report = report_json(drifts, start=start, end=end, generated_wall=generated_wall)
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
