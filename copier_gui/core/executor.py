"""Execution of one slave's reconcile steps through its connector, inside the slave's tolerances.

Entries are checked against the maximum delay and price deviation with a fresh quote, requotes are
retried a bounded number of times, partial fills are recorded and topped up or accepted by policy.
Every request, result, correction and refusal goes to the journal and to the metrics, and every
outcome is announced to listeners (the console, the GUI).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from copier_gui.clock import Clock
from copier_gui.core import tags, units
from copier_gui.core.copybook import CopyBook, CopyEntry
from copier_gui.core.journal import Journal
from copier_gui.core.metrics import CopyMetrics, Metrics
from copier_gui.core.model import (
    CancelPending,
    ClosePosition,
    Deal,
    ExecutionReport,
    ModifyPending,
    ModifyStops,
    OpenPosition,
    PendingKind,
    PlacePending,
    Side,
    Status,
    SymbolSpec,
)
from copier_gui.core.planner import DesiredPosition, drift_data
from copier_gui.core.ports import Connector
from copier_gui.core.price_limit import PriceLimit, price_limit
from copier_gui.core.reconciler import (
    AmendStep,
    CancelStep,
    ModifyStep,
    NetStep,
    OpenStep,
    PlaceStep,
    ReduceStep,
    Step,
)
from copier_gui.core.rules import CopyRules, DeviationPolicy, PartialFillPolicy

# A copy whose deals are due: (position id, master ticket, symbol, order, volume left, the deals
# its report carried or None).
DealsDue = tuple[int, int, str, int, float, "tuple[Deal, ...] | None"]


@dataclass(frozen=True, slots=True)
class Notice:
    """Something a person watching the copier should see: a copy, a refusal, a failure, a state."""

    kind: str  # "copy", "refusal", "failure", "state", "master", "info"
    account: str
    text: str
    master_ticket: int = 0
    metrics: CopyMetrics | None = None
    # For a "state" notice of a link or a risk gate, the state it entered ("disconnected", "halted"),
    # so listeners such as alerts need not parse the text.
    state: str = ""


# After a broker refuses an entry (no money, invalid stops...), wait this long before trying again;
# by then the maximum delay usually turns the retry into a final, journaled refusal.
ENTRY_RETRY_S = 15.0
# A trailing stop at the master can move many times a second. Brokers answer a burst of modifies
# with "too many requests" and some prop firms flag it, so one slave position gets at most one
# modify per this interval; a later pass sends the latest target, so the final stops still match.
MODIFY_INTERVAL_S = 0.2


class Unreachable(Exception):
    """The slave's terminal stopped answering mid-pass; the copier reconnects and reconciles."""


class TradingDisabled(Exception):
    """Trading is switched off at the slave (AutoTrading, the API option, the server): the copier
    watches for it to come back instead of retrying requests that cannot pass."""


class Throttled(Exception):
    """The slave's broker asked for fewer requests: the copier pauses this slave, then reconciles."""


@dataclass
class StepContext:
    master_account: str
    master_offset_s: float | None
    detected_wall: float
    detected_mono: float
    master_fill_wall: dict[int, float]
    master_exit_price: dict[int, float]
    master_change_wall: dict[int, float] = field(default_factory=dict)  # latest increase seen, UTC s


