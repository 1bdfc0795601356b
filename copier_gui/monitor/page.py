"""The status page: one self-contained HTML document for a browser or a phone.

It loads nothing from elsewhere (no CDN, no fonts): inline CSS and a short script that reads
``api/status`` every two seconds and draws accounts, prop-firm room left, mirrored positions, drift and the journal with
DOM text nodes, so a broker's or a journal's text can never become markup. States are words with a
colour, never colour alone. The CSP header allows exactly this script and style, by hash.
"""

from __future__ import annotations

import base64
import hashlib

REFRESH_MS = 2000

CSS = """
:root { --bg:#f6f7f9; --card:#fff; --text:#1b1f24; --dim:#5b6570; --line:#dde1e6;
  --ok:#1a7f37; --warn:#9a6700; --bad:#c62828; --idle:#57606a; --accent:#0969da; }
@media (prefers-color-scheme: dark) {
  :root { --bg:#0f1216; --card:#181c22; --text:#e6e9ee; --dim:#9aa4af; --line:#2a3038;
    --ok:#3fb950; --warn:#d29922; --bad:#f85149; --idle:#8b949e; --accent:#58a6ff; }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin:0; background:var(--bg); color:var(--text);
  font:15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { position:sticky; top:0; z-index:1; display:flex; flex-wrap:wrap; gap:.4rem .8rem;
  align-items:center; padding:.6rem .9rem; background:var(--card); border-bottom:1px solid var(--line); }
header h1 { font-size:1.05rem; margin:0; flex:1 1 auto; }
main { padding:.6rem .9rem 2rem; max-width:1400px; margin:0 auto; }
h2 { font-size:.95rem; margin:1.1rem 0 .5rem; color:var(--dim); text-transform:uppercase; letter-spacing:.04em; }
.grid { display:grid; gap:.6rem; align-items:start;
  grid-template-columns:repeat(auto-fill, minmax(min(100%, 250px), 1fr)); }
.cols { display:grid; gap:0 1rem; grid-template-columns:minmax(0, 1fr); }
@media (min-width: 1100px) { .cols { grid-template-columns:minmax(0, 3fr) minmax(0, 2fr); } }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:.55rem .75rem; min-width:0; }
.card h3 { margin:0; font-size:1rem; display:flex; gap:.5rem; align-items:baseline; flex-wrap:wrap; }
.dim { color:var(--dim); font-size:.85rem; }
.num { font-variant-numeric: tabular-nums; }
.badge { display:inline-block; padding:0 .45rem; border-radius:999px; font-size:.8rem; font-weight:600;
  border:1px solid currentColor; white-space:nowrap; }
.ok { color:var(--ok); } .warn { color:var(--warn); } .bad { color:var(--bad); } .idle { color:var(--idle); }
.kv { display:grid; grid-template-columns:1fr 1fr; gap:.1rem .7rem; margin:.4rem 0 0; }
.kv div { min-width:0; } .kv dt { color:var(--dim); font-size:.78rem; } .kv dd { margin:0; font-weight:600; }
.badges { display:flex; flex-wrap:wrap; gap:.3rem; margin-top:.45rem; }
.scroll { overflow-x:auto; background:var(--card); border:1px solid var(--line); border-radius:10px; }
table { border-collapse:collapse; width:100%; font-size:.84rem; }
th, td { padding:.35rem .4rem; text-align:left; border-bottom:1px solid var(--line); white-space:nowrap; }
th { color:var(--dim); font-weight:600; } td.r, th.r { text-align:right; }
tr:last-child td { border-bottom:0; }
/* At a phone's width each slave's drift row stacks into a small grid of labelled figures. */
@media (max-width: 700px) {
  table.drift thead { display:none; }
  table.drift tr { display:grid; grid-template-columns:repeat(4, minmax(0, 1fr)); gap:.2rem .5rem;
    padding:.45rem .6rem; border-bottom:1px solid var(--line); }
  table.drift tr:last-child { border-bottom:0; }
  table.drift td { padding:0; border:0; text-align:left; white-space:normal; }
  table.drift td::before { content:attr(data-label); display:block; color:var(--dim); font-size:.72rem; }
  table.drift td.who { grid-column:span 2; font-weight:600; align-self:center; }
  table.drift td.who::before { display:none; }
  table.drift td.slip { grid-column:span 2; }
}
.copies { list-style:none; margin:.45rem 0 0; padding:0; }
.copies li { display:flex; flex-wrap:wrap; gap:.15rem .6rem; padding:.35rem 0; border-top:1px solid var(--line);
  font-size:.9rem; align-items:baseline; }
.copies .who { font-weight:600; min-width:4.5rem; }
.reason { flex-basis:100%; color:var(--dim); font-size:.82rem; overflow-wrap:anywhere; }
.journal { list-style:none; margin:0; padding:0; }
.journal li { padding:.35rem .7rem; border-top:1px solid var(--line); font-size:.86rem; overflow-wrap:anywhere; }
.journal li:first-child { border-top:0; }
.journal .meta { display:flex; gap:.5rem; align-items:baseline; flex-wrap:wrap; }
.empty { color:var(--dim); padding:.6rem .75rem; }
#room { grid-template-columns:repeat(auto-fill, minmax(min(100%, 340px), 1fr)); }
.room .line { margin:.35rem 0 0; font-size:.9rem; }
.room dd { white-space:nowrap; }
.meter { height:6px; margin:.45rem 0 0; border-radius:3px; background:var(--line); overflow:hidden; }
.meter span { display:block; height:100%; background:var(--ok); }
.meter.warn span { background:var(--warn); } .meter.bad span { background:var(--bad); }
.meter.idle span { background:var(--idle); }
#problem { display:none; width:100%; }
#problem.shown { display:block; }
"""

