"""One copier per user folder. Two copiers on one folder would both copy every master trade and
write one journal from two processes, so the second refuses to start.

The lock is the operating system's (``filelock``: ``flock`` on POSIX, ``msvcrt.locking`` on
Windows) on a file in the user folder, held for the process's life. The OS lets go of it when the
process ends, however it ends, so a crashed copier never blocks the next start, which a PID file
would.
"""

from __future__ import annotations

from pathlib import Path

import filelock

from copier_gui.paths import UserPaths

__all__ = ["EXIT_ALREADY_RUNNING", "AlreadyRunning", "FolderUnusable", "InstanceLock"]

# The command line's exit code when another copier holds the folder (README: "Exit codes").
EXIT_ALREADY_RUNNING = 3


class AlreadyRunning(Exception):
    """Another process holds the folder's lock; the message names the folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.message = (f"copier_gui is already running for the user folder {folder}: only one copier may use a "
                        "folder at a time; use that one, stop it first, or give this one another folder with "
                        "--home")
        super().__init__(self.message)


class FolderUnusable(Exception):
    """The user folder or its lock file cannot be made or opened; the message says why."""

    def __init__(self, folder: Path, exc: OSError) -> None:
        self.folder = folder
        blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            # mkdir says only "File exists" (or "Not a directory"): name the file in the way.
            self.message = (f"cannot use the user folder {folder}: {blocker} is a file, not a folder; "
                            "choose another folder with --home")
        else:
            self.message = (f"cannot use the user folder {folder}: {exc.strerror or exc}; choose another "
                            "one with --home, or fix its permissions")
        super().__init__(self.message)


class InstanceLock:
    """The user folder's lock: ``acquire()`` or ``with``; released on ``release()`` or process exit."""

    def __init__(self, paths: UserPaths) -> None:
        self.paths = paths
        self._lock: filelock.BaseFileLock | None = None

    @property
    def held(self) -> bool:
        return self._lock is not None and self._lock.is_locked

    def acquire(self) -> InstanceLock:
        """Take the lock now or raise AlreadyRunning (or FolderUnusable); never waits for the
        other copier to end."""
        # thread_local=False: the lock belongs to the process, whichever thread lets go of it.
        lock = filelock.FileLock(self.paths.lock_file, timeout=0, thread_local=False)
        try:
            self.paths.ensure()
            lock.acquire()
        except filelock.Timeout:
            raise AlreadyRunning(self.paths.root) from None
        except OSError as exc:
            raise FolderUnusable(self.paths.root, exc) from None
        self._lock = lock
        return self

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> InstanceLock:
        return self if self.held else self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
