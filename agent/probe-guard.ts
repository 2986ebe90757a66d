import type { Refusal } from '../shared/wire/probe-codec.js';
import { ReplayWindow } from './replay-window.js';
import { TokenBucket } from './token-bucket.js';

export interface GuardLimits {
  /** probes a second answered per source address; null = no limit */
  maxRatePerS: number | null;
  /** controller sessions answered at once */
  maxSessions: number;
  /** places one source address may hold; absent: sharePerAddress(maxSessions) */
  maxSessionsPerSource?: number;
  /** refuse a session's sequence numbers answered before (only meaningful with a key) */
  replayWindow: boolean;
}

/** A session silent this long gives its place to a new one when all places are taken. */
export const SESSION_RECLAIM_MS = 5000;
/** Source addresses with a bucket at once; beyond it, new sources wait for quiet ones to be forgotten. */
export const MAX_TRACKED_SOURCES = 4096;
const SOURCE_SWEEP_EVERY_MS = 1000;
/**
 * Refusal replies a source address gets: at most REFUSALS_PER_S a second (bursts of
 * REFUSAL_BURST), and a 'rate-limited' one at most once a second. A refusal is never larger
 * than its probe, so a forged source gets at most what was sent in its name.
 */
export const REFUSALS_PER_S = 100;
export const REFUSAL_BURST = 10;
export const RATE_LIMITED_REFUSAL_EVERY_MS = 1000;

/** Why the guard refused a probe; detail and scope as a refusal reply carries them. */
export interface GuardRefusal extends Refusal {
  reason: 'replay' | 'rate-limited' | 'session-limit';
}

/** A source may save up a fifth of a second of its rate (at least 10 probes) for bursts. */
export function burstOf(ratePerS: number): number {
  return Math.max(10, Math.ceil(ratePerS / 5));
}

/** The places one source address may hold: a quarter of them, at least one. */
export function sharePerAddress(maxSessions: number): number {
  return Math.max(1, Math.floor(maxSessions / 4));
}

interface SessionPlace {
  /** the source address and port that opened the session, and the agent address it probes */
  address: string;
  port: number;
  local: string;
  lastSeenMs: number;
  window: ReplayWindow | null;
}

interface SourceState {
  rate: TokenBucket | null;
  refusals: TokenBucket;
  lastRateLimitedRefusalMs: number;
}

/**
 * Decides whether the agent answers a well-formed (and, with a key, genuine) probe: not a
 * replay, within the session places, within its source's rate; and whether a refused probe
 * gets a refusal reply. Session places are fair: a source address+port holds at most one
 * towards each agent address (its new session replaces its old one), a source address at most
 * maxSessionsPerSource (default sharePerAddress(maxSessions)),
 * and a controller's session-end frees its place at once. State is bounded: at most
 * maxSessions sessions and MAX_TRACKED_SOURCES sources. The native reflector's thread does the
 * same in C++ (shared/native/src/probe_guard.cc).
 */
export class ProbeGuard {
  private readonly sessions = new Map<number, SessionPlace>();
  /** "address|port" → the session that source holds */
  private readonly byEndpoint = new Map<string, number>();
  private readonly sources = new Map<string, SourceState>();
  private lastSweepMs = -Infinity;
  private readonly share: number;
  private readonly replay: GuardRefusal;
  private readonly rateLimited: GuardRefusal;
  private readonly agentFull: GuardRefusal;
  private readonly shareFull: GuardRefusal;

  constructor(private readonly limits: GuardLimits) {
    this.share = limits.maxSessionsPerSource ?? sharePerAddress(limits.maxSessions);
    this.replay = { reason: 'replay', detail: 0, scope: 'agent' };
    this.rateLimited = { reason: 'rate-limited', detail: limits.maxRatePerS ?? 0, scope: 'agent' };
    this.agentFull = { reason: 'session-limit', detail: limits.maxSessions, scope: 'agent' };
    this.shareFull = { reason: 'session-limit', detail: this.share, scope: 'source-address' };
  }

