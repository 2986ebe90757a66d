import type { LatencyHistogram } from '../../shared/histogram/latency-histogram.js';
import { RTPROBE_VERSION } from '../../shared/cli/build-info.js';
import type { TargetStats } from '../recording/target-stats.js';
import type { SocketHealth } from '../../shared/transport/probe-transport.js';

/**
 * Bucket bounds in seconds for round trips of real-time networks: 10 µs .. 10 s, 1-2-5 steps.
 * (prom-client's defaults start at 5 ms, useless here.)
 */
export const RTT_BUCKETS_S = [
  10e-6, 20e-6, 50e-6, 100e-6, 200e-6, 500e-6, 1e-3, 2e-3, 5e-3, 10e-3, 20e-3, 50e-3, 100e-3,
  200e-3, 500e-3, 1, 2, 5, 10,
] as const;

/** The guest timer's bounds: a good RT guest wakes within a few µs, so three finer steps first. */
export const TIMER_BUCKETS_S = [1e-6, 2e-6, 5e-6, ...RTT_BUCKETS_S] as const;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatNumber(value: number): string {
  return Number.isFinite(value) ? String(value) : value > 0 ? '+Inf' : '-Inf';
}

/** What the soak adds beside the targets' own figures. */
export interface SoakMetrics {
  /** alerts fired so far per kind (max-rtt, loss), every kind present */
  alertsByKind: Record<string, number>;
  /** each native probe socket's self-report so far (none with the user-space sender) */
  sockets?: SocketReading[];
}

/** One native probe socket and what this machine did to its measurement so far. */
export type SocketReading = { protocol: 'udp' | 'icmp'; family: 4 | 6 } & SocketHealth;

/**
 * The Prometheus text exposition (format 0.0.4): the build, every target's RTT as a histogram
 * in seconds (cumulative bucket counts read off the HDR histogram), counters for the probe
 * outcomes and the alerts, and the interval max as a gauge. Pure: the caller serves it.
 */
