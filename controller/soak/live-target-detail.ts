import { formatNs, formatPercent } from '../../shared/report/format-ns.js';
import type { LatencyHistogram } from '../../shared/histogram/latency-histogram.js';
import {
  clockAxis, distributionSeries, latencyAxis, linearYAxis, percentilePlot, PLOT_COLOURS, svgPlot,
  type PlotMarker, type PlotPoint, type PlotSeries,
} from '../report/svg-plots.js';
import type { TargetStats } from '../recording/target-stats.js';
import type { EnvelopeBucket } from './interval-envelope.js';
import type { SoakTimeline } from './soak-timeline.js';
import type { AlertEvent, AlertThresholds } from './alerts.js';

type AlertKind = AlertEvent['kind'];

/** The charts and tables of one target, drawn on the server as inline SVG (the same plots as the HTML reports). */
export interface LiveTargetDetail {
  type: 'target';
  name: string;
  at: string;
  /** intervals per point of the time charts (1, then 2, 4, … as the soak grows) */
  intervals_per_point: number;
  points: number;
  charts: { max_over_time: string; distribution: string; loss: string };
  /** rows: label, then the values of each column of `breakdown_columns` */
  breakdown_columns: string[];
  breakdown: [string, ...string[]][];
  /** the agent's own stream (--agent-ws): label, value */
  agent: [string, string][] | null;
}

const COLOUR = PLOT_COLOURS[0];
const ALERT_COLOUR = '#e00000';
const THRESHOLD_COLOUR = '#e07000';

const midMs = (b: EnvelopeBucket): number => (b.startMs + b.endMs) / 2;
const hhmmss = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

/** Points of the bucket series, the line cut after a bucket without a value. */
function bucketPoints(buckets: readonly EnvelopeBucket[], value: (b: EnvelopeBucket) => number | null): PlotPoint[] {
  const points: PlotPoint[] = [];
  let cut = false;
  for (const b of buckets) {
    const y = value(b);
    if (y === null) { cut = true; continue; }
    points.push({ x: midMs(b), y, ...(cut && points.length > 0 ? { breakBefore: true } : {}) });
    cut = false;
  }
  return points;
}

/** A red ring on each point whose intervals fired alerts of this kind, on the chart of what they measure. */
function alertMarkers(buckets: readonly EnvelopeBucket[], kind: AlertKind, y: (b: EnvelopeBucket) => number): PlotMarker[] {
  return buckets.flatMap((b) => {
    const n = b.alerts[kind] ?? 0;
    return n === 0 ? [] : [{ x: midMs(b), y: y(b), cls: 'alert-marker', colour: ALERT_COLOUR,
      title: `${n} ${kind} alert${n === 1 ? '' : 's'} ${hhmmss(b.startMs)}..${hhmmss(b.endMs)} UTC` }];
  });
}

const worstOf = (points: PlotPoint[]): PlotPoint | null => points.reduce<PlotPoint | null>((top, p) => (top === null || p.y > top.y ? p : top), null);

function maxOverTimeChart(name: string, buckets: readonly EnvelopeBucket[], perBucket: number, thresholds: AlertThresholds,
  startedMs: number, nowMs: number, intervalS: number): string {
  const points = bucketPoints(buckets, (b) => (b.maxNs === null ? null : b.maxNs / 1e3));
  const series: PlotSeries[] = [{ name: `${name} max RTT per ${perBucket === 1 ? `${intervalS} s interval` : `${perBucket * intervalS} s`}`, colour: COLOUR, points, worst: worstOf(points) }];
  const thresholdUs = thresholds.maxRttNs === null ? null : thresholds.maxRttNs / 1e3;
  const bands = perBucket === 1 ? [] : [{
    colour: COLOUR,
    points: buckets.flatMap((b) => (b.maxNs === null || b.lowMaxNs === null ? [] : [{ x: midMs(b), lo: b.lowMaxNs / 1e3, hi: b.maxNs / 1e3 }])),
  }];
  const markers = alertMarkers(buckets, 'max-rtt', (b) => (b.maxNs !== null ? b.maxNs / 1e3 : thresholdUs ?? 1));
  return svgPlot('max RTT over time', clockAxis(startedMs, Math.max(nowMs, startedMs + 60_000)),
    latencyAxis(series, 'max RTT per interval (log scale)', thresholdUs === null ? [] : [thresholdUs]), series, {
      dots: points.length <= 120, markers, bands, empty: 'no interval closed yet',
      hLines: thresholdUs === null ? [] : [{ y: thresholdUs, colour: THRESHOLD_COLOUR, label: `--alert-max ${formatNs(thresholds.maxRttNs)}`, cls: 'threshold' }],
    });
}

