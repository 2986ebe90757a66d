import { describe, expect, it } from 'vitest';
import { monoNs, realNs, wallMsOfMono } from '../../../shared/time/clock.js';

describe('wallMsOfMono', () => {
  it('is the wall clock of now, to the ms', () => {
    const before = Date.now();
    const atMs = wallMsOfMono(monoNs());
    const after = Date.now();
    expect(atMs).toBeGreaterThanOrEqual(before - 2);
    expect(atMs).toBeLessThanOrEqual(after + 2);
  });

  // (an epoch ms of today is a double whose last bit is 0.24 µs: µs is what it can hold)
  it('keeps µs between instants, also at a monotonic clock past 2^53 ns (104 days of uptime)', () => {
    const now = monoNs();
    expect(wallMsOfMono(now + 1_234_567n) - wallMsOfMono(now)).toBeCloseTo(1.234567, 3);
    const late = 2n ** 53n + 987_654_321n;
    expect(wallMsOfMono(late + 5_000n) - wallMsOfMono(late)).toBeCloseTo(0.005, 3);
    expect(wallMsOfMono(late) - wallMsOfMono(now)).toBeCloseTo(Number(late - now) / 1e6, 3);
  });

  it('agrees with realNs', () => {
    const real = realNs();
    const atMs = wallMsOfMono(monoNs());
    expect(Math.abs(atMs - Number(real / 1_000_000n))).toBeLessThan(2);
  });
});
