"""The people at the terminals in a replay: the master's trader, and whoever flips a terminal's switches.

The master's trades go through its terminal's API, as an expert advisor's would; a trade that the
terminal cannot carry out (offline, AutoTrading off, refused by the broker) is reported, never
raised. Terminal actions pull the simulator's levers on any account, master or slave.
"""

from __future__ import annotations

from collections.abc import Callable

from copier_gui.core.model import Side
from copier_gui.replay.scenario import (
    AutoTradingOffAction,
    AutoTradingOnAction,
    BalanceAction,
    CancelPendingAction,
    CloseAction,
    ConnectionLostAction,
    ConnectionRestoredAction,
    ModifyAction,
    ModifyPendingAction,
    MovePriceAction,
    OpenAction,
    PartialCloseAction,
    PlacePendingAction,
    PythonApiOffAction,
    PythonApiOnAction,
    ReverseAction,
)
from copier_gui.sim import BrokerProfile, Market
from copier_gui.sim import constants as _mt5

# The simulated terminal's own codes: the master trades through it as a trader's script would.
PENDING_TYPES = {"buy_limit": _mt5.ORDER_TYPE_BUY_LIMIT, "sell_limit": _mt5.ORDER_TYPE_SELL_LIMIT,
                 "buy_stop": _mt5.ORDER_TYPE_BUY_STOP, "sell_stop": _mt5.ORDER_TYPE_SELL_STOP}
_DONE = (_mt5.TRADE_RETCODE_PLACED, _mt5.TRADE_RETCODE_DONE, _mt5.TRADE_RETCODE_DONE_PARTIAL)

# What each terminal action does, and how the report says it.
TERMINAL_LEVERS: dict[type, tuple[Callable[[object], None], str]] = {
    AutoTradingOffAction: (lambda sim: sim.set_algo_trading(False), "AutoTrading switched off"),
    AutoTradingOnAction: (lambda sim: sim.set_algo_trading(True), "AutoTrading switched on"),
    ConnectionLostAction: (lambda sim: sim.lose_connection(), "terminal connection lost"),
    ConnectionRestoredAction: (lambda sim: sim.restore_connection(), "terminal connection restored"),
    PythonApiOffAction: (lambda sim: sim.set_tradeapi_disabled(True), "trading from Python disabled"),
    PythonApiOnAction: (lambda sim: sim.set_tradeapi_disabled(False), "trading from Python enabled"),
}


class ActionFailed(Exception):
    """A master action the terminal could not carry out; the message says why."""


