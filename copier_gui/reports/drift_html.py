"""The drift report as one self-contained HTML file, readable on a phone and on a desktop.

Per slave: a headline, a waterfall from ideal to actual P&L through the attribution parts, the
running tracking difference over time, the parts with what each means, the trades, and the trades
that could not be valued. Jinja2 escapes every value (autoescape), so a symbol or a refusal reason
from the journal is text, never markup; only the SVG of reports.svg, which escapes its own text,
goes in as markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import jinja2
from markupsafe import Markup

from copier_gui.core.attribution import PARTS, Attribution
from copier_gui.core.drift_ledger import SlaveDrift
from copier_gui.reports import svg
from copier_gui.reports.drift_template import CSS, TEMPLATE
from copier_gui.reports.fmt import CENT, money, signed, utc
from copier_gui.reports.parts import EXPLANATIONS, LABELS, largest

__all__ = ["render_html", "waterfall_steps"]

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_PAGE = _ENV.from_string(TEMPLATE)
_STATUS_TONE = {"closed": "", "open": "", "missed": "warn", "sized out": "warn"}


def _tone(value: float) -> str:
    return "" if abs(value) < CENT else ("ok" if value > 0 else "bad")


def waterfall_steps(a: Attribution) -> list[svg.Step]:
    """Ideal P&L, each part that rounds to a cent or more as a step up or down, then actual P&L.

    The steps are exact (unrounded), so they end where actual P&L is; a part below a cent is left
    out of the chart, never out of the tables.
    """
    cur = f" {a.currency}" if a.currency else ""
    steps = [svg.Step("Ideal P&L", 0.0, a.ideal, total=True, value_text=money(a.ideal),
                      tooltip=f"Ideal P&L: {money(a.ideal)}{cur}, what perfect copying under the rules would make")]
    level = a.ideal
    for part in PARTS:
        amount = a.parts[part]
        if abs(amount) < CENT:
            continue
        steps.append(svg.Step(LABELS[part], level, level + amount, value_text=signed(amount),
                              tooltip=f"{LABELS[part]}: {signed(amount)}{cur}. {EXPLANATIONS[part]}"))
        level += amount
    # Parts below a cent still move the level by a hair: the last step lands on actual P&L exactly.
    if len(steps) > 1:
        last = steps[-1]
        steps[-1] = svg.Step(last.label, last.start, a.actual, value_text=last.value_text, tooltip=last.tooltip)
    steps.append(svg.Step("Actual P&L", 0.0, a.actual, total=True, value_text=money(a.actual),
                          tooltip=f"Actual P&L: {money(a.actual)}{cur}, what the slave made"))
    return steps


def _time_format(span_s: float) -> str:
    """The time axis's labels: seconds within an hour, the day and minute within a few days, else the date."""
    if span_s < 3600:
        return "%H:%M:%S"
    return "%m-%d %H:%M" if span_s < 3 * 86400 else "%Y-%m-%d"


def _verdict(d: SlaveDrift) -> str:
    total, cur = d.tracking_difference, f" {d.currency}" if d.currency else ""
    if abs(total) < CENT:
        return f"{d.slave} made what perfect copying of the master would have made."
    more = "more" if total > 0 else "less"
    return f"{d.slave} made {money(abs(total))}{cur} {more} than perfect copying of the master would have."


def _largest_text(parts: Mapping[str, float]) -> str:
    top = largest(dict(parts))
    return f"{LABELS[top[0][0]]} {signed(top[0][1])}" if top else ""


def _slave_view(index: int, d: SlaveDrift) -> dict:
    a, cur = d.attribution, d.currency
    statuses = [t.status for t in d.trades]
    counts = [{"text": f"{len(d.trades)} trade{'s' * (len(d.trades) != 1)}", "tone": ""}]
    for status in ("open", "missed", "sized out"):
        if statuses.count(status):
            counts.append({"text": f"{statuses.count(status)} {status}", "tone": _STATUS_TONE[status]})
    counts.append({"text": f"{d.excluded} excluded by its rules", "tone": ""})
    if d.unvalued:
        counts.append({"text": f"{len(d.unvalued)} not valued", "tone": "warn"})
    suffix = f" {cur}" if cur else ""
    line = None
    if d.series:
        line = Markup(svg.step_line(
            d.series, label=f"{d.slave}: tracking difference over time, {cur}",
            x_text=lambda t: utc(t, _time_format(d.series[-1][0] - d.series[0][0])), y_text=money,
            point_text=lambda t, v: f"{utc(t, '%Y-%m-%d %H:%M')} UTC: {signed(v)}{suffix}"))
    return {
        "anchor": f"slave-{index}",
        "name": d.slave,
        "currency": cur,
        "total": signed(a.total),
        "tone": _tone(a.total),
        "ideal": money(a.ideal),
        "actual": money(a.actual),
        "verdict": _verdict(d),
        "missed": statuses.count("missed"),
        "largest": _largest_text(a.parts),
        "counts": counts,
        "waterfall": Markup(svg.waterfall(waterfall_steps(a), label=f"{d.slave}: from ideal to actual P&L, {cur}")),
        "line": line,
        "parts": [{"label": LABELS[p], "explain": EXPLANATIONS[p], "amount": signed(a.parts[p]),
                   "tone": _tone(a.parts[p])} for p in PARTS],
        "trades": [{"ticket": t.master_ticket, "symbol": t.symbol, "side": t.side, "opened": utc(t.opened_wall),
                    "status": t.status, "status_tone": _STATUS_TONE.get(t.status, ""), "total": signed(t.total),
                    "tone": _tone(t.total), "largest": _largest_text(t.parts), "reason": t.reason}
                   for t in d.trades],
        "unvalued": list(d.unvalued),
    }


def render_html(drifts: Mapping[str, SlaveDrift], *, title: str, period_text: str, generated_wall: float,
                notes: Iterable[str] = ()) -> str:
    """The whole report page. ``drifts`` as ``DriftLedger.drift()`` gives them, in the order shown;
    ``period_text`` says which period (shown as given); ``notes`` are shown under the header."""
    slaves = [_slave_view(i, d) for i, d in enumerate(drifts.values(), start=1)]
    return _PAGE.render(title=title, period_text=period_text, generated=f"{utc(generated_wall, '%Y-%m-%d %H:%M')} UTC",
                        notes=list(notes), slaves=slaves, css=Markup(CSS))