export function formatPrometheusMetrics(targets: TargetStats[], soak: SoakMetrics = { alertsByKind: {} }): string {
  const lines: string[] = [];
  const family = (name: string, type: string, help: string): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };
  const labels = (stats: TargetStats): string =>
    `target="${escapeLabel(stats.target.name)}",address="${escapeLabel(stats.target.address)}",mode="${stats.target.mode}"`;

  family('rtprobe_build_info', 'gauge', 'Always 1; the labels say which rtprobe and Node.js serve these metrics.');
  lines.push(`rtprobe_build_info{version="${escapeLabel(RTPROBE_VERSION)}",node="${escapeLabel(process.version)}"} 1`);
  const histogram = (name: string, stats: TargetStats, h: LatencyHistogram, bounds: readonly number[] = RTT_BUCKETS_S): void => {
    const cumulative = cumulativeCounts(h, bounds.map((bound) => bound * 1e9));
    bounds.forEach((bound, i) => {
      lines.push(`${name}_bucket{${labels(stats)},le="${bound}"} ${cumulative[i] ?? 0}`);
    });
    lines.push(`${name}_bucket{${labels(stats)},le="+Inf"} ${h.count}`);
    lines.push(`${name}_sum{${labels(stats)}} ${formatNumber(h.sumNs / 1e9)}`);
    lines.push(`${name}_count{${labels(stats)}} ${h.count}`);
  };

  family('rtprobe_rtt_seconds', 'histogram', 'Round-trip time of each answered probe.');
  for (const stats of targets) histogram('rtprobe_rtt_seconds', stats, stats.rtt);
  const timed = targets.filter((stats) => stats.agent?.timerRuns);
  if (timed.length > 0) {
    family('rtprobe_guest_timer_latency_seconds', 'histogram',
      'Wake-up latency of the guest timer (agent --timer-latency, CLOCK_MONOTONIC), from the agent stream.');
    for (const stats of timed) if (stats.agent) histogram('rtprobe_guest_timer_latency_seconds', stats, stats.agent.histograms.timer, TIMER_BUCKETS_S);
  }
  const counters: [string, string, (s: TargetStats) => number][] = [
    ['rtprobe_probes_sent_total', 'Probes sent.', (s) => s.matcher.sent],
    ['rtprobe_probes_received_total', 'Probes answered (late ones included).', (s) => s.matcher.received],
    ['rtprobe_probes_lost_total', 'Probes without a reply within --loss-after.', (s) => s.matcher.lost],
    ['rtprobe_probes_late_total', 'Replies later than --timeout.', (s) => s.matcher.late],
    ['rtprobe_replies_duplicate_total', 'Extra replies to an answered probe.', (s) => s.matcher.duplicates],
    ['rtprobe_replies_reordered_total', 'Replies older than one already received.', (s) => s.matcher.reordered],
    ['rtprobe_send_slots_missed_total', 'Schedule slots skipped because the sender woke a period late.', (s) => s.missedSendSlots],
  ];
  for (const [name, help, read] of counters) {
    family(name, 'counter', help);
    for (const stats of targets) lines.push(`${name}{${labels(stats)}} ${read(stats)}`);
  }
  family('rtprobe_alerts_total', 'counter', 'Soak alerts fired (--alert-max: kind max-rtt, --alert-loss: kind loss).');
  for (const [kind, count] of Object.entries(soak.alertsByKind)) lines.push(`rtprobe_alerts_total{kind="${escapeLabel(kind)}"} ${count}`);
  // The rig on itself: a soak that drops replies at its own socket, or whose JavaScript falls
  // behind its thread (memory grows), should be seen on the same dashboard as the RTTs.
  const sockets = soak.sockets ?? [];
  const socketLabels = (s: SocketReading): string => `protocol="${s.protocol}",family="${s.family}"`;
  family('rtprobe_receive_buffer_drops_total', 'counter',
    'Replies the kernel dropped at a probe socket because its receive buffer was full (SO_RXQ_OVFL): counted as lost, but this machine\'s loss, not the path\'s.');
  for (const s of sockets) lines.push(`rtprobe_receive_buffer_drops_total{${socketLabels(s)}} ${s.receive_buffer_drops}`);
  family('rtprobe_delivery_lag_max_seconds', 'gauge',
    'Longest a batch of a probe socket\'s events waited for JavaScript after its thread handed it over: seconds mean JavaScript is behind and memory grows.');
  for (const s of sockets) lines.push(`rtprobe_delivery_lag_max_seconds{${socketLabels(s)}} ${formatNumber(Number((s.max_delivery_lag_ms / 1000).toFixed(5)))}`);
  family('rtprobe_backlog_paused_seconds_total', 'counter',
    'Time a probe socket\'s thread paused because JavaScript held its memory bound of event batches: slots due then were missed, not sent.');
  for (const s of sockets) lines.push(`rtprobe_backlog_paused_seconds_total{${socketLabels(s)}} ${formatNumber(Number((s.backlog_paused_ms / 1000).toFixed(5)))}`);
  family('rtprobe_interval_rtt_max_seconds', 'gauge',
    'Largest RTT of the last completed interval and the current one so far (NaN when none): a spike stays for at least one whole interval.');
  for (const stats of targets) {
    const maxNs = intervalMaxNs(stats);
    lines.push(`rtprobe_interval_rtt_max_seconds{${labels(stats)}} ${maxNs === null ? 'NaN' : formatNumber(maxNs / 1e9)}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The gauge keeps the last completed interval's max until the next one closes, raised by the
 * current interval's: a scrape right after an interval closed still sees its spike, so any
 * scrape period up to the soak's --interval misses none.
 */
function intervalMaxNs(stats: TargetStats): number | null {
  const current = stats.interval.histograms.rtt;
  const now = current.count === 0 ? null : current.maxNs;
  const last = stats.interval.lastClosedRttMaxNs;
  if (now === null) return last;
  return last === null ? now : Math.max(now, last);
}

/** The parts of hdr-histogram-js's JsHistogram used to read counts by value. */
interface CountsByIndex {
  countsArrayLength: number;
  countsArrayIndex(value: number): number;
  getCountAtIndex(index: number): number;
}

/**
 * Counts recorded at or below each bound (ascending), in one pass over the HDR counts. A bound
 * inside a bucket counts the whole bucket: exact to the histogram's 3 significant digits.
 */
function cumulativeCounts(histogram: LatencyHistogram, boundsNs: number[]): number[] {
  const h = histogram.histogram as unknown as CountsByIndex;
  const out: number[] = [];
  let sum = 0;
  let index = 0;
  for (const bound of boundsNs) {
    const last = Math.min(h.countsArrayIndex(bound), h.countsArrayLength - 1);
    for (; index <= last; index++) sum += h.getCountAtIndex(index);
    out.push(sum);
  }
  return out;
}
