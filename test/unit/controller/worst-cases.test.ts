import { describe, it, expect } from 'vitest';
import { WorstCases, type WorstRoundTrip } from '../../../controller/recording/worst-cases.js';
import { Prng } from '../../helpers/prng.js';

const rt = (seq: number, rttNs: number): WorstRoundTrip => ({ seq: BigInt(seq), rttNs, atMs: 1_700_000_000_000 + seq });

describe('WorstCases', () => {
  it('defaults to 10 entries and starts empty', () => {
    const worst = new WorstCases();
    expect(worst.capacity).toBe(10);
    expect(worst.entries).toEqual([]);
  });

  it('keeps the N largest, largest first, whatever the arrival order', () => {
    const worst = new WorstCases(5);
    const rtts = [30, 10, 90, 50, 70, 20, 80, 40, 100, 60];
    rtts.forEach((rtt, seq) => worst.offer(rt(seq, rtt)));
    expect(worst.entries.map((e) => e.rttNs)).toEqual([100, 90, 80, 70, 60]);
    expect(worst.entries.map((e) => e.seq)).toEqual([8n, 2n, 6n, 4n, 9n]);
    expect(worst.entries[0]).toEqual(rt(8, 100));
  });

  it('matches a sort of 10 000 pseudo-random RTTs', () => {
    const worst = new WorstCases(10);
    const prng = new Prng(12345);
    const all: WorstRoundTrip[] = [];
    for (let seq = 0; seq < 10_000; seq++) {
      const candidate = rt(seq, prng.int(5_000_000));
      all.push(candidate);
      worst.offer(candidate);
      expect(worst.entries.length).toBe(Math.min(seq + 1, 10));
    }
    const expected = [...all].sort((a, b) => b.rttNs - a.rttNs || Number(a.seq - b.seq)).slice(0, 10);
    expect(worst.entries.map((e) => e.rttNs)).toEqual(expected.map((e) => e.rttNs));
  });

  it('ties: the earlier of equal RTTs ranks first, and a tie with the smallest kept entry does not displace it', () => {
    const worst = new WorstCases(3);
    worst.offer(rt(1, 50));
    worst.offer(rt(2, 50));
    worst.offer(rt(3, 70));
    expect(worst.entries.map((e) => e.seq)).toEqual([3n, 1n, 2n]);
    worst.offer(rt(4, 50)); // full, equal to the smallest: ignored
    expect(worst.entries.map((e) => e.seq)).toEqual([3n, 1n, 2n]);
    worst.offer(rt(5, 70));
    expect(worst.entries.map((e) => e.seq)).toEqual([3n, 5n, 1n]);
  });

  it('never holds more than its capacity; ascending input keeps the last N', () => {
    const worst = new WorstCases(4);
    for (let seq = 0; seq < 100; seq++) {
      worst.offer(rt(seq, seq * 10));
      expect(worst.entries.length).toBeLessThanOrEqual(4);
    }
    expect(worst.entries.map((e) => e.seq)).toEqual([99n, 98n, 97n, 96n]);
  });

  it('descending input keeps the first N', () => {
    const worst = new WorstCases(4);
    for (let seq = 0; seq < 100; seq++) worst.offer(rt(seq, 1000 - seq));
    expect(worst.entries.map((e) => e.seq)).toEqual([0n, 1n, 2n, 3n]);
  });

  it('capacity 1 keeps the single worst; capacity 0 keeps nothing', () => {
    const one = new WorstCases(1);
    const none = new WorstCases(0);
    for (const [seq, rtt] of [[0, 5], [1, 9], [2, 3]] as const) {
      one.offer(rt(seq, rtt));
      none.offer(rt(seq, rtt));
    }
    expect(one.entries).toEqual([rt(1, 9)]);
    expect(none.entries).toEqual([]);
  });
});