class SlaveExecutor:
    def __init__(self, slave_id: str, broker: str, connector: Connector, rules: CopyRules, *, magic: int,
                 journal: Journal, metrics: Metrics, copybook: CopyBook, clock: Clock,
                 notify: Callable[[Notice], None], refused: dict[int, str]) -> None:
        self.slave_id = slave_id
        self.broker = broker
        self.connector = connector
        self.rules = rules
        self.magic = magic
        self.journal = journal
        self.metrics = metrics
        self.copybook = copybook
        self.clock = clock
        self.notify = notify
        self.refused = refused  # master ticket -> the reason shown for it
        self._refusal_keys: dict[int, str] = {}  # master ticket -> what was last journaled for it
        # Master positions reversed (a netting master's, under the same id) whose new side this
        # slave has not filled yet: its old side's copy was closed for that, not at the slave.
        self.reversed: set[int] = set()
        self.failed: dict[tuple[int, str], tuple[str, float]] = {}  # (ticket, what) -> (text, retry at)
        self._strikes: dict[tuple[int, str], int] = {}  # (ticket, what) -> failures in a row
        self._waiting_on_cancel: set[int] = set()  # entries journaled as waiting for a cancel
        # slave position ticket -> ((sl, tp) asked for, (sl, tp) the connector sent after fitting them)
        self.stops_applied: dict[int, tuple[tuple[float, float], tuple[float, float]]] = {}
        self.started_wall: float | None = None  # when copying to this slave first started (UTC s)
        self.instance = ""  # this copier's name in tags (see tags.comment_for)
        self.currency = ""  # the account's currency, which money figures are in
        self.specs: dict[str, SymbolSpec] = {}  # the slave's symbols, as the copier last loaded them
        # (position id, master ticket, symbol, order, the position's volume after the deal) of copies
        # filled, cut or closed, whose deals to read
        self._deals_due: list[DealsDue] = []
        self.modified_at: dict[int, float] = {}  # slave position ticket -> monotonic time of the last modify
        self._gone_before: set[int] = set()  # slave tickets missing at the last forget_gone
        # Asks the copier for one more pass after a delay (stops held back by MODIFY_INTERVAL_S).
        self.defer: Callable[[float], None] = lambda delay: None
        # The master's symbol by its name, from the copier: what one master volume holds, journaled
        # with each copy so drift attribution compares exposures, not volumes of two units. Without
        # it the journal says nothing of the master's side and attribution reads lots of equal contract.
        self.master_spec: Callable[[str], SymbolSpec | None] = lambda name: None

    # ------------------------------------------------------------------ bookkeeping
    def refuse(self, master_ticket: int, reason: str, *, copy_id: str | None = None, rule: str | None = None,
               **data) -> None:
        """Journal why a master trade is not copied, once. ``rule`` names the rule when the reason's
        numbers move from pass to pass (a risk limit), so it is still journaled once per rule."""
        key = rule or reason
        if self._refusal_keys.get(master_ticket) == key:
            return
        self._refusal_keys[master_ticket] = key
        self.refused[master_ticket] = reason
        self.metrics.record_refusal(self.slave_id)
        drift = data.get("drift")
        if isinstance(drift, dict) and "ideal_volume" in drift and "slave_per_volume" not in drift:
            # Planned before the executor saw it (lot limits sized it out): the slave's side at least.
            data["drift"] = {**drift, **self._units(self.specs.get(str(drift.get("symbol"))), "")}
        self.journal.record("refusal", reason, account=self.slave_id, copy_id=copy_id,
                            master_ticket=master_ticket, **data)
        self.notify(Notice("refusal", self.slave_id, reason, master_ticket))

    def forget_refusal(self, master_ticket: int) -> None:
        self.refused.pop(master_ticket, None)
        self._refusal_keys.pop(master_ticket, None)

    def forget_gone(self, keep: set[int], slave_tickets: set[int]) -> None:
        """Drop what is kept per master ticket outside ``keep`` and per slave position not among
        ``slave_tickets`` (the positions and orders the slave holds now). A slave position is only
        dropped once it was missing at the previous call too, so one opened after the snapshot
        was taken keeps the stops just sent for it."""
        for key in [k for k in self.failed if k[0] not in keep]:
            del self.failed[key]
        for key in [k for k in self._strikes if k[0] not in keep]:
            del self._strikes[key]
        self._waiting_on_cancel &= keep
        gone = (set(self.stops_applied) | set(self.modified_at)) - slave_tickets
        for ticket in gone & self._gone_before:
            self.stops_applied.pop(ticket, None)
            self.modified_at.pop(ticket, None)
        self._gone_before = gone

    def _fail(self, master_ticket: int, what: str, report: ExecutionReport, copy_id: str, *,
              entry: bool = False, label: str | None = None, drift: dict | None = None) -> None:
        """A broker said no. Announce it once per reason; an entry waits before it is tried again.

        Exits are retried on every pass (a position the master closed must not stay open), but
        the same failure is not announced again each time.
        """
        text = f"failed: {label or what}: {report.message}"
        # An entry's failure is why a trade was missed if no later try fills it; ``drift`` values it.
        self.journal.record("result", text, account=self.slave_id, copy_id=copy_id, master_ticket=master_ticket,
                            status=report.status.value, retcode=report.retcode, **_reason(report),
                            **({"drift": drift} if drift else {}))
        _raise_for_account_state(report)
        key = (master_ticket, what)
        if self.failed.get(key, (None,))[0] != text:
            self.metrics.record_failure(self.slave_id)
            self.notify(Notice("failure", self.slave_id, text, master_ticket))
        # An entry is tried again after 1 s, then 2, 4... up to ENTRY_RETRY_S: a one-off refusal is
        # retried well inside the maximum delay, a lasting one does not hammer the broker.
        strikes = self._strikes.get(key, 0) if entry else 0
        self._strikes[key] = strikes + 1
        wait = min(ENTRY_RETRY_S, 2.0 ** strikes) if entry else 0.0
        self.failed[key] = (text, self.clock.monotonic() + wait)

    def _waiting_after_failure(self, master_ticket: int, what: str) -> bool:
        previous = self.failed.get((master_ticket, what))
        return previous is not None and self.clock.monotonic() < previous[1]

    def _request(self, copy_id: str, what: str, request) -> None:
        # Queued for the loop's next turn (stamped now): every slave's request goes out before any
        # is journaled, and each entry still precedes its result's (see Journal.record_soon).
        self.journal.record_soon("request", what, account=self.slave_id, copy_id=copy_id, request=request)

    def _result(self, copy_id: str, report: ExecutionReport) -> None:
        self.journal.record("result", f"{report.status.value}: {report.message}", account=self.slave_id,
                            copy_id=copy_id, status=report.status.value, retcode=report.retcode, **_reason(report),
                            volume=report.volume, price=report.price, order=report.order, deal=report.deal,
                            broker_ms=round(report.broker_latency_s * 1000, 3), **report.extra)

    # ------------------------------------------------------------------ steps
    async def run(self, steps: list[Step], ctx: StepContext, specs: dict[str, SymbolSpec]) -> None:
        # A pending copy that could not be cancelled may have just filled: opening at market in the
        # same pass could double the position, so that entry waits for a fresh look.
        uncancelled: set[int] = set()
        for step in steps:
            if isinstance(step, OpenStep | NetStep) and _master_ticket(step) in uncancelled:
                ticket = _master_ticket(step)
                if ticket not in self._waiting_on_cancel:
                    self._waiting_on_cancel.add(ticket)
                    text = (f"not copied yet: master #{ticket} filled, and this slave's pending copy of it could "
                            "not be cancelled (it may be filling too); each pass looks again")
                    self.journal.record("refusal", text, account=self.slave_id, master_ticket=ticket)
                    self.notify(Notice("refusal", self.slave_id, text, ticket))
                continue
            if isinstance(step, OpenStep):
                await self._open(step, ctx, specs)
            elif isinstance(step, ReduceStep):
                await self._reduce(step, ctx, specs)
            elif isinstance(step, NetStep):
                await self._net(step, ctx, specs)
            elif isinstance(step, ModifyStep):
                await self._modify(step)
            elif isinstance(step, PlaceStep):
                await self._place(step)
            elif isinstance(step, AmendStep):
                await self._amend(step)
            elif isinstance(step, CancelStep) and not await self._cancel(step):
                uncancelled.add(step.master_ticket)

    def _delay_check(self, master_ticket: int, ctx: StepContext, *, after_change: bool = False,
                     master_symbol: str = "") -> str | None:
        """A refusal when the master filled longer ago than the maximum delay for its symbol.

        ``after_change``: the entry answers the latest change of the master's position (a top-up
        after an increase, the new side after a netting reversal), so its delay counts from that
        change, not from the position's first fill.
        """
        tol = self.rules.tolerances
        max_delay_ms, _ = tol.for_symbol(master_symbol)
        fill_wall = ctx.master_fill_wall.get(master_ticket)
        if fill_wall is None or (self.started_wall is not None and fill_wall < self.started_wall):
            # Held by the master before copying to this slave first started: copy_existing decides,
            # and a slave that copies existing positions takes them at market whatever their age.
            if self.rules.copy_existing:
                return None
            return ("skipped: the master position was already open when copying to this slave started "
                    "(copy_existing is off for this slave)")
        changed = ctx.master_change_wall.get(master_ticket, fill_wall) if after_change else fill_wall
        delay_ms = (self.clock.time() - max(fill_wall, changed)) * 1000.0
        if delay_ms > max_delay_ms:
            what = "changed this position" if changed > fill_wall else "filled"
            own = f" for {master_symbol}" if tol.delay_setting(master_symbol) != "tolerances.max_delay_ms" else ""
            return (f"skipped: the master {what} {delay_ms / 1000:.1f} s ago, beyond the "
                    f"{max_delay_ms / 1000:g} s maximum delay{own}")
        return None

    async def _open(self, step: OpenStep, ctx: StepContext, specs: dict[str, SymbolSpec]) -> None:
        d = step.desired
        again = not step.top_up and self.copybook.get(self.slave_id, d.master_ticket) is not None
        cid = tags.copy_id(ctx.master_account, d.master_ticket, self.slave_id, _entry_leg(step, again=again))
        if d.master_ticket in self.refused and not step.top_up:
            return
        if step.top_up and self.rules.tolerances.partial_fill is PartialFillPolicy.ACCEPT:
            return
        if self._waiting_after_failure(d.master_ticket, "open"):
            return
        tol = self.rules.tolerances
        attempts = 0
        remaining = step.volume
        handed_mono: float | None = None
        while True:
            spec = specs.get(d.symbol)
            if spec is None:
                spec = await self.connector.symbol(d.symbol)
                if spec is None:
                    self.refuse(d.master_ticket, f"skipped: {d.symbol} is not available at {self.broker}",
                                copy_id=cid)
                    return
                specs[d.symbol] = spec
            master_symbol = d.master_symbol or d.symbol
            refusal = self._delay_check(d.master_ticket, ctx, after_change=step.top_up or again,
                                        master_symbol=master_symbol)
            if refusal is not None:
                self._refuse_entry(step, refusal, cid, d)
                return
            try:
                limit = price_limit(tol, master_symbol, spec, d.master_price)
            except ValueError as exc:  # a limit that cannot apply here (pips on a coin): the rule's fault
                self._refuse_entry(step, f"skipped: {exc}", cid, d)
                return
            # The price tolerance travels with the request: the connector compares it with the
            # quote it reads anyway (and widens a limit in spreads by that quote's spread), so
            # checking costs no extra round trip to the terminal.
            request = OpenPosition(
                symbol=d.symbol, side=d.side, volume=remaining, sl=d.sl, tp=d.tp, magic=self.magic,
                comment=tags.comment_for(d.master_ticket, instance=self.instance), max_deviation_points=limit.deviation,
                worst_price=limit.worst_price(d.side, d.master_price, spec), max_deviation_spreads=limit.spreads,
                reference_price=d.master_price)
            # Journaled before it goes: a crash while it is in flight still leaves its trace.
            self._request(cid, f"open {d.side.value} {remaining:g} {d.symbol}", request)
            # Decision latency ends here: the request is in the connector's hands. A retry after a
            # requote is the broker's round trip, not the copier's deciding: the first hand-over counts.
            if handed_mono is None:
                handed_mono = self.clock.monotonic()
            report = await self._send_open(request, d.master_ticket, cid)
            # Let the other slaves' requests go out before this one's bookkeeping.
            await asyncio.sleep(0)
            self._result(cid, report)
            if report.status is Status.REQUOTED and attempts < tol.requote_retries:
                attempts += 1
                self.journal.record("correction", f"requoted ({report.message}); retry {attempts} of "
                                    f"{tol.requote_retries}", account=self.slave_id, copy_id=cid)
                continue
            if not report.status.ok:
                if report.status is Status.REQUOTED:
                    caps = self.connector.capabilities
                    if (tol.on_price_deviation is DeviationPolicy.LIMIT_AT_MASTER_PRICE and not step.top_up
                            and d.master_price and caps.hedging and caps.supports(_limit_kind(d.side))):
                        await self._limit_at_master_price(d, spec, report, cid)
                        return
                    self._refuse_entry(step, self._deviation_text(d, spec, report, attempts), cid, d)
                    return
                self._fail(d.master_ticket, "open", report, cid, entry=True, drift=self.missed(d),
                           label=f"open {d.side.value} {remaining:g} {d.symbol}")
                return
            self.forget_refusal(d.master_ticket)
            self.reversed.discard(d.master_ticket)
            self.failed.pop((d.master_ticket, "open"), None)
            self._strikes.pop((d.master_ticket, "open"), None)
            if report.order:
                self.stops_applied[report.order] = ((d.sl, d.tp), _sent_stops(report, (d.sl, d.tp)))
            if d.note and not step.top_up:
                self.journal.record("correction", d.note, account=self.slave_id, copy_id=cid)
                self.notify(Notice("info", self.slave_id, d.note, d.master_ticket))
            if not step.top_up and _new_entry(self.copybook.get(self.slave_id, d.master_ticket), d):
                # What the slave got (after its lot limits and step), so a partial close keeps the
                # slave's share of what it holds: a copy capped at max_lot halves when the master halves.
                self.copybook.remember(self.slave_id, d.master_ticket, d.master_volume, d.volume, d.side)
            self._record_fill(cid, d.master_ticket, d.symbol, "topup" if step.top_up else "open", d.side,
                              report, d.intended if not step.top_up else remaining, d.master_price, spec, ctx,
                              handed_mono, attempts, position_side=d.side,
                              ideal=d.intended if not step.top_up else 0.0,
                              sized=d.volume if not step.top_up else 0.0, master_volume=d.master_volume,
                              master_symbol=master_symbol, limits=(_limit_points(limit, report, spec, d.master_price),
                                      tol.for_symbol(master_symbol)[0]))
            # An entry deal is charged commission at once: what an open copy cost so far counts too.
            # On a hedging account the position's id is the order that opened it.
            self._deals_due.append((report.order if self.connector.capabilities.hedging else 0,
                                    d.master_ticket, d.symbol, report.order, report.volume, report.deals))
            if report.status is Status.PARTIAL:
                remaining = round(remaining - report.volume, 8)
                self.journal.record("correction", f"partial fill {report.volume:g} of {request.volume:g}; "
                                    f"{remaining:g} left ({tol.partial_fill.value})", account=self.slave_id,
                                    copy_id=cid)
                # When the broker keeps the rest working itself, topping up as well would buy it twice.
                if (tol.partial_fill is PartialFillPolicy.TOP_UP and remaining >= spec.volume_min - 1e-9
                        and not report.rest_working):
                    step = OpenStep(d, remaining, top_up=True)
                    cid = tags.copy_id(ctx.master_account, d.master_ticket, self.slave_id, _entry_leg(step))
                    handed_mono = None  # the top-up is a copy of its own, handed over anew
                    continue
            return

    async def _send_open(self, request: OpenPosition, master_ticket: int, cid: str) -> ExecutionReport:
        """Send a market deal; on a netting account, with its share written ahead and settled after."""
        if self.connector.capabilities.hedging:
            return await self.connector.open(request)
        signed = request.side.sign * request.volume
        intent = self.copybook.intend(self.slave_id, request.symbol, master_ticket, signed, cid, self.clock.time())
        report = await self.connector.open(request)
        if report.status.ok:
            self.copybook.settle(intent, request.side.sign * report.volume)
            rest = round(request.volume - report.volume, 8)
            if report.status is Status.PARTIAL and report.rest_working and rest > 1e-9:
                # The broker keeps the rest working and fills it later under the same tag: that fill
                # is this share's too, and the next passes settle it when the broker's net shows it.
                self.copybook.intend(self.slave_id, request.symbol, master_ticket, request.side.sign * rest,
                                     f"{cid}:rest", self.clock.time())
        elif report.status is not Status.UNREACHABLE or not report.sent:
            self.copybook.settle(intent, 0.0)
        # Unreachable after sending: the outcome is unknown; the next pass settles it from the broker.
        return report

    async def _limit_at_master_price(self, d: DesiredPosition, spec: SymbolSpec, report: ExecutionReport,
                                     cid: str) -> None:
        """The market ran beyond the tolerance: wait for the master's price with a limit order."""
        kind = _limit_kind(d.side)
        request = PlacePending(symbol=d.symbol, kind=kind, volume=d.volume, price=round(d.master_price, spec.digits),
                               stoplimit=0.0, sl=d.sl, tp=d.tp, expiration=0, magic=self.magic,
                               comment=tags.comment_for(d.master_ticket, instance=self.instance, chase=True))
        label = (f"{self._deviation_text(d, spec, report, 0).removeprefix('skipped: ')}: placing a {kind.value} "
                 f"at the master's price {d.master_price:.{spec.digits}f} (tolerances.on_price_deviation)")
        limit_cid = tags.copy_id(cid, 0, "", "limit")
        self._request(limit_cid, label, request)
        report = await self.connector.place_pending(request)
        self._result(limit_cid, report)
        _raise_for_account_state(report)
        if not report.status.ok:
            self.refuse(d.master_ticket, f"skipped: {label.split(': placing')[0]}; the limit order at the master's "
                        f"price was refused too: {report.message}", copy_id=limit_cid)
            return
        self.notify(Notice("copy", self.slave_id, f"placed {kind.value} {d.volume:g} {d.symbol} @ "
                           f"{d.master_price:.{spec.digits}f} instead of chasing the market "
                           f"(master #{d.master_ticket})", d.master_ticket))
        if _new_entry(self.copybook.get(self.slave_id, d.master_ticket), d):
            self.copybook.remember(self.slave_id, d.master_ticket, d.master_volume, d.volume, d.side)

    def _refuse_entry(self, step: OpenStep, reason: str, cid: str, d: DesiredPosition) -> None:
        if step.top_up:
            self.journal.record("refusal", f"top-up {reason}", account=self.slave_id, copy_id=cid)
            return
        self.refuse(d.master_ticket, reason, copy_id=cid, master_price=d.master_price, drift=self.missed(d))

    def missed(self, d: DesiredPosition) -> dict:
        """What drift attribution needs to value an entry this slave did not take."""
        spec = self.specs.get(d.symbol)
        return {**drift_data("missed", spec, d.side, d.intended, d.volume, d.master_volume),
                **self._units(spec, d.master_symbol)}

    def _units(self, spec: SymbolSpec | None, master_symbol: str) -> dict:
        """What one volume holds on either side of a copy (metrics.CopyMetrics says why); 0.0
        for what is not known."""
        master = self.master_spec(master_symbol) if master_symbol else None
        return {"slave_per_volume": spec.base_per_volume if spec is not None else 0.0,
                "master_per_volume": master.base_per_volume if master is not None else 0.0,
                "master_money_per_price_lot": (master.tick_value / master.tick_size
                                               if master is not None and master.tick_size > 0 else 0.0)}

    def _deviation_text(self, d: DesiredPosition, spec: SymbolSpec, report: ExecutionReport, attempts: int) -> str:
        price = report.ask if d.side is Side.BUY else report.bid
        if report.sent:
            return (f"skipped: requoted {attempts + 1} times by {self.broker} ({report.message}); "
                    f"tolerances.requote_retries is {self.rules.tolerances.requote_retries}")
        if price and d.master_price:
            deviation = (price - d.master_price) / spec.point * d.side.sign
            # The limit in the unit the trader set it in, at the spread of the refused quote.
            spread = (report.ask - report.bid) / spec.point if report.bid and report.ask else 0.0
            limit = price_limit(self.rules.tolerances, d.master_symbol or d.symbol, spec, d.master_price)
            same = limit.in_unit(deviation, spec, d.master_price, spread)
            return (f"skipped: {d.symbol} at {price:.{spec.digits}f} is {deviation:.0f} points "
                    f"{f'({same}) ' if same else ''}worse than the "
                    f"master's fill {d.master_price:.{spec.digits}f} at {self.broker}, beyond the "
                    f"{limit.describe(spec, d.master_price, spread)}"
                    + (f" (after {attempts} requote(s))" if attempts else ""))
        return f"skipped: requoted {attempts + 1} times at {self.broker}; the price moved beyond the tolerance"

    def _record_fill(self, cid: str, master_ticket: int, symbol: str, action: str, side: Side,
                     report: ExecutionReport, intended: float, master_price: float, spec: SymbolSpec,
                     ctx: StepContext, handed_mono: float, retries: int, exit: bool = False, *,
                     position_side: Side, ideal: float = 0.0, sized: float = 0.0, master_volume: float = 0.0,
                     master_symbol: str = "", entry_price: float = 0.0,
                     limits: tuple[float | None, float] | None = None) -> None:
        # An exit is timed from when the master's close was seen (the close's own fill time is in
        # the master's deal history, which is not polled); an entry from the master's fill.
        # A top-up answers the pass that found the shortfall, not the master's original fill.
        fill_wall = ctx.detected_wall if exit or action == "topup" else ctx.master_fill_wall.get(
            master_ticket, ctx.detected_wall)
        slippage_points = (report.price - master_price) / spec.point * side.sign if master_price else 0.0
        ticks = slippage_points * spec.point / spec.tick_size if spec.tick_size else 0.0
        money = ticks * spec.tick_value * report.volume
        gap = (report.price - master_price) * side.sign if master_price else 0.0
        same = units.comparable(gap, spec, master_price) if master_price > 0 else units.Comparable(0.0, "bp")
        bp = gap / master_price * 1e4 if master_price > 0 else 0.0
        m = CopyMetrics(
            copy_id=cid, slave=self.slave_id, master_ticket=master_ticket, symbol=symbol, action=action,
            volume=report.volume, intended_volume=round(intended, 6), master_price=master_price,
            slave_price=report.price,
            detection_ms=round(max(0.0, ctx.detected_wall - fill_wall) * 1000, 3),
            decision_ms=round(max(0.0, handed_mono - ctx.detected_mono) * 1000, 3),
            broker_ms=round(report.broker_latency_s * 1000, 3),
            total_ms=round(max(0.0, report.received_at - fill_wall) * 1000, 3),
            received_wall=report.received_at,
            slippage_points=round(slippage_points, 2), slippage_money=round(money, 4),
            volume_deviation_pct=round((report.volume - intended) / intended * 100, 3) if intended else 0.0,
            retries=retries, slippage=round(same.value, 3), slippage_unit=same.unit, slippage_bp=round(bp, 3),
            side=position_side.value, ideal_volume=round(ideal, 8), sized_volume=sized, master_volume=master_volume,
            quote=_quote(report), money_per_price_lot=spec.tick_value / spec.tick_size if spec.tick_size else 0.0,
            entry_price=entry_price, **self._units(spec, master_symbol),
            # The tolerances this fill is measured against; an exit has no price limit (exits are never refused).
            **_limits_applied(limits, self.rules.tolerances.max_delay_ms))
        self.metrics.record_copy(m)
        self.journal.record("info", f"copied {action}", account=self.slave_id, copy_id=cid, metrics=m.as_dict())
        what = f"{action} {report.volume:g} {symbol}" if exit else f"{action} {side.value} {report.volume:g} {symbol}"
        reference = f" @ {master_price:.{spec.digits}f}" if master_price else ""
        text = (f"{what} @ {report.price:.{spec.digits}f} (master #{master_ticket}{reference}) "
                f"latency {m.total_ms:.1f} ms, slippage {m.slippage_points:+.1f} pt "
                f"({m.slippage:+.1f} {m.slippage_unit}, {m.slippage_money:+.2f} {self.currency})".replace(" )", ")"))
        self.notify(Notice("copy", self.slave_id, text, master_ticket, m))

    async def _reduce(self, step: ReduceStep, ctx: StepContext, specs: dict[str, SymbolSpec]) -> None:
        pos = step.position
        # The position's volume before the cut makes two equal cuts of one position two copy IDs.
        leg = f"close:{pos.ticket}" if step.closes_all else f"reduce:{pos.ticket}:{pos.volume:g}-{step.volume:g}"
        cid = tags.copy_id(ctx.master_account, step.master_ticket, self.slave_id, leg)
        request = ClosePosition(ticket=pos.ticket, symbol=pos.symbol, side=pos.side, volume=step.volume,
                                magic=self.magic, comment=tags.comment_for(step.master_ticket, instance=self.instance))
        report = await self._exit(cid, step.master_ticket, request, lambda: self.connector.close(request),
                                  label=f"close {step.volume:g} of {pos.symbol} #{pos.ticket} ({step.reason})",
                                  what=f"close {pos.symbol} #{pos.ticket}",
                                  action="close" if step.closes_all else "reduce",
                                  side=pos.side.opposite, ctx=ctx, specs=specs, entry_price=pos.price_open)
        if report is not None:  # a cut is charged commission too
            self._deals_due.append((pos.identifier or pos.ticket, step.master_ticket, pos.symbol, report.order,
                                    round(pos.volume - report.volume, 8), report.deals))

    def take_deals_due(self) -> list[DealsDue]:
        """The (position id, master ticket, symbol, order, volume left, deals) of copies filled, cut
        or closed since the last call, so the copier can journal what they cost so far. A netting
        share's position id is 0: its deals sit on the symbol's one position, which the copier looks
        up. ``deals`` are the position's, when the report carried them; None: the copier reads them."""
        due, self._deals_due = self._deals_due, []
        return due

    async def _exit(self, cid: str, master_ticket: int, request: ClosePosition | OpenPosition, send, *, label: str,
                    what: str, action: str, side: Side, ctx: StepContext, specs: dict[str, SymbolSpec],
                    entry_price: float = 0.0) -> ExecutionReport | None:
        """Send an exit and record its fill; its report if it passed. Exits are retried harder than
        entries: a requote must never leave a position open."""
        retries = max(5, self.rules.tolerances.requote_retries)
        handed_mono: float | None = None
        for attempt in range(retries + 1):
            self._request(cid, label, request)
            if handed_mono is None:  # the first hand-over ends the decision, as for an entry
                handed_mono = self.clock.monotonic()
            report = await send()
            await asyncio.sleep(0)
            self._result(cid, report)
            if report.status is Status.REQUOTED and attempt < retries:
                continue
            if not report.status.ok:
                self._fail(master_ticket, what, report, cid)
                return None
            spec = specs.get(request.symbol) or await self.connector.symbol(request.symbol)
            if spec is not None:
                self._record_fill(cid, master_ticket, request.symbol, action, side, report, request.volume,
                                  ctx.master_exit_price.get(master_ticket, 0.0), spec, ctx, handed_mono, attempt,
                                  exit=True, position_side=side.opposite, entry_price=entry_price)
            return report
        return None

    async def _net(self, step: NetStep, ctx: StepContext, specs: dict[str, SymbolSpec]) -> None:
        """One tagged market deal on a netting account. Deals net against the symbol's one position
        whatever its current side and size, so no position ticket is named: after another share's
        deal in the same pass (a reversal among them) a named ticket could already be stale."""
        if not step.is_exit:
            d = step.desired
            if d is not None:
                await self._open(OpenStep(d, step.volume, top_up=bool(step.held)), ctx, specs)
            return
        # The share before and the deal's signed volume: "net:EURUSD:0.3-0.1" takes 0.1 off a 0.3 share.
        leg = f"net:{step.symbol}:{step.held:g}{step.side.sign * step.volume:+g}"
        cid = tags.copy_id(ctx.master_account, step.master_ticket, self.slave_id, leg)
        request = OpenPosition(symbol=step.symbol, side=step.side, volume=step.volume, sl=0.0, tp=0.0,
                               magic=self.magic, comment=tags.comment_for(step.master_ticket, instance=self.instance),
                               max_deviation_points=50)
        closes_all = abs(abs(step.held) - step.volume) < 1e-9
        report = await self._exit(cid, step.master_ticket, request,
                                  lambda: self._send_open(request, step.master_ticket, cid),
                                  label=f"{step.side.value} {step.volume:g} {step.symbol} for master "
                                        f"#{step.master_ticket} ({step.reason})",
                                  what=f"exit {step.symbol}", action="close" if closes_all else "reduce",
                                  side=step.side, ctx=ctx, specs=specs)
        if report is not None:
            self._deals_due.append((0, step.master_ticket, step.symbol, report.order, 0.0, report.deals))

    async def _simple(self, master_ticket: int, cid: str, label: str, request, send, done: str) -> ExecutionReport | None:
        """Send a request that changes no exposure (stops, a pending order); its report if it passed."""
        self._request(cid, label, request)
        report = await send(request)
        await asyncio.sleep(0)
        self._result(cid, report)
        if not report.status.ok:
            self._fail(master_ticket, label, report, cid)
            return None
        self.notify(Notice("copy", self.slave_id, f"{done} (master #{master_ticket})", master_ticket))
        return report

    async def _modify(self, step: ModifyStep) -> None:
        pos = step.position
        wanted = (step.sl, step.tp)
        # The connector may have moved a stop out to the broker's minimum distance; while the
        # position shows what was sent for these stops, asking again would only repeat that
        # adjustment. Stops changed since (a netting deal carries its own, a trader edits them)
        # are set again.
        applied = self.stops_applied.get(pos.ticket)
        if applied is not None and applied[0] == wanted and _same_stops(applied[1], (pos.sl, pos.tp)):
            return
        wait = self.modified_at.get(pos.ticket, float("-inf")) + MODIFY_INTERVAL_S - self.clock.monotonic()
        if wait > 0:
            self.defer(wait)  # that pass plans from the master's stops as they are then: the latest wins
            return
        self.modified_at[pos.ticket] = self.clock.monotonic()
        cid = tags.copy_id("sltp", step.master_ticket, self.slave_id,
                           f"{pos.ticket}:{pos.sl:g}/{pos.tp:g}>{step.sl:g}/{step.tp:g}")
        request = ModifyStops(ticket=pos.ticket, symbol=pos.symbol, sl=step.sl, tp=step.tp)
        report = await self._simple(step.master_ticket, cid,
                                    f"set SL {step.sl:g} TP {step.tp:g} on {pos.symbol} #{pos.ticket}", request,
                                    self.connector.modify, f"stops {pos.symbol} sl {step.sl:g} tp {step.tp:g}")
        if report is not None:
            self.stops_applied[pos.ticket] = (wanted, _sent_stops(report, wanted))

    async def _place(self, step: PlaceStep) -> None:
        d = step.desired
        cid = tags.copy_id("pending", d.master_ticket, self.slave_id, f"place:{d.price:g}")
        if self.refused.get(d.master_ticket):
            return
        request = PlacePending(symbol=d.symbol, kind=d.kind, volume=d.volume, price=d.price, stoplimit=d.stoplimit,
                               sl=d.sl, tp=d.tp, expiration=d.expiration, magic=self.magic,
                               comment=tags.comment_for(d.master_ticket, instance=self.instance))
        self._request(cid, f"place {d.kind.value} {d.volume:g} {d.symbol} @ {d.price:g}", request)
        report = await self.connector.place_pending(request)
        self._result(cid, report)
        if not report.status.ok:
            _raise_for_account_state(report)
            self.refuse(d.master_ticket, f"failed: place {d.kind.value} {d.symbol}: {report.message}", copy_id=cid)
            return
        self.copybook.remember_order(self.slave_id, d.master_ticket)
        self.notify(Notice("copy", self.slave_id, f"placed {d.kind.value} {d.volume:g} {d.symbol} @ {d.price:g} "
                           f"(master #{d.master_ticket})", d.master_ticket))

    async def _amend(self, step: AmendStep) -> None:
        d = step.desired
        o = step.order
        cid = tags.copy_id("pending", d.master_ticket, self.slave_id,
                           f"amend:{o.ticket}:{o.price:g}/{o.sl:g}/{o.tp:g}/{o.expiration}>"
                           f"{d.price:g}/{d.sl:g}/{d.tp:g}/{d.expiration}")
        request = ModifyPending(ticket=step.order.ticket, symbol=step.order.symbol, price=d.price,
                                stoplimit=d.stoplimit, sl=d.sl, tp=d.tp, expiration=d.expiration)
        await self._simple(d.master_ticket, cid, f"modify order #{step.order.ticket} to {d.price:g}", request,
                           self.connector.modify_pending, f"moved {d.kind.value} {d.symbol} to {d.price:g}")

    async def _cancel(self, step: CancelStep) -> bool:
        cid = tags.copy_id("pending", step.master_ticket, self.slave_id, f"cancel:{step.order.ticket}")
        request = CancelPending(ticket=step.order.ticket, symbol=step.order.symbol)
        return None is not await self._simple(step.master_ticket, cid, f"cancel order #{step.order.ticket} ({step.reason})", request,
                           self.connector.cancel,
                           f"cancelled {step.order.kind.value} {step.order.symbol} ({step.reason})")


