"""The connector port: the one async interface through which the core reaches any trading account.

An adapter (MetaTrader 5 today, over the real package, the Linux bridge or the simulated terminal)
implements it; the core never asks which one it has. What an adapter can do is declared as data in
``Capabilities``, never discovered by ``isinstance`` checks or ``if demo:`` branches.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from copier_gui.core.capabilities import Capabilities
from copier_gui.core.model import (
    AccountState,
    CancelPending,
    CashFlow,
    ClosePosition,
    Deal,
    ExecutionReport,
    ModifyPending,
    ModifyStops,
    OpenPosition,
    PlacePending,
    Snapshot,
    SymbolSpec,
)

__all__ = ["Capabilities", "Connector", "ConnectorError", "PushingConnector"]


class ConnectorError(Exception):
    """The account cannot be reached or refused the session; ``message`` says what to do."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@runtime_checkable
class Connector(Protocol):
    """One trading account. Every method is a coroutine; none blocks the event loop."""

    account_id: str

    @property
    def capabilities(self) -> Capabilities:
        """What the account can do; known for certain once ``connect()`` returned."""

    async def connect(self) -> AccountState:
        """Open the session; raises ConnectorError with a trader-readable message."""

    async def close_session(self) -> None: ...

    async def account(self) -> AccountState: ...

    async def snapshot(self) -> Snapshot:
        """Open positions and working orders; raises ConnectorError when unreachable."""

    async def symbols(self) -> dict[str, SymbolSpec]:
        """Every symbol the account can see, by name, with current prices."""

    async def symbol(self, name: str) -> SymbolSpec | None:
        """One symbol with a fresh quote, or None if the account has no such symbol."""

    async def open(self, request: OpenPosition) -> ExecutionReport: ...

    async def close(self, request: ClosePosition) -> ExecutionReport: ...

    async def modify(self, request: ModifyStops) -> ExecutionReport: ...

    async def place_pending(self, request: PlacePending) -> ExecutionReport: ...

    async def modify_pending(self, request: ModifyPending) -> ExecutionReport: ...

    async def cancel(self, request: CancelPending) -> ExecutionReport: ...

    async def position_deals(self, position_id: int = 0, *, order: int = 0) -> tuple[Deal, ...]:
        """The deals of a position, open or closed, oldest first (drift attribution reads a
        position's fills and costs from them), named by its id or by an order that traded it: on
        a netting account a fill lands on whatever position its symbol has then. Raises
        ConnectorError when unreachable."""

    async def deals_since(self, since_msc: int) -> tuple[Deal, ...]:
        """The account's trade deals made at or after ``since_msc`` (the platform's trade time, the
        clock of ``Position.time_msc``), oldest first, each naming its position: a position whose
        deals there sum to nothing was opened and closed inside that time, which shows the trades
        no copier saw while it was down. Raises ConnectorError when unreachable."""

    async def cash_flows(self) -> tuple[CashFlow, ...]:
        """The deposits, withdrawals and other balance operations of about the last week, oldest
        first: what a prop profile's limits must not count as profit or loss. Raises
        ConnectorError when unreachable."""


@runtime_checkable
class PushingConnector(Connector, Protocol):
    """An account whose platform pushes its changes (``capabilities.events`` is PUSHED)."""

    async def wait_for_change(self, timeout: float) -> None:
        """Return when the account changed since the last call (an execution arrived, or the link
        went down) or after ``timeout`` seconds, whichever comes first; never raises. The copier
        looks at a pushed master after each return, so a change is seen as soon as it arrives."""
