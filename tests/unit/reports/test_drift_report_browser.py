"""The drift report in a real browser (headless Chromium), from a real copier's journal: at a
phone's width and a desktop's, nothing overflows sideways except inside the tables' scroll boxes,
the charts draw at a real size, and a waterfall's labels and amounts stay clear of its bars."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.unit.monitor import chromium
from tests.unit.reports.screenshots import report_html

pytestmark = pytest.mark.skipif(chromium.executable() is None,
                                reason="Chromium is not installed (.ci/run installs Debian's chromium)")

READ_PAGE = """(() => {
  const box = e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; };
  const clear = [...document.querySelectorAll('svg.waterfall')].flatMap(svg => {
    const rects = [...svg.querySelectorAll('rect')].map(r => r.getBBox());
    const left = Math.min(...rects.map(b => b.x)), right = Math.max(...rects.map(b => b.x + b.width));
    const vb = svg.viewBox.baseVal;
    return [...svg.querySelectorAll('text.label')].map(t => t.getBBox().x + t.getBBox().width <= left + 0.5)
      .concat([...svg.querySelectorAll('text.value')].map(t => t.getBBox().x >= right - 0.5
                                                         && t.getBBox().x + t.getBBox().width <= vb.width + 0.5));
  });
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    svgs: [...document.querySelectorAll('svg.chart')].map(box),
    slaves: [...document.querySelectorAll('section.slave h2')].map(h => h.firstChild.textContent.trim()),
    clear,
    wide: [...document.querySelectorAll('body *')].filter(e => {
      const r = e.getBoundingClientRect(); return r.right > window.innerWidth + 0.5 && !e.closest('.scroll');
    }).map(e => e.tagName + '.' + e.className),
  };
})()"""


@pytest.fixture(scope="module")
def html() -> str:
    return report_html()


@pytest.mark.parametrize("size", [chromium.PHONE, chromium.DESKTOP], ids=["phone", "desktop"])
def test_the_report_fits_the_screen_and_draws_its_charts(tmp_path, size, html):
    page_file = tmp_path / "report.html"
    page_file.write_text(html, encoding="utf-8")

    async def main():
        async with chromium.open_page(page_file.as_uri(), size=size) as page:
            seen = await page.evaluate(READ_PAGE)
            await page.screenshot(tmp_path / "shot.png", full_page=True)
            return seen

    seen = asyncio.run(main())
    shot = (tmp_path / "shot.png").read_bytes()
    assert shot.startswith(b"\x89PNG") and int.from_bytes(shot[16:20], "big") == size[0]
    assert seen["slaves"] == ["s0", "s1", "s2"]
    assert seen["scrollWidth"] <= seen["innerWidth"] == size[0], json.dumps(seen)
    assert seen["wide"] == [], seen["wide"]
    assert len(seen["svgs"]) == 6  # a waterfall and a line per slave
    for width, height in seen["svgs"]:
        assert width > 200 and height > 100, seen["svgs"]
    assert seen["clear"] and all(seen["clear"]), seen["clear"]
