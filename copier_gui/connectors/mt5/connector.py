"""The MetaTrader 5 connector: one account's terminal behind the core's async connector port.

The core hands it requests and gets back snapshots and execution reports. Each public coroutine
runs one synchronous unit of work (reads, translation, order_send) through the account's invoker,
so a request costs one hop off the event loop and calls to one terminal never interleave.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from copier_gui.clock import Clock
from copier_gui.connectors.mt5 import retcodes
from copier_gui.connectors.mt5.capabilities import UNCONNECTED, account_capabilities
from copier_gui.connectors.mt5.invoker import Invoker
from copier_gui.connectors.mt5.translate import (
    CASH_DEAL_TYPES,
    DEAL_TYPE_BUY,
    DEAL_TYPE_SELL,
    ORDER_FILLING_RETURN,
    ORDER_TYPE_BUY,
    POSITION_TYPE_BUY,
    TRADE_ACTION_DEAL,
    Refusal,
    check_magic,
    check_worst_price,
    choose_filling,
    deal_request,
    fit_stops,
    modify_request,
    normalize_volume,
    pending_entry,
    pending_kind,
    pending_request,
    remove_request,
    round_price,
    sltp_request,
    to_account_state,
    to_pending_order,
    to_position,
    to_symbol_spec,
    trading_blockers,
    widen_to_spreads,
)
from copier_gui.core.model import (
    AccountState,
    CancelPending,
    CashFlow,
    ClosePosition,
    Deal,
    DealShare,
    ExecutionReport,
    Filling,
    ModifyPending,
    ModifyStops,
    OpenPosition,
    PlacePending,
    Position,
    Reason,
    Side,
    Snapshot,
    Status,
    SymbolSpec,
)
from copier_gui.core.ports import Capabilities, ConnectorError
from copier_gui.core.tags import MagicFilter, magic_predicate

log = logging.getLogger(__name__)

# last_error() codes that mean the terminal itself could not be reached.
_UNREACHABLE_CODES = frozenset({-10000, -10001, -10002, -10004, -10005})
_IPC_CALL_FAILED = -10000
# How far back balance operations are read: about a week, as cTrader's cash-flow history allows.
_CASH_LOOKBACK_S = 8 * 86_400
# Server offsets are whole half-hours; a record known to be younger than this pins the offset down.
_OFFSET_GRANULARITY_S = 1800.0
_FRESH_RECORD_S = 600.0
# How far this machine's clock may be off. A record under 10 minutes old read with a clock up to
# 4 minutes off is still under 15 minutes from its half-hour, so it rounds to the right offset.
_CLOCK_SKEW_S = 240.0



class _Unreachable(Exception):
    """A read on the way to an order_send failed because the terminal did not answer."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message



def _scrub(text: str, secret: str | None) -> str:
    # The Linux bridge builds its remote call as source text, so its exceptions can quote the
    # arguments, password included.
    return text.replace(secret, "***") if secret else text


