import { LatencyHistogram } from '../shared/histogram/latency-histogram.js';
import { formatNs } from '../shared/report/format-ns.js';
import { totalRejects, type RejectCounts } from '../shared/wire/reject-reason.js';

/** What the agent saw since it started; printed when it ends. */
export class AgentCounters {
  received = 0;
  reflected = 0;
  readonly rejects: RejectCounts = {};
  /** T3 − T2 of every reflected probe */
  readonly turnaround = new LatencyHistogram();

  format(turnaroundClock: string): string {
    const t = this.turnaround.summary();
    const rejects = Object.entries(this.rejects).map(([reason, n]) => `${reason} ${n}`).join(', ') || 'none';
    return [
      `rtprobe agent: received ${this.received}, reflected ${this.reflected}, rejected ${totalRejects(this.rejects)} (${rejects})`,
      `turnaround (${turnaroundClock}): min ${formatNs(t.min)} p50 ${formatNs(t.p50)} p99 ${formatNs(t.p99)} ` +
        `p99.9 ${formatNs(t.p99_9)} max ${formatNs(t.max)}`,
    ].join('\n');
  }
}
