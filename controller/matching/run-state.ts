import { checkAuth } from '../../shared/wire/probe-auth.js';
import { decodeProbe, headerFault, stampSourceOf, turnaroundNsAt, type ProbePacket, type ProbeType, type Refusal } from '../../shared/wire/probe-codec.js';
import { FLAGS_T2_SHIFT, FLAGS_T3_SHIFT, OFFSET_FLAGS, OFFSET_SEQ, OFFSET_SESSION, OFFSET_TYPE, PROBE_TYPE_REPLY } from '../../shared/wire/probe-layout.js';
import {
  authVerdict, decodeEventRecord, fieldAt, hasFoldedTx, RECORD_BYTES, recordDataLength, recordDataOffset, RecordField, RecordKind,
  recordKind, recordPort, recordTarget, recordText, wordDifference, wordNumber,
} from '../../shared/native/event-records.js';
import { cachedDataView } from '../../shared/wire/cached-data-view.js';
import { decodeEchoReply, icmpIdentifier } from '../transport/icmp-codec.js';
import { countReject } from '../../shared/wire/reject-reason.js';
import type { ProbeRecordsEvent, RxEvent, StampSource, TransportEvent } from '../../shared/transport/probe-transport.js';
import { wallMsOfMono, wallMsOfMonoNumber } from '../../shared/time/clock.js';
import type { TargetStats } from '../recording/target-stats.js';
import type { CompletedRoundTrip, ReplyOutcome } from './reply-matcher.js';

/**
 * The controller's core: applies transport events to the per-target statistics. No I/O and
 * no clock reads of its own — the transport stamped everything — so it is tested with
 * synthetic events. Event target numbers index `targets`.
 */
export class RunState {
  private readonly bySession = new Map<number, TargetStats>();
  /** ICMP identifiers of our ICMP sessions: echo replies with others are someone else's ping */
  private readonly icmpIdentifiers = new Set<number>();
  /** datagrams not attributable to any target (bad magic, unknown session, ...) */
  readonly strayRejects: TargetStats['rejects'] = {};
  doneTransports = 0;
  private lastExpireMonoNs = 0n;
  /**
   * Per batching transport ('udp4', ...): every reply that reached its socket before this
   * time has been applied. Loss is judged no later than the oldest of them: a reply that came
   * in time may still wait in a native batch (up to its batch interval, 100 ms or 1 s).
   */
  private readonly readUntilMonoNs = new Map<string, bigint>();
  /** told of a target's first ICMP error at once: a closed port must not pass for a slow network */
  onFirstUnreachable: ((target: TargetStats, reason: string) => void) | null = null;

  /** `authKey` (--key-file): only replies with a genuine tag count; the rest are rejected */
  constructor(readonly targets: TargetStats[], private readonly authKey: Buffer | null = null) {
    for (const target of targets) {
      this.bySession.set(target.session, target);
      if (target.target.mode === 'icmp') this.icmpIdentifiers.add(icmpIdentifier(target.session));
    }
  }

