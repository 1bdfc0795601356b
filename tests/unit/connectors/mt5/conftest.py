"""Fixtures for the MT5 connector tests: connectors over simulated terminals on the weekday clock."""

from __future__ import annotations

import pytest

from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector


@pytest.fixture
def connected(make_terminal, weekday_clock):
    """Factory: ``await connected(profile, **connector_kw)`` -> (connector, terminal), connected."""

    async def make(profile: str, **connector_kw):
        terminal = make_terminal(profile)
        connector = MT5Connector(f"acct-{profile}", terminal, invoker=InlineInvoker(), clock=weekday_clock,
                                 **connector_kw)
        await connector.connect()
        return connector, terminal

    return make


@pytest.fixture
def deal_count(weekday_clock):
    """Number of buy/sell deals in a terminal's history around now."""

    def count(terminal) -> int:
        now = int(weekday_clock.time())
        deals = terminal.history_deals_get(now - 86400 * 3, now + 86400 * 3)
        assert deals is not None, terminal.last_error()
        return sum(1 for d in deals if d.type in (0, 1))

    return count
