import { LatencyHistogram } from '../shared/histogram/latency-histogram.js';
import { formatNs } from '../shared/report/format-ns.js';
import { countReject, totalRejects, type RejectCounts, type RejectReason } from '../shared/wire/reject-reason.js';
import type { AgentRecorder, ArrivedProbe } from './agent-recorder.js';

// Replies whose true send stamp is still to come from the error queue, to pair with their T2.
const PENDING_TX_LIMIT = 4096;

/**
 * What the agent knows, fed by either reflector: counters for its exit summary and the
 * recorder's interval histograms. Turnaround is T3 − T2 with the truest T3 available: the
 * kernel's send stamp where the native reflector has one, else the T3 written into the reply.
 */
export class AgentCore {
  received = 0;
  reflected = 0;
  readonly rejects: RejectCounts = {};
  readonly turnaround = new LatencyHistogram();
  private readonly pendingTx = new Map<string, bigint>();

  constructor(private readonly recorder: AgentRecorder) {}

  /** A reflected probe; pass t3Ns when it is the final send stamp (user reflector). */
  reflectedProbe(probe: ArrivedProbe, t3Ns: bigint | null): void {
    this.received++;
    this.reflected++;
    this.recorder.probe(probe);
    if (t3Ns !== null) {
      this.recordTurnaround(probe.session, Number(t3Ns - probe.t2Ns));
      return;
    }
    if (this.pendingTx.size >= PENDING_TX_LIMIT) {
      const oldest = this.pendingTx.keys().next().value;
      if (oldest !== undefined) this.pendingTx.delete(oldest);
    }
    this.pendingTx.set(`${probe.session}:${probe.seq}`, probe.t2Ns);
  }

  /** The kernel's send stamp of a reply (native reflector). */
  replySent(session: number, seq: bigint, txNs: bigint): void {
    const key = `${session}:${seq}`;
    const t2Ns = this.pendingTx.get(key);
    if (t2Ns === undefined) return;
    this.pendingTx.delete(key);
    this.recordTurnaround(session, Number(txNs - t2Ns));
  }

  /** `count` datagrams rejected for one reason (the native thread coalesces a flood). */
  rejected(reason: RejectReason, count = 1): void {
    this.received += count;
    countReject(this.rejects, reason, count);
    this.recorder.reject(reason, count);
  }

  /** `count` replies could not be sent, or reads from the socket failed. */
  failed(reason: 'send-failed' | 'recv-failed', count = 1): void {
    countReject(this.rejects, reason, count);
    this.recorder.reject(reason, count);
  }

  format(turnaroundClock: string): string {
    const t = this.turnaround.summary();
    const rejects = Object.entries(this.rejects).map(([reason, n]) => `${reason} ${n}`).join(', ') || 'none';
    return [
      `rtprobe agent: received ${this.received}, reflected ${this.reflected}, rejected ${totalRejects(this.rejects)} (${rejects})`,
      `turnaround (${turnaroundClock}): min ${formatNs(t.min)} p50 ${formatNs(t.p50)} p99 ${formatNs(t.p99)} ` +
        `p99.9 ${formatNs(t.p99_9)} max ${formatNs(t.max)}`,
    ].join('\n');
  }

  private recordTurnaround(session: number, turnaroundNs: number): void {
    this.turnaround.record(turnaroundNs);
    this.recorder.turnaround(session, turnaroundNs);
  }
}
