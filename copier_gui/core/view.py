"""Read-only views of the copier's state for displays: accounts, mirrored positions, drift.

The GUI's Qt models and the headless console read these plain values at a steady rate; they never
reach into the copier's live structures, so a display cannot change what the core decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from copier_gui.core import tags
from copier_gui.core.copier import Copier, LinkState, SlaveLink
from copier_gui.core.model import VolumeUnit
from copier_gui.core.room_watch import WARN_AT, countdown


@dataclass(frozen=True, slots=True)
class AccountRow:
    id: str
    role: str  # "master" or "slave"
    broker: str
    server: str
    login: int
    state: str
    detail: str
    currency: str
    balance: float
    equity: float
    copy_enabled: bool
    drift: str  # "ok", "warn", "bad" or "idle", from the slave's tolerances and recent results
    trading: str = "active"  # the risk gate's state: "active", "reducing" (exits only) or "halted"
    trading_detail: str = ""  # why entries are stopped, in the journal's words
    # The account's platform ("mt5", "ctrader") when the copier spans more than one; "" otherwise,
    # where naming it on every row would say nothing.
    platform: str = ""


@dataclass(frozen=True, slots=True)
class SlaveCopyRow:
    slave: str
    symbol: str
    volume: float
    price_open: float
    slippage_points: float | None
    latency_ms: float | None
    state: str  # "mirrored", "pending", "skipped", "failed", "closed at master"
    reason: str = ""
    digits: int | None = None  # the slave symbol's price digits, when the slave knows the symbol
    # The entry's slippage in a unit that compares across symbols (pips or basis points), and in
    # the slave's money: points alone call 2 pips on EURUSD "20" and 2 USD on BTCUSD "200".
    slippage: float | None = None
    slippage_unit: str = ""
    slippage_money: float | None = None
    currency: str = ""
    units: bool = False  # the volume counts units of the asset (cTrader), not lots


@dataclass(frozen=True, slots=True)
class MasterPositionRow:
    ticket: int
    symbol: str
    side: str
    volume: float
    price_open: float
    sl: float
    tp: float
    digits: int
    copies: tuple[SlaveCopyRow, ...]
    units: bool = False  # the volume counts units of the asset (cTrader), not lots


def _drift(copier: Copier, slave: SlaveLink) -> str:
    if slave.state in (LinkState.DISCONNECTED, LinkState.CONNECTING):
        return "bad"
    stats = copier.metrics.slaves.get(slave.id)
    if stats is None or not stats.copies:
        return "idle" if slave.state is LinkState.CONNECTED else "warn"
    # Each recent fill against its own limits (they differ per symbol): the share of its price
    # limit its slippage used, or of its maximum delay its latency used, whichever is larger.
    worst = max(list(stats.tolerance_use)[-20:], default=0.0)
    if slave.state is LinkState.DEGRADED or worst > 1.0:
        return "bad"
    if worst > 0.5 or slave.refused:
        return "warn"
    return "ok"


def accounts(copier: Copier) -> list[AccountRow]:
    platforms = {"master": copier.master.capabilities.platform,
                 **{slave.id: slave.connector.capabilities.platform for slave in copier.slaves.values()}}
    mixed = len(set(platforms.values())) > 1
    rows = []
    m = copier.master_account
    rows.append(AccountRow(
        copier.master_id, "master", m.company if m else "", m.server if m else "", m.login if m else 0,
        copier.master_state.value, "", m.currency if m else "", m.balance if m else 0.0, m.equity if m else 0.0,
        copier.copying, "ok" if copier.master_state is LinkState.CONNECTED else "bad",
        platform=platforms["master"] if mixed else ""))
    for slave in copier.slaves.values():
        a = slave.account
        rows.append(AccountRow(
            slave.id, "slave", slave.broker or (a.company if a else ""), a.server if a else "",
            a.login if a else 0, slave.state.value, slave.last_error, a.currency if a else "",
            a.balance if a else 0.0, a.equity if a else 0.0, slave.copy_enabled, _drift(copier, slave),
            *_trading(copier, slave), platform=platforms[slave.id] if mixed else ""))
    return rows


def _trading(copier: Copier, slave: SlaveLink) -> tuple[str, str]:
    gate = slave.risk_gate
    if gate is not None:
        return gate.state.value, gate.reason
    # Not connected yet: a halt on disk still shows.
    record = copier.risk_store.load(slave.id)
    if record is not None and record.halt is not None:
        return record.halt.state, record.halt.text
    return "active", ""


# The share of a limit used at which the displays turn to the warning colour; at 1 (the limit) danger.
WARN_USED = 0.8


@dataclass(frozen=True, slots=True)
class RoomLeftRow:
    """One slave's distance from its prop-firm limits, for the window, the status page and metrics.

    ``known`` is False until the gate has read the account (figures None or 0 then). Money is in
    ``currency``; a fraction used is 0 on a good day and 1 at the limit (above 1 past it)."""

    slave: str
    known: bool
    currency: str
    daily_limit: float | None
    daily_left: float | None
    daily_used: float | None
    next_reset: float  # UTC seconds; 0 when not known
    reset_in_s: float
    floor: float | None
    to_floor: float | None
    max_loss_used: float | None
    trading_days: int
    min_trading_days: int | None
    state: str  # the risk gate's: "active", "reducing" or "halted"
    reason: str  # why entries are stopped, in the journal's words
    # Under a consistency rule: the best day's share of the profit, in percent, and the most allowed.
    best_day_share: float | None = None
    best_day_limit: float | None = None

    @property
    def used(self) -> float | None:
        """The larger fraction used of the two limits: what the colour follows."""
        used = [u for u in (self.daily_used, self.max_loss_used) if u is not None]
        return max(used) if used else None

    @property
    def level(self) -> str:
        """"ok", "warn" (80% of a limit or more used), "bad" (a limit reached) or "idle" (not read)."""
        if not self.known:
            return "idle"
        used = self.used or 0.0
        return "bad" if used >= 1.0 else "warn" if used >= WARN_AT else "ok"


def room_left(copier: Copier) -> list[RoomLeftRow]:
    """One row per slave whose rules carry a prop-firm profile, in the copier's order."""
    rows = []
    for slave in copier.slaves.values():
        prop = slave.rules.risk.prop
        if prop is None:
            continue
        gate = slave.risk_gate
        room = gate.room_left() if gate is not None else None
        state, reason = _trading(copier, slave)
        if room is None:
            currency = slave.account.currency if slave.account is not None else ""
            rows.append(RoomLeftRow(slave.id, False, currency, None, None, None, 0.0, 0.0, None, None, None, 0,
                                    prop.min_trading_days, state, reason))
            continue
        rows.append(RoomLeftRow(slave.id, True, room.currency, room.daily_limit, room.daily_left, room.daily_used,
                                room.next_reset, room.reset_in_s, room.floor, room.to_floor, room.max_loss_used,
                                room.trading_days, prop.min_trading_days, state, reason,
                                room.best_day_share, room.best_day_limit))
    return rows


