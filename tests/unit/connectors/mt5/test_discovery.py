"""Terminal discovery against a fake Windows tree: APPDATA data folders and Program Files installs."""

from __future__ import annotations

from pathlib import Path

import pytest

from copier_gui.connectors.mt5.discovery import (
    DiscoveredTerminal,
    default_program_dirs,
    discover_terminals,
    read_origin,
)

HASH_A = "D0E8209F77C8CF37AD8BF550E51FF075"
HASH_B = "0F5E4B3A2C1D0E9F8A7B6C5D4E3F2A1B"


@pytest.fixture
def tree(tmp_path):
    appdata = tmp_path / "AppData" / "Roaming"
    program_files = tmp_path / "Program Files"
    program_files_x86 = tmp_path / "Program Files (x86)"
    local_programs = tmp_path / "AppData" / "Local" / "Programs"
    for folder in (appdata / "MetaQuotes" / "Terminal", program_files, program_files_x86, local_programs):
        folder.mkdir(parents=True)
    return appdata, [program_files, program_files_x86, local_programs]


def _install(folder: Path, exe: str = "terminal64.exe") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / exe).write_bytes(b"MZ")
    return folder / exe


def _data_folder(appdata: Path, name: str, origin: bytes | None) -> Path:
    folder = appdata / "MetaQuotes" / "Terminal" / name
    (folder / "MQL5").mkdir(parents=True)
    if origin is not None:
        (folder / "origin.txt").write_bytes(origin)
    return folder


def _utf16(text: str) -> bytes:
    return b"\xff\xfe" + text.encode("utf-16-le")  # what the terminal writes


def _discover(tree) -> list[DiscoveredTerminal]:
    appdata, program_dirs = tree
    return discover_terminals(appdata=appdata, program_dirs=program_dirs)


def test_utf16_origin_with_a_bom_finds_the_install_and_its_data_folder(tree, tmp_path):
    appdata, (program_files, *_) = tree
    exe = _install(program_files / "Harbor FX MT5")
    data = _data_folder(appdata, HASH_A, _utf16(str(exe.parent)))
    (found,) = _discover(tree)
    assert found == DiscoveredTerminal(exe, data, "Harbor FX MT5", HASH_A, portable=False)
    assert found.install_folder == exe.parent


def test_utf8_origin_with_or_without_bom_and_utf16_without_bom(tree, tmp_path):
    appdata, _ = tree
    installs = [_install(tmp_path / "D" / name) for name in ("Plain", "WithBom", "Utf16NoBom")]
    _data_folder(appdata, "A" * 32, str(installs[0].parent).encode() + b"\r\n")
    _data_folder(appdata, "B" * 32, b"\xef\xbb\xbf" + str(installs[1].parent).encode())
    _data_folder(appdata, "C" * 32, str(installs[2].parent).encode("utf-16-le"))
    found = _discover(tree)
    assert [t.name for t in found] == ["Plain", "Utf16NoBom", "WithBom"]
    assert [t.hash for t in found] == ["A" * 32, "C" * 32, "B" * 32]


def test_an_install_folder_with_non_ascii_characters(tree, tmp_path):
    appdata, _ = tree
    exe = _install(tmp_path / "Programme" / "Börse MetaTrader 5 – Demo")
    _data_folder(appdata, HASH_A, _utf16(str(exe.parent)))
    assert [t.name for t in _discover(tree)] == ["Börse MetaTrader 5 – Demo"]


def test_an_install_without_terminal64_is_skipped(tree, tmp_path):
    appdata, (program_files, *_) = tree
    # MetaTrader 4 shares the data folder root but has terminal.exe; a removed install has nothing.
    mt4 = _install(program_files / "MetaTrader 4", exe="terminal.exe")
    _data_folder(appdata, HASH_A, _utf16(str(mt4.parent)))
    _data_folder(appdata, HASH_B, _utf16(str(tmp_path / "uninstalled" / "MetaTrader 5")))
    (program_files / "Empty Vendor").mkdir()
    assert _discover(tree) == []


