"""The ``copier-gui`` command line: parses arguments and hands off to the right mode."""

from __future__ import annotations

import argparse
import sys

from copier_gui import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="copier-gui",
        description="Mirror a master MetaTrader 5 account to many slaves and measure the drift.",
    )
    parser.add_argument("--version", action="version", version=f"copier-gui {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    parser.parse_args(argv)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
