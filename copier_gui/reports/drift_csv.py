"""The drift report as CSV, for a spreadsheet: one row per slave and master trade with every
attribution part as a column, the trades that could not be valued, and a summary row per slave.

Money is in cents, in the slave's own currency, which each row names: a column is never summed
across slaves of different currencies by mistake. Dates are UTC.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from pathlib import Path

from copier_gui.core.attribution import PARTS
from copier_gui.core.drift_ledger import SlaveDrift
from copier_gui.reports.fmt import utc

__all__ = ["HEADER", "csv_rows", "csv_text", "write_csv"]

HEADER: tuple[str, ...] = (
    "slave", "currency", "row", "master_ticket", "symbol", "side", "opened_utc", "status",
    "ideal", "actual", "total", *PARTS,
    "trades", "missed_trades", "excluded", "not_valued", "reason",
)


def _cents(value: float) -> str:
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


def _slave_rows(d: SlaveDrift) -> Iterator[list[str]]:
    blank_parts = [""] * len(PARTS)
    # The ledger builds its rows and the attribution's per-trade figures in one order.
    for row, figures in zip(d.trades, d.attribution.per_trade, strict=True):
        yield [d.slave, d.currency, "trade", str(row.master_ticket), row.symbol, row.side, utc(row.opened_wall),
               row.status, _cents(figures.ideal), _cents(figures.actual), _cents(row.total),
               *(_cents(row.parts[p]) for p in PARTS), "", "", "", "", row.reason]
    for text in d.unvalued:
        yield [d.slave, d.currency, "not valued", "", "", "", "", "", "", "", "", *blank_parts, "", "", "", "", text]
    a = d.attribution
    yield [d.slave, d.currency, "summary", "", "", "", "", "", _cents(a.ideal), _cents(a.actual), _cents(a.total),
           *(_cents(a.parts[p]) for p in PARTS), str(len(d.trades)),
           str(sum(1 for t in d.trades if t.status == "missed")), str(d.excluded), str(len(d.unvalued)), ""]


def csv_rows(drifts: Mapping[str, SlaveDrift]) -> Iterator[list[str]]:
    """The rows after the header: each slave's trades, its unvalued trades, then its summary."""
    for d in drifts.values():
        yield from _slave_rows(d)


def csv_text(drifts: Mapping[str, SlaveDrift]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(csv_rows(drifts))
    return buffer.getvalue()


def write_csv(drifts: Mapping[str, SlaveDrift], out: Path) -> int:
    """Write the CSV file; the number of rows after the header. OSError if ``out`` cannot be written."""
    rows = list(csv_rows(drifts))
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return len(rows)
