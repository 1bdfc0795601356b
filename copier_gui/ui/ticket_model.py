"""The trade ticket's rules, Qt-free: which master may be traded by hand, what a typed volume or stop
means, the request a click sends through the master's connector, and the words for the answer.

A manual trade carries no magic number and no comment, as one placed in the terminal does, so the
copier takes it for the master's own trade and copies it like any other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from copier_gui.core.model import (
    ClosePosition,
    ExecutionReport,
    ModifyStops,
    OpenPosition,
    Position,
    Side,
    Status,
    SymbolSpec,
)
from copier_gui.core.ports import ConnectorError

if TYPE_CHECKING:
    from copier_gui.ui.session import Session

REAL_MASTER = "the master is a real account: trade it in its own terminal"
NO_SESSION = "no accounts are running: open the demo or link a master account first"
NO_MASTER = "no master account is linked: link one first"

# What a manual order looks like at the terminal: no expert's magic, no comment.
MANUAL_MAGIC = 0
MANUAL_COMMENT = ""
# Points a market order may slip at an instant-execution broker before it is requoted.
DEVIATION_POINTS = 20


def why_no_ticket(session: Session | None) -> str:
    """Why the session's master cannot be traded from the ticket; "" when it can.

    Only a simulated (demo-broker) master: on a real account an order from here would be real
    money placed from a copier's window, where the trader expects to trade in the terminal.
    """
    if session is None:
        return NO_SESSION
    master = session.runtime.settings.master
    if master is None:
        return NO_MASTER
    if master.platform != "demo":
        return REAL_MASTER
    if master.id not in session.runtime.connections:
        return f"the master {master.id} has no terminal open yet"
    return ""


def ticket_available(session: Session | None) -> bool:
    return why_no_ticket(session) == ""


class TicketError(ValueError):
    """A value typed in the ticket that cannot be sent; ``field`` names the box it came from."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def _number(value: float | Decimal) -> str:
    """A lot or price as typed: 0.01, 500, 1.0812 (no float noise, no trailing zeros)."""
    text = f"{Decimal(str(value)).normalize():f}"
    return "0" if text in ("-0", "") else text


def _decimal(text: str, field: str, what: str) -> Decimal:
    cleaned = text.strip().replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise TicketError(field, f"{text.strip()!r} is not {what}") from None
    if not value.is_finite():
        raise TicketError(field, f"{text.strip()!r} is not {what}")
    return value


def _check_lots(value: Decimal, spec: SymbolSpec, field: str) -> float:
    limits = (f"(minimum {_number(spec.volume_min)}, maximum {_number(spec.volume_max)})"
              if spec.volume_max else f"(minimum {_number(spec.volume_min)})")
    lots = _number(value)
    if value <= 0 or value < Decimal(str(spec.volume_min)):
        raise TicketError(field, f"{lots} lots is below {spec.name}'s minimum of {_number(spec.volume_min)}")
    if spec.volume_max and value > Decimal(str(spec.volume_max)):
        raise TicketError(field, f"{lots} lots is above {spec.name}'s maximum of {_number(spec.volume_max)}")
    step = Decimal(str(spec.volume_step))
    if step > 0 and value % step != 0:
        raise TicketError(field, f"{lots} lots is not a multiple of {spec.name}'s lot step "
                                 f"{_number(step)} {limits}")
    return float(value)


def parse_volume(text: str, spec: SymbolSpec, *, field: str = "Volume") -> float:
    """The lots typed in ``text``, on the symbol's lot grid; TicketError naming the field if not."""
    if not text.strip():
        raise TicketError(field, f"enter the lots to trade, such as {_number(spec.volume_min)}")
    return _check_lots(_decimal(text, field, "a number of lots"), spec, field)


