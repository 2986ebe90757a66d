import { LatencyHistogram } from '../shared/histogram/latency-histogram.js';
import { encodeHistogram } from '../shared/histogram/histogram-transport.js';
import type {
  AgentSocketHealth, AgentTag, EncodedHistogram, IntervalCounts, IntervalMessage, SessionEndMessage,
} from '../shared/messages/agent-messages.js';
import { countReject, type RejectCounts, type RejectReason } from '../shared/wire/reject-reason.js';
import type { TimerDrain } from '../shared/native/timer-latency-addon.js';
import { foldTimerDrain } from './timer-fold.js';

export interface RecorderOptions {
  intervalMs: number;
  /** record forward one-way delay (T2 − T1): only when the operator declared synced clocks */
  recordOwd: boolean;
  /** sessions tracked at once; a new session beyond this evicts the idlest */
  maxSessions: number;
  /** a session with no probe for this long ends */
  idleMs: number;
  /**
   * where closed intervals go; null when the agent has no stream: nobody could read them, so
   * sessions are not recorded at all (no histograms, no encoding: a quiet agent)
   */
  publish: ((message: IntervalMessage | SessionEndMessage) => void) | null;
  /**
   * --timer-latency: what the guest timer recorded since the last call. It is drained on every
   * tick and before an interval closes, so its samples go into the intervals open at the time.
   */
  timer?: { drain(): TimerDrain };
  /** the reflector socket's own losses so far, sent with every interval; null: not known (the user-space reflector) */
  socketHealth?: () => AgentSocketHealth | null;
}

/** One arrived probe, as the agent stamped it. */
export interface ArrivedProbe {
  session: number;
  seq: bigint;
  peer: string;
  t1Ns: bigint;
  t2Ns: bigint;
  nowMs: number;
}

// Recent sequence numbers per session, to tell a late (reordered) arrival from a duplicate.
const SEEN_WINDOW = 4096;
// A jump further ahead than this is a restarted (or forged) sequence, not loss: 2^32 probes
// are 497 days at 100 Hz. It keeps gaps a safe integer (the stream's schema requires one).
const SEQ_RESTART_JUMP = 2n ** 32n;

class SessionRecorder {
  readonly histograms: Record<AgentTag, LatencyHistogram> = {
    ipdv: new LatencyHistogram(), turnaround: new LatencyHistogram(), owd: new LatencyHistogram(),
    timer: new LatencyHistogram(),
  };
  /** wall ms of the current interval's timer max */
  timerMaxAtMs = 0;
  counts: IntervalCounts = { received: 0, gaps: 0, reordered: 0, duplicates: 0, rejected: {} };
  intervalStartMs: number;
  lastSeenMs: number;
  // Slot i holds the last seq ≡ i (mod SEEN_WINDOW) seen; its empty mark is a value that is
  // not ≡ i, so no sequence number (2^64 − 1 included) is mistaken for a duplicate.
  private readonly seen = new BigInt64Array(SEEN_WINDOW).fill(0n).fill(1n, 0, 1);
  private highestSeq = -1n;
  private lastT1Ns = 0n;
  private lastT2Ns = 0n;

  constructor(readonly session: number, public peer: string, nowMs: number, intervalMs: number) {
    this.intervalStartMs = Math.floor(nowMs / intervalMs) * intervalMs;
    this.lastSeenMs = nowMs;
  }

  arrive(probe: ArrivedProbe, recordOwd: boolean): void {
    this.lastSeenMs = probe.nowMs;
    this.peer = probe.peer;
    const slot = Number(probe.seq % BigInt(SEEN_WINDOW));
    if (this.seen[slot] === BigInt.asIntN(64, probe.seq)) {
      this.counts.duplicates++;
      return;
    }
    this.seen[slot] = BigInt.asIntN(64, probe.seq);
    this.counts.received++;
    if (recordOwd) this.histograms.owd.record(Number(probe.t2Ns - probe.t1Ns));
    if (this.highestSeq < 0n) {
      this.highestSeq = probe.seq;
    } else if (probe.seq > this.highestSeq) {
      // Consecutive probes give the IPDV (RFC 3393): arrival spacing minus send spacing.
      if (probe.seq === this.highestSeq + 1n) {
        this.histograms.ipdv.record(Math.abs(Number((probe.t2Ns - this.lastT2Ns) - (probe.t1Ns - this.lastT1Ns))));
      }
      const jump = probe.seq - this.highestSeq - 1n;
      if (jump < SEQ_RESTART_JUMP) this.counts.gaps = Math.min(Number.MAX_SAFE_INTEGER, this.counts.gaps + Number(jump));
      this.highestSeq = probe.seq;
    } else {
      // Older than the newest: it fills a gap counted before.
      this.counts.reordered++;
      this.counts.gaps--;
      return;
    }
    this.lastT1Ns = probe.t1Ns;
    this.lastT2Ns = probe.t2Ns;
  }

