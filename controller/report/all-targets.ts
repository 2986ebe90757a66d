import { LatencyHistogram, type LatencySummary } from '../../shared/histogram/latency-histogram.js';
import type { StampSource } from '../../shared/transport/probe-transport.js';
import { CLOCK_OF_SOURCE } from '../../shared/report/clock-names.js';
import type { TargetStats } from '../recording/target-stats.js';

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

export function buildAllTargets(targets: readonly TargetStats[], stampSource: StampSource): AllTargetsReport {
  const rtt = new LatencyHistogram();
  const sendError = new LatencyHistogram();
  let sent = 0, received = 0, lost = 0, late = 0, missed = 0;
  for (const t of targets) {
    rtt.add(t.rtt);
    sendError.add(t.sendError);
    sent += t.matcher.sent;
    received += t.matcher.received;
    lost += t.matcher.lost;
    late += t.matcher.late;
    missed += t.missedSendSlots;
  }
  return {
    targets: targets.length,
    sent, received, lost, late, missed_send_slots: missed,
    loss_ratio: sent === 0 ? 0 : lost / sent,
    missed_slot_ratio: sent + missed === 0 ? 0 : missed / (sent + missed),
    timestamps: { rtt_clock: CLOCK_OF_SOURCE[stampSource], send_error: 'user' },
    rtt_ns: rtt.summary(),
    send_error_ns: sendError.summary(),
    worst_rtt_target: nameOfLargest(targets, (t) => (t.rtt.count > 0 ? t.rtt.maxNs : null)),
    // as the target's own p99 reads (a bucket's edge, never above its max)
    worst_send_error_p99_target: nameOfLargest(targets, (t) => (t.sendError.count > 0
      ? Math.min(t.sendError.histogram.getValueAtPercentile(99), t.sendError.maxNs) : null)),
  };
}

function nameOfLargest(targets: readonly TargetStats[], valueOf: (t: TargetStats) => number | null): string | null {
  let best: TargetStats | null = null;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (const t of targets) {
    const v = valueOf(t);
    if (v !== null && v > bestValue) { best = t; bestValue = v; }
  }
  return best?.target.name ?? null;
}
