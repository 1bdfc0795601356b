"""cTrader broker profiles: how simulated cTrader brokers differ, in the Open API's own terms.

A cTrader broker numbers its symbols itself (the same EURUSD has another symbolId elsewhere),
names them its own way, counts volume in units (on the wire in cents of a unit), sets each
symbol's minimum and step, charges commission per side, and runs hedged or netted accounts. Each
profile here also becomes the MT5-style profile the shared trade engine runs on, so a cTrader
account fills, stops out and accrues swap exactly as a simulated MT5 account on the same market.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

from copier_gui.sim import bits
from copier_gui.sim import constants as mt5
from copier_gui.sim.profiles import BrokerProfile, SymbolSpec

# ProtoOAAccountType (OpenApiModelMessages.proto), written out so the profiles need no messages.
HEDGED = 0
NETTED = 1
# The assets the market's instruments are made of, with their precision; each broker numbers them.
ASSETS = (("USD", 2), ("EUR", 2), ("GBP", 2), ("JPY", 0), ("ZAR", 2), ("XAU", 2), ("XAG", 3), ("BTC", 8),
          ("ETH", 8))


@dataclass(frozen=True, slots=True)
class Holiday:
    """A day (or part of one, seconds from its 00:00 UTC) without trading; ``recurring``: every year."""

    holiday_id: int
    name: str
    date: _dt.date
    recurring: bool = False
    start_second: int = 0
    end_second: int = 86_400

    def covers(self, utc: float) -> bool:
        moment = _dt.datetime.fromtimestamp(utc, _dt.UTC)
        day = moment.date()
        if self.recurring:
            if (day.month, day.day) != (self.date.month, self.date.day):
                return False
        elif day != self.date:
            return False
        second = moment.hour * 3600 + moment.minute * 60 + moment.second
        return self.start_second <= second < self.end_second


@dataclass(frozen=True, slots=True)
class CTraderSymbol:
    """One instrument as a cTrader broker offers it; volumes in units (lots x lot size)."""

    symbol_id: int
    name: str
    instrument: str  # the simulated market's instrument key
    lot_size: int  # units in one lot (the contract size)
    digits: int
    pip_position: int
    min_volume: float
    step_volume: float
    max_volume: float
    spread_factor: float = 1.0
    description: str = ""
    category: str = "Forex"

    def spec(self, spread_factor: float = 1.0) -> SymbolSpec:
        """The symbol as the MT5-style trade engine sees it: lots of ``lot_size`` units."""
        return SymbolSpec(
            name=self.name, instrument=self.instrument, contract_size=float(self.lot_size),
            volume_min=self.min_volume / self.lot_size, volume_step=self.step_volume / self.lot_size,
            volume_max=self.max_volume / self.lot_size, digits=self.digits, stops_level=0,
            freeze_level=0, spread_factor=self.spread_factor * spread_factor)


@dataclass(frozen=True, slots=True)
class CTraderBroker:
    name: str
    broker_title: str  # brokerTitleShort in the account list
    broker_name: str  # ProtoOATrader.brokerName
    currency: str
    deposit_asset_id: int
    account_type: int  # HEDGED or NETTED
    leverage: int
    # Money charged per side per lot (100 000 units of a currency pair), in the deposit currency,
    # as cTrader brokers quote it ("3 USD per 100k traded"); negative, as deals book it.
    commission_per_lot: float
    symbols: tuple[CTraderSymbol, ...]
    money_digits: int = 2
    server_utc_offset_hours: int = 0
    stop_out_level: float = 50.0
    default_balance: float = 10_000.0
    quote_offset_points: int = 0
    spread_factor_all: float = 1.0  # the broker's spreads against the market's, on every symbol
    holidays: tuple[Holiday, ...] = ()  # the broker's, on every symbol but crypto
    first_asset_id: int = 1  # the broker numbers the assets from here; the deposit asset keeps its id
    by_id: dict[int, CTraderSymbol] = field(init=False, repr=False, compare=False)
    asset_ids: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {s.symbol_id: s for s in self.symbols})
        ids = {name: self.first_asset_id + i for i, (name, _) in enumerate(ASSETS)}
        ids[self.currency] = self.deposit_asset_id
        if len(set(ids.values())) != len(ids):
            raise ValueError(f"{self.name}: the deposit asset id {self.deposit_asset_id} is another asset's")
        object.__setattr__(self, "asset_ids", ids)

    def engine_profile(self) -> BrokerProfile:
        """The same broker as the shared trade engine's profile."""
        return BrokerProfile(
            name=self.name, company=self.broker_name, server=f"{self.broker_title}-cTrader",
            currency=self.currency,
            margin_mode=(mt5.ACCOUNT_MARGIN_MODE_RETAIL_NETTING if self.account_type == NETTED
                         else mt5.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING),
            leverage=self.leverage, execution=mt5.SYMBOL_TRADE_EXECUTION_MARKET,
            filling_mode=bits.FILLING_FOK | bits.FILLING_IOC,
            server_utc_offset_hours=self.server_utc_offset_hours,
            commission_per_lot=self.commission_per_lot,
            symbols=tuple(s.spec(self.spread_factor_all) for s in self.symbols), terminal_path="",
            stop_out_level=self.stop_out_level, default_balance=self.default_balance,
            quote_offset_points=self.quote_offset_points)


