import { decodeProbe } from '../shared/wire/probe-codec.js';
import { countReject } from '../shared/wire/reject-reason.js';
import type { RxEvent, TransportEvent } from '../shared/transport/probe-transport.js';
import { wallMsOfMono } from '../shared/time/clock.js';
import type { TargetStats } from './target-stats.js';

/**
 * The controller's core: applies transport events to the per-target statistics. No I/O and
 * no clock reads of its own — the transport stamped everything — so it is tested with
 * synthetic events. Event target numbers index `targets`.
 */
export class RunState {
  private readonly bySession = new Map<number, TargetStats>();
  /** datagrams not attributable to any target (bad magic, unknown session, ...) */
  readonly strayRejects: TargetStats['rejects'] = {};
  doneTransports = 0;

  constructor(readonly targets: TargetStats[]) {
    for (const target of targets) this.bySession.set(target.session, target);
  }

  apply(events: TransportEvent[]): void {
    for (const event of events) {
      switch (event.kind) {
        case 'sent': {
          const stats = this.targets[event.target];
          if (!stats) break;
          stats.recordRoundTrips(stats.matcher.onSent(event.seq, event.sentMonoNs, wallMsOfMono(event.sentMonoNs)));
          stats.sendError.record(Number(event.sentMonoNs - event.dueMonoNs));
          break;
        }
        case 'tx': {
          const stats = this.targets[event.target];
          const completed = stats?.matcher.onTxStamp(event.seq, event.txNs);
          if (stats && completed) stats.recordRoundTrip(completed);
          break;
        }
        case 'missed': {
          const stats = this.targets[event.target];
          if (stats) stats.missedSendSlots++;
          break;
        }
        case 'rx':
          this.applyReply(event);
          break;
        case 'done':
          this.doneTransports++;
          break;
      }
    }
  }

  /** Resolves lost probes; call periodically with the current monotonic time. */
  expire(nowMonoNs: bigint): void {
    for (const stats of this.targets) stats.recordRoundTrips(stats.matcher.expire(nowMonoNs));
  }

  finish(): void {
    for (const stats of this.targets) stats.recordRoundTrips(stats.matcher.finish());
  }

  private applyReply(event: RxEvent): void {
    const decoded = decodeProbe(event.data);
    if (!decoded.ok) {
      countReject(this.strayRejects, decoded.reason);
      return;
    }
    const reply = decoded.packet;
    const stats = this.bySession.get(reply.session);
    if (!stats) {
      countReject(this.strayRejects, 'unknown-session');
      return;
    }
    if (reply.type !== 'reply') {
      countReject(stats.rejects, 'bad-type');
      return;
    }
    if (!sameAddress(event.address, stats.target.address) || event.port !== stats.target.port) {
      countReject(stats.rejects, 'wrong-source');
      return;
    }
    const stamped = reply.t2Source !== 'none' && reply.t3Source !== 'none';
    const turnaroundNs = stamped ? Number(reply.t3Ns - reply.t2Ns) : null;
    const outcome = stats.matcher.onReply(reply.seq, event.rxNs, event.rxMonoNs, turnaroundNs);
    if (outcome.kind === 'duplicate') return;
    if (outcome.kind !== 'accepted') {
      countReject(stats.rejects, outcome.kind);
      return;
    }
    stats.agentStamps = { t2: reply.t2Source, t3: reply.t3Source };
    if (turnaroundNs !== null) stats.turnaround.record(turnaroundNs);
    if (outcome.completed) stats.recordRoundTrip(outcome.completed);
  }
}

/** Compares addresses, seeing through IPv4-mapped IPv6 ("::ffff:127.0.0.1"). */
function sameAddress(a: string, b: string): boolean {
  const unmap = (address: string) => (address.startsWith('::ffff:') ? address.slice(7) : address);
  return unmap(a).toLowerCase() === unmap(b).toLowerCase();
}
