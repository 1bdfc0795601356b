"""What a slave should hold for one master trade, worked out from docs/rules.md and the simulated
brokers' symbol specs alone.

The oracle must not share a mistake with the code it judges, so nothing here comes from the
copier's planner, reconciler or sizing: the instrument is found by its identity at each broker
(not by name guessing), and the volume follows the documented steps (rule, contract size, clamps,
lot step, minimum and maximum) written out again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from copier_gui.core.rules import CopyRules, Rounding, SizingMode
from copier_gui.sim.catalog import ALL_PROFILES as PROFILES
from copier_gui.sim.profiles import SymbolSpec

_EPS = 1e-9

# Sizing modes the oracle can judge from the scenario alone; the generator draws only these.
JUDGED_MODES = (SizingMode.LOT_MULTIPLIER, SizingMode.FIXED_LOT)


def spec_at(profile: str, symbol: str) -> SymbolSpec:
    return PROFILES[profile].symbols_by_name[symbol]


def same_instrument(spec: SymbolSpec, profile: str) -> SymbolSpec | None:
    """The symbol at ``profile`` that trades the instrument ``spec`` trades, under its own name."""
    for other in PROFILES[profile].symbols:
        if other.instrument == spec.instrument:
            return other
    return None


def rule_lots(master_lots: float, rules: CopyRules, master: SymbolSpec, slave: SymbolSpec) -> float:
    """The volume the slave's sizing rule asks for, before its clamps and the broker's lot step."""
    sizing = rules.sizing
    if sizing.mode is SizingMode.FIXED_LOT:
        lots = sizing.lots
    elif sizing.mode is SizingMode.LOT_MULTIPLIER:
        # Same exposure in contracts: the contract sizes differ per broker, the exposure may not.
        lots = master_lots * sizing.multiplier * master.contract_size / slave.contract_size
    else:
        raise ValueError(f"the oracle does not judge sizing mode {sizing.mode.value}")
    per_symbol = rules.symbols.per_symbol.get(master.name)
    if per_symbol is not None:
        lots *= per_symbol.volume_multiplier
    return lots


def on_step(lots: float, spec: SymbolSpec, rules: CopyRules) -> float | None:
    """``lots`` clamped by the rule, then put on the broker's lot step; None when it is refused."""
    sizing = rules.sizing
    if lots <= 0:
        return None
    if sizing.min_lot is not None:
        lots = max(lots, sizing.min_lot)
    if sizing.max_lot is not None:
        lots = min(lots, sizing.max_lot)
    steps = lots / spec.volume_step
    # A tie rounds up (docs/rules.md: 0.185 -> 0.19), whatever the float noise in 0.01 x 1.5.
    whole = math.floor(steps + _EPS) if sizing.rounding is Rounding.DOWN else math.floor(steps + 0.5 + _EPS)
    out = whole * spec.volume_step
    if out < spec.volume_min - _EPS:
        return None
    if out > spec.volume_max + _EPS:
        out = math.floor(spec.volume_max / spec.volume_step + _EPS) * spec.volume_step
    return round(out, 8)


def position_lots(history: Iterable[float], now: float, rules: CopyRules, master: SymbolSpec,
                  slave: SymbolSpec) -> set[float]:
    """Every volume the rules allow a slave to hold for a master position now at ``now`` lots.

    ``history`` is every volume the master position has had. The copy's proportion is fixed when
    it is made (docs/rules.md, partial closes), and a copy may be made at any of those volumes
    (a slave offline at the open copies later, a restarted copier may size afresh), so each
    is a valid starting point; the same proportion holds when a netting master's position grows.
    0.0 stands for a refusal.
    """
    out: set[float] = set()
    fresh = on_step(rule_lots(now, rules, master, slave), slave, rules)
    out.add(fresh or 0.0)
    for then in history:
        entry = on_step(rule_lots(then, rules, master, slave), slave, rules)
        if entry is None:
            continue
        kept = now if rules.copy_partial_closes else max(now, then)
        out.add(on_step(entry * kept / then, slave, rules) or 0.0)
    return out


def order_lots(volume: float, rules: CopyRules, master: SymbolSpec, slave: SymbolSpec) -> float:
    """The volume of a slave's copy of a pending order; 0.0 when it is refused."""
    return on_step(rule_lots(volume, rules, master, slave), slave, rules) or 0.0


def sums(options: list[set[float]], *, limit: int = 4096) -> tuple[set[float], bool]:
    """Every total of one pick from each set (netting: one position holds several copies).

    Returns the totals and whether they are exact; past ``limit`` totals only the range is kept,
    which is still a sharp check for an orphan or a gap.
    """
    totals = {0.0}
    for choice in options:
        totals = {round(t + c, 8) for t in totals for c in choice}
        if len(totals) > limit:
            low = sum(min(c) for c in options)
            high = sum(max(c) for c in options)
            return {round(low, 8), round(high, 8)}, False
    return totals, True


# A reversed order: buying below the market becomes selling below it (docs/rules.md).
REVERSED_KINDS = {"buy_limit": "sell_stop", "sell_limit": "buy_stop", "buy_stop": "sell_limit",
                  "sell_stop": "buy_limit"}


def copied_sign(rules: CopyRules, sign: int) -> int:
    """The side the slave holds (+1 buy, -1 sell) for a master trade on ``sign``."""
    return -sign if rules.filters.reverse else sign


def copied_kind(rules: CopyRules, kind: str) -> str:
    return REVERSED_KINDS[kind] if rules.filters.reverse else kind


def copied_stops(rules: CopyRules, sl: float, tp: float) -> tuple[float, float]:
    """Reversed, the master's stop loss is the slave's target and the other way round."""
    return (tp, sl) if rules.filters.reverse else (sl, tp)


def filtered(rules: CopyRules, master_symbol: str, sign: int) -> bool:
    """Whether the slave's filters leave this master trade alone (a journaled refusal)."""
    f = rules.filters
    if f.magic_numbers or f.comment_contains:
        raise ValueError("the oracle does not judge magic-number or comment filters")
    if f.include_symbols and master_symbol not in f.include_symbols:
        return True
    if master_symbol in f.exclude_symbols:
        return True
    per_symbol = rules.symbols.per_symbol.get(master_symbol)
    if per_symbol is not None and not per_symbol.enabled:
        return True
    # The direction is of what the slave would hold, after reversing.
    held = copied_sign(rules, sign)
    return (f.direction == "long_only" and held < 0) or (f.direction == "short_only" and held > 0)
