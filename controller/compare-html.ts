import { formatNs, formatPercent } from '../shared/report/format-ns.js';
import { buildCompareBlock, COMPARE_ROWS, compareTargets, formatRatio } from './compare-report.js';
import type { HgrmRow } from './hgrm.js';
import type { RunReport, TargetReport } from './run-report.js';

/**
 * The self-contained HTML report of `rtprobe compare`: tables and two inline SVG plots, no
 * script, no external resource (it is opened from disk on a lab machine, often offline).
 *
 * Both plots have a log latency axis: a passthrough worst case of 300 µs and an emulated one of
 * 100 ms differ by 300x, and on a linear axis the passthrough series would be a flat line at 0.
 */

const COLOURS = ['#1f77b4', '#d62728'] as const;
/** beyond this many points per series a dot per point only hides the line */
const MAX_DOTS = 300;
const W = 760;
const H = 360;
// The top margin holds the legend and the label of a worst case at the top edge.
const M = { left: 72, right: 44, top: 36, bottom: 52 };

/** Every string from outside (target names above all) goes through this. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

interface Point { x: number; yUs: number }
interface Series { name: string; colour: string; points: Point[]; worst: Point | null }

/** x of the percentile plot: 1/(1-p), so each decade is one more nine. */
function inverse(percentile: number): number {
  return 1 / (1 - percentile);
}

/**
 * Points of one target: the histogram's distribution rows when given (the .hgrm), else the
 * report's percentiles. The worst case sits at x = count (with n samples the max is the
 * 1-in-n event), or right of the last row when the rows reach further.
 */
function percentileSeries(t: TargetReport, colour: string, rows: HgrmRow[] | undefined): Series {
  const s = t.rtt_ns;
  if (s.count === 0 || s.max === null) return { name: t.name, colour, points: [], worst: null };
  let points: Point[];
  if (rows && rows.length > 0) {
    points = rows.filter((r) => r.percentile < 1).map((r) => ({ x: inverse(r.percentile), yUs: r.value }));
  } else {
    const known: [number, number | null][] = [[0, s.min], [0.5, s.p50], [0.9, s.p90], [0.99, s.p99],
      [0.999, s.p99_9], [0.9999, s.p99_99], [0.99999, s.p99_999]];
    points = known.flatMap(([p, ns]) => (ns === null || inverse(p) >= s.count ? [] : [{ x: inverse(p), yUs: ns / 1e3 }]));
  }
  const worst = { x: Math.max(s.count, points[points.length - 1]?.x ?? 1), yUs: s.max / 1e3 };
  return { name: t.name, colour, points: [...points, worst], worst };
}

function maxOverTimeSeries(t: TargetReport, colour: string, t0Ms: number): Series {
  const points = t.max_over_time.map((p) => ({ x: (Date.parse(p.start) - t0Ms) / 1000 + p.span_s / 2, yUs: p.max_ns / 1e3 }));
  const worst = points.reduce<Point | null>((top, p) => (top === null || p.yUs > top.yUs ? p : top), null);
  return { name: t.name, colour, points, worst };
}

/** Decade bounds of a log axis over the positive values (at least one decade). */
function decades(values: number[]): [number, number] {
  const positive = values.filter((v) => v > 0);
  if (positive.length === 0) return [0, 1];
  const lo = Math.floor(Math.log10(Math.min(...positive)));
  const hi = Math.ceil(Math.log10(Math.max(...positive)));
  return [lo, Math.max(hi, lo + 1)];
}

/** Axis labels: "20 µs", "5 ms", "1 s" (round values only reach here). */
function formatUsTick(us: number): string {
  const round = (v: number): number => Number(v.toPrecision(3));
  if (us < 1000) return `${round(us)} µs`;
  if (us < 1e6) return `${round(us / 1e3)} ms`;
  return `${round(us / 1e6)} s`;
}

/** "0%", "90%", "99%", "99.9%", … for x = 10^k on the percentile axis. */
export function percentileTickLabel(k: number): string {
  if (k === 0) return '0%';
  if (k === 1) return '90%';
  return k === 2 ? '99%' : `99.${'9'.repeat(k - 2)}%`;
}

/** Round steps (1, 2, 5 × 10^k) for a linear time axis, about 8 ticks. */
function linearTicks(max: number): number[] {
  const raw = Math.max(max, 1) / 8;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * magnitude).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

interface Axis { scale: (v: number) => number; ticks: { at: number; label: string }[]; title: string; minor?: number[] }