def _entry_leg(step: OpenStep, *, again: bool = False) -> str:
    """The copy id's last part for an entry. ``again``: this master position was copied before, so
    this entry is for what it became since (a netting master's buy bigger than the sell it held
    turns the same position into a buy): named by its side and the price it took that side at, not
    by the first entry's name, which it would otherwise share with a different request."""
    if not step.top_up:
        return f"entry:{step.desired.side.value}@{step.desired.master_price:g}" if again else "entry"
    # What the slave held before names the top-up: a second shortfall later is another request.
    return f"topup:{step.desired.volume - step.volume:g}+{step.volume:g}"


def _raise_for_account_state(report: ExecutionReport) -> None:
    """Answers about the account rather than the request end the pass; the copier handles them."""
    if report.status is Status.UNREACHABLE:
        raise Unreachable(report.message)
    if report.status is Status.DISABLED:
        raise TradingDisabled(report.message)
    if report.status is Status.THROTTLED:
        raise Throttled(report.message)


def _limit_kind(side: Side) -> PendingKind:
    return PendingKind.BUY_LIMIT if side is Side.BUY else PendingKind.SELL_LIMIT


def _reason(report: ExecutionReport) -> dict:
    """The platform-neutral reason beside the broker's own code, for journals read across platforms."""
    return {"reason": report.reason.value} if report.reason is not None else {}


