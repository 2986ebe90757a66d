import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ReplyMatcher, type CompletedRoundTrip, type ReplyMatcherOptions } from '../../../controller/matching/reply-matcher.js';

const SEC = 1_000_000_000n;
const T0 = 1_000_000_000_000n; // synthetic CLOCK_MONOTONIC origin
const KERNEL_OFFSET = 1_700_000_000n * SEC; // TX/RX stamps on another clock (kernel CLOCK_REALTIME)
const PERIOD = 10_000_000n; // 100 Hz

const OPTIONS: ReplyMatcherOptions = { capacity: 64, timeoutNs: 1e9, lossAfterNs: 10n * SEC };

function sentAt(seq: bigint): bigint { return T0 + seq * PERIOD; }

/** Sends `seq` on its slot with a TX stamp on the kernel clock; returns what eviction completed. */
function send(m: ReplyMatcher, seq: bigint, withTx = true): readonly CompletedRoundTrip[] {
  const evicted = m.onSent(seq, sentAt(seq), 1_700_000_000_000 + Number(seq) * 10);
  if (withTx) expect(m.onTxStamp(seq, sentAt(seq) + KERNEL_OFFSET + 1_000n)).toBeNull();
  return evicted;
}

/** The reply to `seq` arrives `rttNs` after its TX stamp (on both clocks). */
function reply(m: ReplyMatcher, seq: bigint, rttNs: bigint) {
  return m.onReply(seq, sentAt(seq) + KERNEL_OFFSET + 1_000n + rttNs, sentAt(seq) + 1_000n + rttNs);
}

function counters(m: ReplyMatcher) {
  return {
    sent: m.sent, received: m.received, lost: m.lost, late: m.late, duplicates: m.duplicates,
    reordered: m.reordered, stampFallbacks: m.stampFallbacks, inFlight: m.inFlight,
  };
}

const ZERO = { sent: 0, received: 0, lost: 0, late: 0, duplicates: 0, reordered: 0, stampFallbacks: 0, inFlight: 0 };

describe('ReplyMatcher: all answered', () => {
  it('100 probes answered in order: received 100, RTTs from the TX/RX stamps', () => {
    const m = new ReplyMatcher(OPTIONS);
    for (let seq = 0n; seq < 100n; seq++) {
      send(m, seq);
      const outcome = reply(m, seq, 100_000n + seq);
      expect(outcome).toEqual({
        kind: 'accepted', reordered: false,
        completed: { seq, rttNs: 100_000 + Number(seq), sentWallMs: 1_700_000_000_000 + Number(seq) * 10, late: false, userFallback: false, turnaroundNs: null },
      });
    }
    expect(counters(m)).toEqual({ ...ZERO, sent: 100, received: 100 });
    expect(m.expire(sentAt(200n) + 20n * SEC)).toEqual([]);
    expect(m.finish()).toEqual([]);
    expect(counters(m)).toEqual({ ...ZERO, sent: 100, received: 100 });
  });
});

describe('ReplyMatcher: loss', () => {
  it('a probe never answered is lost at sent + lossAfter, not a ns before', () => {
    const m = new ReplyMatcher(OPTIONS);
    for (let seq = 0n; seq < 5n; seq++) send(m, seq);
    for (const seq of [0n, 1n, 3n, 4n]) reply(m, seq, 200_000n);
    expect(m.inFlight).toBe(1);

    expect(m.expire(sentAt(2n) + 10n * SEC - 1n)).toEqual([]);
    expect(m.lost).toBe(0);
    expect(m.inFlight).toBe(1);

    expect(m.expire(sentAt(2n) + 10n * SEC)).toEqual([]);
    expect(counters(m)).toEqual({ ...ZERO, sent: 5, received: 4, lost: 1 });
  });

  it('expire is idempotent and finish() declares the rest lost', () => {
    const m = new ReplyMatcher(OPTIONS);
    for (let seq = 0n; seq < 3n; seq++) send(m, seq);
    m.expire(sentAt(0n) + 10n * SEC);
    m.expire(sentAt(0n) + 10n * SEC);
    expect(m.lost).toBe(1);
    m.finish();
    expect(counters(m)).toEqual({ ...ZERO, sent: 3, lost: 3 });
  });
});

