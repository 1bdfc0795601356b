"""Where a trader's cTrader tokens live: the system keyring, or memory for the demo and tests.

One token pair serves every account of one cTrader ID, and each refresh spends the refresh token,
so the pair is one keyring entry (JSON of both tokens and the access token's end) that every
account of that ID names by the same key. The session saves a refreshed pair here before it
uses it. Tokens never appear in a log, a repr or an exception text.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Protocol, runtime_checkable

from copier_gui import secrets
from copier_gui.connectors.ctrader.session import TokenPair, TokenStore

log = logging.getLogger(__name__)

__all__ = ["KeyringTokenStore", "LoadableTokenStore", "MemoryTokenStore", "TokenStoreUnreadable"]

_WHAT = "cTrader tokens"


@runtime_checkable
class LoadableTokenStore(TokenStore, Protocol):
    """A token store the connector can also read the pair from when it connects.

    ``key`` names the pair (the keyring entry); connectors whose stores share a key, host, port
    and application share one link, since a refresh through one spends the pair for all.
    """

    key: str

    async def load(self) -> TokenPair | None: ...


class TokenStoreUnreadable(Exception):
    """The stored pair cannot be read; ``message`` says what to do (never quotes the tokens)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def encode(tokens: TokenPair) -> str:
    return json.dumps({"access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
                       "expires_at": tokens.expires_at, "token_type": tokens.token_type})


def decode(text: str, *, key: str) -> TokenPair:
    try:
        data = json.loads(text)
        pair = TokenPair(str(data["access_token"]), str(data["refresh_token"]), float(data["expires_at"]),
                         str(data.get("token_type") or "bearer"))
    except (ValueError, TypeError, KeyError):
        # Never the parser's text: it may quote the entry.
        raise TokenStoreUnreadable(f"the cTrader tokens kept under {key!r} in the system keyring are not a "
                                   "token pair this copier wrote: authorize the account again") from None
    if not pair.access_token or not pair.refresh_token:
        raise TokenStoreUnreadable(f"the cTrader tokens kept under {key!r} are incomplete: authorize the "
                                   "account again")
    return pair


class KeyringTokenStore:
    """The pair as one JSON entry in the system keyring, under ``key``. Keyring calls block, so
    they run off the event loop."""

    def __init__(self, key: str) -> None:
        if not key:
            raise ValueError("a cTrader token store needs a keyring key")
        self.key = key

    def __repr__(self) -> str:
        return f"KeyringTokenStore({self.key!r})"

    async def load(self) -> TokenPair | None:
        try:
            text = await asyncio.to_thread(secrets.get_secret, self.key, what=_WHAT)
        except secrets.SecretsUnavailable as exc:
            raise TokenStoreUnreadable(exc.message) from None
        return None if text is None else decode(text, key=self.key)

    async def save(self, tokens: TokenPair) -> None:
        # Returns only once the keyring holds the pair: the old refresh token is already spent.
        await asyncio.to_thread(secrets.store_secret, self.key, encode(tokens), what=_WHAT)
        log.info("refreshed cTrader tokens saved under %s (valid until %.0f)", self.key, tokens.expires_at)


class MemoryTokenStore:
    """A pair kept in this process only: the demo's simulated broker and tests."""

    def __init__(self, tokens: TokenPair | None = None, *, key: str | None = None) -> None:
        # Without a key of its own, each store is its own cTrader ID: connectors share a link only
        # through the same store object or an explicitly shared key.
        self.key = key or f"memory-{id(self):x}"
        self._tokens = tokens
        self.saves = 0

    def __repr__(self) -> str:
        return f"MemoryTokenStore({self.key!r}, saves={self.saves})"

    @property
    def tokens(self) -> TokenPair | None:
        return self._tokens

    async def load(self) -> TokenPair | None:
        return self._tokens

    async def save(self, tokens: TokenPair) -> None:
        self._tokens = tokens
        self.saves += 1