function lossChart(buckets: readonly EnvelopeBucket[], perBucket: number, thresholds: AlertThresholds, startedMs: number, nowMs: number): string {
  const lossPct = (b: EnvelopeBucket): number | null => (b.worstLossRatio === null ? null : 100 * b.worstLossRatio);
  const points = bucketPoints(buckets, lossPct);
  const name = perBucket === 1 ? 'lost / sent per interval' : `worst interval's lost / sent of every ${perBucket}`;
  const series: PlotSeries[] = [{ name, colour: COLOUR, points, worst: worstOf(points) }];
  const thresholdPct = thresholds.lossRatio === null ? null : thresholds.lossRatio * 100;
  const top = Math.max(0, thresholdPct ?? 0, ...points.map((p) => p.y));
  return svgPlot('loss over time', clockAxis(startedMs, Math.max(nowMs, startedMs + 60_000)), linearYAxis(top, 'loss (lost / sent)', '%'), series, {
    dots: points.length <= 120, empty: 'no interval closed yet', formatY: (y) => `${Number(y.toPrecision(3))}%`,
    markers: alertMarkers(buckets, 'loss', (b) => lossPct(b) ?? 0),
    hLines: thresholdPct === null ? [] : [{ y: thresholdPct, colour: THRESHOLD_COLOUR, label: `--alert-loss ${formatPercent(thresholds.lossRatio ?? 0)}`, cls: 'threshold' }],
  });
}

function distributionChart(name: string, rtt: LatencyHistogram): string {
  const series = distributionSeries(name, COLOUR, rtt.count, rtt.count === 0 ? null : rtt.maxNs, (p) => rtt.histogram.getValueAtPercentile(p));
  return percentilePlot([series], 'RTT percentile distribution (whole soak)');
}

const BREAKDOWN_ROWS: [string, number][] = [['p50', 50], ['p99', 99], ['p99.9', 99.9], ['max', 100]];

/** RTT split into the agent's turnaround (T3 − T2) and the rest (network and both stacks). */
function breakdown(stats: TargetStats): { columns: string[]; rows: [string, ...string[]][] } {
  const columns = ['RTT', 'agent turnaround', 'network'];
  const histograms = [stats.rtt, stats.turnaround, stats.network];
  const value = (h: LatencyHistogram, p: number): string => {
    if (h.count === 0) return '-';
    return formatNs(p === 100 ? h.maxNs : Math.min(h.histogram.getValueAtPercentile(p), h.maxNs));
  };
  return { columns, rows: BREAKDOWN_ROWS.map(([label, p]): [string, ...string[]] => [label, ...histograms.map((h) => value(h, p))]) };
}

function agentFacts(stats: TargetStats): [string, string][] | null {
  if (!stats.agent) return null;
  const a = stats.agent.report();
  const rows: [string, string][] = [
    ['stream', a.url],
    ['intervals received', String(a.intervals)],
    ['probes the agent received', String(a.received)],
    ['not at the agent (sent − received there; its last interval lags)', String(Math.max(0, stats.matcher.sent - a.received))],
    ['gaps / reordered / duplicates at the agent', `${a.gaps} / ${a.reordered} / ${a.duplicates}`],
    ['agent turnaround p99 / max', `${formatNs(a.turnaround_ns.p99)} / ${formatNs(a.turnaround_ns.max)}`],
    ['inter-packet delay variation p99 / max', `${formatNs(a.ipdv_ns.p99)} / ${formatNs(a.ipdv_ns.max)}`],
    ['reconnects / restarts / dropped by agent', `${a.reconnects} / ${a.restarts} / ${a.dropped_by_agent}`],
  ];
  if (a.owd_ns) rows.push(['forward one-way delay p99 / max', `${formatNs(a.owd_ns.p99)} / ${formatNs(a.owd_ns.max)} (${a.owd_ns.clock_sync})`]);
  return rows;
}

/** Pure given the stats: the charts and tables of one target, bounded in size whatever the soak's length. */
export function buildTargetDetail(stats: TargetStats, timeline: SoakTimeline, thresholds: AlertThresholds,
  startedMs: number, intervalS: number, nowMs: number): LiveTargetDetail {
  const name = stats.target.name;
  const envelope = timeline.envelope(name);
  const buckets = envelope?.buckets ?? [];
  const perBucket = envelope?.intervalsPerBucket ?? 1;
  const split = breakdown(stats);
  return {
    type: 'target', name, at: new Date(nowMs).toISOString(), intervals_per_point: perBucket, points: buckets.length,
    charts: {
      max_over_time: maxOverTimeChart(name, buckets, perBucket, thresholds, startedMs, nowMs, intervalS),
      distribution: distributionChart(name, stats.rtt),
      loss: lossChart(buckets, perBucket, thresholds, startedMs, nowMs),
    },
    breakdown_columns: split.columns,
    breakdown: split.rows,
    agent: agentFacts(stats),
  };
}
