/**
 * Sequence accounting for one target: matches replies to probes by sequence number and
 * classifies every reply as first (received, maybe late, maybe reordered), duplicate,
 * expired (after its probe was declared lost) or unknown (never sent).
 *
 * State lives in a fixed ring of 64-byte slots indexed by seq mod capacity, so memory does not
 * grow with run length and a probe's state goes into arrays allocated once. The calls still
 * make short-lived garbage per probe: the outcome and round-trip objects, and BigInts of the
 * seq (each one a heap value in V8); the *Record calls take their times from a native batch's
 * records by halves, without the BigInts of the others' nanosecond arguments.
 * Probes are sent in seq order, so loss deadlines expire in seq order too and one cursor finds
 * them.
 */

/** A round trip whose both ends are known. */
export interface CompletedRoundTrip {
  seq: bigint;
  rttNs: number;
  /** wall-clock ms (epoch) when the probe was sent */
  sentWallMs: number;
  late: boolean;
  /**
   * the RTT is from the user-space monotonic stamps: the transport's TX stamp never came, or
   * its stamps (CLOCK_REALTIME) straddle a step of the wall clock
   */
  userFallback: boolean;
  /** the agent's T3 − T2 from the reply, null when it did not stamp both */
  turnaroundNs: number | null;
}

export type ReplyOutcome =
  | { kind: 'accepted'; reordered: boolean; completed: CompletedRoundTrip | null }
  | { kind: 'duplicate' }
  | { kind: 'unknown-seq' }
  | { kind: 'expired' };

export type RefusalOutcome = { kind: 'refused' } | { kind: 'duplicate' } | { kind: 'unknown-seq' } | { kind: 'expired' };

export interface ReplyMatcherOptions {
  /** probes kept in flight; must cover lossAfterNs at the send rate plus slack */
  capacity: number;
  /** a reply later than this is late (still received, with its real RTT) */
  timeoutNs: number;
  /** no reply by this long after sending = lost */
  lossAfterNs: bigint;
}

/**
 * How far a stamped RTT may exceed the monotonic one around it. The stamps lie between the
 * monotonic reads (before sendto, after recvmsg) and kernel clocks tick at the monotonic
 * rate; only a NIC's clock (PHC) may run off by some ppm. Anything beyond is a clock step.
 */
const STEP_SLACK_NS = 1_000_000;
const STEP_SLACK_PER_NS = 0.001;

/** what most calls complete: nothing (one shared array instead of a new one per probe) */
const NONE_COMPLETED: readonly CompletedRoundTrip[] = Object.freeze([]);

// A slot's fields: 8-byte words, then its state and TX flag in the last word's bytes.
const SLOT_WORDS = 8;
const SEQ = 0;
const SENT_MONO_NS = 1;
const TX_NS = 2;
const RX_NS = 3;
const RX_MONO_NS = 4;
const SENT_WALL_MS = 5;
const TURNAROUND_NS = 6;
const STATE_BYTE = 7 * 8;
const HAS_TX_BYTE = 7 * 8 + 1;

const TWO_32 = 4294967296;
const MAX_SAFE_SEQ = BigInt(Number.MAX_SAFE_INTEGER);
/** The number paths read a 64-bit word as its two 32-bit halves, low one first. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** What a reply that resolves no probe is (one object each, not one a reply). */
const UNKNOWN_SEQ = 0;
const EXPIRED = 1;
const DUPLICATE = 2;
const NOT_ACCEPTED: readonly ReplyOutcome[] = [
  Object.freeze({ kind: 'unknown-seq' }), Object.freeze({ kind: 'expired' }), Object.freeze({ kind: 'duplicate' }),
];

const FREE = 0;
const PENDING = 1; // sent, no reply yet
const REPLIED = 2; // reply here, TX stamp still to come
const DONE = 3;
const LOST = 4;
const REFUSED = 5; // the agent's refusal arrived: resolved, neither received nor lost

export class ReplyMatcher {
  sent = 0;
  received = 0;
  lost = 0;
  late = 0;
  duplicates = 0;
  reordered = 0;
  /** probes whose refusal arrived (the agent refused them and said so); not lost */
  refused = 0;
  /** round trips measured with user stamps because the TX stamp was missing or a clock step split the stamps */
  stampFallbacks = 0;

