"""One cTrader account's symbols and quotes: the broker's names and ids, each symbol's full record
read when first needed, the assets that name currencies, and spot prices from subscriptions.

A broker numbers and names its symbols itself ("EUR/USD" as 101 here, "EURUSD" as 1 there), so
everything is looked up per account. Quotes come from spot subscriptions: the first spot event
after subscribing carries the latest price even in a quiet market, so a quote that may be stale
is refreshed by subscribing again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable

from google.protobuf.message import Message

from copier_gui import ctrader_messages as cm
from copier_gui.clock import Clock
from copier_gui.connectors.ctrader.errors import OpenApiError
from copier_gui.connectors.ctrader.translate import (
    conversion,
    currencies,
    spot_price,
    to_symbol_spec,
)
from copier_gui.core.model import SymbolSpec

log = logging.getLogger(__name__)

M = cm.messages
MM = cm.model

Ask = Callable[[Message], Awaitable[Message]]

# A quote older than this is asked for again before it prices an order (a subscription can die
# silently with a session); a new subscription's first price is awaited this long.
QUOTE_FRESH_S = 2.0
QUOTE_WAIT_S = 3.0
# Digits used before a symbol's record is read: prices are then left as the server sent them.
_UNKNOWN_DIGITS = 10


class SymbolBook:
    def __init__(self, ctid: int, ask: Ask, clock: Clock) -> None:
        self._ctid = ctid
        self._ask = ask
        self._clock = clock
        self.light: dict[int, MM.ProtoOALightSymbol] = {}
        self.ids: dict[str, int] = {}
        self.full: dict[int, MM.ProtoOASymbol] = {}
        self.assets: dict[int, str] | None = None
        self.assets_unsupported = False
        self.currency = ""  # the deposit currency, once the assets are known
        self.quotes: dict[int, tuple[float, float, float]] = {}  # id -> (bid, ask, monotonic at receipt)
        self.subscribed: set[int] = set()
        self.version = 0  # bumped by every new quote or record
        self._arrived = asyncio.Event()

    # ------------------------------------------------------------------ names
    def name(self, symbol_id: int) -> str:
        light = self.light.get(symbol_id)
        return light.symbolName if light is not None else f"#{symbol_id}"

    def digits(self, symbol_id: int) -> int:
        full = self.full.get(symbol_id)
        return int(full.digits) if full is not None else _UNKNOWN_DIGITS

    def quote(self, symbol_id: int) -> tuple[float, float]:
        bid, ask, _ = self.quotes.get(symbol_id, (0.0, 0.0, 0.0))
        return bid, ask

    def pair(self, symbol_id: int) -> tuple[str, str]:
        return currencies(self.light[symbol_id], self.assets or {})

    # ------------------------------------------------------------------ reads
    async def load_assets(self, deposit_asset_id: int) -> None:
        if self.assets is None and not self.assets_unsupported:
            try:
                reply = await self._ask(M.ProtoOAAssetListReq(ctidTraderAccountId=self._ctid))
                self.assets = {a.assetId: a.name for a in reply.asset}
            except OpenApiError as exc:
                if exc.code != "UNSUPPORTED_MESSAGE":
                    raise
                self.assets_unsupported = True
                log.info("the Open API server lists no assets: the currency of account %d stays unknown", self._ctid)
        if self.assets:
            self.currency = self.assets.get(deposit_asset_id, "")

    async def load_list(self) -> None:
        reply = await self._ask(M.ProtoOASymbolsListReq(ctidTraderAccountId=self._ctid))
        self.light = {s.symbolId: s for s in reply.symbol}
        self.ids = {s.symbolName: s.symbolId for s in reply.symbol}

    async def load_full(self, ids: Iterable[int], *, fresh: bool = False) -> None:
        wanted = sorted({i for i in ids if (fresh or i not in self.full) and i in self.light})
        if not wanted:
            return
        reply = await self._ask(M.ProtoOASymbolByIdReq(ctidTraderAccountId=self._ctid, symbolId=wanted))
        for symbol in reply.symbol:
            self.full[symbol.symbolId] = symbol
        self.version += 1

    def forget(self, symbol_ids: Iterable[int]) -> None:
        """Records to read again (the broker changed the symbol, or refused an order on it)."""
        for symbol_id in symbol_ids:
            self.full.pop(symbol_id, None)

    def spec(self, symbol_id: int) -> SymbolSpec:
        light = self.light[symbol_id]
        base, quote = self.pair(symbol_id)
        bid, ask = self.quote(symbol_id)
        return to_symbol_spec(light, self.full[symbol_id], base=base, quote=quote,
                              quote_to_deposit=conversion(quote, self.currency, self._mids()), bid=bid, ask=ask)

    def _mids(self) -> dict[tuple[str, str], float]:
        mids = {}
        for symbol_id, (bid, ask, _) in self.quotes.items():
            if symbol_id in self.light and bid > 0 and ask > 0:
                pair = self.pair(symbol_id)
                if all(pair):
                    mids[pair] = (bid + ask) / 2
        return mids

    def conversion_pairs(self, symbol_id: int) -> set[int]:
        """The symbols whose prices turn this one's quote currency into the deposit currency:
        one pair, or two through a third currency (the dollar first); none when no pair links them."""
        _, quote = self.pair(symbol_id)
        deposit = self.currency
        if not quote or not deposit or quote == deposit:
            return set()
        by_pair = {}
        for other in self.light:
            base, counter = self.pair(other)
            if base and counter:
                by_pair[frozenset((base, counter))] = other
        direct = by_pair.get(frozenset((quote, deposit)))
        if direct is not None:
            return {direct}
        between = sorted({c for pair in by_pair for c in pair} - {quote, deposit}, key=lambda c: (c != "USD", c))
        for other in between:
            first, second = by_pair.get(frozenset((quote, other))), by_pair.get(frozenset((other, deposit)))
            if first is not None and second is not None:
                return {first, second}
        return set()

    # ------------------------------------------------------------------ quotes
    def on_spot(self, spot: M.ProtoOASpotEvent) -> None:
        old = self.quotes.get(spot.symbolId, (0.0, 0.0, 0.0))
        # A spot event may carry one side only: the other keeps its last value.
        bid = spot_price(spot.bid) if spot.HasField("bid") else old[0]
        ask = spot_price(spot.ask) if spot.HasField("ask") else old[1]
        self.quotes[spot.symbolId] = (bid, ask, self._clock.monotonic())
        self.version += 1
        self._arrived.set()

    def lost_subscriptions(self) -> None:
        """A new authorization starts without the old one's subscriptions."""
        self.subscribed.clear()

    async def subscribe(self, symbol_ids: Iterable[int]) -> None:
        wanted = sorted({i for i in symbol_ids if i not in self.subscribed and i in self.light})
        if not wanted:
            return
        self.subscribed.update(wanted)
        try:
            await self._ask(M.ProtoOASubscribeSpotsReq(ctidTraderAccountId=self._ctid, symbolId=wanted))
        except OpenApiError as exc:
            if exc.code != "ALREADY_SUBSCRIBED":
                self.subscribed.difference_update(wanted)
                raise

    async def follow(self, symbol_ids: Iterable[int], *, wait: float = QUOTE_WAIT_S) -> None:
        """Subscribe to these symbols and wait (up to ``wait`` s) for a price of each."""
        wanted = {i for i in symbol_ids if i in self.light}
        await self.subscribe(wanted)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                while any(i not in self.quotes for i in wanted):
                    self._arrived.clear()
                    await self._arrived.wait()

    async def fresh_quote(self, symbol_id: int) -> tuple[float, float]:
        """The symbol's quote, at most ``QUOTE_FRESH_S`` old (0, 0 when none comes)."""
        known = self.quotes.get(symbol_id)
        if known is not None and symbol_id in self.subscribed and \
                self._clock.monotonic() - known[2] <= QUOTE_FRESH_S:
            return known[0], known[1]
        if symbol_id in self.subscribed:
            with contextlib.suppress(OpenApiError):
                await self._ask(M.ProtoOAUnsubscribeSpotsReq(ctidTraderAccountId=self._ctid, symbolId=[symbol_id]))
            self.subscribed.discard(symbol_id)
        asked_at = self._clock.monotonic()
        await self.subscribe([symbol_id])
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(QUOTE_WAIT_S):
                while self.quotes.get(symbol_id, (0.0, 0.0, -1.0))[2] < asked_at:
                    self._arrived.clear()
                    await self._arrived.wait()
        return self.quote(symbol_id)
