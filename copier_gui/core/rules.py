"""Per-slave copy rules: sizing, symbol mapping, filters, what to copy, tolerances and risk.

Validated pydantic models, frozen and strict about unknown keys, so a typo in a settings file or a
scenario is an error that names the field instead of a rule silently not applied. docs/rules.md
explains each rule with a worked example.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

# Re-exported: the rule models have always been imported from here.
from copier_gui.core.prop_rules import (  # noqa: F401
    Baseline,
    DailyLossRule,
    DayReset,
    MaxLossMode,
    MaxLossRule,
    PropRules,
)
from copier_gui.core.rule_types import (  # noqa: F401
    MAX_DELAY_MS,
    MAX_DEVIATION,
    MAX_LOTS,
    MAX_MONEY,
    MAX_POINTS,
    DeviationLimit,
    Limit,
    LimitAction,
    PercentLimit,
    Strict,
)

# ----------------------------------------------------------------------------------- sizing


class SizingMode(StrEnum):
    FIXED_LOT = "fixed_lot"
    LOT_MULTIPLIER = "lot_multiplier"
    BALANCE_RATIO = "balance_ratio"
    EQUITY_RATIO = "equity_ratio"
    FREE_MARGIN_RATIO = "free_margin_ratio"
    FIXED_RISK = "fixed_risk"


class Rounding(StrEnum):
    DOWN = "down"
    NEAREST = "nearest"


class Sizing(Strict):
    """How a slave's volume follows the master's.

    fixed_lot: every copy is ``lots``. lot_multiplier: master lots x multiplier. balance_ratio,
    equity_ratio, free_margin_ratio: master lots x (slave's figure / master's figure) x
    multiplier, both in one currency. fixed_risk: the volume that loses ``risk_percent`` of the
    slave's equity if the master's stop loss is hit, from the symbol's tick value in the slave's
    account currency; a master trade without a stop uses ``no_sl_fallback`` (journaled).
    Exposure is kept across contract sizes (1 lot x 10 contracts = 0.1 lot x 100 contracts), then
    ``min_lot``/``max_lot`` clamp, then the slave's lot step rounds (``rounding``).
    """

    mode: SizingMode = SizingMode.LOT_MULTIPLIER
    multiplier: float = Field(default=1.0, gt=0, le=1000)
    lots: float = Field(default=0.01, gt=0, le=MAX_LOTS)
    risk_percent: float = Field(default=1.0, gt=0, le=100)
    no_sl_fallback: SizingMode = SizingMode.LOT_MULTIPLIER
    min_lot: float | None = Field(default=None, gt=0, le=MAX_LOTS)
    max_lot: float | None = Field(default=None, gt=0, le=MAX_LOTS)
    rounding: Rounding = Rounding.DOWN

    @model_validator(mode="after")
    def _consistent(self) -> Sizing:
        if self.no_sl_fallback is SizingMode.FIXED_RISK:
            raise ValueError("no_sl_fallback cannot be fixed_risk: a trade without a stop has no risk to size by")
        if self.min_lot is not None and self.max_lot is not None and self.min_lot > self.max_lot:
            raise ValueError(f"min_lot {self.min_lot} is above max_lot {self.max_lot}")
        return self


# ----------------------------------------------------------------------------------- symbols


class SymbolRule(Strict):
    """Per master symbol: copy it or not, and a volume multiplier on top of the sizing rule."""

    enabled: bool = True
    volume_multiplier: float = Field(default=1.0, gt=0, le=1000)


class SymbolMapping(Strict):
    """Master symbol -> slave symbol: ``aliases`` first, then the exact name, then suffix/prefix.

    Aliases may be written as a mapping (``{GOLD: XAUUSD}``) or as ``["GOLD=XAUUSD"]``.
    """

    aliases: dict[str, str] = Field(default_factory=dict)
    detect_affixes: bool = True
    per_symbol: dict[str, SymbolRule] = Field(default_factory=dict)

    @field_validator("aliases", mode="before")
    @classmethod
    def _from_pairs(cls, value):
        if isinstance(value, list | tuple):
            pairs = {}
            for item in value:
                if not isinstance(item, str) or item.count("=") != 1:
                    raise ValueError(f"alias {item!r} must look like MASTER=SLAVE, e.g. GOLD=XAUUSD")
                master, slave = (part.strip() for part in item.split("="))
                pairs[master] = slave
            return pairs
        return value

    @field_validator("aliases")
    @classmethod
    def _names_fit_mt5(cls, value: dict[str, str]) -> dict[str, str]:
        for master, slave in value.items():
            if not master or not slave or len(master) > 29 or len(slave) > 29:
                raise ValueError(f"alias {master!r} -> {slave!r}: names must be 1 to 29 characters")
        return value


# ----------------------------------------------------------------------------------- filters


class Direction(StrEnum):
    BOTH = "both"
    LONG_ONLY = "long_only"
    SHORT_ONLY = "short_only"


class Filters(Strict):
    """Which master trades this slave copies. Empty lists mean no restriction."""

    include_symbols: list[str] = Field(default_factory=list)
    exclude_symbols: list[str] = Field(default_factory=list)
    magic_numbers: list[Annotated[int, Field(ge=0, lt=2**64)]] = Field(default_factory=list)
    comment_contains: str | None = None
    direction: Direction = Direction.BOTH
    reverse: bool = False


# ----------------------------------------------------------------------------------- what to copy


class StopsMode(StrEnum):
    COPY = "copy"
    NONE = "none"
    FIXED_OFFSET = "fixed_offset"


class Stops(Strict):
    """SL/TP: copied as prices, left off, or set at a fixed distance in points from the entry."""

    mode: StopsMode = StopsMode.COPY
    sl_points: int | None = Field(default=None, gt=0, le=MAX_POINTS)
    tp_points: int | None = Field(default=None, gt=0, le=MAX_POINTS)
    follow_modifications: bool = True

    @model_validator(mode="after")
    def _offsets_given(self) -> Stops:
        if self.mode is StopsMode.FIXED_OFFSET and self.sl_points is None and self.tp_points is None:
            raise ValueError("fixed_offset needs sl_points or tp_points")
        return self


# ----------------------------------------------------------------------------------- tolerances


class PartialFillPolicy(StrEnum):
    ACCEPT = "accept"
    TOP_UP = "top_up"


class DeviationPolicy(StrEnum):
    SKIP = "skip"
    LIMIT_AT_MASTER_PRICE = "limit_at_master_price"



# Keys an older release wrote, and the key that replaced each: read wherever rules are read, saved
# in the new shape only. A tool that sets one key of saved rules drops the key it replaces.
RENAMED_KEYS = {"max_price_deviation_points": "max_price_deviation"}


def _points_key_to_limit(data: Any) -> Any:
    """``max_price_deviation_points: N`` (before units existed) as ``{value: N, unit: point}``."""
    if not isinstance(data, dict) or "max_price_deviation_points" not in data:
        return data
    data = dict(data)
    old = data.pop("max_price_deviation_points")
    # A null limit is the same as none (the rules as shown list it), so only a limit given both ways
    # is a contradiction.
    if data.get("max_price_deviation") is not None:
        raise ValueError("give max_price_deviation or the older max_price_deviation_points, not both "
                         "(max_price_deviation_points: N means max_price_deviation: {value: N, unit: point})")
    if isinstance(old, bool) or not isinstance(old, int | float) or not 0 <= old <= MAX_DEVIATION:
        raise ValueError(f"max_price_deviation_points must be a number of points from 0 to {MAX_DEVIATION:,}, "
                         f"not {old!r}")
    data["max_price_deviation"] = {"value": old, "unit": "point"}
    return data


class SymbolTolerance(Strict):
    """One master symbol's own limits; each one left out is the slave-wide value."""

    max_price_deviation: DeviationLimit | None = None
    max_delay_ms: int | None = Field(default=None, ge=0, le=MAX_DELAY_MS)

    _older_key = model_validator(mode="before")(_points_key_to_limit)


