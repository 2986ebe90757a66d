import { LatencyHistogram } from '../shared/histogram/latency-histogram.js';
import { formatNs, roundedMs } from '../shared/report/format-ns.js';
import { countReject, totalRejects, type RejectCounts, type RejectReason } from '../shared/wire/reject-reason.js';
import type { AgentSocketHealth } from '../shared/messages/agent-messages.js';
import type { AgentRecorder, ArrivedProbe } from './agent-recorder.js';

/**
 * What the agent knows, fed by either reflector: counters for its exit summary and the
 * recorder's interval histograms. Turnaround is T3 − T2 with the truest T3 available: the
 * kernel's send stamp where the native reflector has one, else the T3 written into the reply.
 */
export class AgentCore {
  received = 0;
  reflected = 0;
  /** sessions whose controller ended them with a session-end */
  sessionsEnded = 0;
  /** probes the kernel dropped at the native reflector's socket, its receive buffer full (SO_RXQ_OVFL): never read, never answered */
  receiveBufferDrops = 0;
  /** ns the native reflector's thread paused, its JavaScript holding its memory bound of event batches (nothing answered meanwhile) */
  backlogPausedNs = 0;
  /** the native reflector counts both; the user-space one knows neither */
  socketCounted = false;
  readonly rejects: RejectCounts = {};
  readonly turnaround = new LatencyHistogram();

  constructor(private readonly recorder: AgentRecorder) {}

  /**
   * A reflected probe. t3Ns: its final send stamp (user reflector), or null when the kernel's
   * stamp comes later with replySent (native reflector, which pairs it with T2 itself).
   */
  reflectedProbe(probe: ArrivedProbe, t3Ns: bigint | null): void {
    this.received++;
    this.reflected++;
    this.recorder.probe(probe);
    if (t3Ns !== null) this.recordTurnaround(probe.session, Number(t3Ns - probe.t2Ns));
  }

  /** The kernel's send stamp of a reply and the T2 of the probe it answered (native reflector). */
  replySent(session: number, txNs: bigint, t2Ns: bigint): void {
    this.recordTurnaround(session, Number(txNs - t2Ns));
  }

  /** `count` datagrams rejected for one reason (the native thread coalesces a flood). */
  rejected(reason: RejectReason, count = 1): void {
    this.received += count;
    countReject(this.rejects, reason, count);
    this.recorder.reject(reason, count);
  }

  /** A controller's session-end freed its session's place. */
  sessionEnded(count = 1): void {
    this.received += count;
    this.sessionsEnded += count;
  }

  /** `count` replies could not be sent, or reads from the socket failed. */
  failed(reason: 'send-failed' | 'recv-failed', count = 1): void {
    countReject(this.rejects, reason, count);
    this.recorder.reject(reason, count);
  }

  /** The reflector socket's own losses so far, for the stream's intervals; null when not known. */
  socketHealth(): AgentSocketHealth | null {
    if (!this.socketCounted) return null;
    return { receive_buffer_drops: this.receiveBufferDrops, backlog_paused_ms: roundedMs(this.backlogPausedNs) };
  }

  format(turnaroundClock: string): string {
    const t = this.turnaround.summary();
    const rejects = Object.entries(this.rejects).map(([reason, n]) => `${reason} ${n}`).join(', ') || 'none';
    return [
      `rtprobe agent: received ${this.received}, reflected ${this.reflected}, rejected ${totalRejects(this.rejects)} (${rejects}), ` +
        `sessions ended by their controller ${this.sessionsEnded}` +
        (this.receiveBufferDrops > 0 ? `, dropped unread by its full receive buffer ${this.receiveBufferDrops} (this machine's loss, not the path's)` : '') +
        (this.backlogPausedNs > 0 ? `, paused ${(this.backlogPausedNs / 1e9).toFixed(1)} s in all while its JavaScript held its memory bound of event batches (nothing answered meanwhile)` : ''),
      `turnaround (${turnaroundClock}): min ${formatNs(t.min)} p50 ${formatNs(t.p50)} p99 ${formatNs(t.p99)} ` +
        `p99.9 ${formatNs(t.p99_9)} max ${formatNs(t.max)}`,
    ].join('\n');
  }

  private recordTurnaround(session: number, turnaroundNs: number): void {
    this.turnaround.record(turnaroundNs);
    this.recorder.turnaround(session, turnaroundNs);
  }
}
