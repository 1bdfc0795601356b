"""Result mapping: every way order_send can answer becomes a Status and a message a trader can act on.

Broker answers are forced with the simulator's test levers; the connector under test only ever
sees the MetaTrader5 API.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from copier_gui.clock import VirtualClock
from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector
from copier_gui.core.model import (
    CancelPending,
    ClosePosition,
    ModifyStops,
    OpenPosition,
    PendingKind,
    PlacePending,
    Reason,
    Side,
    Status,
)
from copier_gui.sim import new_terminal
from tests.unit.connectors.mt5.brokers import POINT

pytestmark = pytest.mark.asyncio

MERIDIAN = "Meridian Markets Ltd"
TERMINAL = "'Meridian Markets Ltd MetaTrader 5' (account {login})"


def buy(symbol: str = "EURUSD", volume: float = 0.01) -> OpenPosition:
    return OpenPosition(symbol, Side.BUY, volume, 0.0, 0.0, 1, "")


@pytest.mark.parametrize(("retcode", "status", "message"), [
    (10004, Status.REQUOTED, "requoted by {company} (10004 Requote): the price moved and the broker offers a new one; "
                             "the broker now quotes bid {bid} / ask {ask}"),
    (10020, Status.REQUOTED, "requoted by {company} (10020 "),
    (10021, Status.REQUOTED, "requoted by {company} (10021 No prices): the broker has no quote to execute at"),
    (10008, Status.PLACED, "accepted by {company} (10008 "),
    (10006, Status.REJECTED, "rejected by {company} (10006 Request rejected): the broker refused the request"),
    (10014, Status.REJECTED, "rejected by {company} (10014 Invalid volume): the volume is not allowed"),
    (10016, Status.REJECTED, "rejected by {company} (10016 Invalid stops): the stop loss or take profit is too close"),
    (10018, Status.REJECTED, "rejected by {company} (10018 Market closed): the market for this symbol is closed"),
    (10019, Status.REJECTED, "rejected by {company} (10019 No money): not enough free margin"),
    (10024, Status.THROTTLED, "rejected by {company} (10024 Too many requests): too many requests"),
    (10026, Status.DISABLED, "rejected by {company} (10026 AutoTrading disabled by server): the broker has disabled"),
    (10029, Status.REJECTED, "rejected by {company} (10029 Order or position frozen): the order or position is within"),
    (10030, Status.REJECTED, "rejected by {company} (10030 Unsupported filling mode): the broker does not support this filling"),
    (10045, Status.REJECTED, "rejected by {company} (10045 FIFO rule violation): the account must close positions in FIFO"),
    (10099, Status.REJECTED, "rejected by {company} (10099 Request rejected)"),
    (10031, Status.UNREACHABLE, "not executed: the terminal {terminal} has no connection to the trade server of "
                                "{company} (10031 No connection)"),
    (10027, Status.DISABLED, "AutoTrading is disabled in the MetaTrader 5 terminal {terminal}: press the "
                             "'Algo Trading' button in its toolbar"),
])
async def test_forced_retcodes(connected, retcode, status, message):
    connector, terminal = await connected("meridian_ecn")
    login = terminal.account_info().login
    tick = terminal.symbol_info_tick("EURUSD")
    terminal.sim.force_retcodes(retcode)
    report = await connector.open(buy())
    assert report.status is status
    assert report.retcode == retcode
    expected = message.format(company=MERIDIAN, terminal=TERMINAL.format(login=login),
                              bid=f"{tick.bid:.10g}", ask=f"{tick.ask:.10g}")
    assert report.message.startswith(expected), report.message
    assert report.extra["sent"] is True
    assert report.extra["broker_comment"]
    assert report.deal == 0
    assert terminal.positions_get() == ()


@pytest.mark.parametrize(("retcode", "reason"), [
    (10004, Reason.REQUOTE), (10020, Reason.PRICE_CHANGED), (10021, Reason.NO_QUOTE),
    (10006, Reason.REFUSED), (10014, Reason.INVALID_VOLUME), (10016, Reason.INVALID_STOPS),
    (10018, Reason.MARKET_CLOSED), (10019, Reason.NO_MONEY), (10024, Reason.THROTTLED),
    (10026, Reason.TRADING_DISABLED), (10027, Reason.TRADING_DISABLED), (10029, Reason.BUSY),
    (10030, Reason.UNSUPPORTED), (10031, Reason.NO_CONNECTION), (10045, Reason.ACCOUNT_RULE),
    (10099, Reason.REFUSED), (10008, None),
])
async def test_each_retcode_comes_with_its_platform_neutral_reason(connected, retcode, reason):
    connector, terminal = await connected("meridian_ecn")
    terminal.sim.force_retcodes(retcode)
    report = await connector.open(buy())
    # The core reads the reason; the broker's own code stays beside it for the journal.
    assert (report.reason, report.retcode, report.sent) == (reason, retcode, True)


async def test_a_change_already_in_place_is_done_with_no_changes_as_its_reason(connected):
    connector, terminal = await connected("meridian_ecn")
    opened = await connector.open(buy())
    terminal.sim.force_retcodes(10025)
    report = await connector.modify(ModifyStops(opened.order, "EURUSD", 0.0, 0.0))
    assert (report.status, report.reason) == (Status.PLACED, Reason.NO_CHANGES)


async def test_a_request_refused_before_sending_says_it_was_not_sent(connected):
    connector, _ = await connected("meridian_ecn")
    report = await connector.open(buy(volume=0.015))  # off the 0.01 lot step
    assert (report.status, report.reason, report.sent) == (Status.REJECTED, Reason.INVALID_VOLUME, False)


async def test_requote_carries_the_new_prices(connected):
    connector, terminal = await connected("harbor_fx")
    tick = terminal.symbol_info_tick("EURUSD.m")
    terminal.sim.force_retcodes(10004)
    report = await connector.open(buy("EURUSD.m"))
    assert (report.status, report.bid, report.ask, report.volume) == (Status.REQUOTED, tick.bid, tick.ask, 0.0)


@pytest.mark.parametrize(("profile", "symbol", "fate"), [
    ("summit_netting", "EURUSD-ECN", "were cancelled"),
    ("apex_prop", "EURUSD.raw", "stay working at the broker"),
])
async def test_partial_fill(connected, profile, symbol, fate):
    connector, terminal = await connected(profile)
    terminal.sim.force_retcodes(10010)
    report = await connector.open(buy(symbol, 1.0))
    assert report.status is Status.PARTIAL, report.message
    assert report.retcode == 10010
    assert 0 < report.volume < 1.0
    assert report.extra["requested_volume"] == 1.0
    assert fate in report.message
    # Whether the broker keeps the rest working is a typed fact, not the filling mode's name.
    assert report.rest_working is (fate == "stay working at the broker")
    assert f"{report.volume:.10g} of 1 lots of {symbol}" in report.message
    snapshot = await connector.snapshot()
    assert [p.volume for p in snapshot.positions] == [report.volume]
    # The working rest of a RETURN order is a market order, not a pending order of the model.
    assert snapshot.orders == ()


async def test_forced_rejection_of_a_pending_order_and_placed_for_modify_and_cancel(connected):
    connector, terminal = await connected("meridian_ecn")
    ask = terminal.symbol_info_tick("EURUSD").ask
    request = PlacePending("EURUSD", PendingKind.BUY_LIMIT, 0.01, round(ask - 0.002, 5), 0.0, 0.0, 0.0, 0, 1, "")
    terminal.sim.force_retcodes(10019)
    refused = await connector.place_pending(request)
    assert (refused.status, refused.retcode) == (Status.REJECTED, 10019)
    placed = await connector.place_pending(request)
    assert (placed.status, placed.retcode) == (Status.PLACED, 10009)
    cancelled = await connector.cancel(CancelPending(placed.order, "EURUSD"))
    assert (cancelled.status, cancelled.retcode, cancelled.order) == (Status.PLACED, 10009, placed.order)


async def test_not_enough_money_from_the_broker_itself(connected):
    connector, _ = await connected("summit_netting")
    report = await connector.open(buy("EURUSD-ECN", 100.0))
    assert report.status is Status.REJECTED
    assert report.message == "rejected by Summit Securities K.K. (10019 No money): not enough free margin"


async def test_market_closed_at_the_weekend():
    # A terminal built on a Saturday: advancing a weekday clock by days would simulate every tick.
    clock = VirtualClock(datetime(2026, 11, 28, 12, 0, tzinfo=UTC).timestamp())
    terminal = new_terminal("meridian_ecn", seed=7, clock=clock)
    connector = MT5Connector("acct", terminal, invoker=InlineInvoker(), clock=clock)
    await connector.connect()
    report = await connector.open(buy("XAUUSD"))
    assert (report.status, report.retcode) == (Status.REJECTED, 10018)
    assert "the market for this symbol is closed" in report.message
    crypto = await connector.open(buy("BTCUSD"))  # crypto trades at the weekend
    assert crypto.status is Status.FILLED, crypto.message


async def test_closing_a_closed_position(connected):
    connector, _ = await connected("meridian_ecn")
    opened = await connector.open(buy())
    request = ClosePosition(opened.order, "EURUSD", Side.BUY, 0.01, 1, "")
    assert (await connector.close(request)).status is Status.FILLED
    again = await connector.close(request)
    assert (again.status, again.retcode) == (Status.REJECTED, 10036)
    assert "the position is already closed" in again.message


async def test_modify_without_changes(connected):
    connector, terminal = await connected("meridian_ecn")
    opened = await connector.open(buy())
    bid = terminal.symbol_info_tick("EURUSD").bid
    request = ModifyStops(opened.order, "EURUSD", round(bid - 100 * POINT, 5), 0.0)
    assert (await connector.modify(request)).status is Status.PLACED
    again = await connector.modify(request)
    assert (again.status, again.retcode) == (Status.PLACED, 10025)
    assert "nothing to change" in again.message


async def test_algo_trading_button_off(connected):
    connector, terminal = await connected("summit_netting")
    login = terminal.account_info().login
    terminal.sim.set_algo_trading(False)
    report = await connector.open(buy("EURUSD-ECN"))
    assert (report.status, report.retcode) == (Status.DISABLED, 10027)
    assert report.message == (
        f"AutoTrading is disabled in the MetaTrader 5 terminal 'Summit Securities K.K. MetaTrader 5' "
        f"(account {login}): press the 'Algo Trading' button in its toolbar")


async def test_python_api_disabled(connected):
    connector, terminal = await connected("meridian_ecn")
    login = terminal.account_info().login
    terminal.sim.set_tradeapi_disabled(True)
    report = await connector.open(buy())
    assert (report.status, report.retcode) == (Status.DISABLED, -8)
    assert report.message == (
        f"the terminal {TERMINAL.format(login=login)} does not allow trading from Python: in Tools > "
        "Options > Expert Advisors, untick 'Disable automatic trading via external Python API'")
    assert report.extra["sent"] is True


@pytest.mark.parametrize("warm", [False, True])
async def test_disconnected_terminal(connected, warm):
    connector, terminal = await connected("meridian_ecn")
    if warm:  # the symbol's properties are cached: the quote read is what fails
        await connector.symbols()
    terminal.sim.disconnect(5.0)
    report = await connector.open(buy())
    assert (report.status, report.retcode) == (Status.UNREACHABLE, -10004)
    assert report.extra == {"sent": False}
    assert "No IPC connection" in report.message
    assert report.message.startswith("not sent: could not read")


class FailingSend:
    """A terminal whose order_send fails locally: None with ``error``, or an exception."""

    def __init__(self, terminal, error=None, exception=None) -> None:
        self._terminal = terminal
        self._error = error
        self._exception = exception

    def order_send(self, request):
        if self._exception is not None:
            raise self._exception
        return None

    def last_error(self):
        return self._error or self._terminal.last_error()

    def __getattr__(self, name):
        return getattr(self._terminal, name)


@pytest.mark.parametrize(("error", "exception", "status", "code", "fragment"), [
    ((-10005, "IPC timeout"), None, Status.UNREACHABLE, -10005, "may or may not have reached the broker"),
    ((-10004, "No IPC connection"), None, Status.UNREACHABLE, -10004, "not sent: no connection to the MetaTrader 5"),
    ((-2, 'Invalid "comment" argument'), None, Status.REJECTED, -2, "refused the request before sending it"),
    ((-1, "Terminal: Call failed"), None, Status.UNREACHABLE, -1, "failed the request (-1 Terminal: Call failed)"),
    (None, EOFError("connection closed by peer"), Status.UNREACHABLE, -10000, "may or may not have reached"),
])
async def test_order_send_failures(make_terminal, weekday_clock, error, exception, status, code, fragment):
    terminal = make_terminal("meridian_ecn")
    connector = MT5Connector("acct", FailingSend(terminal, error, exception), invoker=InlineInvoker(),
                             clock=weekday_clock)
    await connector.connect()
    report = await connector.open(buy())
    assert (report.status, report.retcode) == (status, code)
    assert fragment in report.message
    assert report.extra["request"]["symbol"] == "EURUSD"


async def test_no_quote_is_not_sent_and_reported_like_the_brokers_own_no_prices(make_terminal, weekday_clock):
    terminal = make_terminal("meridian_ecn")

    class NoQuote:
        def symbol_info_tick(self, name):
            return None

        def __getattr__(self, name):
            return getattr(terminal, name)

    blind = MT5Connector("blind", NoQuote(), invoker=InlineInvoker(), clock=weekday_clock)
    await blind.connect()
    report = await blind.open(buy())
    assert (report.status, report.retcode, report.extra) == (Status.REQUOTED, 10021, {"sent": False})
    assert report.message == "not sent to Meridian Markets Ltd: there is no quote for EURUSD to price the order with"
    assert terminal.positions_get() == ()
