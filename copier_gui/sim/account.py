"""The mutable records a simulated trade server keeps per account: positions and working orders.

They are plain slotted objects the engine changes in place; the API layer turns them into the
package's immutable result tuples when asked.
"""

from __future__ import annotations

from dataclasses import dataclass

from copier_gui.sim.profiles import SymbolSpec


@dataclass(slots=True)
class AccountSettings:
    login: int
    password: str
    name: str
    balance: float
    currency: str
    margin_mode: int
    leverage: int
    trade_mode: int
    currency_digits: int
    limit_orders: int = 200


@dataclass(slots=True)
class Position:
    ticket: int
    identifier: int
    spec: SymbolSpec
    type: int
    volume: float
    price_open: float
    sl: float
    tp: float
    magic: int
    comment: str
    time_msc: int
    time_update_msc: int
    reason: int
    swap: float = 0.0
    external_id: str = ""


@dataclass(slots=True)
class Order:
    ticket: int
    spec: SymbolSpec
    type: int
    type_time: int
    type_filling: int
    state: int
    magic: int
    position_id: int
    position_by_id: int
    reason: int
    volume_initial: float
    volume_current: float
    price_open: float
    sl: float
    tp: float
    price_stoplimit: float
    comment: str
    time_setup_msc: int
    time_expiration: int
    external_id: str = ""
