import { LatencyHistogram, type LatencySummary } from '../../shared/histogram/latency-histogram.js';
import type { StampSource } from '../../shared/transport/probe-transport.js';
import { CLOCK_OF_SOURCE } from '../../shared/report/clock-names.js';
import type { TargetStats } from '../recording/target-stats.js';
import type { TargetReport } from './run-report.js';

/**
 * A run's figures over all its targets' probes together (JSON `all_targets`, with two targets
 * or more): what a run of many targets is judged on, as loss and missed slots are ratios of
 * all slots, the round trip and the send error are percentiles of all probes. Each target's
 * own figures stay in `targets`.
 */
export interface AllTargetsReport {
  targets: number;
  sent: number;
  received: number;
  lost: number;
  late: number;
  missed_send_slots: number;
  loss_ratio: number;
  /** missed send slots over all slots (sent + missed) */
  missed_slot_ratio: number;
  timestamps: { rtt_clock: string; send_error: 'user' };
  rtt_ns: LatencySummary;
  send_error_ns: LatencySummary;
  /** the target whose probe had the largest RTT (the first such); null before any reply */
  worst_rtt_target: string | null;
  /** the target whose send error p99 is the largest; null before any send */
  worst_send_error_p99_target: string | null;
}

/**
 * `reports[i]` is the report already built from `stats[i]`: the counts and each target's own
 * max and p99 come from it (not read from the histograms a second time), the merged
 * histograms from the stats.
 */
export function buildAllTargets(reports: readonly TargetReport[], stats: readonly TargetStats[], stampSource: StampSource): AllTargetsReport {
  const rtt = new LatencyHistogram();
  const sendError = new LatencyHistogram();
  for (const t of stats) {
    rtt.add(t.rtt);
    sendError.add(t.sendError);
  }
  const sum = (count: (t: TargetReport) => number): number => reports.reduce((total, t) => total + count(t), 0);
  const sent = sum((t) => t.sent);
  const lost = sum((t) => t.lost);
  const missed = sum((t) => t.missed_send_slots);
  return {
    targets: reports.length,
    sent, received: sum((t) => t.received), lost, late: sum((t) => t.late), missed_send_slots: missed,
    loss_ratio: sent === 0 ? 0 : lost / sent,
    missed_slot_ratio: sent + missed === 0 ? 0 : missed / (sent + missed),
    timestamps: { rtt_clock: CLOCK_OF_SOURCE[stampSource], send_error: 'user' },
    rtt_ns: rtt.summary(),
    send_error_ns: sendError.summary(),
    worst_rtt_target: nameOfLargest(reports, (t) => t.rtt_ns.max),
    worst_send_error_p99_target: nameOfLargest(reports, (t) => t.send_error_ns.p99),
  };
}

/** The first target with the largest value; null when none has one. */
function nameOfLargest(reports: readonly TargetReport[], valueOf: (t: TargetReport) => number | null): string | null {
  let best: TargetReport | null = null;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (const t of reports) {
    const v = valueOf(t);
    if (v !== null && v > bestValue) { best = t; bestValue = v; }
  }
  return best?.name ?? null;
}