def _new_entry(entry: CopyEntry | None, d: DesiredPosition) -> bool:
    """Whether a copy's fill is an entry for the copy book: the first for its master position, or
    the first on the new side of a master position that reversed in place (an entry with no side,
    from before sides were kept, is left as it is)."""
    return entry is None or (entry.side is not None and entry.side is not d.side)


def _master_ticket(step: OpenStep | NetStep) -> int:
    return step.desired.master_ticket if isinstance(step, OpenStep) else step.master_ticket


def _sent_stops(report: ExecutionReport, asked: tuple[float, float]) -> tuple[float, float]:
    """The SL/TP the connector sent (after fitting them to the broker's distances), when it says."""
    if report.sent_sl is not None and report.sent_tp is not None:
        return report.sent_sl, report.sent_tp
    return asked


def _same_stops(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return abs(a[0] - b[0]) < 1e-9 and abs(a[1] - b[1]) < 1e-9


def _limit_points(limit: PriceLimit, report: ExecutionReport, spec: SymbolSpec, master_price: float) -> float | None:
    """The price limit a filled entry was held to, in points: as the connector applied it at the
    spread it saw, else at the spread the slave's symbol last showed; None without a master price."""
    if not master_price:
        return None
    if report.deviation_limit_points is not None:
        return report.deviation_limit_points
    spread = (spec.ask - spec.bid) / spec.point if spec.point > 0 and spec.ask > spec.bid > 0 else 0.0
    return round(limit.points_at(spread), 2)


def _limits_applied(limits: tuple[float | None, float] | None, max_delay_ms: float) -> dict:
    deviation, delay = limits if limits is not None else (None, max_delay_ms)
    return {"deviation_limit_points": deviation, "delay_limit_ms": float(delay)}


def _quote(report: ExecutionReport) -> float:
    """The slave's own price when the request went: the price the connector put in the request
    (read from a fresh quote just before sending), else the fill itself."""
    return report.quote or report.price
