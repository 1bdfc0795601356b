"""Opens the user folder's logs in the system's file manager, for a trader asked for their logs."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices


def open_folder(folder: Path) -> bool:
    """Show ``folder`` in the file manager, creating it first; False if it could not be shown."""
    try:
        # Before the first log line the folder may not exist, and a file manager shows an error.
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return False
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
