"""The trade server of one simulated account: validates and executes requests, fills pending orders,
triggers stops, accrues swap, enforces stop-out, and keeps the deal and order history.

It follows MetaTrader 5's rules: hedging and netting accounts, DEAL_ENTRY_IN/OUT/INOUT/OUT_BY,
``order == position_id == position.ticket`` for an opening deal, and the balance moving by exactly
each deal's profit, commission and swap. Prices come from the shared market with this broker's
spread, digits and quote offset.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from copier_gui.clock import Clock
from copier_gui.sim import bits
from copier_gui.sim import constants as mt5
from copier_gui.sim.account import AccountSettings, Order, Position
from copier_gui.sim.instruments import INSTRUMENTS, session_open
from copier_gui.sim.market import Market
from copier_gui.sim.profiles import BrokerProfile, SymbolSpec
from copier_gui.sim.structs import TradeDeal, TradeOrder, TradePosition, TradeRequest

_BUY_TYPES = (mt5.ORDER_TYPE_BUY, mt5.ORDER_TYPE_BUY_LIMIT, mt5.ORDER_TYPE_BUY_STOP, mt5.ORDER_TYPE_BUY_STOP_LIMIT)
_PENDING_TYPES = (
    mt5.ORDER_TYPE_BUY_LIMIT, mt5.ORDER_TYPE_SELL_LIMIT, mt5.ORDER_TYPE_BUY_STOP,
    mt5.ORDER_TYPE_SELL_STOP, mt5.ORDER_TYPE_BUY_STOP_LIMIT, mt5.ORDER_TYPE_SELL_STOP_LIMIT,
)
_ORDER_MODE_BIT = {
    mt5.ORDER_TYPE_BUY: bits.ORDER_MARKET, mt5.ORDER_TYPE_SELL: bits.ORDER_MARKET,
    mt5.ORDER_TYPE_BUY_LIMIT: bits.ORDER_LIMIT, mt5.ORDER_TYPE_SELL_LIMIT: bits.ORDER_LIMIT,
    mt5.ORDER_TYPE_BUY_STOP: bits.ORDER_STOP, mt5.ORDER_TYPE_SELL_STOP: bits.ORDER_STOP,
    mt5.ORDER_TYPE_BUY_STOP_LIMIT: bits.ORDER_STOP_LIMIT, mt5.ORDER_TYPE_SELL_STOP_LIMIT: bits.ORDER_STOP_LIMIT,
}
_EPS = 1e-9


@dataclass(slots=True)
class Outcome:
    """What the trade server answered; the API layer wraps it in OrderSendResult/OrderCheckResult."""

    retcode: int
    deal: int = 0
    order: int = 0
    volume: float = 0.0
    price: float = 0.0
    bid: float = 0.0
    ask: float = 0.0
    margin_after: float = 0.0


def _money(scaled: float) -> int:
    """Round half away from zero, as MetaTrader's NormalizeDouble; round() is 3x slower."""
    return int(scaled + 0.5 if scaled >= 0 else scaled - 0.5)


def is_buy(order_type: int) -> bool:
    return order_type in _BUY_TYPES