  /**
   * `mode` and `family` say how the transport's datagrams decode (UDP probe or ICMP echo);
   * `readUntilMonoNs` is a batching transport's read horizon (TransportEventHandler).
   */
  apply(events: TransportEvent[], mode: 'udp' | 'icmp' = 'udp', family: 4 | 6 = 4, readUntilMonoNs?: bigint): void {
    if (readUntilMonoNs !== undefined) this.readUntilMonoNs.set(`${mode}${family}`, readUntilMonoNs);
    // (an index, not for-of: this loop runs a few times a second, too seldom for V8 to optimize
    // away for-of's iterator result per event)
    for (let i = 0; i < events.length; i++) {
      const event = events[i] as TransportEvent;
      switch (event.kind) {
        case 'sent': {
          const stats = this.targets[event.target];
          if (!stats) break;
          stats.recordRoundTrips(stats.matcher.onSent(event.seq, event.sentMonoNs, wallMsOfMono(event.sentMonoNs)));
          stats.recordSendError(Number(event.sentMonoNs - event.dueMonoNs));
          if (event.txNs !== undefined && event.txNs !== null) this.applyTxStamp(stats, event.seq, event.txNs);
          break;
        }
        case 'tx': {
          const stats = this.targets[event.target];
          if (stats) this.applyTxStamp(stats, event.seq, event.txNs);
          break;
        }
        case 'missed': {
          const stats = this.targets[event.target];
          if (stats) stats.missedSendSlots += event.count;
          break;
        }
        case 'unreachable': {
          const stats = this.targets[event.target];
          if (!stats) break;
          if (stats.unreachable === 0) {
            stats.unreachableReason = event.reason;
            this.onFirstUnreachable?.(stats, event.reason);
          }
          stats.unreachable += event.count;
          break;
        }
        case 'rx':
          if (mode === 'udp') this.applyUdpReply(event);
          else this.applyIcmpReply(event, family);
          break;
        case 'done':
          this.doneTransports++;
          break;
        case 'records':
          this.applyRecords(event, mode, family);
          break;
      }
    }
  }

  /**
   * A native batch's probe records, read in place: the same as their events through apply(),
   * without an object or a BigInt of a time a probe (one BigInt: the seq). A reply that is not
   * a well-formed one, or whose tag the thread did not check, goes the events' way.
   */
  private applyRecords(records: ProbeRecordsEvent, mode: 'udp' | 'icmp', family: 4 | 6): void {
    const { view, targetMap } = records;
    for (let r = 0; r < records.count; r++) {
      const at = r * RECORD_BYTES;
      const kind = recordKind(view, at);
      if (kind === RecordKind.Rx) {
        this.applyReplyRecord(records, at, mode, family);
        continue;
      }
      if (kind !== RecordKind.Sent && kind !== RecordKind.Tx) continue; // its own event follows
      const target = recordTarget(view, at);
      const stats = this.targets[targetMap === null ? target : targetMap[target] ?? -1];
      if (!stats) continue;
      const seq = view.getBigUint64(fieldAt(at, RecordField.Seq), true);
      if (kind === RecordKind.Tx) {
        this.recordCompleted(stats, stats.matcher.onTxStampRecord(seq, view, fieldAt(at, RecordField.StampNs)));
        continue;
      }
      const sentAt = fieldAt(at, RecordField.SentMonoNs);
      stats.recordRoundTrips(stats.matcher.onSentRecord(seq, view, sentAt, wallMsOfMonoNumber(wordNumber(view, sentAt))));
      stats.recordSendError(wordDifference(view, sentAt, fieldAt(at, RecordField.DueMonoNs)));
      if (hasFoldedTx(view, at)) this.recordCompleted(stats, stats.matcher.onTxStampRecord(seq, view, fieldAt(at, RecordField.StampNs)));
    }
  }

