"""Capabilities are data the core reads: a platform without stop-limit orders or without a comment
field says so, and the answers follow from the fields alone."""

from __future__ import annotations

import dataclasses

import pytest

from copier_gui.core.capabilities import (
    Capabilities,
    OrderType,
    PositionModel,
    TagField,
    order_type_of,
)
from copier_gui.core.model import PendingKind, VolumeUnit

CTRADER_LIKE = Capabilities(platform="ctrader", position_model=PositionModel.NETTING,
                            order_types=frozenset({OrderType.MARKET, OrderType.LIMIT, OrderType.STOP}),
                            volume_unit=VolumeUnit.UNITS,
                            tag_fields=(TagField("label", 100), TagField("comment", 512),
                                        TagField("client_order_id", 50)))


def test_order_kinds_map_to_the_platforms_order_types():
    assert {order_type_of(k) for k in PendingKind} == set(OrderType) - {OrderType.MARKET}
    assert CTRADER_LIKE.supports(PendingKind.SELL_STOP) and CTRADER_LIKE.pending_orders
    assert not CTRADER_LIKE.supports(PendingKind.BUY_STOP_LIMIT)
    market_only = dataclasses.replace(CTRADER_LIKE, order_types=frozenset({OrderType.MARKET}))
    assert not market_only.pending_orders


def test_tag_fields_are_found_by_name_and_give_the_comments_room():
    assert CTRADER_LIKE.tag_field("client_order_id") == TagField("client_order_id", 50)
    assert CTRADER_LIKE.tag_field("magic") is None
    assert CTRADER_LIKE.max_comment_length == 512 and not CTRADER_LIKE.hedging
    without_comment = dataclasses.replace(CTRADER_LIKE, tag_fields=(TagField("label", 100),))
    assert without_comment.max_comment_length == 0


def test_capabilities_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        CTRADER_LIKE.platform = "mt5"  # type: ignore[misc]
