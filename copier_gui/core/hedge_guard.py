"""The guard against hedging across one owner's accounts, as prop firms ban it: an entry on one
account that would stand against a position another linked account holds on the same instrument
(a copy, or that account's own trade) is refused or warned, per the profile (core.prop_rules).

Instruments are matched across brokers by what they trade: a currency pair, metal or coin by its
two currencies (EURUSD.m at one broker is EURUSD-ECN at another), an index or metal by the symbol
map's well-known aliases (US30, DJ30.cash, WS30 and DJI are the Dow; GOLD is XAUUSD), anything else
by its name without the broker's prefix and suffix. Entries on their way but not yet filled count too: two accounts
entering opposite sides in the same fan-out would otherwise each see the other flat.

Pure apart from the record of entries on their way, which the copier keeps (``InFlight``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from copier_gui.core.model import Position, Side, SymbolSpec
from copier_gui.core.prop_rules import HedgingAction, HedgingGuard
from copier_gui.core.reconciler import NetStep, OpenStep, PlaceStep, Step
from copier_gui.core.symbols import known_instrument
from copier_gui.core.units import symbol_root


def instrument(symbol: str, spec: SymbolSpec | None) -> str:
    root = symbol_root(symbol)
    # Aliases first: GOLD has no currencies at some brokers while XAUUSD has XAU and USD.
    known = known_instrument(root)
    if known is not None:
        return known
    if spec is not None and spec.currency_base and spec.currency_profit and spec.currency_base != spec.currency_profit:
        return f"{spec.currency_base.upper()}/{spec.currency_profit.upper()}"
    return "".join(ch for ch in root if ch.isalnum())  # US 30 (cTrader) is US30


@dataclass(frozen=True, slots=True)
class Holding:
    """A position one linked account holds, or an entry on its way there."""

    account: str
    instrument: str
    side: Side
    volume: float
    symbol: str
    ticket: int  # the position's ticket; for an entry on its way, the master ticket it copies
    on_its_way: bool = False


def holdings(account: str, positions: Iterable[Position], specs: dict[str, SymbolSpec]) -> list[Holding]:
    return [Holding(account, instrument(p.symbol, specs.get(p.symbol)), p.side, p.volume, p.symbol, p.ticket)
            for p in positions]


@dataclass
class InFlight:
    """Entries sent and not yet seen in their account's snapshot, by account: (monotonic time sent,
    holding). One is dropped once a snapshot of its account taken after it was sent is in."""

    entries: dict[str, list[tuple[float, Holding]]] = field(default_factory=dict)

    def add(self, sent_at: float, holding: Holding) -> None:
        self.entries.setdefault(holding.account, []).append((sent_at, holding))

    def seen(self, account: str, snapshot_taken_at: float) -> None:
        kept = [(t, h) for t, h in self.entries.get(account, ()) if t >= snapshot_taken_at]
        if kept:
            self.entries[account] = kept
        else:
            self.entries.pop(account, None)

    def of(self, accounts: Iterable[str]) -> list[Holding]:
        return [h for a in accounts for _, h in self.entries.get(a, ())]


def _entry(step: Step) -> tuple[int, str, Side, float] | None:
    """(master ticket, slave symbol, side, volume) of an entry step; None for anything else."""
    if isinstance(step, OpenStep):
        return step.desired.master_ticket, step.desired.symbol, step.desired.side, step.volume
    if isinstance(step, NetStep) and not step.is_exit:
        return step.master_ticket, step.symbol, step.side, step.volume
    if isinstance(step, PlaceStep):
        return step.desired.master_ticket, step.desired.symbol, step.desired.kind.side, step.desired.volume
    return None


@dataclass(frozen=True, slots=True)
class Hedge:
    step: Step
    master_ticket: int
    text: str


def screen(account: str, steps: list[Step], rule: HedgingGuard | None, specs: dict[str, SymbolSpec],
           others: list[Holding]) -> tuple[list[Step], list[Hedge], list[Hedge]]:
    """(steps to send, hedges refused, hedges warned). Exits, stop moves and cancellations always
    pass; so does everything without a rule."""
    if rule is None or not others:
        return steps, [], []
    by_instrument: dict[str, list[Holding]] = {}
    for h in others:
        if h.account != account:
            by_instrument.setdefault(h.instrument, []).append(h)
    kept: list[Step] = []
    refused: list[Hedge] = []
    warned: list[Hedge] = []
    for step in steps:
        entry = _entry(step)
        opposite = []
        if entry is not None:
            ticket, symbol, side, volume = entry
            opposite = [h for h in by_instrument.get(instrument(symbol, specs.get(symbol)), ()) if h.side is not side]
        if not opposite:
            kept.append(step)
            continue
        h = opposite[0]
        held = f"an entry on its way to {h.account}" if h.on_its_way else f"{h.account}'s position #{h.ticket}"
        verb = "not opened" if rule.action is HedgingAction.REFUSE else "opened anyway (the rule warns)"
        text = (f"risk.prop.hedging: {side.value} {volume:g} {symbol} would hedge {held} "
                f"({h.side.value} {h.volume:g} {h.symbol}); hedging across one owner's accounts breaks the firm's "
                f"rules, so it is {verb}")
        if rule.action is HedgingAction.REFUSE:
            refused.append(Hedge(step, ticket, "skipped: " + text))
        else:
            warned.append(Hedge(step, ticket, "warning: " + text))
            kept.append(step)
    return kept, refused, warned


def entries_sent(account: str, steps: list[Step], specs: dict[str, SymbolSpec]) -> list[Holding]:
    """The entries among ``steps`` as holdings on their way, for ``InFlight``."""
    found = []
    for step in steps:
        entry = _entry(step)
        if entry is not None:
            ticket, symbol, side, volume = entry
            found.append(Holding(account, instrument(symbol, specs.get(symbol)), side, volume, symbol, ticket, True))
    return found
