"""What a cTrader account can do, as the core's ``Capabilities``: the Open API's fixed facts (market,
limit, stop and stop-limit orders, volumes in units, changes pushed as execution events, tags in
label, comment and clientOrderId) and the account's own, read from its ``ProtoOATrader`` (hedged or
netted)."""

from __future__ import annotations

from copier_gui.core.capabilities import (
    Capabilities,
    EventDelivery,
    OrderType,
    PositionModel,
    TagField,
)
from copier_gui.core.model import Filling, VolumeUnit

PLATFORM = "ctrader"

# ProtoOAAccountType.
HEDGED = 0
NETTED = 1
SPREAD_BETTING = 2

# String limits of ProtoOANewOrderReq (OpenApiMessages.proto: "MaxLength"). The proto says 512
# for the comment, one client library's documentation 256: the smaller is what every server keeps.
LABEL_LIMIT = 100
COMMENT_LIMIT = 256
CLIENT_ORDER_ID_LIMIT = 50

# cTrader has no magic number: the copier's magic goes into the label as a decimal number (it
# reads back as the position's magic), its comment into the comment. clientOrderId carries the
# connector's own id for one request, so a fill whose answer was lost is still recognised.
TAG_FIELDS = (TagField("label", LABEL_LIMIT), TagField("comment", COMMENT_LIMIT),
              TagField("clientOrderId", CLIENT_ORDER_ID_LIMIT))

# A market order is sent fill-or-kill or immediate-or-cancel (its timeInForce); a pending order
# rests in the book until it triggers, is cancelled or expires, which is RETURN in the port's words.
FILLINGS = frozenset({Filling.FOK, Filling.IOC, Filling.RETURN})
MARKET_FILLINGS = frozenset({Filling.FOK, Filling.IOC})


def position_model(account_type: int) -> PositionModel:
    """Hedged accounts hold a position per order; netted ones (and, cautiously, spread betting, whose
    model the Open API does not say) one per symbol."""
    return PositionModel.HEDGING if int(account_type) == HEDGED else PositionModel.NETTING


def capabilities_for(account_type: int) -> Capabilities:
    return Capabilities(platform=PLATFORM, position_model=position_model(account_type),
                        order_types=frozenset(OrderType), fillings=FILLINGS, volume_unit=VolumeUnit.UNITS,
                        tag_fields=TAG_FIELDS, events=EventDelivery.PUSHED, close_by=False)


def account_capabilities(trader) -> Capabilities:
    """The capabilities of an account from its ``ProtoOATrader`` (accountType defaults to HEDGED)."""
    return capabilities_for(trader.accountType)


# Before the first connect nothing is known of the account: netting is the cautious guess, as for
# MetaTrader 5 (one position per symbol, every deal written ahead in the copy book).
UNCONNECTED = capabilities_for(NETTED)
