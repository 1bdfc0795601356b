"""The simulated server's OAuth grants: access tokens, single-use refresh tokens, and rotation.

As at cTrader: an access token lives 2 628 000 s (about 30 days); a refresh token never expires
but works once, and using it invalidates the old pair at once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from copier_gui.clock import Clock

ACCESS_TOKEN_SECONDS = 2_628_000
SCOPE_VIEW = 0
SCOPE_TRADE = 1


@dataclass(slots=True)
class Grant:
    access_token: str
    refresh_token: str
    expires_at: float
    account_ids: tuple[int, ...]
    scope: int
    revoked: bool = False

    @property
    def expires_in(self) -> int:
        return ACCESS_TOKEN_SECONDS


class TokenRefused(Exception):
    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description


class TokenBook:
    def __init__(self, clock: Clock, rng: random.Random) -> None:
        self._clock = clock
        self._rng = rng
        self._by_access: dict[str, Grant] = {}
        self._by_refresh: dict[str, Grant] = {}

    def _token(self) -> str:
        return f"{self._rng.getrandbits(128):032x}"

    def issue(self, account_ids: tuple[int, ...], *, scope: int = SCOPE_TRADE,
              lifetime: float = ACCESS_TOKEN_SECONDS) -> Grant:
        grant = Grant(self._token(), self._token(), self._clock.time() + lifetime, tuple(account_ids), scope)
        self._by_access[grant.access_token] = grant
        self._by_refresh[grant.refresh_token] = grant
        return grant

    def check(self, access_token: str) -> Grant:
        grant = self._by_access.get(access_token)
        if grant is None or grant.revoked:
            raise TokenRefused("CH_ACCESS_TOKEN_INVALID", "Invalid access token")
        if self._clock.time() >= grant.expires_at:
            raise TokenRefused("OA_AUTH_TOKEN_EXPIRED", "Access token expired")
        return grant

    def refresh(self, refresh_token: str) -> tuple[Grant, Grant]:
        """(the old grant, now revoked; the new one). A spent or unknown refresh token is refused."""
        old = self._by_refresh.get(refresh_token)
        if old is None or old.revoked:
            raise TokenRefused("CH_ACCESS_TOKEN_INVALID", "Invalid refresh token")
        old.revoked = True
        new = self.issue(old.account_ids, scope=old.scope)
        return old, new

    def expire(self, access_token: str) -> None:
        """Make an access token expire now (tests of expiry without waiting 30 days)."""
        self._by_access[access_token].expires_at = self._clock.time()