  private readonly capacity: number;
  /** the same as a BigInt, made once: seq arithmetic runs per probe */
  private readonly capacityBig: bigint;
  // One 64-byte record a probe (a cache line) in one buffer, not one array per field: at 1000
  // targets each array was its own page to miss in the cache and TLB, nine a round trip
  // (5.9 against 1.0 µs a probe at 100 targets, issue 15). The views share the buffer; a slot
  // is its first 8-byte word (ring index x SLOT_WORDS), its fields at the offsets below.
  private readonly seqs: BigUint64Array;
  private readonly words: BigInt64Array;
  private readonly floats: Float64Array;
  private readonly bytes: Uint8Array;
  // The words' 32-bit halves: differences and comparisons as numbers, without the BigInt
  // that reading a BigInt64Array element makes (per probe, several of them).
  private readonly lows: Uint32Array;
  private readonly highs: Int32Array;
  private nextSeq = 0n;
  private oldestSeq = 0n;
  private highestReplied = -1n;

  constructor(private readonly options: ReplyMatcherOptions) {
    this.capacity = Math.max(16, Math.ceil(options.capacity));
    this.capacityBig = BigInt(this.capacity);
    const buffer = new ArrayBuffer(this.capacity * SLOT_WORDS * 8);
    this.seqs = new BigUint64Array(buffer);
    this.words = new BigInt64Array(buffer);
    this.floats = new Float64Array(buffer);
    this.bytes = new Uint8Array(buffer);
    this.lows = new Uint32Array(buffer);
    this.highs = new Int32Array(buffer);
  }

  /** Probes sent and not yet resolved as received or lost. */
  get inFlight(): number {
    return this.sent - this.received - this.lost - this.refused;
  }

  /**
   * Records probe `seq` (the next in order). Returns round trips completed because the ring
   * had to make room (only when the caller stopped calling expire()).
   */
  onSent(seq: bigint, sentMonoNs: bigint, sentWallMs: number): readonly CompletedRoundTrip[] {
    const evicted = this.makeRoom(seq);
    this.words[this.claim(seq, sentWallMs) + SENT_MONO_NS] = sentMonoNs;
    return evicted;
  }

  /**
   * onSent with the send time read where a native batch holds it: the 64-bit little-endian
   * word at byte `sentMonoAt` of `record` (event-records.ts), copied by its halves. The
   * *Record calls make no BigInt of a time (a heap value each in V8: the controller's
   * garbage a probe, which this VM's page faults after every scavenge made dear).
   */
  onSentRecord(seq: bigint, record: DataView, sentMonoAt: number, sentWallMs: number): readonly CompletedRoundTrip[] {
    const evicted = this.makeRoom(seq);
    this.copyWord(this.claim(seq, sentWallMs) + SENT_MONO_NS, record, sentMonoAt);
    return evicted;
  }

  /** The transport's send stamp for `seq`; completes the round trip if the reply is in. */
  onTxStamp(seq: bigint, txNs: bigint): CompletedRoundTrip | null {
    const i = this.slotOf(seq);
    if (i < 0) return null;
    this.words[i + TX_NS] = txNs;
    return this.stamped(i, seq);
  }

  /** onTxStamp with the stamp read from a native record (onSentRecord). */
  onTxStampRecord(seq: bigint, record: DataView, txAt: number): CompletedRoundTrip | null {
    const i = this.slotOf(seq);
    if (i < 0) return null;
    this.copyWord(i + TX_NS, record, txAt);
    return this.stamped(i, seq);
  }

  onReply(seq: bigint, rxNs: bigint, rxMonoNs: bigint, turnaroundNs: number | null = null): ReplyOutcome {
    const i = this.replySlot(seq);
    if (i < 0) return NOT_ACCEPTED[-1 - i] as ReplyOutcome;
    this.words[i + RX_NS] = rxNs;
    this.words[i + RX_MONO_NS] = rxMonoNs;
    return this.accept(i, seq, turnaroundNs);
  }

  /** onReply with the stamps read from a native record (onSentRecord). */
  onReplyRecord(seq: bigint, record: DataView, rxAt: number, rxMonoAt: number, turnaroundNs: number | null): ReplyOutcome {
    const i = this.replySlot(seq);
    if (i < 0) return NOT_ACCEPTED[-1 - i] as ReplyOutcome;
    this.copyWord(i + RX_NS, record, rxAt);
    this.copyWord(i + RX_MONO_NS, record, rxMonoAt);
    return this.accept(i, seq, turnaroundNs);
  }

