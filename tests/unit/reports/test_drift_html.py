"""The drift report's HTML: one self-contained file that holds each slave's figures, escapes the
journal's text, and draws a waterfall whose steps add up from ideal to actual P&L."""

from __future__ import annotations

import dataclasses
import math
import re
from html.parser import HTMLParser

import pytest

from copier_gui.reports.drift_html import render_html, waterfall_steps
from tests.unit.reports.journals import SCRIPT_REASON, T0, two_slaves


def _render(**kwargs):
    drifts = two_slaves().drifts()
    html = render_html(drifts, title="Drift report", period_text="2026-11-25 (UTC)", generated_wall=T0 + 4000,
                       **kwargs)
    return drifts, html


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def test_the_file_loads_nothing_from_elsewhere_and_fits_a_phone():
    _, html = _render()
    assert not re.search(r"https?:|//[a-z]", html, re.IGNORECASE), "no network references"
    parsed = _parse(html)
    assert not [a for t, a in parsed.tags if t == "script" and "src" in a]
    assert not [a for t, a in parsed.tags if t == "link"]  # no external stylesheet, font or icon
    assert "@import" not in html and "url(" not in html
    viewport = [a for t, a in parsed.tags if t == "meta" and a.get("name") == "viewport"]
    assert viewport and "width=device-width" in viewport[0]["content"]
    svgs = [a for t, a in parsed.tags if t == "svg"]
    assert len(svgs) >= 4 and all("viewbox" in a for a in svgs)  # two charts per slave, scaled by viewBox


def test_each_slave_has_its_figures_in_its_own_currency():
    drifts, html = _render()
    text = " ".join(_parse(html).text)
    for slave, d in drifts.items():
        assert slave in text
        assert f"{d.tracking_difference:+,.2f} {d.currency}" in text
        assert f"{d.attribution.ideal:,.2f}" in text and f"{d.attribution.actual:,.2f}" in text
    s1 = drifts["s1"]
    assert [t.status for t in s1.trades] == ["closed", "missed", "sized out", "open"]
    assert "1 missed" in text and "1 sized out" in text
    assert drifts["s2"].excluded == 3  # its rules leave out EURUSD for trades 1, 3 and 4
    assert "3 excluded by its rules" in text


def test_trades_that_could_not_be_valued_are_listed_plainly():
    drifts, html = _render()
    assert drifts["s1"].unvalued  # master #9: nothing journaled for it
    parsed = _parse(html)
    text = " ".join(parsed.text)
    for line in drifts["s1"].unvalued:
        assert line in text
    hidden = [a for _, a in parsed.tags if "hidden" in a or "display:none" in (a.get("style") or "").replace(" ", "")]
    assert hidden == []


def test_a_journal_reason_is_text_never_markup():
    _, html = _render(notes=["a note with <b>tags</b>"])
    assert "<script>" not in html.lower()
    assert "&lt;script&gt;alert(" in html
    assert SCRIPT_REASON in " ".join(_parse(html).text)
    assert "<b>tags</b>" not in html and "a note with &lt;b&gt;tags&lt;/b&gt;" in html


def test_a_slave_name_cannot_break_out_of_the_charts():
    d = dataclasses.replace(two_slaves().drifts()["s1"], slave="<svg onload=x>")
    html = render_html({d.slave: d}, title="<i>t</i>", period_text="<b>p</b>", generated_wall=T0)
    assert "<svg onload" not in html and "<i>" not in html and "<b>" not in html
    assert 'aria-label="&lt;svg onload=x&gt;: from ideal to actual' in html


@pytest.mark.parametrize("slave", ["s1", "s2"])
def test_waterfall_steps_go_from_ideal_to_actual(slave):
    d = two_slaves().drifts()[slave]
    steps = waterfall_steps(d.attribution)
    assert steps[0].label == "Ideal P&L" and steps[0].start == 0 and steps[0].end == pytest.approx(d.attribution.ideal)
    assert steps[-1].label == "Actual P&L" and steps[-1].end == pytest.approx(d.attribution.actual)
    level = steps[0].end
    for step in steps[1:-1]:
        assert step.start == pytest.approx(level)
        level = step.end
    assert level == pytest.approx(d.attribution.actual)
    assert math.fsum(s.end - s.start for s in steps[1:-1]) == pytest.approx(d.tracking_difference)


def test_no_slaves_is_said_not_an_empty_page():
    html = render_html({}, title="Drift report", period_text="2026-11-25 (UTC)", generated_wall=T0)
    assert "No slave" in html


def test_a_slave_without_trades_in_the_period_says_so():
    drifts = two_slaves().drifts(start=T0 + 86400, end=T0 + 2 * 86400)
    assert all(not d.trades and not d.series for d in drifts.values())
    html = render_html(drifts, title="Drift report", period_text="2026-11-26 (UTC)", generated_wall=T0)
    text = " ".join(" ".join(_parse(html).text).split())
    assert "No trade of s1 in this period has a result yet." in text
    assert "The master opened no trade this slave's figures count in this period." in text
    assert text.count("0.00 USD") >= 1 and "Every master trade of the period was valued." in text