def parse_close_volume(text: str, spec: SymbolSpec, held: float, *, field: str = "Close volume") -> float:
    """The lots to close of a position of ``held`` lots: empty is all of it; a part must leave a
    rest the broker can still hold (at least the symbol's minimum)."""
    if not text.strip():
        return held
    lots = _check_lots(_decimal(text, field, "a number of lots"), spec, field)
    rest = Decimal(str(held)) - Decimal(str(lots))
    if rest < 0:
        raise TicketError(field, f"{_number(lots)} lots is more than the position's {_number(held)}")
    if 0 < rest < Decimal(str(spec.volume_min)):
        raise TicketError(field, f"closing {_number(lots)} of {_number(held)} lots leaves {_number(rest)}, under "
                                 f"{spec.name}'s minimum of {_number(spec.volume_min)}: close all or less")
    return lots


def parse_stop(text: str, field: str) -> float:
    """An optional stop price: empty is none (0.0)."""
    if not text.strip():
        return 0.0
    value = _decimal(text, field, "a price")
    if value < 0:
        raise TicketError(field, f"{_number(value)} is not a price: leave it empty for none")
    return float(value)


def check_stops(side: Side, sl: float, tp: float, spec: SymbolSpec) -> None:
    """Stops on the side of the price they protect, measured where they trigger: a buy's at the
    bid, a sell's at the ask. The connector would otherwise move a stop on the wrong side to the
    nearest allowed level, which is not what the trader typed."""
    buy = side is Side.BUY
    reference = spec.bid if buy else spec.ask
    if reference <= 0:
        return  # no quote: the broker judges
    name, price = ("bid", reference) if buy else ("ask", reference)
    shown = f"{price:.{spec.digits}f}"
    kind = "buy" if buy else "sell"
    if sl and (sl >= reference if buy else sl <= reference):
        where = "below" if buy else "above"
        raise TicketError("Stop loss", f"{_number(sl)} is on the wrong side: a {kind}'s stop loss goes "
                                       f"{where} the {name} ({shown})")
    if tp and (tp <= reference if buy else tp >= reference):
        where = "above" if buy else "below"
        raise TicketError("Take profit", f"{_number(tp)} is on the wrong side: a {kind}'s take profit goes "
                                         f"{where} the {name} ({shown})")


@dataclass(frozen=True, slots=True)
class Answer:
    """What became of one click: sent or not, the broker's answer or the field at fault, in words."""

    ok: bool
    text: str
    sent: bool = False
    field: str = ""  # the box whose value stopped the request before it was sent
    ticket: int = 0
    price: float = 0.0
    status: Status | None = None


def _refused(error: TicketError) -> Answer:
    return Answer(False, str(error), field=error.field)


def _answer(title: str, report: ExecutionReport, *, ticket: int, digits: int, success: str = "") -> Answer:
    sent = report.sent
    if not report.status.ok:
        return Answer(False, f"{title} refused: {report.message}", sent=sent, ticket=ticket, status=report.status)
    head = success or f"ticket {ticket} at {report.price:.{digits}f}"
    return Answer(True, f"{title}: {head}. {report.message[:1].upper()}{report.message[1:]}", sent=True,
                  ticket=ticket, price=report.price, status=report.status)


@dataclass(frozen=True, slots=True)
class PositionRow:
    """One open master position as the ticket lists it, with its symbol's digits."""

    position: Position
    digits: int

    @property
    def id(self) -> int:
        return self.position.ticket

    @property
    def symbol(self) -> str:
        return self.position.symbol


def position_rows(positions: Iterable[Position], specs: Mapping[str, SymbolSpec]) -> list[PositionRow]:
    """Oldest first, as the terminal's Trade tab lists them."""
    out = []
    for position in sorted(positions, key=lambda p: (p.time_msc, p.ticket)):
        spec = specs.get(position.symbol)
        out.append(PositionRow(position, spec.digits if spec is not None else 5))
    return out


