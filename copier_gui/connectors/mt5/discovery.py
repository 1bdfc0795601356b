"""Finding the MetaTrader 5 terminals installed on a Windows machine, for the account wizard's list.

Two sources: each terminal's data folder under %APPDATA%\\MetaQuotes\\Terminal\\<hash> names its
install folder in origin.txt, and the usual install folders are scanned for terminal64.exe.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TERMINAL_EXE", "DiscoveredTerminal", "default_program_dirs", "discover_terminals",
           "read_origin"]

TERMINAL_EXE = "terminal64.exe"
# origin.txt holds one folder path; anything much longer is not an origin.txt.
_ORIGIN_MAX_BYTES = 4096


@dataclass(frozen=True, slots=True)
class DiscoveredTerminal:
    """One installed terminal.

    ``path`` is its terminal64.exe. ``data_folder`` holds its MQL5 folder and logs: the
    %APPDATA% folder named ``hash`` for a normal install, the install folder itself for a portable
    one, and None for an install that was never started. ``name`` is the install folder's name,
    which brokers set to their own (e.g. "Harbor FX MT5").
    """

    path: Path
    data_folder: Path | None
    name: str
    hash: str | None
    portable: bool = False

    @property
    def install_folder(self) -> Path:
        return self.path.parent


def default_program_dirs() -> list[Path]:
    """Where installers put terminals: Program Files (both) and the per-user Programs folder."""
    dirs = []
    for variable in ("ProgramFiles", "ProgramW6432", "ProgramFiles(x86)"):
        value = os.environ.get(variable)
        if value:
            dirs.append(Path(value))
    local = os.environ.get("LOCALAPPDATA")
    if local:
        dirs.append(Path(local) / "Programs")
    return dirs


def discover_terminals(*, appdata: str | os.PathLike[str] | None = None,
                       program_dirs: Iterable[str | os.PathLike[str]] | None = None
                       ) -> list[DiscoveredTerminal]:
    """Every MetaTrader 5 terminal found, once each, sorted by name.

    ``appdata`` defaults to %APPDATA% and ``program_dirs`` to :func:`default_program_dirs`; with
    neither set (not Windows) nothing is found. Folders that cannot be read, origin.txt files that
    make no sense, and installs without terminal64.exe (MetaTrader 4, removed installs) are
    skipped: the list shows only what can be chosen.
    """
    if appdata is None:
        appdata = os.environ.get("APPDATA")
    roots = [Path(d) for d in (default_program_dirs() if program_dirs is None else program_dirs)]
    found: dict[str, DiscoveredTerminal] = {}

    if appdata:
        for data_folder in _children(Path(appdata) / "MetaQuotes" / "Terminal"):
            install = read_origin(data_folder / "origin.txt")
            if install is None:
                continue  # "Common", "Community" and other folders that are not a terminal's
            exe = _find_exe(install)
            if exe is None:
                continue
            key = _key(exe)
            # The data folder's name is a hash of the install path, so two folders for one install
            # differ only by how the path was spelt; the first in sorted order wins, every run.
            if key not in found:
                found[key] = DiscoveredTerminal(exe, data_folder, install.name or str(install),
                                                data_folder.name)

    for root in roots:
        for install in _children(root):
            exe = _find_exe(install)
            if exe is None or _key(exe) in found:
                continue
            # Started with /portable, a terminal keeps its data beside itself.
            portable = _is_dir(install / "MQL5")
            found[_key(exe)] = DiscoveredTerminal(exe, install if portable else None, install.name,
                                                  None, portable=portable)

    return sorted(found.values(), key=lambda t: (t.name.casefold(), str(t.path).casefold()))


def read_origin(origin: Path) -> Path | None:
    """The install folder an origin.txt names, or None if it is missing or not a folder path."""
    try:
        with origin.open("rb") as handle:
            raw = handle.read(_ORIGIN_MAX_BYTES + 1)
    except OSError:
        return None
    if len(raw) > _ORIGIN_MAX_BYTES:
        return None
    text = _decode(raw)
    if text is None:
        return None
    text = text.strip().strip("\x00").strip()
    if not text:
        return None
    if any(not ch.isprintable() for ch in text):
        return None
    return Path(text)


def _decode(raw: bytes) -> str | None:
    # The terminal writes UTF-16 LE with a BOM; copies edited by hand may be UTF-8, with or without one.
    if raw.startswith(b"\xff\xfe") or raw.startswith(b"\xfe\xff"):
        encoding = "utf-16"
    elif raw.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    elif len(raw) >= 2 and len(raw) % 2 == 0 and raw[1::2].count(0) > len(raw) // 4:
        encoding = "utf-16-le"  # UTF-16 without a BOM: ASCII paths have a zero in every odd byte
    else:
        encoding = "utf-8"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        return None


def _find_exe(install: Path) -> Path | None:
    exe = install / TERMINAL_EXE
    if _is_file(exe):
        return exe
    # Windows names are case-insensitive; an origin.txt read elsewhere (Wine, tests) may not match.
    for child in _children(install, dirs=False):
        if child.name.casefold() == TERMINAL_EXE:
            return child
    return None


def _children(folder: Path, *, dirs: bool = True) -> list[Path]:
    try:
        entries = sorted(folder.iterdir())
    except OSError:  # missing, not a folder, or not readable
        return []
    return [e for e in entries if (_is_dir(e) if dirs else _is_file(e))]


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def _key(exe: Path) -> str:
    # The same install reached two ways must count once; normcase folds case on Windows only.
    return os.path.normcase(os.path.normpath(str(exe)))
