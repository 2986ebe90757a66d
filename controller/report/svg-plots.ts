import { formatNs } from '../../shared/report/format-ns.js';

/**
 * Inline SVG plots for the self-contained HTML reports (`rtprobe compare --html`, `rtprobe
 * report --html`): no script, no external resource. Latency axes are log scale: a passthrough
 * worst case of 300 µs and an emulated one of 100 ms differ by 300x.
 */

export const PLOT_COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'] as const;
/** beyond this many points per series a dot per point only hides the line */
const MAX_DOTS = 300;
export const PLOT_W = 760;
export const PLOT_H = 360;
// The top margin holds the legend (two rows).
const M = { left: 72, right: 44, top: 36, bottom: 52 };
export const PLOT_MARGIN: Readonly<typeof M> = M;
const W = PLOT_W;
const H = PLOT_H;

/** The CSS the plots expect in the page. */
export const PLOT_STYLE = 'svg{display:block;margin:8px 0 20px;font-size:12px}svg .grid{stroke:#e3e3e3}svg .minor{stroke:#f2f2f2}'
  + 'svg .frame{fill:none;stroke:#888}svg .gap{fill:#000;fill-opacity:0.08}';

/** Every string from outside (target names above all) goes through this. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** y: µs on latency plots, % on the loss plot. `breakBefore`: the line is cut before this point (a gap). */
export interface PlotPoint { x: number; y: number; breakBefore?: boolean }
export interface PlotSeries { name: string; colour: string; points: PlotPoint[]; worst: PlotPoint | null }
/** A marker drawn over the series (an alert), its class names it for tests and styles. */
export interface PlotMarker { x: number; y: number; cls: string; colour: string; title: string }
export interface PlotOptions {
  markWorst?: boolean;
  dots?: boolean;
  markers?: PlotMarker[];
  /** x spans shaded grey: nothing was measured there */
  shaded?: { from: number; to: number; title: string }[];
  /** what the empty plot says */
  empty?: string;
  /** formats a worst case's y for its label */
  formatY?: (y: number) => string;
  /** horizontal reference lines (a threshold), dashed under the series, named in the legend */
  hLines?: { y: number; colour: string; label: string; cls: string }[];
  /** filled bands between lo and hi (an envelope of downsampled values), under the series */
  bands?: { colour: string; points: { x: number; lo: number; hi: number }[] }[];
}

export interface Axis { scale: (v: number) => number; ticks: { at: number; label: string }[]; title: string; minor?: number[] }