function svgPlot(title: string, x: Axis, y: Axis, series: Series[], markWorst: boolean, dots = false): string {
  const parts: string[] = [];
  const px = (v: number): string => x.scale(v).toFixed(1);
  const py = (v: number): string => y.scale(v).toFixed(1);
  for (const t of x.ticks) {
    parts.push(`<line class="grid" x1="${px(t.at)}" x2="${px(t.at)}" y1="${M.top}" y2="${H - M.bottom}"/>`,
      `<text x="${px(t.at)}" y="${H - M.bottom + 16}" text-anchor="middle">${escapeHtml(t.label)}</text>`);
  }
  for (const at of y.minor ?? []) parts.push(`<line class="grid minor" x1="${M.left}" x2="${W - M.right}" y1="${py(at)}" y2="${py(at)}"/>`);
  for (const t of y.ticks) {
    parts.push(`<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${py(t.at)}" y2="${py(t.at)}"/>`,
      `<text x="${M.left - 6}" y="${py(t.at)}" dy="4" text-anchor="end">${escapeHtml(t.label)}</text>`);
  }
  parts.push(`<rect class="frame" x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}"/>`,
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 12}" text-anchor="middle">${escapeHtml(x.title)}</text>`,
    `<text transform="translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(y.title)}</text>`);
  // The larger worst case is labelled above its marker, the other below: the two labels never overlap.
  const above = series.reduce((best, s, i) => ((s.worst?.yUs ?? -1) > (series[best]?.worst?.yUs ?? -1) ? i : best), 0);
  series.forEach((s, i) => {
    const points = s.points.map((p) => `${px(p.x)},${py(p.yUs)}`).join(' ');
    const cls = `series series-${i}`;
    if (s.points.length > 0) parts.push(`<polyline class="${cls}" fill="none" stroke="${s.colour}" stroke-width="1.8" points="${points}"/>`);
    if (dots && s.points.length <= MAX_DOTS) {
      for (const p of s.points) parts.push(`<circle class="${cls}" cx="${px(p.x)}" cy="${py(p.yUs)}" r="2.5" fill="${s.colour}"/>`);
    }
    if (markWorst && s.worst) {
      const dy = i === above ? -8 : 16;
      parts.push(`<circle class="worst worst-${i}" cx="${px(s.worst.x)}" cy="${py(s.worst.yUs)}" r="4.5" fill="${s.colour}"/>`,
        `<text class="worst-label" x="${px(s.worst.x)}" y="${py(s.worst.yUs)}" dx="-8" dy="${dy}" text-anchor="end" fill="${s.colour}">` +
        `${escapeHtml(s.name)} worst ${escapeHtml(formatNs(s.worst.yUs * 1e3))}</text>`);
    }
  });
  // Legend above the frame, so it never hides a series.
  let legendX = M.left;
  for (const s of series) {
    parts.push(`<rect x="${legendX}" y="10" width="14" height="4" fill="${s.colour}"/>`,
      `<text x="${legendX + 20}" y="16">${escapeHtml(s.name)}</text>`);
    legendX += 40 + 7 * s.name.length;
  }
  if (series.every((s) => s.points.length === 0)) {
    parts.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no round trips</text>`);
  }
  return `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(title)}">\n${parts.join('\n')}\n</svg>`;
}

/** Decades labelled; over at most two decades 2× and 5× labelled too, over three 2..9× as light lines. */
function logAxis(lo: number, hi: number, from: number, to: number, title: string, label: (k: number) => string,
  minorLabel?: (v: number) => string): Axis {
  const scale = (v: number): number => {
    const clamped = Math.min(Math.max(v, 10 ** lo), 10 ** hi);
    return from + ((Math.log10(clamped) - lo) / (hi - lo)) * (to - from);
  };
  const ticks = Array.from({ length: hi - lo + 1 }, (_, i) => ({ at: 10 ** (lo + i), label: label(lo + i) }));
  if (!minorLabel) return { scale, ticks, title };
  const minor: number[] = [];
  for (let k = lo; k < hi; k++) {
    for (let m = 2; m <= 9; m++) {
      const at = m * 10 ** k;
      if (hi - lo <= 2 && (m === 2 || m === 5)) ticks.push({ at, label: minorLabel(at) });
      else if (hi - lo <= 3) minor.push(at);
    }
  }
  return { scale, ticks, title, minor };
}

function latencyAxis(series: Series[]): Axis {
  const [lo, hi] = decades(series.flatMap((s) => s.points.map((p) => p.yUs)));
  return logAxis(lo, hi, H - M.bottom, M.top, 'round trip (log scale)', (k) => formatUsTick(10 ** k), formatUsTick);
}

function percentilePlot(series: Series[]): string {
  const top = Math.max(5, Math.ceil(Math.log10(Math.max(...series.flatMap((s) => s.points.map((p) => p.x)), 1))));
  const x = logAxis(0, top, M.left, W - M.right, 'percentile (x = 1/(1-p), log scale)', percentileTickLabel);
  return svgPlot('RTT percentile distribution', x, latencyAxis(series), series, true);
}

/** `endS`: where the last span ends, seconds after t0. */
function maxOverTimePlot(series: Series[], t0Ms: number, endS: number): string {
  const xMax = Math.max(1, endS);
  const x: Axis = {
    scale: (v) => M.left + (v / xMax) * (W - M.left - M.right),
    ticks: linearTicks(xMax).filter((t) => t <= xMax).map((t) => ({ at: t, label: `${t} s` })),
    title: `send time, seconds after ${Number.isFinite(t0Ms) ? new Date(t0Ms).toISOString() : 'start'}`,
  };
  return svgPlot('max RTT per second', x, latencyAxis(series), series, false, true);
}

