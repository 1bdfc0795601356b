"""Broker profiles: how simulated brokers differ, the way real ones do.

Each profile is a trade server with its own symbol names (suffixes and aliases), contract sizes,
volume limits, stop and freeze levels, filling modes, execution mode, account currency and margin
mode. These differences are the raw material of execution drift, so the copier meets them here
exactly as it meets them at real brokers.

Every broker carries EURUSD, GBPUSD, USDJPY, EURJPY, gold, the Dow and bitcoin under its own
names; beyond those each carries its own list (crosses, an exotic, silver, the S&P 500, the
Nikkei, ether), so a master's symbol may have no counterpart at a slave. Contract sizes differ
where they do at real brokers: gold of 100 or 10 ounces, indices at 1, 10 or 100 per point, ether
at 1 or 10 per lot; each symbol's tick value follows from its own contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from copier_gui.sim import constants as mt5
from copier_gui.sim.bits import FILLING_FOK, FILLING_IOC


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """One instrument as a given broker offers it."""

    name: str
    instrument: str
    contract_size: float
    volume_min: float
    volume_step: float
    volume_max: float
    digits: int
    stops_level: int
    freeze_level: int
    spread_factor: float = 1.0
    trade_mode: int = mt5.SYMBOL_TRADE_MODE_FULL
    swap_long: float = -4.0
    swap_short: float = 1.0
    selected: bool = True


@dataclass(frozen=True, slots=True)
class BrokerProfile:
    name: str
    company: str
    server: str
    currency: str
    margin_mode: int
    leverage: int
    execution: int
    filling_mode: int
    server_utc_offset_hours: int
    commission_per_lot: float
    symbols: tuple[SymbolSpec, ...]
    terminal_path: str
    stop_out_level: float = 50.0
    margin_call_level: float = 100.0
    fifo_close: bool = False
    default_balance: float = 10_000.0
    quote_offset_points: int = 0
    order_mode: int = 127  # SymbolInfo.order_mode bits: which order types the server accepts
    symbols_by_name: dict[str, SymbolSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbols_by_name", {s.name: s for s in self.symbols})


def _spec(name, instrument, *, contract, vol=(0.01, 0.01, 500.0), digits, stops=0, freeze=0, spread=1.0, **kw):
    vmin, vstep, vmax = vol
    return SymbolSpec(name, instrument, contract, vmin, vstep, vmax, digits, stops, freeze, spread, **kw)


def _carried(*rows, vol=(0.01, 0.01, 500.0), stops=0, freeze=0, spread=1.0) -> tuple[SymbolSpec, ...]:
    """A broker's symbols from (name, instrument, contract size, digits[, options]) rows, all on the
    broker's own lot limits, stop and freeze levels and spread."""
    return tuple(
        _spec(name, instrument, contract=float(contract), vol=vol, digits=digits, stops=stops, freeze=freeze,
              spread=spread, **(options[0] if options else {}))
        for name, instrument, contract, digits, *options in rows
    )


# Less traded symbols start outside Market Watch, as at real terminals: no quotes until selected.
_OUTSIDE_MARKET_WATCH = {"selected": False}
_FX_LOT = 100_000


