"""Mapping a master symbol to the slave's name for the same instrument.

Brokers rename instruments: suffixes (EURUSD.m, EURUSD-ECN), prefixes (#US30), separators (cTrader
brokers' EUR/USD and US 30), and aliases (GOLD for XAUUSD, DJ30.cash for US30). The map tries, in
order: an explicit alias, the exact name, the master name with the slave's own detected affix, the
same letters and digits spelled with other separators, and known aliases with that affix. When
nothing fits, the refusal names the slave's closest candidates so the trader can add an alias.
"""

from __future__ import annotations

import difflib
import functools
from collections import Counter
from dataclasses import dataclass

from copier_gui.core.rules import SymbolMapping

# Well-known instrument aliases across brokers; both directions are tried.
KNOWN_ALIASES: tuple[frozenset[str], ...] = (
    frozenset({"XAUUSD", "GOLD"}),
    frozenset({"XAGUSD", "SILVER"}),
    frozenset({"US30", "DJ30", "DJI30", "DJI", "WS30", "DOWJONES", "US30CASH", "DJ30CASH"}),
    frozenset({"NAS100", "US100", "USTEC", "NDX100", "NDX"}),
    frozenset({"SPX500", "US500", "SP500"}),
    frozenset({"GER40", "DE40", "DAX40", "GER30", "DE30"}),
    frozenset({"UK100", "FTSE100"}),
    frozenset({"JP225", "JPN225", "NIKKEI225", "NI225"}),
    frozenset({"USOIL", "WTI", "XTIUSD", "CL"}),
    frozenset({"UKOIL", "BRENT", "XBRUSD"}),
    frozenset({"BTCUSD", "BITCOIN", "XBTUSD"}),
)
_CORE_LENGTHS = (6, 5, 4, 3)
# What cash indices carry glued to their name at some brokers (US30CASH, GER40SPOT).
_CASH_TAILS = ("CASH", "SPOT", "CFD")


@functools.lru_cache(maxsize=1024)  # a pure function of a name, asked for every entry sent
def known_instrument(root: str) -> str | None:
    """One name for every well-known alias of an instrument (US30, DJ30.cash and WS30 are the Dow),
    from a name without the broker's affixes (core.units.symbol_root); None for a name not in
    ``KNOWN_ALIASES``."""
    normal = _normalise(root)
    for name in (normal, *(normal[:-len(t)] for t in _CASH_TAILS if normal.endswith(t))):
        for group in KNOWN_ALIASES:
            if name in group:
                return min(group)
    return None


@dataclass(frozen=True, slots=True)
class Resolution:
    slave_symbol: str | None
    how: str  # "exact", "alias", "affix", "known alias", or why it failed
    candidates: tuple[str, ...] = ()


def _is_affix(text: str, *, suffix_side: bool) -> bool:
    if not text:
        return True
    edge = text[0] if suffix_side else text[-1]
    return not edge.isalnum() or text.islower()


def _normalise(name: str) -> str:
    return "".join(ch for ch in name.upper() if ch.isalnum())


def detect_affixes(names: list[str]) -> tuple[str, str]:
    """The (prefix, suffix) most of a broker's forex symbols share, e.g. ("", ".m")."""
    prefixes: Counter[str] = Counter()
    suffixes: Counter[str] = Counter()
    currencies = {"USD", "EUR", "JPY", "GBP", "CHF", "AUD", "CAD", "NZD"}
    for name in names:
        upper = name.upper()
        for i in range(len(upper) - 5):
            core = upper[i:i + 6]
            if core[:3] in currencies and core[3:] in currencies:
                prefixes[name[:i]] += 1
                suffixes[name[i + 6:]] += 1
                break
    prefix = prefixes.most_common(1)[0][0] if prefixes else ""
    suffix = suffixes.most_common(1)[0][0] if suffixes else ""
    return prefix, suffix


class SymbolMap:
    """Resolves master symbols for one slave; results are cached, since brokers rarely rename."""

    def __init__(self, slave_symbols: list[str], rules: SymbolMapping) -> None:
        self._names = list(slave_symbols)
        self._set = set(slave_symbols)
        self._by_normal = {_normalise(n): n for n in slave_symbols}
        self._rules = rules
        self.prefix, self.suffix = detect_affixes(self._names) if rules.detect_affixes else ("", "")
        self._cache: dict[str, Resolution] = {}

    def resolve(self, master_symbol: str) -> Resolution:
        cached = self._cache.get(master_symbol)
        if cached is None:
            cached = self._cache[master_symbol] = self._resolve(master_symbol)
        return cached

    def _resolve(self, master: str) -> Resolution:
        alias = self._rules.aliases.get(master)
        if alias is not None:
            if alias in self._set:
                return Resolution(alias, "alias")
            without = self._resolve_by_name(master)
            hints = ((without.slave_symbol,) if without.slave_symbol else ()) + self.candidates(alias)
            return Resolution(None, f"the alias {master}={alias} names no symbol at this broker",
                              tuple(dict.fromkeys(hints))[:3])
        return self._resolve_by_name(master)

    def _resolve_by_name(self, master: str) -> Resolution:
        if master in self._set:
            return Resolution(master, "exact")
        bare = self._strip_master_affix(master)
        # The instrument's letters and digits alone: EUR/USD and US 30 (cTrader) are EURUSD and US30.
        spelled = _normalise(bare)
        for name in (f"{self.prefix}{bare}{self.suffix}", bare, f"{self.prefix}{spelled}{self.suffix}"):
            if name in self._set:
                return Resolution(name, "affix")
        if spelled in self._by_normal:
            return Resolution(self._by_normal[spelled], "spelling")
        for group in KNOWN_ALIASES:
            if spelled in group:
                for other in sorted(group):
                    for name in (f"{self.prefix}{other}{self.suffix}", other):
                        if name in self._set:
                            return Resolution(name, "known alias")
                    if other in self._by_normal:
                        return Resolution(self._by_normal[other], "known alias")
                    # Cash indices are often spelled with their own suffix (DJ30.cash).
                    for normal, name in sorted(self._by_normal.items()):
                        if normal.startswith(other) and normal[len(other):] in ("CASH", "SPOT", "CFD"):
                            return Resolution(name, "known alias")
        return Resolution(None, f"no symbol matches {master}", self.candidates(master))

    def _strip_master_affix(self, master: str) -> str:
        """The instrument inside a master name with its own broker's affixes (EURUSD.m, #US30).

        An affix counts only when it is set off by punctuation or written in lower case, so
        EURUSDX stays a different instrument from EURUSD.
        """
        for length in _CORE_LENGTHS:
            for start in range(len(master) - length + 1):
                core = master[start:start + length]
                known = any(_normalise(core) in g for g in KNOWN_ALIASES)
                if not (known or (length == 6 and core.isalpha() and core.isupper())):
                    continue
                prefix, suffix = master[:start], master[start + length:]
                if _is_affix(prefix, suffix_side=False) and _is_affix(suffix, suffix_side=True):
                    return core
        return master

    def candidates(self, name: str, n: int = 3) -> tuple[str, ...]:
        normal = _normalise(name)
        matches = difflib.get_close_matches(normal, list(self._by_normal), n=n, cutoff=0.4)
        return tuple(self._by_normal[m] for m in matches)