describe('ReplyMatcher: late', () => {
  it('an RTT above the timeout is late, still received, with its real RTT', () => {
    const m = new ReplyMatcher(OPTIONS);
    send(m, 0n);
    send(m, 1n);
    const onTime = reply(m, 0n, SEC); // exactly the timeout: not late
    const late = reply(m, 1n, 1_500_000_000n);
    expect(onTime).toMatchObject({ kind: 'accepted', completed: { rttNs: 1e9, late: false } });
    expect(late).toMatchObject({ kind: 'accepted', completed: { seq: 1n, rttNs: 1.5e9, late: true } });
    expect(counters(m)).toEqual({ ...ZERO, sent: 2, received: 2, late: 1 });
  });

  it('one ns above the timeout is late', () => {
    const m = new ReplyMatcher(OPTIONS);
    send(m, 0n);
    expect(reply(m, 0n, SEC + 1n)).toMatchObject({ completed: { late: true } });
    expect(m.late).toBe(1);
  });
});

describe('ReplyMatcher: duplicates', () => {
  it('a second reply is a duplicate and does not count as received', () => {
    const m = new ReplyMatcher(OPTIONS);
    send(m, 0n);
    send(m, 1n);
    reply(m, 0n, 50_000n);
    expect(reply(m, 0n, 60_000n)).toEqual({ kind: 'duplicate' });
    expect(reply(m, 0n, 70_000n)).toEqual({ kind: 'duplicate' });
    reply(m, 1n, 50_000n);
    expect(counters(m)).toEqual({ ...ZERO, sent: 2, received: 2, duplicates: 2 });
  });

  it('a duplicate while the TX stamp is still missing is a duplicate too', () => {
    const m = new ReplyMatcher(OPTIONS);
    send(m, 0n, false);
    expect(reply(m, 0n, 50_000n)).toEqual({ kind: 'accepted', reordered: false, completed: null });
    expect(reply(m, 0n, 50_000n)).toEqual({ kind: 'duplicate' });
    expect(m.duplicates).toBe(1);
  });
});

describe('ReplyMatcher: reordering', () => {
  it('reply 5 after reply 6: reordered 1, both received', () => {
    const m = new ReplyMatcher(OPTIONS);
    for (let seq = 0n; seq <= 6n; seq++) send(m, seq);
    for (let seq = 0n; seq <= 4n; seq++) reply(m, seq, 100_000n);
    expect(reply(m, 6n, 100_000n)).toMatchObject({ kind: 'accepted', reordered: false });
    expect(reply(m, 5n, 100_000n)).toMatchObject({ kind: 'accepted', reordered: true, completed: { seq: 5n } });
    expect(counters(m)).toEqual({ ...ZERO, sent: 7, received: 7, reordered: 1 });
  });

  it('a gap (lost probe) is not reordering', () => {
    const m = new ReplyMatcher(OPTIONS);
    for (let seq = 0n; seq < 4n; seq++) send(m, seq);
    for (const seq of [0n, 2n, 3n]) expect(reply(m, seq, 1_000n)).toMatchObject({ reordered: false });
    expect(m.reordered).toBe(0);
  });
});

