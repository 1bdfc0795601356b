"""What the window runs: a Runtime from the one builder, and the settings the accounts come from.

Starts as the core requires (connect, reconcile, copy) and stops in reverse. Saved accounts come
from the settings; the demo's Session is built by the demo package and handed in.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from copier_gui.assembly import Runtime
from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.core.copier import Copier, SlaveMode
from copier_gui.core.rules import CopyRules
from copier_gui.paths import UserPaths
from copier_gui.settings import (
    AccountSettings,
    Settings,
    SettingsError,
    load_settings,
    save_settings,
)


@dataclass
class Session:
    """A Runtime as the window runs it: started in a tracked task so the window paints while
    accounts connect, and stopped in order (background, watchers, copier, then what it ran on)."""

    runtime: Runtime
    demo: bool = False
    title: str = ""
    rig: Any = None  # the demo's terminals, for tests that trade at its master directly
    store: Any = None  # the SettingsStore the accounts came from; None in the demo
    _start: asyncio.Task | None = None
    _closed: bool = False

    @property
    def copier(self) -> Copier:
        return self.runtime.copier

    def begin(self) -> asyncio.Task:
        """Start the runtime in a tracked task, so the window paints while accounts connect."""
        if self._start is None:
            self._start = asyncio.get_running_loop().create_task(self.runtime.start(), name="session-start")
        return self._start

    @property
    def begun(self) -> bool:
        """``begin`` was called: the runtime is starting or has started."""
        return self._start is not None

    @property
    def started(self) -> bool:
        return self._start is not None and self._start.done() and not self._start.cancelled()

    async def shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._start is not None and not self._start.done():
            self._start.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._start
        with contextlib.suppress(Exception):
            # Closes on a thread: the worker processes' exits are waited for off the loop.
            await self.runtime.aclose()


class SettingsStore:
    """The user's settings as the window uses them: loaded once, saved after each change.

    A file that could not be loaded is never written over: the error says what is wrong and where
    the backup is, and the user fixes or moves the file.
    """

    def __init__(self, paths: UserPaths) -> None:
        self.paths = paths
        self.settings: Settings | None = None
        self.error = ""

    def load(self) -> Settings | None:
        try:
            self.settings = load_settings(self.paths.settings_file, backups_dir=self.paths.backups_dir)
            self.error = ""
        except SettingsError as exc:
            self.settings, self.error = None, exc.message
        return self.settings

    def _save(self, settings: Settings) -> bool:
        if self.settings is None:
            return False
        try:
            save_settings(settings, self.paths.settings_file)
        except OSError as exc:
            self.error = f"cannot save the settings to {self.paths.settings_file}: {exc.strerror or exc}"
            return False
        self.settings = settings
        return True

    def ready(self) -> bool:
        """A master and at least one slave: enough to copy."""
        return self.settings is not None and self.settings.master is not None and bool(self.settings.slaves)

    def describe(self) -> str:
        """What is linked so far and what is missing, for the welcome page."""
        if self.settings is None:
            return self.error
        if not self.settings.accounts:
            return ""
        linked = ", ".join(f"{a.id} ({a.role})" for a in self.settings.accounts)
        missing = "a master account" if self.settings.master is None else "at least one slave"
        return f"Linked so far: {linked}. Link {missing} to start copying."

    def session(self, clock: Clock = SYSTEM_CLOCK, *, services=()) -> Session:
        """The copier for the linked accounts; RuntimeSetupError says why it cannot be built."""
        from copier_gui.assembly import build_runtime
        from copier_gui.runtime import LinkedTerminals

        terminals = LinkedTerminals(clock, poll_s=self.settings.poll_interval_ms / 1000.0)
        runtime = build_runtime(self.settings, self.paths, clock, terminals=terminals, services=services)
        count = len(self.settings.slaves)
        return Session(runtime, title=f"{count} slave{'s' if count != 1 else ''} linked", store=self)

    def add_account(self, account: AccountSettings) -> bool:
        return self.settings is not None and self._save(self.settings.with_account(account))

    def set_copying(self, copying: bool) -> bool:
        return self.settings is not None and self._save(self.settings.updated(copying=copying))

    def set_copy_enabled(self, account_id: str, enabled: bool) -> bool:
        account = self.settings.account(account_id) if self.settings is not None else None
        if account is None:
            return False
        changed = AccountSettings.model_validate({**dict(account), "copy_enabled": enabled})
        return self._save(self.settings.with_account(changed))

    def set_mode(self, account_id: str, mode: SlaveMode | str) -> bool:
        """A slave's copying / close-only / paused, as the trader left it, for the next start."""
        account = self.settings.account(account_id) if self.settings is not None else None
        if account is None or account.mode == SlaveMode(mode):
            return False
        changed = AccountSettings.model_validate({**dict(account), "mode": SlaveMode(mode)})
        return self._save(self.settings.with_account(changed))

    def replace_account(self, account: AccountSettings) -> bool:
        """An edited account saved over the one with its id (which must be linked)."""
        if self.settings is None or self.settings.account(account.id) is None:
            self.error = self.error or f"no linked account has the id {account.id!r}"
            return False
        return self._save(self.settings.with_account(account))

    def remove_account(self, account_id: str) -> tuple[bool, str]:
        """Unlink an account and delete its keyring entries (its password unless another linked
        account reads the same one, a bridge's secret with the last account using that bridge).

        Returns whether the settings were saved, and what was done in words. The settings are saved
        first: a keyring that cannot be reached leaves a password behind, never a linked account
        without its password."""
        from copier_gui import account_setup
        from copier_gui.secrets import SecretsUnavailable

        account = self.settings.account(account_id) if self.settings is not None else None
        if account is None:
            return False, f"no linked account has the id {account_id!r}"
        remaining = self.settings.without_account(account_id)
        if not self._save(remaining):
            return False, self.error
        try:
            done = account_setup.forget_secrets(account, remaining)
        except SecretsUnavailable as exc:
            return True, f"{account_id} was unlinked, but its password could not be deleted: {exc.message}"
        return True, f"{account_id} was unlinked; " + "; ".join(done) + "."

    def set_master(self, account_id: str) -> bool:
        """Make a slave the master. The master before it stays linked as a close-only slave: nothing
        is copied to it until the trader turns copying on for it."""
        if self.settings is None or self.settings.account(account_id) is None:
            return False
        return self._save(self.settings.with_master(account_id, old_master_mode=SlaveMode.CLOSE_ONLY))

    def set_theme(self, theme: str) -> bool:
        if self.settings is None or self.settings.window.theme == theme:
            return False
        window = self.settings.window
        return self._save(self.settings.updated(window=type(window).model_validate({**dict(window), "theme": theme})))

    def set_rules(self, account_id: str, rules: CopyRules) -> bool:
        account = self.settings.account(account_id) if self.settings is not None else None
        if account is None:
            return False
        return self._save(self.settings.with_account(account.model_copy(update={"rules": rules})))

    def geometry(self, screen: str) -> str | None:
        return self.settings.window.geometry_for(screen) if self.settings is not None else None

    def set_geometry(self, geometry: str, screen: str) -> bool:
        if self.settings is None or self.settings.window.by_screen.get(screen) == geometry:
            return False
        return self._save(self.settings.updated(window=self.settings.window.remember(screen, geometry)))
