"""Each slave's tracking difference over a period, rebuilt from the journal alone.

The journal holds what attribution needs (core.attribution explains the split): each master event
with its prices and volumes, each copy's fill with the slave's quote, volumes and money per price
unit, each refusal with its cause, each slave's currency, and the prices of open positions at least
once a minute ("marks"). So a live session, a day read back from disk and a replay all go through
this one fold, and their figures mean the same.

A master trade belongs to a period when the master opened it inside it. Exits after the period's
end are not counted; what is still open at the end is valued at the latest marks at or before it.
A trade that cannot be valued (no mark for an open remainder, no money per price unit for a missed
trade) is left out of the figures and listed with the reason, never silently dropped.

Trades the slave's rules leave out (filters, ``copy_pending``) are no part of what perfect copying
under those rules would make, so they count neither as ideal nor as missed; they are only counted.

The two sides' volumes never meet directly: a slave's volume counts its own lots (of its own
contract) or units, the master's its own. The master's costs scale by exposure (see
``_master_costs``), from what the copier journaled with each copy about one volume on either side.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from copier_gui.core.attribution import (
    PARTS,
    Attribution,
    CopiedTrade,
    TradeAttribution,
    attribute_trade,
    summarise,
)
from copier_gui.core.journal import JournalEntry, Kind

# account -> symbol -> side ("buy"/"sell") -> the price a position on that side closes at now
Marks = Mapping[str, Mapping[str, Mapping[str, float]]]

_EPS = 1e-9
_ENTRY_ACTIONS = ("open", "topup")
_EXIT_ACTIONS = ("close", "reduce")
_SIGN = {"buy": 1, "sell": -1}


@dataclass
class _MasterTrade:
    ticket: int
    symbol: str
    side: int
    opened_wall: float
    entry: float
    volume_in: float
    exits: list[tuple[float, float, float]] = field(default_factory=list)  # (wall, volume, price)
    reversed: bool = False  # a netting position that took the other side under its id


@dataclass
class _SlaveCopy:
    side: int = 0
    symbol: str = ""
    entries: list[tuple[float, float, float, float]] = field(default_factory=list)  # wall, vol, price, quote
    exits: list[tuple[float, float, float, float]] = field(default_factory=list)  # wall, vol, price, entry
    ideal: float = 0.0
    sized: float = 0.0
    master_volume: float = 0.0
    money_per_price_lot: float = 0.0
    units: _Units | None = None  # what one volume holds on either side, as journaled with the entry
    refusal: tuple[str, dict] | None = None  # the latest: (reason, drift data)


@dataclass(frozen=True, slots=True)
class _Units:
    """What one volume holds on either side of a copy, as the copier journaled it (0.0: not
    journaled, as in journals written before it was): the units of the base asset in one slave
    volume and in one master volume (a lot's contract, or one for a platform counting units), and
    the money, in the master's currency, one price unit makes on one master volume."""

    slave_per_volume: float = 0.0
    master_per_volume: float = 0.0
    master_money_per_price_lot: float = 0.0

    @classmethod
    def read(cls, data: dict) -> _Units:
        return cls(*(_positive(data.get(name)) for name in (
            "slave_per_volume", "master_per_volume", "master_money_per_price_lot")))

    def filled_from(self, slave_per_volume: float, master: _Units | None) -> _Units:
        """These, with what is missing taken from another record of the same symbols."""
        master = master or _Units()
        return _Units(self.slave_per_volume or slave_per_volume,
                      self.master_per_volume or master.master_per_volume,
                      self.master_money_per_price_lot or master.master_money_per_price_lot)


@dataclass(frozen=True, slots=True)
class TradeRow:
    """One master trade as one slave took it: for a report's table."""

    master_ticket: int
    symbol: str
    side: str
    opened_wall: float
    status: str  # "closed", "open", "missed" or "sized out"
    total: float
    parts: dict[str, float]
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SlaveDrift:
    slave: str
    currency: str
    attribution: Attribution
    series: list[tuple[float, float]]  # (UTC s, cumulative tracking difference), in time order
    trades: list[TradeRow]
    excluded: int  # master trades this slave's rules leave out
    unvalued: list[str]  # trades left out of the figures, each with why

    @property
    def tracking_difference(self) -> float:
        return self.attribution.total

    def as_json(self) -> dict:
        a = self.attribution
        return {
            "currency": self.currency,
            "tracking_difference": _cents(a.total),
            "ideal": _cents(a.ideal),
            "actual": _cents(a.actual),
            "attribution": {part: _cents(a.parts[part]) for part in PARTS},
            "trades": len(self.trades),
            "missed": sum(1 for t in self.trades if t.status == "missed"),
            "excluded": self.excluded,
            "unvalued": list(self.unvalued),
        }


class DriftLedger:
    """Folds journal entries, in any number of batches, into each slave's drift."""

    def __init__(self) -> None:
        self.master_id = ""
        self.slaves: list[str] = []
        self.currencies: dict[str, str] = {}
        self._masters: dict[int, _MasterTrade] = {}
        self._copies: dict[tuple[str, int], _SlaveCopy] = {}
        self._marks: list[tuple[float, dict]] = []
        # (account, master ticket) -> position -> [(when read, its deals)]: each read holds all the
        # position did so far, so the latest read before a period's end counts
        self._deals: dict[tuple[str, int], dict[int, list[tuple[float, list]]]] = {}
        # (slave, master ticket) -> a trade closed on both sides, whose figures no later period end
        # or mark changes: kept until an entry about that trade arrives, so a refresh over a long
        # session only values what is still open.
        self._final: dict[tuple[str, int], _Valued] = {}
        # What one volume holds, learnt from any copy or refusal that journaled it, for one that did
        # not (a refusal planned before the copier knew the master's symbol): per master symbol for
        # the master's side, per (slave, slave symbol) for the slave's.
        self._master_units: dict[str, _Units] = {}
        self._slave_units: dict[tuple[str, str], float] = {}
        self.last_seq = 0
        self.last_wall = 0.0

    # ------------------------------------------------------------------ reading the journal
    def feed(self, entries: Iterable[JournalEntry]) -> None:
        """Take entries oldest first (a later batch continues where the last one ended)."""
        for e in entries:
            self.last_seq = max(self.last_seq, e.seq)
            self.last_wall = max(self.last_wall, e.wall)
            handler = _HANDLERS.get(e.kind)
            if handler is not None:
                handler(self, e)
                self._forget_final(e)

    def _forget_final(self, e: JournalEntry) -> None:
        data = e.data
        metrics = data.get("metrics")
        ticket = data.get("ticket", data.get("master_ticket"))
        if ticket is None and isinstance(metrics, dict):
            ticket = metrics.get("master_ticket")
        if ticket is None:
            return
        if e.account == self.master_id or e.kind == Kind.MASTER_EVENT:
            for slave in self.slaves:
                self._final.pop((slave, int(ticket)), None)
        else:
            self._final.pop((e.account, int(ticket)), None)

    def _state(self, e: JournalEntry) -> None:
        data = e.data
        if "slaves" in data:  # "copier starting" names the master and its slaves
            self.master_id = e.account
            for slave in data["slaves"]:
                self._slave(slave)
        if data.get("currency"):
            self.currencies[e.account] = str(data["currency"])

    def _slave(self, slave: str) -> None:
        if slave and slave != self.master_id and slave not in self.slaves:
            self.slaves.append(slave)

    def _master_event(self, e: JournalEntry) -> None:
        data = e.data
        if "side" not in data or "ticket" not in data:
            return  # an event without a position (a pending order) or journaled before prices were
        self.master_id = self.master_id or e.account
        ticket = int(data["ticket"])
        what = data.get("kind_of_event")
        volume, previous = float(data["volume"]), float(data.get("previous_volume") or 0.0)
        trade = self._masters.get(ticket)
        if what in ("opened", "pending_triggered") or (what == "held" and trade is None):
            # "held": found open as copying started, opened while no copier ran (or before the
            # journal's first entry); dated by its own fill time when the copier knew it.
            opened = float(data.get("opened_wall") or e.wall) if what == "held" else e.wall
            self._masters[ticket] = _MasterTrade(ticket, str(data["symbol"]), _SIGN[data["side"]], opened,
                                                 float(data["price_open"]), volume)
        elif trade is None:
            return  # opened before the journal's first entry
        elif what == "increased":
            trade.volume_in += max(0.0, volume - previous)
            trade.entry = float(data["price_open"])  # the netting average, as the terminal keeps it
        elif what == "closed":
            trade.exits.append((e.wall, previous or volume, float(data["price"])))
        elif what == "partially_closed":
            trade.exits.append((e.wall, max(0.0, previous - volume), float(data["price"])))
        elif what == "reversed":
            trade.reversed = True

    def _copied(self, e: JournalEntry) -> None:
        m = e.data.get("metrics")
        if not isinstance(m, dict) or not m.get("side"):
            return
        self._slave(e.account)
        ticket = int(m["master_ticket"])
        copy = self._copies.setdefault((e.account, ticket), _SlaveCopy())
        copy.side = _SIGN[m["side"]]
        copy.symbol = str(m["symbol"])
        k = float(m.get("money_per_price_lot") or 0.0)
        copy.money_per_price_lot = k or copy.money_per_price_lot
        volume, price = float(m["volume"]), float(m["slave_price"])
        if m["action"] in _ENTRY_ACTIONS:
            copy.entries.append((e.wall, volume, price, float(m.get("quote") or price)))
            if m["action"] == "open" and float(m.get("ideal_volume") or 0.0) > 0:
                copy.ideal = float(m["ideal_volume"])
                copy.sized = float(m.get("sized_volume") or 0.0)
                copy.master_volume = float(m.get("master_volume") or 0.0)
                copy.units = self._learn_units(e.account, ticket, copy.symbol, m)
        elif m["action"] in _EXIT_ACTIONS:
            copy.exits.append((e.wall, volume, price, float(m.get("entry_price") or 0.0)))

    def _refusal(self, e: JournalEntry) -> None:
        data = e.data
        if "master_ticket" not in data:
            return
        self._slave(e.account)
        copy = self._copies.setdefault((e.account, int(data["master_ticket"])), _SlaveCopy())
        drift = data.get("drift") if isinstance(data.get("drift"), dict) else {}
        copy.refusal = (e.message, drift)
        if drift.get("symbol"):
            self._learn_units(e.account, int(data["master_ticket"]), str(drift["symbol"]), drift)

    def _learn_units(self, slave: str, ticket: int, symbol: str, data: dict) -> _Units:
        units = _Units.read(data)
        if units.slave_per_volume:
            self._slave_units[(slave, symbol)] = units.slave_per_volume
        master = self._masters.get(ticket)
        if master is not None and (units.master_per_volume or units.master_money_per_price_lot):
            own = _Units(0.0, units.master_per_volume, units.master_money_per_price_lot)
            self._master_units[master.symbol] = own.filled_from(0.0, self._master_units.get(master.symbol))
        return units

    def _units(self, slave: str, m: _MasterTrade, symbol: str, units: _Units | None) -> _Units:
        """What one volume holds on either side of ``slave``'s copy of ``m`` in ``symbol``."""
        return (units or _Units()).filled_from(self._slave_units.get((slave, symbol), 0.0),
                                               self._master_units.get(m.symbol))

    def _deals_entry(self, e: JournalEntry) -> None:
        data = e.data
        if "master_ticket" not in data or not isinstance(data.get("deals"), list):
            return
        by_position = self._deals.setdefault((e.account, int(data["master_ticket"])), {})
        by_position.setdefault(int(data.get("position") or 0), []).append((e.wall, data["deals"]))

    def _booked(self, account: str, ticket: int, side: int, end: float) -> _Booked | None:
        """What the broker booked for this account's position(s) of ``ticket`` by ``end``: fills in
        ``side``'s direction are entries, the others exits."""
        latest = [next((rows for wall, rows in reversed(reads) if wall < end), None)
                  for reads in self._deals.get((account, ticket), {}).values()]
        rows = [row for found in latest if found for row in found]
        walls = [wall for reads in self._deals.get((account, ticket), {}).values() for wall, _ in reads if wall < end]
        if not walls:
            return None
        direction = "buy" if side > 0 else "sell"
        return _Booked(entries=[(float(r[1]), float(r[2])) for r in rows if r[0] == direction],
                       exits=[(float(r[1]), float(r[2])) for r in rows if r[0] != direction],
                       commission=math.fsum(float(r[3]) for r in rows), swap=math.fsum(float(r[4]) for r in rows),
                       read_at=max(walls))

    def _failed_entry(self, e: JournalEntry) -> None:
        # A broker's "no" to an entry (only those carry drift data) is why the trade was missed,
        # unless a later try fills it: fills count before any reason.
        if isinstance(e.data.get("drift"), dict):
            self._refusal(e)

    def _marks_entry(self, e: JournalEntry) -> None:
        if isinstance(e.data.get("marks"), dict):
            self._marks.append((e.wall, e.data["marks"]))

    # ------------------------------------------------------------------ the figures
    def marks_at(self, end: float) -> Marks:
        """The latest journaled marks at or before ``end`` (empty if none)."""
        best: dict = {}
        for wall, marks in self._marks:
            if wall <= end:
                best = marks
        return best

    def drift(self, *, start: float | None = None, end: float | None = None,
              marks: Marks | None = None) -> dict[str, SlaveDrift]:
        """Each slave's drift over the master trades opened in [start, end).

        ``marks`` values what is still open at ``end`` (default: the journal's own, at or before
        ``end``). ``end`` defaults to just after the latest entry fed.
        """
        start = -math.inf if start is None else start
        end = (self.last_wall + 1e-6) if end is None else end
        marks = self.marks_at(end) if marks is None else marks
        trades = sorted((t for t in self._masters.values() if start <= t.opened_wall < end),
                        key=lambda t: (t.opened_wall, t.ticket))
        return {slave: self._slave_drift(slave, trades, start, end, marks) for slave in self.slaves}

    def _slave_drift(self, slave: str, masters: list[_MasterTrade], start: float, end: float,
                     marks: Marks) -> SlaveDrift:
        copied: list[_Valued] = []
        unvalued: list[str] = []
        excluded = 0
        k_memo: list[dict[str, float]] = []

        def k_by_symbol() -> dict[str, float]:
            if not k_memo:
                k_memo.append({c.symbol: c.money_per_price_lot for (s, _), c in self._copies.items()
                               if s == slave and c.money_per_price_lot > 0})
            return k_memo[0]

        for m in masters:
            if m.reversed:
                # Both sides' copies are under the one master ticket, and one side's figures would
                # be read against the other's: named, not valued.
                unvalued.append(f"master #{m.ticket} {m.symbol}: reversed in place (a netting account); "
                                "its drift is not valued")
                continue
            kept = self._final.get((slave, m.ticket))
            if kept is not None and kept.done_at < end:
                copied.append(kept)
                continue
            copy = self._copies.get((slave, m.ticket))
            where = f"master #{m.ticket} {m.symbol}"
            if copy is None:
                unvalued.append(f"{where}: no copy and no refusal journaled for {slave}")
                continue
            if not copy.entries and not copy.exits and copy.refusal and copy.refusal[1].get("cause") == "excluded":
                excluded += 1
                continue
            view = self._master_view(m, end, marks)
            if view is None:
                unvalued.append(f"{where}: still open at the period's end and no price of it was journaled")
                continue
            try:
                trade, done_at, final = self._trade(slave, m, view, copy, end, marks, k_by_symbol)
            except ValueError as exc:
                unvalued.append(f"{where}: {exc}")
                continue
            status, reason = _status(copy)
            part = attribute_trade(trade)
            row = TradeRow(m.ticket, m.symbol, "buy" if m.side > 0 else "sell", m.opened_wall,
                           status if status != "copied" else ("open" if trade.is_open else "closed"),
                           part.total, part.parts, reason)
            valued = _Valued(part, done_at, row)
            if final:
                self._final[(slave, m.ticket)] = valued
            copied.append(valued)
        other, unmatched = self._unmatched(slave, start, end)
        unvalued.extend(unmatched)
        attribution = summarise([v.part for v in copied], self.currencies.get(slave, ""), other)
        rows, series, running = [v.row for v in copied], [], 0.0
        for valued in sorted(copied, key=lambda v: v.done_at):
            running += valued.part.total
            series.append((valued.done_at, running))
        return SlaveDrift(slave, self.currencies.get(slave, ""), attribution, series, rows, excluded, unvalued)

    def _unmatched(self, slave: str, start: float, end: float) -> tuple[float, list[str]]:
        """What the slave's copies of master trades this journal never shows made (a pending copy
        that filled at the slave while the master's order did not, a copy of a trade from before
        the journal): no master trade is behind it, so it counts under residual, from the broker's
        own deals of the copies closed in the period. One still open is listed instead."""
        made, notes = [], []
        for (account, ticket), by_position in self._deals.items():
            if account != slave or ticket in self._masters:
                continue
            reads = [(wall, rows) for found in by_position.values() for wall, rows in found if wall < end]
            if not reads or not start <= min(w for w, _ in reads) < end:
                continue
            latest = [next((rows for wall, rows in reversed(found) if wall < end), []) for found in by_position.values()]
            rows = [r for found in latest for r in found]
            bought = math.fsum(float(r[1]) for r in rows if r[0] == "buy")
            sold = math.fsum(float(r[1]) for r in rows if r[0] == "sell")
            if abs(bought - sold) > 1e-6:
                notes.append(f"master #{ticket}: {slave} holds a copy of a master trade this journal does not show, "
                             "still open")
                continue
            made.append(math.fsum(float(r[5]) + float(r[3]) + float(r[4]) for r in rows))
        return math.fsum(made), notes

    def _master_view(self, m: _MasterTrade, end: float, marks: Marks) -> _MasterView | None:
        """The master trade by ``end``: from its broker's deals once they show it closed (exact
        prices, whatever the copier saw), else from its events and the marks; None when still open
        with no price."""
        booked = self._booked(self.master_id, m.ticket, m.side, end)
        costs = (booked.commission, booked.swap) if booked else (0.0, 0.0)
        if booked and booked.entries and booked.closed:
            volume = math.fsum(v for v, _ in booked.entries)
            return _MasterView(_vwap(booked.entries), volume, _vwap(booked.exits), True,
                               max(booked.read_at, m.opened_wall), *costs)
        close, done = _close_price(m.exits, m.volume_in, end, _mark(marks, self.master_id, m.symbol, m.side))
        if close is None:
            return None
        done_at = max((w for w, _, _ in m.exits), default=m.opened_wall)
        return _MasterView(m.entry, m.volume_in, close, done, done_at, *costs)

    def _trade(self, slave: str, m: _MasterTrade, view: _MasterView, copy: _SlaveCopy, end: float, marks: Marks,
               k_by_symbol) -> tuple[CopiedTrade, float, bool]:
        """The trade as attribution takes it, when it was done (``end`` if it is not), and whether
        its figures are final: closed on both sides before ``end``, independent of any mark."""
        master = {"master_entry": view.entry, "master_exit": view.close if view.done else None,
                  "master_mark": None if view.done else view.close}
        entries = [x for x in copy.entries if x[0] < end]
        if entries or copy.exits:
            trade, done_at, final = self._taken(slave, m, view, copy, entries, end, marks, master)
            return trade, done_at, final
        if copy.refusal is None:
            # Filled after the end (a round ends its period at "now", then reads what was journaled
            # meanwhile): at the end it was on its way, neither held nor refused.
            raise ValueError(f"{slave}'s copy of it was still on its way at the period's end")
        reason, data = copy.refusal
        side = _SIGN.get(str(data.get("side")), m.side)
        own_k = float(data.get("money_per_price_lot") or 0.0)
        k = own_k or k_by_symbol().get(str(data.get("symbol")), 0.0)
        if k <= 0:
            raise ValueError(f"{slave} refused it ({reason}) and its money per price unit is unknown")
        ideal = float(data.get("ideal_volume") or 0.0)
        sized_out = data.get("cause") == "sizing"
        units = self._units(slave, m, str(data.get("symbol") or ""), _Units.read(data))
        trade = CopiedTrade(
            side=side, ideal_volume=ideal, intended_volume=0.0, filled_volume=0.0, money_per_price_unit_per_lot=k,
            missed_reason=None if sized_out else reason, key=f"#{m.ticket}", **master,
            **_master_costs(view, ideal, k, units))
        # Valued with another copy's money per price unit, it may change when a later copy does.
        return trade, view.done_at if view.done else end, view.done and own_k > 0

    def _taken(self, slave: str, m: _MasterTrade, view: _MasterView, copy: _SlaveCopy, entries: list,
                end: float, marks: Marks, master: dict) -> tuple[CopiedTrade, float, bool]:
        journaled_in = math.fsum(v for _, v, _, _ in entries)
        journaled_out = math.fsum(v for w, v, _, _ in copy.exits if w < end)
        booked = self._booked(slave, m.ticket, copy.side, end)
        costs = (booked.commission, booked.swap) if booked else (0.0, 0.0)
        if booked and booked.entries and booked.covers(journaled_in, journaled_out):
            # The broker's record, which holds fills a crash kept out of the journal.
            filled = math.fsum(v for v, _ in booked.entries)
            slave_entry = _vwap(booked.entries)
            exits = [(booked.read_at, v, p) for v, p in booked.exits]
            last_exit = booked.read_at if booked.exits else m.opened_wall
        elif journaled_in > _EPS:
            filled, slave_entry = journaled_in, _vwap((v, p) for _, v, p, _ in entries)
            exits = [(w, v, p) for w, v, p, _ in copy.exits if w < end]
            last_exit = max((w for w, _, _ in exits), default=m.opened_wall)
        else:
            # Filled by the slave's broker from a pending copy: the exits carry its entry price.
            opened = [(v, e) for w, v, _, e in copy.exits if w < end and e > 0]
            filled = math.fsum(v for v, _ in opened)
            if filled <= _EPS:
                raise ValueError(f"{slave}'s entry was not journaled")
            slave_entry = _vwap(opened)
            exits = [(w, v, p) for w, v, p, _ in copy.exits if w < end]
            last_exit = max((w for w, _, _ in exits), default=m.opened_wall)
        if not _closed(exits, filled) and copy.refusal and copy.refusal[1].get("cause") == "closed_at_slave":
            raise ValueError(f"{slave}'s copy was closed at the slave (its stop, a stop-out or by hand) and the "
                             "deals that closed it were not read")
        quote = _vwap((v, q) for _, v, _, q in entries) if journaled_in > _EPS else slave_entry
        slave_close, slave_done = _close_price(exits, filled, end, _mark(marks, slave, copy.symbol, copy.side))
        if slave_close is None:
            raise ValueError(f"{slave}'s copy is still open at the period's end and no price of it was journaled")
        scale = view.volume / copy.master_volume if copy.master_volume > _EPS else 1.0
        ideal = copy.ideal * scale if copy.ideal > 0 else filled
        intended = max(copy.sized * scale if copy.sized > 0 else filled, filled)
        trade = CopiedTrade(
            side=copy.side, ideal_volume=ideal, intended_volume=intended, filled_volume=filled,
            money_per_price_unit_per_lot=copy.money_per_price_lot, slave_quote_at_request=quote,
            slave_entry=slave_entry, slave_exit=slave_close if slave_done else None,
            slave_mark=None if slave_done else slave_close, key=f"#{m.ticket}",
            slave_commission=costs[0], slave_swap=costs[1], **master,
            **_master_costs(view, ideal, copy.money_per_price_lot, self._units(slave, m, copy.symbol, copy.units)))
        final = view.done and slave_done
        return trade, max(last_exit, view.done_at) if final else end, final


def _master_costs(view: _MasterView, ideal: float, k: float, units: _Units) -> dict:
    """The master's costs as perfect copying would pay them: scaled by the ideal copy's exposure
    over the master's, as its P&L is, and in the slave's currency.

    ``ideal`` counts the slave's volumes and ``view.volume`` the master's, which may hold other
    amounts (0.2 lot of a Dow at 10 a lot is 2 lots at 1 a lot; 50,000 units are 0.5 lot of
    EURUSD), so their ratio alone is no share. What one price unit makes on either side (``k``, the
    slave's money per price unit on one of its volumes, and the master's) is the exposure in each
    account's money, which converts the master's costs too; failing that, the units of the base
    asset per volume on either side give the exposure; journals without either keep what they
    always meant: lots of equal contract.
    """
    if view.volume <= _EPS:
        return {"master_commission_scaled": 0.0, "master_swap_scaled": 0.0}
    if k > 0 and units.master_money_per_price_lot > 0:
        share = ideal * k / (view.volume * units.master_money_per_price_lot)
    elif units.slave_per_volume > 0 and units.master_per_volume > 0:
        share = ideal * units.slave_per_volume / (view.volume * units.master_per_volume)
    else:
        share = ideal / view.volume
    return {"master_commission_scaled": view.commission * share, "master_swap_scaled": view.swap * share}


def _positive(value) -> float:
    try:
        number = float(value or 0.0)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) and number > 0 else 0.0


