import { describe, expect, it } from 'vitest';
import { burstOf, MAX_TRACKED_SOURCES, ProbeGuard, SESSION_RECLAIM_MS, sharePerAddress } from '../../../agent/probe-guard.js';
import { REPLAY_WINDOW, ReplayWindow } from '../../../agent/replay-window.js';
import { TokenBucket } from '../../../agent/token-bucket.js';

describe('ReplayWindow', () => {
  it('refuses a number seen before, accepts reordering within the window', () => {
    const w = new ReplayWindow();
    for (const seq of [0n, 1n, 2n, 5n, 4n]) {
      expect(w.seen(seq)).toBe(false);
      w.mark(seq);
    }
    expect(w.seen(3n)).toBe(false); // late but new
    for (const seq of [0n, 1n, 2n, 4n, 5n]) expect(w.seen(seq)).toBe(true);
  });

  it('refuses what is older than the window, forgets bits it slides past', () => {
    const w = new ReplayWindow();
    const W = BigInt(REPLAY_WINDOW);
    w.mark(10n);
    w.mark(10n + W - 1n);
    expect(w.seen(10n)).toBe(true); // still inside: marked
    expect(w.seen(11n)).toBe(false); // inside, never seen
    w.mark(10n + W);
    expect(w.seen(10n)).toBe(true); // now too old: refused whatever it was
    expect(w.seen(11n)).toBe(false); // the oldest number still inside
    expect(w.seen(12n)).toBe(false);
    // a jump far ahead clears the window
    w.mark(10n * W);
    expect(w.seen(10n * W)).toBe(true);
    expect(w.seen(10n * W - 1n)).toBe(false);
    expect(w.seen(10n * W - W)).toBe(true);
  });

  it('the bit of a number reused after the window slid is clear (ring wrap)', () => {
    const w = new ReplayWindow();
    w.mark(3n);
    w.mark(3n + BigInt(REPLAY_WINDOW) + 2n); // slides past; 3 + W shares 3's bit
    expect(w.seen(3n + BigInt(REPLAY_WINDOW))).toBe(false);
  });

  it('handles the top of the 64-bit range', () => {
    const w = new ReplayWindow();
    const top = 2n ** 64n - 1n;
    w.mark(top);
    expect(w.seen(top)).toBe(true);
    expect(w.seen(top - 1n)).toBe(false);
  });
});

describe('TokenBucket', () => {
  it('starts full, then gives `rate` tokens a second, never more than the burst', () => {
    const b = new TokenBucket(100, 10, 0);
    let taken = 0;
    while (b.take(0)) taken++;
    expect(taken).toBe(10);
    expect(b.take(5)).toBe(false); // 0.5 token
    expect(b.take(10)).toBe(true); // 1 token after 10 ms
    expect(b.take(10)).toBe(false);
    taken = 0;
    while (b.take(60_000)) taken++;
    expect(taken).toBe(10); // a minute of silence saves up only the burst
    expect(b.isFull(60_000)).toBe(false);
    expect(b.isFull(60_100)).toBe(true);
  });

  it('a clock going backwards gives no tokens', () => {
    const b = new TokenBucket(100, 1, 1000);
    expect(b.take(1000)).toBe(true);
    expect(b.take(0)).toBe(false);
    expect(b.take(1000)).toBe(false);
  });
});

