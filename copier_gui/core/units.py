"""Units a trader can compare across symbols: pips for currency pairs, basis points otherwise.

A price gap measured in points means nothing across symbols (a BTCUSD point is 0.01 USD, an
EURUSD point 0.00001), so drift and tolerances pass through here to become pips, basis points of
the price, account money, or back into points of one symbol for the broker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from copier_gui.core.model import SymbolSpec

ComparableUnit = Literal["pip", "bp"]
LimitUnit = Literal["point", "pip", "bp", "spread"]
LIMIT_UNITS: tuple[LimitUnit, ...] = ("point", "pip", "bp", "spread")

_BP = 1e-4  # one basis point is a ten-thousandth of the price


class AssetClass(StrEnum):
    FX = "fx"
    METAL = "metal"
    INDEX = "index"
    CRYPTO = "crypto"
    ENERGY = "energy"
    OTHER = "other"


# ISO 4217 codes of the fiat currencies brokers quote. Precious metals (XAU, XAG, XPT, XPD) are
# ISO codes too, which is why metals are recognised before currency pairs.
_FIAT = frozenset((
    "USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK", "PLN", "CZK",
    "HUF", "RON", "BGN", "HRK", "ISK", "TRY", "ZAR", "MXN", "BRL", "CLP", "COP", "PEN", "ARS",
    "CNH", "CNY", "HKD", "SGD", "TWD", "KRW", "INR", "IDR", "THB", "MYR", "PHP", "VND", "ILS",
    "AED", "SAR", "QAR", "KWD", "BHD", "OMR", "EGP", "KES", "NGN", "MAD", "RUB", "UAH", "KZT",
    "GEL",
))
_METAL_CODES = ("XAU", "XAG", "XPT", "XPD")
# Metals also trade under plain-word aliases (GOLD.m at some brokers), which name no currency.
_METAL_NAMES = ("GOLD", "SILVER", "PLATINUM", "PALLADIUM", *_METAL_CODES)
# Coins brokers list as CFDs. Their tickers are not ISO codes, so a base of BTC can only be crypto.
_CRYPTO = ("BTC", "XBT", "ETH", "LTC", "XRP", "BCH", "ADA", "SOL", "DOGE", "DOT", "LINK", "XLM",
           "EOS", "BNB", "TRX", "AVAX", "MATIC", "SHIB", "XMR", "ZEC", "DASH")
# Oil and gas CFDs quote in USD against USD, so only their names tell them apart.
_ENERGY = ("WTI", "BRENT", "XTI", "XBR", "NGAS", "XNG", "NATGAS", "USOIL", "UKOIL", "CRUDE", "BRN",
           "GASOIL")
# Tickers this short would claim unrelated names as prefixes (CLOROX), so they must match whole.
_ENERGY_WHOLE = ("CL", "OIL")
# Index CFDs also quote in one currency against itself (US30: USD/USD); their names are the only
# signal, and brokers spell each index a few ways (US30, DJ30, DJI, WS30 for the Dow).
_INDEX = ("US30", "DJ30", "DJI", "DOW", "WS30", "US500", "SPX", "SP500", "SPX500", "US100", "NAS100",
          "USTEC", "NDX", "NQ100", "US2000", "RUSSELL", "GER40", "GER30", "DE40", "DE30", "DAX",
          "UK100", "FTSE", "JP225", "JPN225", "NIKKEI", "NI225", "FRA40", "CAC", "EU50", "EUSTX50",
          "STOXX50", "ESP35", "IBEX", "IT40", "AUS200", "ASX200", "HK50", "HSI", "CHINA50", "CN50",
          "CHINAH", "SWI20", "SMI", "NETH25", "AEX", "SA40", "VIX", "DXY", "USDX")
# The Dow at one broker is "DJ30.cash"; a bare "DJ" prefix is common enough to match on its own.
_INDEX_PREFIXES = ("DJ",)

# Leading decorations ("#US30", "_EURUSD") and trailing suffixes after a separator (".m", "-ECN",
# ".raw", "_i", ".cash", "+").
_SEPARATORS = re.compile(r"[.\-_+#!@$]")
# Suffixes glued straight on in lower case (Exness's "EURUSDm", "XAUUSDc"): upper-case roots
# followed by lower-case letters, so the lower-case tail is a broker marker, not part of the name.
_GLUED_SUFFIX = re.compile(r"^([A-Z0-9]{3,})[a-z]{1,3}$")


def _root(name: str) -> str:
    """The symbol's own name without broker prefixes and suffixes, upper-cased."""
    parts = [p for p in _SEPARATORS.split(name.strip()) if p]
    # The name proper is the first part that looks like one, skipping a short lower-case prefix
    # ("m.EURUSD"); a suffix such as ".cash" comes after it and is never reached.
    core = next((p for p in parts if len(p) >= 3 and not p.islower()), parts[0] if parts else "")
    glued = _GLUED_SUFFIX.match(core)
    if glued:
        core = glued.group(1)
    return core.upper()


