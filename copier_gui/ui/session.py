"""What the window runs: a copier with its journal, copy book, connectors and background tasks.

Starts as the core requires (connect, reconcile, copy) and stops in reverse. Saved accounts come
from the settings through the runtime; the demo builds its own Session and is handed in.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.core.copier import Copier
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
    """A copier and what to release after it stops, in order (journal, copy book, connectors)."""

    copier: Copier
    closers: list[Callable[[], None]] = field(default_factory=list)
    demo: bool = False
    title: str = ""
    background: list[tuple[str, Callable[[], Coroutine[Any, Any, Any]]]] = field(default_factory=list)
    rig: Any = None  # the demo rig, for tests that trade at its master directly
    store: Any = None  # the SettingsStore the accounts came from; None in the demo
    _tasks: set[asyncio.Task] = field(default_factory=set)
    _start: asyncio.Task | None = None
    _closed: bool = False

    def begin(self) -> asyncio.Task:
        """Start the copier in a tracked task, so the window paints while accounts connect."""
        if self._start is None:
            self._start = asyncio.get_running_loop().create_task(self._run_start(), name="session-start")
        return self._start

    async def _run_start(self) -> None:
        await self.copier.start()
        for name, factory in self.background:
            task = asyncio.get_running_loop().create_task(factory(), name=name)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @property
    def started(self) -> bool:
        return self._start is not None and self._start.done() and not self._start.cancelled()

    async def shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        pending = [*self._tasks] + ([self._start] if self._start is not None and not self._start.done() else [])
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await self.copier.stop()
        for close in self.closers:
            with contextlib.suppress(Exception):
                close()


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

    def session(self, clock: Clock = SYSTEM_CLOCK) -> Session:
        """The copier for the linked accounts; RuntimeSetupError says why it cannot be built."""
        from copier_gui.runtime import build_copier

        runtime = build_copier(self.settings, self.paths, clock)
        count = len(self.settings.slaves)
        return Session(runtime.copier, [runtime.close], title=f"{count} slave{'s' if count != 1 else ''} linked",
                       store=self)

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

    def set_rules(self, account_id: str, rules: CopyRules) -> bool:
        account = self.settings.account(account_id) if self.settings is not None else None
        if account is None:
            return False
        return self._save(self.settings.with_account(account.model_copy(update={"rules": rules})))

    def geometry(self) -> str | None:
        return self.settings.window.geometry if self.settings is not None else None

    def set_geometry(self, geometry: str) -> bool:
        if self.settings is None or self.settings.window.geometry == geometry:
            return False
        window = self.settings.window.model_copy(update={"geometry": geometry})
        return self._save(self.settings.updated(window=window))
