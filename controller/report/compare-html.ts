import { formatNs, formatPercent } from '../../shared/report/format-ns.js';
import {
  escapeHtml, inverse, maxOverTimePlot, percentilePlot, PLOT_COLOURS, PLOT_STYLE, type PlotPoint, type PlotSeries,
} from './svg-plots.js';
import {
  buildCompareBlock, COMPARE_ROWS, compareAgentNotes, compareDetailSections, compareTargets, formatRatio,
} from './compare-report.js';
import type { HgrmRow } from './hgrm.js';
import { columnUnit, LATENCY_CELL_STYLE, latencyCell, type NsUnit } from './latency-cells.js';
import { PERCENTILE_KEYS } from '../../shared/histogram/latency-histogram.js';
import type { RunReport, TargetReport } from './run-report.js';
import { renderProvenanceHtml } from './provenance.js';
import { formatVerdictLine } from './verdict.js';

export { escapeHtml, percentileTickLabel } from './svg-plots.js';

/**
 * The self-contained HTML report of `rtprobe compare`: tables and two inline SVG plots, no
 * script, no external resource (it is opened from disk on a lab machine, often offline).
 *
 * Both plots have a log latency axis: a passthrough worst case of 300 µs and an emulated one of
 * 100 ms differ by 300x, and on a linear axis the passthrough series would be a flat line at 0.
 */

const COLOURS = PLOT_COLOURS;
type Point = PlotPoint;
type Series = PlotSeries;

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
    points = rows.filter((r) => r.percentile < 1).map((r) => ({ x: inverse(r.percentile), y: r.value }));
  } else {
    const known: [number, number | null][] = [[0, s.min], [0.5, s.p50], [0.9, s.p90], [0.99, s.p99],
      [0.999, s.p99_9], [0.9999, s.p99_99], [0.99999, s.p99_999]];
    points = known.flatMap(([p, ns]) => (ns === null || inverse(p) >= s.count ? [] : [{ x: inverse(p), y: ns / 1e3 }]));
  }
  const worst = { x: Math.max(s.count, points[points.length - 1]?.x ?? 1), y: s.max / 1e3 };
  return { name: t.name, colour, points: [...points, worst], worst };
}

function maxOverTimeSeries(t: TargetReport, colour: string, t0Ms: number): Series {
  const points = t.max_over_time.map((p) => ({ x: (Date.parse(p.start) - t0Ms) / 1000 + p.span_s / 2, y: p.max_ns / 1e3 }));
  const worst = points.reduce<Point | null>((top, p) => (top === null || p.y > top.y ? p : top), null);
  return { name: t.name, colour, points, worst };
}

const cell = (text: string, cls = ''): string => `<td${cls ? ` class="${cls}"` : ''}>${escapeHtml(text)}</td>`;
const head = (...titles: string[]): string => `<tr>${titles.map((t) => `<th>${escapeHtml(t)}</th>`).join('')}</tr>`;

function addressOf(t: TargetReport): string {
  if (t.mode === 'icmp') return t.address;
  return t.address.includes(':') ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`;
}

function worstTable(b: TargetReport, c: TargetReport): string {
  const rows: string[] = [];
  const unitB = columnUnit(b.worst.map((w) => w.rtt_ns));
  const unitC = columnUnit(c.worst.map((w) => w.rtt_ns));
  for (let i = 0; i < Math.max(b.worst.length, c.worst.length); i++) {
    const side = (w: TargetReport['worst'][number] | undefined, unit: NsUnit): string =>
      (w ? cell(String(w.seq)) + latencyCell(w.rtt_ns, unit) + cell(w.at) : cell('') + cell('') + cell(''));
    rows.push(`<tr>${cell(String(i + 1))}${side(b.worst[i], unitB)}${side(c.worst[i], unitC)}</tr>`);
  }
  return `<table>${head('#', `${b.name} seq`, 'RTT', 'sent at', `${c.name} seq`, 'RTT', 'sent at')}${rows.join('')}</table>`;
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}
table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:3px 10px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}
${PLOT_STYLE}
${LATENCY_CELL_STYLE}
.note{color:#555}.warn{color:#a00;font-weight:bold}`;

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
  const unitB = columnUnit(COMPARE_ROWS.map(([key]) => block.rtt[key].baseline_ns));
  const unitC = columnUnit(COMPARE_ROWS.map(([key]) => block.rtt[key].compared_ns));
  const rows = COMPARE_ROWS.map(([key, label]) => {
    const r = block.rtt[key];
    const percentile = PERCENTILE_KEYS.find(([k]) => k === key)?.[1];
    const resolve = (t: TargetReport): { percentile: number; count: number } | undefined =>
      (percentile === undefined ? undefined : { percentile, count: t.rtt_ns.count });
    return `<tr>${cell(label)}${latencyCell(r.baseline_ns, unitB, resolve(b))}${latencyCell(r.compared_ns, unitC, resolve(c))}${cell(formatRatio(r.ratio), 'num')}</tr>`;
  });
  const details = compareDetailSections(block).map((section) => `<tr><th colspan="4">${escapeHtml(section.title)}</th></tr>${
    section.lines.map((line) => `<tr>${cell(line.label)}${cell(line.baseline, 'num')}${cell(line.compared, 'num')}${cell(line.ratio, 'num')}</tr>`).join('')}`);
  const warnings = block.sender.warnings.map((w) => `<p class="warn">${escapeHtml(w)}</p>\n`).join('');
  const agentNotes = compareAgentNotes(block).map((n) => `<p class="note">${escapeHtml(n)}</p>\n`).join('');
  const lossRow = (label: string, pick: (t: TargetReport) => string): string => `<tr>${cell(label)}${cell(pick(b), 'num')}${cell(pick(c), 'num')}</tr>`;
  const title = `rtprobe compare: ${b.name} vs ${c.name}`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<table>${facts.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th>${cell(v)}</tr>`).join('')}</table>
${report.verdict ? `<p class="verdict">${escapeHtml(formatVerdictLine(report.verdict))}</p>` : ''}
${block.clocks.same ? '' : '<p class="note">The two columns were stamped by different clocks: compare with care.</p>'}
${warnings}<h2>Round trip</h2>
<p class="note">Both targets on one schedule, their probes interleaved within each period. Ratio = ${escapeHtml(block.ratio_of)}.</p>
<table>${head('', b.name, c.name, 'ratio')}${rows.join('')}</table>
<h2>Sender, network, agent</h2>
<p class="note">What the run report shows beside the round trip: the controller's own share (missed send slots, send error), the network part and the guest's view (--agent-ws), refusals.</p>
<table>${head('', b.name, c.name, 'ratio')}${details.join('')}</table>
${agentNotes}
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
${report.provenance ? renderProvenanceHtml(report.provenance) : ''}
</body></html>
`;
}