  /**
   * The agent's refusal of `seq`: the probe is resolved as refused (not lost). A refusal after
   * the reply, or a second one, changes nothing; one after the probe was declared lost is expired.
   */
  onRefused(seq: bigint): RefusalOutcome {
    if (seq >= this.nextSeq) return { kind: 'unknown-seq' };
    const i = this.slotOf(seq);
    if (i < 0 || this.bytes[i * 8 + STATE_BYTE] === LOST) return { kind: 'expired' };
    if (this.bytes[i * 8 + STATE_BYTE] !== PENDING) return { kind: 'duplicate' };
    this.bytes[i * 8 + STATE_BYTE] = REFUSED;
    this.refused++;
    return { kind: 'refused' };
  }

  /** Declares lost every probe older than lossAfter at `nowMonoNs`. */
  expire(nowMonoNs: bigint): readonly CompletedRoundTrip[] {
    let completed: CompletedRoundTrip[] | null = null;
    // (monotonic ns as numbers: exact for 104 days of uptime, within ns long after)
    const now = Number(nowMonoNs);
    const lossAfter = Number(this.options.lossAfterNs);
    while (this.oldestSeq < this.nextSeq) {
      const i = this.index(this.oldestSeq);
      const state = this.bytes[i * 8 + STATE_BYTE];
      const resolved = state === DONE || state === LOST || state === REFUSED || !this.holds(i, this.oldestSeq);
      if (!resolved && now - this.wordNumber(i + SENT_MONO_NS) < lossAfter) break;
      this.resolveOldest(completed ??= []);
    }
    return completed ?? NONE_COMPLETED;
  }

  /** End of run: whatever is still unanswered is lost. */
  finish(): CompletedRoundTrip[] {
    const completed: CompletedRoundTrip[] = [];
    while (this.oldestSeq < this.nextSeq) this.resolveOldest(completed);
    return completed;
  }

  /** Before probe `seq` takes its slot: the oldest ones resolved while the ring is full. */
  private makeRoom(seq: bigint): readonly CompletedRoundTrip[] {
    // Sequences need not start at 0: the first one sent starts the accounting.
    if (this.sent === 0) {
      this.oldestSeq = seq;
      this.nextSeq = seq;
    }
    let evicted: CompletedRoundTrip[] | null = null;
    while (this.oldestSeq + this.capacityBig <= seq) this.resolveOldest(evicted ??= []);
    return evicted ?? NONE_COMPLETED;
  }

  /** Probe `seq` sent: its slot, pending, with no time but its wall clock yet. */
  private claim(seq: bigint, sentWallMs: number): number {
    const i = this.index(seq);
    this.seqs[i + SEQ] = seq;
    this.bytes[i * 8 + STATE_BYTE] = PENDING;
    this.bytes[i * 8 + HAS_TX_BYTE] = 0;
    this.floats[i + SENT_WALL_MS] = sentWallMs;
    this.sent++;
    if (seq >= this.nextSeq) this.nextSeq = seq + 1n;
    return i;
  }

  /** Slot `i` got its TX stamp: the round trip completes if its reply is in. */
  private stamped(i: number, seq: bigint): CompletedRoundTrip | null {
    this.bytes[i * 8 + HAS_TX_BYTE] = 1;
    if (this.bytes[i * 8 + STATE_BYTE] !== REPLIED) return null;
    return this.complete(i, seq, false);
  }

  /**
   * The slot a reply to `seq` resolves, or what it is instead: -1 - index into NOT_ACCEPTED
   * (a duplicate is counted here).
   */
  private replySlot(seq: bigint): number {
    if (seq >= this.nextSeq) return -1 - UNKNOWN_SEQ;
    const i = this.slotOf(seq);
    if (i < 0) return -1 - EXPIRED;
    const state = this.bytes[i * 8 + STATE_BYTE];
    if (state === LOST) return -1 - EXPIRED;
    if (state === REPLIED || state === DONE || state === REFUSED) {
      this.duplicates++;
      return -1 - DUPLICATE;
    }
    return i;
  }

  /** The first reply to the probe in slot `i`, its stamps written. */
  private accept(i: number, seq: bigint, turnaroundNs: number | null): ReplyOutcome {
    this.received++;
    const reordered = seq < this.highestReplied;
    if (reordered) this.reordered++;
    else this.highestReplied = seq;
    this.floats[i + TURNAROUND_NS] = turnaroundNs ?? Number.NaN;
    this.bytes[i * 8 + STATE_BYTE] = REPLIED;
    const completed = this.bytes[i * 8 + HAS_TX_BYTE] === 1 ? this.complete(i, seq, false) : null;
    return { kind: 'accepted', reordered, completed };
  }

