"""Per-slave copy rules: sizing, symbol mapping, filters, what to copy, tolerances and risk.

Validated pydantic models, frozen and strict about unknown keys, so a typo in a settings file or a
scenario is an error that names the field instead of a rule silently not applied. docs/rules.md
explains each rule with a worked example.
"""

from __future__ import annotations

import datetime as dt
import re
from difflib import get_close_matches
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from copier_gui.core.units import LimitUnit

# Every number here has an upper bound: a rule is typed by a person, and a slip of the finger
# (a lot of 1e9, a stop a billion points away) must be an error naming the field, not a rule that
# sizes every copy to the broker's maximum or refuses them all. Lots cap at the largest volume any
# MT5 symbol accepts; money at a trillion in any account currency.
MAX_LOTS = 10_000
MAX_POINTS = 10_000_000
MAX_MONEY = 1e12


class Strict(BaseModel):
    # Infinity and NaN pass ``gt``/``le`` checks in surprising ways (``min_lot: .inf`` is above 0
    # and then refuses every copy), so no rule or setting may hold one.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


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


MAX_DELAY_MS = 86_400_000
MAX_DEVIATION = 1_000_000

# Keys an older release wrote, and the key that replaced each: read wherever rules are read, saved
# in the new shape only. A tool that sets one key of saved rules drops the key it replaces.
RENAMED_KEYS = {"max_price_deviation_points": "max_price_deviation"}


class DeviationLimit(Strict):
    """How far from the master's fill a copy may be filled, in a unit the trader chooses.

    ``point``: points of the slave's symbol (what the broker counts deviation in); ``pip``: pips
    of a currency pair; ``bp``: basis points of the master's price; ``spread``: multiples of the
    slave's spread at the moment the copy is sent. core.units turns each into the symbol's points.
    """

    value: float = Field(ge=0, le=MAX_DEVIATION)
    unit: LimitUnit

    def __str__(self) -> str:
        return f"{self.value:g} {self.unit}"


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


class LimitAction(StrEnum):
    WARN = "warn"
    STOP_ENTRIES = "stop_entries"
    FLATTEN = "flatten"


class Limit(Strict):
    value: float = Field(gt=0, le=MAX_MONEY)
    action: LimitAction = LimitAction.STOP_ENTRIES


class PercentLimit(Limit):
    """A limit in percent of the balance or peak equity: above 100 it could never trigger."""

    value: float = Field(gt=0, le=100)


# ----------------------------------------------------------------------------------- prop-firm rules


class Baseline(StrEnum):
    """What a prop firm measures the daily loss from, as it stood at the day's reset."""

    BALANCE = "balance"  # FTMO
    EQUITY = "equity"  # Fintokei
    HIGHER = "higher"  # the higher of the two (Summit Strike)


class MaxLossMode(StrEnum):
    STATIC = "static"  # a floor at the initial balance less the maximum loss
    TRAILING_EOD = "trailing_eod"  # the floor follows the highest balance or equity at a day's close
    TRAILING_INTRADAY = "trailing_intraday"  # the floor follows the highest equity seen


_HH_MM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_ZONE_EXAMPLES = "America/New_York, Europe/Prague or Etc/GMT-2 (two hours ahead of UTC: POSIX signs)"


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


class DayReset(Strict):
    """When a prop firm's trading day turns: a local time of day in an IANA time zone.

    Written as one phrase (``17:00 America/New_York``) or as ``{time: "17:00", zone: ...}``.
    """

    time: str
    zone: str

    @model_validator(mode="before")
    @classmethod
    def _from_phrase(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = value.split()
            if len(parts) != 2:
                raise ValueError(f"reset {value!r} must be a time and a zone, e.g. '17:00 America/New_York'")
            return {"time": parts[0], "zone": parts[1]}
        return value

    @field_validator("time", mode="before")
    @classmethod
    def _time_of_day(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            # YAML 1.1 reads an unquoted 17:00 as sexagesimal 1020: guessing would be a silent error.
            raise ValueError(f"reset time {value} is a number: write the time in quotes, e.g. '17:00' "
                             f"(YAML reads 17:00 without quotes as the number 1020)")
        if not isinstance(value, str) or not _HH_MM.fullmatch(value.strip()):
            raise ValueError(f"reset time {value!r} must be a 24-hour time HH:MM, e.g. '17:00' or '00:00'")
        return value.strip()

    @field_validator("zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            near = get_close_matches(value, _zone_names(), n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            raise ValueError(f"unknown time zone {value!r}{hint}: give an IANA zone name such as "
                             f"{_ZONE_EXAMPLES}") from None
        return value

    @property
    def clock(self) -> dt.time:
        hours, minutes = self.time.split(":")
        return dt.time(int(hours), int(minutes))

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)  # zoneinfo keeps one instance per key: no parse per call

    def __str__(self) -> str:
        return f"{self.time} {self.zone}"


class _MoneyOrPercent(Strict):
    amount: float | None = Field(default=None, gt=0, le=MAX_MONEY)
    percent: float | None = Field(default=None, gt=0, le=100)
    action: LimitAction = LimitAction.STOP_ENTRIES

    @model_validator(mode="after")
    def _one_of(self) -> _MoneyOrPercent:
        if self.amount is not None and self.percent is not None:
            raise ValueError(f"give an amount ({self.amount:g}) or a percent ({self.percent:g}), not both")
        if self.amount is None and self.percent is None:
            raise ValueError("give an amount or a percent, e.g. amount: 500 or percent: 5")
        return self


class DailyLossRule(_MoneyOrPercent):
    """The most the equity may fall in one trading day below ``baseline`` as it was at the reset;
    ``percent`` is of that baseline."""

    baseline: Baseline = Baseline.BALANCE


class MaxLossRule(_MoneyOrPercent):
    """The floor the equity may never reach; ``percent`` is of the initial balance.

    ``initial_balance`` left out is the balance when the gate first saw the account. With
    ``lock_at_initial`` a trailing floor stops rising once it reaches the initial balance.
    """

    mode: MaxLossMode = MaxLossMode.STATIC
    lock_at_initial: bool = False
    initial_balance: float | None = Field(default=None, gt=0, le=MAX_MONEY)


class PropRules(Strict):
    """A prop firm's rules for one account, measured on the firm's own trading day (``reset``): the
    daily loss, the end-of-day trailing and the trading days all count in that day."""

    reset: DayReset
    daily_loss: DailyLossRule | None = None
    max_loss: MaxLossRule | None = None


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