const cell = (text: string, cls = ''): string => `<td${cls ? ` class="${cls}"` : ''}>${escapeHtml(text)}</td>`;
const head = (...titles: string[]): string => `<tr>${titles.map((t) => `<th>${escapeHtml(t)}</th>`).join('')}</tr>`;

function addressOf(t: TargetReport): string {
  if (t.mode === 'icmp') return t.address;
  return t.address.includes(':') ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`;
}

function worstTable(b: TargetReport, c: TargetReport): string {
  const rows: string[] = [];
  for (let i = 0; i < Math.max(b.worst.length, c.worst.length); i++) {
    const side = (w: TargetReport['worst'][number] | undefined): string =>
      (w ? cell(String(w.seq)) + cell(formatNs(w.rtt_ns), 'num') + cell(w.at) : cell('') + cell('') + cell(''));
    rows.push(`<tr>${cell(String(i + 1))}${side(b.worst[i])}${side(c.worst[i])}</tr>`);
  }
  return `<table>${head('#', `${b.name} seq`, 'RTT', 'sent at', `${c.name} seq`, 'RTT', 'sent at')}${rows.join('')}</table>`;
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}
table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:3px 10px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}
svg{display:block;margin:8px 0 20px;font-size:12px}svg .grid{stroke:#e3e3e3}svg .minor{stroke:#f2f2f2}svg .frame{fill:none;stroke:#888}
.note{color:#555}`;

/** The whole report as one HTML string; `distributions` (target name → .hgrm rows, µs) sharpen the percentile plot. */
export function renderCompareHtml(report: RunReport, distributions: ReadonlyMap<string, HgrmRow[]> = new Map()): string {
  const [b, c] = compareTargets(report);
  const block = buildCompareBlock(report);
  const percentile = [b, c].map((t, i) => percentileSeries(t, COLOURS[i] ?? '#000', distributions.get(t.name)));
  const t0Ms = Math.min(...[b, c].flatMap((t) => t.max_over_time.map((p) => Date.parse(p.start))));
  const overTime = [b, c].map((t, i) => maxOverTimeSeries(t, COLOURS[i] ?? '#000', t0Ms));
  const endS = Math.max(0, ...[b, c].flatMap((t) => t.max_over_time.map((p) => (Date.parse(p.start) - t0Ms) / 1000 + p.span_s)));
  const facts: [string, string][] = [
    ['started', report.started], ['duration', `${report.duration_s.toFixed(1)} s`], ['rate', `${report.rate_hz} Hz per target`],
    ['probe size', `${report.size_bytes} B`], ['late after', formatNs(report.timeout_ns)], ['lost after', formatNs(report.loss_after_ns)],
    ...[b, c].map((t): [string, string] => [`${t.name}`, `${addressOf(t)}, ${t.mode}; RTT stamps ${t.timestamps.tx} TX/${t.timestamps.rx} RX (${t.timestamps.rtt_clock})`]),
  ];
  const rows = COMPARE_ROWS.map(([key, label]) => {
    const r = block.rtt[key];
    return `<tr>${cell(label)}${cell(formatNs(r.baseline_ns), 'num')}${cell(formatNs(r.compared_ns), 'num')}${cell(formatRatio(r.ratio), 'num')}</tr>`;
  });
  const lossRow = (label: string, pick: (t: TargetReport) => string): string => `<tr>${cell(label)}${cell(pick(b), 'num')}${cell(pick(c), 'num')}</tr>`;
  const title = `rtprobe compare: ${b.name} vs ${c.name}`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<table>${facts.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th>${cell(v)}</tr>`).join('')}</table>
${block.clocks.same ? '' : '<p class="note">The two columns were stamped by different clocks: compare with care.</p>'}
<h2>Round trip</h2>
<p class="note">Both targets on one schedule, their probes interleaved within each period. Ratio = ${escapeHtml(block.ratio_of)}.</p>
<table>${head('', b.name, c.name, 'ratio')}${rows.join('')}</table>
<h2>Percentile distribution</h2>
<p class="note">x: 1/(1&minus;p) on a log scale; y: round trip on a log scale. The dot is each target's worst case, at x = its number of samples.</p>
${percentilePlot(percentile)}
<h2>Max round trip over time</h2>
<p class="note">The largest round trip among the probes sent in each second (longer spans on long runs); log scale.</p>
${maxOverTimePlot(overTime, t0Ms, endS)}
<h2>Loss</h2>
<table>${head('', b.name, c.name)}${lossRow('sent', (t) => String(t.sent))}${lossRow('received', (t) => String(t.received))}${lossRow('lost', (t) => String(t.lost))}${lossRow('late', (t) => String(t.late))}${lossRow('loss ratio', (t) => formatPercent(t.loss_ratio))}${lossRow('duplicates', (t) => String(t.duplicates))}${lossRow('reordered', (t) => String(t.reordered))}${lossRow('missed send slots', (t) => String(t.missed_send_slots))}</table>
<h2>Worst round trips</h2>
${worstTable(b, c)}
</body></html>
`;
}