/** x of the percentile plot: 1/(1-p), so each decade is one more nine. */
export function inverse(percentile: number): number {
  return 1 / (1 - percentile);
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
export function formatUsTick(us: number): string {
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

/** Round steps (1, 2, 5 × 10^k) for a linear axis, about 8 ticks from 0 to max (to 1 when max is 0). */
export function linearTicks(max: number): number[] {
  // Nothing to show (no loss at all, the normal case) still needs an axis with a height.
  const top = max > 0 && Number.isFinite(max) ? max : 1;
  const raw = top / 8;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * magnitude).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** The polylines of a series: one per run of points without a break. */
function polylines(points: PlotPoint[]): PlotPoint[][] {
  const runs: PlotPoint[][] = [];
  for (const p of points) {
    const last = runs.at(-1);
    if (!last || p.breakBefore) runs.push([p]);
    else last.push(p);
  }
  return runs;
}

export function svgPlot(title: string, x: Axis, y: Axis, series: PlotSeries[], options: PlotOptions = {}): string {
  const { markWorst = false, dots = false, markers = [], shaded = [], empty = 'no round trips', formatY = (v) => formatNs(v * 1e3) } = options;
  const { hLines = [], bands = [] } = options;
  const parts: string[] = [];
  const px = (v: number): string => x.scale(v).toFixed(1);
  const py = (v: number): string => y.scale(v).toFixed(1);
  for (const span of shaded) {
    const from = x.scale(span.from);
    const width = Math.max(1, x.scale(span.to) - from);
    parts.push(`<rect class="gap" x="${from.toFixed(1)}" y="${M.top}" width="${width.toFixed(1)}" height="${H - M.top - M.bottom}">`
      + `<title>${escapeHtml(span.title)}</title></rect>`);
  }
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
  for (const band of bands) {
    if (band.points.length < 2) continue;
    const edge = [...band.points.map((p) => `${px(p.x)},${py(p.hi)}`), ...[...band.points].reverse().map((p) => `${px(p.x)},${py(p.lo)}`)];
    parts.push(`<polygon class="band" fill="${band.colour}" fill-opacity="0.18" stroke="none" points="${edge.join(' ')}"/>`);
  }
  for (const line of hLines) {
    parts.push(`<line class="${escapeHtml(line.cls)}" x1="${M.left}" x2="${W - M.right}" y1="${py(line.y)}" y2="${py(line.y)}" stroke="${line.colour}" stroke-width="1.5" stroke-dasharray="6 4"/>`);
  }
  series.forEach((s, i) => {
    const cls = `series series-${i}`;
    for (const run of polylines(s.points)) {
      const points = run.map((p) => `${px(p.x)},${py(p.y)}`).join(' ');
      parts.push(`<polyline class="${cls}" fill="none" stroke="${s.colour}" stroke-width="1.8" points="${points}"/>`);
    }
    if (dots && s.points.length <= MAX_DOTS) {
      for (const p of s.points) parts.push(`<circle class="${cls}" cx="${px(p.x)}" cy="${py(p.y)}" r="2.5" fill="${s.colour}"/>`);
    }
    if (markWorst && s.worst) {
      parts.push(`<circle class="worst worst-${i}" cx="${px(s.worst.x)}" cy="${py(s.worst.y)}" r="4.5" fill="${s.colour}">`
        + `<title>${escapeHtml(s.name)} worst ${escapeHtml(formatY(s.worst.y))}</title></circle>`);
    }
  });
  for (const m of markers) {
    parts.push(`<circle class="${escapeHtml(m.cls)}" cx="${px(m.x)}" cy="${py(m.y)}" r="5" fill="none" stroke="${m.colour}" stroke-width="2">`
      + `<title>${escapeHtml(m.title)}</title></circle>`);
  }
  // Legend above the frame, so it never hides a series; the worst cases are labelled there
  // too (a label beside its dot lies across the lines that climb to it). Rows wrap.
  let legendX = M.left;
  let legendY = 16;
  const legend = (label: string, key: string, cls = ''): void => {
    const width = 40 + 7 * label.length;
    if (legendX > M.left && legendX + width > W - M.right) {
      legendX = M.left;
      legendY += 14;
    }
    parts.push(key, `<text${cls ? ` class="${cls}"` : ''} x="${legendX + 20}" y="${legendY}">${escapeHtml(label)}</text>`);
    legendX += width;
  };
  for (const s of series) {
    const label = markWorst && s.worst ? `${s.name} worst ${formatY(s.worst.y)}` : s.name;
    legend(label, `<rect x="${legendX}" y="${legendY - 6}" width="14" height="4" fill="${s.colour}"/>`, markWorst && s.worst ? 'worst-label' : '');
  }
  for (const line of hLines) {
    legend(line.label, `<line x1="${legendX}" x2="${legendX + 14}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${line.colour}" stroke-width="1.5" stroke-dasharray="4 2"/>`);
  }
  if (series.every((s) => s.points.length === 0)) {
    parts.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">${escapeHtml(empty)}</text>`);
  }
  return `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(title)}">\n${parts.join('\n')}\n</svg>`;
}

/** Decades labelled; over at most two decades 2× and 5× labelled too, over three 2..9× as light lines. */
export function logAxis(lo: number, hi: number, from: number, to: number, title: string, label: (k: number) => string,
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

/** The log µs axis over every point of the series (and `extra` values, µs: a threshold). */
export function latencyAxis(series: PlotSeries[], title = 'round trip (log scale)', extra: number[] = []): Axis {
  const [lo, hi] = decades([...series.flatMap((s) => s.points.map((p) => p.y)), ...extra]);
  return logAxis(lo, hi, H - M.bottom, M.top, title, (k) => formatUsTick(10 ** k), formatUsTick);
}

/** The percentile distribution: x = 1/(1-p), log, at least to 99.999%; y log µs. */
export function percentilePlot(series: PlotSeries[], title = 'RTT percentile distribution', yTitle?: string): string {
  const top = Math.max(5, Math.ceil(Math.log10(Math.max(...series.flatMap((s) => s.points.map((p) => p.x)), 1))));
  const x = logAxis(0, top, M.left, W - M.right, 'percentile (x = 1/(1-p), log scale)', percentileTickLabel);
  return svgPlot(title, x, latencyAxis(series, yTitle), series, { markWorst: true });
}

/** A linear time axis from 0 to endS seconds after t0Ms. */
export function timeAxis(t0Ms: number, endS: number, label = 'send time'): Axis {
  const xMax = Math.max(1, endS);
  return {
    scale: (v) => M.left + (v / xMax) * (W - M.left - M.right),
    ticks: linearTicks(xMax).filter((t) => t <= xMax).map((t) => ({ at: t, label: `${t} s` })),
    title: `${label}, seconds after ${Number.isFinite(t0Ms) ? new Date(t0Ms).toISOString() : 'start'}`,
  };
}

/** A linear axis from 0 to at least `max`, y up. */
export function linearYAxis(max: number, title: string, unit: string): Axis {
  const ticks = linearTicks(max);
  const top = ticks.at(-1) ?? 1;
  return {
    scale: (v) => H - M.bottom - (Math.min(Math.max(v, 0), top) / top) * (H - M.top - M.bottom),
    ticks: ticks.map((t) => ({ at: t, label: `${t}${unit}` })),
    title,
  };
}

/** Max over time: `endS` is where the last span ends, seconds after t0. */
export function maxOverTimePlot(series: PlotSeries[], t0Ms: number, endS: number, options: PlotOptions = {}, title = 'max RTT per second'): string {
  return svgPlot(title, timeAxis(t0Ms, endS), latencyAxis(series), series, { dots: true, ...options });
}

/**
 * The distribution of one histogram for percentilePlot: points every 1/10 decade of 1/(1-p)
 * up to the number of samples, then the worst at x = count. `valueAt(p)` answers in ns for p in
 * percent; values above the exact max (a bucket's upper edge) are cut to it.
 */
export function distributionSeries(name: string, colour: string, count: number, maxNs: number | null,
  valueAt: (percent: number) => number): PlotSeries {
  if (count === 0 || maxNs === null) return { name, colour, points: [], worst: null };
  const points: PlotPoint[] = [];
  for (let step = 0; 10 ** (step / 10) < count && step <= 120; step++) {
    const x = 10 ** (step / 10);
    const p = step === 0 ? 0 : 1 - 1 / x;
    points.push({ x, y: Math.min(valueAt(p * 100), maxNs) / 1e3 });
  }
  const worst = { x: Math.max(count, points.at(-1)?.x ?? 1), y: maxNs / 1e3 };
  return { name, colour, points: [...points, worst], worst };
}

const CLOCK_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

/** A time axis from t0Ms to t1Ms labelled with UTC wall-clock times at round steps (a soak of hours). */
export function clockAxis(t0Ms: number, t1Ms: number, title = 'UTC time'): Axis {
  const spanS = Math.max(1, (t1Ms - t0Ms) / 1000);
  const stepS = CLOCK_STEPS_S.find((step) => spanS / step <= 8) ?? 86400;
  const ticks: { at: number; label: string }[] = [];
  const first = Math.ceil(t0Ms / (stepS * 1000)) * stepS * 1000;
  for (let at = first; at <= t0Ms + spanS * 1000; at += stepS * 1000) {
    const iso = new Date(at).toISOString();
    ticks.push({ at, label: stepS < 60 ? iso.slice(11, 19) : iso.slice(11, 16) });
  }
  return {
    scale: (v) => M.left + ((v - t0Ms) / (spanS * 1000)) * (W - M.left - M.right),
    ticks,
    title: `${title} (${new Date(t0Ms).toISOString().slice(0, 10)})`,
  };
}
