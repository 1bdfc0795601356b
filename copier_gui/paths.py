"""Where copier_gui keeps the user's files: settings, the journal, logs and backups.

Everything lives under one folder, so a user can back it up, move it or point ``--home`` at
another one. The folder comes from ``--home``, else ``COPIER_GUI_HOME``, else platformdirs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "copier_gui"
HOME_ENV = "COPIER_GUI_HOME"

# Journal and settings name accounts and servers: other local users have no business reading
# them. The mode is ignored where the OS has no POSIX permissions (Windows).
_PRIVATE_DIR_MODE = 0o700


@dataclass(frozen=True)
class UserPaths:
    """The user's folder and the well-known files inside it; building one creates nothing."""

    root: Path

    @property
    def settings_file(self) -> Path:
        return self.root / "settings.json"

    @property
    def journal_file(self) -> Path:
        return self.root / "journal.sqlite3"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def backups_dir(self) -> Path:
        return self.root / "backups"

    @property
    def lock_file(self) -> Path:
        """Held by the one copier running on this folder (see copier_gui.instance)."""
        return self.root / "copier_gui.lock"

    def ensure(self) -> UserPaths:
        """Create the root, logs and backups folders if missing; return self."""
        for folder in (self.root, self.logs_dir, self.backups_dir):
            # Existing folders keep their mode: the user may have chosen it.
            folder.mkdir(mode=_PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        return self


def user_paths(home: str | os.PathLike[str] | None = None) -> UserPaths:
    """Resolve the user's folder: ``home`` (the CLI's ``--home``), the environment, platformdirs."""
    if home is not None and str(home) != "":
        chosen = Path(home)
    elif os.environ.get(HOME_ENV):
        chosen = Path(os.environ[HOME_ENV])
    else:
        chosen = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    # Absolute, so a later change of working directory cannot move the user's files.
    return UserPaths(chosen.expanduser().absolute())