class MasterTrader:
    """Carries out the scenario's actions on the master terminal, as the trader would."""

    def __init__(self, terminal, tickets: dict[str, int], server_offset_s: int,
                 former: dict[str, list[int]] | None = None) -> None:
        self.t = terminal
        self.tickets = tickets  # the scenario's ids -> the master's tickets, filled as it trades
        # An id's earlier tickets: an MT5 netting position reversed takes the reversing order's
        # ticket, and a moment judged before the reversal still sees the old one.
        self.former = former if former is not None else {}
        self._server_offset_s = server_offset_s

    def act(self, action) -> None:
        """Raises ActionFailed with the reason when the action cannot be done."""
        self._reach()
        if isinstance(action, OpenAction):
            self.tickets[action.id] = self._open(action)
        elif isinstance(action, ModifyAction):
            self._modify(action)
        elif isinstance(action, PartialCloseAction | CloseAction):
            self._close(action)
        elif isinstance(action, ReverseAction):
            before, after = self.tickets.get(action.id), self._reverse(action)
            if before is not None and before != after:
                self.former.setdefault(action.id, []).append(before)
            self.tickets[action.id] = after
        elif isinstance(action, PlacePendingAction):
            self.tickets[action.id] = self._place(action)
        elif isinstance(action, ModifyPendingAction):
            self._move(action)
        elif isinstance(action, CancelPendingAction):
            order = self._order(action.id)
            self._send(action, {"action": self.t.TRADE_ACTION_REMOVE, "order": order.ticket})

    # ------------------------------------------------------------------ the terminal
    def _reach(self) -> None:
        t = self.t
        if t.sim.connected:
            return
        # After an outage the terminal's pipe must be opened again, as its trader would.
        if not t.initialize():
            code, text = t.last_error()
            raise ActionFailed(f"the master terminal is not connected ({code} {text})")

    def _symbol(self, symbol: str):
        t = self.t
        # A symbol the trader trades is in Market Watch; a tick exists only for those.
        t.symbol_select(symbol, True)
        info = t.symbol_info(symbol)
        tick = t.symbol_info_tick(symbol)
        if info is None or tick is None:
            code, text = t.last_error()
            raise ActionFailed(f"no quote for {symbol} at the master's terminal ({code} {text})")
        return info, tick

    def _send(self, action, request: dict):
        result = self.t.order_send(request)
        if result is None or result.retcode not in _DONE:
            detail = self.t.last_error() if result is None else (result.retcode, result.comment)
            raise ActionFailed(f"master {action.action} {action.id!r} refused: {detail}")
        return result

    # ------------------------------------------------------------------ actions
    def _open(self, action: OpenAction) -> int:
        info, tick = self._symbol(action.symbol)
        buy = action.side is Side.BUY
        price = tick.ask if buy else tick.bid
        sign = 1 if buy else -1
        sl = round(price - sign * action.sl_points * info.point, info.digits) if action.sl_points else 0.0
        tp = round(price + sign * action.tp_points * info.point, info.digits) if action.tp_points else 0.0
        result = self._send(action, {
            "action": self.t.TRADE_ACTION_DEAL, "symbol": action.symbol, "volume": float(action.volume),
            "type": 0 if buy else 1, "price": price, "sl": sl, "tp": tp, "deviation": 50,
            "type_filling": _filling(info), "magic": int(action.magic or 0), "comment": action.comment or ""})
        return result.order

    def _modify(self, action: ModifyAction) -> None:
        pos = self._position(action.id)
        info, _ = self._symbol(pos.symbol)
        sign = 1 if pos.type == 0 else -1
        sl, tp = pos.sl, pos.tp
        if action.sl_points is not None:
            sl = round(pos.price_open - sign * action.sl_points * info.point, info.digits) if action.sl_points else 0.0
        if action.tp_points is not None:
            tp = round(pos.price_open + sign * action.tp_points * info.point, info.digits) if action.tp_points else 0.0
        self._send(action, {"action": self.t.TRADE_ACTION_SLTP, "symbol": pos.symbol, "position": pos.ticket,
                            "sl": sl, "tp": tp})

    def _close(self, action: PartialCloseAction | CloseAction) -> None:
        pos = self._position(action.id)
        info, tick = self._symbol(pos.symbol)
        volume = pos.volume if isinstance(action, CloseAction) else float(action.volume)
        buy = pos.type == 0
        self._send(action, {
            "action": self.t.TRADE_ACTION_DEAL, "symbol": pos.symbol, "volume": float(volume),
            "type": 1 if buy else 0, "position": pos.ticket, "price": tick.bid if buy else tick.ask,
            "deviation": 50, "type_filling": _filling(info)})

    def _reverse(self, action: ReverseAction) -> int:
        """One opposite deal for what the position holds and ``volume`` more; the position's new
        ticket (MT5 gives a reversed netting position the ticket of the order that reversed it)."""
        pos = self._position(action.id)
        info, tick = self._symbol(pos.symbol)
        buy = pos.type == 0
        self._send(action, {
            "action": self.t.TRADE_ACTION_DEAL, "symbol": pos.symbol, "volume": round(pos.volume + action.volume, 8),
            "type": 1 if buy else 0, "price": tick.bid if buy else tick.ask, "deviation": 50,
            "type_filling": _filling(info)})
        found = self.t.positions_get(symbol=pos.symbol)
        if not found:
            raise ActionFailed(f"master reverse {action.id!r}: no position on {pos.symbol} after the deal")
        return found[0].ticket

    def _place(self, action: PlacePendingAction) -> int:
        info, tick = self._symbol(action.symbol)
        price = _pending_price(info, tick, action.kind, action.offset_points)
        sign = 1 if action.kind.startswith("buy") else -1
        sl = round(price - sign * action.sl_points * info.point, info.digits) if action.sl_points else 0.0
        tp = round(price + sign * action.tp_points * info.point, info.digits) if action.tp_points else 0.0
        request = {"action": self.t.TRADE_ACTION_PENDING, "symbol": action.symbol,
                   "volume": float(action.volume), "type": PENDING_TYPES[action.kind], "price": price,
                   "sl": sl, "tp": tp, "type_filling": self.t.ORDER_FILLING_RETURN}
        if action.expiration_s:
            server_now = int(tick.time) + self._server_offset_s
            request.update(type_time=self.t.ORDER_TIME_SPECIFIED, expiration=int(server_now + action.expiration_s))
        return self._send(action, request).order

    def _move(self, action: ModifyPendingAction) -> None:
        order = self._order(action.id)
        info, tick = self._symbol(order.symbol)
        kind = {v: k for k, v in PENDING_TYPES.items()}[order.type]
        self._send(action, {"action": self.t.TRADE_ACTION_MODIFY, "order": order.ticket,
                            "price": _pending_price(info, tick, kind, action.offset_points),
                            "sl": order.sl, "tp": order.tp, "type_time": order.type_time,
                            "expiration": order.time_expiration})

    def _position(self, name: str):
        ticket = self.tickets.get(name)
        found = self.t.positions_get(ticket=ticket) if ticket else ()
        if not found:
            raise ActionFailed(f"master action on {name!r} skipped: the position is no longer open")
        return found[0]

    def _order(self, name: str):
        ticket = self.tickets.get(name)
        found = self.t.orders_get(ticket=ticket) if ticket else ()
        if not found:
            raise ActionFailed(f"master action on {name!r} skipped: the order is no longer pending")
        return found[0]


