"""The oracle: does a replay report show every slave holding the master's trades under its rules?

It reads only the scenario, the report and the simulated brokers' symbol specs (``expected``),
never the copier's planner or reconciler, so a wrong idea in the copier is not repeated here. A
difference is a violation unless the journal gives a reason for it (a refusal or failure for
that slave naming that master ticket; on a netting account, any master ticket on that symbol).
Duplicates, orphans and copies on the wrong instrument are violations whatever the journal says:
no rule asks for them. Two exceptions follow from what the scenario did, not from the copier:
a slave whose terminal was left switched off cannot close an orphan, so there it needs a reason
like any difference; and once the master's terminal is out of reach (and the copier journaled
that), nothing the master did since can be asked of the slaves.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, replace

from copier_gui.core.rules import CopyRules, StopsMode
from copier_gui.replay.campaign import expected
from copier_gui.replay.campaign.disruptions import SETTLE_S
from copier_gui.replay.campaign.reasons import (
    ANY,
    WAITING,
    closed_at_slave,
    journaled_reasons,
    journaled_requests,
    master_changes,
    said_after,
    slave_changes,
    switched_off,
)
from copier_gui.replay.scenario import (
    OpenAction,
    PartialCloseAction,
    PlacePendingAction,
    ReverseAction,
    Scenario,
)
from copier_gui.sim import constants as _mt5
from copier_gui.sim.profiles import SymbolSpec

# Violation kinds. The first six hold whatever the journal says; the others are differences
# the journal did not explain.
DUPLICATE = "duplicate"  # an entry filled twice
ORPHAN_POSITION = "orphan_position"  # a slave position whose master position is closed
ORPHAN_ORDER = "orphan_order"  # a slave pending order whose master order is no longer pending
MISSING = "missing"  # the master holds it, the slave holds nothing, and no reason is journaled
WRONG_VOLUME = "wrong_volume"  # held, but not the volume the rules give
WRONG_SIDE = "wrong_side"
WRONG_SYMBOL = "wrong_symbol"  # a copy on another instrument than the master's
WRONG_STOPS = "wrong_stops"  # stop loss or take profit not the master's (stops.mode copy)
WRONG_ORDER = "wrong_order"  # a copied pending order with another price, type or volume
UNEXPECTED_ORDER = "unexpected_order"  # a pending order where the rules copy none
UNJOURNALED = "unjournaled"  # a slave position or order no journaled request accounts for
LATE_ENTRY = "late_entry"  # an entry sent later after the master's fill than max_delay_ms allows
KINDS = (DUPLICATE, ORPHAN_POSITION, ORPHAN_ORDER, WRONG_SYMBOL, UNJOURNALED, LATE_ENTRY, MISSING,
         WRONG_VOLUME, WRONG_SIDE, WRONG_STOPS, WRONG_ORDER, UNEXPECTED_ORDER)
ABSOLUTE = frozenset({DUPLICATE, ORPHAN_POSITION, ORPHAN_ORDER, WRONG_SYMBOL, UNJOURNALED, LATE_ENTRY})

# The master changes a difference of each kind can come from: a reason given before the last of
# them is about an earlier state (an old requote does not explain a partial close missed later).
# Kinds not listed may be explained by a reason from any time (a refusal at entry stands).
_CAUSES = {
    WRONG_VOLUME: ("opened", "partially_closed", "increased", "pending_triggered", "reversed"),
    WRONG_STOPS: ("opened", "stops_modified", "pending_triggered"),
    WRONG_ORDER: ("pending_placed", "pending_modified"),
    ORPHAN_POSITION: ("closed", "partially_closed"),
    ORPHAN_ORDER: ("pending_cancelled", "pending_triggered"),
}

_BUY_ORDER_TYPES = {_mt5.ORDER_TYPE_BUY_LIMIT: "buy_limit", _mt5.ORDER_TYPE_SELL_LIMIT: "sell_limit",
                    _mt5.ORDER_TYPE_BUY_STOP: "buy_stop", _mt5.ORDER_TYPE_SELL_STOP: "sell_stop",
                    _mt5.ORDER_TYPE_BUY_STOP_LIMIT: "buy_stop_limit",
                    _mt5.ORDER_TYPE_SELL_STOP_LIMIT: "sell_stop_limit"}


@dataclass(frozen=True)
class Violation:
    kind: str
    account: str
    symbol: str
    detail: str
    master_ticket: int | None = None
    master_id: str | None = None
    at: str = "end"

    def describe(self) -> str:
        master = f" {self.master_id or ''}#{self.master_ticket}" if self.master_ticket else ""
        return f"{self.kind} at {self.at}: {self.account} {self.symbol}{master}: {self.detail}"

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _MasterTrade:
    ticket: int
    name: str | None
    symbol: str
    sign: int
    volume: float
    sl: float
    tp: float
    spec: SymbolSpec
    history: tuple[float, ...]


@dataclass(frozen=True)
class _MasterOrder:
    ticket: int
    name: str | None
    symbol: str
    kind: str
    volume: float
    price: float
    sl: float
    tp: float
    spec: SymbolSpec

    @property
    def sign(self) -> int:
        return 1 if self.kind.startswith("buy") else -1


# How long a netting slave's own change (its stop hit) may go unseen: the copier finds it at its
# next look at the slave. A moment judged that close to it, before or after, does not judge that
# symbol's volume at that slave.
FOUND_WITHIN_S = 3.0


def _histories(scenario: Scenario) -> dict[str, tuple[float, ...]]:
    """Every volume each master trade was meant to have, by its scenario id."""
    out: dict[str, list[float]] = {}
    for _, action in scenario.ordered_timeline():
        if isinstance(action, OpenAction | PlacePendingAction):
            out[action.id] = [action.volume]
        elif isinstance(action, PartialCloseAction) and action.id in out:
            out[action.id].append(round(out[action.id][-1] - action.volume, 8))
        elif isinstance(action, ReverseAction) and action.id in out:
            out[action.id].append(action.volume)
    return {name: tuple(volumes) for name, volumes in out.items()}


def _symbols_by_name(scenario: Scenario) -> dict[str, str]:
    return {a.id: a.symbol for a in scenario.timeline if isinstance(a, OpenAction | PlacePendingAction)}


def _is_netting(scenario: Scenario, account_id: str) -> bool:
    account = scenario.account(account_id)
    if account.margin_mode is not None:
        return account.margin_mode == "netting"
    return expected.PROFILES[scenario.profile_of(account_id)].margin_mode == _mt5.ACCOUNT_MARGIN_MODE_RETAIL_NETTING


class _Judge:
    """One check of one moment (the end, or a checkpoint) of one report."""

    def __init__(self, scenario: Scenario, accounts: dict,
                 reasons: dict[tuple[str, int], list[tuple[float, str]]],
                 at: str, master_ids: dict[str, int], blocked: dict[str, dict[str, float]],
                 master_dark: bool = False, changes: dict[int, list[tuple[float, str]]] | None = None,
                 until: float = float("inf"), settle_s: float = 0.0,
                 slave_found: dict[tuple[str, str], list[float]] | None = None,
                 closed_found: dict[tuple[str, int], list[float]] | None = None,
                 former_ids: dict[str, list[int]] | None = None) -> None:
        self.scenario = scenario
        self.until = until
        # Master tickets that changed on their own shortly before this moment (a pending order
        # filled, a stop hit at the master): their copies may still be on their way, so they are
        # not judged here. Scheduled changes never fall this close; checkpoints keep clear of them.
        self.unsettled = {ticket for ticket, seen in (changes or {}).items()
                          if any(until - settle_s < at <= until for at, _ in seen)}
        # (slave, symbol) whose netting position changed on its own around this moment: the copy
        # it just lost cannot be asked of it yet.
        self.slave_unsettled = {key for key, found in (slave_found or {}).items()
                                if any(abs(at - until) <= FOUND_WITHIN_S for at in found)}
        # (slave, master ticket) whose copy closed at the slave on its own just before this moment:
        # the copier finds that (and journals why it is not opened again) at its next look.
        master_ids_names = {ticket: name for name, ticket in master_ids.items()}
        for name, tickets in (former_ids or {}).items():
            master_ids_names.update(dict.fromkeys(tickets, name))
        self.closed_unseen = {key for key, found in (closed_found or {}).items()
                              if any(until < at <= until + FOUND_WITHIN_S for at in found)}
        # Master positions closed on their own just after this moment (checkpoints keep clear of
        # scheduled actions): a copy that carries the same stop or target can be closed by the
        # slave's own broker a little earlier, on its quotes, and the copier's next look then
        # finds both closed, with nothing to say.
        scheduled = {getattr(action, "id", None) for at, action in scenario.ordered_timeline()
                     if until < at <= until + FOUND_WITHIN_S}
        self.closing_soon = {ticket for ticket, seen in (changes or {}).items()
                             if any(until < at <= until + FOUND_WITHIN_S and what == "closed" for at, what in seen)
                             and master_ids_names.get(ticket) not in scheduled}
        self.accounts = accounts
        self.reasons = reasons  # only those given by the moment judged
        self.changes = changes or {}
        self.at = at
        self.blocked = {account: "; ".join(f"{what} off since {since:g} s" for what, since in levers.items())
                        for account, levers in blocked.items()}
        # The master's terminal lost its connection and the copier said so: it cannot know what
        # the master did since, so no slave can be held to the master's present.
        self.master_dark = master_dark
        self.violations: list[Violation] = []
        self.explained: list[Violation] = []  # differences the journal gave a reason for
        self.master_profile = scenario.profile_of(scenario.master.id)
        histories = _histories(scenario)
        self.names = master_ids_names
        master = accounts[scenario.master.id]
        self.trades: dict[int, _MasterTrade] = {}
        for p in master["positions"]:
            name = self.names.get(p["master_ticket"])
            spec = expected.spec_at(self.master_profile, p["symbol"])
            self.trades[p["master_ticket"]] = _MasterTrade(
                p["master_ticket"], name, p["symbol"], 1 if p["side"] == "buy" else -1, p["volume"],
                p["sl"], p["tp"], spec, histories.get(name, (p["volume"],)))
        self.orders: dict[int, _MasterOrder] = {}
        for o in master["orders"]:
            spec = expected.spec_at(self.master_profile, o["symbol"])
            self.orders[o["master_ticket"]] = _MasterOrder(
                o["master_ticket"], self.names.get(o["master_ticket"]), o["symbol"],
                _BUY_ORDER_TYPES.get(o["type"], str(o["type"])), o["volume"], o["price"], o["sl"], o["tp"],
                spec)
        # Every master ticket ever on a master symbol, for netting's "any ticket on that symbol".
        by_name = _symbols_by_name(scenario)
        self.tickets_on: dict[str, set[int]] = defaultdict(set)
        for ticket, name in self.names.items():
            if name in by_name:
                self.tickets_on[by_name[name]].add(ticket)
        for trade in self.trades.values():
            self.tickets_on[trade.symbol].add(trade.ticket)
        for order in self.orders.values():
            self.tickets_on[order.symbol].add(order.ticket)

    def flag(self, kind: str, account: str, symbol: str, detail: str, ticket: int | None = None,
             *, excused_by: set[int] = frozenset()) -> None:
        found = Violation(kind, account, symbol, detail, ticket,
                          self.names.get(ticket) if ticket else None, self.at)
        if kind in (DUPLICATE, WRONG_SYMBOL):  # nothing the scenario did asks for these
            self.violations.append(found)
            return
        if (excused_by | {ticket}) & self.unsettled:
            return
        if self.master_dark:
            self.explained.append(found)
            return
        # A slave that cannot trade cannot close an orphan: there it needs a reason like any
        # difference; anywhere else nothing explains one.
        why_blocked = self.blocked.get(account) if kind in (ORPHAN_POSITION, ORPHAN_ORDER) else None
        if kind in ABSOLUTE and not why_blocked:
            self.violations.append(found)
        elif any(self._explains(kind, account, t) for t in excused_by | {ticket}):
            self.explained.append(found)
        else:
            if why_blocked:
                found = replace(found, detail=f"{detail} ({why_blocked}; no journaled reason names this ticket)")
            self.violations.append(found)

    def _explains(self, kind: str, account: str, ticket: int | None) -> bool:
        reasons = self.reasons.get((account, ticket), ()) if ticket else ()
        # A wait explains a difference only while what it waits on is still in the way; once the
        # slave is back, the promised copy or exit is due.
        waiting = account in self.blocked
        times = [at for at, what in reasons
                 if what == ANY or (what == WAITING and waiting) or (what != WAITING and kind == WRONG_STOPS)]
        causes = _CAUSES.get(kind, ())
        since = max((at for at, what in self.changes.get(ticket, ()) if what in causes and at <= self.until),
                    default=float("-inf"))
        return any(at >= since for at in times)

    # ------------------------------------------------------------------------------ per slave

    def slave(self, account_id: str) -> None:
        state = self.accounts[account_id]
        rules = self.scenario.account(account_id).rules
        profile = self.scenario.profile_of(account_id)
        if _is_netting(self.scenario, account_id):
            self._netting(account_id, profile, rules, state)
        else:
            self._hedging(account_id, profile, rules, state)
        self._orders(account_id, profile, rules, state, netting=_is_netting(self.scenario, account_id))

    def _slave_name(self, master_symbol: str, profile: str) -> str | None:
        try:
            spec = self._slave_spec(expected.spec_at(self.master_profile, master_symbol), profile)
        except KeyError:
            return None
        return spec.name if spec is not None else None

    def _slave_spec(self, master_spec: SymbolSpec, profile: str) -> SymbolSpec | None:
        return expected.same_instrument(master_spec, profile)

    @staticmethod
    def _allowed(trade: _MasterTrade, rules: CopyRules, spec: SymbolSpec | None) -> set[float]:
        # No such instrument at the slave's broker, or a filter: a refusal.
        if spec is None or expected.filtered(rules, trade.symbol, trade.sign):
            return {0.0}
        return expected.position_lots(trade.history, trade.volume, rules, trade.spec, spec)

    @staticmethod
    def _order_lots(order: _MasterOrder, rules: CopyRules, spec: SymbolSpec | None) -> float:
        if spec is None or expected.filtered(rules, order.symbol, order.sign):
            return 0.0
        return expected.order_lots(order.volume, rules, order.spec, spec)

    def _same_instrument(self, account: str, master_spec: SymbolSpec, profile: str,
                         items: list[dict]) -> bool:
        for item in items:
            theirs = expected.PROFILES[profile].symbols_by_name.get(item["symbol"])
            if theirs is None or theirs.instrument != master_spec.instrument:
                self.flag(WRONG_SYMBOL, account, item["symbol"],
                          f"copies master {master_spec.name} ({master_spec.instrument}) on "
                          f"{item['symbol']} ({theirs.instrument if theirs else 'unknown'})",
                          item["master_ticket"])
                return False
        return True

    def _hedging(self, account: str, profile: str, rules: CopyRules, state: dict) -> None:
        held: dict[int, list[dict]] = defaultdict(list)
        for p in state["positions"]:
            if p["master_ticket"] is None:
                self.flag(ORPHAN_POSITION, account, p["symbol"],
                          f"{p['side']} {p['volume']:g} carries no copier tag ({p['tag']!r})")
                continue
            held[p["master_ticket"]].append(p)
        for ticket, positions in sorted(held.items()):
            symbol = positions[0]["symbol"]
            total = round(sum(p["volume"] for p in positions), 8)
            master_spec = (self.trades[ticket].spec if ticket in self.trades
                           else self.orders[ticket].spec if ticket in self.orders else None)
            if master_spec is not None and not self._same_instrument(account, master_spec, profile, positions):
                continue
            if ticket in self.trades:
                trade = self.trades[ticket]
                spec = self._slave_spec(trade.spec, profile)
                allowed = self._allowed(trade, rules, spec)
                self._judge_volume(account, symbol, ticket, expected.copied_sign(rules, trade.sign),
                                   positions, total, allowed, spec)
                self._judge_stops(account, trade, positions, rules, spec)
            elif ticket in self.orders:
                # The slave's copy of a pending order filled before the master's (its quotes
                # differ by a few points): a copy of the trade the master is about to make.
                order = self.orders[ticket]
                spec = self._slave_spec(order.spec, profile)
                allowed = {self._order_lots(order, rules, spec)}
                sign = expected.copied_sign(rules, order.sign)
                self._judge_volume(account, symbol, ticket, sign, positions, total, allowed, spec)
            else:
                self.flag(ORPHAN_POSITION, account, symbol,
                          f"holds {total:g} lots in {len(positions)} position(s) for a master "
                          "position that is closed", ticket)
        for ticket, trade in sorted(self.trades.items()):
            if ticket in held or (account, ticket) in self.closed_unseen or ticket in self.closing_soon:
                continue
            spec = self._slave_spec(trade.spec, profile)
            allowed = self._allowed(trade, rules, spec)
            want = ", ".join(f"{v:g}" for v in sorted(allowed))
            self.flag(MISSING, account, spec.name if spec else trade.symbol,
                      f"master holds {trade.volume:g} {trade.symbol}; the slave holds nothing "
                      f"(rules give {want})", ticket)

    def _judge_volume(self, account, symbol, ticket, sign, positions, total, allowed, spec) -> None:
        step = spec.volume_step if spec else 0.01
        wrong_side = [p for p in positions if (1 if p["side"] == "buy" else -1) != sign]
        if wrong_side:
            self.flag(WRONG_SIDE, account, symbol,
                      f"{len(wrong_side)} position(s) on the side opposite to the master's", ticket)
        if any(abs(total - v) <= step / 2 for v in allowed):
            return
        want = ", ".join(f"{v:g}" for v in sorted(allowed))
        if len(positions) > 1 and total > max(allowed) + step / 2:
            self.flag(DUPLICATE, account, symbol,
                      f"{len(positions)} positions total {total:g} lots; the rules give {want}", ticket)
        else:
            self.flag(WRONG_VOLUME, account, symbol, f"holds {total:g} lots; the rules give {want}",
                      ticket)

    def _judge_stops(self, account: str, trade: _MasterTrade, positions: list[dict], rules: CopyRules,
                     spec: SymbolSpec | None, excused_by: set[int] = frozenset()) -> None:
        if spec is None or not rules.stops.follow_modifications:
            return
        if rules.stops.mode is StopsMode.COPY:
            sl, tp = expected.copied_stops(rules, trade.sl, trade.tp)
            want = (round(sl, spec.digits), round(tp, spec.digits))
        elif rules.stops.mode is StopsMode.NONE:
            want = (0.0, 0.0)
        else:
            return
        for p in positions:
            if not (_near(p["sl"], want[0], spec) and _near(p["tp"], want[1], spec)):
                self.flag(WRONG_STOPS, account, p["symbol"],
                          f"sl/tp {p['sl']:g}/{p['tp']:g}; the master's are {want[0]:g}/{want[1]:g}",
                          trade.ticket, excused_by=excused_by)

    def _netting(self, account: str, profile: str, rules: CopyRules, state: dict) -> None:
        by_symbol: dict[str, list[_MasterTrade]] = defaultdict(list)
        specs: dict[str, SymbolSpec] = {}
        for trade in self.trades.values():
            spec = self._slave_spec(trade.spec, profile)
            if spec is not None:
                by_symbol[spec.name].append(trade)
                specs[spec.name] = spec
            else:
                self.flag(MISSING, account, trade.symbol,
                          f"{profile} offers no {trade.spec.instrument}, and no reason is journaled",
                          trade.ticket)
        actual: dict[str, float] = defaultdict(float)
        positions: dict[str, list[dict]] = defaultdict(list)
        for p in state["positions"]:
            actual[p["symbol"]] += (1 if p["side"] == "buy" else -1) * p["volume"]
            positions[p["symbol"]].append(p)
        for symbol in sorted(set(by_symbol) | set(positions)):
            have = round(actual.get(symbol, 0.0), 8)
            trades = by_symbol.get(symbol, [])
            master_symbols = {t.symbol for t in trades}
            tickets = {t for s in master_symbols for t in self.tickets_on[s]}
            if not trades:
                # Netting takes no early fills of pending orders, so nothing may be open here.
                tagged = [p["master_ticket"] for p in positions[symbol]]
                # The position's own tag is its first deal's master ticket; a reason may name any
                # master ticket whose copy is a share of it.
                sharing = {t for name, on in self.tickets_on.items()
                           if self._slave_name(name, profile) == symbol for t in on}
                self.flag(ORPHAN_POSITION, account, symbol,
                          f"holds {have:+g} lots net while the master holds nothing on it",
                          tagged[0] if tagged else None, excused_by=sharing)
                continue
            if (account, symbol) in self.slave_unsettled:
                continue
            spec = specs[symbol]
            options = [{expected.copied_sign(rules, t.sign) * v for v in self._allowed(t, rules, spec)}
                       for t in trades]
            totals, exact = expected.sums(options)
            step = spec.volume_step
            if exact:
                fits = any(abs(have - v) <= step / 2 for v in totals)
            else:
                fits = min(totals) - step / 2 <= have <= max(totals) + step / 2
            lead = max(trades, key=lambda t: t.volume).ticket
            if not fits:
                want = ", ".join(f"{v:+g}" for v in sorted(totals)[:8])
                kind = MISSING if abs(have) < step / 2 else WRONG_VOLUME
                self.flag(kind, account, symbol,
                          f"holds {have:+g} lots net for {len(trades)} master position(s); "
                          f"the rules give {want}{'' if exact else ' (range)'}",
                          lead, excused_by=tickets)
            if positions.get(symbol) and abs(have) >= step / 2:
                self._judge_net_stops(account, trades, positions[symbol], have, rules, spec, tickets)

    def _judge_net_stops(self, account: str, trades: list[_MasterTrade], positions: list[dict],
                         have: float, rules: CopyRules, spec: SymbolSpec, tickets: set[int]) -> None:
        """A netting position carries the stops of the largest master position on its own side
        (docs/faults.md). Largest by the master's volume or by the slave's share: they differ only
        through rounding and clamps, and either reading is fair; a tie allows each."""
        own = [t for t in trades if expected.copied_sign(rules, t.sign) == (1 if have > 0 else -1)
               and not expected.filtered(rules, t.symbol, t.sign)]
        if not own or not rules.stops.follow_modifications:
            return  # on the side no master position is on, the volume check has said it
        if rules.stops.mode is not StopsMode.COPY:
            self._judge_stops(account, own[0], positions, rules, spec, tickets)
            return
        shares = {t.ticket: max(self._allowed(t, rules, spec)) for t in own}
        leads = {t for t in own if t.volume >= max(o.volume for o in own) - 1e-9}
        leads |= {t for t in own if shares[t.ticket] >= max(shares.values()) - 1e-9}
        allowed = {tuple(round(x, spec.digits) for x in expected.copied_stops(rules, t.sl, t.tp))
                   for t in leads}
        for p in positions:
            if not any(_near(p["sl"], sl, spec) and _near(p["tp"], tp, spec) for sl, tp in allowed):
                lead = max(leads, key=lambda t: t.volume)
                want = " or ".join(f"{sl:g}/{tp:g}" for sl, tp in sorted(allowed))
                self.flag(WRONG_STOPS, account, p["symbol"],
                          f"sl/tp {p['sl']:g}/{p['tp']:g}; the largest master position on its side "
                          f"has {want}", lead.ticket, excused_by=tickets)

    def _orders(self, account: str, profile: str, rules: CopyRules, state: dict, *, netting: bool) -> None:
        working: dict[int, list[dict]] = defaultdict(list)
        for o in state["orders"]:
            if o["master_ticket"] is None or o["master_ticket"] not in self.orders:
                self.flag(ORPHAN_ORDER, account, o["symbol"],
                          f"a pending order of {o['volume']:g} lots whose master order is no longer "
                          "pending", o["master_ticket"])
                continue
            working[o["master_ticket"]].append(o)
        early = {p["master_ticket"] for p in state["positions"]} if not netting else set()
        copies = rules.copy_pending and not netting
        for ticket, order in sorted(self.orders.items()):
            mine = working.get(ticket, [])
            spec = self._slave_spec(order.spec, profile)
            if not copies:
                if mine:
                    why = "netting accounts take pending trades when they fill" if netting else "copy_pending is off"
                    self.flag(UNEXPECTED_ORDER, account, mine[0]["symbol"],
                              f"{len(mine)} pending order(s) although {why}", ticket)
                continue
            want = self._order_lots(order, rules, spec)
            if not mine:
                if ticket not in early:
                    self.flag(MISSING, account, spec.name if spec else order.symbol,
                              f"master {order.kind} {order.volume:g} is pending; the slave has no "
                              f"copy (rules give {want:g})", ticket)
                continue
            if not self._same_instrument(account, order.spec, profile, mine):
                continue
            if len(mine) > 1:
                self.flag(DUPLICATE, account, mine[0]["symbol"], f"{len(mine)} copies of one pending order",
                          ticket)
            o = mine[0]
            problems = []
            kind = expected.copied_kind(rules, order.kind)
            if _BUY_ORDER_TYPES.get(o["type"]) != kind:
                problems.append(f"type {_BUY_ORDER_TYPES.get(o['type'], o['type'])} for {kind}")
            if spec is not None:
                if abs(o["volume"] - want) > spec.volume_step / 2:
                    problems.append(f"{o['volume']:g} lots for {want:g}")
                if not _near(o["price"], order.price, spec):
                    problems.append(f"price {o['price']:g} for {order.price:g}")
                sl, tp = expected.copied_stops(rules, order.sl, order.tp)
                if rules.stops.mode is StopsMode.COPY and not (_near(o["sl"], sl, spec) and _near(o["tp"], tp, spec)):
                    problems.append(f"sl/tp {o['sl']:g}/{o['tp']:g} for {sl:g}/{tp:g}")
            if problems:
                self.flag(WRONG_ORDER, account, o["symbol"], "; ".join(problems), ticket)


def _near(price: float, master_price: float, spec: SymbolSpec) -> bool:
    """Prices are copied as prices, on the slave's digits; within one of its points, since a
    price halfway between two of them may round either way."""
    return abs(price - round(master_price, spec.digits)) <= 10.0**-spec.digits + 1e-9


def duplicate_entries(report: dict) -> list[Violation]:
    """Copy IDs are deterministic and name one request (an entry, or a top-up from a given
    volume), so an opening copy ID that filled more than once is a duplicate, even if the copier
    closed the extra volume afterwards."""
    fills: dict[str, list[dict]] = defaultdict(list)
    for copy in report.get("copies", ()):
        if copy.get("action") == "open" and copy.get("copy_id"):
            fills[copy["copy_id"]].append(copy)
    out = []
    for cid, copies in fills.items():
        if len(copies) > 1:
            first = copies[0]
            lots = ", ".join(f"{c['volume']:g}" for c in copies[:6]) + (", ..." if len(copies) > 6 else "")
            out.append(Violation(DUPLICATE, first["slave"], first["symbol"],
                                 f"{cid} filled {len(copies)} times ({lots} lots)",
                                 first["master_ticket"]))
    return out


def late_entries(scenario: Scenario, report: dict,
                 changes: dict[int, list[tuple[float, str]]]) -> list[Violation]:
    """Entries requested later than the slave's max_delay_ms after the master's fill. The fill
    is taken as when the copier saw it, which is no earlier than the fill itself, so an entry
    flagged here was late for certain; one whose fill the copier never saw is not judged."""
    out = []
    # The master's symbol of each of its positions, from the scenario: a per-symbol delay is keyed by it.
    opened = {a.id: a.symbol for a in scenario.timeline if isinstance(a, OpenAction | PlacePendingAction)}
    symbols = {ticket: opened.get(name, "") for name, ticket in report.get("master_ids", {}).items()}
    for copy in report.get("copies", ()):
        sent = copy.get("request_sent_at_s")
        copy_id = str(copy.get("copy_id", ""))
        if copy.get("action") != "open" or sent is None:
            continue
        if copy_id.endswith(":entry"):
            seen = [at for at, what in changes.get(copy["master_ticket"], ())
                    if what in ("opened", "pending_triggered")]
        elif ":entry:" in copy_id:
            # An entry for what the position became (a netting reversal): late from that change.
            seen = [max((at for at, what in changes.get(copy["master_ticket"], ())
                         if what == "reversed" and at <= sent + 1e-6), default=sent)]
        else:
            continue
        tolerances = scenario.account(copy["slave"]).rules.tolerances
        master_symbol = symbols.get(copy["master_ticket"], "")
        limit_s = tolerances.for_symbol(master_symbol)[0] / 1000.0
        if seen and sent - min(seen) > limit_s + 1e-6:
            out.append(Violation(LATE_ENTRY, copy["slave"], copy["symbol"],
                                 f"{copy['copy_id']} sent {sent - min(seen):.1f} s after the master's "
                                 f"fill was seen; {tolerances.delay_setting(master_symbol)} is {limit_s * 1000:g}",
                                 copy["master_ticket"]))
    return out


def unjournaled(scenario: Scenario, accounts: dict, requests: dict[tuple[str, int], float], at: str,
                until: float) -> list[Violation]:
    """Slave positions and orders that no request journaled by then accounts for. The copier
    journals each request before it sends it, so even a crash between the send and the answer
    leaves the request on record; a trade at the broker without one was sent unrecorded."""
    out = []
    for slave in scenario.slaves:
        state = accounts[slave.id]
        for item in [*state["positions"], *state["orders"]]:
            ticket = item["master_ticket"]
            sent = requests.get((slave.id, ticket))
            if ticket and (sent is None or sent > until):
                out.append(Violation(UNJOURNALED, slave.id, item["symbol"],
                                     f"{item['volume']:g} lots at the broker, tagged for master "
                                     f"#{ticket}, with no journaled request for it", ticket,
                                     item.get("master_id"), at))
    return out


def check(scenario: Scenario, report: dict, explained: list[Violation] | None = None,
          settle_s: float = SETTLE_S) -> list[Violation]:
    """Every violation in ``report``, at its checkpoints and at the end. Differences the journal
    explains are not violations; given a list, they are added to ``explained``, to be counted.
    A master position or order that changed on its own within ``settle_s`` of a moment is not
    judged at that moment."""
    reasons = journaled_reasons(report)
    changes = master_changes(report)
    found_changed = slave_changes(report)
    found_closed = closed_at_slave(report)
    master_ids = report.get("master_ids", {})
    moments = [(f"{c['at_s']:g}s", c["at_s"], c["accounts"]) for c in report.get("checkpoints", ())
               if "accounts" in c]
    end = float(report.get("scenario", {}).get("duration_s") or scenario.end_s)
    moments.append(("end", end, report["accounts"]))
    violations = duplicate_entries(report) + late_entries(scenario, report, changes)
    requests = journaled_requests(report)
    for at, until, accounts in moments:
        if requests is not None:
            violations.extend(unjournaled(scenario, accounts, requests, at, until))
        known = {key: [(t, what) for t, what in found if t <= until] for key, found in reasons.items()}
        known = {key: times for key, times in known.items() if times}
        blocked = switched_off(scenario, until)
        dark = blocked.get(scenario.master.id, {}).get("connection")
        master_dark = dark is not None and said_after(report, scenario.master.id, dark, until)
        slaves = {a.id for a in scenario.slaves}
        blocked = {account: levers for account, levers in blocked.items() if account in slaves}
        judge = _Judge(scenario, accounts, known, at, master_ids, blocked, master_dark, changes, until,
                       settle_s, found_changed, found_closed, report.get("former_master_ids", {}))
        for slave in scenario.slaves:
            judge.slave(slave.id)
        violations.extend(judge.violations)
        if explained is not None:
            explained.extend(_first_sight(judge.explained, explained))
    # One problem seen at several checkpoints and at the end is one violation, at its first sight.
    return _first_sight(violations, [])


def _first_sight(found: list[Violation], known: list[Violation]) -> list[Violation]:
    """``found`` without problems already in ``known`` or seen earlier in ``found``."""
    seen = {(v.kind, v.account, v.symbol, v.master_ticket) for v in known}
    out = []
    for v in found:
        key = (v.kind, v.account, v.symbol, v.master_ticket)
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out
