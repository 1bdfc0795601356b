"""Tags that link a slave's positions and orders to the master position they copy, and copy IDs.

The tag is a magic number plus a short comment. It lives at the broker, on the slave's own
positions, so after a restart, a crash or a disconnect the reconciler reads from the broker which
master position each slave position belongs to: nothing is opened twice and nothing is left behind.
Copy IDs are deterministic (master account, master position, slave, leg), so a retried or replayed
event is recognised as the same copy.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Callable, Iterable

PREFIX = "CG"
_DIGITS = string.digits + string.ascii_uppercase

# The longest tag written (an 8-digit ticket, a 4-character instance, the chase mark). Every
# connector's tag field must hold it: its Capabilities say how long that field is.
MAX_COMMENT = 27


@functools.lru_cache(maxsize=8192)  # a fan-out tags the same ticket for every slave
def base36(number: int) -> str:
    if number < 0:
        raise ValueError(f"cannot encode a negative ticket {number}")
    if number == 0:
        return "0"
    out = []
    while number:
        number, digit = divmod(number, 36)
        out.append(_DIGITS[digit])
    return "".join(reversed(out))


# Marks the copier's own limit order at the master's price (tolerances.on_price_deviation), so the
# reconciler knows it by its tag instead of guessing it from a pending order that outlived its master.
CHASE = "L"


def comment_for(master_ticket: int, *, instance: str = "", chase: bool = False) -> str:
    """The comment a slave position or order carries for the master position/order ``master_ticket``.

    A master pending order's ticket becomes its position's ticket when it fills, so one tag covers
    an order and the position it turns into. ``instance`` names the copier (a user folder on one
    machine), so a second copier trading the same account is recognised instead of fought with.
    """
    return (f"{PREFIX}:{base36(master_ticket)}" + (f".{instance}" if instance else "")
            + (f"/{CHASE}" if chase else ""))


def is_chase(comment: str) -> bool:
    """True for the copier's own price-chasing limit order (see ``comment_for(chase=True)``)."""
    return master_ticket_of(comment) is not None and f"/{CHASE}" in comment[len(PREFIX) + 1:]


def instance_of(comment: str) -> str:
    """The copier instance a tag names; "" for a tag without one (written before instances existed)."""
    body = comment[len(PREFIX) + 1:]
    dot = body.find(".")
    if not comment.startswith(PREFIX + ":") or dot < 0:
        return ""
    return body[dot + 1:].split("/", 1)[0]


def is_ours(comment: str, instance: str) -> bool:
    """A tag this copier wrote, or one without an instance, which every copier takes as its own."""
    return master_ticket_of(comment) is not None and instance_of(comment) in ("", instance)


@functools.lru_cache(maxsize=8192)  # read for every position of every slave on each pass
def master_ticket_of(comment: str) -> int | None:
    """The master ticket a slave comment points to, or None when it is not one of ours."""
    if not comment.startswith(PREFIX + ":"):
        return None
    body = comment[len(PREFIX) + 1:]
    # Some servers append their own text to a comment; the tag ends at the first non-digit.
    digits = []
    for ch in body:
        if ch.upper() not in _DIGITS:
            break
        digits.append(ch.upper())
    if not digits:
        return None
    return int("".join(digits), 36)


def copy_id(master_account: str, master_ticket: int, slave: str, leg: str) -> str:
    """A stable name for one copy step, the same every time the same step is attempted."""
    return f"{master_account}:{master_ticket}:{slave}:{leg}"


# Which magic numbers a connector reports positions and orders of: a predicate, a set of numbers,
# one number, or None for all of them.
MagicFilter = Callable[[int], bool] | Iterable[int] | int | None


def magic_predicate(magic_filter: MagicFilter) -> Callable[[int], bool] | None:
    """The filter as a predicate on a magic number; None keeps every position and order."""
    if magic_filter is None:
        return None
    if callable(magic_filter):
        return magic_filter
    wanted = {int(magic_filter)} if isinstance(magic_filter, int) else {int(m) for m in magic_filter}
    return wanted.__contains__
