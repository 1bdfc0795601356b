"""JSON as a person writes it: a key given twice is an error, not a silent "the last one wins".

Python's ``json`` keeps the last of two equal keys, so a settings file edited by hand could hold
two ``min_lot`` lines and the one the user looked at would not be the one applied.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["DuplicateKeysError", "loads"]

Location = tuple[str | int, ...]


class DuplicateKeysError(ValueError):
    """``duplicates`` lists each object's location (keys and list indexes) and the repeated key."""

    def __init__(self, duplicates: list[tuple[Location, str]]) -> None:
        self.duplicates = duplicates
        super().__init__("; ".join(f"the key {key!r} appears twice at {'.'.join(map(str, loc)) or 'top level'}"
                                   for loc, key in duplicates))


class _Object(dict):
    """A parsed JSON object that remembers which of its keys were repeated."""

    repeated: tuple[str, ...] = ()


def _pairs(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        repeated: list[str] = []
        for key, _ in pairs:
            if key in seen and key not in repeated:
                repeated.append(key)
            seen.add(key)
        obj.repeated = tuple(repeated)
    return obj


def _plain(value: Any, loc: Location, duplicates: list[tuple[Location, str]]) -> Any:
    # The hook cannot know where an object sits; this walk does, and it hands back plain dicts.
    if isinstance(value, _Object):
        duplicates.extend((loc, key) for key in value.repeated)
        return {key: _plain(item, (*loc, key), duplicates) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item, (*loc, index), duplicates) for index, item in enumerate(value)]
    return value


def loads(text: str) -> Any:
    """Parse ``text``; raises json.JSONDecodeError, or DuplicateKeysError naming every repeat."""
    duplicates: list[tuple[Location, str]] = []
    value = _plain(json.loads(text, object_pairs_hook=_pairs), (), duplicates)
    if duplicates:
        raise DuplicateKeysError(duplicates)
    return value
