"""The rules as the form holds them while they are edited: plain data that may be invalid, checked
whole by CopyRules on every change, with each error turned into words a trader reads next to the
field it is about ("Multiplier must be more than 0", not "sizing.multiplier: Input should be...").

No Qt here: the pages write values in by path and read the problems out by path.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

import yaml
from pydantic import ValidationError

from copier_gui.core.rules import PROP_PRESETS, CopyRules
from copier_gui.ui.rules_form.prop_labels import PROP_LABELS

Path = tuple[str | int, ...]

# Each setting in the words the form shows beside it. Errors name a field by this label.
LABELS: dict[Path, str] = {
    ("sizing",): "Sizing",
    ("sizing", "mode"): "Size copies by",
    ("sizing", "multiplier"): "Multiplier",
    ("sizing", "lots"): "Fixed lots",
    ("sizing", "risk_percent"): "Risk per trade (% of equity)",
    ("sizing", "no_sl_fallback"): "Without a master stop, size by",
    ("sizing", "min_lot"): "Minimum lots",
    ("sizing", "max_lot"): "Maximum lots",
    ("sizing", "rounding"): "Round to the lot step",
    ("symbols",): "Symbols",
    ("symbols", "detect_affixes"): "Detect this slave's suffix and prefix",
    ("symbols", "aliases"): "Slave symbol",
    ("symbols", "per_symbol"): "Per-symbol rule",
    ("symbols", "per_symbol", "*", "volume_multiplier"): "{} volume ×",
    ("symbols", "per_symbol", "*", "enabled"): "{} copied",
    ("filters",): "Filters",
    ("filters", "include_symbols"): "Only these master symbols",
    ("filters", "exclude_symbols"): "Never these master symbols",
    ("filters", "magic_numbers"): "Only these magic numbers",
    ("filters", "comment_contains"): "Only comments containing",
    ("filters", "direction"): "Directions copied",
    ("filters", "reverse"): "Reverse every trade",
    ("copy_partial_closes",): "Copy partial closes",
    ("copy_pending",): "Copy pending orders",
    ("copy_existing",): "Copy positions open before copying started",
    ("stops",): "Stops",
    ("stops", "mode"): "Stops on the copy",
    ("stops", "sl_points"): "Stop loss distance (points)",
    ("stops", "tp_points"): "Take profit distance (points)",
    ("stops", "follow_modifications"): "Follow the master's stop changes",
    ("tolerances",): "Tolerances",
    ("tolerances", "max_delay_ms"): "Maximum delay (ms)",
    ("tolerances", "max_price_deviation"): "Maximum price deviation",
    ("tolerances", "on_price_deviation"): "When the price is beyond it",
    ("tolerances", "requote_retries"): "Requote retries",
    ("tolerances", "partial_fill"): "Partial fills",
    ("tolerances", "per_symbol"): "Per-symbol limits",
    ("tolerances", "per_symbol", "*", "max_price_deviation"): "{} maximum price deviation",
    ("tolerances", "per_symbol", "*", "max_delay_ms"): "{} maximum delay (ms)",
    ("risk",): "Risk",
    ("risk", "preset"): "Preset",
    ("risk", "max_open_positions"): "Open positions at most",
    ("risk", "max_lots_per_symbol"): "Lots on one symbol at most",
    ("risk", "max_lots_total"): "Lots in total at most",
    ("risk", "max_exposure"): "Exposure at most",
    ("risk", "daily_loss"): "Daily loss at most",
    ("risk", "daily_loss_percent"): "Daily loss at most (% of balance)",
    ("risk", "max_drawdown_percent"): "Drawdown at most (% of peak equity)",
    ("risk", "equity_floor"): "Equity floor",
    **PROP_LABELS,
}

# Setting names inside a model's own message ("min_lot 0.5 is above max_lot 0.1"), in the form's words.
_NAMES = {
    "no_sl_fallback": "the size without a master stop",
    "fixed_risk": "fixed risk",
    "min_lot": "minimum lots",
    "max_lot": "maximum lots",
    "fixed_offset": "a fixed distance",
    "sl_points": "a stop loss",
    "tp_points": "a take profit distance",
    "max_price_deviation_points": "the older points limit",
    "max_price_deviation": "maximum price deviation",
}
# A whole-model check has no field of its own; it is shown beside the field it is about.
_MODEL_CHECKS: dict[Path, tuple[tuple[str, Path], ...]] = {
    ("sizing",): (("no_sl_fallback", ("sizing", "no_sl_fallback")), ("min_lot", ("sizing", "max_lot"))),
    ("stops",): (("fixed_offset", ("stops", "sl_points")),),
    ("risk",): (("preset", ("risk", "preset")),),
    ("tolerances",): (("max_price_deviation", ("tolerances", "max_price_deviation")),),
    ("risk", "prop", "daily_loss"): (("amount", ("risk", "prop", "daily_loss", "amount")),),
    ("risk", "prop", "max_loss"): (("amount", ("risk", "prop", "max_loss", "amount")),),
    ("risk", "prop", "stop_loss"): (("distance", ("risk", "prop", "stop_loss", "distance")),),
}
_PYDANTIC = (
    (re.compile(r"^Input should be greater than or equal to (.+)$"), r"must be at least \1"),
    (re.compile(r"^Input should be less than or equal to (.+)$"), r"must be at most \1"),
    (re.compile(r"^Input should be greater than (.+)$"), r"must be more than \1"),
    (re.compile(r"^Input should be less than (.+)$"), r"must be less than \1"),
    (re.compile(r"^Input should be a valid number.*$"), "must be a number"),
    (re.compile(r"^Input should be a finite number.*$"), "must be a number"),
    (re.compile(r"^Input should be a valid integer.*$"), "must be a whole number"),
    (re.compile(r"^Input should be a valid boolean.*$"), "must be true or false"),
    (re.compile(r"^Input should be a valid string.*$"), "must be text"),
    (re.compile(r"^Input should be a valid dictionary.*$"), "must be a mapping"),
    (re.compile(r"^Input should be a valid list.*$"), "must be a list"),
    (re.compile(r"^Input should be (.+)$"), r"must be \1"),
    (re.compile(r"^Extra inputs are not permitted$"), "is not a setting copier_gui knows"),
    (re.compile(r"^Field required$"), "is required"),
    (re.compile(r"^String should have at least 1 character$"), "is required"),
)


def rules_data(rules: CopyRules) -> dict[str, Any]:
    """The rules as plain data, with a preset's own limits left to the preset (so choosing another
    preset later changes them) and only the limits the trader set written out."""
    data = rules.model_dump(mode="json")
    preset = PROP_PRESETS.get(rules.risk.preset or "")
    for name, limit in (preset or {}).items():
        if data["risk"].get(name) == limit.model_dump(mode="json"):
            data["risk"][name] = None
    return data


def rules_yaml(rules: CopyRules) -> str:
    return data_yaml(rules_data(rules))


def data_yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def label(loc: Iterable[str | int]) -> str:
    """A setting's name as the form shows it; the dotted path where the form has none."""
    path = tuple(p for p in loc if not isinstance(p, int))
    for length in range(len(path), 0, -1):
        head = path[:length]
        if head in LABELS:
            return LABELS[head]
        if length >= 4 and (*head[:2], "*", *head[3:]) in LABELS:
            return LABELS[(*head[:2], "*", *head[3:])].format(head[2])
        if length == 3 and head[:2] in {("symbols", "per_symbol"), ("tolerances", "per_symbol")}:
            return head[2]
    return ".".join(map(str, loc)) or "the rules"


