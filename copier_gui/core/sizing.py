"""Slave volume from the master's: the sizing rule, contract alignment, then the slave's volume
step, minimum and maximum.

Wrong lot sizes are the most common complaint about copiers, and they come from the last two
steps: "1 lot" is 1, 10 or 100 contracts depending on the broker, and a volume off the lot step
is refused. Volumes are aligned through units of the base asset, so a master counting lots and a
slave counting units (or the other way round) hold the same exposure. A rule's lots (``lots``,
``min_lot``, ``max_lot``) are lots on every platform. Every refusal says which limit was hit, with
the numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from copier_gui.core.model import SymbolSpec, VolumeUnit
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
    master_per_volume: float,
    slave_per_volume: float,
    figures: Figures,
    sl_distance: float = 0.0,
    spec: SymbolSpec | None = None,
    slave_equity_own_currency: float = 0.0,
) -> tuple[float, str | None]:
    """The slave volume the rule asks for, in the slave symbol's volume unit, before the slave's own
    volume limits, and a note.

    ``master_per_volume`` and ``slave_per_volume`` are the units of the base asset one volume unit
    holds on each side (``SymbolSpec.base_per_volume``: a lot's contract, or one). ``spec`` is the
    slave's symbol: it turns a rule's lots into its volume unit and prices the fixed-risk stop. The
    note says when a rule fell back (fixed risk on a trade without a stop loss).
    """
    mode, note = rule.mode, None
    if mode is SizingMode.FIXED_RISK:
        if sl_distance <= 0 or spec is None or spec.tick_size <= 0 or spec.tick_value <= 0:
            note = (f"the master trade has no stop loss, so fixed_risk sizing fell back to "
                    f"{rule.no_sl_fallback.value}")
            mode = rule.no_sl_fallback
        else:
            # Money lost per volume unit (a lot, or a unit) if the stop is hit, in the slave's currency.
            loss_per_volume = sl_distance / spec.tick_size * spec.tick_value
            return slave_equity_own_currency * rule.risk_percent / 100.0 / loss_per_volume, None
    if mode is SizingMode.FIXED_LOT:
        return (spec.from_lots(rule.lots) if spec is not None else rule.lots), note
    volume = master_volume * rule.multiplier
    if mode in _RATIOS:
        master_attr, slave_attr, _ = _RATIOS[mode]
        master_figure = getattr(figures, master_attr)
        if master_figure <= 0:
            return 0.0, note
        volume *= getattr(figures, slave_attr) / master_figure
    # Same exposure in units of the base asset: 1 lot x 10 at the master is 0.1 lot x 100 at the
    # slave, or 10 units at a slave counting units.
    if slave_per_volume > 0 and master_per_volume > 0:
        volume *= master_per_volume / slave_per_volume
    return volume, note


def normalise(volume: float, spec: SymbolSpec, broker: str, *, rounding: Rounding = Rounding.DOWN,
              min_lot: float | None = None, max_lot: float | None = None) -> SizedVolume:
    """Clamp to the slave's own lot limits, round to the broker's volume step, check its limits.

    ``volume`` is in the symbol's volume unit; ``min_lot`` and ``max_lot`` are lots whatever it is.
    """
    if volume <= 0:
        return SizedVolume(0.0, volume, refusal=f"volume {volume:g} is not positive")
    raw = volume
    note = None
    low = spec.from_lots(min_lot) if min_lot is not None else None
    high = spec.from_lots(max_lot) if max_lot is not None else None
    if low is not None and volume < low:
        note, volume = f"volume {_amount(volume, spec)} raised to this slave's min_lot {min_lot:g}", low
    if high is not None and volume > high:
        note, volume = f"volume {_amount(volume, spec)} capped at this slave's max_lot {max_lot:g}", high
    step = spec.volume_step
    steps = volume / step
    # Float noise must not decide a tie (0.37 x 1.5 is 0.55499999...): both modes allow for it.
    steps = math.floor(steps + _EPS) if rounding is Rounding.DOWN else math.floor(steps + 0.5 + _EPS)
    digits = max(0, -int(math.floor(math.log10(step)))) if step < 1 else 0
    stepped = round(steps * step, digits + 2)
    if stepped < spec.volume_min - _EPS:
        return SizedVolume(
            0.0, raw,
            refusal=(f"volume {_amount(volume, spec)} is below the minimum {_amount(spec.volume_min, spec, 'g')} "
                     f"for {spec.name} at {broker}"))
    if stepped > spec.volume_max + _EPS:
        capped = math.floor(spec.volume_max / step + _EPS) * step
        return SizedVolume(round(capped, digits + 2), raw,
                           note=(f"volume {_amount(volume, spec)} capped at the maximum "
                                 f"{_amount(spec.volume_max, spec, 'g')} at {broker}"))
    return SizedVolume(stepped, raw, note=note)


def _amount(volume: float, spec: SymbolSpec, style: str = ".4g") -> str:
    """A volume as the trader reads it: lots bare (as brokers print them), units whole and named."""
    if spec.volume_unit is VolumeUnit.UNITS:
        return f"{volume:.0f} units"
    return f"{volume:{style}}"