def symbol_root(name: str) -> str:
    """A symbol's name as any broker would write it: EURUSD for "EURUSD.m", "m.EURUSD" or "EURUSDc"."""
    return _root(name)


def _starts_with_any(root: str, prefixes: tuple[str, ...]) -> bool:
    return any(root.startswith(p) for p in prefixes)


def _is_fiat_pair(base: str, profit: str) -> bool:
    return base in _FIAT and profit in _FIAT and base != profit


def asset_class(spec: SymbolSpec) -> AssetClass:
    """The kind of market a symbol trades, from its currencies first and its name second.

    Never raises: a symbol that matches no rule is OTHER, whose defaults are deliberately generic.
    """
    base = (spec.currency_base or "").upper()
    profit = (spec.currency_profit or "").upper()
    root = _root(spec.name or "")
    # Metals first: XAU/XAG are ISO codes, so XAUUSD would otherwise look like a currency pair.
    if base in _METAL_CODES or _starts_with_any(root, _METAL_NAMES):
        return AssetClass.METAL
    # Crypto tickers are never fiat, so a coin base currency is decisive.
    if base in _CRYPTO:
        return AssetClass.CRYPTO
    # A genuine pair of two different fiat currencies is FX whatever the broker calls it.
    if _is_fiat_pair(base, profit):
        return AssetClass.FX
    # Energies and indices quote one currency against itself: only the name can tell.
    if root in _ENERGY_WHOLE or _starts_with_any(root, _ENERGY):
        return AssetClass.ENERGY
    if _starts_with_any(root, _INDEX) or _starts_with_any(root, _INDEX_PREFIXES):
        return AssetClass.INDEX
    # Some brokers leave the currencies blank (or report USD/USD for a coin CFD): fall back on the
    # name, pairs first so that a fiat pair is never read as a coin ticker.
    if len(root) == 6 and _is_fiat_pair(root[:3], root[3:]):
        return AssetClass.FX
    if _starts_with_any(root, _CRYPTO):
        return AssetClass.CRYPTO
    return AssetClass.OTHER


def pip_size(spec: SymbolSpec) -> float | None:
    """The price step of one pip for a currency pair, None for anything else.

    Brokers quote pairs with one fractional digit beyond the pip (5 digits, or 3 for JPY pairs), so
    a pip is ten points there; on 4- and 2-digit quotes a pip is the point itself.
    """
    if asset_class(spec) is not AssetClass.FX:
        return None
    return spec.point * 10 if spec.digits in (3, 5) else spec.point


@dataclass(frozen=True, slots=True)
class Comparable:
    """A price gap in a unit that means the same on every symbol of its kind."""

    value: float
    unit: ComparableUnit

    def __str__(self) -> str:
        return f"{self.value:.1f} {self.unit}"


def _positive(what: str, value: float, spec: SymbolSpec) -> float:
    if not value > 0:
        raise ValueError(f"{what} of {spec.name!r} must be positive to convert a price gap, not {value!r}")
    return value


def points(price_gap: float, spec: SymbolSpec) -> float:
    """A price gap in points of this symbol (what the broker's deviation is counted in)."""
    return price_gap / _positive("the point", spec.point, spec)


def comparable(price_gap: float, spec: SymbolSpec, reference_price: float) -> Comparable:
    """A price gap in pips for currency pairs, in basis points of ``reference_price`` otherwise.

    Basis points put a 19-dollar gap on BTCUSD at 95 000 (2 bp) beside a 0.5 gap on gold at 2 650
    (1.9 bp); points would call them 1 900 and 50.
    """
    pip = pip_size(spec)
    if pip is not None:
        return Comparable(price_gap / _positive("the pip", pip, spec), "pip")
    return Comparable(price_gap / (_positive("the reference price", reference_price, spec) * _BP), "bp")


def money(price_gap: float, volume: float, spec: SymbolSpec) -> float:
    """A signed price gap on ``volume`` (in the symbol's volume unit), in the account currency.

    A symbol's tick value is already the account-currency worth of one tick on one volume unit (a
    lot, or a unit), so it carries the contract size and the conversion from the profit currency.
    """
    ticks = price_gap / _positive("the tick size", spec.tick_size, spec)
    return ticks * spec.tick_value * volume


