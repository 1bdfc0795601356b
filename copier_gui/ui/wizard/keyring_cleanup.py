"""The keyring entries a wizard or the edit dialog added: removed again unless an account keeps them.

Qt-free. A password or bridge secret is stored the moment it is typed (so the connection test can
read it as the copier will); if the trader then cancels, or types another login, the entry that
now belongs to no account must not stay behind. Entries that were there before belong to linked
accounts and are never removed from here.
"""

from __future__ import annotations

import logging

from copier_gui import secrets

__all__ = ["KeyringCleanup"]

log = logging.getLogger(__name__)


class KeyringCleanup:
    """Tracks the entries added; ``keep`` the ones a linked account uses, ``forget_all`` the rest."""

    def __init__(self) -> None:
        self._added: set[str] = set()

    @property
    def added(self) -> frozenset[str]:
        return frozenset(self._added)

    def stored(self, key: str | None, *, created: bool, replacing: str | None = None) -> None:
        """``key`` now holds what the trader typed (``created``: it held nothing before); the entry
        it replaces in the draft, ``replacing``, is removed if this dialog added it."""
        if created and key is not None:
            self._added.add(key)
        if replacing is not None and replacing != key:
            self.forget(replacing)

    def keep(self, *keys: str | None) -> None:
        """These entries belong to an account that was linked or saved: never removed from here."""
        for key in keys:
            self._added.discard(key or "")

    def forget(self, key: str) -> None:
        if key not in self._added:
            return  # it was there before: it belongs to an account already linked
        self._added.discard(key)
        try:
            secrets.delete_password(key)
        except secrets.SecretsUnavailable as exc:
            log.warning("could not remove an unused password from the keyring: %s", exc.message)

    def forget_all(self) -> None:
        for key in list(self._added):
            self.forget(key)