describe('ReplyMatcher: TX stamps', () => {
  it('reply before the TX stamp: the TX stamp completes the round trip', () => {
    const m = new ReplyMatcher(OPTIONS);
    m.onSent(0n, T0, 1000);
    expect(m.onReply(0n, KERNEL_OFFSET + T0 + 80_000n, T0 + 90_000n)).toEqual({ kind: 'accepted', reordered: false, completed: null });
    expect(m.received).toBe(1);
    const completed = m.onTxStamp(0n, KERNEL_OFFSET + T0 + 5_000n);
    expect(completed).toEqual({ seq: 0n, rttNs: 75_000, sentWallMs: 1000, late: false, userFallback: false, turnaroundNs: null });
    expect(m.onTxStamp(0n, KERNEL_OFFSET + T0 + 5_000n)).toBeNull(); // a repeated stamp completes nothing
    expect(counters(m)).toEqual({ ...ZERO, sent: 1, received: 1 });
  });

  it('missing TX stamp: at expire the round trip completes from the monotonic stamps', () => {
    const m = new ReplyMatcher(OPTIONS);
    m.onSent(0n, T0, 1000);
    m.onReply(0n, KERNEL_OFFSET + T0 + 80_000n, T0 + 90_000n);
    expect(m.expire(T0 + 10n * SEC - 1n)).toEqual([]);
    expect(m.stampFallbacks).toBe(0);
    expect(m.expire(T0 + 10n * SEC)).toEqual([{ seq: 0n, rttNs: 90_000, sentWallMs: 1000, late: false, userFallback: true, turnaroundNs: null }]);
    expect(counters(m)).toEqual({ ...ZERO, sent: 1, received: 1, stampFallbacks: 1 });
  });

  it('missing TX stamp: finish() completes it from the monotonic stamps too', () => {
    const m = new ReplyMatcher(OPTIONS);
    m.onSent(0n, T0, 1000);
    m.onReply(0n, 1n, T0 + 2n * SEC);
    expect(m.finish()).toEqual([{ seq: 0n, rttNs: 2e9, sentWallMs: 1000, late: true, userFallback: true, turnaroundNs: null }]);
    expect(counters(m)).toEqual({ ...ZERO, sent: 1, received: 1, late: 1, stampFallbacks: 1 });
  });

  it('a wall-clock step between the kernel stamps: the RTT is the monotonic one, counted as a fallback', () => {
    const m = new ReplyMatcher(OPTIONS);
    // sent at T0 (TX stamp 5 µs later), reply read 90 µs after sending, stamped at 80 µs ...
    m.onSent(0n, T0, 1000);
    m.onTxStamp(0n, KERNEL_OFFSET + T0 + 5_000n);
    // ... but the wall clock stepped +30 s in between
    expect(m.onReply(0n, KERNEL_OFFSET + 30n * SEC + T0 + 80_000n, T0 + 90_000n)).toMatchObject({
      completed: { rttNs: 90_000, late: false, userFallback: true },
    });
    // and -30 s: the stamped RTT would be negative
    m.onSent(1n, T0 + PERIOD, 1010);
    m.onTxStamp(1n, KERNEL_OFFSET + T0 + PERIOD + 5_000n);
    expect(m.onReply(1n, KERNEL_OFFSET - 30n * SEC + T0 + PERIOD + 80_000n, T0 + PERIOD + 90_000n)).toMatchObject({
      completed: { rttNs: 90_000, late: false, userFallback: true },
    });
    // a stamped RTT up to 1 ms (+0.1%) over the monotonic one is no step (a NIC clock's drift): kept
    m.onSent(2n, T0 + 2n * PERIOD, 1020);
    m.onTxStamp(2n, KERNEL_OFFSET + T0 + 2n * PERIOD);
    expect(m.onReply(2n, KERNEL_OFFSET + T0 + 2n * PERIOD + 1_090_000n, T0 + 2n * PERIOD + 90_000n)).toMatchObject({
      completed: { rttNs: 1_090_000, userFallback: false },
    });
    expect(counters(m)).toEqual({ ...ZERO, sent: 3, received: 3, stampFallbacks: 2 });
  });

  it('a TX stamp for a seq never sent is ignored', () => {
    const m = new ReplyMatcher(OPTIONS);
    expect(m.onTxStamp(3n, 1n)).toBeNull();
    expect(counters(m)).toEqual(ZERO);
  });
});

describe('ReplyMatcher: replies that match nothing', () => {
  it('a reply for a seq never sent is unknown-seq and changes no counter', () => {
    const m = new ReplyMatcher(OPTIONS);
    expect(reply(m, 0n, 1_000n)).toEqual({ kind: 'unknown-seq' });
    for (let seq = 0n; seq < 10n; seq++) send(m, seq);
    expect(reply(m, 10n, 1_000n)).toEqual({ kind: 'unknown-seq' });
    expect(reply(m, 2n ** 64n - 1n, 1_000n)).toEqual({ kind: 'unknown-seq' });
    expect(counters(m)).toEqual({ ...ZERO, sent: 10, inFlight: 10 });
  });

  it('a reply after its probe was declared lost is expired, not received', () => {
    const m = new ReplyMatcher(OPTIONS);
    send(m, 0n);
    m.expire(sentAt(0n) + 10n * SEC);
    expect(m.lost).toBe(1);
    expect(reply(m, 0n, 11n * SEC)).toEqual({ kind: 'expired' });
    expect(counters(m)).toEqual({ ...ZERO, sent: 1, lost: 1 });
  });

  it('a reply for a seq whose ring slot was reused is expired', () => {
    const m = new ReplyMatcher({ ...OPTIONS, capacity: 16 });
    for (let seq = 0n; seq < 40n; seq++) { send(m, seq); reply(m, seq, 1_000n); }
    expect(reply(m, 3n, 1_000n)).toEqual({ kind: 'expired' });
    expect(m.duplicates).toBe(0);
  });
});

