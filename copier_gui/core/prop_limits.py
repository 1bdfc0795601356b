"""A prop-firm profile's figures and checks: the daily loss against the baseline taken at the reset,
the maximum-loss floor (static or trailing, locked at the initial balance when asked), and the room
left before each. Pure and deterministic; the risk gate keeps the figures and feeds the readings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from copier_gui.core.rules import (
    Baseline,
    DailyLossRule,
    LimitAction,
    MaxLossMode,
    MaxLossRule,
    PropRules,
)

__all__ = ["DAILY_LOSS", "MAX_LOSS", "DayFigures", "PropBreach", "RoomLeft", "Track", "check", "daily_baseline", "daily_limit", "floor",
           "follow", "max_loss_amount", "room_left", "start_track", "trading_days"]

# The limits' names in breaches, halts and the journal.
DAILY_LOSS = "prop.daily_loss"
MAX_LOSS = "prop.max_loss"


@dataclass(frozen=True, slots=True)
class DayFigures:
    """The balance and equity at the day's reset: its first reading."""

    balance: float
    equity: float


@dataclass(frozen=True, slots=True)
class Track:
    """The maximum-loss floor's memory: the initial balance, the high it trails (the initial
    balance until something higher is seen), and whether it has locked at the initial balance."""

    initial: float
    high: float
    locked: bool = False
    # Money moved in (out: negative) since the track began: not trading, so the high leaves it out
    # and the floor stays where trading put it.
    cash: float = 0.0


@dataclass(frozen=True, slots=True)
class PropBreach:
    name: str  # prop.daily_loss or prop.max_loss
    action: LimitAction
    text: str


@dataclass(frozen=True, slots=True)
class RoomLeft:
    """How far a slave is from its prop-firm limits; a limit not set is None. Money is in
    ``currency``; a fraction used is 0 on a good day and 1 at the limit (above 1 past it)."""

    currency: str
    daily_limit: float | None
    daily_left: float | None  # money it may still lose today, never below 0
    daily_used: float | None
    next_reset: float  # UTC seconds
    reset_in_s: float
    floor: float | None
    to_floor: float | None  # equity above the maximum-loss floor (below 0 past it)
    max_loss_used: float | None
    trading_days: int  # days with at least one deal
    # Under a consistency rule: the best day's profit in percent of the total profit (None while
    # there is no profit to share), and the rule's largest share allowed.
    best_day_share: float | None = None
    best_day_limit: float | None = None


# ------------------------------------------------------------------------------- daily loss


def daily_baseline(rule: DailyLossRule, day: DayFigures) -> float:
    if rule.baseline is Baseline.BALANCE:
        return day.balance
    if rule.baseline is Baseline.EQUITY:
        return day.equity
    return max(day.balance, day.equity)


def daily_limit(rule: DailyLossRule, baseline: float) -> float:
    return rule.amount if rule.amount is not None else baseline * rule.percent / 100


def _daily_loss(rule: DailyLossRule, day: DayFigures, equity: float) -> tuple[float, float, float]:
    """(baseline, loss today, limit): the loss is always on equity, so open losses count."""
    baseline = daily_baseline(rule, day)
    return baseline, baseline - equity, daily_limit(rule, baseline)


def _describe_baseline(rule: DailyLossRule, day: DayFigures, baseline: float, ccy: str) -> str:
    if rule.baseline is Baseline.HIGHER:
        what = f"higher of balance {day.balance:,.2f} {ccy} and equity {day.equity:,.2f} {ccy}"
    else:
        what = f"{rule.baseline.value} {baseline:,.2f} {ccy}"
    share = f"{rule.percent:g}% of " if rule.percent is not None else ""
    return f"{share}baseline: {what}"


# ------------------------------------------------------------------------------- maximum loss


def start_track(initial: float) -> Track:
    return Track(initial, initial)


