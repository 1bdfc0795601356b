"""What MetaTrader 5's answers mean for the copier: trade retcodes and last_error() codes become a
Status and a message a trader can act on.

Every refusal is journaled with this message, so it names the broker, keeps the broker's own
comment and code, and says what to do where there is something to do.
"""

from __future__ import annotations

from copier_gui.core.model import Reason, Status

# Trade server retcodes (TRADE_RETCODE_* in the package; the values never changed between releases).
REQUOTE = 10004
PLACED = 10008
DONE = 10009
DONE_PARTIAL = 10010
INVALID_REQUEST = 10013
INVALID_VOLUME = 10014
INVALID_STOPS = 10016
MARKET_CLOSED = 10018
PRICE_CHANGED = 10020
PRICE_OFF = 10021
TOO_MANY_REQUESTS = 10024
NO_CHANGES = 10025
SERVER_DISABLES_AT = 10026
CLIENT_DISABLES_AT = 10027
INVALID_FILL = 10030
CONNECTION = 10031

# last_error() codes (RES_* in the package).
RES_INVALID_PARAMS = -2
RES_AUTH_FAILED = -6
RES_UNSUPPORTED = -7
RES_AUTO_TRADING_DISABLED = -8
RES_INTERNAL_FAIL_INIT = -10003
RES_NO_CONNECTION = -10004
RES_TIMEOUT = -10005
# Codes after which an order_send may or may not have reached the broker.
_OUTCOME_UNKNOWN = (-10000, -10002, RES_TIMEOUT)

# Names used when a result carries no broker comment.
_NAMES = {
    10004: "Requote", 10006: "Request rejected", 10007: "Request canceled", 10008: "Order placed",
    10009: "Request executed", 10010: "Request executed partially", 10011: "Request processing error",
    10012: "Request canceled by timeout", 10013: "Invalid request", 10014: "Invalid volume",
    10015: "Invalid price", 10016: "Invalid stops", 10017: "Trade disabled", 10018: "Market closed",
    10019: "No money", 10020: "Prices changed", 10021: "No prices", 10022: "Invalid expiration",
    10023: "Order state changed", 10024: "Too many requests", 10025: "No changes",
    10026: "AutoTrading disabled by server", 10027: "AutoTrading disabled by client",
    10028: "Request locked", 10029: "Order or position frozen", 10030: "Unsupported filling mode",
    10031: "No connection", 10032: "Only real accounts", 10033: "Pending orders limit reached",
    10034: "Volume limit reached", 10035: "Invalid order type", 10036: "Position already closed",
    10038: "Invalid close volume", 10039: "Close order already exists",
    10040: "Positions limit reached", 10041: "Pending order activation rejected",
    10042: "Only long positions are allowed", 10043: "Only short positions are allowed",
    10044: "Only position closing is allowed", 10045: "FIFO rule violation",
    10046: "Hedging prohibited",
}

# What each refusal means for the trader, in the trader's words.
_EXPLANATIONS = {
    10004: "the price moved and the broker offers a new one",
    10006: "the broker refused the request",
    10007: "the request was canceled",
    10011: "the broker could not process the request",
    10012: "the request timed out at the broker",
    10013: "the broker found the request invalid",
    10014: "the volume is not allowed for this symbol (minimum, maximum or lot step)",
    10015: "the price is not valid for this order",
    10016: "the stop loss or take profit is too close to the price or on the wrong side of it",
    10017: "trading is disabled for this symbol",
    10018: "the market for this symbol is closed",
    10019: "not enough free margin",
    10020: "the price changed",
    10021: "the broker has no quote to execute at",
    10022: "the expiration time is not allowed",
    10023: "the order changed at the broker meanwhile",
    10024: "too many requests: the broker is throttling this account",
    10025: "nothing to change: the levels are already set",
    10026: "the broker has disabled automated trading for this account",
    10028: "the broker is still processing an earlier request",
    10029: "the order or position is within the freeze level of the price and cannot be changed",
    10030: "the broker does not support this filling mode for the symbol",
    10031: "the terminal has no connection to the trade server",
    10032: "this operation is allowed on real accounts only",
    10033: "the limit on pending orders is reached",
    10034: "the volume limit for this symbol is reached",
    10035: "this order type is not allowed for the symbol",
    10036: "the position is already closed",
    10038: "the volume to close is larger than the position",
    10039: "a close order for this position already exists",
    10040: "the limit on open positions is reached",
    10041: "the pending order could not be activated and was canceled",
    10042: "only long positions are allowed on this symbol",
    10043: "only short positions are allowed on this symbol",
    10044: "the symbol is close-only",
    10045: "the account must close positions in FIFO order",
    10046: "the account may not hold opposite positions",
}