JS = """
"use strict";
const token = new URLSearchParams(location.search).get("token");
const headers = token ? { Authorization: "Bearer " + token } : {};
const STATE = { connected: "ok", connecting: "warn", degraded: "warn", disconnected: "bad",
  ok: "ok", warn: "warn", bad: "bad", idle: "idle", active: "ok", reducing: "warn", halted: "bad",
  mirrored: "ok", "mirrored (net)": "ok", pending: "warn", skipped: "warn", failed: "bad",
  copy: "ok", refusal: "warn", failure: "bad", error: "bad", state: "idle", master: "idle", info: "idle" };
const KIND = { copy: "copied", refusal: "refused", failure: "failed", error: "error", state: "state",
  master: "master", info: "info", correction: "correction" };

function el(tag, cls, ...children) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  for (const c of children) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}
function badge(word, label) { return el("span", "badge " + (STATE[word] || "idle"), label || word); }
function money(v, cur) {
  if (v === null || v === undefined) return "–";
  return v.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + (cur ? " " + cur : "");
}
function signed(v, cur) { return v === null || v === undefined ? "–" : (v > 0 ? "+" : "") + money(v, cur); }
function ms(v) { return v === null || v === undefined ? "–" : v.toFixed(1) + " ms"; }
function price(v, d) { return v ? v.toFixed(d === null || d === undefined ? 5 : d) : "–"; }
function clock(wall) { return new Date(wall * 1000).toLocaleTimeString([], { hour12: false }); }
function kv(pairs) {
  const dl = el("dl", "kv");
  for (const [k, v] of pairs) dl.append(el("div", null, el("dt", null, k), el("dd", "num", v)));
  return dl;
}

function accounts(rows) {
  return rows.map(a => {
    const badges = el("div", "badges", badge(a.state));
    if (a.role === "slave") {
      badges.append(badge(a.drift, "drift " + a.drift), badge(a.trading, "trading " + a.trading));
      if (!a.copy_enabled) badges.append(badge("warn", "copy off"));
    }
    const card = el("article", "card account",
      el("h3", null, a.id, el("span", "dim", a.role)),
      el("div", "dim", [a.broker, a.login ? "#" + a.login : ""].filter(Boolean).join(" · ")),
      badges,
      kv([["Balance" + (a.currency ? " · " + a.currency : ""), money(a.balance)],
          ["Equity" + (a.currency ? " · " + a.currency : ""), money(a.equity)]]));
    const why = a.trading_detail || a.detail;
    if (why) card.append(el("div", "reason", why));
    return card;
  });
}

function drift(rows) {
  if (!rows.length) return el("div", "empty", "No slaves.");
  // [heading, label when a row stacks on a phone, classes, value]
  const columns = [["Slave", "Slave", "who", d => d.account], ["Drift", "Drift", "", d => badge(d.drift)],
    ["Copies", "Copies", "r num", d => d.copies], ["Refused", "Refused", "r num", d => d.refusals],
    ["p50", "Latency p50", "r num", d => ms(d.latency_p50_ms)], ["p95", "p95", "r num", d => ms(d.latency_p95_ms)],
    ["Slip/copy", "Slippage per copy", "r num slip", d => signed(d.slippage_mean_money, d.currency)]];
  const head = el("tr", null, ...columns.map(([heading, , cls]) => el("th", cls.replace(/ ?(num|who|slip)/g, ""), heading)));
  const body = rows.map(d => el("tr", null, ...columns.map(([, label, cls, value]) => {
    const td = el("td", cls, value(d));
    td.dataset.label = label;
    return td;
  })));
  return el("div", "scroll", el("table", "drift", el("thead", null, head), el("tbody", null, ...body)));
}

function positions(rows) {
  if (!rows.length) return [el("div", "card empty", "No open positions at the master.")];
  return rows.map(p => {
    const stops = [p.sl ? "SL " + price(p.sl, p.digits) : "", p.tp ? "TP " + price(p.tp, p.digits) : ""]
      .filter(Boolean).join(" · ");
    const list = el("ul", "copies", ...p.copies.map(c => {
      const li = el("li", "copy", el("span", "who", c.slave), badge(c.state),
        el("span", "num", c.volume ? c.volume + " " + c.symbol + " @ " + price(c.price_open, c.digits) : c.symbol),
        el("span", "num dim", c.latency_ms === null ? "" : ms(c.latency_ms)),
        el("span", "num dim", c.slippage_money === null ? "" : "slip " + signed(c.slippage_money, c.currency)));
      if (c.reason) li.append(el("span", "reason", c.reason));
      return li;
    }));
    return el("article", "card position",
      el("h3", null, p.symbol, el("span", "badge " + (p.side === "buy" ? "ok" : "bad"), p.side),
        el("span", "num", p.volume)),
      el("div", "dim num", "#" + p.ticket + " @ " + price(p.price_open, p.digits) + (stops ? " · " + stops : "")),
      list);
  });
}

const LEVEL = { ok: "room ok", warn: "near a limit", bad: "limit reached", idle: "not read yet" };
function countdown(s) {
  s = Math.max(0, Math.floor(s));
  const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), sec = s % 60;
  return h ? h + " h " + m + " m " + String(sec).padStart(2, "0") + " s" : m + " m " + sec + " s";
}
function tick() {
  const now = Date.now() / 1000;
  for (const node of document.querySelectorAll("#room .countdown"))
    node.textContent = countdown(Number(node.dataset.at) - now);
}
function room(rows) {
  // The reset instant on this browser's clock: the copier's countdown plus the time since it was read.
  const now = Date.now() / 1000;
  return rows.map(r => {
    const card = el("article", "card room",
      el("h3", null, r.slave, badge(r.level, LEVEL[r.level] || r.level), badge(r.state, "trading " + r.state)));
    if (!r.known) {
      card.append(el("div", "line dim", r.text));
      return card;
    }
    const used = Math.min(Math.max(r.used || 0, 0), 1);
    const meter = el("div", "meter " + r.level, el("span"));
    meter.firstChild.style.width = (used * 100).toFixed(1) + "%";
    meter.title = Math.round((r.used || 0) * 100) + "% of the nearer limit used";
    const days = r.min_trading_days ? r.trading_days + " of " + r.min_trading_days : String(r.trading_days);
    const clock = el("span", "countdown num", countdown(r.reset_in_s));
    clock.dataset.at = String(now + r.reset_in_s);
    const pairs = [];
    if (r.daily_left !== null)
      pairs.push(["Left today · " + Math.round(r.daily_used * 100) + "% used", money(r.daily_left, r.currency)]);
    pairs.push(["Reset in", clock]);
    if (r.to_floor !== null) pairs.push(["To the floor · at " + money(r.floor), money(r.to_floor, r.currency)]);
    pairs.push(["Trading days", days]);
    card.append(meter, kv(pairs));
    if (r.reason) card.append(el("div", "reason", r.reason));
    return card;
  });
}

function journal(lines) {
  if (!lines.length) return el("div", "empty", "Nothing yet.");
  return el("ul", "journal", ...lines.map(l => el("li", null,
    el("div", "meta", el("span", "dim num", clock(l.wall)), badge(l.kind, KIND[l.kind] || l.kind),
      el("strong", null, l.account)), el("div", null, l.text))));
}

function draw(s) {
  document.getElementById("copying").replaceChildren(
    badge(s.copying ? "ok" : "warn", s.copying ? "copying on" : "copying off"));
  document.getElementById("updated").textContent = "updated " + clock(s.time);
  document.getElementById("accounts").replaceChildren(...accounts(s.accounts));
  document.getElementById("positions").replaceChildren(...positions(s.positions));
  document.getElementById("drift").replaceChildren(drift(s.drift));
  const rooms = s.room_left || [];
  document.getElementById("room-part").hidden = !rooms.length;
  document.getElementById("room").replaceChildren(...room(rooms));
  document.getElementById("journal").replaceChildren(journal(s.journal));
}

async function refresh() {
  const problem = document.getElementById("problem");
  try {
    const response = await fetch("api/status", { headers, cache: "no-store" });
    if (response.status === 401) throw new Error("the access token is missing or wrong: open the link with ?token=");
    if (!response.ok) throw new Error("the copier answered " + response.status);
    draw(await response.json());
    problem.className = "";
    document.body.dataset.loaded = "1";
  } catch (err) {
    problem.replaceChildren(badge("bad", "not updating"), " ", err.message || String(err));
    problem.className = "shown";
  }
}
refresh();
setInterval(refresh, REFRESH_MS);
setInterval(tick, 1000);
""".replace("REFRESH_MS", str(REFRESH_MS))

