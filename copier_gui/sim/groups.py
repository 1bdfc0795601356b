"""MetaTrader's ``group`` filters: comma-separated masks with ``*``, ``!`` excluding, left to right."""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=256)
def _compile(group: str) -> tuple[tuple[bool, re.Pattern[str]], ...]:
    masks = []
    for raw in group.split(","):
        mask = raw.strip()
        if not mask:
            continue
        exclude = mask.startswith("!")
        if exclude:
            mask = mask[1:]
        pattern = "".join(".*" if ch == "*" else re.escape(ch) for ch in mask)
        masks.append((exclude, re.compile(pattern + r"\Z", re.IGNORECASE)))
    return tuple(masks)


def matches(group: str, name: str) -> bool:
    selected = False
    for exclude, pattern in _compile(group):
        if pattern.match(name):
            selected = not exclude
    return selected