describe('ProbeGuard', () => {
  /** the guard's verdict as a reason, null = answer */
  const verdict = (g: ProbeGuard, address: string, port: number, session: number, seq: bigint, nowMs: number): string | null =>
    g.admit(address, port, session, seq, nowMs)?.reason ?? null;

  it('rate: answers the burst at once, then the rate; per source address', () => {
    const g = new ProbeGuard({ maxRatePerS: 50, maxSessions: 16, replayWindow: false });
    const burst = burstOf(50);
    expect(burst).toBe(10);
    let answered = 0;
    for (let seq = 0n; seq < 100n; seq++) if (verdict(g, '10.0.0.1', 9, 1, seq, 0) === null) answered++;
    expect(answered).toBe(burst);
    expect(g.admit('10.0.0.1', 9, 1, 100n, 0)).toEqual({ reason: 'rate-limited', detail: 50, scope: 'agent' });
    expect(verdict(g, '10.0.0.2', 9, 2, 0n, 0)).toBeNull(); // another source has its own bucket
    expect(verdict(g, '10.0.0.1', 9, 1, 101n, 20)).toBeNull(); // 1 token per 20 ms at 50/s
    expect(verdict(g, '10.0.0.1', 9, 1, 102n, 20)).toBe('rate-limited');
    expect(burstOf(1000)).toBe(200);
  });

  it('no rate limit with maxRatePerS null', () => {
    const g = new ProbeGuard({ maxRatePerS: null, maxSessions: 1, replayWindow: false });
    for (let seq = 0n; seq < 10_000n; seq++) expect(verdict(g, '10.0.0.1', 9, 1, seq, 0)).toBeNull();
  });

  it('sessions: beyond the cap a new one is refused, until one has been silent SESSION_RECLAIM_MS', () => {
    const g = new ProbeGuard({ maxRatePerS: null, maxSessions: 2, replayWindow: false });
    expect(verdict(g, 'a', 1, 1, 0n, 0)).toBeNull();
    expect(verdict(g, 'b', 1, 2, 0n, 1000)).toBeNull();
    expect(g.admit('c', 1, 3, 0n, 1000)).toEqual({ reason: 'session-limit', detail: 2, scope: 'agent' });
    expect(verdict(g, 'a', 1, 1, 1n, SESSION_RECLAIM_MS - 1)).toBeNull(); // known sessions go on
    expect(verdict(g, 'c', 1, 3, 0n, SESSION_RECLAIM_MS + 999)).toBe('session-limit'); // 2 silent 4.999 s
    expect(verdict(g, 'c', 1, 3, 0n, SESSION_RECLAIM_MS + 1000)).toBeNull(); // 2 silent 5 s: 3 takes its place
    expect(g.sessionCount).toBe(2);
    expect(verdict(g, 'b', 2, 2, 1n, SESSION_RECLAIM_MS + 1000)).toBe('session-limit'); // 2 is gone
  });

  it('a new session from an address+port that holds one replaces it: junk from one socket holds one place', () => {
    const g = new ProbeGuard({ maxRatePerS: null, maxSessions: 16, replayWindow: false });
    for (let session = 1000; session < 1200; session++) expect(verdict(g, '10.0.0.9', 5555, session, 0n, 0)).toBeNull();
    expect(g.sessionCount).toBe(1);
    // the 199 replaced sessions are gone; the last one goes on
    expect(verdict(g, '10.0.0.9', 5555, 1199, 1n, 1)).toBeNull();
    // a genuine controller elsewhere finds 15 free places at once
    for (let port = 1; port <= 4; port++) expect(verdict(g, '10.0.0.1', port, port, 0n, 1)).toBeNull();
  });

  it('one source address holds at most a quarter of the places (at least one); others are not starved', () => {
    expect(sharePerAddress(16)).toBe(4);
    expect(sharePerAddress(3)).toBe(1);
    expect(sharePerAddress(1)).toBe(1);
    const g = new ProbeGuard({ maxRatePerS: null, maxSessions: 16, replayWindow: false });
    for (let port = 1; port <= 4; port++) expect(verdict(g, '10.0.0.9', port, port, 0n, 0)).toBeNull();
    expect(g.admit('10.0.0.9', 5, 5, 0n, 0)).toEqual({ reason: 'session-limit', detail: 4, scope: 'source-address' });
    for (let port = 1; port <= 12; port++) expect(verdict(g, `10.0.1.${port}`, 1, 100 + port, 0n, 0)).toBeNull();
    // the agent is full: that is the reason given, whatever the address holds
    expect(g.admit('10.0.0.9', 6, 6, 0n, 0)).toEqual({ reason: 'session-limit', detail: 16, scope: 'agent' });
    // 5 s later: the address's own silent place (not another's) is reclaimed for its new session
    for (let port = 1; port <= 12; port++) expect(verdict(g, `10.0.1.${port}`, 1, 100 + port, 1n, SESSION_RECLAIM_MS)).toBeNull();
    expect(verdict(g, '10.0.0.9', 7, 7, 0n, SESSION_RECLAIM_MS)).toBeNull();
    expect(g.sessionCount).toBe(16);
  });

  it('a session-end from its holder frees the place at once; from anyone else it changes nothing', () => {
    const g = new ProbeGuard({ maxRatePerS: null, maxSessions: 1, replayWindow: false });
    expect(verdict(g, 'a', 1, 1, 0n, 0)).toBeNull();
    expect(verdict(g, 'b', 1, 2, 0n, 1)).toBe('session-limit');
    expect(g.end('a', 2, 1)).toBe(false); // another port
    expect(g.end('b', 1, 1)).toBe(false); // another address
    expect(g.end('a', 1, 2)).toBe(false); // a session it does not hold
    expect(verdict(g, 'b', 1, 2, 0n, 2)).toBe('session-limit');
    expect(g.end('a', 1, 1)).toBe(true);
    expect(g.sessionCount).toBe(0);
    expect(verdict(g, 'b', 1, 2, 0n, 3)).toBeNull();
  });

  it('refusal replies: 10 at once, then 100 a second per source address; rate-limited ones once a second', () => {
    const g = new ProbeGuard({ maxRatePerS: null, maxSessions: 1, replayWindow: false });
    let allowed = 0;
    for (let i = 0; i < 50; i++) if (g.refusalAllowed('a', 'session-limit', 0)) allowed++;
    expect(allowed).toBe(10);
    expect(g.refusalAllowed('b', 'session-limit', 0)).toBe(true); // another address has its own budget
    expect(g.refusalAllowed('a', 'session-limit', 10)).toBe(true); // one a 10 ms
    expect(g.refusalAllowed('a', 'session-limit', 10)).toBe(false);
    expect(g.refusalAllowed('c', 'rate-limited', 0)).toBe(true);
    expect(g.refusalAllowed('c', 'rate-limited', 999)).toBe(false);
    expect(g.refusalAllowed('c', 'session-limit', 999)).toBe(true); // other reasons are not held back
    expect(g.refusalAllowed('c', 'rate-limited', 1000)).toBe(true);
  });

  it('replays: refused with a key, each sequence number answered once per session', () => {
    const g = new ProbeGuard({ maxRatePerS: null, maxSessions: 4, replayWindow: true });
    expect(verdict(g, 'a', 1, 1, 5n, 0)).toBeNull();
    expect(verdict(g, 'a', 1, 1, 5n, 1)).toBe('replay');
    expect(verdict(g, 'b', 1, 2, 5n, 1)).toBeNull(); // another session
    expect(verdict(g, 'a', 1, 1, 4n, 2)).toBeNull(); // reordered, new
    const open = new ProbeGuard({ maxRatePerS: null, maxSessions: 4, replayWindow: false });
    expect(verdict(open, 'a', 1, 1, 5n, 0)).toBeNull();
    expect(verdict(open, 'a', 1, 1, 5n, 1)).toBeNull(); // without a key a duplicate is answered (and counted by the recorder)
  });

  it('a refused probe leaves no trace: a rate-limited number is still answerable later', () => {
    const g = new ProbeGuard({ maxRatePerS: 1, maxSessions: 4, replayWindow: true });
    for (let seq = 0n; seq < 10n; seq++) expect(verdict(g, 'a', 1, 1, seq, 0)).toBeNull();
    expect(verdict(g, 'a', 1, 1, 10n, 0)).toBe('rate-limited');
    expect(verdict(g, 'a', 1, 1, 10n, 1000)).toBeNull();
  });

  it('state stays bounded: more sources than it tracks are refused until quiet ones are forgotten', () => {
    const g = new ProbeGuard({ maxRatePerS: 1000, maxSessions: 1, replayWindow: false });
    for (let i = 0; i < MAX_TRACKED_SOURCES; i++) expect(verdict(g, `s${i}`, 1, 1, BigInt(i), 0)).toBeNull();
    expect(verdict(g, 'one-too-many', 1, 1, 0n, 0)).toBe('rate-limited');
    expect(g.refusalAllowed('one-too-many', 'rate-limited', 0)).toBe(false); // no state, no refusal reply
    // 1 s later every bucket is full again (burst 200 at 1000/s takes 1 ms to refill one token)
    expect(verdict(g, 'one-too-many', 1, 1, 1n, 1000)).toBeNull();
  });
});

