"""A replay's cTrader brokers: one simulated Open API server on the run's own loop and clock.

The server speaks the real wire format over TLS on 127.0.0.1, so a replayed cTrader slave (or
master) is reached by the same connector as a live one. Loopback sockets deliver a write before the
send returns, so the virtual-time loop finds every reply ready when it polls, and a run stays
deterministic. The server quotes the run's market, so MT5 and cTrader accounts trade one price path.

Reports read the broker's side directly (the trade engine, and the labels and comments the server
keeps by id), never through the copier's connection, so a report taken while the copier is down,
or of an account that is offline, changes nothing the copier sees.
"""

from __future__ import annotations

import asyncio
import dataclasses
from types import SimpleNamespace

from copier_gui.clock import Clock
from copier_gui.connectors.ctrader.session import AppCredentials, TokenPair
from copier_gui.connectors.ctrader.token_keyring import MemoryTokenStore
from copier_gui.connectors.ctrader.translate import magic_of
from copier_gui.replay.scenario import BalanceAction, ConnectionLostAction, ConnectionRestoredAction
from copier_gui.sim import Market
from copier_gui.sim.ctrader import (
    CTRADER_PROFILES,
    HEDGED,
    NETTED,
    SimCTraderAccount,
    SimulatedOpenApiServer,
)

__all__ = ["CTraderBrokers"]

_CLIENT_ID = "replay_copier_gui"
_CLIENT_SECRET = "replay-application-secret"


class CTraderBrokers:
    """The run's cTrader accounts, at one simulated server that ``start`` opens on the run's loop."""

    def __init__(self, clock: Clock, market: Market, seed: int) -> None:
        self.clock = clock
        # Spots are pushed at each poll: a tenth of a second keeps the run's step count modest.
        self.server = SimulatedOpenApiServer(clock=clock, seed=seed, market=market, poll_interval=0.1)
        self.server.add_application(_CLIENT_ID, _CLIENT_SECRET)
        self.accounts: dict[str, SimCTraderAccount] = {}
        self._tokens: dict[str, TokenPair] = {}
        self._started = False

    def add(self, account_id: str, profile: str, *, login: int, balance: float | None = None,
            margin_mode: str | None = None, leverage: int | None = None) -> SimCTraderAccount:
        broker = CTRADER_PROFILES[profile]
        changes = {}
        if margin_mode is not None:
            changes["account_type"] = NETTED if margin_mode == "netting" else HEDGED
        if leverage is not None:
            changes["leverage"] = leverage
        if changes:
            broker = dataclasses.replace(broker, **changes)
        account = self.server.add_account(broker, balance=balance, login=login)
        grant = self.server.grant(account.account_id)
        self._tokens[account_id] = TokenPair(grant.access_token, grant.refresh_token, grant.expires_at)
        self.accounts[account_id] = account
        return account

    def __contains__(self, account_id: str) -> bool:
        return account_id in self.accounts

    async def start(self) -> None:
        if self.accounts and not self._started:
            await self.server.start()
            self._started = True

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self.server.stop()

    def connector(self, account_id: str):
        """A new connector to the account, as a copier process that starts makes one."""
        from copier_gui.connectors.ctrader.connector import CTraderConnector

        account = self.accounts[account_id]
        return CTraderConnector(account_id, host=self.server.host, port=self.server.port,
                                app=AppCredentials(_CLIENT_ID, _CLIENT_SECRET), ctid_account_id=account.account_id,
                                tokens=MemoryTokenStore(self._tokens[account_id]), clock=self.clock,
                                ssl_context=self.server.client_ssl_context())

    def credentials(self, account_id: str) -> tuple[AppCredentials, TokenPair, int]:
        """What the account's own trader (its cTrader app) signs in with."""
        return (AppCredentials(_CLIENT_ID, _CLIENT_SECRET), self._tokens[account_id],
                self.accounts[account_id].account_id)

    # ------------------------------------------------------------------ levers
    def pull_lever(self, account_id: str, action) -> str:
        """A terminal action on a cTrader account (only the connection's exist); the report's words."""
        account = self.accounts[account_id].account_id
        if isinstance(action, ConnectionLostAction):
            self.server.take_offline(account)
            return "cTrader connection lost"
        if isinstance(action, ConnectionRestoredAction):
            self.server.bring_online(account)
            return "cTrader connection restored"
        if isinstance(action, BalanceAction):
            sign = 1.0 if action.action == "deposit" else -1.0
            self.server.deposit(account, sign * action.amount, action.action)
            return f"{'deposit' if sign > 0 else 'withdrawal'} of {action.amount:.2f}"
        raise ValueError(f"{action.action} does not apply to the cTrader account {account_id!r}")

    def disconnect(self, account_id: str, seconds: float) -> None:
        """The account's links drop and it cannot be reached for ``seconds``."""
        self.server.take_offline(self.accounts[account_id].account_id, seconds)

    def reject(self, account_id: str, *retcodes: int) -> None:
        """Refuse the account's next trade requests, each with the cTrader error for the trade
        server code a scenario names (the codes a scenario speaks are the MT5 table's)."""
        self.accounts[account_id].force_refusals(*retcodes)

    async def slow_down(self, account_id: str, median_s: float, duration_s: float) -> None:
        """Every answer about the account takes about ``median_s`` for ``duration_s``."""
        account = self.accounts[account_id].account_id
        self.server.set_latency(account, median_s)
        try:
            await asyncio.sleep(duration_s)
        finally:
            self.server.set_latency(account, 0.0)

    # ------------------------------------------------------------------ the broker's side
    def view(self, account_id: str) -> tuple:
        """(account, positions, orders) in the shape reports read from a simulated MT5 terminal:
        volumes in lots of each symbol's lot size, tags as the server keeps them."""
        account = self.accounts[account_id]
        engine = account.engine
        engine.refresh()
        info = SimpleNamespace(currency=account.broker.currency, balance=engine.balance, equity=engine.equity())
        positions = []
        for p in engine.positions_tuples():
            label, comment = account.position_tags.get(p.identifier, ("", ""))
            positions.append(SimpleNamespace(
                ticket=p.identifier, symbol=p.symbol, type=p.type, volume=p.volume, price_open=p.price_open,
                price_current=p.price_current, sl=p.sl, tp=p.tp, magic=magic_of(label), comment=comment))
        orders = []
        for order in engine.orders.values():
            tags = account.orders.get(order.ticket)
            label, comment = (tags.label, tags.comment) if tags is not None else ("", "")
            orders.append(SimpleNamespace(
                ticket=order.ticket, symbol=order.spec.name, type=order.type, volume_current=order.volume_current,
                price_open=order.price_open, sl=order.sl, tp=order.tp, magic=magic_of(label), comment=comment))
        return info, tuple(positions), tuple(orders)
