"""What a trading account can do, as data: each connector reports it, the core reads it.

The core plans and executes from these facts (one position per symbol or several, which order types
and fillings exist, what a volume counts, where a tag fits, whether changes are pushed) and never from
a platform's constants, so a second platform is a second connector, not branches through the core.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from copier_gui.core.model import Filling, PendingKind, VolumeUnit


class PositionModel(Enum):
    """How an account holds trades on one symbol."""

    HEDGING = "hedging"  # each fill its own position, both sides at once
    NETTING = "netting"  # one position per symbol: fills add to it, cut it or turn it


class OrderType(Enum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class EventDelivery(Enum):
    """How the account's changes reach the copier."""

    POLLED = "polled"  # the connector reads positions and orders on a schedule
    PUSHED = "pushed"  # the platform sends each execution as it happens (a PushingConnector)


@dataclass(frozen=True, slots=True)
class TagField:
    """A field of an order or position the copier can write its tag into: ``max_length`` characters
    of text, or, when ``numeric``, a whole number (``max_length`` is then 0)."""

    name: str
    max_length: int = 0
    numeric: bool = False


_KIND_TYPES = {
    PendingKind.BUY_LIMIT: OrderType.LIMIT, PendingKind.SELL_LIMIT: OrderType.LIMIT,
    PendingKind.BUY_STOP: OrderType.STOP, PendingKind.SELL_STOP: OrderType.STOP,
    PendingKind.BUY_STOP_LIMIT: OrderType.STOP_LIMIT, PendingKind.SELL_STOP_LIMIT: OrderType.STOP_LIMIT,
}


def order_type_of(kind: PendingKind) -> OrderType:
    return _KIND_TYPES[kind]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """One account's platform facts. Symbols narrow them further (a symbol's own fillings and order
    kinds are in its ``SymbolSpec``); these are what the account and its platform allow at all."""

    platform: str  # a name for people and journals ("mt5", "ctrader"); the core never branches on it
    position_model: PositionModel
    order_types: frozenset[OrderType] = frozenset(OrderType)
    fillings: frozenset[Filling] = frozenset(Filling)
    volume_unit: VolumeUnit = VolumeUnit.LOTS
    # Where a tag can go, in the order the connector fills them.
    tag_fields: tuple[TagField, ...] = ()
    events: EventDelivery = EventDelivery.POLLED
    close_by: bool = False  # one position closed against an opposite one (a hedging account)

    @property
    def hedging(self) -> bool:
        return self.position_model is PositionModel.HEDGING

    @property
    def pending_orders(self) -> bool:
        return bool(self.order_types - {OrderType.MARKET})

    def supports(self, kind: PendingKind) -> bool:
        return order_type_of(kind) in self.order_types

    def tag_field(self, name: str) -> TagField | None:
        return next((f for f in self.tag_fields if f.name == name), None)

    @property
    def max_comment_length(self) -> int:
        """The characters the copier may write into the comment its tags live in; 0 without one."""
        comment = self.tag_field("comment")
        return comment.max_length if comment is not None else 0