  /** Word `w` := the 64-bit little-endian word at byte `at` of `source`, by its halves (no BigInt). */
  private copyWord(w: number, source: DataView, at: number): void {
    if (!LITTLE_ENDIAN) {
      this.words[w] = source.getBigInt64(at, true);
      return;
    }
    this.lows[w * 2] = source.getUint32(at, true);
    this.highs[w * 2 + 1] = source.getInt32(at + 4, true);
  }

  private resolveOldest(completed: CompletedRoundTrip[]): void {
    const seq = this.oldestSeq;
    const i = this.index(seq);
    if (this.holds(i, seq)) {
      if (this.bytes[i * 8 + STATE_BYTE] === PENDING) {
        this.bytes[i * 8 + STATE_BYTE] = LOST;
        this.lost++;
      } else if (this.bytes[i * 8 + STATE_BYTE] === REPLIED) {
        completed.push(this.complete(i, seq, true));
      }
    }
    this.oldestSeq = seq + 1n;
  }

  private complete(i: number, seq: bigint, txMissing: boolean): CompletedRoundTrip {
    this.bytes[i * 8 + STATE_BYTE] = DONE;
    const monoRttNs = this.difference(i + RX_MONO_NS, i + SENT_MONO_NS);
    const stampedRttNs = this.difference(i + RX_NS, i + TX_NS);
    // Kernel stamps are CLOCK_REALTIME: a wall-clock step between them (NTP, a VM resume) would
    // be an RTT of ±the step. A stamped RTT that is negative or longer than the monotonic
    // interval around it is such a step; the monotonic RTT is then the measurement.
    const stepped = stampedRttNs < 0 || stampedRttNs > monoRttNs + STEP_SLACK_NS + monoRttNs * STEP_SLACK_PER_NS;
    const userFallback = txMissing || stepped;
    if (userFallback) this.stampFallbacks++;
    const rttNs = userFallback ? monoRttNs : stampedRttNs;
    const late = rttNs > this.options.timeoutNs;
    if (late) this.late++;
    const turnaroundNs = this.floats[i + TURNAROUND_NS] ?? Number.NaN;
    return { seq, rttNs, sentWallMs: this.floats[i + SENT_WALL_MS] ?? 0, late, userFallback,
      turnaroundNs: Number.isNaN(turnaroundNs) ? null : turnaroundNs };
  }

  /** The slot of `seq`: its first word. */
  private index(seq: bigint): number {
    // (the remainder of a BigInt is a new BigInt; a safe seq's number is not)
    return (seq <= MAX_SAFE_SEQ ? Number(seq) % this.capacity : Number(seq % this.capacityBig)) * SLOT_WORDS;
  }

  /** The slot holding `seq`, or -1 when it was overwritten or freed. */
  private slotOf(seq: bigint): number {
    const i = this.index(seq);
    return this.holds(i, seq) && this.bytes[i * 8 + STATE_BYTE] !== FREE ? i : -1;
  }

  /** Slot `i`'s seq is `seq` (compared by halves for a safe seq: no BigInt read). */
  private holds(i: number, seq: bigint): boolean {
    if (!LITTLE_ENDIAN || seq > MAX_SAFE_SEQ) return this.seqs[i + SEQ] === seq;
    const n = Number(seq);
    return this.lows[(i + SEQ) * 2] === n % TWO_32 && this.highs[(i + SEQ) * 2 + 1] === Math.floor(n / TWO_32);
  }

  /** Word `a` − word `b` as a number, as Number(a − b) makes it, without the BigInts. */
  private difference(a: number, b: number): number {
    if (!LITTLE_ENDIAN) return Number((this.words[a] ?? 0n) - (this.words[b] ?? 0n));
    // the halves' differences are exact; one rounding at the end, as Number() of the BigInt
    return ((this.highs[a * 2 + 1] ?? 0) - (this.highs[b * 2 + 1] ?? 0)) * TWO_32 + ((this.lows[a * 2] ?? 0) - (this.lows[b * 2] ?? 0));
  }

  /** Word `w` as a number: exact below 2^53 (monotonic ns). */
  private wordNumber(w: number): number {
    return LITTLE_ENDIAN ? (this.highs[w * 2 + 1] ?? 0) * TWO_32 + (this.lows[w * 2] ?? 0) : Number(this.words[w] ?? 0n);
  }
}
