"""The prop-firm profile's settings (risk.prop) in the words the Prop firm page shows beside them,
so the model's errors name a field as the trader sees it ("Reset time zone: unknown time zone"),
and the one zone mistake the model cannot name itself."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, available_timezones

_P = ("risk", "prop")

PROP_LABELS: dict[tuple[str, ...], str] = {
    _P: "Prop firm",
    (*_P, "reset"): "Reset",
    (*_P, "reset", "time"): "Reset time",
    (*_P, "reset", "zone"): "Reset time zone",
    (*_P, "min_trading_days"): "Trading days required",
    (*_P, "daily_loss"): "Daily loss",
    (*_P, "daily_loss", "amount"): "Daily loss",
    (*_P, "daily_loss", "percent"): "Daily loss (%)",
    (*_P, "daily_loss", "baseline"): "Daily loss measured from",
    (*_P, "daily_loss", "action"): "Daily loss action",
    (*_P, "max_loss"): "Maximum loss",
    (*_P, "max_loss", "amount"): "Maximum loss",
    (*_P, "max_loss", "percent"): "Maximum loss (%)",
    (*_P, "max_loss", "mode"): "Maximum loss floor",
    (*_P, "max_loss", "lock_at_initial"): "Lock at the initial balance",
    (*_P, "max_loss", "initial_balance"): "Initial balance",
    (*_P, "max_loss", "action"): "Maximum loss action",
    (*_P, "stop_loss"): "Stop loss required",
    (*_P, "stop_loss", "within_s"): "Stop loss within (seconds)",
    (*_P, "stop_loss", "action"): "A copy still without a stop",
    (*_P, "stop_loss", "distance"): "Stop distance",
    (*_P, "news"): "News blackout",
    (*_P, "news", "calendar"): "Calendar file",
    (*_P, "news", "before_min"): "Minutes before",
    (*_P, "news", "after_min"): "Minutes after",
    (*_P, "news", "impacts"): "Impacts",
    (*_P, "news", "action"): "News action",
    (*_P, "weekend"): "No weekend holding",
    (*_P, "weekend", "close"): "Weekend from",
    (*_P, "weekend", "reopen"): "Weekend until",
    (*_P, "weekend", "action"): "Weekend action",
    (*_P, "consistency"): "Consistency",
    (*_P, "consistency", "best_day_percent"): "Best day at most (%)",
    (*_P, "hedging"): "Hedging guard",
    (*_P, "hedging", "action"): "Hedging action",
    (*_P, "hedging", "accounts"): "Other accounts",
}

ZONE_PATHS = ((*_P, "reset", "zone"), (*_P, "weekend", "close", "zone"), (*_P, "weekend", "reopen", "zone"))


def zone_groups(data: Any) -> dict[tuple[str, ...], str]:
    """Zones that name a group of zones ("Europe", "America/Argentina"): opening one is an OS error,
    not the ValueError the model turns into words, so they are named here, with a zone to pick."""
    found = {}
    for path in ZONE_PATHS:
        value: Any = data
        for part in path[:-1]:
            value = value.get(part) if isinstance(value, dict) else None
        # Written as one phrase ("17:00 Europe"), the zone is its last word.
        value = value.split()[-1] if isinstance(value, str) and value.split() else (
            value.get("zone") if isinstance(value, dict) else None)
        if not isinstance(value, str):
            continue
        try:
            ZoneInfo(value)
        except OSError:
            inside = sorted(z for z in available_timezones() if z.startswith(f"{value}/"))
            example = f", e.g. {inside[0]}" if inside else ""
            found[path] = f"{PROP_LABELS.get(path) or PROP_LABELS[path[:-1]]}: {value} is a group of zones, not a zone: pick one in it{example}"
        except ValueError:
            continue
    return found
