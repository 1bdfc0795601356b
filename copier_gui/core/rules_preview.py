"""What one slave would do with one master trade under a set of copy rules: the rules form's preview
line ("master buy 1.00 EURUSD → this slave buy 0.37 EURUSD.m, SL 1.07578") and its symbol map.

Both run the copier's own code on a sample trade (the planner's plan_position for filters, the
symbol map, sizing with the slave's lot limits and stops; price_limit for the tolerance), so the
preview says what the copier would send, never a second guess at it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from copier_gui.core import units
from copier_gui.core.model import AccountState, Position, Side, SymbolSpec, VolumeUnit
from copier_gui.core.planner import (
    DesiredPosition,
    MasterContext,
    Refusal,
    SlaveContext,
    filter_refusal,
    plan_position,
)
from copier_gui.core.price_limit import price_limit
from copier_gui.core.rules import CopyRules, Direction, SizingMode
from copier_gui.core.symbols import SymbolMap

# Sizing modes that read account figures, so they cannot be previewed before an account connects.
_NEEDS_FIGURES = frozenset({SizingMode.BALANCE_RATIO, SizingMode.EQUITY_RATIO, SizingMode.FREE_MARGIN_RATIO,
                            SizingMode.FIXED_RISK})
# The sample trade's stop when the master holds nothing to show: 50 pips on a currency pair, half a
# percent of the price elsewhere; far enough that a fixed-risk rule sizes to an ordinary volume.
SAMPLE_STOP_PIPS = 50.0
SAMPLE_STOP_FRACTION = 0.005
# A pair every broker lists, preferred as the sample when the master holds no position.
_PREFERRED = ("EURUSD", "GBPUSD", "XAUUSD")
_SAMPLE_TICKET = 1  # never looked up: the preview's copy book holds no copies


@dataclass(frozen=True, slots=True)
class PreviewAccount:
    """One account as the preview needs it: its symbols and, once connected, its figures."""

    symbols: Mapping[str, SymbolSpec] = field(default_factory=dict)
    account: AccountState | None = None
    broker: str = ""  # the name refusals give the slave's broker; the company when empty

    @property
    def connected(self) -> bool:
        return self.account is not None and bool(self.symbols)

    @property
    def broker_name(self) -> str:
        return self.broker or (self.account.company if self.account is not None else "") or "this broker"


@dataclass(frozen=True, slots=True)
class PreviewInputs:
    """Everything the preview reads besides the rules: both accounts and the master's open positions."""

    master: PreviewAccount = field(default_factory=PreviewAccount)
    slave: PreviewAccount = field(default_factory=PreviewAccount)
    master_positions: tuple[Position, ...] = ()


@dataclass(frozen=True, slots=True)
class SampleTrade:
    """The master trade the preview copies. ``price`` 0 means the master has no quote for it."""

    symbol: str
    side: Side = Side.BUY
    volume: float = 1.0
    price: float = 0.0
    sl: float = 0.0
    tp: float = 0.0
    magic: int = 0
    comment: str = ""

    def with_volume(self, volume: float) -> SampleTrade:
        return SampleTrade(self.symbol, self.side, volume, self.price, self.sl, self.tp, self.magic, self.comment)


@dataclass(frozen=True, slots=True)
class Preview:
    """The preview line, and its parts for whoever wants to check them."""

    text: str
    copied: bool
    slave_symbol: str | None = None
    volume: float = 0.0
    sl: float = 0.0
    tp: float = 0.0
    note: str = ""  # a clamp or fallback the copier journals with the copy
    tolerance: str = ""  # the price and delay limits that apply to this copy
    problem: str = ""  # a rule that cannot apply to this symbol (pips on a coin)


def sample_trade(symbol: str, master: PreviewAccount, *, side: Side = Side.BUY, volume: float = 1.0,
                 positions: Iterable[Position] = ()) -> SampleTrade:
    """A trade on ``symbol`` as the master would open it now: at its quote, with an ordinary stop.

    An open master position on that symbol and side is taken as it is (its fill, its stops), so the
    preview shows what that very position's copy would be.
    """
    for pos in positions:
        if pos.symbol == symbol and pos.side is side:
            return SampleTrade(symbol, side, volume, pos.price_open, pos.sl, pos.tp, pos.magic, pos.comment)
    spec = master.symbols.get(symbol)
    if spec is None:
        return SampleTrade(symbol, side, volume)
    price = spec.ask if side is Side.BUY else spec.bid
    if price <= 0:
        return SampleTrade(symbol, side, volume)
    pip = units.pip_size(spec)
    gap = SAMPLE_STOP_PIPS * pip if pip else price * SAMPLE_STOP_FRACTION
    return SampleTrade(symbol, side, volume, price, round(price - side.sign * gap, spec.digits))


