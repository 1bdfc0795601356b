"""The building blocks every rule model shares: strict frozen models, the upper bounds a typed
number may reach, and a limit with its action. Kept apart from the rules themselves so the prop-firm
rules (core.prop_rules) and the copy rules (core.rules) can both use them."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from copier_gui.core.units import LimitUnit

# Every number here has an upper bound: a rule is typed by a person, and a slip of the finger
# (a lot of 1e9, a stop a billion points away) must be an error naming the field, not a rule that
# sizes every copy to the broker's maximum or refuses them all. Lots cap at the largest volume any
# MT5 symbol accepts; money at a trillion in any account currency.
MAX_LOTS = 10_000
MAX_POINTS = 10_000_000
MAX_MONEY = 1e12
MAX_DELAY_MS = 86_400_000
MAX_DEVIATION = 1_000_000


class Strict(BaseModel):
    # Infinity and NaN pass ``gt``/``le`` checks in surprising ways (``min_lot: .inf`` is above 0
    # and then refuses every copy), so no rule or setting may hold one.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


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
