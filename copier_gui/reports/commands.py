"""``copier-gui report``: the drift report of a period, from the user folder's journal and its
archives, as HTML, CSV and JSON files, with a short summary per slave on the console.

Only reads the journal (through its own SQLite connections), so it runs beside a copier writing
to it. Bad input, a missing or damaged journal and a file that cannot be written are one line on
stderr and exit code 2, as everywhere on the command line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.core import journal_archive as ja
from copier_gui.core.drift_ledger import DriftLedger, SlaveDrift
from copier_gui.core.journal import JournalEntry
from copier_gui.core.journal_schema import JournalError
from copier_gui.paths import UserPaths
from copier_gui.reports.fmt import signed
from copier_gui.reports.parts import LABELS, largest
from copier_gui.reports.period import Period, PeriodError, parse_period

__all__ = ["add_parser", "run"]

EXIT_BAD_INPUT = 2
TITLE = "Drift report"
PERIOD_NOTE = ("Trades the master opened in the period count. Their exits after its end do not; what was still "
               "open at its end is valued at the last prices journaled before it.")


class UsageError(Exception):
    """Bad input for the report: printed as one line, exit code 2."""


def add_parser(sub) -> None:
    """``copier-gui report``, under the command line's subcommands."""
    report = sub.add_parser(
        "report", help="each slave's drift against the master over a period: HTML, CSV or JSON",
        description="Each slave's tracking difference against the master over a period (what it made or lost "
                    "compared with perfect copying, in its own currency) and its parts, read from the journal and "
                    "its archives. Trades the master opened in the period count. Safe while a copier runs.")
    report.add_argument("--from", dest="start", required=True, metavar="DATE",
                        help="the first day, YYYY-MM-DD (UTC, from its start), or a time, YYYY-MM-DDTHH:MM "
                             "(UTC unless it has an offset such as +02:00)")
    report.add_argument("--to", dest="end", required=True, metavar="DATE",
                        help="the last day, YYYY-MM-DD (UTC, included to its end), or a time, YYYY-MM-DDTHH:MM "
                             "(the period ends just before it)")
    report.add_argument("--html", metavar="OUT.html", help="write the report as one HTML file (opens offline, "
                                                           "on a phone too)")
    report.add_argument("--csv", metavar="OUT.csv", help="write a row per slave and trade, with every part")
    report.add_argument("--json", metavar="OUT.json", help="write the period and each slave's figures as JSON")


def run(paths: UserPaths, args: argparse.Namespace, clock: Clock = SYSTEM_CLOCK) -> int:
    try:
        return report(paths, args, clock)
    except UsageError as exc:
        print(f"copier-gui: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _outputs(args: argparse.Namespace) -> dict[str, Path]:
    outputs = {kind: Path(getattr(args, kind)) for kind in ("html", "csv", "json") if getattr(args, kind)}
    if not outputs:
        raise UsageError("say where to write the report: --html OUT.html, --csv OUT.csv or --json OUT.json "
                         "(any of them, or all)")
    for kind, out in outputs.items():
        if _is_dir(out):
            raise UsageError(f"--{kind} {out} is a folder: give the file's name, such as {out / ('drift.' + kind)}")
        if not _is_dir(out.parent):
            raise UsageError(f"--{kind} {out}: the folder {out.parent} does not exist")
    return outputs


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a name too long, say: writing it says why, in one line
        return False


def read_drift(journal: Path, archives: list[Path], period: Period) -> dict[str, SlaveDrift]:
    """Each slave's drift over ``period`` from the archives and the live journal, oldest first.

    Everything up to the period's end is read: the slaves, their currencies and the master's trades
    come from entries older than the period too. JournalError for a damaged or newer file.
    """
    ledger = DriftLedger()
    entries = ja.iter_entries(journal, archives)
    while True:
        try:
            entry = next(entries, None)
        except ValueError as exc:  # an entry's data that is not JSON
            raise JournalError(f"the journal {journal} or one of its archives holds an entry that cannot be "
                               f"read: {exc}") from exc
        if entry is None:
            break
        if entry.wall > period.end:
            continue  # a later clock step can put older entries after it: read on, keep none
        _feed(ledger, entry, journal)
    return ledger.drift(start=period.start, end=period.end)


def _feed(ledger: DriftLedger, entry: JournalEntry, journal: Path) -> None:
    try:
        ledger.feed((entry,))
    except (KeyError, ValueError, TypeError) as exc:
        # An entry edited or damaged by hand: name it rather than fail with a traceback.
        raise JournalError(f"journal entry {entry.seq} ({entry.kind}, {entry.message!r}) in {journal} or its "
                           f"archives cannot be read for a report: {exc!r}") from exc


def report(paths: UserPaths, args: argparse.Namespace, clock: Clock = SYSTEM_CLOCK) -> int:
    outputs = _outputs(args)
    try:
        period = parse_period(args.start, args.end)
    except PeriodError as exc:
        raise UsageError(str(exc)) from None
    journal = paths.journal_file
    archives = ja.archives(ja.archive_folder(journal))
    if not journal.exists() and not archives:
        raise UsageError(f"no journal at {journal} yet: run the copier first")
    try:
        drifts = read_drift(journal, archives, period)
    except JournalError as exc:
        raise UsageError(str(exc)) from None
    generated = clock.time()
    source = "the journal" if not archives else f"the journal and {len(archives)} archive{'s' * (len(archives) > 1)}"
    _print_summary(drifts, period, source)
    # Not the user folder's path: it names the user's account, and a report is often sent on.
    for kind, out in outputs.items():
        _write(kind, out, drifts, period, generated, notes=[PERIOD_NOTE, f"Read from {source}."])
    return 0


def _write(kind: str, out: Path, drifts: Mapping[str, SlaveDrift], period: Period, generated: float,
           notes: Iterable[str]) -> None:
    # Imported here: each format's library is loaded only when that format is asked for.
    try:
        if kind == "csv":
            from copier_gui.reports.drift_csv import write_csv

            write_csv(drifts, out)
        elif kind == "json":
            from copier_gui.reports.drift_json import render_json

            out.write_text(render_json(drifts, start=period.start, end=period.end, generated_wall=generated),
                           encoding="utf-8")
        else:
            from copier_gui.reports.drift_html import render_html

            out.write_text(render_html(drifts, title=TITLE, period_text=period.text, generated_wall=generated,
                                       notes=notes), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
    print(f"{kind.upper()} report written to {out}")


def _print_summary(drifts: Mapping[str, SlaveDrift], period: Period, source: str) -> None:
    print(f"Drift from {period.text}, read from {source}:")
    if not drifts:
        print("  no slave appears in the journal up to the period's end")
    for slave, d in drifts.items():
        statuses = [t.status for t in d.trades]
        cur = f" {d.currency}" if d.currency else ""
        top = ", ".join(f"{LABELS[p].lower()} {signed(v)}" for p, v in largest(d.attribution.parts, 2))
        line = (f"  {slave}: tracking difference {signed(d.tracking_difference)}{cur} over {len(d.trades)} "
                f"trade{'s' * (len(d.trades) != 1)} ({statuses.count('missed')} missed, {d.excluded} excluded by "
                f"its rules); largest parts: {top or 'none'}")
        if d.unvalued:
            line += f"; {len(d.unvalued)} trade{'s' * (len(d.unvalued) != 1)} not valued (listed in the report)"
        print(line)