class MT5Connector:
    """One MetaTrader 5 account, through any object with the ``MetaTrader5`` module's API.

    ``api`` is the real module, the Linux bridge client, or a simulated terminal; nothing here
    depends on which. The real module binds one terminal per process, so a process drives one
    account with it; bridges and simulated terminals may share a process, one invoker each.

    ``password_provider`` is asked at connect time; the password is never kept, logged or quoted.
    ``magic_filter`` (a magic number, several, or a predicate) limits snapshots to matching
    positions and orders; None keeps everything. The invoker belongs to the caller, who closes it.
    """

    def __init__(
        self,
        account_id: str,
        api,
        *,
        invoker: Invoker,
        clock: Clock,
        login: int | None = None,
        server: str | None = None,
        path: str | None = None,
        password_provider: Callable[[], str | None] | None = None,
        magic_filter: MagicFilter = None,
    ) -> None:
        self.account_id = account_id
        self._api = api
        self._invoker = invoker
        self._clock = clock
        self._login = int(login) if login is not None else None
        self._server = server
        self._path = path
        self._password_provider = password_provider
        self._keep_magic = magic_predicate(magic_filter)
        self._capabilities = UNCONNECTED
        self._deal_cache: dict[int, tuple[tuple, tuple[DealShare, ...]]] = {}
        self._company = "the broker"
        self._terminal = f"'{account_id}'"
        # Static symbol properties (digits, lot limits, filling modes) cached per connection so an
        # order costs a tick read and order_send, not a symbol_info round trip as well. Dropped on
        # connect, on symbols(), and for a symbol whose order the broker rejected.
        self._specs: dict[str, SymbolSpec] = {}
        self._server_offset: float | None = None
        # What the previous snapshot held, for telling a new record from an old one.
        self._seen_stamps: dict[tuple[str, int], int] = {}
        self._seen_at: float | None = None

    def __repr__(self) -> str:
        return f"MT5Connector({self.account_id!r}, login={self._login}, server={self._server!r})"

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    # ------------------------------------------------------------------ session
    async def connect(self) -> AccountState:
        return await self._invoker.call(self._connect)

    async def close_session(self) -> None:
        await self._invoker.call(self._shutdown)

    async def account(self) -> AccountState:
        return await self._invoker.call(self._account)

    def _connect(self) -> AccountState:
        where = self._path or "the default location"
        password = self._read_password()
        kwargs: dict = {}
        if self._path:
            kwargs["path"] = self._path
        if self._login is not None:
            kwargs["login"] = self._login
        if password:
            kwargs["password"] = password
        if self._server:
            kwargs["server"] = self._server
        log.info("%s: connecting to the MetaTrader 5 terminal at %s (login %s, server %s, %s)",
                 self.account_id, where, self._login if self._login is not None else "as saved",
                 self._server or "as saved", "password supplied" if password else "saved password")
        failure: ConnectorError | None = None
        try:
            if not self._api.initialize(**kwargs):
                code, text = self._last_error()
                message = retcodes.connect_failure(code, text, path=self._path, login=self._login,
                                                   server=self._server)
                failure = ConnectorError(_scrub(message, password), code=code)
        except (OSError, EOFError) as exc:
            message = f"could not reach the MetaTrader 5 terminal at {where} ({type(exc).__name__}: {exc})"
            failure = ConnectorError(_scrub(message, password), code=_IPC_CALL_FAILED)
        finally:
            # Drop the only references this object had; the password lives on only in the caller.
            kwargs.clear()
            password = None
        if failure is not None:
            # Raised outside the except block so the bridge's exception, which may quote the
            # password, is not chained to it.
            raise failure
        account = self._read(self._api.account_info, what="the account")
        terminal = self._read(self._api.terminal_info, what="the terminal state")
        if self._login is not None and int(account.login) != self._login:
            self._shutdown()
            raise ConnectorError(
                f"the MetaTrader 5 terminal at {where} is logged in to account {account.login}, not "
                f"{self._login}: log it in to {self._login} or correct the account settings")
        self._specs.clear()
        self._seen_at = None  # what changed while disconnected has no bounded age
        self._remember(account, terminal)
        blockers = trading_blockers(account, terminal)
        if blockers:
            log.warning("%s: connected to account %s, but copying to it cannot trade: %s",
                        self.account_id, account.login, "; ".join(blockers))
        log.info("%s: connected to account %s at %s (%s)", self.account_id, account.login,
                 account.company, account.server)
        return to_account_state(account, terminal)

    def _read_password(self) -> str | None:
        if self._password_provider is None:
            return None
        try:
            return self._password_provider()
        except Exception as exc:  # a keyring backend may raise anything; the session cannot start
            account = self._login if self._login is not None else self.account_id
            raise ConnectorError(f"could not get the password for account {account} "
                                 f"({type(exc).__name__}: {exc}): check the system keyring") from None

    def _shutdown(self) -> None:
        try:
            self._api.shutdown()
        except (OSError, EOFError) as exc:
            # Nothing to save: the session is gone either way.
            log.debug("%s: shutdown failed: %s", self.account_id, exc)

    def _account(self) -> AccountState:
        account = self._read(self._api.account_info, what="the account")
        terminal = self._read(self._api.terminal_info, what="the terminal state")
        self._remember(account, terminal)
        return to_account_state(account, terminal)

    def _remember(self, account, terminal) -> None:
        self._capabilities = account_capabilities(account)
        self._company = account.company or "the broker"
        self._terminal = f"'{terminal.name}' (account {account.login})"

    # ------------------------------------------------------------------ reads
    async def snapshot(self) -> Snapshot:
        return await self._invoker.call(self._snapshot)

    async def symbols(self) -> dict[str, SymbolSpec]:
        return await self._invoker.call(self._symbols)

    async def symbol(self, name: str) -> SymbolSpec | None:
        return await self._invoker.call(self._symbol, name)

    def _snapshot(self) -> Snapshot:
        positions = self._read(self._api.positions_get, what="open positions")
        # Stamped when the positions are in hand: that is when a change becomes known to us.
        taken_at = self._clock.monotonic()
        now = self._clock.time()
        orders = self._read(self._api.orders_get, what="working orders")
        keep = self._keep_magic
        if self._capabilities.hedging:
            converted = tuple(to_position(p) for p in positions if keep is None or keep(p.magic))
        else:
            converted = tuple(self._with_deals(to_position(p), int(p.time_update_msc)) for p in positions
                              if keep is None or keep(p.magic))
        # Market orders still in progress (the working rest of a partly filled RETURN order) have
        # no PendingKind; the position they add to shows up once they fill.
        pending = tuple(o for o in map(to_pending_order, orders)
                        if o is not None and (keep is None or keep(o.magic)))
        return Snapshot(taken_at=taken_at, positions=converted, orders=pending,
                        server_offset_s=self._estimate_offset(positions, orders, now))

    def _with_deals(self, position: Position, updated_msc: int) -> Position:
        """A netting position with the deals that built it, so each master position's share of it is
        read from the broker, not remembered: a crash between a fill and its bookkeeping loses nothing.

        The deals of a position change only when its volume, side or update time does, or when this
        connector trades (two deals in one millisecond can leave all three as they were), so they are
        read again only then.
        """
        key = (position.identifier, position.side, position.volume, updated_msc)
        cached = self._deal_cache.get(position.identifier)
        if cached is not None and cached[0] == key:
            return replace(position, deals=cached[1])
        deals = self._api.history_deals_get(position=position.identifier)
        if deals is None:
            code, text = self._last_error()
            raise ConnectorError(retcodes.read_failure(code, text, what=f"the deals of position {position.ticket}",
                                                       terminal=self._terminal), code=code)
        shares = tuple(DealShare(int(d.magic), d.comment, float(d.volume) if d.type == DEAL_TYPE_BUY
                                 else -float(d.volume))
                       for d in sorted(deals, key=lambda d: (d.time_msc, d.ticket))
                       if d.type in (DEAL_TYPE_BUY, DEAL_TYPE_SELL))
        self._deal_cache[position.identifier] = (key, shares)
        return replace(position, deals=shares)

    def _estimate_offset(self, positions, orders, now: float) -> float | None:
        """Trade server time minus UTC, in seconds (+7200 for a UTC+2 server).

        MT5 stamps trades in server time, and no API call tells the offset. A record's stamp alone
        cannot say it: a record an hour old looks like a fresh one from a server an hour to the
        west. So only records that are new since the previous snapshot count (a new position or
        order, or a position update), when that snapshot is under ten minutes old: such a record
        is younger than the gap, and the offset is its stamp minus now, rounded to the half-hour
        grid time zones sit on. Otherwise the last estimate stands (None before the first).
        """
        stamps = {("position", p.ticket): max(p.time_msc, p.time_update_msc) for p in positions}
        stamps.update({("order", o.ticket): o.time_setup_msc for o in orders})
        previous, previous_at = self._seen_stamps, self._seen_at
        self._seen_stamps, self._seen_at = stamps, now
        if previous_at is None or not 0 <= now - previous_at < _FRESH_RECORD_S:
            return self._server_offset
        new = [stamp for key, stamp in stamps.items() if stamp > previous.get(key, -1)]
        if new:
            lead = max(new) / 1000.0 - now
            offset = round(lead / _OFFSET_GRANULARITY_S) * _OFFSET_GRANULARITY_S
            age = offset - lead
            if -_CLOCK_SKEW_S <= age <= now - previous_at + _CLOCK_SKEW_S:
                self._server_offset = float(offset)
        return self._server_offset

    def _symbols(self) -> dict[str, SymbolSpec]:
        infos = self._read(self._api.symbols_get, what="the symbol list")
        specs = {info.name: to_symbol_spec(info) for info in infos}
        self._specs = dict(specs)
        return specs

    def _symbol(self, name: str) -> SymbolSpec | None:
        try:
            return self._load_symbol(name)
        except _Unreachable as exc:
            raise ConnectorError(exc.message, code=exc.code) from None

    def _read(self, fn, *args, what: str, **kwargs):
        """A read that must succeed: None (or a bridge failure) raises ConnectorError."""
        try:
            result = fn(*args, **kwargs)
        except (OSError, EOFError) as exc:
            raise ConnectorError(
                f"could not read {what} from the MetaTrader 5 terminal {self._terminal} "
                f"({type(exc).__name__}: {exc})", code=_IPC_CALL_FAILED) from None
        if result is None or result is False:
            code, text = self._last_error()
            raise ConnectorError(retcodes.read_failure(code, text, what=what, terminal=self._terminal),
                                 code=code)
        return result

    def _last_error(self) -> tuple[int, str]:
        try:
            code, text = self._api.last_error()
            return int(code), str(text)
        except (OSError, EOFError, TypeError, ValueError):
            return _IPC_CALL_FAILED, "IPC call failed"

    def _failed_read(self, what: str) -> None:
        """After a read returned None: raise _Unreachable if the terminal is gone, else return."""
        code, text = self._last_error()
        if code in _UNREACHABLE_CODES:
            raise _Unreachable(code, retcodes.read_failure(code, text, what=what, terminal=self._terminal))

    def _guarded(self, fn, *args, what: str, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (OSError, EOFError) as exc:
            raise _Unreachable(_IPC_CALL_FAILED,
                               f"could not read {what} from the MetaTrader 5 terminal {self._terminal} "
                               f"({type(exc).__name__}: {exc})") from None

    def _load_symbol(self, name: str) -> SymbolSpec | None:
        """Fresh properties and quote of one symbol, put in Market Watch if it is not; None if unknown."""
        what = f"the symbol {name}"
        info = self._guarded(self._api.symbol_info, name, what=what)
        if info is None:
            self._failed_read(what)
            return None
        if not (info.select and info.visible):
            # Quotes of a symbol outside Market Watch are not kept up to date by the terminal.
            self._guarded(self._api.symbol_select, name, True, what=what)
            info = self._guarded(self._api.symbol_info, name, what=what) or info
        tick = self._guarded(self._api.symbol_info_tick, name, what=what)
        spec = to_symbol_spec(info, tick)
        self._specs[name] = spec
        return spec

    def _trade_spec(self, name: str) -> SymbolSpec:
        spec = self._specs.get(name)
        if spec is None:
            spec = self._load_symbol(name)
            if spec is None:
                raise Refusal(retcodes.INVALID_REQUEST, f"{self._company} has no symbol {name!r} on this account")
        return spec

    def _tick(self, name: str):
        what = f"the quote of {name}"
        tick = self._guarded(self._api.symbol_info_tick, name, what=what)
        if tick is None:
            self._failed_read(what)
            self._guarded(self._api.symbol_select, name, True, what=what)
            tick = self._guarded(self._api.symbol_info_tick, name, what=what)
        if tick is None or tick.bid <= 0 or tick.ask <= 0:
            raise Refusal(retcodes.PRICE_OFF, f"there is no quote for {name} to price the order with")
        return tick

    # ------------------------------------------------------------------ trading
    async def open(self, request: OpenPosition) -> ExecutionReport:
        return await self._invoker.call(self._trade, self._build_open, request, deal=True)

    async def close(self, request: ClosePosition) -> ExecutionReport:
        return await self._invoker.call(self._trade, self._build_close, request, deal=True)

    async def modify(self, request: ModifyStops) -> ExecutionReport:
        return await self._invoker.call(self._trade, self._build_modify, request, deal=False)

    async def place_pending(self, request: PlacePending) -> ExecutionReport:
        return await self._invoker.call(self._trade, self._build_pending, request, deal=False)

    async def modify_pending(self, request: ModifyPending) -> ExecutionReport:
        return await self._invoker.call(self._trade, self._build_modify_pending, request, deal=False)

    async def cancel(self, request: CancelPending) -> ExecutionReport:
        return await self._invoker.call(self._trade, self._build_cancel, request, deal=False)

    async def position_deals(self, position_id: int = 0, *, order: int = 0) -> tuple[Deal, ...]:
        return await self._invoker.call(self._position_deals, position_id, order)

    def _position_deals(self, position_id: int, order: int) -> tuple[Deal, ...]:
        if not position_id and order:
            # history_deals_get(ticket=) takes an ORDER ticket: the deals that order made.
            made = self._read(self._api.history_deals_get, ticket=int(order), what=f"the deals of order {order}")
            position_id = next((int(d.position_id) for d in made if d.position_id), 0)
            if not position_id:
                return ()
        deals = self._read(self._api.history_deals_get, position=int(position_id),
                           what=f"the deals of position {position_id}")
        return _trade_deals(deals)

    async def deals_since(self, since_msc: int) -> tuple[Deal, ...]:
        return await self._invoker.call(self._deals_since, since_msc)

    def _deals_since(self, since_msc: int) -> tuple[Deal, ...]:
        # Both ends are the server's clock, as deal times are; the far end is wide, for a server
        # ahead of this machine.
        end = max(int(self._clock.time()), since_msc // 1000) + 2 * 86_400
        deals = self._read(self._api.history_deals_get, since_msc // 1000, end, what="the account's recent deals")
        return tuple(d for d in _trade_deals(deals) if d.time_msc >= since_msc)

    async def cash_flows(self) -> tuple[CashFlow, ...]:
        return await self._invoker.call(self._cash_flows)

    def _cash_flows(self) -> tuple[CashFlow, ...]:
        # Deal times are the server's clock, hours off UTC: the window is wide on both sides.
        now = int(self._clock.time())
        deals = self._read(self._api.history_deals_get, now - _CASH_LOOKBACK_S, now + 2 * 86_400,
                           what="the account's balance operations")
        return tuple(CashFlow(int(d.ticket), float(d.profit), str(d.comment))
                     for d in sorted(deals, key=lambda d: (d.time_msc, d.ticket)) if d.type in CASH_DEAL_TYPES)

    def _build_open(self, req: OpenPosition) -> tuple[dict, dict]:
        spec = self._trade_spec(req.symbol)
        volume = normalize_volume(req.volume, spec)
        filling = choose_filling(spec)
        magic = check_magic(req.magic)
        tick = self._tick(spec.name)
        buy = req.side is Side.BUY
        # Instant and request execution fill only at the price sent (within deviation); market
        # execution ignores it, and the fresh quote there is harmless and shows in the journal.
        price = tick.ask if buy else tick.bid
        # The copier's price tolerance, checked against the quote read anyway: a price already too
        # far from the master's is a requote the broker need not be asked for.
        # A limit in spreads (and the default's floor of two) needs the spread of this very quote.
        worst, deviation = widen_to_spreads(buy=buy, bid=tick.bid, ask=tick.ask, worst=req.worst_price,
                                            reference=req.reference_price, deviation=req.max_deviation_points,
                                            spreads=req.max_deviation_spreads, spec=spec)
        check_worst_price(buy=buy, bid=tick.bid, ask=tick.ask, worst=worst, spec=spec)
        # A position's stops trigger on the price it closes at: the bid for a buy, the ask for a sell.
        sl, tp, note = fit_stops(buy=buy, reference=tick.bid if buy else tick.ask, sl=req.sl, tp=req.tp,
                                 spec=spec, reference_name="the bid" if buy else "the ask")
        request = deal_request(symbol=spec.name, side=req.side, volume=volume,
                               price=round_price(price, spec.digits), deviation=deviation,
                               sl=sl, tp=tp, magic=magic, comment=req.comment, filling=filling)
        extra = self._extra(filling=filling, note=note)
        if worst > 0 and req.reference_price > 0 and spec.point > 0:
            # The limit that applied, in points, for the drift display to compare each fill with.
            extra["deviation_limit_points"] = round(abs(worst - req.reference_price) / spec.point, 2)
        return request, extra

    def _build_close(self, req: ClosePosition) -> tuple[dict, dict]:
        spec = self._trade_spec(req.symbol)
        volume = normalize_volume(req.volume, spec)
        filling = choose_filling(spec)
        magic = check_magic(req.magic)
        tick = self._tick(spec.name)
        # A buy closes by selling at the bid, a sell by buying at the ask.
        price = tick.bid if req.side is Side.BUY else tick.ask
        request = deal_request(symbol=spec.name, side=req.side.opposite, volume=volume,
                               price=round_price(price, spec.digits), deviation=req.max_deviation_points,
                               sl=0.0, tp=0.0, magic=magic, comment=req.comment, filling=filling,
                               position=req.ticket)
        return request, self._extra(filling=filling)

    def _build_modify(self, req: ModifyStops) -> tuple[dict, dict]:
        spec = self._trade_spec(req.symbol)
        sl, tp, note = round_price(req.sl, spec.digits), round_price(req.tp, spec.digits), ""
        found = self._guarded(self._api.positions_get, ticket=int(req.ticket), what="the position")
        if found is None:
            self._failed_read("the position")
        if found:
            # The request does not say the side; the position does, and the side decides which
            # price the stops are measured from. A missing position is left to the broker to report.
            buy = found[0].type == POSITION_TYPE_BUY
            tick = self._tick(spec.name)
            sl, tp, note = fit_stops(buy=buy, reference=tick.bid if buy else tick.ask, sl=req.sl,
                                     tp=req.tp, spec=spec, reference_name="the bid" if buy else "the ask")
        return sltp_request(symbol=spec.name, ticket=req.ticket, sl=sl, tp=tp), self._extra(note=note)

    def _build_pending(self, req: PlacePending) -> tuple[dict, dict]:
        spec = self._trade_spec(req.symbol)
        volume = normalize_volume(req.volume, spec)
        magic = check_magic(req.magic)
        price, stoplimit = round_price(req.price, spec.digits), round_price(req.stoplimit, spec.digits)
        sl, tp, note = fit_stops(buy=req.kind.side is Side.BUY, reference=pending_entry(req.kind, price, stoplimit),
                                 sl=req.sl, tp=req.tp, spec=spec, reference_name="the entry price")
        request = pending_request(symbol=spec.name, kind=req.kind, volume=volume, price=price,
                                  stoplimit=stoplimit, sl=sl, tp=tp, expiration=req.expiration, magic=magic,
                                  comment=req.comment)
        return request, self._extra(filling=Filling.RETURN, note=note)

    def _build_modify_pending(self, req: ModifyPending) -> tuple[dict, dict]:
        spec = self._trade_spec(req.symbol)
        price, stoplimit = round_price(req.price, spec.digits), round_price(req.stoplimit, spec.digits)
        sl, tp, note = round_price(req.sl, spec.digits), round_price(req.tp, spec.digits), ""
        found = self._guarded(self._api.orders_get, ticket=int(req.ticket), what="the order")
        if found is None:
            self._failed_read("the order")
        kind = pending_kind(found[0].type) if found else None
        if kind is not None:
            sl, tp, note = fit_stops(buy=kind.side is Side.BUY, reference=pending_entry(kind, price, stoplimit),
                                     sl=req.sl, tp=req.tp, spec=spec, reference_name="the entry price")
        request = modify_request(ticket=req.ticket, symbol=spec.name, price=price, stoplimit=stoplimit,
                                 sl=sl, tp=tp, expiration=req.expiration)
        return request, self._extra(note=note)

    def _build_cancel(self, req: CancelPending) -> tuple[dict, dict]:
        return remove_request(ticket=req.ticket), {}

    @staticmethod
    def _extra(*, filling: Filling | None = None, note: str = "") -> dict:
        extra: dict = {}
        if filling is not None:
            extra["filling"] = filling.value
        if note:
            extra["adjusted"] = note
        return extra

    def _trade(self, build, request, *, deal: bool) -> ExecutionReport:
        """Build the order_send dict, send it, and report; never raises on a refusal."""
        try:
            order, extra = build(request)
        except Refusal as refusal:
            now = self._clock.time()
            message = f"not sent to {self._company}: {refusal.message}"
            log.info("%s: %s", self.account_id, message)
            # The same Status the broker's own answer would get: "no quote" may pass on a retry.
            status = retcodes.status_for(refusal.retcode, deal=deal)
            return ExecutionReport(status, refusal.retcode, message, bid=refusal.bid, ask=refusal.ask,
                                   sent_at=now, received_at=now, extra={"sent": False},
                                   reason=retcodes.reason_for(refusal.retcode), sent=False)
        except _Unreachable as lost:
            now = self._clock.time()
            message = f"not sent: {lost.message}"
            log.warning("%s: %s", self.account_id, message)
            return ExecutionReport(Status.UNREACHABLE, lost.code, message, sent_at=now, received_at=now,
                                   extra={"sent": False}, reason=Reason.NO_CONNECTION, sent=False)
        extra["sent"] = True
        extra["request"] = order
        self._deal_cache.clear()
        sent_at = self._clock.time()
        try:
            result = self._api.order_send(order)
        except (OSError, EOFError) as exc:
            received_at = self._clock.time()
            message = (f"the MetaTrader 5 terminal {self._terminal} did not answer "
                       f"({type(exc).__name__}: {exc}): the request may or may not have reached the "
                       "broker; the next snapshot shows whether it did")
            log.warning("%s: %s", self.account_id, message)
            return ExecutionReport(Status.UNREACHABLE, _IPC_CALL_FAILED, message, sent_at=sent_at,
                                   received_at=received_at, extra=extra, reason=Reason.NO_CONNECTION)
        received_at = self._clock.time()
        if result is None:
            code, text = self._last_error()
            status, message = retcodes.call_failure(code, text, terminal=self._terminal)
            log.warning("%s: %s", self.account_id, message)
            return ExecutionReport(status, code, message, sent_at=sent_at, received_at=received_at, extra=extra,
                                   reason=retcodes.call_failure_reason(code))
        report = self._report(order, result, deal=deal, extra=extra, sent_at=sent_at, received_at=received_at)
        if not report.status.ok:
            # The broker may have changed what it allows (stops level, filling, lot limits).
            self._specs.pop(order.get("symbol", ""), None)
            log.info("%s: %s", self.account_id, report.message)
        return report

    def _report(self, order: dict, result, *, deal: bool, extra: dict, sent_at: float,
                received_at: float) -> ExecutionReport:
        retcode = int(result.retcode)
        status = retcodes.status_for(retcode, deal=deal and order["action"] == TRADE_ACTION_DEAL)
        extra["broker_comment"] = result.comment
        message = retcodes.result_message(status, retcode, result.comment, company=self._company,
                                          terminal=self._terminal)
        detail = self._detail(status, order, result)
        if detail:
            # A rejection's head already ends in its explanation after a colon.
            message = f"{message}{': ' if status in (Status.FILLED, Status.PARTIAL) else '; '}{detail}"
        if extra.get("adjusted"):
            message = f"{message}; {extra['adjusted']}"
        if status is Status.PARTIAL:
            extra["requested_volume"] = order.get("volume", 0.0)
        # A partly filled RETURN order keeps its rest working at the broker; FOK and IOC cancel it.
        rest_working = status is Status.PARTIAL and order.get("type_filling") == ORDER_FILLING_RETURN
        stops = (float(order["sl"]), float(order["tp"])) if "sl" in order and "tp" in order else (None, None)
        applied = extra.get("deviation_limit_points")
        return ExecutionReport(status, retcode, message, volume=float(result.volume), price=float(result.price),
                               bid=float(result.bid), ask=float(result.ask), order=int(result.order),
                               deal=int(result.deal), sent_at=sent_at, received_at=received_at, extra=extra,
                               reason=retcodes.reason_for(retcode), rest_working=rest_working,
                               sent_sl=stops[0], sent_tp=stops[1],
                               quote=float(order.get("price", 0.0)) if order["action"] == TRADE_ACTION_DEAL else 0.0,
                               deviation_limit_points=float(applied) if applied is not None else None)

    @staticmethod
    def _detail(status: Status, order: dict, result) -> str:
        symbol = order.get("symbol", "")
        if status is Status.FILLED:
            verb = "bought" if order.get("type") == ORDER_TYPE_BUY else "sold"
            return f"{verb} {result.volume:.10g} lots of {symbol} at {result.price:.10g}"
        if status is Status.PARTIAL:
            requested = order.get("volume", 0.0)
            rest = round(requested - result.volume, 8)
            fate = ("stay working at the broker" if order.get("type_filling") == ORDER_FILLING_RETURN else "were cancelled")
            return (f"{result.volume:.10g} of {requested:.10g} lots of {symbol} at {result.price:.10g}; "
                    f"the remaining {rest:.10g} lots {fate}")
        if status is Status.REQUOTED and (result.bid or result.ask):
            return f"the broker now quotes bid {result.bid:.10g} / ask {result.ask:.10g}"
        return ""


def _trade_deals(deals) -> tuple[Deal, ...]:
    """The buys and sells among MT5 deals (not balance operations), oldest first."""
    return tuple(Deal(str(d.comment), Side.BUY if d.type == DEAL_TYPE_BUY else Side.SELL, float(d.volume),
                      float(d.price), float(d.commission), float(d.swap), float(d.fee), float(d.profit),
                      int(d.time_msc), int(d.position_id), str(d.symbol))
                 for d in sorted(deals, key=lambda d: (d.time_msc, d.ticket))
                 if d.type in (DEAL_TYPE_BUY, DEAL_TYPE_SELL))