describe('ProbeGuard: one controller socket, several agent addresses', () => {
  it('holds one place per agent address it probes (many targets on one agent), and ends each apart', () => {
    const g = new ProbeGuard({ maxRatePerS: null, maxSessions: 1024, replayWindow: false });
    for (let i = 1; i <= 200; i++) expect(g.admit('10.0.0.1', 4000, i, 0n, 0, `127.0.1.${i}`)).toBeNull();
    expect(g.sessionCount).toBe(200);
    expect(g.end('10.0.0.1', 4000, 7, '127.0.1.8')).toBe(false);
    expect(g.end('10.0.0.1', 4000, 7, '127.0.1.7')).toBe(true);
    expect(g.sessionCount).toBe(199);
  });

  it('--max-sessions-per-source: 1000 targets of one controller fit 1024 places; the default quarter would refuse most', () => {
    const quarter = new ProbeGuard({ maxRatePerS: null, maxSessions: 1024, replayWindow: false });
    const own = new ProbeGuard({ maxRatePerS: null, maxSessions: 1024, maxSessionsPerSource: 1024, replayWindow: false });
    const refusedOf = (g: ProbeGuard): number => Array.from({ length: 1000 }, (_, i) => g.admit('127.0.0.1', 4000, i + 1, 0n, 0, `127.0.${1 + (i >> 8)}.${i & 255}`))
      .filter((r) => r !== null).length;
    expect(refusedOf(quarter)).toBe(1000 - 256);
    expect(refusedOf(own)).toBe(0);
    expect(own.sessionCount).toBe(1000);
    // the cap of the whole agent still holds: 24 more places, then none
    for (let i = 0; i < 24; i++) expect(own.admit(`10.0.1.${i}`, 1, 5000 + i, 0n, 0)).toBeNull();
    expect(own.admit('10.0.0.3', 1, 6000, 0n, 0)).toMatchObject({ reason: 'session-limit', detail: 1024, scope: 'agent' });
  });
});