  /** Closes the current interval at endMs and starts the next one. */
  close(id: number, endMs: number): IntervalMessage {
    const histograms: Partial<Record<AgentTag, EncodedHistogram>> = {};
    for (const [tag, h] of Object.entries(this.histograms) as [AgentTag, LatencyHistogram][]) {
      if (h.count === 0) continue;
      histograms[tag] = { count: h.count, max_ns: h.maxNs, encoded: encodeHistogram(h.histogram),
        ...(tag === 'timer' ? { max_at_ms: this.timerMaxAtMs } : {}) };
    }
    const message: IntervalMessage = {
      type: 'interval', v: 1, id, session: this.session, peer: this.peer,
      start_ms: this.intervalStartMs, end_ms: endMs, histograms, counts: this.counts,
    };
    for (const h of Object.values(this.histograms)) h.reset();
    this.counts = { received: 0, gaps: 0, reordered: 0, duplicates: 0, rejected: {} };
    this.intervalStartMs = endMs;
    return message;
  }
}

/**
 * The agent's in-guest view, per controller session, in interval histograms: arrival jitter
 * (IPDV), turnaround, forward one-way delay (only with declared clock sync), and sequence gaps
 * (forward-path loss). Closed intervals are handed to `publish`; memory is bounded by
 * maxSessions whatever the run length.
 */
export class AgentRecorder {
  private readonly sessions = new Map<number, SessionRecorder>();
  private nextId = 1;
  /** datagrams rejected since the last interval closed, reported with every session's interval */
  private pendingRejects: RejectCounts = {};
  /** the guest timer over the agent's whole run, sessions or not (its exit summary) */
  readonly timerTotal = new LatencyHistogram();
  timerMaxAtMs = 0;
  timerOverruns = 0;

  constructor(private readonly options: RecorderOptions) {}

  get sessionCount(): number {
    return this.sessions.size;
  }

  probe(probe: ArrivedProbe): void {
    if (this.options.publish === null) return;
    let session = this.sessions.get(probe.session);
    if (!session) {
      if (this.sessions.size >= this.options.maxSessions) this.evictIdlest(probe.nowMs);
      session = new SessionRecorder(probe.session, probe.peer, probe.nowMs, this.options.intervalMs);
      this.sessions.set(probe.session, session);
    }
    this.closeDue(session, probe.nowMs);
    session.arrive(probe, this.options.recordOwd);
  }

  /** Guest turnaround of one reflected probe (T3 − T2, the truest T3 the agent has). */
  turnaround(sessionId: number, turnaroundNs: number): void {
    this.sessions.get(sessionId)?.histograms.turnaround.record(turnaroundNs);
  }

  reject(reason: RejectReason, count = 1): void {
    if (this.options.publish === null) return;
    countReject(this.pendingRejects, reason, count);
  }

  /** Whether an open interval has ended by `nowMs` (tick would close it). */
  intervalDue(nowMs: number): boolean {
    for (const session of this.sessions.values()) if (this.intervalEnded(session, nowMs)) return true;
    return false;
  }

  /** Closes every interval whose end has passed and ends idle sessions; call a few times a second. */
  tick(nowMs: number): void {
    this.foldTimer();
    for (const session of this.sessions.values()) {
      this.closeDue(session, nowMs);
      if (nowMs - session.lastSeenMs >= this.options.idleMs) this.end(session, 'idle', nowMs);
    }
  }

  /** Closes a session's interval now (a controller asks before its final report). */
  flush(sessionId: number, nowMs: number): void {
    const session = this.sessions.get(sessionId);
    if (session) this.publishInterval(session, nowMs);
  }

  endAll(nowMs: number): void {
    for (const session of [...this.sessions.values()]) this.end(session, 'agent-exit', nowMs);
  }

  private intervalEnded(session: SessionRecorder, nowMs: number): boolean {
    return nowMs >= session.intervalStartMs + this.options.intervalMs;
  }

  private closeDue(session: SessionRecorder, nowMs: number): void {
    while (this.intervalEnded(session, nowMs)) {
      this.publishInterval(session, session.intervalStartMs + this.options.intervalMs);
    }
  }

  /** Adds what the guest timer recorded since the last fold to every open interval. */
  foldTimer(): void {
    const drain = this.options.timer?.drain();
    if (!drain) return;
    this.timerOverruns += drain.overruns;
    for (const session of this.sessions.values()) {
      if (drain.count > 0 && drain.maxNs > session.histograms.timer.maxNs) session.timerMaxAtMs = drain.maxAtMs;
    }
    if (drain.count > 0 && drain.maxNs > this.timerTotal.maxNs) this.timerMaxAtMs = drain.maxAtMs;
    foldTimerDrain(drain, [this.timerTotal, ...[...this.sessions.values()].map((s) => s.histograms.timer)]);
  }

  private publishInterval(session: SessionRecorder, endMs: number): void {
    this.foldTimer();
    const message = session.close(this.nextId++, endMs);
    message.counts.rejected = this.pendingRejects;
    this.pendingRejects = {};
    const socket = this.options.socketHealth?.() ?? null;
    if (socket !== null) message.socket = socket;
    this.options.publish?.(message);
  }

  private end(session: SessionRecorder, reason: SessionEndMessage['reason'], nowMs: number): void {
    this.publishInterval(session, Math.max(nowMs, session.intervalStartMs));
    this.sessions.delete(session.session);
    this.options.publish?.({ type: 'session-end', v: 1, id: this.nextId++, session: session.session, reason });
  }

  private evictIdlest(nowMs: number): void {
    let idlest: SessionRecorder | undefined;
    for (const session of this.sessions.values()) {
      if (!idlest || session.lastSeenMs < idlest.lastSeenMs) idlest = session;
    }
    if (idlest) this.end(idlest, 'idle', nowMs);
  }
}
