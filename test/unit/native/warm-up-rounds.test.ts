import { describe, expect, it } from 'vitest';
import { monoNs } from '../../../shared/time/clock.js';
import { warmUpInRounds } from '../../../shared/native/warm-up-rounds.js';

/** A round that takes `ms` (a busy wait: what a round's compiled code would take) and reports when it ran. */
function timedRounds(msOfRound: (index: number) => number): { round: (index: number) => number; calls: { index: number; startNs: bigint; endNs: bigint }[] } {
  const calls: { index: number; startNs: bigint; endNs: bigint }[] = [];
  return {
    calls,
    round: (index) => {
      const startNs = monoNs();
      const untilNs = startNs + BigInt(Math.round(msOfRound(index) * 1e6));
      while (monoNs() < untilNs) { /* the round's work */ }
      calls.push({ index, startNs, endNs: monoNs() });
      return 100;
    },
  };
}

const msBetween = (fromNs: bigint, toNs: bigint): number => Number(toNs - fromNs) / 1e6;

describe('warmUpInRounds: rounds until they stop getting faster, then one more after a pause', () => {
  it('rounds that flatten: at least min, then a last one 20 ms after the one before (V8 attaches compiled code at the next call)', async () => {
    const { round, calls } = timedRounds((i) => [10, 7, 5][i] ?? 3);
    const warmUp = await warmUpInRounds(round, 6, 24);
    expect(calls.map((c) => c.index)).toEqual([...Array(warmUp.rounds).keys()]);
    expect(warmUp.rounds).toBeGreaterThanOrEqual(7);
    expect(warmUp.rounds).toBeLessThan(24);
    expect(warmUp.probes).toBe(warmUp.rounds * 100);
    const [beforeLast, last] = calls.slice(-2);
    expect(msBetween(beforeLast?.endNs ?? 0n, last?.startNs ?? 0n)).toBeGreaterThanOrEqual(19.5);
    expect(warmUp.firstRoundMs).toBeGreaterThanOrEqual(10);
    expect(warmUp.lastRoundMs).toBeGreaterThanOrEqual(3);
  });

  it('rounds that keep getting faster stop at max, the last of them after the pause', async () => {
    const { round, calls } = timedRounds((i) => 40 * 0.7 ** i);
    const warmUp = await warmUpInRounds(round, 6, 10);
    expect(warmUp.rounds).toBe(10);
    expect(calls).toHaveLength(10);
    const [beforeLast, last] = calls.slice(-2);
    expect(msBetween(beforeLast?.endNs ?? 0n, last?.startNs ?? 0n)).toBeGreaterThanOrEqual(19.5);
  });
});
