import type { StampSource } from '../../shared/transport/probe-transport.js';
import type { LatencySummary } from '../../shared/histogram/latency-histogram.js';
import type { TargetStats } from '../recording/target-stats.js';
import type { AlertEntry, SoakTimeline } from './soak-timeline.js';

/** One row of the dashboard's summary table, once a second. */
export interface LiveTarget {
  name: string;
  address: string;
  mode: 'udp' | 'icmp';
  stamps: StampSource;
  sent: number;
  received: number;
  lost: number;
  late: number;
  loss_ratio: number;
  rtt_ns: LatencySummary;
  /** the max RTT of the interval in progress */
  interval_max_ns: number | null;
  alerts: number;
}

/** What does not change during a soak: when it started and how it was set up. */
export interface SoakFacts {
  startedMs: number;
  /** label and value, in the order people read them */
  settings: [string, string][];
}

export interface LiveSnapshot {
  type: 'snapshot';
  v: 2;
  at: string;
  started: string;
  duration_s: number;
  settings: [string, string][];
  alerts: { total: number; by_kind: Record<string, number>; recent: AlertEntry[] };
  /** worst max first: the target to look at tops the table */
  targets: LiveTarget[];
}

/** How many of the newest alerts each snapshot lists. */
const LISTED_ALERTS = 50;

/** Pure: the snapshot the dashboard's table, facts and alert list are drawn from; O(targets), never O(time). */
export function buildLiveSnapshot(targets: TargetStats[], stamps: StampSource, timeline: SoakTimeline, facts: SoakFacts, nowMs: number): LiveSnapshot {
  const rows = targets.map((stats): LiveTarget => {
    const m = stats.matcher;
    return {
      name: stats.target.name,
      address: stats.target.address,
      mode: stats.target.mode,
      stamps,
      sent: m.sent,
      received: m.received,
      lost: m.lost,
      late: m.late,
      loss_ratio: m.sent === 0 ? 0 : m.lost / m.sent,
      rtt_ns: stats.rtt.summary(),
      interval_max_ns: stats.interval.histograms.rtt.count === 0 ? null : stats.interval.histograms.rtt.maxNs,
      alerts: timeline.alertsOf(stats.target.name),
    };
  });
  rows.sort((a, b) => (b.rtt_ns.max ?? -1) - (a.rtt_ns.max ?? -1) || a.name.localeCompare(b.name));
  return {
    type: 'snapshot', v: 2, at: new Date(nowMs).toISOString(), started: new Date(facts.startedMs).toISOString(),
    duration_s: Math.max(0, Math.round((nowMs - facts.startedMs) / 1000)), settings: facts.settings,
    alerts: {
      total: Object.values(timeline.alertsByKind).reduce((n, k) => n + k, 0),
      by_kind: { ...timeline.alertsByKind },
      recent: timeline.recentAlerts.slice(-LISTED_ALERTS).reverse(),
    },
    targets: rows,
  };
}
