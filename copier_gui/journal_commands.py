"""The ``copier-gui journal`` commands: info, archive and export, on a user folder's journal.

All of them run beside a copier writing to the same journal: they read through their own SQLite
connections, and ``archive`` locks the live file one short batch at a time. Bad input is one line
on stderr and exit code 2, as everywhere on the command line; a damaged file's JournalError goes
up to the command line, which says the same.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.core import journal_archive as ja
from copier_gui.paths import UserPaths

ARCHIVE_HINT = "archive older entries with `copier-gui journal archive --before YYYY-MM-DD`"
EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """Bad input for a journal command: printed as one line, exit code 2."""


def add_parsers(journal_sub) -> None:
    """The journal's actions, under ``copier-gui journal``."""
    journal_sub.add_parser("info", help="the journal's size, entries and time span, and its archives")
    archive = journal_sub.add_parser(
        "archive", help="move entries older than a date to an archive file and shrink the journal; "
                        "safe while a copier runs")
    archive.add_argument("--before", required=True, metavar="YYYY-MM-DD",
                         help="move entries from before the start of this day (UTC)")
    export = journal_sub.add_parser("export", help="export the journal, archived entries first")
    export.add_argument("--csv", required=True, metavar="FILE", help="write every entry to this CSV file")
    export.add_argument("--live-only", action="store_true", help="leave out the archived entries")


def run(paths: UserPaths, args: argparse.Namespace, clock: Clock = SYSTEM_CLOCK) -> int:
    try:
        if args.journal_command == "info":
            return info(paths)
        if args.journal_command == "archive":
            return archive(paths, args.before, clock)
        return export(paths, Path(args.csv), live_only=args.live_only)
    except UsageError as exc:
        print(f"copier-gui: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _when(wall: float | None) -> str:
    if wall is None:
        return "-"
    return f"{dt.datetime.fromtimestamp(wall, dt.UTC):%Y-%m-%d %H:%M:%S} UTC"


def _describe(summary: ja.FileSummary) -> str:
    if not summary.count:
        return f"no entries, {ja.format_size(summary.size)}"
    return (f"{summary.count:,} entries from {_when(summary.oldest)} to {_when(summary.newest)}, "
            f"{ja.format_size(summary.size)} on disk")


def info(paths: UserPaths) -> int:
    journal = paths.journal_file
    folder = ja.archive_folder(journal)
    archived = ja.archives(folder)
    if not journal.exists() and not archived:
        raise UsageError(f"no journal at {journal} yet: run the copier first")
    if journal.exists():
        print(f"journal {journal}: {_describe(ja.summarize(journal))}")
    else:
        print(f"journal {journal}: not there (the copier makes it when it next runs)")
    if not archived:
        print(f"no archives yet in {folder}; {ARCHIVE_HINT}")
        return 0
    print(f"archives in {folder}:")
    for path in archived:
        print(f"  {path.name}: {_describe(ja.summarize(path))}")
    return 0


def parse_day(text: str, today: dt.date) -> dt.date:
    """``--before``'s date: YYYY-MM-DD, not after today (UTC)."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--before takes a date as YYYY-MM-DD, such as {today.isoformat()}, not {text!r}") from None
    if len(text) != 10:  # fromisoformat takes 20261101 too; the archive's name wants the dashes
        raise UsageError(f"--before takes a date as YYYY-MM-DD, such as {today.isoformat()}, not {text!r}")
    if day > today:
        raise UsageError(f"--before {text} is in the future (today is {today.isoformat()} UTC): "
                         "only past entries can be archived")
    return day


def archive(paths: UserPaths, before: str, clock: Clock = SYSTEM_CLOCK) -> int:
    today = dt.datetime.fromtimestamp(clock.time(), dt.UTC).date()
    day = parse_day(before, today)
    journal = paths.journal_file
    if not journal.exists():
        raise UsageError(f"no journal at {journal} yet: nothing to archive")
    result = ja.archive_before(journal, ja.archive_folder(journal), day, clock=clock, backups_dir=paths.backups_dir)
    if result.moved == 0 and result.already_archived == 0:
        print(f"no entries before {day.isoformat()} in {journal}: nothing moved")
    else:
        print(f"{result.moved:,} journal entries from before {day.isoformat()} moved to {result.archive}")
        if result.already_archived:
            print(f"{result.already_archived:,} more were already in an archive (left by an interrupted run) "
                  "and were removed from the journal")
    print(f"journal {journal}: {ja.format_size(result.size_before)} before, "
          f"{ja.format_size(result.size_after)} after")
    return 0


def export(paths: UserPaths, out: Path, *, live_only: bool = False) -> int:
    journal = paths.journal_file
    archived = [] if live_only else ja.archives(ja.archive_folder(journal))
    if not journal.exists() and not archived:
        raise UsageError(f"no journal at {journal} yet: run the copier first")
    if out.is_dir():
        raise UsageError(f"{out} is a folder: give the CSV file's name, such as {out / 'journal.csv'}")
    try:
        rows = ja.export_csv(out, journal, archived)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror}") from None
    source = "the journal" if not archived else f"the journal and {len(archived)} archive{'s' * (len(archived) > 1)}"
    print(f"{rows} journal entries from {source} written to {out}")
    return 0
