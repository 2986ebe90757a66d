import { PERCENTILE_KEYS, type LatencySummary } from '../../shared/histogram/latency-histogram.js';
import type { HlogReadCounts } from '../hlog/hlog-counts.js';
import type { HlogSeries } from '../hlog/hlog-merge.js';
import type { HlogReport } from '../hlog/hlog-report.js';
import { formatNs, formatPercent } from '../../shared/report/format-ns.js';
import { renderProvenanceHtml } from './provenance.js';
import { columnUnit, LATENCY_CELL_STYLE, latencyCell } from './latency-cells.js';
import {
  distributionSeries, escapeHtml, inverse, latencyAxis, linearYAxis, maxOverTimePlot, percentilePlot, PLOT_COLOURS, PLOT_STYLE, svgPlot, timeAxis,
  type PlotMarker, type PlotPoint, type PlotSeries,
} from './svg-plots.js';

/**
 * The self-contained HTML page of `rtprobe report --html`: per target a summary table, then
 * the percentile distribution of the merged rtt histograms (every target a series), the max
 * RTT of each interval over time with a red ring on each interval that fired an alert, and the
 * loss of each interval over time (from the soak's rtprobe-interval counts lines). Times with no
 * interval (restarts, missing files) break the lines and are shaded. No script, no external
 * resource; every string from the files is escaped.
 */

/** The rtt max of one interval of one target (the Interval_Max column). */
export interface IntervalMax { target: string; startMs: number; lengthMs: number; maxNs: number }

export interface ReportHtmlInput {
  report: HlogReport;
  /** the merged rtt series, one per target */
  rtt: HlogSeries[];
  /** the rtt intervals' max column, any order */
  maxima: IntervalMax[];
  /** the timer intervals' max column (agent --timer-latency), any order; plotted under the RTT's */
  timerMaxima?: IntervalMax[];
  /** the counts lines, any order */
  counts: HlogReadCounts[];
}

/** Beyond this many intervals per target the time plots show the max over groups of intervals. */
const MAX_TIME_POINTS = 1500;
const ALERT_COLOUR = '#e00000';

const colourOf = (index: number): string => PLOT_COLOURS[index % PLOT_COLOURS.length] ?? '#000';
/** Intervals that follow each other within 10% of a length (timer jitter, ms rounding) touch. */
const touches = (endMs: number, nextStartMs: number, lengthMs: number): boolean => nextStartMs - endMs <= Math.max(5, lengthMs * 0.1);

/** The distribution of a merged histogram. */
function distribution(series: HlogSeries, colour: string): PlotSeries {
  const summary = series.summary();
  const histogram = summary.count === 0 ? null : series.merged();
  return distributionSeries(series.target, colour, summary.count, summary.max, (p) => histogram?.getValueAtPercentile(p) ?? 0);
}

interface Slot {
  startMs: number; endMs: number; maxNs: number; alerts: Set<string>; sent: number; lost: number; hasMax: boolean; hasCounts: boolean;
  timerMaxNs: number; hasTimer: boolean;
}