class Tolerances(Strict):
    """How late and how far from the master's price a copy may be filled.

    ``max_price_deviation`` left out (or null) is the asset class's default (core.units
    DEFAULT_MAX_DEVIATION: 2 pips on currency pairs, basis points elsewhere), never tighter than
    two current spreads. ``per_symbol`` is keyed by the master's symbol name.
    """

    max_delay_ms: int = Field(default=10_000, ge=0, le=MAX_DELAY_MS)
    max_price_deviation: DeviationLimit | None = None
    on_price_deviation: DeviationPolicy = DeviationPolicy.SKIP
    requote_retries: int = Field(default=3, ge=0, le=20)
    partial_fill: PartialFillPolicy = PartialFillPolicy.TOP_UP
    per_symbol: dict[str, SymbolTolerance] = Field(default_factory=dict)

    _older_key = model_validator(mode="before")(_points_key_to_limit)

    def for_symbol(self, master_symbol: str) -> tuple[int, DeviationLimit | None]:
        """(max_delay_ms, max_price_deviation) for copies of ``master_symbol``; None: the default."""
        own = self.per_symbol.get(master_symbol)
        if own is None:
            return self.max_delay_ms, self.max_price_deviation
        return (self.max_delay_ms if own.max_delay_ms is None else own.max_delay_ms,
                self.max_price_deviation if own.max_price_deviation is None else own.max_price_deviation)

    def deviation_setting(self, master_symbol: str) -> str:
        """The setting a symbol's price limit comes from, as a refusal names it."""
        own = self.per_symbol.get(master_symbol)
        if own is not None and own.max_price_deviation is not None:
            return f"tolerances.per_symbol.{master_symbol}.max_price_deviation"
        return "tolerances.max_price_deviation"

    def delay_setting(self, master_symbol: str) -> str:
        own = self.per_symbol.get(master_symbol)
        if own is not None and own.max_delay_ms is not None:
            return f"tolerances.per_symbol.{master_symbol}.max_delay_ms"
        return "tolerances.max_delay_ms"