def describe_room(row: RoomLeftRow) -> str:
    """The one line a trader reads: "312.40 USD left today (69% used) · reset in 3 h 12 m · 1,204.10 USD
    to the floor · 3 of 4 trading days"; a limit the profile does not set is left out."""
    if not row.known:
        return "waiting for the account's first reading"
    ccy = f" {row.currency}" if row.currency else ""
    parts = []
    if row.daily_left is not None and row.daily_used is not None:
        parts.append(f"{row.daily_left:,.2f}{ccy} left today ({row.daily_used:.0%} used)")
    parts.append(f"reset in {countdown(row.reset_in_s)}")
    if row.to_floor is not None:
        parts.append(f"{row.to_floor:,.2f}{ccy} to the floor")
    days = row.trading_days
    if row.min_trading_days is not None:
        parts.append(f"{days} of {row.min_trading_days} trading days")
    else:
        parts.append(f"{days} trading day{'' if days == 1 else 's'}")
    if row.best_day_share is not None:
        most = f" (at most {row.best_day_limit:g}%)" if row.best_day_limit is not None else ""
        parts.append(f"best day {row.best_day_share:.0f}% of the profit{most}")
    return " · ".join(parts)


def _digits(slave: SlaveLink, symbol: str) -> int | None:
    spec = slave.symbols.get(symbol)
    return spec.digits if spec is not None else None


