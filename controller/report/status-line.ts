import { formatNs } from '../../shared/report/format-ns.js';
import type { TargetStats } from '../recording/target-stats.js';

/** One line per second while a run goes on: counts and the tail so far, per target. */
export function formatStatusLine(elapsedS: number, targets: TargetStats[]): string {
  const parts = targets.map((stats) => {
    const m = stats.matcher;
    const rtt = stats.rtt.summary();
    return `${stats.target.name}: sent ${m.sent} rcvd ${m.received} lost ${m.lost} ` +
      `last ${formatNs(stats.lastRttNs)} p50 ${formatNs(rtt.p50)} p99 ${formatNs(rtt.p99)} max ${formatNs(rtt.max)}`;
  });
  return `[${elapsedS.toFixed(0).padStart(4)} s] ${parts.join(' | ')}`;
}
