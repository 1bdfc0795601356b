"""One copy's price tolerance: from the slave's rules, in the unit the trader chose, to what the
open request carries (points of the slave's symbol plus a number of current spreads), and back
into the trader's unit when a refusal explains it.

Only the connector sees the spread of the moment a request goes, so a limit in spreads (and the
default's floor of DEFAULT_SPREAD_FLOOR spreads) travels as spreads and the connector widens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from copier_gui.core import units
from copier_gui.core.model import Side, SymbolSpec
from copier_gui.core.rules import DeviationLimit, Tolerances


@dataclass(frozen=True, slots=True)
class PriceLimit:
    """How far from the master's price one copy may fill: the wider of ``points`` of the slave's
    symbol and ``spreads`` of its spread when the request goes."""

    points: float
    spreads: float
    limit: DeviationLimit | None  # as the trader set it; None: the asset class's default
    master_symbol: str
    per_symbol: bool  # set in tolerances.per_symbol for this master symbol

    def points_at(self, spread_points: float) -> float:
        """The limit in points once the spread is known."""
        return max(self.points, self.spreads * max(spread_points, 0.0))

    @property
    def deviation(self) -> int:
        """The broker's deviation (whole points) for the fixed part; never narrower than the limit."""
        return math.ceil(self.points - 1e-6)

    def worst_price(self, side: Side, reference: float, spec: SymbolSpec) -> float:
        """The worst fill accepted before the connector's widening, 0.0 without a master price."""
        if reference <= 0:
            return 0.0
        return round(reference + side.sign * self.points * spec.point, spec.digits)

    def unit_of(self, spec: SymbolSpec) -> units.LimitUnit:
        """The unit the trader reads this limit in: as set, or the class default's."""
        return self.limit.unit if self.limit is not None else units.DEFAULT_MAX_DEVIATION[units.asset_class(spec)][1]

    def in_unit(self, points: float, spec: SymbolSpec, reference: float, spread_points: float) -> str:
        """A gap of ``points`` in the trader's unit (``5 pip``); empty where that unit is points or
        the gap cannot be converted (no spread seen for a limit in spreads)."""
        unit = self.unit_of(spec)
        if unit == "point":
            return ""
        try:
            value = units.points_to_unit(points, unit, spec, reference, spread_points)
        except ValueError:
            return ""
        return f"{value:.3g} {unit}"

    def describe(self, spec: SymbolSpec, reference: float, spread_points: float) -> str:
        """``2 pip maximum (20 points)``: the limit as set, and what it came to on this symbol."""
        applied = self.points_at(spread_points)
        in_points = f"{round(applied, 1):g} points"
        where = f" for {self.master_symbol}" if self.per_symbol else ""
        if self.limit is None:
            kind = units.asset_class(spec)
            value, unit = units.DEFAULT_MAX_DEVIATION[kind]
            if applied > self.points + 1e-9:
                return (f"default maximum of {units.DEFAULT_SPREAD_FLOOR:g} current spreads for {kind}{where} "
                        f"({in_points})")
            return f"default {value:g} {unit} maximum for {kind}{where} ({in_points})"
        if self.limit.unit == "point":
            return f"{self.limit.value:g} point maximum{where}"
        return f"{self.limit.value:g} {self.limit.unit} maximum{where} ({in_points})"


def price_limit(tolerances: Tolerances, master_symbol: str, spec: SymbolSpec, reference_price: float) -> PriceLimit:
    """The limit for a copy of ``master_symbol`` on the slave's ``spec``, measured from the master's
    ``reference_price`` (the slave's own mid price stands in when there is none).

    A limit that cannot apply to this symbol (pips on a coin) raises ValueError naming the setting.
    """
    _, limit = tolerances.for_symbol(master_symbol)
    per_symbol = tolerances.deviation_setting(master_symbol) != "tolerances.max_price_deviation"
    reference = reference_price if reference_price > 0 else (spec.bid + spec.ask) / 2
    try:
        if limit is None:
            # The class's default alone (no spread yet); the connector adds the floor in spreads.
            points, spreads = units.default_limit_points(spec, reference, 0.0), units.DEFAULT_SPREAD_FLOOR
        elif limit.unit == "spread":
            points, spreads = 0.0, limit.value
        else:
            points, spreads = units.deviation_limit_points(limit.value, limit.unit, spec, reference, 0.0), 0.0
    except ValueError as exc:
        raise ValueError(f"{tolerances.deviation_setting(master_symbol)}: {exc}") from None
    return PriceLimit(points, spreads, limit, master_symbol, per_symbol)