# ----------------------------------------------------------------------------------- risk


class Risk(Strict):
    """Limits per slave; each has its action. No limit ever blocks an exit.

    Money values are in the slave's account currency; ``daily_loss_percent`` is of the balance at
    the start of the trade server's day, ``max_drawdown_percent`` of the peak equity seen.
    """

    preset: str | None = None
    max_open_positions: Limit | None = None
    max_lots_per_symbol: Limit | None = None
    max_lots_total: Limit | None = None
    max_exposure: Limit | None = None
    daily_loss: Limit | None = None
    daily_loss_percent: PercentLimit | None = None
    max_drawdown_percent: PercentLimit | None = None
    equity_floor: Limit | None = None
    # A prop firm's rules, on its own trading day; None (the default) leaves the limits above alone.
    prop: PropRules | None = None

    @model_validator(mode="after")
    def _apply_preset(self) -> Risk:
        if self.preset is None:
            return self
        preset = PROP_PRESETS.get(self.preset)
        if preset is None:
            raise ValueError(f"unknown preset {self.preset!r}; known: {', '.join(sorted(PROP_PRESETS))}")
        for name, limit in preset.items():
            if getattr(self, name) is None:  # explicit limits win over the preset's
                object.__setattr__(self, name, limit)
        return self


# Prop-firm style rule sets; docs/rules.md lists them. Percentages of the account's balance.
PROP_PRESETS: dict[str, dict[str, Limit]] = {
    "two_step_challenge": {
        "daily_loss_percent": PercentLimit(value=5, action=LimitAction.FLATTEN),
        "max_drawdown_percent": PercentLimit(value=10, action=LimitAction.FLATTEN),
        "max_lots_total": Limit(value=50, action=LimitAction.STOP_ENTRIES),
        "max_open_positions": Limit(value=20, action=LimitAction.STOP_ENTRIES),
    },
    "one_step_challenge": {
        "daily_loss_percent": PercentLimit(value=3, action=LimitAction.FLATTEN),
        "max_drawdown_percent": PercentLimit(value=6, action=LimitAction.FLATTEN),
        "max_lots_total": Limit(value=20, action=LimitAction.STOP_ENTRIES),
        "max_open_positions": Limit(value=10, action=LimitAction.STOP_ENTRIES),
    },
    "instant_funding": {
        "daily_loss_percent": PercentLimit(value=4, action=LimitAction.FLATTEN),
        "max_drawdown_percent": PercentLimit(value=8, action=LimitAction.FLATTEN),
        "max_lots_total": Limit(value=10, action=LimitAction.STOP_ENTRIES),
        "max_open_positions": Limit(value=5, action=LimitAction.STOP_ENTRIES),
    },
}


# ----------------------------------------------------------------------------------- all


class CopyRules(Strict):
    sizing: Sizing = Field(default_factory=Sizing)
    symbols: SymbolMapping = Field(default_factory=SymbolMapping)
    filters: Filters = Field(default_factory=Filters)
    stops: Stops = Field(default_factory=Stops)
    tolerances: Tolerances = Field(default_factory=Tolerances)
    risk: Risk = Field(default_factory=Risk)
    copy_partial_closes: bool = True
    copy_pending: bool = True
    # Positions the master already held when copying started, whose fill time is unknown: skip
    # them (the default), or copy them at market while the price is within the tolerance.
    copy_existing: bool = False