  private applyReplyRecord(records: ProbeRecordsEvent, at: number, mode: 'udp' | 'icmp', family: 4 | 6): void {
    const { view, data } = records;
    const dataView = dataViewOf(data.buffer);
    const dataAt = data.byteOffset + recordDataOffset(view, at);
    const length = recordDataLength(view, at);
    const auth = authVerdict(view, at);
    if (mode !== 'udp' || headerFault(dataView, dataAt, length) !== null || dataView.getUint8(dataAt + OFFSET_TYPE) !== PROBE_TYPE_REPLY
      || (this.authKey !== null && auth === null)) {
      const event = decodeEventRecord(view, at, records.strings, data) as RxEvent;
      if (mode === 'udp') this.applyUdpReply(event);
      else this.applyIcmpReply(event, family);
      return;
    }
    const stats = this.udpReplyTarget(dataView.getUint32(dataAt + OFFSET_SESSION), 'reply');
    if (!stats) return;
    if (this.authKey !== null && auth !== 'genuine') {
      countReject(stats.rejects, auth ?? 'unauthenticated');
      return;
    }
    if (recordPort(view, at) !== stats.target.port) {
      countReject(stats.rejects, 'wrong-source');
      return;
    }
    if (!this.fromTarget(stats, recordText(view, at, records.strings))) return;
    const flags = dataView.getUint16(dataAt + OFFSET_FLAGS);
    const t2Source = stampSourceOf(flags, FLAGS_T2_SHIFT);
    const t3Source = stampSourceOf(flags, FLAGS_T3_SHIFT);
    const turnaroundNs = t2Source !== 'none' && t3Source !== 'none' ? turnaroundNsAt(dataView, dataAt) : null;
    const outcome = stats.matcher.onReplyRecord(dataView.getBigUint64(dataAt + OFFSET_SEQ), view, fieldAt(at, RecordField.StampNs),
      fieldAt(at, RecordField.RxMonoNs), turnaroundNs);
    if (this.accepted(stats, outcome)) noteAgentStamps(stats, t2Source, t3Source, turnaroundNs);
  }

  /**
   * Resolves lost probes; call periodically with the current monotonic time. A probe is lost
   * when no reply reached the socket within --loss-after: judged at the transports' read
   * horizon, not at `nowMonoNs`, while a batch may still hold replies that came before it.
   */
  expire(nowMonoNs: bigint): void {
    this.lastExpireMonoNs = nowMonoNs;
    let judgedAt = nowMonoNs;
    for (const until of this.readUntilMonoNs.values()) if (until < judgedAt) judgedAt = until;
    for (const stats of this.targets) stats.recordRoundTrips(stats.matcher.expire(judgedAt));
  }

  /**
   * expire() when the last one is at least `everyNs` old: called with each batch of events,
   * so loss is resolved on the wake-ups the batches bring (no timer of its own), and the
   * scan over the targets costs once per interval, not once per batch.
   */
  expireIfDue(nowMonoNs: bigint, everyNs: bigint): void {
    if (nowMonoNs - this.lastExpireMonoNs >= everyNs) this.expire(nowMonoNs);
  }

  finish(): void {
    for (const stats of this.targets) stats.recordRoundTrips(stats.matcher.finish());
  }

  private applyTxStamp(stats: TargetStats, seq: bigint, txNs: bigint): void {
    this.recordCompleted(stats, stats.matcher.onTxStamp(seq, txNs));
  }

  private recordCompleted(stats: TargetStats, completed: CompletedRoundTrip | null): void {
    if (completed) stats.recordRoundTrip(completed);
  }

  private applyUdpReply(event: RxEvent): void {
    const decoded = decodeProbe(event.data);
    if (!decoded.ok) {
      countReject(this.strayRejects, decoded.reason);
      return;
    }
    const reply = decoded.packet;
    const stats = this.udpReplyTarget(reply.session, reply.type);
    if (!stats) return;
    // With a key, an unsigned or forged reply or refusal is counted, not believed. The native
    // transport has checked the tag already (with the key it signs with); others are checked here.
    const forged = this.authKey === null ? null
      : event.auth === 'genuine' ? null : event.auth ?? checkAuth(event.data, this.authKey);
    if (forged !== null) {
      countReject(stats.rejects, forged);
      return;
    }
    if (event.port !== stats.target.port) {
      countReject(stats.rejects, 'wrong-source');
      return;
    }
    if (reply.refusal !== null) {
      this.applyRefusal(stats, event, reply, reply.refusal);
      return;
    }
    const stamped = reply.t2Source !== 'none' && reply.t3Source !== 'none';
    const turnaroundNs = stamped ? Number(reply.t3Ns - reply.t2Ns) : null;
    if (!this.fromTarget(stats, event.address)) return;
    if (this.accepted(stats, stats.matcher.onReply(reply.seq, event.rxNs, event.rxMonoNs, turnaroundNs))) {
      noteAgentStamps(stats, reply.t2Source, reply.t3Source, turnaroundNs);
    }
  }