@dataclass(frozen=True, slots=True)
class _Booked:
    entries: list[tuple[float, float]]  # (volume, price)
    exits: list[tuple[float, float]]
    commission: float
    swap: float
    read_at: float

    @property
    def closed(self) -> bool:
        opened = math.fsum(v for v, _ in self.entries)
        return opened > _EPS and math.fsum(v for v, _ in self.exits) >= opened - _EPS * max(1.0, opened)

    def covers(self, journaled_in: float, journaled_out: float) -> bool:
        """At least every fill the journal has: the broker's record is as recent as the journal."""
        slack = 1e-6
        return (math.fsum(v for v, _ in self.entries) >= journaled_in - slack
                and math.fsum(v for v, _ in self.exits) >= journaled_out - slack)


@dataclass(frozen=True, slots=True)
class _MasterView:
    entry: float
    volume: float
    close: float
    done: bool
    done_at: float
    commission: float
    swap: float


_HANDLERS = {
    Kind.STATE: DriftLedger._state,
    Kind.MASTER_EVENT: DriftLedger._master_event,
    Kind.INFO: DriftLedger._copied,
    Kind.REFUSAL: DriftLedger._refusal,
    Kind.RESULT: DriftLedger._failed_entry,
    Kind.MARKS: DriftLedger._marks_entry,
    Kind.DEALS: DriftLedger._deals_entry,
}