def default_sample(inputs: PreviewInputs, volume: float = 1.0) -> SampleTrade | None:
    """The master's first open position, else a buy of a major it lists; None without its symbols."""
    if inputs.master_positions:
        pos = inputs.master_positions[0]
        return SampleTrade(pos.symbol, pos.side, pos.volume, pos.price_open, pos.sl, pos.tp, pos.magic, pos.comment)
    names = sorted(inputs.master.symbols)
    if not names:
        return None
    quoted = [n for n in names if inputs.master.symbols[n].ask > 0] or names
    symbol = next((n for p in _PREFERRED for n in quoted if n.upper().startswith(p)), quoted[0])
    return sample_trade(symbol, inputs.master, volume=volume)


def _lots(volume: float, spec: SymbolSpec | None) -> str:
    """A volume with as many decimals as the symbol's lot step, and never fewer than two; a volume
    in units whole, and named."""
    if spec is not None and spec.volume_unit is VolumeUnit.UNITS:
        return f"{volume:.0f} units"
    digits = 2
    if spec is not None and 0 < spec.volume_step < 1:
        digits = max(2, -int(math.floor(math.log10(spec.volume_step) + 1e-9)))
    return f"{volume:.{digits}f}"


def _price(value: float, spec: SymbolSpec) -> str:
    return f"{value:.{spec.digits}f}"


def _contexts(rules: CopyRules, inputs: PreviewInputs, slave_id: str) -> tuple[MasterContext, SlaveContext]:
    """The planner's two contexts, built from the accounts the way the copier builds them."""
    m, s = inputs.master.account, inputs.slave.account
    master = MasterContext("master", m.balance if m else 0.0, dict(inputs.master.symbols), m.currency if m else "",
                           None, 0.0, m.equity if m else 0.0, m.margin_free if m else 0.0)
    slave = SlaveContext(slave_id, inputs.slave.broker_name, rules, dict(inputs.slave.symbols),
                         SymbolMap(list(inputs.slave.symbols), rules.symbols), s.balance if s else 0.0,
                         s.currency if s else "", None, s.equity if s else 0.0, s.margin_free if s else 0.0)
    return master, slave


class _NoCopies:
    """The copy book of a slave that holds no copy yet: a sample trade is always a new entry."""

    def get(self, slave_id: str, master_ticket: int) -> None:
        return None


def preview(rules: CopyRules, inputs: PreviewInputs, trade: SampleTrade, *, slave_name: str = "this slave") -> Preview:
    """What ``rules`` make of ``trade`` on this slave, in one line."""
    master_spec = inputs.master.symbols.get(trade.symbol)
    side = trade.side.value
    head = f"master {side} {_lots(trade.volume, master_spec)} {trade.symbol} → {slave_name}"
    if not inputs.slave.symbols:
        return Preview(f"{head}: connect this slave to see what it would copy", False)
    if trade.volume <= 0:
        return Preview(f"master {trade.symbol} → {slave_name}: give the sample a volume above 0", False)
    needs = rules.sizing.mode in _NEEDS_FIGURES
    if needs and (inputs.slave.account is None or inputs.master.account is None):
        who = "this slave's" if inputs.slave.account is None else "the master's"
        return Preview(f"{head}: sizing by {rules.sizing.mode.value.replace('_', ' ')} needs {who} balance; "
                       "it shows once the account is connected", False)
    master, slave = _contexts(rules, inputs, slave_name)
    position = Position(_SAMPLE_TICKET, _SAMPLE_TICKET, trade.symbol, trade.side, trade.volume, trade.price, trade.sl, trade.tp,
                        trade.magic, trade.comment, 0)
    planned = plan_position(position, master, slave, _NoCopies())  # type: ignore[arg-type]
    if isinstance(planned, Refusal):
        reason = planned.reason.removeprefix("skipped: ")
        return Preview(f"{head}: not copied, {reason}", False)
    return _copied(head, planned, rules, inputs, trade)