_BODY = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>copier_gui status</title>
<style>%(css)s</style>
</head>
<body>
<header>
  <h1>copier_gui</h1>
  <span id="copying"></span>
  <span id="updated" class="dim">loading…</span>
  <div id="problem" role="alert"></div>
</header>
<main>
  <noscript><p>This page needs JavaScript to read the copier's status; <a href="api/status">api/status</a> has it as JSON.</p></noscript>
  <h2>Accounts</h2>
  <section id="accounts" class="grid"></section>
  <div id="room-part" hidden>
    <h2>Room left · prop-firm limits</h2>
    <section id="room" class="grid"></section>
  </div>
  <div class="cols">
    <div>
      <h2>Mirrored positions</h2>
      <section id="positions" class="grid"></section>
    </div>
    <div>
      <h2>Drift per slave</h2>
      <section id="drift"></section>
      <h2>Journal</h2>
      <section id="journal" class="scroll"></section>
    </div>
  </div>
</main>
<script>%(js)s</script>
</body>
</html>
"""

HTML = _BODY % {"css": CSS, "js": JS}


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# Only this page's own script and style run; it talks only to its own origin.
CSP = (f"default-src 'none'; script-src {_sha256(JS)}; style-src {_sha256(CSS)}; connect-src 'self'; "
       "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
