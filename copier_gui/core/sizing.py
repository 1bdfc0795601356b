"""Slave volume from the master's: the sizing rule, contract-size alignment, then the slave's lot
step, minimum and maximum.

Wrong lot sizes are the most common complaint about copiers, and they come from the last two
steps: "1 lot" is 1, 10 or 100 contracts depending on the broker, and a volume off the lot step
is refused. Every refusal says which limit was hit, with the numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from copier_gui.core.model import SymbolSpec
from copier_gui.core.rules import Rounding, Sizing, SizingMode

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class SizedVolume:
    volume: float  # what to send; 0.0 when refused
    raw: float  # before rounding to the slave's step, the volume the rule intended
    refusal: str | None = None
    note: str | None = None  # e.g. capped at the maximum

    @property
    def ok(self) -> bool:
        return self.refusal is None


@dataclass(frozen=True, slots=True)
class Figures:
    """Both accounts' balance, equity and free margin, converted into one currency."""

    master_balance: float
    master_equity: float
    master_free_margin: float
    slave_balance: float
    slave_equity: float
    slave_free_margin: float


_RATIOS = {
    SizingMode.BALANCE_RATIO: ("master_balance", "slave_balance", "balance"),
    SizingMode.EQUITY_RATIO: ("master_equity", "slave_equity", "equity"),
    SizingMode.FREE_MARGIN_RATIO: ("master_free_margin", "slave_free_margin", "free margin"),
}


def intended_volume(
    master_volume: float,
    rule: Sizing,
    *,
    master_contract: float,
    slave_contract: float,
    figures: Figures,
    sl_distance: float = 0.0,
    spec: SymbolSpec | None = None,
    slave_equity_own_currency: float = 0.0,
) -> tuple[float, str | None]:
    """The slave volume the rule asks for, before the slave's own volume limits, and a note.

    The note says when a rule fell back (fixed risk on a trade without a stop loss).
    """
    mode, note = rule.mode, None
    if mode is SizingMode.FIXED_RISK:
        if sl_distance <= 0 or spec is None or spec.tick_size <= 0 or spec.tick_value <= 0:
            note = (f"the master trade has no stop loss, so fixed_risk sizing fell back to "
                    f"{rule.no_sl_fallback.value}")
            mode = rule.no_sl_fallback
        else:
            # Money lost per lot if the stop is hit, in the slave's account currency.
            loss_per_lot = sl_distance / spec.tick_size * spec.tick_value
            return slave_equity_own_currency * rule.risk_percent / 100.0 / loss_per_lot, None
    if mode is SizingMode.FIXED_LOT:
        return rule.lots, note
    volume = master_volume * rule.multiplier
    if mode in _RATIOS:
        master_attr, slave_attr, _ = _RATIOS[mode]
        master_figure = getattr(figures, master_attr)
        if master_figure <= 0:
            return 0.0, note
        volume *= getattr(figures, slave_attr) / master_figure
    # Same exposure in contracts: 1 lot x 10 at the master is 0.1 lot x 100 at the slave.
    if slave_contract > 0 and master_contract > 0:
        volume *= master_contract / slave_contract
    return volume, note


def normalise(volume: float, spec: SymbolSpec, broker: str, *, rounding: Rounding = Rounding.DOWN,
              min_lot: float | None = None, max_lot: float | None = None) -> SizedVolume:
    """Clamp to the slave's own lot limits, round to the broker's lot step, check its limits."""
    if volume <= 0:
        return SizedVolume(0.0, volume, refusal=f"volume {volume:g} is not positive")
    raw = volume
    note = None
    if min_lot is not None and volume < min_lot:
        note, volume = f"volume {volume:.4g} raised to this slave's min_lot {min_lot:g}", min_lot
    if max_lot is not None and volume > max_lot:
        note, volume = f"volume {volume:.4g} capped at this slave's max_lot {max_lot:g}", max_lot
    step = spec.volume_step
    steps = volume / step
    # Float noise must not decide a tie (0.37 x 1.5 is 0.55499999...): both modes allow for it.
    steps = math.floor(steps + _EPS) if rounding is Rounding.DOWN else math.floor(steps + 0.5 + _EPS)
    digits = max(0, -int(math.floor(math.log10(step)))) if step < 1 else 0
    stepped = round(steps * step, digits + 2)
    if stepped < spec.volume_min - _EPS:
        return SizedVolume(
            0.0, raw,
            refusal=(f"volume {volume:.4g} is below the minimum {spec.volume_min:g} "
                     f"for {spec.name} at {broker}"))
    if stepped > spec.volume_max + _EPS:
        capped = math.floor(spec.volume_max / step + _EPS) * step
        return SizedVolume(round(capped, digits + 2), raw,
                           note=f"volume {volume:.4g} capped at the maximum {spec.volume_max:g} at {broker}")
    return SizedVolume(stepped, raw, note=note)


