import type { RejectReason } from '../shared/wire/reject-reason.js';
import { ReplayWindow } from './replay-window.js';
import { TokenBucket } from './token-bucket.js';

export interface GuardLimits {
  /** probes a second answered per source address; null = no limit */
  maxRatePerS: number | null;
  /** controller sessions answered at once */
  maxSessions: number;
  /** refuse a session's sequence numbers answered before (only meaningful with a key) */
  replayWindow: boolean;
}

/** A session silent this long gives its place to a new one when all places are taken. */
export const SESSION_RECLAIM_MS = 5000;
/** Source addresses with a bucket at once; beyond it, new sources wait for quiet ones to be forgotten. */
export const MAX_TRACKED_SOURCES = 4096;
const SOURCE_SWEEP_EVERY_MS = 1000;

export type GuardRefusal = Extract<RejectReason, 'replay' | 'rate-limited' | 'session-limit'>;

/** A source may save up a fifth of a second of its rate (at least 10 probes) for bursts. */
export function burstOf(ratePerS: number): number {
  return Math.max(10, Math.ceil(ratePerS / 5));
}

interface SessionPlace {
  lastSeenMs: number;
  window: ReplayWindow | null;
}

/**
 * Decides whether the agent answers a well-formed (and, with a key, genuine) probe: not a
 * replay, within the session cap, within its source's rate. State is bounded: at most
 * maxSessions sessions and MAX_TRACKED_SOURCES sources. The native reflector's thread does
 * the same in C++ (shared/native/src/probe_guard.cc).
 */
export class ProbeGuard {
  private readonly sessions = new Map<number, SessionPlace>();
  private readonly sources = new Map<string, TokenBucket>();
  private lastSweepMs = -Infinity;

  constructor(private readonly limits: GuardLimits) {}

  /** null: answer it; otherwise the reason it is refused (count it, do not answer). */
  admit(sourceAddress: string, session: number, seq: bigint, nowMs: number): GuardRefusal | null {
    let place = this.sessions.get(session);
    if (place?.window?.seen(seq)) return 'replay';
    if (!place && this.sessions.size >= this.limits.maxSessions && !this.reclaimSession(nowMs)) return 'session-limit';
    if (!this.takeToken(sourceAddress, nowMs)) return 'rate-limited';
    if (!place) {
      place = { lastSeenMs: nowMs, window: this.limits.replayWindow ? new ReplayWindow() : null };
      this.sessions.set(session, place);
    }
    place.lastSeenMs = nowMs;
    place.window?.mark(seq);
    return null;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Frees the place of the session silent longest, if it has been silent SESSION_RECLAIM_MS. */
  private reclaimSession(nowMs: number): boolean {
    let idlest: number | null = null;
    let idlestSeenMs = Infinity;
    for (const [id, place] of this.sessions) {
      if (place.lastSeenMs < idlestSeenMs) {
        idlest = id;
        idlestSeenMs = place.lastSeenMs;
      }
    }
    if (idlest === null || nowMs - idlestSeenMs < SESSION_RECLAIM_MS) return false;
    this.sessions.delete(idlest);
    return true;
  }

  private takeToken(sourceAddress: string, nowMs: number): boolean {
    const rate = this.limits.maxRatePerS;
    if (rate === null) return true;
    let bucket = this.sources.get(sourceAddress);
    if (!bucket) {
      if (this.sources.size >= MAX_TRACKED_SOURCES && !this.forgetQuietSources(nowMs)) return false;
      bucket = new TokenBucket(rate, burstOf(rate), nowMs);
      this.sources.set(sourceAddress, bucket);
    }
    return bucket.take(nowMs);
  }

  /** Drops the buckets of sources quiet long enough to be full again; at most once a second. */
  private forgetQuietSources(nowMs: number): boolean {
    if (nowMs - this.lastSweepMs < SOURCE_SWEEP_EVERY_MS) return false;
    this.lastSweepMs = nowMs;
    for (const [address, bucket] of this.sources) {
      if (bucket.isFull(nowMs)) this.sources.delete(address);
    }
    return this.sources.size < MAX_TRACKED_SOURCES;
  }
}
