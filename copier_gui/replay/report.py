"""What a replay writes down: each account's positions and orders, the journal, when each copy was
requested and filled, all in virtual seconds from the scenario's start, and each slave's drift.

Everything here only reads: taking a checkpoint in the middle of a run changes nothing the copier
sees, so a scenario with checkpoints plays exactly as one without.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping

from copier_gui.core import tags
from copier_gui.core.drift_ledger import DriftLedger, Marks, SlaveDrift
from copier_gui.core.journal import JournalEntry
from copier_gui.core.view import RoomLeftRow


def account_report(role: str, profile: str, view: tuple, master_ids: dict[str, int]) -> dict:
    """An account's balance, equity, positions and orders, each linked to the master's id.

    ``view`` is (account, positions, orders) as the broker's side shows them (a simulated MT5
    terminal's ``sim.view()``, or a cTrader account's, in the same shape)."""
    info, positions, orders = view
    positions = sorted(positions, key=lambda p: (p.symbol, p.comment, p.ticket))
    orders = sorted(orders, key=lambda o: (o.symbol, o.comment, o.ticket))
    names = {ticket: name for name, ticket in master_ids.items()}

    def link(comment: str, ticket: int) -> dict:
        master = tags.master_ticket_of(comment) if role == "slave" else ticket
        return {"tag": comment, "master_ticket": master, "master_id": names.get(master)}

    return {
        "role": role,
        "profile": profile,
        "currency": info.currency,
        "balance": info.balance,
        "equity": info.equity,
        "positions": [{"symbol": p.symbol, "side": "buy" if p.type == 0 else "sell", "volume": p.volume,
                       "price_open": p.price_open, "sl": p.sl, "tp": p.tp, "magic": p.magic,
                       **link(p.comment, p.ticket)} for p in positions],
        "orders": [{"symbol": o.symbol, "type": o.type, "volume": o.volume_current, "price": o.price_open,
                    "sl": o.sl, "tp": o.tp, "magic": o.magic, **link(o.comment, o.ticket)} for o in orders],
    }


def room_report(rows: list[RoomLeftRow]) -> dict:
    """Per prop-firm slave, its room left as the window shows it: money left today before the daily
    limit, the next reset, the distance to the maximum-loss floor, the trading days, and the gate's
    state and reason. Times are UTC."""
    report = {}
    for row in rows:
        report[row.slave] = {
            "known": row.known, "currency": row.currency, "state": row.state, "reason": row.reason,
            "daily_limit": row.daily_limit, "daily_left": row.daily_left, "daily_used": row.daily_used,
            "next_reset": _utc(row.next_reset) if row.known else None,
            "reset_in_s": round(row.reset_in_s, 3) if row.known else None,
            "floor": row.floor, "to_floor": row.to_floor, "max_loss_used": row.max_loss_used,
            "trading_days": row.trading_days, "min_trading_days": row.min_trading_days,
            "best_day_share": row.best_day_share, "best_day_limit": row.best_day_limit,
        }
    return report


def _utc(seconds: float) -> str:
    return _dt.datetime.fromtimestamp(seconds, _dt.UTC).isoformat()


def journal_report(entries: list[JournalEntry], start: float) -> list[dict]:
    """The copier's journal, oldest first: when, which account, what kind, which copy, what."""
    return [{"at_s": round(e.wall - start, 6), "account": e.account, "kind": e.kind, "copy_id": e.copy_id,
             "text": e.message} for e in entries]


def copy_times(entries: list[JournalEntry], copies: list[dict], start: float) -> list[dict]:
    """``copies`` with when each one's request was sent and its fill received.

    The send is the first attempt under the copy's ID since that ID's previous fill, so requotes
    and retries count from the first attempt. A result is journaled when its answer arrives, with
    the broker's round trip, which places the send.
    """
    first_sent: dict[str, float] = {}
    fills: dict[str, list[tuple[float | None, float]]] = {}
    for e in entries:
        if e.copy_id is None:
            continue
        if e.kind == "result" and "broker_ms" in e.data:
            first_sent.setdefault(e.copy_id, e.wall - float(e.data["broker_ms"]) / 1000.0)
        elif e.kind == "info" and "metrics" in e.data:
            fills.setdefault(e.copy_id, []).append((first_sent.pop(e.copy_id, None), e.wall))
    out = []
    for copy in copies:
        sent, received = None, None
        queue = fills.get(copy.get("copy_id", ""))
        if queue:
            sent, received = queue.pop(0)
        out.append({**copy,
                    "request_sent_at_s": None if sent is None else round(sent - start, 6),
                    "fill_received_at_s": None if received is None else round(received - start, 6)})
    return out


def terminal_marks(views: Mapping[str, tuple]) -> Marks:
    """account -> symbol -> side -> the price each open position closes at now, as its broker
    shows it (``price_current``): what drift values a trade still open at the end of a run at."""
    marks: dict[str, dict[str, dict[str, float]]] = {}
    for account, view in views.items():
        _, positions, _ = view
        for p in sorted(positions, key=lambda p: (p.symbol, p.type, p.ticket)):
            if p.price_current > 0:
                side = "buy" if p.type == 0 else "sell"
                marks.setdefault(account, {}).setdefault(p.symbol, {})[side] = p.price_current
    return marks


def slave_drifts(entries: list[JournalEntry], marks: Marks) -> dict[str, SlaveDrift]:
    """Each slave's drift over the whole run, folded from its journal as a live report folds it;
    ``marks`` value what is still open when the run ends."""
    ledger = DriftLedger()
    ledger.feed(entries)
    return ledger.drift(marks=marks)


def drift_report(drifts: Mapping[str, SlaveDrift]) -> dict:
    """The report's ``drift`` section: slave -> tracking difference, ideal, actual and parts."""
    return {slave: drift.as_json() for slave, drift in sorted(drifts.items())}


def _rounded(value):
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


def report_bytes(report: dict) -> bytes:
    """Sorted keys and six decimals: the same report is the same bytes on every machine."""
    return (json.dumps(_rounded(report), indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
