"""The drift report as CSV: a row per slave and trade with every part, money in cents and the
slave's currency, a summary row per slave, and the trades that could not be valued."""

from __future__ import annotations

import csv
import io
import math

import pytest

from copier_gui.core.attribution import PARTS
from copier_gui.reports.drift_csv import HEADER, csv_text, write_csv
from tests.unit.reports.journals import SCRIPT_REASON, two_slaves
from tests.unit.reports.sessions import session_drifts


def _rows(drifts) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(csv_text(drifts))))


def test_a_row_per_trade_and_a_summary_per_slave():
    drifts = two_slaves().drifts()
    rows = _rows(drifts)
    s1 = [r for r in rows if r["slave"] == "s1"]
    assert [r["row"] for r in s1] == ["trade"] * 4 + ["not valued", "summary"]
    assert [r["master_ticket"] for r in s1 if r["row"] == "trade"] == ["7", "1", "3", "4"]
    assert {r["currency"] for r in s1} == {"USD"} and {r["currency"] for r in rows if r["slave"] == "s2"} == {"EUR"}
    missed = next(r for r in s1 if r["master_ticket"] == "1")
    assert missed["status"] == "missed" and missed["reason"] == SCRIPT_REASON  # text as journaled
    assert missed["opened_utc"] == "2026-11-25 09:15:00"
    summary = s1[-1]
    d = drifts["s1"]
    assert summary["total"] == f"{d.tracking_difference:.2f}"
    assert summary["ideal"] == f"{d.attribution.ideal:.2f}" and summary["actual"] == f"{d.attribution.actual:.2f}"
    assert (summary["trades"], summary["missed_trades"], summary["excluded"], summary["not_valued"]) == \
        ("4", "1", "0", "1")
    assert s1[-2]["reason"] == d.unvalued[0]
    assert next(r for r in rows if r["slave"] == "s2" and r["row"] == "summary")["excluded"] == "3"


def test_money_is_in_cents():
    for row in _rows(two_slaves().drifts()):
        for column in ("ideal", "actual", "total", *PARTS):
            if row[column]:
                assert row[column] == f"{float(row[column]):.2f}" and row[column] != "-0.00", (column, row)


@pytest.mark.parametrize("journal", ["by hand", "a real copier"])
def test_parts_add_up_to_each_total_and_trades_to_the_summary(journal):
    drifts = two_slaves().drifts() if journal == "by hand" else session_drifts()
    rows = _rows(drifts)
    for slave in drifts:
        mine = [r for r in rows if r["slave"] == slave]
        trades = [r for r in mine if r["row"] == "trade"]
        summary = next(r for r in mine if r["row"] == "summary")
        for row in [*trades, summary]:
            parts = math.fsum(float(row[p]) for p in PARTS)
            assert parts == pytest.approx(float(row["total"]), abs=0.005 * len(PARTS)), row
            assert float(row["actual"]) - float(row["ideal"]) == pytest.approx(float(row["total"]), abs=0.015)
        for column in ("total", *PARTS):
            assert math.fsum(float(r[column]) for r in trades) == pytest.approx(
                float(summary[column]), abs=0.005 * (len(trades) + 1))


def test_written_file_has_the_header_and_opens_as_a_spreadsheet_would(tmp_path):
    out = tmp_path / "drift.csv"
    count = write_csv(two_slaves().drifts(), out)
    raw = out.read_bytes()
    assert raw.startswith(",".join(HEADER).encode())
    with out.open(newline="", encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == count == 9  # s1: 4 trades, 1 not valued, a summary; s2: 1 + 1 + 1
