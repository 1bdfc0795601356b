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
from copier_gui.core.rules import Sizing, SizingMode

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


def intended_volume(
    master_volume: float,
    rule: Sizing,
    *,
    master_contract: float,
    slave_contract: float,
    master_balance: float,
    slave_balance: float,
) -> float:
    """The slave volume the rule asks for, before the slave's own volume limits."""
    if rule.mode is SizingMode.FIXED_LOT:
        return rule.lots
    volume = master_volume * rule.multiplier
    if rule.mode is SizingMode.BALANCE_RATIO:
        if master_balance <= 0:
            return 0.0
        volume *= slave_balance / master_balance
    # Same exposure in contracts: 1 lot x 10 at the master is 0.1 lot x 100 at the slave.
    if slave_contract > 0 and master_contract > 0:
        volume *= master_contract / slave_contract
    return volume


def normalise(volume: float, spec: SymbolSpec, broker: str) -> SizedVolume:
    """Round down to the slave's lot step and check its limits."""
    if volume <= 0:
        return SizedVolume(0.0, volume, refusal=f"volume {volume:g} is not positive")
    step = spec.volume_step
    stepped = math.floor(volume / step + _EPS) * step
    digits = max(0, -int(math.floor(math.log10(step)))) if step < 1 else 0
    stepped = round(stepped, digits + 2)
    if stepped < spec.volume_min - _EPS:
        return SizedVolume(
            0.0, volume,
            refusal=(f"volume {volume:.4g} is below the minimum {spec.volume_min:g} "
                     f"for {spec.name} at {broker}"))
    if stepped > spec.volume_max + _EPS:
        capped = math.floor(spec.volume_max / step + _EPS) * step
        return SizedVolume(round(capped, digits + 2), volume,
                           note=f"volume {volume:.4g} capped at the maximum {spec.volume_max:g} at {broker}")
    return SizedVolume(stepped, volume)


def same_volume(a: float, b: float, step: float) -> bool:
    return abs(a - b) < step / 2
