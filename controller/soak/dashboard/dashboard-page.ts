/**
 * The live dashboard: one self-contained page (no external resources). It opens a WebSocket
 * to /live on the same server, which pushes a snapshot each second, and draws per target the
 * running percentiles, loss, the clock that stamped them and a max-over-time chart.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rtprobe live</title>
<style>
body{font:14px system-ui,sans-serif;margin:16px;background:#fafafa;color:#222}
h1{font-size:18px;margin:0 0 8px} .meta{color:#666;margin-bottom:12px}
.target{background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px;margin-bottom:12px}
table{border-collapse:collapse} td,th{padding:2px 10px;text-align:right;font-variant-numeric:tabular-nums}
th{color:#666;font-weight:normal} .name{font-weight:bold;font-size:16px} .bad{color:#b00}
svg{background:#fff;border:1px solid #eee;margin-top:8px}
</style></head><body>
<h1>rtprobe live</h1><div class="meta" id="meta">connecting…</div><div id="targets"></div>
<script>
const fmt = (ns) => ns == null ? '-' : ns < 1e7 ? (ns / 1e3).toFixed(1) + ' µs' : ns < 1e9 ? (ns / 1e6).toFixed(3) + ' ms' : (ns / 1e9).toFixed(3) + ' s';
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
function chart(points) {
  const w = 600, h = 120;
  if (points.length < 2) return '<svg width="' + w + '" height="' + h + '"></svg>';
  const t0 = points[0].t, t1 = points[points.length - 1].t, maxY = Math.max(...points.map((p) => p.max_ns));
  const xy = points.map((p) => ((p.t - t0) / Math.max(1, t1 - t0) * (w - 10) + 5).toFixed(1) + ',' + (h - 5 - p.max_ns / maxY * (h - 20)).toFixed(1));
  return '<svg width="' + w + '" height="' + h + '" data-points="' + points.length + '"><polyline fill="none" stroke="#c33" stroke-width="1.5" points="' + xy.join(' ') + '"/>' +
    '<text x="5" y="12" font-size="11" fill="#666">max RTT per second, top ' + fmt(maxY) + '</text></svg>';
}
function render(s) {
  document.getElementById('meta').textContent = 'updated ' + s.at + ' · alerts ' + s.alerts;
  document.getElementById('targets').innerHTML = s.targets.map((t) => {
    const r = t.rtt_ns;
    return '<div class="target" data-target="' + esc(t.name) + '"><div class="name">' + esc(t.name) + ' <small>' + esc(t.address) + ' ' + t.mode + ', ' + t.stamps + ' stamps</small></div>' +
      '<table><tr><th>sent</th><th>received</th><th>lost</th><th>late</th><th>p50</th><th>p99</th><th>p99.9</th><th>max</th><th>interval max</th></tr>' +
      '<tr><td class="sent">' + t.sent + '</td><td class="received">' + t.received + '</td><td class="' + (t.lost ? 'bad ' : '') + 'lost">' + t.lost + '</td><td>' + t.late +
      '</td><td class="p50">' + fmt(r.p50) + '</td><td>' + fmt(r.p99) + '</td><td>' + fmt(r.p99_9) + '</td><td class="max">' + fmt(r.max) + '</td><td>' + fmt(t.interval_max_ns) + '</td></tr></table>' +
      chart(t.max_over_time) + '</div>';
  }).join('');
}
function connect() {
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/live' + location.search);
  ws.onmessage = (e) => { try { const s = JSON.parse(e.data); if (s.type === 'snapshot') render(s); } catch (err) { console.error(err); } };
  ws.onclose = () => { document.getElementById('meta').textContent = 'disconnected, retrying…'; setTimeout(connect, 1000); };
}
connect();
</script></body></html>
`;