class TradeEngine:
    def __init__(
        self,
        profile: BrokerProfile,
        settings: AccountSettings,
        market: Market,
        clock: Clock,
        rng: random.Random,
    ) -> None:
        self.profile = profile
        self.settings = settings
        self.market = market
        self.clock = clock
        self.rng = rng
        self.balance = 0.0
        self.credit = 0.0
        self.positions: dict[int, Position] = {}
        self.orders: dict[int, Order] = {}
        self.history_orders: list[TradeOrder] = []
        self.deals: list[TradeDeal] = []
        self._next_order = 40_000_000 + rng.randrange(1, 9_000_000)
        self._next_deal = 30_000_000 + rng.randrange(1, 9_000_000)
        # The last tick seen per instrument that has orders or stops to trigger; only those
        # instruments are walked tick by tick.
        self._cursor: dict[str, int] = {}
        self._offset = profile.server_utc_offset_hours * 3600
        self._last_rollover_day = self._server_day(clock.time())
        self._quote_cache: dict[str, tuple[int, float, float, float]] = {}
        self.version = 0
        self._refreshed_stamp: tuple[int, int] | None = None
        self._exposure_cache: dict[str, list] = {}
        self._exposure_stamp: tuple[int, int] | None = None
        self._static_rows: list[tuple] = []
        self._static_stamp = -1
        self._add_balance(settings.balance, "Initial deposit")

    # ----------------------------------------------------------------- time and prices
    def server_time(self, utc: float) -> float:
        return utc + self._offset

    def server_msc(self, utc: float) -> int:
        return int(round((utc + self._offset) * 1000.0))

    def _server_day(self, utc: float) -> int:
        return int((utc + self._offset) // 86400)

    def quote(self, spec: SymbolSpec) -> tuple[float, float, float]:
        """(bid, ask, utc time) of the symbol's latest tick at this broker."""
        key = spec.instrument
        seq = self.market.last_seq(key)
        cached = self._quote_cache.get(spec.name)
        if cached is not None and cached[0] == seq:
            return cached[1], cached[2], cached[3]
        q = self.market.quote(key)
        bid, ask = self._broker_prices(spec, q.mid, q.spread_points)
        self._quote_cache[spec.name] = (seq, bid, ask, q.time)
        return bid, ask, q.time

    def _broker_prices(self, spec: SymbolSpec, mid: float, spread_points: float) -> tuple[float, float]:
        inst = INSTRUMENTS[spec.instrument]
        point = 10.0**-spec.digits
        spread = max(spread_points * inst.point * spec.spread_factor, point)
        bid = round(mid - spread / 2 + self.profile.quote_offset_points * point, spec.digits)
        ask = round(bid + max(round(spread / point), 1) * point, spec.digits)
        return bid, ask

    def spread_points(self, spec: SymbolSpec) -> int:
        bid, ask, _ = self.quote(spec)
        return int(round((ask - bid) / 10.0**-spec.digits))

    def market_open(self, spec: SymbolSpec, utc: float | None = None) -> bool:
        when = self.clock.time() if utc is None else utc
        return session_open(INSTRUMENTS[spec.instrument].session, when)

    # ----------------------------------------------------------------- money
    def _round_money(self, amount: float) -> float:
        return round(amount, self.settings.currency_digits)

    def to_account(self, amount: float, currency: str) -> float:
        return self.market.convert(amount, currency, self.settings.currency)

    def profit_of(self, spec: SymbolSpec, order_type: int, volume: float, open_price: float, close_price: float) -> float:
        direction = 1.0 if is_buy(order_type) else -1.0
        raw = (close_price - open_price) * direction * volume * spec.contract_size
        return self.to_account(raw, INSTRUMENTS[spec.instrument].profit)

    def margin_of(self, spec: SymbolSpec, volume: float, price: float) -> float:
        inst = INSTRUMENTS[spec.instrument]
        if inst.forex:
            return self.to_account(volume * spec.contract_size / self.settings.leverage, inst.base)
        return self.to_account(volume * spec.contract_size * price / self.settings.leverage, inst.profit)

    def position_profit(self, pos: Position) -> tuple[float, float]:
        """(price_current, profit) of a position at the latest tick."""
        bid, ask, factor = self._symbol_terms(pos.spec)
        scale = 10.0**self.settings.currency_digits
        if pos.type == mt5.POSITION_TYPE_BUY:
            return bid, _money((bid - pos.price_open) * pos.volume * factor * scale) / scale
        return ask, _money((pos.price_open - ask) * pos.volume * factor * scale) / scale

    def _symbol_terms(self, spec: SymbolSpec) -> tuple[float, float, float]:
        """(bid, ask, account-currency value of a 1.0 price move on one lot)."""
        bid, ask, _ = self.quote(spec)
        return bid, ask, self.to_account(spec.contract_size, INSTRUMENTS[spec.instrument].profit)

    def _exposure(self) -> dict[str, list]:
        """Per symbol: [spec, buy volume, buy volume x price, sell volume, sell volume x price, swap].

        Positions change only with a trade (which bumps ``version``), so this is rebuilt per trade,
        and equity and margin on each tick cost one step per symbol, not one per position.
        """
        stamp = (self.version, len(self.positions))
        if self._exposure_stamp == stamp:
            return self._exposure_cache
        table: dict[str, list] = {}
        for pos in self.positions.values():
            row = table.get(pos.spec.name)
            if row is None:
                row = table[pos.spec.name] = [pos.spec, 0.0, 0.0, 0.0, 0.0, 0.0]
            if pos.type == mt5.POSITION_TYPE_BUY:
                row[1] += pos.volume
                row[2] += pos.volume * pos.price_open
            else:
                row[3] += pos.volume
                row[4] += pos.volume * pos.price_open
            row[5] += pos.swap
        self._exposure_cache, self._exposure_stamp = table, stamp
        return table

    def margin_used(self, extra: tuple[SymbolSpec, int, float] | None = None) -> float:
        """Margin held by the open positions (plus ``extra``, a prospective fill), account currency.

        Hedging accounts pay for the larger leg per symbol; netting accounts for the net volume.
        """
        legs = {name: (row[0], row[1], row[3]) for name, row in self._exposure().items()}
        if extra is not None:
            spec, order_type, volume = extra
            _, buy, sell = legs.get(spec.name, (spec, 0.0, 0.0))
            legs[spec.name] = (spec, buy + volume, sell) if is_buy(order_type) else (spec, buy, sell + volume)
        total = 0.0
        netting = self.settings.margin_mode == mt5.ACCOUNT_MARGIN_MODE_RETAIL_NETTING
        for spec, buy, sell in legs.values():
            bid, ask, _ = self.quote(spec)
            volume = abs(buy - sell) if netting else max(buy, sell)
            if volume:
                total += self.margin_of(spec, volume, (bid + ask) / 2)
        return total

    def floating(self) -> tuple[float, float]:
        """(profit, swap) of all open positions."""
        profit = swap = 0.0
        for spec, buy_vol, buy_cost, sell_vol, sell_cost, row_swap in self._exposure().values():
            bid, ask, factor = self._symbol_terms(spec)
            profit += ((buy_vol * bid - buy_cost) + (sell_cost - sell_vol * ask)) * factor
            swap += row_swap
        return profit, swap

    def equity(self) -> float:
        profit, swap = self.floating()
        return self._round_money(self.balance + self.credit + profit + swap)

    # ----------------------------------------------------------------- ticking
    def refresh(self) -> float:
        """Bring the account up to the clock: fills, stops, expirations, swap and stop-out."""
        now = self.market.sync()
        stamp = (self.market.sync_stamp(), self.version)
        if stamp == self._refreshed_stamp and self._server_day(now) == self._last_rollover_day:
            # No new tick, no trade and no rollover since the last refresh: nothing can have
            # triggered. The day is checked apart: a closed market has no ticks to notice it by.
            if self.orders:
                self._expire_orders(now)
            return now
        if self.orders or any(p.sl or p.tp for p in self.positions.values()):
            self._process_ticks()
        else:
            self._cursor.clear()
        day = self._server_day(now)
        if day != self._last_rollover_day:
            self._rollover(day)
        if self.orders:
            self._expire_orders(now)
        if self.positions:
            self._stop_out()
        self._refreshed_stamp = (self.market.sync_stamp(), self.version)
        return now

    def _process_ticks(self) -> None:
        interested = {o.spec.instrument for o in self.orders.values()}
        interested.update(p.spec.instrument for p in self.positions.values() if p.sl or p.tp)
        for key in interested:
            after = self._cursor.get(key)
            if after is not None:
                for tick in self.market.ticks_since(key, after):
                    self._on_tick(key, tick.time, tick.mid, tick.spread_points)
        self._cursor = {key: self.market.last_seq(key) for key in interested}

    def _watch(self, spec: SymbolSpec) -> None:
        """Start walking an instrument's ticks from now on: an order or a stop was just set on it."""
        self._cursor.setdefault(spec.instrument, self.market.last_seq(spec.instrument))

    def _on_tick(self, key: str, utc: float, mid: float, spread_points: float) -> None:
        for order in [o for o in self.orders.values() if o.spec.instrument == key]:
            bid, ask = self._broker_prices(order.spec, mid, spread_points)
            self._check_order_trigger(order, bid, ask, utc)
        for pos in [p for p in self.positions.values() if p.spec.instrument == key and (p.sl or p.tp)]:
            if pos.ticket not in self.positions:
                continue
            bid, ask = self._broker_prices(pos.spec, mid, spread_points)
            if pos.type == mt5.POSITION_TYPE_BUY:
                if pos.sl and bid <= pos.sl:
                    self._close_by_stop(pos, bid, mt5.DEAL_REASON_SL, f"[sl {pos.sl:.{pos.spec.digits}f}]", utc)
                elif pos.tp and bid >= pos.tp:
                    self._close_by_stop(pos, bid, mt5.DEAL_REASON_TP, f"[tp {pos.tp:.{pos.spec.digits}f}]", utc)
            else:
                if pos.sl and ask >= pos.sl:
                    self._close_by_stop(pos, ask, mt5.DEAL_REASON_SL, f"[sl {pos.sl:.{pos.spec.digits}f}]", utc)
                elif pos.tp and ask <= pos.tp:
                    self._close_by_stop(pos, ask, mt5.DEAL_REASON_TP, f"[tp {pos.tp:.{pos.spec.digits}f}]", utc)

    def _check_order_trigger(self, order: Order, bid: float, ask: float, utc: float) -> None:
        t = order.type
        if t in (mt5.ORDER_TYPE_BUY, mt5.ORDER_TYPE_SELL):
            # The working remainder of a RETURN order that was partly filled: fills on the next tick.
            self._fill_order(order, ask if t == mt5.ORDER_TYPE_BUY else bid, utc, order.volume_current)
            return
        if t == mt5.ORDER_TYPE_BUY_LIMIT and ask <= order.price_open:
            self._fill_order(order, ask, utc, order.volume_current)
        elif t == mt5.ORDER_TYPE_SELL_LIMIT and bid >= order.price_open:
            self._fill_order(order, bid, utc, order.volume_current)
        elif t == mt5.ORDER_TYPE_BUY_STOP and ask >= order.price_open:
            self._fill_order(order, ask, utc, order.volume_current)
        elif t == mt5.ORDER_TYPE_SELL_STOP and bid <= order.price_open:
            self._fill_order(order, bid, utc, order.volume_current)
        elif t == mt5.ORDER_TYPE_BUY_STOP_LIMIT and ask >= order.price_open:
            # The stop price is reached: the order becomes a buy limit at the stop-limit price.
            order.type, order.price_open, order.price_stoplimit = mt5.ORDER_TYPE_BUY_LIMIT, order.price_stoplimit, 0.0
            self.version += 1
        elif t == mt5.ORDER_TYPE_SELL_STOP_LIMIT and bid <= order.price_open:
            order.type, order.price_open, order.price_stoplimit = mt5.ORDER_TYPE_SELL_LIMIT, order.price_stoplimit, 0.0
            self.version += 1

    def _fill_order(self, order: Order, price: float, utc: float, volume: float) -> None:
        market_type = mt5.ORDER_TYPE_BUY if is_buy(order.type) else mt5.ORDER_TYPE_SELL
        opening = self._would_open(order.spec, market_type, order.position_id)
        if opening:
            margin_after = self.margin_used((order.spec, market_type, volume))
            if self.equity() - margin_after < 0:
                self._archive_order(order, mt5.ORDER_STATE_REJECTED, utc)
                return
        del self.orders[order.ticket]
        self._execute(order.spec, market_type, volume, price, order.sl, order.tp, order.magic,
                      order.comment, order.ticket, order.position_id, order.reason, utc)
        self._append_history_order(order, mt5.ORDER_STATE_FILLED, utc, volume_current=0.0)

    def _close_by_stop(self, pos: Position, price: float, reason: int, comment: str, utc: float) -> None:
        order_type = mt5.ORDER_TYPE_SELL if pos.type == mt5.POSITION_TYPE_BUY else mt5.ORDER_TYPE_BUY
        ticket = self._new_order_ticket()
        order_reason = {mt5.DEAL_REASON_SL: mt5.ORDER_REASON_SL, mt5.DEAL_REASON_TP: mt5.ORDER_REASON_TP}.get(
            reason, mt5.ORDER_REASON_SO)
        msc = self.server_msc(utc)
        self.history_orders.append(TradeOrder((
            ticket, msc // 1000, msc, msc // 1000, msc, 0, order_type, mt5.ORDER_TIME_GTC,
            mt5.ORDER_FILLING_IOC, mt5.ORDER_STATE_FILLED, pos.magic, pos.identifier, 0, order_reason,
            pos.volume, 0.0, price, pos.sl, pos.tp, price, 0.0, pos.spec.name, comment, "")))
        self._reduce(pos, pos.volume, price, ticket, pos.magic, comment, reason, utc, mt5.DEAL_ENTRY_OUT)

    def _expire_orders(self, now: float) -> None:
        server_now = self.server_time(now)
        for order in list(self.orders.values()):
            expires = 0.0
            if order.type_time in (mt5.ORDER_TIME_SPECIFIED, mt5.ORDER_TIME_SPECIFIED_DAY) and order.time_expiration:
                expires = order.time_expiration
            elif order.type_time == mt5.ORDER_TIME_DAY:
                expires = (order.time_setup_msc // 1000 // 86400 + 1) * 86400
            if expires and server_now >= expires:
                self._archive_order(order, mt5.ORDER_STATE_EXPIRED, now)

    def _rollover(self, day: int) -> None:
        days = day - self._last_rollover_day
        self._last_rollover_day = day
        if days <= 0 or not self.positions:
            return
        for pos in self.positions.values():
            # Wednesday's rollover charges three days (the weekend), as brokers do.
            weekday = (day + 3) % 7  # day 0 (1970-01-01) was a Thursday; Monday=0 here
            factor = 3 if weekday == 3 else 1
            inst = INSTRUMENTS[pos.spec.instrument]
            points = pos.spec.swap_long if pos.type == mt5.POSITION_TYPE_BUY else pos.spec.swap_short
            raw = points * (10.0**-pos.spec.digits) * pos.volume * pos.spec.contract_size * factor * min(days, 7)
            pos.swap = self._round_money(pos.swap + self.to_account(raw, inst.profit))
        self.version += 1

    def _stop_out(self) -> None:
        for _ in range(len(self.positions)):
            margin = self.margin_used()
            if margin <= 0:
                return
            level = self.equity() / margin * 100.0
            if level >= self.profile.stop_out_level:
                return
            worst = min(self.positions.values(), key=lambda p: self.position_profit(p)[1])
            bid, ask, utc = self.quote(worst.spec)
            price = bid if worst.type == mt5.POSITION_TYPE_BUY else ask
            self._close_by_stop(worst, price, mt5.DEAL_REASON_SO,
                                f"[so {level:.2f}%/{self.equity():.2f}/{margin:.2f}]", self.clock.time())

    # ----------------------------------------------------------------- records
    def _new_order_ticket(self) -> int:
        self._next_order += 1
        return self._next_order

    def _new_deal_ticket(self) -> int:
        self._next_deal += 1
        return self._next_deal

    def _add_balance(self, amount: float, comment: str) -> None:
        msc = self.server_msc(self.clock.time())
        self.balance = self._round_money(self.balance + amount)
        self.deals.append(TradeDeal((
            self._new_deal_ticket(), 0, msc // 1000, msc, mt5.DEAL_TYPE_BALANCE, mt5.DEAL_ENTRY_IN, 0, 0,
            mt5.DEAL_REASON_CLIENT, 0.0, 0.0, 0.0, 0.0, self._round_money(amount), 0.0, "", comment, "")))
        self.version += 1

    def deposit(self, amount: float, comment: str = "Deposit") -> None:
        self._add_balance(amount, comment)

    def _deal(self, order: int, deal_type: int, entry: int, magic: int, position_id: int, reason: int,
              volume: float, price: float, commission: float, swap: float, profit: float,
              spec: SymbolSpec, comment: str, utc: float) -> int:
        ticket = self._new_deal_ticket()
        msc = self.server_msc(utc)
        commission = self._round_money(commission)
        swap = self._round_money(swap)
        profit = self._round_money(profit)
        self.deals.append(TradeDeal((
            ticket, order, msc // 1000, msc, deal_type, entry, magic, position_id, reason, volume, price,
            commission, swap, profit, 0.0, spec.name, comment, "")))
        self.balance = self._round_money(self.balance + profit + commission + swap)
        self.version += 1
        return ticket

    def _commission(self, volume: float) -> float:
        return self.to_account(self.profile.commission_per_lot * volume, self.profile.currency)

    def _append_history_order(self, order: Order, state: int, utc: float, volume_current: float) -> None:
        msc = self.server_msc(utc)
        self.history_orders.append(TradeOrder((
            order.ticket, order.time_setup_msc // 1000, order.time_setup_msc, msc // 1000, msc,
            order.time_expiration, order.type, order.type_time, order.type_filling, state, order.magic,
            order.position_id, order.position_by_id, order.reason, order.volume_initial, volume_current,
            order.price_open, order.sl, order.tp, order.price_open, order.price_stoplimit,
            order.spec.name, order.comment, order.external_id)))
        self.version += 1

    def _archive_order(self, order: Order, state: int, utc: float) -> None:
        self.orders.pop(order.ticket, None)
        self._append_history_order(order, state, utc, volume_current=order.volume_current)

    # ----------------------------------------------------------------- execution
    def _would_open(self, spec: SymbolSpec, market_type: int, position_ticket: int) -> bool:
        if self.settings.margin_mode == mt5.ACCOUNT_MARGIN_MODE_RETAIL_NETTING:
            current = self._netting_position(spec)
            return current is None or (current.type == mt5.POSITION_TYPE_BUY) == (market_type == mt5.ORDER_TYPE_BUY)
        return position_ticket == 0 or position_ticket not in self.positions

    def _netting_position(self, spec: SymbolSpec) -> Position | None:
        for pos in self.positions.values():
            if pos.spec.name == spec.name:
                return pos
        return None

    def _execute(self, spec: SymbolSpec, market_type: int, volume: float, price: float, sl: float, tp: float,
                 magic: int, comment: str, order_ticket: int, position_ticket: int, reason: int,
                 utc: float) -> int:
        """Apply one fill to the account and return the deal ticket."""
        deal_type = mt5.DEAL_TYPE_BUY if market_type == mt5.ORDER_TYPE_BUY else mt5.DEAL_TYPE_SELL
        pos_type = mt5.POSITION_TYPE_BUY if market_type == mt5.ORDER_TYPE_BUY else mt5.POSITION_TYPE_SELL
        deal_reason = {mt5.ORDER_REASON_CLIENT: mt5.DEAL_REASON_CLIENT, mt5.ORDER_REASON_MOBILE: mt5.DEAL_REASON_MOBILE,
                       mt5.ORDER_REASON_WEB: mt5.DEAL_REASON_WEB}.get(reason, mt5.DEAL_REASON_EXPERT)
        if self.settings.margin_mode == mt5.ACCOUNT_MARGIN_MODE_RETAIL_NETTING:
            pos = self._netting_position(spec)
            if pos is not None:
                if pos.type == pos_type:
                    return self._add_to(pos, volume, price, sl, tp, order_ticket, magic, comment, deal_reason, utc)
                if volume <= pos.volume + _EPS:
                    return self._reduce(pos, volume, price, order_ticket, magic, comment, deal_reason, utc,
                                        mt5.DEAL_ENTRY_OUT)
                # Reversal: one INOUT deal closes the old direction and opens the rest the other way.
                remainder = round(volume - pos.volume, 8)
                profit = self.profit_of(spec, pos.type, pos.volume, pos.price_open, price)
                swap = pos.swap
                ticket = self._deal(order_ticket, deal_type, mt5.DEAL_ENTRY_INOUT, magic, pos.identifier, deal_reason,
                                    volume, price, self._commission(volume), swap, profit, spec, comment, utc)
                msc = self.server_msc(utc)
                pos.ticket, pos.type, pos.volume, pos.price_open = order_ticket, pos_type, remainder, price
                pos.sl, pos.tp, pos.swap, pos.time_update_msc = sl, tp, 0.0, msc
                self.positions = {(order_ticket if v is pos else k): v for k, v in self.positions.items()}
                return ticket
        elif position_ticket and position_ticket in self.positions:
            pos = self.positions[position_ticket]
            if pos.type == pos_type:
                # Only the working rest of a partly filled order reaches here in the same direction.
                return self._add_to(pos, volume, price, sl, tp, order_ticket, magic, comment, deal_reason, utc)
            return self._reduce(pos, volume, price, order_ticket, magic, comment, deal_reason, utc, mt5.DEAL_ENTRY_OUT)
        msc = self.server_msc(utc)
        self.positions[order_ticket] = Position(
            ticket=order_ticket, identifier=order_ticket, spec=spec, type=pos_type, volume=volume,
            price_open=price, sl=sl, tp=tp, magic=magic, comment=comment, time_msc=msc, time_update_msc=msc,
            reason={mt5.DEAL_REASON_CLIENT: mt5.POSITION_REASON_CLIENT, mt5.DEAL_REASON_MOBILE: mt5.POSITION_REASON_MOBILE,
                    mt5.DEAL_REASON_WEB: mt5.POSITION_REASON_WEB}.get(deal_reason, mt5.POSITION_REASON_EXPERT))
        return self._deal(order_ticket, deal_type, mt5.DEAL_ENTRY_IN, magic, order_ticket, deal_reason, volume, price,
                          self._commission(volume), 0.0, 0.0, spec, comment, utc)

    def _add_to(self, pos: Position, volume: float, price: float, sl: float, tp: float, order_ticket: int,
                magic: int, comment: str, reason: int, utc: float) -> int:
        """Increase a position: a netting add, or the rest of a partly filled order."""
        new_volume = round(pos.volume + volume, 8)
        pos.price_open = round((pos.price_open * pos.volume + price * volume) / new_volume, pos.spec.digits + 3)
        pos.volume = new_volume
        if sl:
            pos.sl = sl
        if tp:
            pos.tp = tp
        pos.time_update_msc = self.server_msc(utc)
        deal_type = mt5.DEAL_TYPE_BUY if pos.type == mt5.POSITION_TYPE_BUY else mt5.DEAL_TYPE_SELL
        return self._deal(order_ticket, deal_type, mt5.DEAL_ENTRY_IN, magic, pos.identifier, reason,
                          volume, price, self._commission(volume), 0.0, 0.0, pos.spec, comment, utc)

    def _reduce(self, pos: Position, volume: float, price: float, order_ticket: int, magic: int, comment: str,
                reason: int, utc: float, entry: int) -> int:
        """Close ``volume`` of a position (all of it when equal) at ``price``."""
        closing_type = mt5.DEAL_TYPE_SELL if pos.type == mt5.POSITION_TYPE_BUY else mt5.DEAL_TYPE_BUY
        fraction = min(1.0, volume / pos.volume)
        profit = self.profit_of(pos.spec, pos.type, volume, pos.price_open, price)
        swap = pos.swap * fraction
        commission = 0.0 if entry == mt5.DEAL_ENTRY_OUT_BY else self._commission(volume)
        ticket = self._deal(order_ticket, closing_type, entry, magic, pos.identifier, reason, volume, price,
                            commission, swap, profit, pos.spec, comment, utc)
        remaining = round(pos.volume - volume, 8)
        if remaining <= _EPS:
            del self.positions[pos.ticket]
        else:
            pos.volume = remaining
            pos.swap = self._round_money(pos.swap - swap)
            pos.time_update_msc = self.server_msc(utc)
        return ticket

    # ----------------------------------------------------------------- request checks
    def volume_ok(self, spec: SymbolSpec, volume: float) -> bool:
        if volume < spec.volume_min - _EPS or volume > spec.volume_max + _EPS:
            return False
        steps = volume / spec.volume_step
        return abs(steps - round(steps)) < 1e-7

    def filling_ok(self, spec: SymbolSpec, filling: int, pending: bool) -> bool:
        mode = self.profile.filling_mode
        if filling == mt5.ORDER_FILLING_FOK:
            return bool(mode & bits.FILLING_FOK)
        if filling == mt5.ORDER_FILLING_IOC:
            return bool(mode & bits.FILLING_IOC)
        if filling == mt5.ORDER_FILLING_RETURN:
            return pending or self.profile.execution in (mt5.SYMBOL_TRADE_EXECUTION_MARKET,
                                                         mt5.SYMBOL_TRADE_EXECUTION_EXCHANGE)
        if filling == mt5.ORDER_FILLING_BOC:
            return pending and bool(mode & bits.FILLING_BOC)
        return False

    def stops_ok(self, spec: SymbolSpec, buy: bool, reference: float, sl: float, tp: float) -> bool:
        """SL/TP on the right side of ``reference`` and at least the stops level away from it."""
        gap = spec.stops_level * 10.0**-spec.digits
        if buy:
            if sl and not sl < reference - gap + _EPS * reference:
                return False
            if tp and not tp > reference + gap - _EPS * reference:
                return False
        else:
            if sl and not sl > reference + gap - _EPS * reference:
                return False
            if tp and not tp < reference - gap + _EPS * reference:
                return False
        return True

    def pending_price_ok(self, spec: SymbolSpec, order_type: int, price: float, stoplimit: float) -> bool:
        bid, ask, _ = self.quote(spec)
        gap = spec.stops_level * 10.0**-spec.digits
        if price <= 0:
            return False
        if order_type == mt5.ORDER_TYPE_BUY_LIMIT:
            return price <= ask - gap
        if order_type == mt5.ORDER_TYPE_SELL_LIMIT:
            return price >= bid + gap
        if order_type == mt5.ORDER_TYPE_BUY_STOP:
            return price >= ask + gap
        if order_type == mt5.ORDER_TYPE_SELL_STOP:
            return price <= bid - gap
        if order_type == mt5.ORDER_TYPE_BUY_STOP_LIMIT:
            return price >= ask + gap and 0 < stoplimit <= price - gap
        if order_type == mt5.ORDER_TYPE_SELL_STOP_LIMIT:
            return price <= bid - gap and stoplimit >= price + gap
        return False

    def frozen(self, spec: SymbolSpec, level_price: float, buy_side_close: bool) -> bool:
        """True when the market is within the freeze level of ``level_price``."""
        if not spec.freeze_level or not level_price:
            return False
        bid, ask, _ = self.quote(spec)
        reference = bid if buy_side_close else ask
        return abs(reference - level_price) < spec.freeze_level * 10.0**-spec.digits - _EPS

    def symbol(self, name: str) -> SymbolSpec | None:
        return self.profile.symbols_by_name.get(name)

    # ----------------------------------------------------------------- requests
    def validate(self, req: TradeRequest) -> Outcome:
        """Check a request the way the trade server does; retcode 0 means it may execute."""
        action = req.action
        spec = self.symbol(req.symbol) if req.symbol else None
        if action == mt5.TRADE_ACTION_DEAL:
            return self._validate_deal(req, spec)
        if action == mt5.TRADE_ACTION_PENDING:
            return self._validate_pending(req, spec)
        if action == mt5.TRADE_ACTION_SLTP:
            return self._validate_sltp(req)
        if action == mt5.TRADE_ACTION_MODIFY:
            return self._validate_modify(req)
        if action == mt5.TRADE_ACTION_REMOVE:
            order = self.orders.get(req.order)
            if order is None:
                return Outcome(mt5.TRADE_RETCODE_INVALID_ORDER)
            if self.frozen(order.spec, order.price_open, not is_buy(order.type)):
                return Outcome(mt5.TRADE_RETCODE_FROZEN)
            return Outcome(0)
        if action == mt5.TRADE_ACTION_CLOSE_BY:
            return self._validate_close_by(req)
        return Outcome(mt5.TRADE_RETCODE_INVALID)

    def _common(self, spec: SymbolSpec | None, volume: float) -> int:
        if spec is None:
            return mt5.TRADE_RETCODE_INVALID
        if spec.trade_mode == mt5.SYMBOL_TRADE_MODE_DISABLED:
            return mt5.TRADE_RETCODE_TRADE_DISABLED
        if not self.market_open(spec):
            return mt5.TRADE_RETCODE_MARKET_CLOSED
        if not self.volume_ok(spec, volume):
            return mt5.TRADE_RETCODE_INVALID_VOLUME
        return 0

    def _validate_deal(self, req: TradeRequest, spec: SymbolSpec | None) -> Outcome:
        if req.type not in (mt5.ORDER_TYPE_BUY, mt5.ORDER_TYPE_SELL):
            return Outcome(mt5.TRADE_RETCODE_INVALID_ORDER if spec else mt5.TRADE_RETCODE_INVALID)
        code = self._common(spec, req.volume)
        if code:
            return Outcome(code)
        bid, ask, _ = self.quote(spec)
        buy = req.type == mt5.ORDER_TYPE_BUY
        netting = self.settings.margin_mode == mt5.ACCOUNT_MARGIN_MODE_RETAIL_NETTING
        closing = None
        if req.position and not netting:
            closing = self.positions.get(req.position)
            if closing is None:
                return Outcome(mt5.TRADE_RETCODE_POSITION_CLOSED)
            if closing.spec.name != spec.name or (closing.type == mt5.POSITION_TYPE_BUY) == buy:
                return Outcome(mt5.TRADE_RETCODE_INVALID)
            if req.volume > closing.volume + _EPS:
                return Outcome(mt5.TRADE_RETCODE_INVALID_CLOSE_VOLUME)
        opening = closing is None and self._would_open(spec, req.type, 0)
        if netting:
            current = self._netting_position(spec)
            opening = current is None or (current.type == mt5.POSITION_TYPE_BUY) == buy or req.volume > current.volume + _EPS
        if opening:
            if spec.trade_mode == mt5.SYMBOL_TRADE_MODE_CLOSEONLY:
                return Outcome(mt5.TRADE_RETCODE_CLOSE_ONLY)
            if spec.trade_mode == mt5.SYMBOL_TRADE_MODE_LONGONLY and not buy:
                return Outcome(mt5.TRADE_RETCODE_LONG_ONLY)
            if spec.trade_mode == mt5.SYMBOL_TRADE_MODE_SHORTONLY and buy:
                return Outcome(mt5.TRADE_RETCODE_SHORT_ONLY)
        if not self.filling_ok(spec, req.type_filling, pending=False):
            return Outcome(mt5.TRADE_RETCODE_INVALID_FILL)
        instant = self.profile.execution in (mt5.SYMBOL_TRADE_EXECUTION_INSTANT, mt5.SYMBOL_TRADE_EXECUTION_REQUEST)
        if instant and req.price <= 0:
            return Outcome(mt5.TRADE_RETCODE_INVALID_PRICE, bid=bid, ask=ask)
        if opening and (req.sl or req.tp) and not self.stops_ok(spec, buy, bid if buy else ask, req.sl, req.tp):
            return Outcome(mt5.TRADE_RETCODE_INVALID_STOPS)
        margin_after = self.margin_used((spec, req.type, req.volume)) if opening else self.margin_used()
        if opening and self.equity() - margin_after < 0:
            return Outcome(mt5.TRADE_RETCODE_NO_MONEY, margin_after=margin_after)
        return Outcome(0, bid=bid, ask=ask, margin_after=margin_after)

    def _validate_pending(self, req: TradeRequest, spec: SymbolSpec | None) -> Outcome:
        if req.type not in _PENDING_TYPES:
            return Outcome(mt5.TRADE_RETCODE_INVALID_ORDER if spec else mt5.TRADE_RETCODE_INVALID)
        code = self._common(spec, req.volume)
        if code:
            return Outcome(code)
        if not self.profile.order_mode & _ORDER_MODE_BIT[req.type]:
            return Outcome(mt5.TRADE_RETCODE_INVALID_ORDER)
        if len(self.orders) >= self.settings.limit_orders:
            return Outcome(mt5.TRADE_RETCODE_LIMIT_ORDERS)
        if not self.filling_ok(spec, req.type_filling, pending=True):
            return Outcome(mt5.TRADE_RETCODE_INVALID_FILL)
        code = self._pending_terms_code(spec, req.type, req)
        if code:
            return Outcome(code)
        bid, ask, _ = self.quote(spec)
        return Outcome(0, bid=bid, ask=ask, margin_after=self.margin_used())

    def _expiration_code(self, type_time: int, expiration: int) -> int:
        if type_time not in (mt5.ORDER_TIME_GTC, mt5.ORDER_TIME_DAY, mt5.ORDER_TIME_SPECIFIED,
                             mt5.ORDER_TIME_SPECIFIED_DAY):
            return mt5.TRADE_RETCODE_INVALID_EXPIRATION
        specified = type_time in (mt5.ORDER_TIME_SPECIFIED, mt5.ORDER_TIME_SPECIFIED_DAY)
        if specified and expiration <= self.server_time(self.clock.time()):
            return mt5.TRADE_RETCODE_INVALID_EXPIRATION
        return 0

    def _validate_sltp(self, req: TradeRequest) -> Outcome:
        pos = self.positions.get(req.position)
        if pos is None and self.settings.margin_mode == mt5.ACCOUNT_MARGIN_MODE_RETAIL_NETTING and req.symbol:
            spec = self.symbol(req.symbol)
            pos = self._netting_position(spec) if spec else None
        if pos is None:
            return Outcome(mt5.TRADE_RETCODE_POSITION_CLOSED)
        if not self.market_open(pos.spec):
            return Outcome(mt5.TRADE_RETCODE_MARKET_CLOSED)
        if req.sl == pos.sl and req.tp == pos.tp:
            return Outcome(mt5.TRADE_RETCODE_NO_CHANGES)
        buy = pos.type == mt5.POSITION_TYPE_BUY
        bid, ask, _ = self.quote(pos.spec)
        if not self.stops_ok(pos.spec, buy, bid if buy else ask, req.sl, req.tp):
            return Outcome(mt5.TRADE_RETCODE_INVALID_STOPS)
        if self.frozen(pos.spec, pos.sl, buy) or self.frozen(pos.spec, pos.tp, buy):
            return Outcome(mt5.TRADE_RETCODE_FROZEN)
        return Outcome(0, bid=bid, ask=ask, margin_after=self.margin_used())

    def _validate_modify(self, req: TradeRequest) -> Outcome:
        order = self.orders.get(req.order)
        if order is None or order.type not in _PENDING_TYPES:
            return Outcome(mt5.TRADE_RETCODE_INVALID_ORDER)
        spec = order.spec
        if not self.market_open(spec):
            return Outcome(mt5.TRADE_RETCODE_MARKET_CLOSED)
        if (req.price == order.price_open and req.sl == order.sl and req.tp == order.tp
                and req.stoplimit == order.price_stoplimit and req.type_time == order.type_time
                and req.expiration == order.time_expiration):
            return Outcome(mt5.TRADE_RETCODE_NO_CHANGES)
        if self.frozen(spec, order.price_open, not is_buy(order.type)):
            return Outcome(mt5.TRADE_RETCODE_FROZEN)
        code = self._pending_terms_code(spec, order.type, req)
        if code:
            return Outcome(code)
        return Outcome(0, margin_after=self.margin_used())

    def _pending_terms_code(self, spec: SymbolSpec, order_type: int, req: TradeRequest) -> int:
        """The price, stops and expiry of a pending order being placed or modified."""
        if not self.pending_price_ok(spec, order_type, req.price, req.stoplimit):
            return mt5.TRADE_RETCODE_INVALID_PRICE
        stop_limit = order_type in (mt5.ORDER_TYPE_BUY_STOP_LIMIT, mt5.ORDER_TYPE_SELL_STOP_LIMIT)
        entry = req.stoplimit if stop_limit else req.price
        if not self.stops_ok(spec, is_buy(order_type), entry, req.sl, req.tp):
            return mt5.TRADE_RETCODE_INVALID_STOPS
        return self._expiration_code(req.type_time, req.expiration)

    def _validate_close_by(self, req: TradeRequest) -> Outcome:
        if self.settings.margin_mode != mt5.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING:
            return Outcome(mt5.TRADE_RETCODE_INVALID)
        pos, by = self.positions.get(req.position), self.positions.get(req.position_by)
        if pos is None or by is None:
            return Outcome(mt5.TRADE_RETCODE_POSITION_CLOSED)
        if pos.spec.name != by.spec.name or pos.type == by.type:
            return Outcome(mt5.TRADE_RETCODE_INVALID)
        if not self.profile.order_mode & bits.ORDER_CLOSEBY:
            return Outcome(mt5.TRADE_RETCODE_INVALID_ORDER)
        if not self.market_open(pos.spec):
            return Outcome(mt5.TRADE_RETCODE_MARKET_CLOSED)
        return Outcome(0, margin_after=self.margin_used())

    def send(self, req: TradeRequest, *, fault: int = 0) -> Outcome:
        """Execute a request. ``fault`` is an injected retcode (requote, partial fill, rejection)."""
        check = self.validate(req)
        if check.retcode:
            return check
        action = req.action
        utc = self.clock.time()
        if action == mt5.TRADE_ACTION_DEAL:
            return self._send_deal(req, check, fault, utc)
        if fault and fault not in (mt5.TRADE_RETCODE_REQUOTE, mt5.TRADE_RETCODE_DONE_PARTIAL,
                                   mt5.TRADE_RETCODE_PRICE_OFF):
            return Outcome(fault)
        if action == mt5.TRADE_ACTION_PENDING:
            spec = self.symbol(req.symbol)
            ticket = self._new_order_ticket()
            self.orders[ticket] = Order(
                ticket=ticket, spec=spec, type=req.type, type_time=req.type_time, type_filling=req.type_filling,
                state=mt5.ORDER_STATE_PLACED, magic=req.magic, position_id=0, position_by_id=0,
                reason=mt5.ORDER_REASON_EXPERT, volume_initial=req.volume, volume_current=req.volume,
                price_open=req.price, sl=req.sl, tp=req.tp, price_stoplimit=req.stoplimit, comment=req.comment,
                time_setup_msc=self.server_msc(utc),
                time_expiration=req.expiration if req.type_time in (mt5.ORDER_TIME_SPECIFIED, mt5.ORDER_TIME_SPECIFIED_DAY) else 0)
            self._watch(spec)
            self.version += 1
            return Outcome(mt5.TRADE_RETCODE_DONE, order=ticket, volume=req.volume, bid=check.bid, ask=check.ask)
        if action == mt5.TRADE_ACTION_SLTP:
            pos = self.positions.get(req.position) or self._netting_position(self.symbol(req.symbol))
            pos.sl, pos.tp = req.sl, req.tp
            pos.time_update_msc = self.server_msc(utc)
            self._watch(pos.spec)
            self.version += 1
            return Outcome(mt5.TRADE_RETCODE_DONE, bid=check.bid, ask=check.ask)
        if action == mt5.TRADE_ACTION_MODIFY:
            order = self.orders[req.order]
            order.price_open, order.sl, order.tp, order.price_stoplimit = req.price, req.sl, req.tp, req.stoplimit
            order.type_time = req.type_time
            order.time_expiration = req.expiration if req.type_time in (mt5.ORDER_TIME_SPECIFIED, mt5.ORDER_TIME_SPECIFIED_DAY) else 0
            self.version += 1
            return Outcome(mt5.TRADE_RETCODE_DONE, order=order.ticket)
        if action == mt5.TRADE_ACTION_REMOVE:
            order = self.orders[req.order]
            self._archive_order(order, mt5.ORDER_STATE_CANCELED, utc)
            return Outcome(mt5.TRADE_RETCODE_DONE, order=order.ticket)
        return self._send_close_by(req, utc)

    def _send_deal(self, req: TradeRequest, check: Outcome, fault: int, utc: float) -> Outcome:
        spec = self.symbol(req.symbol)
        bid, ask = check.bid, check.ask
        buy = req.type == mt5.ORDER_TYPE_BUY
        market_price = ask if buy else bid
        priced = self.profile.execution in (mt5.SYMBOL_TRADE_EXECUTION_INSTANT, mt5.SYMBOL_TRADE_EXECUTION_REQUEST)
        if fault == mt5.TRADE_RETCODE_PRICE_OFF:
            return Outcome(fault)
        if fault == mt5.TRADE_RETCODE_REQUOTE:
            return Outcome(mt5.TRADE_RETCODE_REQUOTE, bid=bid, ask=ask)
        # Instant and request execution take the requested price and deviation only as the worst
        # slippage the trader accepts: the broker deals at its own price of the moment, which the
        # market may have moved since the request was priced, and requotes beyond the deviation.
        # Filling at the requested price would hide exactly the slippage the copier measures.
        if priced and abs(req.price - market_price) > req.deviation * 10.0**-spec.digits + _EPS:
            return Outcome(mt5.TRADE_RETCODE_REQUOTE, bid=bid, ask=ask)
        price = market_price
        if fault and fault != mt5.TRADE_RETCODE_DONE_PARTIAL:
            return Outcome(fault, bid=bid, ask=ask)
        volume = req.volume
        partial = False
        if fault == mt5.TRADE_RETCODE_DONE_PARTIAL and req.type_filling != mt5.ORDER_FILLING_FOK:
            steps = int(round(req.volume / spec.volume_step))
            part = max(1, int(steps * self.rng.uniform(0.3, 0.8)))
            if part < steps:
                volume = round(part * spec.volume_step, 8)
                partial = True
        order_ticket = self._new_order_ticket()
        position = req.position if self.settings.margin_mode != mt5.ACCOUNT_MARGIN_MODE_RETAIL_NETTING else 0
        self._watch(spec)
        deal = self._execute(spec, req.type, volume, price, req.sl, req.tp, req.magic, req.comment, order_ticket,
                             position, mt5.ORDER_REASON_EXPERT, utc)
        msc = self.server_msc(utc)
        position_id = next((d.position_id for d in reversed(self.deals) if d.ticket == deal), 0)
        remainder = round(req.volume - volume, 8)
        state = mt5.ORDER_STATE_PARTIAL if partial else mt5.ORDER_STATE_FILLED
        if partial and req.type_filling == mt5.ORDER_FILLING_RETURN:
            # RETURN keeps the unfilled rest working; it fills on a later tick.
            self.orders[order_ticket] = Order(
                ticket=order_ticket, spec=spec, type=req.type, type_time=mt5.ORDER_TIME_GTC,
                type_filling=req.type_filling, state=mt5.ORDER_STATE_PARTIAL, magic=req.magic,
                position_id=position_id, position_by_id=0, reason=mt5.ORDER_REASON_EXPERT,
                volume_initial=req.volume, volume_current=remainder, price_open=price, sl=req.sl, tp=req.tp,
                price_stoplimit=0.0, comment=req.comment, time_setup_msc=msc, time_expiration=0)
        else:
            self.history_orders.append(TradeOrder((
                order_ticket, msc // 1000, msc, msc // 1000, msc, 0, req.type, mt5.ORDER_TIME_GTC, req.type_filling,
                state, req.magic, position_id, 0, mt5.ORDER_REASON_EXPERT, req.volume,
                remainder if partial else 0.0, price, req.sl, req.tp, price, 0.0, spec.name, req.comment, "")))
        self.version += 1
        return Outcome(mt5.TRADE_RETCODE_DONE_PARTIAL if partial else mt5.TRADE_RETCODE_DONE, deal=deal,
                       order=order_ticket, volume=volume, price=price, bid=bid, ask=ask)

    def _send_close_by(self, req: TradeRequest, utc: float) -> Outcome:
        pos, by = self.positions[req.position], self.positions[req.position_by]
        volume = min(pos.volume, by.volume)
        ticket = self._new_order_ticket()
        msc = self.server_msc(utc)
        # Both legs close at the opposite position's open price, so the pair's combined profit is
        # exactly the spread between their opening prices and no new market price is involved.
        price = by.price_open
        self.history_orders.append(TradeOrder((
            ticket, msc // 1000, msc, msc // 1000, msc, 0, mt5.ORDER_TYPE_CLOSE_BY, mt5.ORDER_TIME_GTC,
            mt5.ORDER_FILLING_FOK, mt5.ORDER_STATE_FILLED, req.magic, pos.identifier, by.identifier,
            mt5.ORDER_REASON_EXPERT, volume, 0.0, price, 0.0, 0.0, price, 0.0, pos.spec.name, req.comment, "")))
        deal = self._reduce(pos, volume, price, ticket, req.magic, req.comment, mt5.DEAL_REASON_EXPERT, utc,
                            mt5.DEAL_ENTRY_OUT_BY)
        self._reduce(by, volume, price, ticket, req.magic, req.comment, mt5.DEAL_REASON_EXPERT, utc,
                     mt5.DEAL_ENTRY_OUT_BY)
        return Outcome(mt5.TRADE_RETCODE_DONE, deal=deal, order=ticket, volume=volume, price=price)

    # ----------------------------------------------------------------- snapshots
    def positions_tuples(self) -> tuple[TradePosition, ...]:
        """Every open position as the package's TradePosition, at the latest tick.

        A poller asks for this every few milliseconds, so the fields that change only with a trade
        are kept pre-built per position and only price_current and profit are computed per tick.
        """
        if self._static_stamp != self.version:
            self._static_rows = [
                (pos.spec.name, pos.spec, pos.type == mt5.POSITION_TYPE_BUY, pos.price_open, pos.volume, [
                    pos.ticket, pos.time_msc // 1000, pos.time_msc, pos.time_update_msc // 1000,
                    pos.time_update_msc, pos.type, pos.magic, pos.identifier, pos.reason, pos.volume,
                    pos.price_open, pos.sl, pos.tp, 0.0, pos.swap, 0.0, pos.spec.name, pos.comment,
                    pos.external_id])
                for pos in self.positions.values()]
            self._static_stamp = self.version
        new = tuple.__new__  # the checked constructor is for callers; these fields are known-good
        scale = 10.0**self.settings.currency_digits
        terms: dict[str, tuple[float, float, float]] = {}
        out = []
        append = out.append
        for name, spec, buy, price_open, volume, row in self._static_rows:
            t = terms.get(name)
            if t is None:
                t = terms[name] = self._symbol_terms(spec)
            if buy:
                row[13] = current = t[0]
                money = (current - price_open) * volume * t[2] * scale
            else:
                row[13] = current = t[1]
                money = (price_open - current) * volume * t[2] * scale
            row[15] = _money(money) / scale
            append(new(TradePosition, row))
        return tuple(out)


    def order_tuple(self, order: Order) -> TradeOrder:
        bid, ask, _ = self.quote(order.spec)
        current = ask if is_buy(order.type) else bid
        return TradeOrder((
            order.ticket, order.time_setup_msc // 1000, order.time_setup_msc, 0, 0, order.time_expiration,
            order.type, order.type_time, order.type_filling, order.state, order.magic, order.position_id,
            order.position_by_id, order.reason, order.volume_initial, order.volume_current, order.price_open,
            order.sl, order.tp, current, order.price_stoplimit, order.spec.name, order.comment, order.external_id))


def tick_value(engine: TradeEngine, spec: SymbolSpec) -> float:
    """Value in account currency of one tick move for one lot (MT5's trade_tick_value)."""
    inst = INSTRUMENTS[spec.instrument]
    tick = 10.0**-spec.digits
    return engine.to_account(tick * spec.contract_size, inst.profit)

