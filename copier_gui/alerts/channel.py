"""What every alert channel is to the dispatcher: a name, an async send, and one error type.

A channel retries what is worth retrying itself; what it raises is final for that message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from copier_gui.secrets import SecretsUnavailable

__all__ = ["Channel", "Message", "SendError", "read_secret"]


@dataclass(frozen=True, slots=True)
class Message:
    subject: str  # one line: the e-mail's subject, the Telegram message's first line
    body: str


class SendError(Exception):
    """A message could not be delivered; ``message`` says why in the trader's words, never a secret."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent  # retrying cannot help until the trader changes something


class Channel(Protocol):
    name: str

    async def send(self, message: Message) -> None:
        """Deliver ``message`` or raise SendError."""

    async def aclose(self) -> None:
        """Release connections."""


def read_secret(lookup: Callable[[str], str | None], key: str, what: str, fix: str) -> str:
    """The secret under ``key``, read now (never kept), or a SendError saying how to store it."""
    try:
        secret = lookup(key)
    except SecretsUnavailable as exc:
        raise SendError(exc.message, permanent=True) from None
    if not secret:
        raise SendError(f"no {what} in the system keyring: {fix}", permanent=True)
    return secret
