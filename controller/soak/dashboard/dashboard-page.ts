import { PLOT_STYLE } from '../../report/svg-plots.js';

/**
 * The live dashboard: one self-contained page (no external resources). A WebSocket to /live
 * on the same server pushes a snapshot each second (facts, the summary table of every target
 * worst max first, the newest alerts); the charts of the selected target (click a row) come
 * from GET /target as inline SVG drawn on the server by the HTML reports' plot code. Nothing
 * accumulates in the page: each update replaces the last, so it can stay open for a 16 h soak.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rtprobe soak</title>
<style>
*{box-sizing:border-box}
body{font:13px/1.35 system-ui,sans-serif;margin:0;padding:10px 16px;background:#f6f6f6;color:#222;min-width:1000px}
h1{font-size:17px;margin:0} h2{font-size:14px;margin:0 0 6px}
header{display:flex;gap:24px;align-items:baseline;flex-wrap:wrap;margin-bottom:6px}
header .fact b{font-weight:600} #status.off{color:#b00}
details{margin-bottom:8px} summary{cursor:pointer;color:#555}
dl{display:grid;grid-template-columns:max-content 1fr;gap:1px 12px;margin:4px 0 0;font-size:12px} dt{color:#666} dd{margin:0;word-break:break-all}
.panel{background:#fff;border:1px solid #ddd;border-radius:4px;padding:8px 10px;min-width:0}
.top{display:grid;grid-template-columns:minmax(0,1fr) 400px;gap:10px;margin-bottom:10px;align-items:start}
.scroll{max-height:300px;overflow:auto}
table{border-collapse:collapse;width:100%;font-size:12px} td,th{padding:2px 5px;text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
th{color:#555;font-weight:600;position:sticky;top:0;background:#fff;border-bottom:1px solid #ddd}
td:first-child,th:first-child{text-align:left}
#summary tbody tr{cursor:pointer} #summary tbody tr:hover{background:#f0f5ff} #summary tr.selected{background:#dde8ff}
.bad{color:#b00;font-weight:600} .muted{color:#888} td.unresolved{color:#888;font-style:italic}
#alerts td{text-align:left} #alerts td.num{text-align:right}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:10px}
.chart svg{width:100%;height:auto;margin:0}
${PLOT_STYLE}
</style></head><body>
<header><h1>rtprobe soak</h1>
<span class="fact">started <b id="started">-</b></span><span class="fact">running <b id="duration">-</b></span>
<span class="fact">alerts <b id="alert-total">0</b> <span id="alert-kinds"></span></span><span id="status">connecting…</span></header>
<details id="settings-box"><summary>settings</summary><dl id="settings"></dl></details>
<div class="top">
<section class="panel"><h2>Targets <span class="muted">(worst max first, held while the pointer is over them; click one for its charts)</span></h2><div class="scroll"><table id="summary">
<thead><tr><th>target</th><th>address</th><th>sent</th><th>lost</th><th>loss</th><th>late</th><th>p50</th><th>p99</th><th>p99.9</th><th>max</th><th title="the max RTT of the interval in progress">intv. max</th><th>alerts</th></tr></thead>
<tbody></tbody></table></div></section>
<section class="panel"><h2>Alerts <span class="muted">(newest first)</span></h2><div class="scroll"><table id="alerts">
<thead><tr><th>time (UTC)</th><th>target</th><th>kind</th><th>value</th><th>threshold</th></tr></thead><tbody></tbody></table>
<p id="no-alerts" class="muted">none</p></div></section>
</div>
<h2 id="detail-title">-</h2>
<div class="charts" id="charts">
<section class="panel chart" id="chart-max"></section>
<section class="panel chart" id="chart-distribution"></section>
<section class="panel chart" id="chart-loss"></section>
<section class="panel" id="breakdown"></section>
</div>
<script>
'use strict';
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
// One unit per column, as in the HTML reports: the unit the largest value needs.
function unitOf(values) {
  const top = Math.max(0, ...values.filter((v) => v != null).map(Math.abs));
  return top < 1e7 ? ['µs', 1e3, 1] : top < 1e9 ? ['ms', 1e6, 3] : ['s', 1e9, 3];
}
const inUnit = (ns, u) => ns == null ? '-' : (ns / u[1]).toFixed(u[2]) + ' ' + u[0];
// pN of fewer than 1/(1-N/100) samples is the max itself: say so rather than repeat it as if measured.
function pCell(r, key, p, u, cls) {
  const needed = Math.round(100 / (100 - p));
  if (r.rtt_ns.count > 0 && r.rtt_ns.count < needed) return '<td class="unresolved ' + cls + '" title="' + r.rtt_ns.count + ' samples: p' + p + ' needs at least ' + needed + ' to differ from the max">= max</td>';
  return '<td class="' + cls + '">' + inUnit(r.rtt_ns[key], u) + '</td>';
}
const pct = (r) => (r * 100).toFixed(3) + '%';
function duration(s) {
  const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = s % 60;
  return (h > 0 ? h + ' h ' : '') + String(m).padStart(h > 0 ? 2 : 1, '0') + ' min ' + String(sec).padStart(2, '0') + ' s';
}
let selected = decodeURIComponent((location.hash.match(/^#target=(.*)$/) || [])[1] || '') || null;
let settingsShown = false;
function select(name) {
  selected = name;
  history.replaceState(null, '', location.pathname + location.search + '#target=' + encodeURIComponent(name));
  for (const tr of document.querySelectorAll('#summary tbody tr')) tr.classList.toggle('selected', tr.dataset.target === name);
  loadDetail();
}
$('summary').addEventListener('click', (e) => { const tr = e.target.closest('tr[data-target]'); if (tr) select(tr.dataset.target); });
// While the pointer is over the table its rows keep their order (their values still update):
// re-sorted under it each second, the row clicked was often not the one aimed at.
let heldOrder = null;
$('summary').addEventListener('mouseenter', () => { heldOrder = [...document.querySelectorAll('#summary tbody tr')].map((tr) => tr.dataset.target); });
$('summary').addEventListener('mouseleave', () => { heldOrder = null; });
function inHeldOrder(targets) {
  if (heldOrder === null) return targets;
  const at = new Map(heldOrder.map((name, i) => [name, i]));
  // (a target new since keeps its place among the new ones, after the held ones: the sort is stable)
  return [...targets].sort((a, b) => (at.get(a.name) ?? at.size) - (at.get(b.name) ?? at.size));
}
function render(s) {
  $('started').textContent = s.started.replace('T', ' ').replace(/\\.\\d+Z$/, ' UTC');
  $('duration').textContent = duration(s.duration_s);
  $('alert-total').textContent = s.alerts.total;
  $('alert-total').className = s.alerts.total > 0 ? 'bad' : '';
  $('alert-kinds').textContent = Object.entries(s.alerts.by_kind).map(([k, n]) => n + ' ' + k).join(', ');
  if (!settingsShown) {
    $('settings').innerHTML = s.settings.map(([k, v]) => '<dt>' + esc(k) + '</dt><dd>' + esc(v) + '</dd>').join('');
    settingsShown = true;
  }
  const t = inHeldOrder(s.targets);
  const units = ['p50', 'p99', 'p99_9', 'max'].map((k) => unitOf(t.map((r) => r.rtt_ns[k])));
  const uInt = unitOf(t.map((r) => r.interval_max_ns));
  if (selected === null || !t.some((r) => r.name === selected)) selected = t.length > 0 ? t[0].name : null;
  document.querySelector('#summary tbody').innerHTML = t.map((r) =>
    '<tr data-target="' + esc(r.name) + '"' + (r.name === selected ? ' class="selected"' : '') + '><td class="name">' + esc(r.name) + '</td><td>' + esc(r.address) + ' ' + r.mode +
    '</td><td class="sent">' + r.sent + '</td><td class="' + (r.lost ? 'bad ' : '') + 'lost">' + r.lost + '</td><td>' + pct(r.loss_ratio) + '</td><td>' + r.late +
    '</td>' + pCell(r, 'p50', 50, units[0], 'p50') + pCell(r, 'p99', 99, units[1], 'p99') + pCell(r, 'p99_9', 99.9, units[2], 'p99_9') +
    '<td class="max">' + inUnit(r.rtt_ns.max, units[3]) + '</td><td>' + inUnit(r.interval_max_ns, uInt) + '</td><td class="' + (r.alerts ? 'bad' : '') + '">' + r.alerts + '</td></tr>').join('');
  $('no-alerts').style.display = s.alerts.recent.length ? 'none' : '';
  const uAlert = unitOf(s.alerts.recent.filter((a) => a.kind !== 'loss').flatMap((a) => [a.value, a.threshold]));
  document.querySelector('#alerts tbody').innerHTML = s.alerts.recent.map((a) => {
    const value = a.kind === 'loss' ? pct(a.value) : inUnit(a.value, uAlert), limit = a.kind === 'loss' ? pct(a.threshold) : inUnit(a.threshold, uAlert);
    return '<tr title="' + esc(a.message) + '"><td>' + esc(a.at.slice(11, 19)) + '</td><td>' + esc(a.target) + '</td><td>' + esc(a.kind) + '</td><td class="num">' + value + '</td><td class="num">' + limit + '</td></tr>';
  }).join('');
  const first = t.find((r) => r.name === selected);
  $('detail-title').textContent = first ? 'target ' + first.name + ' (' + first.address + ', ' + first.mode + ', ' + first.stamps + ' stamps)' : 'no targets';
  loadDetail();
}
let loading = false;
let loadAgain = false;
async function loadDetail() {
  if (selected === null) return;
  // The load in flight may be of the target selected before a click: this one follows it
  // (dropped, the click's charts waited for the next snapshot, or one after it).
  if (loading) { loadAgain = true; return; }
  loading = true;
  loadAgain = false;
  try {
    const url = new URL('target', location.href);
    url.hash = '';
    url.searchParams.set('name', selected);
    const response = await fetch(url);
    if (!response.ok) return;
    const d = await response.json();
    if (d.name !== selected) return;
    $('chart-max').innerHTML = '<h2>Max RTT per interval' + (d.intervals_per_point > 1 ? ' <span class="muted">(each point ' + d.intervals_per_point + ' intervals; band: their lowest to highest max)</span>' : '') + '</h2>' + d.charts.max_over_time;
    $('chart-distribution').innerHTML = '<h2>Percentile distribution</h2>' + d.charts.distribution;
    $('chart-loss').innerHTML = '<h2>Loss per interval</h2>' + d.charts.loss;
    $('breakdown').innerHTML = '<h2>Where the round trip goes</h2><table><tr><th></th>' + d.breakdown_columns.map((c) => '<th>' + esc(c) + '</th>').join('') + '</tr>' +
      d.breakdown.map((row) => '<tr>' + row.map((v) => '<td>' + esc(v) + '</td>').join('') + '</tr>').join('') + '</table>' +
      (d.agent ? '<h2 style="margin-top:10px">Agent stream</h2><table id="agent">' + d.agent.map(([k, v]) => '<tr><td>' + esc(k) + '</td><td>' + esc(v) + '</td></tr>').join('') + '</table>'
        : '<p class="muted">No agent stream (give --agent-ws NAME=ws://… for the agent\\'s own view).</p>');
  } catch (err) {
    console.error(err);
  } finally {
    loading = false;
    if (loadAgain) loadDetail();
  }
}
function connect() {
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/live' + location.search);
  ws.onopen = () => { $('status').textContent = 'live'; $('status').className = ''; };
  ws.onmessage = (e) => { try { const s = JSON.parse(e.data); if (s.type === 'snapshot') render(s); } catch (err) { console.error(err); } };
  ws.onclose = () => { $('status').textContent = 'disconnected, retrying…'; $('status').className = 'off'; setTimeout(connect, 1000); };
}
connect();
</script></body></html>
`;