def test_the_same_install_found_both_ways_is_listed_once_with_its_data_folder(tree):
    appdata, (program_files, *_) = tree
    exe = _install(program_files / "MetaTrader 5")
    data = _data_folder(appdata, HASH_A, _utf16(str(exe.parent)))
    # The same folder spelt with a trailing separator; the first data folder in name order wins.
    _data_folder(appdata, "F" * 32, _utf16(str(exe.parent) + "/"))
    (found,) = _discover(tree)
    assert found.data_folder == data
    assert found.hash == HASH_A


def test_installs_in_every_program_folder(tree):
    appdata, (program_files, program_files_x86, local_programs) = tree
    _install(program_files / "MetaTrader 5")
    _install(program_files_x86 / "Zeta Broker MT5")
    _install(local_programs / "apex funded mt5")
    found = _discover(tree)
    # Sorted by name, ignoring case; never started, so no data folder yet.
    assert [t.name for t in found] == ["apex funded mt5", "MetaTrader 5", "Zeta Broker MT5"]
    assert all(t.data_folder is None and t.hash is None and not t.portable for t in found)


def test_a_portable_install_keeps_its_data_beside_the_terminal(tree):
    _, (program_files, *_) = tree
    exe = _install(program_files / "MT5 Portable")
    (exe.parent / "MQL5").mkdir()
    (found,) = _discover(tree)
    assert found.portable
    assert found.data_folder == exe.parent
    assert found.hash is None


def test_a_differently_cased_exe_is_found(tree):
    _, (program_files, *_) = tree
    exe = _install(program_files / "Odd Case", exe="Terminal64.EXE")
    assert [t.path for t in _discover(tree)] == [exe]


@pytest.mark.parametrize("origin", [
    b"",
    b"\xff\xfe",
    b"\x00\x00\x00\x00",
    b"\xff\xfe\x00\xd8",  # a lone UTF-16 surrogate
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    b"\xc3\x28 not utf-8",
    b"first line\nsecond line",
    b"A" * 5000,
])
def test_garbage_origin_files_are_skipped(tree, origin):
    appdata, _ = tree
    _data_folder(appdata, HASH_A, origin)
    assert _discover(tree) == []


def test_garbage_around_real_terminals_does_not_hide_them(tree, tmp_path):
    appdata, (program_files, *_) = tree
    exe = _install(program_files / "MetaTrader 5")
    _data_folder(appdata, HASH_A, _utf16(str(exe.parent)))
    _data_folder(appdata, "Common", None)  # shared by all terminals: no origin.txt
    _data_folder(appdata, "Community", None)
    (appdata / "MetaQuotes" / "Terminal" / "stray.ini").write_text("[x]")
    _data_folder(appdata, HASH_B, b"\x00\x01\x02garbage")
    (program_files / "readme.txt").write_text("not a folder")
    origin_is_a_folder = _data_folder(appdata, "E" * 32, None)
    (origin_is_a_folder / "origin.txt").mkdir()
    assert [t.path for t in _discover(tree)] == [exe]


def test_missing_roots_find_nothing(tmp_path):
    assert discover_terminals(appdata=tmp_path / "nope", program_dirs=[tmp_path / "none"]) == []
    assert discover_terminals(appdata=None, program_dirs=[]) == []


def test_defaults_come_from_the_environment(tree, monkeypatch, tmp_path):
    appdata, (program_files, program_files_x86, local_programs) = tree
    monkeypatch.setenv("APPDATA", str(appdata))
    monkeypatch.setenv("ProgramFiles", str(program_files))
    monkeypatch.setenv("ProgramFiles(x86)", str(program_files_x86))
    monkeypatch.delenv("ProgramW6432", raising=False)
    monkeypatch.setenv("LOCALAPPDATA", str(local_programs.parent))
    assert default_program_dirs() == [program_files, program_files_x86, local_programs]
    exe = _install(local_programs / "MetaTrader 5")
    assert [t.path for t in discover_terminals()] == [exe]


def test_read_origin_strips_whitespace_and_nuls(tmp_path):
    origin = tmp_path / "origin.txt"
    origin.write_bytes(_utf16("  C:\\Program Files\\MetaTrader 5\r\n\x00"))
    assert read_origin(origin) == Path("C:\\Program Files\\MetaTrader 5")
    assert read_origin(tmp_path / "missing.txt") is None
