import type { StampSource } from '../../shared/transport/probe-transport.js';
import type { LatencySummary } from '../../shared/histogram/latency-histogram.js';
import type { TargetStats } from '../recording/target-stats.js';

/** What the live dashboard shows of one target, once a second. */
export interface LiveTarget {
  name: string;
  address: string;
  mode: 'udp' | 'icmp';
  stamps: StampSource;
  sent: number;
  received: number;
  lost: number;
  late: number;
  rtt_ns: LatencySummary;
  interval_max_ns: number | null;
  max_over_time: { t: number; max_ns: number }[];
}

export interface LiveSnapshot {
  type: 'snapshot';
  v: 1;
  at: string;
  alerts: number;
  targets: LiveTarget[];
}

/** Pure: the snapshot of the run that the dashboard draws. */
export function buildLiveSnapshot(targets: TargetStats[], stamps: StampSource, alerts: number, nowMs: number): LiveSnapshot {
  return {
    type: 'snapshot', v: 1, at: new Date(nowMs).toISOString(), alerts,
    targets: targets.map((stats) => ({
      name: stats.target.name,
      address: stats.target.address,
      mode: stats.target.mode,
      stamps,
      sent: stats.matcher.sent,
      received: stats.matcher.received,
      lost: stats.matcher.lost,
      late: stats.matcher.late,
      rtt_ns: stats.rtt.summary(),
      interval_max_ns: stats.interval.histograms.rtt.count === 0 ? null : stats.interval.histograms.rtt.maxNs,
      max_over_time: stats.maxOverTime.points.slice(-600).map((p) => ({ t: p.startMs, max_ns: p.maxNs })),
    })),
  };
}