describe('ReplyMatcher: ring', () => {
  it('capacity 16, 1000 probes answered in order: nothing in flight after each, nothing lost', () => {
    const m = new ReplyMatcher({ ...OPTIONS, capacity: 16 });
    for (let seq = 0n; seq < 1000n; seq++) {
      expect(send(m, seq)).toEqual([]);
      expect(reply(m, seq, 30_000n)).toMatchObject({ kind: 'accepted', completed: { seq, rttNs: 30_000 } });
      expect(m.inFlight).toBe(0);
    }
    expect(counters(m)).toEqual({ ...ZERO, sent: 1000, received: 1000 });
  });

  it('capacity 16 with a window of 8 outstanding: inFlight stays 8, nothing evicted', () => {
    const m = new ReplyMatcher({ ...OPTIONS, capacity: 16 });
    for (let seq = 0n; seq < 1000n; seq++) {
      expect(send(m, seq)).toEqual([]);
      if (seq >= 8n) expect(reply(m, seq - 8n, 80_000n)).toMatchObject({ kind: 'accepted', reordered: false });
      m.expire(sentAt(seq));
      expect(m.inFlight).toBe(Math.min(Number(seq) + 1, 9) - (seq >= 8n ? 1 : 0));
    }
    expect(counters(m)).toEqual({ ...ZERO, sent: 1000, received: 992, inFlight: 8 });
  });

  it('eviction when expire is never called: the oldest unanswered probe is lost to make room', () => {
    const m = new ReplyMatcher({ ...OPTIONS, capacity: 16 });
    for (let seq = 0n; seq < 16n; seq++) expect(send(m, seq)).toEqual([]);
    expect(m.inFlight).toBe(16);
    for (let seq = 16n; seq < 20n; seq++) expect(send(m, seq)).toEqual([]);
    expect(counters(m)).toEqual({ ...ZERO, sent: 20, lost: 4, inFlight: 16 });
    expect(reply(m, 0n, 1_000n)).toEqual({ kind: 'expired' });
    expect(reply(m, 4n, 1_000n)).toMatchObject({ kind: 'accepted' });
  });

  it('eviction of a replied probe still waiting for its TX stamp completes it with user stamps', () => {
    const m = new ReplyMatcher({ ...OPTIONS, capacity: 16 });
    send(m, 0n, false);
    reply(m, 0n, 70_000n);
    for (let seq = 1n; seq < 16n; seq++) expect(send(m, seq)).toEqual([]);
    const evicted = send(m, 16n);
    expect(evicted).toEqual([{ seq: 0n, rttNs: 71_000, sentWallMs: 1_700_000_000_000, late: false, userFallback: true, turnaroundNs: null }]);
    expect(m.stampFallbacks).toBe(1);
    expect(m.lost).toBe(0);
  });

  it('capacity below 16 is raised to 16', () => {
    const m = new ReplyMatcher({ ...OPTIONS, capacity: 2 });
    for (let seq = 0n; seq < 16n; seq++) send(m, seq);
    expect(m.lost).toBe(0);
    send(m, 16n);
    expect(m.lost).toBe(1);
  });
});