# What each code means in the port's platform-neutral words (Reason); a success has none.
_REASONS = {
    10004: Reason.REQUOTE, 10006: Reason.REFUSED, 10007: Reason.REFUSED, 10011: Reason.BUSY,
    10012: Reason.BUSY, 10013: Reason.INVALID_REQUEST, 10014: Reason.INVALID_VOLUME,
    10015: Reason.INVALID_PRICE, 10016: Reason.INVALID_STOPS, 10017: Reason.TRADE_RESTRICTED,
    10018: Reason.MARKET_CLOSED, 10019: Reason.NO_MONEY, 10020: Reason.PRICE_CHANGED, 10021: Reason.NO_QUOTE,
    10022: Reason.INVALID_EXPIRATION, 10023: Reason.NOT_FOUND, 10024: Reason.THROTTLED,
    10025: Reason.NO_CHANGES, 10026: Reason.TRADING_DISABLED, 10027: Reason.TRADING_DISABLED,
    10028: Reason.BUSY, 10029: Reason.BUSY, 10030: Reason.UNSUPPORTED, 10031: Reason.NO_CONNECTION,
    10032: Reason.ACCOUNT_RULE, 10033: Reason.LIMIT_REACHED, 10034: Reason.LIMIT_REACHED,
    10035: Reason.UNSUPPORTED, 10036: Reason.NOT_FOUND, 10038: Reason.INVALID_VOLUME,
    10039: Reason.BUSY, 10040: Reason.LIMIT_REACHED, 10041: Reason.REFUSED,
    10042: Reason.TRADE_RESTRICTED, 10043: Reason.TRADE_RESTRICTED, 10044: Reason.TRADE_RESTRICTED,
    10045: Reason.ACCOUNT_RULE, 10046: Reason.ACCOUNT_RULE,
}


def reason_for(retcode: int) -> Reason | None:
    """The platform-neutral reason of an order_send result; None for a success."""
    if retcode in (PLACED, DONE, DONE_PARTIAL):
        return None
    return _REASONS.get(retcode, Reason.REFUSED)


def status_for(retcode: int, *, deal: bool) -> Status:
    """The Status of an order_send result; ``deal`` is True for market orders and closes."""
    if retcode == DONE:
        return Status.FILLED if deal else Status.PLACED
    if retcode == PLACED:
        return Status.PLACED
    if retcode == DONE_PARTIAL:
        return Status.PARTIAL
    if retcode in (REQUOTE, PRICE_CHANGED, PRICE_OFF):
        return Status.REQUOTED
    if retcode in (SERVER_DISABLES_AT, CLIENT_DISABLES_AT):
        return Status.DISABLED
    if retcode == TOO_MANY_REQUESTS:
        return Status.THROTTLED
    if retcode == NO_CHANGES and not deal:
        # A modification the broker already holds: what was asked is in place.
        return Status.PLACED
    if retcode == CONNECTION:
        # The terminal answered, but its trade server did not: nothing was executed, and the same
        # request may succeed once the terminal reconnects, which is what UNREACHABLE tells the core.
        return Status.UNREACHABLE
    return Status.REJECTED


def retcode_name(retcode: int) -> str:
    return _NAMES.get(retcode, "Unknown return code")


def algo_trading_off_message(terminal: str) -> str:
    return (f"AutoTrading is disabled in the MetaTrader 5 terminal {terminal}: "
            "press the 'Algo Trading' button in its toolbar")


def python_api_disabled_message(terminal: str) -> str:
    return (f"the terminal {terminal} does not allow trading from Python: in Tools > Options > "
            "Expert Advisors, untick 'Disable automatic trading via external Python API'")


