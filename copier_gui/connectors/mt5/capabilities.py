"""What a MetaTrader 5 account can do, as the core's ``Capabilities``: the platform's fixed facts
(every order type and filling, volumes in lots, tags in the magic number and the comment, changes
polled) and the account's own, read from its ``account_info()`` (hedging or netting)."""

from __future__ import annotations

from copier_gui.connectors.mt5.translate import ACCOUNT_MARGIN_MODE_RETAIL_HEDGING, COMMENT_LIMIT
from copier_gui.core.capabilities import (
    Capabilities,
    EventDelivery,
    OrderType,
    PositionModel,
    TagField,
)
from copier_gui.core.model import Filling, VolumeUnit

PLATFORM = "mt5"

# The magic number is an unsigned 64-bit field; the comment is cut to what every broker keeps.
TAG_FIELDS = (TagField("magic", numeric=True), TagField("comment", COMMENT_LIMIT))


def position_model(margin_mode: int) -> PositionModel:
    """Retail hedging holds a position per deal; retail netting and exchange accounts one per symbol."""
    return PositionModel.HEDGING if int(margin_mode) == ACCOUNT_MARGIN_MODE_RETAIL_HEDGING else PositionModel.NETTING


def capabilities_for(margin_mode: int) -> Capabilities:
    # Close-by exists in MetaTrader 5, but the port has no request for it yet. Symbols narrow the
    # order types and fillings further (SymbolSpec.pending_kinds and fillings, from symbol_info).
    return Capabilities(platform=PLATFORM, position_model=position_model(margin_mode),
                        order_types=frozenset(OrderType), fillings=frozenset(Filling),
                        volume_unit=VolumeUnit.LOTS, tag_fields=TAG_FIELDS, events=EventDelivery.POLLED,
                        close_by=False)


def account_capabilities(account) -> Capabilities:
    """The capabilities of an account, from anything with its ``margin_mode``: ``account_info()``,
    or a simulated broker's profile before any terminal runs."""
    return capabilities_for(account.margin_mode)


# What a connector reports before its first connect: nothing is known of the account yet, and
# netting is the cautious guess (one position per symbol, every deal written ahead in the copy book).
UNCONNECTED = capabilities_for(-1)
