"""The attribution parts as a report names them: a label and one line on what each means.

The lines are docs/drift.md's "What it means" column (core.attribution defines the parts); every
report format shows the same words, so a trader reads one meaning everywhere.
"""

from __future__ import annotations

from copier_gui.core.attribution import PARTS
from copier_gui.reports.fmt import CENT

LABELS: dict[str, str] = {
    "timing": "Timing",
    "entry_price": "Entry price",
    "exit_price": "Exit price",
    "sizing": "Sizing",
    "partial_fill": "Partial fill",
    "missed": "Missed",
    "costs": "Costs",
    "residual": "Residual",
}

EXPLANATIONS: dict[str, str] = {
    "timing": "The market moved while the copy was on its way (latency, or the two brokers' quotes "
              "differ). A faster link or a closer broker helps.",
    "entry_price": "Slippage at the slave's broker against its own quote. The slave's price tolerance "
                   "(max_price_deviation) bounds it.",
    "exit_price": "The exit (or mark) differs: exit latency, exit slippage, the spread between feeds.",
    "sizing": "Lot step, minimum, maximum and contract alignment rounded the volume.",
    "partial_fill": "The broker filled less than was sent. partial_fill: top_up fixes it.",
    "missed": "Trades the slave never took; the journal's refusal for each says which rule or limit "
              "stopped it.",
    "costs": "A different fee schedule or swap rate at the slave's broker: its commission and swap "
             "minus the master's, scaled.",
    "residual": "Slave P&L tied to no master trade (manual trades, positions the copier does not own), "
                "and float rounding.",
}

assert tuple(LABELS) == PARTS and tuple(EXPLANATIONS) == PARTS, "a part without its words"


def largest(parts: dict[str, float], n: int = 1) -> list[tuple[str, float]]:
    """The ``n`` parts of largest size that round to at least a cent, largest first."""
    ranked = sorted(((p, parts[p]) for p in PARTS if abs(parts.get(p, 0.0)) >= CENT),
                    key=lambda item: (-abs(item[1]), PARTS.index(item[0])))
    return ranked[:n]