def follow(rule: MaxLossRule, track: Track, *, equity: float, day_close: tuple[float, float] | None) -> Track:
    """The track after one reading: intraday trailing follows the equity; end-of-day trailing
    follows the higher of a day's closing (balance, equity), given at the first reading after a
    reset. The lock is sticky: once the floor has reached the initial balance it stays there."""
    high = track.high
    if rule.mode is MaxLossMode.TRAILING_INTRADAY:
        high = max(high, equity - track.cash)
    elif rule.mode is MaxLossMode.TRAILING_EOD and day_close is not None:
        high = max(high, *(figure - track.cash for figure in day_close))
    locked = track.locked or (rule.lock_at_initial and rule.mode is not MaxLossMode.STATIC
                              and high - max_loss_amount(rule, track.initial) >= track.initial)
    return track if (high, locked) == (track.high, track.locked) else replace(track, high=high, locked=locked)


def max_loss_amount(rule: MaxLossRule, initial: float) -> float:
    return rule.amount if rule.amount is not None else initial * rule.percent / 100


def floor(rule: MaxLossRule, track: Track) -> float:
    if rule.mode is MaxLossMode.STATIC:
        return track.initial - max_loss_amount(rule, track.initial)
    if track.locked and rule.lock_at_initial:  # a rule edit that drops the lock trails again
        return track.initial
    return track.high - max_loss_amount(rule, track.initial)


def _describe_floor(rule: MaxLossRule, track: Track, ccy: str) -> str:
    amount = max_loss_amount(rule, track.initial)
    if rule.mode is MaxLossMode.STATIC:
        return f"static: initial balance {track.initial:,.2f} {ccy} less {amount:,.2f} {ccy}"
    if track.locked and rule.lock_at_initial:
        return f"{rule.mode.value}, locked at the initial balance {track.initial:,.2f} {ccy}"
    return f"{rule.mode.value}: high {track.high:,.2f} {ccy} less {amount:,.2f} {ccy}"


# ------------------------------------------------------------------------------- checks


def check(prop: PropRules, day: DayFigures, track: Track | None, equity: float, ccy: str) -> list[PropBreach]:
    """The profile's limits breached at this equity: a daily loss at or above its limit, an equity at
    or below the floor. ``track`` None: no maximum loss measured yet."""
    found = []
    rule = prop.daily_loss
    if rule is not None:
        baseline, loss, limit = _daily_loss(rule, day, equity)
        if loss >= limit:
            found.append(PropBreach(DAILY_LOSS, rule.action, (
                f"daily loss {loss:,.2f} {ccy} >= {limit:,.2f} {ccy} "
                f"({_describe_baseline(rule, day, baseline, ccy)} at {prop.reset})")))
    rule_max = prop.max_loss
    if rule_max is not None and track is not None:
        at = floor(rule_max, track)
        if equity <= at:
            found.append(PropBreach(MAX_LOSS, rule_max.action, (
                f"equity {equity:,.2f} {ccy} <= max-loss floor {at:,.2f} {ccy} "
                f"({_describe_floor(rule_max, track, ccy)})")))
    return found


def room_left(prop: PropRules, day: DayFigures, track: Track | None, equity: float, *, now: float,
              next_reset: float, deal_days: Iterable[int], currency: str) -> RoomLeft:
    limit = left = used = None
    if prop.daily_loss is not None:
        _, loss, limit = _daily_loss(prop.daily_loss, day, equity)
        left, used = max(limit - loss, 0.0), max(loss, 0.0) / limit
    at = to_floor = max_used = None
    if prop.max_loss is not None and track is not None:
        at = floor(prop.max_loss, track)
        to_floor = equity - at
        max_used = max(1.0 - to_floor / max_loss_amount(prop.max_loss, track.initial), 0.0)
    return RoomLeft(currency, limit, left, used, next_reset, max(next_reset - now, 0.0), at, to_floor, max_used,
                    trading_days(deal_days))


def trading_days(deal_days: Iterable[int]) -> int:
    """Days (trading-day ids) with at least one deal: what a firm's minimum trading days count."""
    return len(set(deal_days))
