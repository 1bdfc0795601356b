"""A trade request the simulated cTrader server refuses, as its account layers raise it."""

from __future__ import annotations


class TradeRefusal(Exception):
    """A trade request refused; ``order_id``/``position_id`` are what the error event carries
    (0 for most refusals, as real servers send)."""

    def __init__(self, code: str, description: str, *, order_id: int = 0, position_id: int = 0,
                 as_error_res: bool = False) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.order_id = order_id
        self.position_id = position_id
        self.as_error_res = as_error_res  # a malformed request: ProtoOAErrorRes, not an order error
