"""MetaTrader 5's capabilities as data: the platform's fixed facts and the account's margin mode."""

from __future__ import annotations

import pytest

from copier_gui.connectors.mt5.capabilities import (
    UNCONNECTED,
    account_capabilities,
    capabilities_for,
)
from copier_gui.core import tags
from copier_gui.core.capabilities import OrderType, PositionModel
from copier_gui.core.model import PendingKind
from copier_gui.sim import PROFILES
from copier_gui.sim import constants as mt5


@pytest.mark.parametrize(("margin_mode", "model"), [
    (mt5.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING, PositionModel.HEDGING),
    (mt5.ACCOUNT_MARGIN_MODE_RETAIL_NETTING, PositionModel.NETTING),
    # An exchange account nets too: one position per symbol.
    (mt5.ACCOUNT_MARGIN_MODE_EXCHANGE, PositionModel.NETTING),
])
def test_the_margin_mode_decides_hedging_or_netting(margin_mode, model):
    assert capabilities_for(margin_mode).position_model is model


def test_every_simulated_broker_reads_as_its_margin_mode_says():
    for name, profile in PROFILES.items():
        hedging = profile.margin_mode == mt5.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING
        assert account_capabilities(profile).hedging is hedging, name
    assert {account_capabilities(p).position_model for p in PROFILES.values()} == set(PositionModel)


def test_every_order_kind_is_supported_and_nothing_is_known_before_connecting():
    caps = capabilities_for(mt5.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING)
    assert all(caps.supports(kind) for kind in PendingKind) and caps.pending_orders
    assert OrderType.STOP_LIMIT in caps.order_types
    # Before the account answers, the connector guesses netting: every deal is written ahead.
    assert not UNCONNECTED.hedging and UNCONNECTED.max_comment_length == caps.max_comment_length


def test_the_comment_field_holds_the_longest_tag_the_copier_writes():
    assert capabilities_for(mt5.ACCOUNT_MARGIN_MODE_RETAIL_NETTING).max_comment_length >= tags.MAX_COMMENT