def result_message(status: Status, retcode: int, comment: str, *, company: str, terminal: str) -> str:
    """The head of a report's message: who answered what, with the broker's own words."""
    said = f"({retcode} {comment or retcode_name(retcode)})"
    if retcode == CLIENT_DISABLES_AT:
        return algo_trading_off_message(terminal)
    if retcode == NO_CHANGES and status is Status.PLACED:
        return f"nothing to change at {company} {said}: the levels are already set"
    if status is Status.FILLED:
        return f"filled by {company} {said}"
    if status is Status.PARTIAL:
        return f"partly filled by {company} {said}"
    if status is Status.PLACED:
        return f"accepted by {company} {said}"
    if status is Status.UNREACHABLE:
        return (f"not executed: the terminal {terminal} has no connection to the trade server of "
                f"{company} {said}; check its network connection and login")
    verb = "requoted" if status is Status.REQUOTED else "rejected"
    explanation = _EXPLANATIONS.get(retcode)
    return f"{verb} by {company} {said}" + (f": {explanation}" if explanation else "")


def call_failure_reason(code: int) -> Reason:
    """The reason that goes with ``call_failure``'s status."""
    if code == RES_AUTO_TRADING_DISABLED:
        return Reason.TRADING_DISABLED
    if code == RES_INVALID_PARAMS:
        return Reason.INVALID_REQUEST
    return Reason.NO_CONNECTION


def call_failure(code: int, text: str, *, terminal: str) -> tuple[Status, str]:
    """Status and message when order_send returned None, from last_error()."""
    if code == RES_AUTO_TRADING_DISABLED:
        # The terminal answered and refuses on purpose: retrying cannot help until the trader
        # changes the setting, so this is a refusal, not an unreachable terminal.
        return Status.DISABLED, python_api_disabled_message(terminal)
    if code == RES_INVALID_PARAMS:
        return Status.REJECTED, (f"the MetaTrader5 module refused the request before sending it "
                                 f"({code} {text}); this is a copier bug, please report it")
    if code == RES_NO_CONNECTION:
        return Status.UNREACHABLE, (f"not sent: no connection to the MetaTrader 5 terminal {terminal} "
                                    f"({code} {text}); start the terminal and reconnect")
    if code in _OUTCOME_UNKNOWN:
        return Status.UNREACHABLE, (f"the MetaTrader 5 terminal {terminal} did not answer ({code} {text}): "
                                    "the request may or may not have reached the broker; the next "
                                    "snapshot shows whether it did")
    return Status.UNREACHABLE, f"the MetaTrader 5 terminal {terminal} failed the request ({code} {text})"


def read_failure(code: int, text: str, *, what: str, terminal: str) -> str:
    """Message for a ConnectorError when a read (positions, symbols, account) returned None."""
    message = f"could not read {what} from the MetaTrader 5 terminal {terminal} ({code} {text})"
    if code == RES_NO_CONNECTION:
        return message + ": it is not connected; start the terminal and connect again"
    if code == RES_TIMEOUT:
        return message + ": it did not answer in time; check that it is running and not frozen"
    return message


def connect_failure(code: int, text: str, *, path: str | None, login: int | None,
                    server: str | None) -> str:
    """Message for a ConnectorError when initialize() returned False."""
    where = path or "the default location"
    account = str(login) if login is not None else "saved in the terminal"
    on = server or "its saved server"
    if code == RES_INTERNAL_FAIL_INIT:
        if "x64 not found" in text:
            return (f"MetaTrader 5 terminal not found at {where}: install MetaTrader 5 (64-bit) "
                    "or choose its terminal64.exe")
        detail = text.split(", ", 1)[1] if ", " in text else text
        return (f"could not start or reach the MetaTrader 5 terminal at {where} ({code} {detail}): "
                "choose the terminal64.exe of your MetaTrader 5 installation and check that it starts")
    if code == RES_AUTH_FAILED:
        return f"login failed for account {account} on {on}: check the password and server"
    if code == RES_UNSUPPORTED:
        return (f"account {account} on {on} needs a one-time password or a certificate, which the "
                f"MetaTrader 5 Python API cannot supply ({code} {text})")
    if code == RES_TIMEOUT:
        return (f"the MetaTrader 5 terminal at {where} did not answer in time ({code} {text}): "
                "check that it is running and not busy, then connect again")
    if code == RES_NO_CONNECTION:
        return (f"not connected to the MetaTrader 5 terminal at {where} ({code} {text}): "
                "start the terminal and connect again")
    if code == RES_INVALID_PARAMS:
        return (f"the connection settings were refused ({code} {text}): check the login, server "
                "and terminal path")
    return f"could not connect to the MetaTrader 5 terminal at {where} ({code} {text})"