describe('ReplyMatcher: 64-bit sequence numbers', () => {
  it('probes with seqs from 2^64-10 to 2^64-1 are accounted like any others', () => {
    // Run in a child process: if onSent cannot handle a first seq far from 0 it loops
    // ~2^64 times, and a synchronous loop cannot be interrupted inside this worker.
    const moduleUrl = pathToFileURL(fileURLToPath(new URL('../../../controller/matching/reply-matcher.ts', import.meta.url))).href;
    const script = `
      import { ReplyMatcher } from ${JSON.stringify(moduleUrl)};
      const m = new ReplyMatcher({ capacity: 16, timeoutNs: 1e9, lossAfterNs: 10_000_000_000n });
      const first = 2n ** 64n - 10n;
      const outcomes = [];
      for (let i = 0n; i < 10n; i++) { m.onSent(first + i, 1000n + i, 0); m.onTxStamp(first + i, 1000n + i); }
      const order = [0n, 1n, 2n, 3n, 4n, 6n, 5n, 8n, 9n]; // 7 never answered, 5 after 6
      for (const i of order) outcomes.push(m.onReply(first + i, 1000n + i + 500n, 0n));
      outcomes.push(m.onReply(first, 2000n, 0n)); // duplicate
      m.expire(1000n + 7n + 10_000_000_000n);
      const show = (o) => JSON.stringify(o, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
      console.log(show({ outcomes, sent: m.sent, received: m.received, lost: m.lost, duplicates: m.duplicates,
        reordered: m.reordered, inFlight: m.inFlight }));
    `;
    const root = fileURLToPath(new URL('../../..', import.meta.url));
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: root, encoding: 'utf8', timeout: 5_000 });
    if (child.error) {
      expect.fail(`ReplyMatcher did not account 10 probes starting at seq 2^64-10 within 5 s (${child.error.message})`);
    }
    expect(child.status, child.stderr).toBe(0);
    const result = JSON.parse(child.stdout);
    expect(result).toMatchObject({ sent: 10, received: 9, lost: 1, duplicates: 1, reordered: 1, inFlight: 0 });
    expect(result.outcomes[8]).toMatchObject({
      kind: 'accepted', reordered: false, completed: { seq: String(2n ** 64n - 1n), rttNs: 500 },
    });
    expect(result.outcomes[9]).toEqual({ kind: 'duplicate' });
  });
});

describe('ReplyMatcher: seqs across 2^53 (numbers below it, BigInts above)', () => {
  it('probes from 2^53-8 to 2^53+8 are matched, reordered, lost and timed alike on both sides', () => {
    const m = new ReplyMatcher({ capacity: 16, timeoutNs: 1e9, lossAfterNs: 10n * SEC });
    const first = 2n ** 53n - 8n;
    // monotonic stamps past 2^53 too (a host up 105 days) and kernel stamps of today's CLOCK_REALTIME
    const mono = 2n ** 53n + 123n;
    const completed: CompletedRoundTrip[] = [];
    for (let i = 0n; i < 16n; i++) {
      m.onSent(first + i, mono + i * PERIOD, 0);
      expect(m.onTxStamp(first + i, KERNEL_OFFSET + i * PERIOD + 7n)).toBeNull();
    }
    for (const i of [0n, 1n, 2n, 3n, 4n, 5n, 6n, 8n, 7n, 9n, 10n, 12n, 13n, 14n, 15n]) { // 11 never answered, 7 after 8
      const outcome = m.onReply(first + i, KERNEL_OFFSET + i * PERIOD + 7n + 250_001n + i, mono + i * PERIOD + 300_000n);
      if (outcome.kind === 'accepted' && outcome.completed) completed.push(outcome.completed);
    }
    expect(m.onReply(first + 8n, KERNEL_OFFSET, mono)).toEqual({ kind: 'duplicate' });
    expect(m.onReply(first + 16n, KERNEL_OFFSET, mono)).toEqual({ kind: 'unknown-seq' });
    m.expire(mono + 11n * PERIOD + 10n * SEC);
    expect(counters(m)).toEqual({ ...ZERO, sent: 16, received: 15, lost: 1, duplicates: 1, reordered: 1 });
    // every RTT from the kernel stamps, to the ns: 250 001 + i
    expect(completed.map((c) => [c.seq - first, c.rttNs, c.userFallback]))
      .toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 8n, 7n, 9n, 10n, 12n, 13n, 14n, 15n].map((i) => [i, 250_001 + Number(i), false]));
  });
});

describe('ReplyMatcher: turnaround', () => {
  it('carries the reply\'s turnaround to the completed round trip', () => {
    const m = new ReplyMatcher({ capacity: 16, timeoutNs: 1e9, lossAfterNs: 10n ** 10n });
    m.onSent(0n, 1_000n, 1);
    m.onTxStamp(0n, 5_000n);
    const outcome = m.onReply(0n, 105_000n, 2_000n, 30_000);
    expect(outcome).toMatchObject({ kind: 'accepted', completed: { rttNs: 100_000, turnaroundNs: 30_000 } });
  });
});
