"""The symbols of one simulated cTrader account as its broker sets them: the light list and the
full symbol (volumes in cents, schedule, holidays, trading mode), the assets, and the checks a
trade request passes on the symbol. A change the broker makes is announced with a
ProtoOASymbolChangedEvent at the account's next poll.
"""

from __future__ import annotations

from copier_gui.clock import Clock
from copier_gui.ctrader_messages import messages as M
from copier_gui.ctrader_messages import model as MM
from copier_gui.sim.ctrader.profiles import ASSETS, CTraderBroker, CTraderSymbol, Holiday
from copier_gui.sim.ctrader.refusal import TradeRefusal
from copier_gui.sim.ctrader.schedule import TIME_ZONE, holiday_message, intervals
from copier_gui.sim.instruments import INSTRUMENTS


class SymbolBook:
    def __init__(self, account_id: int, broker: CTraderBroker, clock: Clock) -> None:
        self._account_id = account_id
        self._broker = broker
        self._clock = clock
        self._notices: list[M.ProtoOASymbolChangedEvent] = []
        self.trading_modes: dict[int, int] = {s.symbol_id: MM.ENABLED for s in broker.symbols}
        self.holidays: dict[int, list[Holiday]] = {
            s.symbol_id: [] if s.category == "Crypto" else list(broker.holidays) for s in broker.symbols}
        # One category per asset class here ("Forex", "Metals", ...), numbered in the order met.
        names = list(dict.fromkeys(s.category for s in broker.symbols))
        self.category_ids = {name: i + 1 for i, name in enumerate(names)}

    def light(self) -> list[MM.ProtoOALightSymbol]:
        assets = self._broker.asset_ids
        rows = []
        for s in self._broker.symbols:
            inst = INSTRUMENTS[s.instrument]
            rows.append(MM.ProtoOALightSymbol(symbolId=s.symbol_id, symbolName=s.name, enabled=True,
                                              description=s.description, baseAssetId=assets[inst.base],
                                              quoteAssetId=assets[inst.profit],
                                              symbolCategoryId=self.category_ids[s.category]))
        return rows

    def conversion(self, first_asset: int, last_asset: int) -> list[MM.ProtoOALightSymbol] | None:
        """The shortest chain of symbols that converts ``first_asset`` into ``last_asset`` (either
        side of each symbol may be the one held), or None when the broker's symbols do not link them."""
        light = {s.symbolId: s for s in self.light()}
        edges: dict[int, list[tuple[int, int]]] = {}
        for s in light.values():
            if s.baseAssetId != s.quoteAssetId:
                edges.setdefault(s.baseAssetId, []).append((s.quoteAssetId, s.symbolId))
                edges.setdefault(s.quoteAssetId, []).append((s.baseAssetId, s.symbolId))
        paths: dict[int, list[int]] = {first_asset: []}
        frontier = [first_asset]
        while frontier and last_asset not in paths:
            nearer = []
            for asset in frontier:
                for other, symbol_id in edges.get(asset, []):
                    if other not in paths:
                        paths[other] = [*paths[asset], symbol_id]
                        nearer.append(other)
            frontier = nearer
        if last_asset not in paths or first_asset == last_asset:
            return None
        return [light[i] for i in paths[last_asset]]

    def asset_classes(self) -> list[MM.ProtoOAAssetClass]:
        return [MM.ProtoOAAssetClass(id=i, name=name, sortingNumber=i) for name, i in self.category_ids.items()]

    def categories(self) -> list[MM.ProtoOASymbolCategory]:
        return [MM.ProtoOASymbolCategory(id=i, assetClassId=i, name=name, sortingNumber=i)
                for name, i in self.category_ids.items()]

    def assets(self) -> list[MM.ProtoOAAsset]:
        return [MM.ProtoOAAsset(assetId=self._broker.asset_ids[name], name=name, displayName=name, digits=digits)
                for name, digits in ASSETS]

    def full(self, symbol: CTraderSymbol) -> MM.ProtoOASymbol:
        return MM.ProtoOASymbol(
            symbolId=symbol.symbol_id, digits=symbol.digits, pipPosition=symbol.pip_position, enableShortSelling=True,
            minVolume=int(round(symbol.min_volume * 100)), stepVolume=int(round(symbol.step_volume * 100)),
            maxVolume=int(round(symbol.max_volume * 100)), lotSize=symbol.lot_size * 100,
            tradingMode=self.trading_modes[symbol.symbol_id], commissionType=MM.USD_PER_LOT,
            preciseTradingCommissionRate=int(round(abs(self._broker.commission_per_lot) * 10**8)),
            schedule=intervals(symbol.instrument), scheduleTimeZone=TIME_ZONE,
            holiday=[holiday_message(h) for h in self.holidays[symbol.symbol_id]])

    def add_holiday(self, holiday: Holiday, *symbol_ids: int) -> None:
        """The broker declares a holiday on these symbols (all but crypto when none is named)."""
        changed = []
        for symbol in self._broker.symbols:
            if symbol.symbol_id in symbol_ids or (not symbol_ids and symbol.category != "Crypto"):
                self.holidays[symbol.symbol_id].append(holiday)
                changed.append(symbol.symbol_id)
        if changed:
            self._changed(*changed)

    def set_trading_mode(self, symbol_id: int, mode: int) -> None:
        """The broker opens or closes a symbol to trading (ProtoOATradingMode). The engine still
        triggers working orders and stops whatever the mode."""
        self.trading_modes[symbol_id] = mode
        self._changed(symbol_id)

    def _changed(self, *symbol_ids: int) -> None:
        self._notices.append(M.ProtoOASymbolChangedEvent(ctidTraderAccountId=self._account_id,
                                                         symbolId=list(symbol_ids)))

    def take_notices(self) -> list[M.ProtoOASymbolChangedEvent]:
        """The changes to announce since the last call."""
        notices, self._notices = self._notices, []
        return notices

    def check_mode(self, symbol: CTraderSymbol, *, closing: bool) -> None:
        mode = self.trading_modes[symbol.symbol_id]
        if mode == MM.ENABLED or (closing and mode == MM.CLOSE_ONLY_MODE):
            return
        what = "only closes" if mode == MM.CLOSE_ONLY_MODE else "no trading"
        raise TradeRefusal("TRADING_DISABLED", f"Trading is disabled for {symbol.name}: {what}")

    def check_holiday(self, symbol: CTraderSymbol) -> None:
        now = self._clock.time()
        for holiday in self.holidays[symbol.symbol_id]:
            if holiday.covers(now):
                raise TradeRefusal("SYMBOL_HAS_HOLIDAY", f"{symbol.name} does not trade today: {holiday.name}")