  /**
   * null: answer it; otherwise why it is refused (count it; refusalAllowed says whether to
   * tell). `local`: the agent address the probe was sent to, '' when unknown (node:dgram does
   * not say): a controller socket probing several addresses of one agent holds one place each.
   */
  admit(address: string, port: number, session: number, seq: bigint, nowMs: number, local = ''): GuardRefusal | null {
    const known = this.sessions.get(session);
    if (known) {
      if (known.window?.seen(seq)) return this.replay;
      if (!this.takeToken(address, nowMs)) return this.rateLimited;
      known.lastSeenMs = nowMs;
      known.window?.mark(seq);
      return null;
    }
    const endpoint = `${address}|${port}|${local}`;
    // The place to free for the new session: the endpoint's old session, else (when its
    // address or the agent is full) the idlest place silent SESSION_RECLAIM_MS.
    let freed = this.byEndpoint.get(endpoint) ?? null;
    const agentFull = this.sessions.size >= this.limits.maxSessions;
    if (freed === null && this.placesOf(address) >= this.share) {
      freed = this.idlest(nowMs, address);
      // A full agent is the reason to tell: raising --max-sessions helps either way.
      if (freed === null) return agentFull ? this.agentFull : this.shareFull;
    }
    if (freed === null && agentFull) {
      freed = this.idlest(nowMs, null);
      if (freed === null) return this.agentFull;
    }
    if (!this.takeToken(address, nowMs)) return this.rateLimited;
    if (freed !== null) this.free(freed);
    const window = this.limits.replayWindow ? new ReplayWindow() : null;
    window?.mark(seq);
    this.sessions.set(session, { address, port, local, lastSeenMs: nowMs, window });
    this.byEndpoint.set(endpoint, session);
    return null;
  }

  /** A session-end: frees the place when the session is held by that address and port (towards `local`). */
  end(address: string, port: number, session: number, local = ''): boolean {
    const place = this.sessions.get(session);
    if (!place || place.address !== address || place.port !== port || place.local !== local) return false;
    this.free(session);
    return true;
  }

  /** Whether a refusal reply may go to `address` now (takes from its refusal budget). */
  refusalAllowed(address: string, reason: string, nowMs: number): boolean {
    const source = this.sourceOf(address, nowMs);
    if (!source) return false;
    if (reason === 'rate-limited' && nowMs - source.lastRateLimitedRefusalMs < RATE_LIMITED_REFUSAL_EVERY_MS) return false;
    if (!source.refusals.take(nowMs)) return false;
    if (reason === 'rate-limited') source.lastRateLimitedRefusalMs = nowMs;
    return true;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  private placesOf(address: string): number {
    let places = 0;
    for (const place of this.sessions.values()) if (place.address === address) places++;
    return places;
  }

  /** The session silent longest (of `address`, or of anyone), if silent SESSION_RECLAIM_MS. */
  private idlest(nowMs: number, address: string | null): number | null {
    let idlest: number | null = null;
    let idlestSeenMs = Infinity;
    for (const [id, place] of this.sessions) {
      if ((address === null || place.address === address) && place.lastSeenMs < idlestSeenMs) {
        idlest = id;
        idlestSeenMs = place.lastSeenMs;
      }
    }
    return idlest !== null && nowMs - idlestSeenMs >= SESSION_RECLAIM_MS ? idlest : null;
  }

  private free(session: number): void {
    const place = this.sessions.get(session);
    if (!place) return;
    this.sessions.delete(session);
    const endpoint = `${place.address}|${place.port}|${place.local}`;
    if (this.byEndpoint.get(endpoint) === session) this.byEndpoint.delete(endpoint);
  }

  private takeToken(address: string, nowMs: number): boolean {
    if (this.limits.maxRatePerS === null) return true;
    const source = this.sourceOf(address, nowMs);
    return source?.rate?.take(nowMs) ?? false;
  }

  /** The state of `address`, made on first use; null when MAX_TRACKED_SOURCES are tracked. */
  private sourceOf(address: string, nowMs: number): SourceState | null {
    let source = this.sources.get(address);
    if (!source) {
      if (this.sources.size >= MAX_TRACKED_SOURCES && !this.forgetQuietSources(nowMs)) return null;
      const rate = this.limits.maxRatePerS;
      source = {
        rate: rate === null ? null : new TokenBucket(rate, burstOf(rate), nowMs),
        refusals: new TokenBucket(REFUSALS_PER_S, REFUSAL_BURST, nowMs),
        lastRateLimitedRefusalMs: -Infinity,
      };
      this.sources.set(address, source);
    }
    return source;
  }

  /** Drops the state of sources quiet long enough to be full again; at most once a second. */
  private forgetQuietSources(nowMs: number): boolean {
    if (nowMs - this.lastSweepMs < SOURCE_SWEEP_EVERY_MS) return false;
    this.lastSweepMs = nowMs;
    for (const [address, source] of this.sources) {
      const quiet = (source.rate?.isFull(nowMs) ?? true) && source.refusals.isFull(nowMs) &&
        nowMs - source.lastRateLimitedRefusalMs >= RATE_LIMITED_REFUSAL_EVERY_MS;
      if (quiet) this.sources.delete(address);
    }
    return this.sources.size < MAX_TRACKED_SOURCES;
  }
}