def _fx(symbol_id, name, instrument, digits, *, min_units, step_units, description, **kw):
    return CTraderSymbol(symbol_id, name, instrument, 100_000, digits, digits - 1, min_units, step_units,
                         10_000_000, description=description, **kw)


CTRADER_PROFILES: dict[str, CTraderBroker] = {
    b.name: b
    for b in (
        # A raw-spread cTrader ECN: plain names, ids of its own, 0.01-lot steps (1 000 units) on
        # forex, gold in whole ounces, the Dow in single units, bitcoin in hundredths; 3 USD per
        # lot a side; a hedged USD account.
        CTraderBroker(
            name="lumen_ctrader",
            broker_title="Lumen",
            broker_name="Lumen Prime Ltd",
            currency="USD",
            deposit_asset_id=15,
            account_type=HEDGED,
            leverage=500,
            commission_per_lot=-3.0,
            symbols=(
                _fx(1, "EURUSD", "EURUSD", 5, min_units=1_000, step_units=1_000, description="Euro vs US Dollar"),
                _fx(2, "GBPUSD", "GBPUSD", 5, min_units=1_000, step_units=1_000,
                    description="British Pound vs US Dollar"),
                _fx(4, "USDJPY", "USDJPY", 3, min_units=1_000, step_units=1_000,
                    description="US Dollar vs Japanese Yen"),
                _fx(3, "EURJPY", "EURJPY", 3, min_units=1_000, step_units=1_000, description="Euro vs Japanese Yen"),
                CTraderSymbol(41, "XAUUSD", "XAUUSD", 100, 2, 1, 1, 1, 10_000, description="Gold vs US Dollar",
                              category="Metals"),
                CTraderSymbol(10015, "US30", "US30", 1, 1, 0, 1, 1, 5_000, description="Wall Street 30",
                              category="Indices"),
                CTraderSymbol(22395, "BTCUSD", "BTCUSD", 1, 2, 0, 0.01, 0.01, 100, description="Bitcoin vs US Dollar",
                              category="Crypto"),
            ),
            spread_factor_all=0.7,
        ),
        # A European market maker on cTrader: slashed names and its own aliases (GOLD, US 30),
        # other symbolIds, 0.1-lot minimum with 0.01-lot steps on forex, gold from 10 oz, the Dow
        # in tenths; 2.5 EUR per lot a side; a netted EUR account (one position per symbol).
        CTraderBroker(
            name="kestrel_netting",
            broker_title="Kestrel",
            broker_name="Kestrel Markets Europe",
            currency="EUR",
            deposit_asset_id=3,
            account_type=NETTED,
            leverage=30,
            commission_per_lot=-2.5,
            symbols=(
                _fx(101, "EUR/USD", "EURUSD", 5, min_units=10_000, step_units=1_000,
                    description="Euro vs US Dollar"),
                _fx(102, "GBP/USD", "GBPUSD", 5, min_units=10_000, step_units=1_000,
                    description="British Pound vs US Dollar"),
                _fx(105, "USD/JPY", "USDJPY", 3, min_units=10_000, step_units=1_000,
                    description="US Dollar vs Japanese Yen"),
                _fx(109, "EUR/GBP", "EURGBP", 5, min_units=10_000, step_units=1_000,
                    description="Euro vs British Pound"),
                CTraderSymbol(131, "GOLD", "XAUUSD", 100, 2, 1, 10, 1, 5_000, description="Spot Gold",
                              category="Metals"),
                CTraderSymbol(207, "US 30", "US30", 1, 1, 0, 0.1, 0.1, 1_000, description="Wall Street 30 Cash",
                              category="Indices"),
                CTraderSymbol(301, "BTC/USD", "BTCUSD", 1, 2, 0, 0.01, 0.01, 20, description="Bitcoin",
                              category="Crypto"),
            ),
            spread_factor_all=1.4,
            holidays=(Holiday(1, "Christmas Day", _dt.date(2026, 12, 25), recurring=True),),
            first_asset_id=101,
            server_utc_offset_hours=0,
            default_balance=10_000.0,
            quote_offset_points=1,
        ),
    )
}