PROFILES: dict[str, BrokerProfile] = {
    p.name: p
    for p in (
        # A raw-spread ECN: plain names, both FOK and IOC, market execution, commission per lot.
        # The widest list: GBPJPY, EURGBP and JP225 (outside Market Watch), silver at 5 000 oz,
        # US500 and JP225 at 1 per point, ether at 1 per lot.
        BrokerProfile(
            name="meridian_ecn",
            company="Meridian Markets Ltd",
            server="MeridianMarkets-Demo",
            currency="USD",
            margin_mode=mt5.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING,
            leverage=500,
            execution=mt5.SYMBOL_TRADE_EXECUTION_MARKET,
            filling_mode=FILLING_FOK | FILLING_IOC,
            server_utc_offset_hours=2,
            commission_per_lot=-3.5,
            symbols=_carried(
                ("EURUSD", "EURUSD", _FX_LOT, 5),
                ("GBPUSD", "GBPUSD", _FX_LOT, 5),
                ("USDJPY", "USDJPY", _FX_LOT, 3),
                ("EURJPY", "EURJPY", _FX_LOT, 3, _OUTSIDE_MARKET_WATCH),
                ("XAUUSD", "XAUUSD", 100, 2),
                ("US30", "US30", 1, 1),
                ("BTCUSD", "BTCUSD", 1, 2),
                ("GBPJPY", "GBPJPY", _FX_LOT, 3, _OUTSIDE_MARKET_WATCH),
                ("EURGBP", "EURGBP", _FX_LOT, 5, _OUTSIDE_MARKET_WATCH),
                ("XAGUSD", "XAGUSD", 5_000, 3),
                ("US500", "US500", 1, 2),
                ("JP225", "JP225", 1, 1, _OUTSIDE_MARKET_WATCH),
                ("ETHUSD", "ETHUSD", 1, 2),
                spread=0.6),
            terminal_path=r"C:\Program Files\Meridian Markets MetaTrader 5\terminal64.exe",
            quote_offset_points=0,
        ),
        # A European market maker: `.m` suffix, GOLD alias, instant execution (fills at its price
        # of the moment within the deviation, requotes beyond it), FOK only, stop and freeze
        # levels, a EUR account. US30.m and SPX500.m (the S&P 500 under another name) at 10 per
        # point, ether at 10 per lot, EURGBP, and the exotic USDZAR outside Market Watch; no silver.
        BrokerProfile(
            name="harbor_fx",
            company="Harbor FX Europe AG",
            server="HarborFX-Live2",
            currency="EUR",
            margin_mode=mt5.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING,
            leverage=30,
            execution=mt5.SYMBOL_TRADE_EXECUTION_INSTANT,
            filling_mode=FILLING_FOK,
            server_utc_offset_hours=2,
            commission_per_lot=0.0,
            symbols=_carried(
                ("EURUSD.m", "EURUSD", _FX_LOT, 5),
                ("GBPUSD.m", "GBPUSD", _FX_LOT, 5),
                ("USDJPY.m", "USDJPY", _FX_LOT, 3),
                ("EURJPY.m", "EURJPY", _FX_LOT, 3, _OUTSIDE_MARKET_WATCH),
                ("GOLD.m", "XAUUSD", 100, 2),
                ("US30.m", "US30", 10, 1),
                ("BTCUSD.m", "BTCUSD", 1, 2),
                ("EURGBP.m", "EURGBP", _FX_LOT, 5),
                ("USDZAR.m", "USDZAR", _FX_LOT, 5, _OUTSIDE_MARKET_WATCH),
                ("SPX500.m", "US500", 10, 1),
                ("ETHUSD.m", "ETHUSD", 10, 2),
                stops=10, freeze=5, spread=1.6),
            terminal_path=r"C:\Program Files\Harbor FX MT5\terminal64.exe",
            quote_offset_points=2,
        ),
        # A Japanese broker: `-ECN` suffix, the DJ30.cash alias at 100 per lot, a 10-ounce 3-digit
        # gold, IOC only, a netting JPY account with low leverage. GBPJPY, silver at 1 000 oz and
        # JP225.cash at 100 yen per point; no S&P 500 and no ether.
        BrokerProfile(
            name="summit_netting",
            company="Summit Securities K.K.",
            server="SummitSec-Server",
            currency="JPY",
            margin_mode=mt5.ACCOUNT_MARGIN_MODE_RETAIL_NETTING,
            leverage=25,
            execution=mt5.SYMBOL_TRADE_EXECUTION_MARKET,
            filling_mode=FILLING_IOC,
            server_utc_offset_hours=0,
            commission_per_lot=0.0,
            symbols=_carried(
                ("EURUSD-ECN", "EURUSD", _FX_LOT, 5),
                ("GBPUSD-ECN", "GBPUSD", _FX_LOT, 5),
                ("USDJPY-ECN", "USDJPY", _FX_LOT, 3),
                ("EURJPY-ECN", "EURJPY", _FX_LOT, 3, _OUTSIDE_MARKET_WATCH),
                ("XAUUSD-ECN", "XAUUSD", 10, 3),
                ("DJ30.cash", "US30", 100, 2),
                ("BTCUSD-ECN", "BTCUSD", 1, 2),
                ("GBPJPY-ECN", "GBPJPY", _FX_LOT, 3),
                ("XAGUSD-ECN", "XAGUSD", 1_000, 3),
                ("JP225.cash", "JP225", 100, 0),
                stops=5, spread=1.2),
            terminal_path=r"C:\Program Files\Summit MetaTrader 5\terminal64.exe",
            default_balance=1_500_000.0,
            quote_offset_points=-1,
        ),
        # A prop-firm style server: `.raw` suffix, 0.1/0.1/50 lots, RETURN filling only,
        # wide stop levels. Silver at 5 000 oz and US500.raw at 1 per point; no crosses beyond
        # EURJPY, no ether.
        BrokerProfile(
            name="apex_prop",
            company="Apex Funded Traders LLC",
            server="ApexFunded-Eval",
            currency="USD",
            margin_mode=mt5.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING,
            leverage=100,
            execution=mt5.SYMBOL_TRADE_EXECUTION_MARKET,
            filling_mode=0,
            server_utc_offset_hours=3,
            commission_per_lot=-5.0,
            symbols=_carried(
                ("EURUSD.raw", "EURUSD", _FX_LOT, 5),
                ("GBPUSD.raw", "GBPUSD", _FX_LOT, 5),
                ("USDJPY.raw", "USDJPY", _FX_LOT, 3),
                ("EURJPY.raw", "EURJPY", _FX_LOT, 3, _OUTSIDE_MARKET_WATCH),
                ("XAUUSD.raw", "XAUUSD", 100, 2),
                ("US30.raw", "US30", 1, 1),
                ("BTCUSD.raw", "BTCUSD", 1, 2),
                ("XAGUSD.raw", "XAGUSD", 5_000, 3),
                ("US500.raw", "US500", 1, 2),
                vol=(0.1, 0.1, 50.0), stops=20, freeze=10, spread=0.9),
            terminal_path=r"C:\Program Files\Apex Funded MT5\terminal64.exe",
            default_balance=100_000.0,
            quote_offset_points=1,
            order_mode=127 & ~8,  # no stop-limit orders on this server
        ),
    )
}
