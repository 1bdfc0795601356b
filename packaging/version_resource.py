"""The Windows version resource of the executables, made from ``copier_gui.__version__``.

The spec writes one resource file per executable with :func:`write_version_file` and hands it to
PyInstaller's ``version=``, so Explorer's Details tab, the installer and ``copier-gui --version``
all show the same version; the build scripts ask it for the version (``--print-version``) to
name the installer. The text format is the one PyInstaller's ``pyi-grab_version`` prints;
it is written here rather than built from PyInstaller's classes, which import Windows-only
modules, so the resource can be made and checked on any system. Run as a script to print one.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INIT_FILE = ROOT / "copier_gui" / "__init__.py"

PRODUCT = "copier_gui"
COMPANY = "copier_gui developers"
COPYRIGHT = "MIT License, copier_gui developers"

_VERSION_LINE = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.MULTILINE)
_LEADING_NUMBERS = re.compile(r"^(\d+(?:\.\d+)*)")


def read_version(init_file: Path = INIT_FILE) -> str:
    """The package version, read from the source without importing the package.

    The spec runs in whatever Python builds the bundle (under Wine, the Windows one), where
    importing copier_gui would need all of its dependencies first.
    """
    match = _VERSION_LINE.search(init_file.read_text(encoding="utf-8"))
    if match is None:
        raise ValueError(f"no __version__ = '...' line in {init_file}")
    return match.group(1)


def numeric_version(version: str) -> tuple[int, int, int, int]:
    """The four 16-bit numbers Windows wants: ``0.1.0`` -> (0, 1, 0, 0); ``1.2rc1`` -> (1, 2, 0, 0).

    A pre-release or local suffix has no place in the numeric field; the string fields keep it.
    """
    match = _LEADING_NUMBERS.match(version.strip().lstrip("vV"))
    if match is None:
        raise ValueError(f"version {version!r} does not start with a number")
    numbers = [int(part) for part in match.group(1).split(".")][:4]
    numbers += [0] * (4 - len(numbers))
    if any(n > 0xFFFF for n in numbers):
        raise ValueError(f"version {version!r}: each part must fit in 16 bits for Windows")
    return (numbers[0], numbers[1], numbers[2], numbers[3])


def version_resource_text(version: str, exe_name: str, description: str) -> str:
    """The resource for ``exe_name`` (e.g. ``copier-gui.exe``) as PyInstaller's text format."""
    numbers = numeric_version(version)
    strings = [
        ("CompanyName", COMPANY),
        ("FileDescription", description),
        ("FileVersion", version),
        ("InternalName", Path(exe_name).stem),
        ("LegalCopyright", COPYRIGHT),
        ("OriginalFilename", exe_name),
        ("ProductName", PRODUCT),
        ("ProductVersion", version),
    ]
    table = ",\n".join(f"          StringStruct({name!r}, {value!r})" for name, value in strings)
    # 0x0409 (US English) with code page 1200 (UTF-16): the pair Windows looks up first.
    return (
        "# UTF-8\n"
        "VSVersionInfo(\n"
        "  ffi=FixedFileInfo(\n"
        f"    filevers={numbers!r},\n"
        f"    prodvers={numbers!r},\n"
        "    mask=0x3f,\n"
        "    flags=0x0,\n"
        "    OS=0x40004,\n"
        "    fileType=0x1,\n"
        "    subtype=0x0,\n"
        "    date=(0, 0)\n"
        "  ),\n"
        "  kids=[\n"
        "    StringFileInfo([\n"
        "      StringTable(\n"
        "        '040904B0',\n"
        "        [\n"
        f"{table}\n"
        "        ])\n"
        "    ]),\n"
        "    VarFileInfo([VarStruct('Translation', [1033, 1200])])\n"
        "  ]\n"
        ")\n"
    )


def write_version_file(folder: Path, version: str, exe_name: str, description: str) -> Path:
    """Write the resource for ``exe_name`` into ``folder``; returns the file for ``EXE(version=)``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{Path(exe_name).stem}-version.txt"
    path.write_text(version_resource_text(version, exe_name, description), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the Windows version resource of an executable.")
    parser.add_argument("--exe", default="copier-gui.exe", help="file name the resource describes")
    parser.add_argument("--description", default="copier_gui trade copier")
    parser.add_argument("--print-version", action="store_true",
                        help="print only the package version (for the build scripts)")
    parser.add_argument("--print-file-version", action="store_true",
                        help="print the four-part numeric version (the installer's VIProductVersion)")
    args = parser.parse_args(argv)
    if args.print_version:
        print(read_version())
        return 0
    if args.print_file_version:
        print(".".join(str(n) for n in numeric_version(read_version())))
        return 0
    sys.stdout.write(version_resource_text(read_version(), args.exe, args.description))
    return 0


if __name__ == "__main__":
    sys.exit(main())