/** One target's intervals in time order, merged by start; groups of them when there are too many. */
function slotsOf(target: string, input: ReportHtmlInput): Slot[] {
  const byStart = new Map<number, Slot>();
  const slot = (startMs: number, lengthMs: number): Slot => {
    let s = byStart.get(startMs);
    if (!s) {
      s = { startMs, endMs: startMs + lengthMs, maxNs: 0, alerts: new Set(), sent: 0, lost: 0, hasMax: false, hasCounts: false, timerMaxNs: 0, hasTimer: false };
      byStart.set(startMs, s);
    }
    s.endMs = Math.max(s.endMs, startMs + lengthMs);
    return s;
  };
  for (const m of input.maxima) {
    if (m.target !== target) continue;
    const s = slot(m.startMs, m.lengthMs);
    s.maxNs = Math.max(s.maxNs, m.maxNs);
    s.hasMax = true;
  }
  for (const m of input.timerMaxima ?? []) {
    if (m.target !== target) continue;
    const s = slot(m.startMs, m.lengthMs);
    s.timerMaxNs = Math.max(s.timerMaxNs, m.maxNs);
    s.hasTimer = true;
  }
  for (const c of input.counts) {
    if (c.target !== target) continue;
    const s = slot(c.startMs, c.lengthMs);
    s.sent += c.sent;
    s.lost += c.lost;
    s.hasCounts = true;
    for (const kind of c.alerts) s.alerts.add(kind);
  }
  const sorted = [...byStart.values()].sort((a, b) => a.startMs - b.startMs);
  if (sorted.length <= MAX_TIME_POINTS) return sorted;
  const group = Math.ceil(sorted.length / MAX_TIME_POINTS);
  const grouped: Slot[] = [];
  for (let i = 0; i < sorted.length; i += group) {
    const part = sorted.slice(i, i + group);
    const first = part[0];
    if (!first) continue;
    grouped.push(part.slice(1).reduce((g, s) => ({
      startMs: g.startMs, endMs: Math.max(g.endMs, s.endMs), maxNs: Math.max(g.maxNs, s.maxNs),
      alerts: new Set([...g.alerts, ...s.alerts]), sent: g.sent + s.sent, lost: g.lost + s.lost,
      hasMax: g.hasMax || s.hasMax, hasCounts: g.hasCounts || s.hasCounts,
      timerMaxNs: Math.max(g.timerMaxNs, s.timerMaxNs), hasTimer: g.hasTimer || s.hasTimer,
    }), { ...first, alerts: new Set(first.alerts) }));
  }
  return grouped;
}

/** Points at the middle of each slot, the line cut where a slot does not follow the one before. */
function timePoints(slots: Slot[], t0Ms: number, value: (s: Slot) => number | null): PlotPoint[] {
  const points: PlotPoint[] = [];
  let previous: Slot | null = null;
  for (const s of slots) {
    const y = value(s);
    if (y === null) { previous = null; continue; }
    const breakBefore = previous !== null && !touches(previous.endMs, s.startMs, s.endMs - s.startMs);
    points.push({ x: ((s.startMs + s.endMs) / 2 - t0Ms) / 1000, y, ...(breakBefore ? { breakBefore } : {}) });
    previous = s;
  }
  return points;
}

const worstOf = (points: PlotPoint[]): PlotPoint | null => points.reduce<PlotPoint | null>((top, p) => (top === null || p.y > top.y ? p : top), null);
const cell = (text: string, cls = ''): string => `<td${cls ? ` class="${cls}"` : ''}>${escapeHtml(text)}</td>`;
const head = (...titles: string[]): string => `<tr>${titles.map((t) => `<th>${escapeHtml(t)}</th>`).join('')}</tr>`;
/** label, value, and the percentile (for "= max" when the samples cannot resolve it) */
type Row = [string, (s: LatencySummary) => number | null, number | null];
const ROWS: Row[] = [
  ['min', (s) => s.min, null],
  ...PERCENTILE_KEYS.map(([key, p]): Row => [`p${p}`, (s) => s[key], p]),
  ['max', (s) => s.max, null],
  ['mean', (s) => s.mean, null],
];

