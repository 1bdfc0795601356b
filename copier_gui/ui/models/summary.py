"""The per-slave drift summary table: latency percentiles, slippage, copies and refusals.

A slave's row is recomputed only when its counters moved: percentiles sort the whole window.
"""

from __future__ import annotations

from dataclasses import dataclass

from copier_gui.core.copier import Copier
from copier_gui.ui import format as fmt
from copier_gui.ui import palette
from copier_gui.ui.models.base import RIGHT, Column, RowsTableModel


@dataclass(frozen=True, slots=True)
class SummaryRow:
    id: str
    broker: str
    copies: int
    refusals: int
    failures: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_max_ms: float | None
    slippage_mean_bp: float | None
    slippage_max_bp: float | None
    slippage_total_money: float | None = None
    currency: str = ""


class SummaryCache:
    """Remembers each slave's last summary with the counters it was computed at."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[tuple[int, int, int], SummaryRow]] = {}

    def rows(self, copier: Copier) -> list[SummaryRow]:
        out = []
        for slave in copier.slaves.values():
            stats = copier.metrics.slaves.get(slave.id)
            counters = (stats.copies, stats.refusals, stats.failures) if stats else (0, 0, 0)
            seen = self._seen.get(slave.id)
            if seen is not None and seen[0] == counters and seen[1].broker == slave.broker:
                out.append(seen[1])
                continue
            currency = slave.account.currency if slave.account is not None else ""
            row = _row(slave.id, slave.broker, stats.summary() if stats else None, currency)
            self._seen[slave.id] = (counters, row)
            out.append(row)
        return out


def _row(slave_id: str, broker: str, s: dict | None, currency: str = "") -> SummaryRow:
    if not s or not s["copies"]:
        return SummaryRow(slave_id, broker, s["copies"] if s else 0, s["refusals"] if s else 0,
                          s["failures"] if s else 0, None, None, None, None, None, None, currency)
    return SummaryRow(slave_id, broker, s["copies"], s["refusals"], s["failures"], s["latency_p50_ms"],
                      s["latency_p95_ms"], s["latency_max_ms"], s["slippage_mean_bp"],
                      s["slippage_max_bp"], s["slippage_total_money"], currency)


def _signed_money(value: float | None, currency: str) -> str:
    if value is None:
        return fmt.money(None)
    text = fmt.money(abs(value), currency)
    return f"{'+' if value > 0 else '-' if value < 0 else ''}{text} {currency}".rstrip()


def summary_rows(copier: Copier) -> list[SummaryRow]:
    return SummaryCache().rows(copier)


class SummaryModel(RowsTableModel):
    columns = (
        Column("Slave", lambda r: r.id, tooltip=lambda r: f"{r.id} at {r.broker}" if r.broker else r.id),
        Column("Copies", lambda r: f"{r.copies:,}", RIGHT),
        Column("Refused", lambda r: f"{r.refusals:,}", RIGHT,
               foreground=lambda r: palette.current().color("warn") if r.refusals else None),
        Column("Failed", lambda r: f"{r.failures:,}", RIGHT,
               foreground=lambda r: palette.current().color("bad") if r.failures else None),
        # Units are in the card's caption (ms, points): with them in every title the table
        # no longer fits beside the charts.
        Column("p50", lambda r: fmt.latency_ms(r.latency_p50_ms), RIGHT,
               header_tip="Median copy latency in ms, master fill to slave fill"),
        Column("p95", lambda r: fmt.latency_ms(r.latency_p95_ms), RIGHT,
               header_tip="95th percentile copy latency in ms"),
        Column("Max", lambda r: fmt.latency_ms(r.latency_max_ms), RIGHT, header_tip="Worst copy latency in ms"),
        # Basis points of price compare across symbols (a point of BTCUSD is not a point of
        # EURUSD); money is what the slippage cost, in the slave's currency.
        Column("Slip avg", lambda r: fmt.points(r.slippage_mean_bp), RIGHT,
               tooltip=lambda r: None if r.slippage_max_bp is None else f"largest: {fmt.points(r.slippage_max_bp)} bp",
               header_tip="Mean slippage in basis points of price; + is worse for the trader"),
        Column("Slip cost", lambda r: _signed_money(r.slippage_total_money, r.currency), RIGHT,
               header_tip="What slippage cost in all, in the slave's account currency; + is a cost"),
    )