def _units(spec) -> bool:
    return spec is not None and spec.volume_unit is VolumeUnit.UNITS


def mirrored_positions(copier: Copier) -> list[MasterPositionRow]:
    """Each open master position with one row per slave saying what that slave holds for it."""
    master = copier.master_snapshot
    if master is None:
        return []
    entries = copier.metrics.entries
    held: dict[str, dict[int, list]] = {}
    for slave in copier.slaves.values():
        by_ticket: dict[int, list] = {}
        if slave.last_snapshot is not None:
            for p in slave.last_snapshot.positions:
                if p.magic == slave.magic:
                    ticket = tags.master_ticket_of(p.comment)
                    if ticket is not None:
                        by_ticket.setdefault(ticket, []).append(p)
        held[slave.id] = by_ticket
    rows = []
    for pos in master.positions:
        spec = copier.master_symbols.get(pos.symbol)
        children = []
        for slave in copier.slaves.values():
            mine = held[slave.id].get(pos.ticket, [])
            entry = entries.get((slave.id, pos.ticket))
            slip, latency = (entry.slippage_points, entry.total_ms) if entry is not None else (None, None)
            drift = {} if entry is None else {
                "slippage": entry.slippage, "slippage_unit": entry.slippage_unit,
                "slippage_money": entry.slippage_money, "currency": slave.account.currency if slave.account else ""}
            if mine:
                volume = sum(p.volume for p in mine)
                price = sum(p.price_open * p.volume for p in mine) / volume if volume else 0.0
                children.append(SlaveCopyRow(slave.id, mine[0].symbol, round(volume, 8), price, slip, latency,
                                             "mirrored", digits=_digits(slave, mine[0].symbol),
                                             units=_units(slave.symbols.get(mine[0].symbol)), **drift))
                continue
            mapped = slave.symbol_map.resolve(pos.symbol).slave_symbol if slave.symbol_map else None
            if not slave.connector.capabilities.hedging and slave.last_snapshot is not None:
                # A netting account holds one position per symbol for all master positions.
                net = next((p for p in slave.last_snapshot.positions
                            if p.symbol == mapped and p.magic == slave.magic), None)
                if net is not None:
                    children.append(SlaveCopyRow(slave.id, net.symbol, net.volume, net.price_open, slip, latency,
                                                 "mirrored (net)", f"net {net.side.value} position on {net.symbol}",
                                                 _digits(slave, net.symbol), units=_units(slave.symbols.get(net.symbol)),
                                                 **drift))
                    continue
            reason = slave.refused.get(pos.ticket, "")
            failure = next((text for (ticket, _), (text, _) in (slave.executor.failed.items() if slave.executor else [])
                            if ticket == pos.ticket), "")
            if reason:
                state = "skipped"
            elif failure:
                state, reason = "failed", failure
            elif slave.risk_gate is not None and not slave.risk_gate.entries_allowed:
                # A halted slave plans nothing, so no refusal names the ticket: say why here.
                state, reason = "skipped", f"{slave.risk_gate.reason or 'risk: entries stopped'}; exits only"
            elif not copier.entries_allowed(slave):
                state, reason = "skipped", "copying is off" if copier.master_state is LinkState.CONNECTED else \
                    "master not connected"
            else:
                state = "pending"
            children.append(SlaveCopyRow(slave.id, mapped or pos.symbol, 0.0, 0.0, slip, latency, state, reason,
                                         _digits(slave, mapped or pos.symbol), **drift))
        rows.append(MasterPositionRow(pos.ticket, pos.symbol, pos.side.value, pos.volume, pos.price_open, pos.sl,
                                      pos.tp, spec.digits if spec else 5, tuple(children), units=_units(spec)))
    return rows