class MasterDesk:
    """The master's connector as its owner's hand uses it: market orders, stop changes and closes,
    each checked first and answered in words. Every call is a connector coroutine, so the loop is
    never blocked; the connector serialises them with the copier's own reads."""

    def __init__(self, connector: Any) -> None:
        self.connector = connector

    async def spec(self, symbol: str) -> SymbolSpec:
        """The symbol with a fresh quote; TicketError naming the Symbol field if the account has none."""
        try:
            spec = await self.connector.symbol(symbol)
        except ConnectorError as exc:
            raise TicketError("Symbol", f"could not read {symbol} from the master: {exc.message}") from None
        if spec is None:
            raise TicketError("Symbol", f"the master has no symbol {symbol!r}")
        return spec

    async def positions(self) -> tuple[Position, ...]:
        return (await self.connector.snapshot()).positions

    async def open(self, symbol: str, side: Side, volume: str, sl: str, tp: str) -> Answer:
        """Buy or sell at market, with optional stops."""
        try:
            spec = await self.spec(symbol)
            lots = parse_volume(volume, spec)
            stop, take = parse_stop(sl, "Stop loss"), parse_stop(tp, "Take profit")
            check_stops(side, stop, take, spec)
        except TicketError as error:
            return _refused(error)
        title = f"{'Buy' if side is Side.BUY else 'Sell'} {_number(lots)} {spec.name}"
        report = await self._send("open", OpenPosition(
            symbol=spec.name, side=side, volume=lots, sl=stop, tp=take, magic=MANUAL_MAGIC,
            comment=MANUAL_COMMENT, max_deviation_points=DEVIATION_POINTS))
        # A hedging account's new position has its opening order's ticket; a netting one keeps
        # its first order's, which the positions list shows.
        return _answer(title, report, ticket=report.order, digits=spec.digits)

    async def modify(self, position: Position, sl: str, tp: str) -> Answer:
        """Set (or with an empty box, remove) a position's stop loss and take profit."""
        try:
            spec = await self.spec(position.symbol)
            stop, take = parse_stop(sl, "Stop loss"), parse_stop(tp, "Take profit")
            check_stops(position.side, stop, take, spec)
        except TicketError as error:
            return _refused(error)
        digits = spec.digits
        shown = (f"SL {stop:.{digits}f}" if stop else "no SL") + ", " + (f"TP {take:.{digits}f}" if take else "no TP")
        report = await self._send("modify", ModifyStops(ticket=position.ticket, symbol=position.symbol,
                                                        sl=stop, tp=take))
        return _answer(f"Stops of ticket {position.ticket}", report, ticket=position.ticket, digits=digits,
                       success=shown)

    async def close(self, position: Position, volume: str = "") -> Answer:
        """Close all of a position (an empty volume) or part of it, at market."""
        try:
            spec = await self.spec(position.symbol)
            lots = parse_close_volume(volume, spec, position.volume)
        except TicketError as error:
            return _refused(error)
        report = await self._send("close", ClosePosition(
            ticket=position.ticket, symbol=position.symbol, side=position.side, volume=lots,
            magic=MANUAL_MAGIC, comment=MANUAL_COMMENT, max_deviation_points=DEVIATION_POINTS))
        return _answer(f"Close {_number(lots)} of ticket {position.ticket}", report, ticket=position.ticket,
                       digits=spec.digits, success=f"at {report.price:.{spec.digits}f}")

    async def _send(self, method: str, request) -> ExecutionReport:
        try:
            return await getattr(self.connector, method)(request)
        except ConnectorError as exc:
            # A worker's terminal may be out of reach; the request may or may not have gone out.
            return ExecutionReport(Status.UNREACHABLE, exc.code or 0, exc.message, extra={"sent": False})


def volume_hint(spec: SymbolSpec) -> str:
    """The symbol's lot limits, for beside the Volume box."""
    return (f"lots: min {_number(spec.volume_min)}, step {_number(spec.volume_step)}, "
            f"max {_number(spec.volume_max)}" if spec.volume_max else
            f"lots: min {_number(spec.volume_min)}, step {_number(spec.volume_step)}")