  /** The UDP target a reply or refusal of `session` answers, or null (the reject counted). */
  private udpReplyTarget(session: number, type: ProbeType): TargetStats | null {
    const stats = this.bySession.get(session);
    if (!stats || stats.target.mode !== 'udp') {
      countReject(this.strayRejects, 'unknown-session');
      return null;
    }
    if (type !== 'reply' && type !== 'refusal') {
      countReject(stats.rejects, 'bad-type');
      return null;
    }
    return stats;
  }

  /** The agent refused one of our probes and said why: refused, not lost. */
  private applyRefusal(stats: TargetStats, event: RxEvent, packet: ProbePacket, refusal: Refusal): void {
    if (!sameAddress(event.address, stats.target.address)) {
      countReject(stats.rejects, 'wrong-source');
      return;
    }
    const outcome = stats.matcher.onRefused(packet.seq);
    if (outcome.kind === 'duplicate') return;
    if (outcome.kind !== 'refused') {
      countReject(stats.rejects, outcome.kind);
      return;
    }
    stats.refused[refusal.reason] = (stats.refused[refusal.reason] ?? 0) + 1;
    stats.lastRefusal = refusal;
  }

  private applyIcmpReply(event: RxEvent, family: 4 | 6): void {
    const decoded = decodeEchoReply(event.data, family, (identifier) => this.icmpIdentifiers.has(identifier));
    if (!decoded.ok) {
      countReject(this.strayRejects, decoded.reason);
      return;
    }
    const stats = this.bySession.get(decoded.session);
    if (!stats || stats.target.mode !== 'icmp') {
      countReject(this.strayRejects, 'unknown-session');
      return;
    }
    if (this.fromTarget(stats, event.address)) this.accepted(stats, stats.matcher.onReply(decoded.seq, event.rxNs, event.rxMonoNs, null));
  }

  /** The reply came from `stats`' address; else the reject is counted (and the matcher never sees it). */
  private fromTarget(stats: TargetStats, address: string): boolean {
    if (sameAddress(address, stats.target.address)) return true;
    countReject(stats.rejects, 'wrong-source');
    return false;
  }

  /** Counts the matcher's outcome for a reply; true when it was the first reply to its probe. */
  private accepted(stats: TargetStats, outcome: ReplyOutcome): boolean {
    if (outcome.kind === 'duplicate') return false;
    if (outcome.kind !== 'accepted') {
      countReject(stats.rejects, outcome.kind);
      return false;
    }
    if (outcome.completed) stats.recordRoundTrip(outcome.completed);
    return true;
  }
}

/** A first reply's agent stamps: their sources, and its turnaround (T3 − T2) when it has both. */
function noteAgentStamps(stats: TargetStats, t2Source: StampSource | 'none', t3Source: StampSource | 'none', turnaroundNs: number | null): void {
  const known = stats.agentStamps;
  // (a new object only when the agent's stamps change, not per reply)
  if (known?.t2 !== t2Source || known.t3 !== t3Source) stats.agentStamps = { t2: t2Source, t3: t3Source };
  if (turnaroundNs !== null) stats.turnaround.record(turnaroundNs);
}

/** The datagrams of a native batch lie in one buffer: one view for all of them. */
const dataViewOf = cachedDataView();

const unmapIpv4 = (address: string): string => (address.startsWith('::ffff:') ? address.slice(7) : address);

/** Compares addresses, seeing through IPv4-mapped IPv6 ("::ffff:127.0.0.1"). */
function sameAddress(a: string, b: string): boolean {
  // Per reply: the common case (the same spelling) allocates nothing.
  return a === b || unmapIpv4(a).toLowerCase() === unmapIpv4(b).toLowerCase();
}
