"""Where a slave's drift comes from: its tracking difference split into parts a trader can act on.

Over a period, a slave's tracking difference is its realized plus floating P&L minus what perfect
copying under its rules would have made: the master's trades at the master's prices, scaled by the
slave's rules before any rounding, in the slave's account currency at the slave's own conversion
rates. This module splits that difference into parts that add up to it (docs/drift.md has the
definitions and worked examples):

- ``timing``: the move between the master's fill and the slave's request (the copy's latency),
  on the volume the slave filled. Any difference between the two brokers' quotes lands here too.
- ``entry_price``: the slave's fill against its own quote at the moment it sent the request
  (slippage and requotes), on the filled volume.
- ``exit_price``: the slave's exit (or mark) against the master's exit (or mark), on the filled
  volume: exit latency, exit slippage and the spread between the two feeds.
- ``sizing``: the slave's intended volume (after contract alignment, lot step, minimum and
  maximum) against the ideal volume, valued at the master's move.
- ``partial_fill``: the filled volume against the intended one, valued at the master's move.
- ``missed``: a trade the slave never took (missed or refused), its whole ideal P&L negated.
- ``costs``: the slave's commission and swap minus the master's, scaled by the rules.
- ``residual``: what none of the above explains: slave P&L tied to no master trade (manual trades,
  positions the copier does not own) and float rounding. Shown so nothing hides.

Order of the split (sequential attribution). With side ``s``, money per price unit per lot ``k``,
master entry/exit ``Em``/``Xm``, slave quote at request ``Q``, slave entry/exit ``Es``/``Xs`` and
ideal/intended/filled volumes ``V*``/``Vi``/``Vf``, the price part of the difference is::

    s*k*[(Xs-Es)*Vf - (Xm-Em)*V*]
      = s*k*Vf*[-(Q-Em) - (Es-Q) + (Xs-Xm)]    timing, entry_price, exit_price
      + s*k*(Xm-Em)*(Vi-V*)                     sizing
      + s*k*(Xm-Em)*(Vf-Vi)                     partial_fill

Price effects are measured on the volume the slave actually held and volume effects at the
master's prices. This order is exact: no volume x price cross term is left over (measuring price
effects on the ideal volume instead would leave one), so every cent lands in a part that names a
cause, and the residual holds only what truly has no master trade behind it. A missed trade is
booked whole in ``missed`` rather than as sizing plus a zero fill, because "this trade was never
copied" is the fact a trader acts on.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

PARTS: tuple[str, ...] = (
    "timing",
    "entry_price",
    "exit_price",
    "sizing",
    "partial_fill",
    "missed",
    "costs",
    "residual",
)


@dataclass(frozen=True, slots=True)
class CopiedTrade:
    """One master position and what one slave made of it, all money in the slave's currency.

    ``side`` is the direction the slave copies (+1 buy, -1 sell): the master's, or its opposite
    under a reversing rule. An ``*_exit`` of None means the position is still open and is valued
    at the matching ``*_mark``. Commission and swap are signed as MetaTrader reports them
    (a charge is negative).
    """

    side: int
    master_entry: float
    master_exit: float | None
    ideal_volume: float  # master volume x the slave's rules, before any rounding
    intended_volume: float  # after contract alignment, lot step, minimum and maximum
    filled_volume: float  # what the slave's broker filled; 0 when missed
    money_per_price_unit_per_lot: float  # the slave's tick_value / tick_size
    master_mark: float | None = None
    slave_quote_at_request: float | None = None  # the slave's price when it sent the order
    slave_entry: float | None = None
    slave_exit: float | None = None
    slave_mark: float | None = None
    slave_commission: float = 0.0
    slave_swap: float = 0.0
    # The master's costs as the ideal copy would pay them: times the ideal copy's exposure over the
    # master's (never a ratio of the two sides' volumes, which may count different lots or units),
    # in the slave's currency.
    master_commission_scaled: float = 0.0
    master_swap_scaled: float = 0.0
    missed_reason: str | None = None  # why the slave never took it (missed or refused)
    key: str = ""  # e.g. the master position, so a report can name the trade

    def __post_init__(self) -> None:
        where = f"trade {self.key}" if self.key else "trade"
        if self.side not in (1, -1):
            raise ValueError(f"{where}: side must be +1 (buy) or -1 (sell), got {self.side!r}")
        for name in ("ideal_volume", "intended_volume", "filled_volume"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{where}: {name} must be a number >= 0, got {value!r}")
        if self.filled_volume > self.intended_volume:
            raise ValueError(
                f"{where}: filled_volume {self.filled_volume} is more than "
                f"intended_volume {self.intended_volume}"
            )
        k = self.money_per_price_unit_per_lot
        if not (math.isfinite(k) and k > 0):
            raise ValueError(f"{where}: money_per_price_unit_per_lot must be > 0, got {k!r}")
        for name in (
            "slave_commission",
            "slave_swap",
            "master_commission_scaled",
            "master_swap_scaled",
        ):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{where}: {name} must be a finite number")
        _price(where, "master_entry", self.master_entry)
        _close(where, "master", self.master_exit, self.master_mark)
        if self.missed_reason is not None:
            if self.filled_volume != 0:
                raise ValueError(
                    f"{where}: missed ({self.missed_reason}) but filled_volume is "
                    f"{self.filled_volume}, not 0"
                )
        elif self.filled_volume > 0:
            _price(where, "slave_quote_at_request", self.slave_quote_at_request)
            _price(where, "slave_entry", self.slave_entry)
            _close(where, "slave", self.slave_exit, self.slave_mark)

    @property
    def is_open(self) -> bool:
        return self.master_exit is None

    @property
    def master_close(self) -> float:
        return self.master_exit if self.master_exit is not None else self.master_mark

    @property
    def slave_close(self) -> float | None:
        return self.slave_exit if self.slave_exit is not None else self.slave_mark

    def ideal_pnl(self) -> float:
        """What perfect copying would have made: the master's trade scaled by the rules."""
        move = self.master_close - self.master_entry
        price_pnl = self.side * move * self.ideal_volume * self.money_per_price_unit_per_lot
        return price_pnl + (self.master_commission_scaled + self.master_swap_scaled)

    def actual_pnl(self) -> float:
        """What the slave made, realized or marked to market, with its own costs."""
        costs = self.slave_commission + self.slave_swap
        if self.filled_volume == 0:
            return 0.0 + costs
        move = self.slave_close - self.slave_entry
        price_pnl = self.side * move * self.filled_volume * self.money_per_price_unit_per_lot
        return price_pnl + costs


