import { formatNs } from '../../shared/report/format-ns.js';
import type { TargetStats } from '../recording/target-stats.js';

/** Up to this many targets the status line shows each; beyond, their totals and the worst. */
export const STATUS_TARGETS_SHOWN = 4;

/** One line per second while a run goes on: counts and the tail so far, per target. */
export function formatStatusLine(elapsedS: number, targets: TargetStats[]): string {
  if (targets.length > STATUS_TARGETS_SHOWN) return formatManyTargetsStatus(elapsedS, targets);
  const parts = targets.map((stats) => {
    const m = stats.matcher;
    const rtt = stats.rtt.summary();
    const unreachable = stats.unreachable > 0 ? ` unreachable ${stats.unreachable}` : '';
    return `${stats.target.name}: sent ${m.sent} rcvd ${m.received} lost ${m.lost}${unreachable} ` +
      `last ${formatNs(stats.lastRttNs)} p50 ${formatNs(rtt.p50)} p99 ${formatNs(rtt.p99)} max ${formatNs(rtt.max)}`;
  });
  return `[${elapsedS.toFixed(0).padStart(4)} s] ${parts.join(' | ')}`;
}

/** Many targets: the totals, and the target with the highest max so far (no percentiles: cheap). */
function formatManyTargetsStatus(elapsedS: number, targets: TargetStats[]): string {
  let sent = 0;
  let received = 0;
  let lost = 0;
  let unreachable = 0;
  let worst: TargetStats | null = null;
  for (const stats of targets) {
    sent += stats.matcher.sent;
    received += stats.matcher.received;
    lost += stats.matcher.lost;
    unreachable += stats.unreachable;
    if (stats.rtt.count > 0 && (worst === null || stats.rtt.maxNs > worst.rtt.maxNs)) worst = stats;
  }
  const worstText = worst ? `; worst max ${formatNs(worst.rtt.maxNs)} (${worst.target.name})` : '';
  const unreachableText = unreachable > 0 ? ` unreachable ${unreachable}` : '';
  return `[${elapsedS.toFixed(0).padStart(4)} s] ${targets.length} targets: sent ${sent} rcvd ${received} lost ${lost}${unreachableText}${worstText}`;
}
