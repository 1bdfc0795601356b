"""Per-slave copy rules: how to size, how to map symbols, what to copy and within which tolerances.

Validated pydantic models, frozen and strict about unknown keys, so a typo in a settings file or a
scenario is an error that names the field instead of a rule silently not applied.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SizingMode(StrEnum):
    LOT_MULTIPLIER = "lot_multiplier"
    BALANCE_RATIO = "balance_ratio"
    FIXED_LOT = "fixed_lot"


class Sizing(Strict):
    """How a slave's volume follows the master's.

    lot_multiplier: slave lots = master lots x multiplier.
    balance_ratio: slave lots = master lots x (slave balance / master balance) x multiplier, with
    both balances in one currency.
    fixed_lot: every copy is ``lots``, whatever the master traded.
    Exposure is kept across contract sizes: 1 lot of a 10-per-lot index at the master becomes
    0.1 lot of a 100-per-lot index at the slave.
    """

    mode: SizingMode = SizingMode.LOT_MULTIPLIER
    multiplier: float = Field(default=1.0, gt=0, le=1000)
    lots: float = Field(default=0.01, gt=0, le=10_000)


class PartialFillPolicy(StrEnum):
    ACCEPT = "accept"
    TOP_UP = "top_up"


class SymbolMapping(Strict):
    """Master symbol -> slave symbol. Exact names first, then ``aliases``, then suffix/prefix."""

    aliases: dict[str, str] = Field(default_factory=dict)
    detect_affixes: bool = True

    @field_validator("aliases")
    @classmethod
    def _names_fit_mt5(cls, value: dict[str, str]) -> dict[str, str]:
        for master, slave in value.items():
            if not master or not slave or len(master) > 29 or len(slave) > 29:
                raise ValueError(f"alias {master!r} -> {slave!r}: names must be 1 to 29 characters")
        return value


class Tolerances(Strict):
    max_delay_ms: int = Field(default=10_000, ge=0, le=86_400_000)
    max_price_deviation_points: int = Field(default=200, ge=0, le=1_000_000)
    requote_retries: int = Field(default=3, ge=0, le=20)
    partial_fill: PartialFillPolicy = PartialFillPolicy.TOP_UP


class CopyRules(Strict):
    sizing: Sizing = Field(default_factory=Sizing)
    symbols: SymbolMapping = Field(default_factory=SymbolMapping)
    tolerances: Tolerances = Field(default_factory=Tolerances)
    copy_stops: bool = True
    copy_pending: bool = True
    # Positions the master already held when copying started, whose fill time is unknown: skip
    # them (the default), or copy them at market while the price is within the tolerance.
    copy_existing: bool = False
