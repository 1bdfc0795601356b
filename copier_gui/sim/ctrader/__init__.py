"""A simulated cTrader Open API server, driven by the same market and trade engine as the
simulated MT5 terminal.

``SimulatedOpenApiServer`` listens on 127.0.0.1 with TLS (a self-signed certificate made at
start; ``client_ssl_context()`` trusts it) and speaks the real wire format with the official
messages. ``CTRADER_PROFILES`` lists the cTrader brokers: their own symbol ids and names, volume
steps in units, commission per lot, hedged or netted accounts, assets and holidays. The server
module's docstring lists what of a real server's behaviour is reproduced and what is not.
"""

from copier_gui.sim.ctrader.account import SimCTraderAccount, TradeRefusal
from copier_gui.sim.ctrader.profiles import (
    CTRADER_PROFILES,
    HEDGED,
    NETTED,
    CTraderBroker,
    CTraderSymbol,
    Holiday,
)
from copier_gui.sim.ctrader.server import ServerFaults, SimulatedOpenApiServer
from copier_gui.sim.ctrader.tokens import ACCESS_TOKEN_SECONDS, SCOPE_TRADE, SCOPE_VIEW, Grant

__all__ = [
    "ACCESS_TOKEN_SECONDS",
    "CTRADER_PROFILES",
    "HEDGED",
    "NETTED",
    "SCOPE_TRADE",
    "SCOPE_VIEW",
    "CTraderBroker",
    "CTraderSymbol",
    "Grant",
    "Holiday",
    "ServerFaults",
    "SimCTraderAccount",
    "SimulatedOpenApiServer",
    "TradeRefusal",
]