@dataclass(frozen=True, slots=True)
class TradeAttribution:
    trade: CopiedTrade
    ideal: float
    actual: float
    total: float  # actual - ideal
    parts: dict[str, float]


@dataclass(frozen=True, slots=True)
class Attribution:
    """A slave's tracking difference over a period and its parts; the parts add up to ``total``."""

    currency: str
    ideal: float
    actual: float
    total: float
    parts: dict[str, float]
    per_trade: list[TradeAttribution]


def attribute_trade(trade: CopiedTrade) -> TradeAttribution:
    """Split one trade's difference; see the module docstring for the order and why."""
    ideal = trade.ideal_pnl()
    actual = trade.actual_pnl()
    total = actual - ideal
    parts = dict.fromkeys(PARTS, 0.0)
    parts["costs"] = (trade.slave_commission + trade.slave_swap) - (
        trade.master_commission_scaled + trade.master_swap_scaled
    )
    if trade.missed_reason is not None:
        # The master's costs are part of what was missed; the slave's (normally none) stay costs.
        parts["missed"] = -ideal
        parts["costs"] = trade.slave_commission + trade.slave_swap
    else:
        sk = trade.side * trade.money_per_price_unit_per_lot
        master_move = trade.master_close - trade.master_entry
        vf = trade.filled_volume
        if vf > 0:
            quote = trade.slave_quote_at_request
            parts["timing"] = -sk * vf * (quote - trade.master_entry)
            parts["entry_price"] = -sk * vf * (trade.slave_entry - quote)
            parts["exit_price"] = sk * vf * (trade.slave_close - trade.master_close)
        parts["sizing"] = sk * master_move * (trade.intended_volume - trade.ideal_volume)
        parts["partial_fill"] = sk * master_move * (vf - trade.intended_volume)
    named = [value for name, value in parts.items() if name != "residual"]
    parts["residual"] = total - math.fsum(named)
    return TradeAttribution(trade=trade, ideal=ideal, actual=actual, total=total, parts=parts)


def attribute(
    trades: Iterable[CopiedTrade], currency: str, other_slave_pnl: float = 0.0
) -> Attribution:
    """Attribute a slave's tracking difference over a period.

    ``other_slave_pnl`` is the slave's P&L in the period that no master trade explains (manual
    trades, positions the copier does not own); it counts in the total and shows as residual.
    """
    return summarise([attribute_trade(t) for t in trades], currency, other_slave_pnl)


def summarise(per_trade: list[TradeAttribution], currency: str, other_slave_pnl: float = 0.0) -> Attribution:
    """A period's figures from its trades' attributions (which a caller may have kept from before)."""
    if not math.isfinite(other_slave_pnl):
        raise ValueError(f"other_slave_pnl must be a finite number, got {other_slave_pnl!r}")
    ideal = math.fsum(t.ideal for t in per_trade)
    actual = math.fsum([*(t.actual for t in per_trade), other_slave_pnl])
    total = math.fsum([*(t.total for t in per_trade), other_slave_pnl])
    parts = {name: math.fsum(t.parts[name] for t in per_trade) for name in PARTS}
    parts["residual"] = math.fsum([parts["residual"], other_slave_pnl])
    return Attribution(
        currency=currency,
        ideal=ideal,
        actual=actual,
        total=total,
        parts=parts,
        per_trade=per_trade,
    )


def _price(where: str, name: str, value: float | None) -> None:
    if value is None or not (math.isfinite(value) and value > 0):
        raise ValueError(f"{where}: {name} must be a price > 0, got {value!r}")


def _close(where: str, who: str, exit_price: float | None, mark: float | None) -> None:
    if exit_price is None and mark is None:
        raise ValueError(f"{where}: {who}_exit or {who}_mark is needed (open trades need a mark)")
    if exit_price is not None:
        _price(where, f"{who}_exit", exit_price)
    else:
        _price(where, f"{who}_mark", mark)
