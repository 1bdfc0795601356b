"""Every simulated broker, whatever platform it speaks, as the shared trade engine sees it.

A MetaTrader 5 profile is an engine profile already; a cTrader broker becomes one through
``engine_profile()`` (its own symbol names, lots of its lot size). Replay's scenarios and the
campaign's generator and oracle reason about brokers in these terms, so a cTrader account is
checked by the same rules as an MT5 one; ``platform_of`` says which server an account needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from copier_gui.sim.ctrader.profiles import CTRADER_PROFILES
from copier_gui.sim.profiles import PROFILES, BrokerProfile

__all__ = ["ALL_PROFILES", "platform_of"]

ALL_PROFILES: Mapping[str, BrokerProfile] = MappingProxyType(
    {**PROFILES, **{name: broker.engine_profile() for name, broker in CTRADER_PROFILES.items()}})


def platform_of(profile: str) -> str:
    """"ctrader" for a simulated cTrader broker, "mt5" for a simulated MetaTrader 5 one."""
    if profile in CTRADER_PROFILES:
        return "ctrader"
    if profile in PROFILES:
        return "mt5"
    raise KeyError(f"unknown broker profile {profile!r} (known: {', '.join(sorted(ALL_PROFILES))})")