@dataclass(frozen=True, slots=True)
class _Valued:
    part: TradeAttribution
    done_at: float
    row: TradeRow


def _status(copy: _SlaveCopy) -> tuple[str, str]:
    if copy.entries or copy.exits:
        return "copied", ""
    reason, data = copy.refusal  # type: ignore[misc]
    return ("sized out" if data.get("cause") == "sizing" else "missed"), reason


def _cents(value: float) -> float:
    return round(value, 2) + 0.0  # + 0.0: a part that rounds to nothing is 0.0, never -0.0


def _vwap(pairs: Iterable[tuple[float, float]]) -> float:
    pairs = list(pairs)
    volume = math.fsum(v for v, _ in pairs)
    return math.fsum(v * p for v, p in pairs) / volume


def _mark(marks: Marks, account: str, symbol: str, side: int) -> float | None:
    by_side = marks.get(account, {}).get(symbol, {})
    price = by_side.get("buy" if side > 0 else "sell") or next(iter(by_side.values()), None)
    return float(price) if price else None


def _closed(exits: list[tuple[float, float, float]], volume: float) -> bool:
    return math.fsum(v for _, v, _ in exits) >= volume - _EPS * max(1.0, volume)


def _close_price(exits: list[tuple[float, float, float]], volume: float, end: float,
                 mark: float | None) -> tuple[float | None, bool]:
    """The volume-weighted price the whole volume closes at by ``end``: the exits before it, and the
    mark for what is still open. P&L is linear in the close price, so this is exact. The flag says
    whether everything was closed by then."""
    done = [(v, p) for w, v, p in exits if w < end]
    closed = math.fsum(v for v, _ in done)
    rest = volume - closed
    if rest <= _EPS * max(1.0, volume):
        return (_vwap(done) if done else None), bool(done)
    if mark is None:
        return None, False
    return _vwap([*done, (rest, mark)]), False
