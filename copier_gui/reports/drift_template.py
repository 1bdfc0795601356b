"""The drift report's page: its Jinja2 template and stylesheet, inlined in the one file it writes.

Kept in a Python module rather than a template file beside it, so every way the application is
installed (a wheel, the PyInstaller bundle) carries it without a data-file rule to forget. The page
loads nothing: its CSS is here, its charts are inline SVG (reports.svg) and it has no script.
"""

from __future__ import annotations

CSS = """
:root { --bg:#f6f7f9; --card:#fff; --text:#1b1f24; --dim:#5b6570; --line:#dde1e6;
  --ok:#1a7f37; --bad:#c62828; --warn:#9a6700; --accent:#0969da; --total:#57606a; }
@media (prefers-color-scheme: dark) {
  :root { --bg:#0f1216; --card:#181c22; --text:#e6e9ee; --dim:#9aa4af; --line:#2a3038;
    --ok:#3fb950; --bad:#f85149; --warn:#d29922; --accent:#58a6ff; --total:#8b949e; }
}
* { box-sizing:border-box; }
html { -webkit-text-size-adjust:100%; }
body { margin:0; background:var(--bg); color:var(--text);
  font:15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { background:var(--card); border-bottom:1px solid var(--line); }
header > div, main { max-width:1200px; margin:0 auto; padding:.8rem .9rem; }
main { padding-top:.4rem; padding-bottom:2rem; }
header h1 { font-size:1.2rem; margin:0 0 .15rem; }
h2 { font-size:1.1rem; margin:1.6rem 0 .6rem; display:flex; gap:.5rem; align-items:baseline; flex-wrap:wrap; }
h3 { font-size:.85rem; margin:1.1rem 0 .45rem; color:var(--dim); text-transform:uppercase; letter-spacing:.04em; }
section.slave { border-top:2px solid var(--line); margin-top:1.6rem; }
.dim { color:var(--dim); font-size:.88rem; }
.num { font-variant-numeric:tabular-nums; }
.badge { display:inline-block; padding:0 .45rem; border-radius:999px; font-size:.8rem; font-weight:600;
  border:1px solid currentColor; color:var(--dim); white-space:nowrap; }
.ok { color:var(--ok); } .bad { color:var(--bad); } .warn { color:var(--warn); }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:.65rem .8rem; min-width:0; }
.notes { margin:.8rem 0 0; padding-left:1.1rem; color:var(--dim); font-size:.88rem; }
.headline .big { font-size:1.7rem; font-weight:700; line-height:1.2; overflow-wrap:anywhere; }
.headline p { margin:.25rem 0 0; }
.counts { display:flex; flex-wrap:wrap; gap:.3rem; margin-top:.5rem; }
.charts { display:grid; gap:.7rem; grid-template-columns:minmax(0, 1fr); margin-top:.7rem; }
@media (min-width: 900px) { .charts { grid-template-columns:minmax(0, 1fr) minmax(0, 1fr); } }
figure { margin:0; }
figcaption { font-weight:600; font-size:.9rem; margin-bottom:.4rem; }
/* Text in the charts scales with them: the cap keeps it near the page's size on a wide screen. */
svg.chart { display:block; width:100%; height:auto; max-width:460px; margin:auto; }
figure.card { display:flex; flex-direction:column; }
svg.chart text { fill:var(--text); }
svg.chart text.tick, svg.chart text.value { fill:var(--dim); font-variant-numeric:tabular-nums; }
svg.chart .step.total text.value { fill:var(--text); font-weight:600; }
svg.chart .step.up rect { fill:var(--ok); } svg.chart .step.down rect { fill:var(--bad); }
svg.chart .step.total rect { fill:var(--total); }
svg.chart line.axis { stroke:var(--dim); stroke-width:1; }
svg.chart line.grid { stroke:var(--line); stroke-width:1; }
svg.chart line.link { stroke:var(--dim); stroke-width:1; stroke-dasharray:2 2; }
svg.chart path.series { fill:none; stroke:var(--accent); stroke-width:2; }
svg.chart circle.point { fill:var(--card); stroke:var(--accent); stroke-width:1.5; }
.scroll { overflow-x:auto; background:var(--card); border:1px solid var(--line); border-radius:10px; }
table { border-collapse:collapse; width:100%; font-size:.86rem; }
th, td { padding:.4rem .55rem; text-align:left; border-bottom:1px solid var(--line); white-space:nowrap;
  vertical-align:top; }
th { color:var(--dim); font-weight:600; }
td.r, th.r { text-align:right; }
tr:last-child td { border-bottom:0; }
td.why { white-space:normal; min-width:14rem; max-width:30rem; overflow-wrap:anywhere; }
table.parts td:first-child { white-space:normal; }
table.parts .explain { color:var(--dim); font-size:.82rem; margin-top:.1rem; }
table.parts tr.sum td { font-weight:700; }
.unvalued { margin:0; padding:.5rem .8rem .5rem 1.9rem; background:var(--card); border:1px solid var(--warn);
  border-radius:10px; overflow-wrap:anywhere; }
.unvalued li { margin:.2rem 0; }
.empty { color:var(--dim); }
/* At a phone's width each slave's summary row stacks into labelled figures: no sideways scrolling. */
@media (max-width: 640px) {
  table.summary thead { display:none; }
  table.summary tr { display:grid; grid-template-columns:minmax(0, 1fr) minmax(0, 1fr); gap:.25rem .8rem;
    padding:.5rem .7rem; border-bottom:1px solid var(--line); }
  table.summary tr:last-child { border-bottom:0; }
  table.summary td { padding:0; border:0; text-align:left; white-space:normal; }
  table.summary td::before { content:attr(data-label); display:block; color:var(--dim); font-size:.75rem; }
  table.summary td.who { grid-column:1 / -1; font-weight:600; }
  table.summary td.who::before { display:none; }
}
@media print { .scroll { overflow:visible; } section.slave { break-before:page; } }
"""

TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{{ title }}</title>
<style>{{ css }}</style>
</head>
<body>
<header><div>
<h1>{{ title }}</h1>
<div class="dim">{{ period_text }} · generated {{ generated }}</div>
</div></header>
<main>
{% if notes %}<ul class="notes">{% for note in notes %}<li>{{ note }}</li>{% endfor %}</ul>{% endif %}
{% if not slaves %}
<p class="card empty">No slave appears in the journal for this period, so there is nothing to compare with the master.</p>
{% else %}
<h2>Summary</h2>
<div class="scroll"><table class="summary">
<thead><tr><th>Slave</th><th class="r">Tracking difference</th><th>Largest part</th><th class="r">Ideal P&amp;L</th>
<th class="r">Actual P&amp;L</th><th class="r">Trades</th><th class="r">Missed</th></tr></thead>
<tbody>
{% for s in slaves %}<tr><td class="who"><a href="#{{ s.anchor }}">{{ s.name }}</a></td>
<td class="r num {{ s.tone }}" data-label="Tracking difference">{{ s.total }} {{ s.currency }}</td>
<td data-label="Largest part">{{ s.largest or "–" }}</td>
<td class="r num" data-label="Ideal P&amp;L">{{ s.ideal }}</td>
<td class="r num" data-label="Actual P&amp;L">{{ s.actual }}</td>
<td class="r num" data-label="Trades">{{ s.trades|length }}</td>
<td class="r num" data-label="Missed">{{ s.missed }}</td></tr>
{% endfor %}</tbody></table></div>
<p class="dim">Each slave's money is in its own account currency; amounts of different slaves are never added up.</p>
{% for s in slaves %}
<section class="slave" id="{{ s.anchor }}">
<h2>{{ s.name }} <span class="badge">{{ s.currency or "currency unknown" }}</span></h2>
<div class="card headline">
<div class="big num {{ s.tone }}">{{ s.total }} {{ s.currency }}</div>
<p>{{ s.verdict }}</p>
<p class="dim num">Ideal P&amp;L {{ s.ideal }} · actual P&amp;L {{ s.actual }} {{ s.currency }}</p>
<div class="counts">{% for c in s.counts %}<span class="badge {{ c.tone }}">{{ c.text }}</span>{% endfor %}</div>
</div>
<div class="charts">
<figure class="card"><figcaption>From ideal to actual P&amp;L ({{ s.currency }})</figcaption>{{ s.waterfall }}</figure>
<figure class="card"><figcaption>Tracking difference over time ({{ s.currency }}, running total)</figcaption>
{% if s.line %}{{ s.line }}{% else %}<p class="empty">No trade of {{ s.name }} in this period has a result yet.</p>{% endif %}
</figure>
</div>
<h3>Why: the parts</h3>
<div class="scroll"><table class="parts">
<thead><tr><th>Part and what it means</th><th class="r">{{ s.currency }}</th></tr></thead>
<tbody>
{% for p in s.parts %}<tr><td><strong>{{ p.label }}</strong><div class="explain">{{ p.explain }}</div></td>
<td class="r num {{ p.tone }}">{{ p.amount }}</td></tr>
{% endfor %}<tr class="sum"><td>Tracking difference</td><td class="r num {{ s.tone }}">{{ s.total }}</td></tr>
</tbody></table></div>
<h3>Trades</h3>
{% if s.trades %}<div class="scroll"><table class="trades">
<thead><tr><th>Master ticket</th><th>Symbol</th><th>Side</th><th>Opened (UTC)</th><th>Status</th>
<th class="r">Total ({{ s.currency }})</th><th>Largest part</th><th>Reason</th></tr></thead>
<tbody>
{% for t in s.trades %}<tr><td class="num">#{{ t.ticket }}</td><td>{{ t.symbol }}</td><td>{{ t.side }}</td>
<td class="num">{{ t.opened }}</td><td><span class="badge {{ t.status_tone }}">{{ t.status }}</span></td>
<td class="r num {{ t.tone }}">{{ t.total }}</td><td class="num">{{ t.largest or "–" }}</td>
<td class="why">{{ t.reason }}</td></tr>
{% endfor %}</tbody></table></div>
{% else %}<p class="card empty">The master opened no trade this slave's figures count in this period.</p>{% endif %}
<h3>Not valued</h3>
{% if s.unvalued %}<p>{{ s.unvalued|length }} master trade{{ "s" if s.unvalued|length != 1 }} could not be valued and
{{ "are" if s.unvalued|length != 1 else "is" }} left out of the figures above:</p>
<ul class="unvalued">{% for u in s.unvalued %}<li>{{ u }}</li>{% endfor %}</ul>
{% else %}<p class="dim">Every master trade of the period was valued.</p>{% endif %}
</section>
{% endfor %}
{% endif %}
</main>
</body>
</html>
"""