def plain(message: str) -> str:
    """A pydantic message in plain words, setting names translated."""
    message = message.removeprefix("Value error, ")
    for pattern, replacement in _PYDANTIC:
        if pattern.match(message):
            message = pattern.sub(replacement, message)
            break
    for name, words in _NAMES.items():
        message = re.sub(rf"\b{name}\b", words, message)
    return message


def sentence(name: str, message: str) -> str:
    """'Multiplier must be more than 0'; 'Maximum lots: minimum lots 0.5 is above ...'."""
    if message.startswith(("must ", "is ")):
        return f"{name} {message}"
    return f"{name}: {message}"


def _target(loc: Path, message: str) -> Path:
    """The field a check is shown beside: its own, or for a whole-model check the one it names."""
    for keyword, field in _MODEL_CHECKS.get(loc, ()):
        if keyword in message:
            return field
    return loc


def problems(exc: ValidationError) -> dict[Path, str]:
    """Each error as (the path it belongs to, a sentence naming the field in the form's words)."""
    found: dict[Path, str] = {}
    for error in exc.errors():
        loc = tuple(error["loc"])
        # A union's errors come once per member type (a limit or None): the member is not a field.
        loc = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p in {"none", "function-after"})))
        message = error["msg"].removeprefix("Value error, ")
        if loc and message.startswith(f"{loc[-1]}: "):  # "impacts: name at least one": the label names it
            message = message[len(str(loc[-1])) + 2:]
        text = plain(message)
        target = _target(loc, error["msg"])
        found.setdefault(target, sentence(label(target if target != loc else loc), text))
    return found


def get_in(data: Any, path: Path, default: Any = None) -> Any:
    for part in path:
        if isinstance(data, dict) and part in data or isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return default
    return data


def set_in(data: dict, path: Path, value: Any) -> None:
    """Set ``value`` at ``path``, making the mappings on the way; a ``...`` value removes the key."""
    for part in path[:-1]:
        child = data.get(part)
        if not isinstance(child, dict):
            child = data[part] = {}
        data = child
    if value is ...:
        data.pop(path[-1], None)
    else:
        data[path[-1]] = value


class Draft:
    """The form's working copy of one slave's rules. ``rules`` is the last state that validated,
    ``problems`` what is wrong with the current one (empty when it is valid)."""

    def __init__(self, rules: CopyRules) -> None:
        self.data: dict[str, Any] = rules_data(rules)
        self.rules: CopyRules = rules
        self.problems: dict[Path, str] = {}
        self.valid = True

    def get(self, path: Path, default: Any = None) -> Any:
        return get_in(self.data, path, default)

    def set(self, path: Path, value: Any) -> None:
        set_in(self.data, path, value)
        self.check()

    def replace(self, rules: CopyRules) -> None:
        self.data = rules_data(rules)
        self.check()

    def check(self) -> None:
        try:
            rules = CopyRules.model_validate(copy.deepcopy(self.data))
        except ValidationError as exc:
            self.problems, self.valid = problems(exc), False
        else:
            self.rules, self.problems, self.valid = rules, {}, True

    def yaml(self) -> str:
        return data_yaml(self.data)


def parse_rules(text: str) -> tuple[CopyRules | None, str]:
    """The rules in YAML ``text``, or None and one message naming the field (``sizing.multiplier: ...``)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        return None, f"not valid YAML{where}: {problem}"
    try:
        return CopyRules.model_validate({} if data is None else data), ""
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        path = ".".join(str(part) for part in first["loc"]) or "rules"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        # pydantic words a validator's own message "Value error, ...": the trader reads only the message.
        return None, f"{path}: {first['msg'].removeprefix('Value error, ')}{more}"