function targetSection(target: string, input: ReportHtmlInput): string {
  const { report } = input;
  const series = report.series.filter((s) => s.target === target);
  const tagName = (tag: string): string => (tag === '' ? '(no tag)' : tag);
  const units = series.map((s) => columnUnit(ROWS.map(([, pick]) => pick(s.values_ns))));
  const rows = ROWS.map(([label, pick, percentile]) => `<tr>${cell(label)}${series.map((s, i) => latencyCell(pick(s.values_ns), units[i] ?? 'µs',
    percentile === null ? undefined : { percentile, count: s.values_ns.count })).join('')}</tr>`);
  rows.push(`<tr>${cell('samples')}${series.map((s) => cell(String(s.values_ns.count), 'num')).join('')}</tr>`,
    `<tr>${cell('intervals')}${series.map((s) => cell(String(s.intervals), 'num')).join('')}</tr>`);
  const counts = input.counts.filter((c) => c.target === target);
  const total = counts.reduce((t, c) => ({ sent: t.sent + c.sent, received: t.received + c.received, lost: t.lost + c.lost, late: t.late + c.late }),
    { sent: 0, received: 0, lost: 0, late: 0 });
  const alerted = counts.filter((c) => c.alerts.length > 0).length;
  const first = series.map((s) => s.first).sort()[0] ?? '';
  const last = series.map((s) => s.last).sort().at(-1) ?? '';
  const gaps = report.gaps_recorded.filter((g) => g.target === target);
  const holes = report.holes.filter((h) => h.target === target && !gaps.some((g) => g.from <= h.from && g.to >= h.to));
  const spans = [...gaps.map((g) => `<li>restart ${escapeHtml(g.from)} .. ${escapeHtml(g.to)} (${g.span_s.toFixed(3)} s)</li>`),
    ...holes.map((h) => `<li>no data ${escapeHtml(h.from)} .. ${escapeHtml(h.to)} (${h.span_s.toFixed(3)} s)</li>`)];
  return `<h2>Target ${escapeHtml(target)}</h2>
<p class="note">${escapeHtml(first)} .. ${escapeHtml(last)}</p>
<table>${head('', ...series.map((s) => tagName(s.tag)))}${rows.join('')}</table>
${counts.length === 0 ? '<p class="note">No counts lines (a log not written by rtprobe soak): loss and alerts unknown.</p>'
    : `<table>${head('sent', 'received', 'lost', 'late', 'loss', 'intervals with alerts')}<tr>${cell(String(total.sent), 'num')}${cell(String(total.received), 'num')}${cell(String(total.lost), 'num')}${cell(String(total.late), 'num')}${cell(total.sent === 0 ? '-' : formatPercent(total.lost / total.sent), 'num')}${cell(`${alerted} of ${counts.length}`, 'num')}</tr></table>`}
${spans.length === 0 ? '<p class="note">No restart recorded, no time without intervals.</p>' : `<ul class="gaps">${spans.join('')}</ul>`}`;
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}
table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:3px 10px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}
${PLOT_STYLE}
${LATENCY_CELL_STYLE}
.note{color:#555}`;

/** The whole page as one HTML string. */
export function renderReportHtml(input: ReportHtmlInput): string {
  const { report } = input;
  const targets = [...new Set(report.series.map((s) => s.target))];
  const colour = new Map(targets.map((t, i) => [t, colourOf(i)]));
  const percentile = input.rtt.map((s) => distribution(s, colour.get(s.target) ?? '#000'));
  const starts = report.series.map((s) => Date.parse(s.first));
  const t0Ms = starts.length === 0 ? 0 : Math.min(...starts);
  const endS = Math.max(1, ...report.series.map((s) => (Date.parse(s.last) - t0Ms) / 1000));
  const slots = new Map(targets.map((t) => [t, slotsOf(t, input)]));
  const maxSeries: PlotSeries[] = [];
  const lossSeries: PlotSeries[] = [];
  const timerSeries: PlotSeries[] = [];
  const markers: PlotMarker[] = [];
  for (const target of targets) {
    const own = slots.get(target) ?? [];
    const c = colour.get(target) ?? '#000';
    const maxPoints = timePoints(own, t0Ms, (s) => (s.hasMax ? s.maxNs / 1e3 : null));
    maxSeries.push({ name: target, colour: c, points: maxPoints, worst: worstOf(maxPoints) });
    const timerPoints = timePoints(own, t0Ms, (s) => (s.hasTimer ? s.timerMaxNs / 1e3 : null));
    if (timerPoints.length > 0) timerSeries.push({ name: target, colour: c, points: timerPoints, worst: worstOf(timerPoints) });
    const lossPoints = timePoints(own, t0Ms, (s) => (s.hasCounts && s.sent > 0 ? (100 * s.lost) / s.sent : null));
    lossSeries.push({ name: target, colour: c, points: lossPoints, worst: worstOf(lossPoints) });
    for (const s of own) {
      if (s.alerts.size === 0) continue;
      markers.push({
        x: ((s.startMs + s.endMs) / 2 - t0Ms) / 1000, y: s.hasMax && s.maxNs > 0 ? s.maxNs / 1e3 : 0, cls: 'alert-marker', colour: ALERT_COLOUR,
        title: `${target}: ${[...s.alerts].join(', ')} at ${new Date(s.startMs).toISOString()}`,
      });
    }
  }
  const shaded = [
    ...report.gaps_recorded.map((g) => ({ from: g.from, to: g.to, title: `${g.target}: restart` })),
    ...report.holes.map((h) => ({ from: h.from, to: h.to, title: `${h.target}: no intervals` })),
  ].map((s) => ({ from: (Date.parse(s.from) - t0Ms) / 1000, to: (Date.parse(s.to) - t0Ms) / 1000, title: s.title }))
    .filter((s) => s.to > 0 && s.from < endS).map((s) => ({ ...s, from: Math.max(0, s.from), to: Math.min(endS, s.to) }));
  const maxLoss = Math.max(0, ...lossSeries.flatMap((s) => s.points.map((p) => p.y)));
  const hasCounts = input.counts.length > 0;
  const title = `rtprobe report: ${targets.join(', ')}`;
  const range = report.from === null && report.to === null ? 'all times' : `${report.from ?? 'start'} .. ${report.to ?? 'end'}`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="note">${report.files.length} files, ${escapeHtml(range)}, ${escapeHtml(report.tags === null ? 'all tags' : `tags ${report.tags.join(', ')}`)}.</p>
${targets.map((t) => targetSection(t, input)).join('\n')}
<h2>RTT percentile distribution</h2>
<p class="note">All rtt intervals of each target merged. x: 1/(1&minus;p) on a log scale; y: round trip on a log scale. The dot is each target's worst case, at x = its number of samples.</p>
${percentilePlot(percentile)}
<h2>Max RTT over time</h2>
<p class="note">The max round trip of each interval (the log's Interval_Max column)${input.maxima.length > MAX_TIME_POINTS ? ', or of each group of intervals' : ''}; log scale. Red rings: intervals that fired an alert (${markers.length}). Shaded: no interval (restarts, missing files).</p>
${maxOverTimePlot(maxSeries, t0Ms, endS, { markers, shaded, dots: true }, 'Max RTT over time')}
${timerSeries.length === 0 ? '' : `<h2>Guest timer max over time</h2>
<p class="note">The agent's own timer wake-up latency (agent --timer-latency, its CLOCK_MONOTONIC), max of each interval, on the time axis of the RTT plot above: an RTT spike under a timer spike is the guest scheduled late, one without is the path.</p>
${svgPlot('Guest timer max over time', timeAxis(t0Ms, endS), latencyAxis(timerSeries, 'timer wake-up latency (log scale)'), timerSeries,
    { shaded, dots: true })}`}
<h2>Loss over time</h2>
<p class="note">${hasCounts ? 'Lost / sent per interval, from the soak&#39;s counts lines. Shaded: no interval.' : 'The logs hold no counts lines: loss unknown.'}</p>
${svgPlot('Loss over time', timeAxis(t0Ms, endS), linearYAxis(maxLoss, 'loss (lost / sent)', '%'), lossSeries,
    { dots: true, shaded, empty: 'no counts lines', formatY: (y) => `${Number(y.toPrecision(3))}%` })}
${(report.provenance ?? []).map(renderProvenanceHtml).join('\n')}
</body></html>
`;
}