# Default price-deviation limits per asset class, in units that mean the same across symbols of
# a class. Each sits a few typical spreads of the class's main symbols wide: tight enough that a
# copy filled this far off is worth a trader's attention, loose enough that ordinary spread noise
# does not refuse copies. Crosses, exotics and silver spread wider than their class's leaders, so
# ``default_limit_points`` never goes below DEFAULT_SPREAD_FLOOR spreads of the symbol itself.
DEFAULT_MAX_DEVIATION: dict[AssetClass, tuple[float, LimitUnit]] = {
    # Majors spread 0.1-1.5 pips (EURUSD ~0.8 retail); 2 pips is about two spreads.
    AssetClass.FX: (2.0, "pip"),
    # Gold spreads ~25 cents at ~2 650 (about 1 bp), silver ~3 bp; 5 bp covers both with room.
    AssetClass.METAL: (5.0, "bp"),
    # Dow ~3 points at 43 000 (0.7 bp), S&P ~0.5 at 5 900 (0.9 bp); 3 bp is a few spreads.
    AssetClass.INDEX: (3.0, "bp"),
    # Bitcoin ~30 USD at 95 000 (3 bp), ether ~2.5 at 3 400 (7 bp), and both move fast.
    AssetClass.CRYPTO: (15.0, "bp"),
    # WTI ~3 cents at 70 (4 bp), natural gas wider; 10 bp stays above the usual spread.
    AssetClass.ENERGY: (10.0, "bp"),
    # Unknown instruments (shares, bonds, softs) commonly spread 2-5 bp.
    AssetClass.OTHER: (5.0, "bp"),
}


# A limit inside the spread would refuse nearly every copy (USDZAR spreads ~100 pips, GBPJPY ~3),
# so a default is never tighter than two current spreads.
DEFAULT_SPREAD_FLOOR = 2.0


def _check_unit(unit: str) -> None:
    if unit not in LIMIT_UNITS:
        raise ValueError(f"unknown deviation unit {unit!r}; use one of {', '.join(LIMIT_UNITS)}")


def _pip_or_explain(spec: SymbolSpec) -> float:
    pip = pip_size(spec)
    if pip is None:
        raise ValueError(f"pips apply to currency pairs only; {spec.name!r} is {asset_class(spec)}: "
                         "use bp, point or spread")
    return _positive("the pip", pip, spec)


def deviation_limit_points(limit_value: float, unit: LimitUnit, spec: SymbolSpec,
                           reference_price: float, spread_points: float) -> float:
    """A tolerance in ``unit`` as points of this symbol, the unit the broker's deviation takes.

    ``spread`` means multiples of the current spread, ``spread_points`` wide.
    """
    _check_unit(unit)
    if limit_value < 0:
        raise ValueError(f"a deviation limit cannot be negative, not {limit_value!r}")
    point = _positive("the point", spec.point, spec)
    if unit == "point":
        return limit_value
    if unit == "pip":
        return limit_value * _pip_or_explain(spec) / point
    if unit == "bp":
        return limit_value * _positive("the reference price", reference_price, spec) * _BP / point
    return limit_value * spread_points


def points_to_unit(limit_points: float, unit: LimitUnit, spec: SymbolSpec,
                   reference_price: float, spread_points: float) -> float:
    """The inverse of ``deviation_limit_points``: points of this symbol expressed in ``unit``,
    so a limit can be shown to the trader in the unit they set it in."""
    _check_unit(unit)
    point = _positive("the point", spec.point, spec)
    if unit == "point":
        return limit_points
    if unit == "pip":
        return limit_points * point / _pip_or_explain(spec)
    if unit == "bp":
        return limit_points * point / (_positive("the reference price", reference_price, spec) * _BP)
    return limit_points / _positive("the spread", spread_points, spec)


def default_limit_points(spec: SymbolSpec, reference_price: float, spread_points: float) -> float:
    """This symbol's default deviation limit in its own points: its class's default, widened to
    DEFAULT_SPREAD_FLOOR current spreads where the symbol spreads wider than its class's leaders."""
    value, unit = DEFAULT_MAX_DEVIATION[asset_class(spec)]
    by_class = deviation_limit_points(value, unit, spec, reference_price, spread_points)
    return max(by_class, DEFAULT_SPREAD_FLOOR * max(spread_points, 0.0))