def _copied(head: str, planned: DesiredPosition, rules: CopyRules, inputs: PreviewInputs,
            trade: SampleTrade) -> Preview:
    spec = inputs.slave.symbols[planned.symbol]
    text = f"{head} {planned.side.value} {_lots(planned.volume, spec)} {planned.symbol}"
    if planned.sl:
        text += f", SL {_price(planned.sl, spec)}"
    if planned.tp:
        text += f", TP {_price(planned.tp, spec)}"
    if not planned.sl and not planned.tp:
        text += ", no stops"
    tolerance, problem = _tolerance(rules, trade, spec)
    return Preview(text, True, planned.symbol, planned.volume, planned.sl, planned.tp, planned.note or "",
                   tolerance, problem)


def _tolerance(rules: CopyRules, trade: SampleTrade, spec: SymbolSpec) -> tuple[str, str]:
    """(the limits on this copy in words, a limit that cannot apply to it)."""
    delay_ms, _ = rules.tolerances.for_symbol(trade.symbol)
    delay = f"filled at most {delay_ms / 1000:g} s after the master"
    spread = (spec.ask - spec.bid) / spec.point if spec.ask > spec.bid > 0 and spec.point > 0 else 0.0
    try:
        limit = price_limit(rules.tolerances, trade.symbol, spec, trade.price)
    except ValueError as exc:
        return delay, str(exc)
    reference = trade.price if trade.price > 0 else (spec.bid + spec.ask) / 2
    if reference <= 0:
        return delay, ""
    return f"price within {limit.describe(spec, reference, spread)}; {delay}", ""


# ----------------------------------------------------------------------------------- symbol map


@dataclass(frozen=True, slots=True)
class SymbolRow:
    """One master symbol in the map: the slave symbol it copies to, how that was found, and
    whether the rules copy it at all (``why_not`` names the rule when not)."""

    master: str
    slave: str | None
    how: str
    candidates: tuple[str, ...]
    copied: bool
    why_not: str
    volume_multiplier: float
    alias: str | None  # the trader's own choice, when there is one


class _WithoutClosest(SymbolMap):
    """The copier's symbol map, minus the closest names it offers for a symbol it cannot map: those
    cost milliseconds each, and a broker listing hundreds of symbols would stall the window."""

    def candidates(self, name: str, n: int = 3) -> tuple[str, ...]:
        return ()


def symbol_rows(rules: CopyRules, inputs: PreviewInputs, extra: Iterable[str] = (), *,
                closest: bool = True) -> list[SymbolRow]:
    """The master -> slave map for every symbol the master lists or holds and every symbol the rules
    name, in the master's order (held symbols first), resolved by the copier's own SymbolMap.

    ``closest=False`` leaves out the slave's closest names for an unmapped symbol (ask the
    SymbolMap for them row by row): about 15 ms for a thousand symbols instead of seconds.
    """
    held = [p.symbol for p in inputs.master_positions]
    named = [*rules.symbols.aliases, *rules.symbols.per_symbol, *rules.filters.include_symbols,
             *rules.filters.exclude_symbols, *rules.tolerances.per_symbol, *extra]
    names = list(dict.fromkeys([*held, *sorted(inputs.master.symbols), *named]))
    symbol_map = (SymbolMap if closest else _WithoutClosest)(list(inputs.slave.symbols), rules.symbols)
    # The symbol-only filters: direction, magic and comment depend on the trade, not the symbol.
    only_symbols = rules.model_copy(update={"filters": rules.filters.model_copy(
        update={"magic_numbers": [], "comment_contains": None, "direction": Direction.BOTH, "reverse": False})})
    _, context = _contexts(only_symbols, inputs, "this slave")
    rows = []
    for name in names:
        resolution = symbol_map.resolve(name)
        why = filter_refusal(name, Side.BUY, 0, "", context)
        rule = rules.symbols.per_symbol.get(name)
        rows.append(SymbolRow(name, resolution.slave_symbol, resolution.how, resolution.candidates, why is None,
                              (why or "").removeprefix("skipped: "), rule.volume_multiplier if rule else 1.0,
                              rules.symbols.aliases.get(name)))
    return rows


def affixes(rules: CopyRules, inputs: PreviewInputs) -> tuple[str, str]:
    """The (prefix, suffix) the symbol map detected on the slave's names, ("", "") when it detects none."""
    symbol_map = SymbolMap(list(inputs.slave.symbols), rules.symbols)
    return symbol_map.prefix, symbol_map.suffix