def pull_lever(terminal, action) -> str:
    """Carry out a terminal action; returns the report's words for it."""
    if isinstance(action, BalanceAction):
        return move_cash(terminal, action)
    lever, text = TERMINAL_LEVERS[type(action)]
    lever(terminal.sim)
    return text


def move_cash(terminal, action: BalanceAction) -> str:
    """A deposit or a withdrawal at an MT5 account: a balance deal, as the broker's back office books
    it. A withdrawal larger than the free margin is refused, as brokers refuse it."""
    if action.action == "deposit":
        terminal.sim.deposit(action.amount, "Deposit")
        return f"deposit of {action.amount:.2f}"
    free = terminal.account_info().margin_free
    if action.amount > free:
        return f"withdrawal of {action.amount:.2f} refused: the free margin is {free:.2f}"
    terminal.sim.deposit(-action.amount, "Withdrawal")
    return f"withdrawal of {action.amount:.2f}"


def move_price(market: Market, profile: BrokerProfile, action: MovePriceAction) -> str:
    """Jump the market of the master's symbol by ``points`` of it; the report's words for it."""
    spec = profile.symbols_by_name[action.symbol]
    point = 10.0 ** -spec.digits
    try:
        quote = market.jump(spec.instrument, action.points * point)
    except ValueError as exc:
        return f"price move of {action.symbol} refused: {exc}"
    return f"{action.symbol} moved {action.points:+d} points to {quote.mid:.{spec.digits}f}"


def _pending_price(info, tick, kind: str, offset_points: int) -> float:
    offset = offset_points * info.point
    price = {"buy_limit": tick.ask - offset, "sell_limit": tick.bid + offset,
             "buy_stop": tick.ask + offset, "sell_stop": tick.bid - offset}[kind]
    return round(price, info.digits)


def _filling(info) -> int:
    if info.filling_mode & 1:
        return 0
    if info.filling_mode & 2:
        return 1
    return 2
