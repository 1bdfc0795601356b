"""Broker profiles: how simulated brokers differ, the way real ones do.

Each profile is a trade server with its own symbol names (suffixes and aliases), contract sizes,
volume limits, stop and freeze levels, filling modes, execution mode, account currency and margin
mode. These differences are the raw material of execution drift, so the copier meets them here
exactly as it meets them at real brokers.
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


def _fx_set(suffix: str, *, vol=(0.01, 0.01, 500.0), stops=0, freeze=0, spread=1.0, gold_name="XAUUSD",
            gold_digits=2, index_name="US30", index_contract=1.0, index_digits=1):
    return (
        _spec(f"EURUSD{suffix}", "EURUSD", contract=100_000.0, vol=vol, digits=5, stops=stops, freeze=freeze, spread=spread),
        _spec(f"GBPUSD{suffix}", "GBPUSD", contract=100_000.0, vol=vol, digits=5, stops=stops, freeze=freeze, spread=spread),
        _spec(f"USDJPY{suffix}", "USDJPY", contract=100_000.0, vol=vol, digits=3, stops=stops, freeze=freeze, spread=spread),
        _spec(f"EURJPY{suffix}", "EURJPY", contract=100_000.0, vol=vol, digits=3, stops=stops, freeze=freeze, spread=spread, selected=False),
        _spec(gold_name, "XAUUSD", contract=100.0, vol=vol, digits=gold_digits, stops=stops, freeze=freeze, spread=spread),
        _spec(index_name, "US30", contract=index_contract, vol=vol, digits=index_digits, stops=stops, freeze=freeze, spread=spread),
        _spec(f"BTCUSD{suffix}", "BTCUSD", contract=1.0, vol=vol, digits=2, stops=stops, freeze=freeze, spread=spread),
    )


PROFILES: dict[str, BrokerProfile] = {
    p.name: p
    for p in (
        # A raw-spread ECN: plain names, both FOK and IOC, market execution, commission per lot.
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
            symbols=_fx_set("", spread=0.6, index_contract=1.0),
            terminal_path=r"C:\Program Files\Meridian Markets MetaTrader 5\terminal64.exe",
            quote_offset_points=0,
        ),
        # A European market maker: `.m` suffix, GOLD alias, instant execution with requotes,
        # FOK only, stop and freeze levels, a EUR account.
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
            symbols=_fx_set(".m", stops=10, freeze=5, spread=1.6, gold_name="GOLD.m",
                            index_name="US30.m", index_contract=10.0),
            terminal_path=r"C:\Program Files\Harbor FX MT5\terminal64.exe",
            quote_offset_points=2,
        ),
        # A Japanese broker: `-ECN` suffix, the DJ30.cash alias at 100 per lot, 3-digit gold,
        # IOC only, a netting JPY account with low leverage.
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
            symbols=_fx_set("-ECN", stops=5, spread=1.2, gold_name="XAUUSD-ECN", gold_digits=3,
                            index_name="DJ30.cash", index_contract=100.0, index_digits=2),
            terminal_path=r"C:\Program Files\Summit MetaTrader 5\terminal64.exe",
            default_balance=1_500_000.0,
            quote_offset_points=-1,
        ),
        # A prop-firm style server: `.raw` suffix, 0.1/0.1/50 lots, RETURN filling only,
        # wide stop levels.
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
            symbols=_fx_set(".raw", vol=(0.1, 0.1, 50.0), stops=20, freeze=10, spread=0.9,
                            gold_name="XAUUSD.raw", index_name="US30.raw", index_contract=1.0),
            terminal_path=r"C:\Program Files\Apex Funded MT5\terminal64.exe",
            default_balance=100_000.0,
            quote_offset_points=1,
            order_mode=127 & ~8,  # no stop-limit orders on this server
        ),
    )
}
