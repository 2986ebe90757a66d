import { describe, it, expect } from 'vitest';
import {
  HISTOGRAM_DIGITS, HISTOGRAM_HIGHEST_NS, HISTOGRAM_LOWEST_NS, LatencyHistogram, PERCENTILE_KEYS,
  type LatencySummary,
} from '../../../shared/histogram/latency-histogram.js';

const US = 1_000;

/** The exact percentile of a sorted data set: the smallest value with at least p% at or below it. */
function exactPercentile(sorted: number[], percentile: number): number {
  // (99.9 / 100) * 50 000 is 49 950.00000000001 in floating point: drop that ulp before rounding up
  const rank = Math.max(1, Math.ceil((percentile / 100) * sorted.length - 1e-6));
  return sorted[rank - 1] ?? Number.NaN;
}

function expectPercentilesInRange(s: LatencySummary): void {
  for (const [key] of PERCENTILE_KEYS) {
    const value = s[key];
    expect(value).not.toBeNull();
    if (value === null || s.max === null) continue;
    expect(value).toBeLessThanOrEqual(s.max);
  }
}

describe('LatencyHistogram', () => {
  it('is configured for ns, 1 µs .. 60 s, 3 significant digits', () => {
    expect(HISTOGRAM_LOWEST_NS).toBe(1_000);
    expect(HISTOGRAM_HIGHEST_NS).toBe(60e9);
    expect(HISTOGRAM_DIGITS).toBe(3);
    expect(PERCENTILE_KEYS.map(([key, p]) => [key, p])).toEqual([
      ['p50', 50], ['p90', 90], ['p99', 99], ['p99_9', 99.9], ['p99_99', 99.99], ['p99_999', 99.999],
    ]);
  });

  it('an empty summary has count 0 and nulls everywhere else', () => {
    expect(new LatencyHistogram().summary()).toEqual({
      count: 0, min: null, max: null, mean: null,
      p50: null, p90: null, p99: null, p99_9: null, p99_99: null, p99_999: null,
    });
  });

  it('count, min and max are exact (not bucket edges)', () => {
    const h = new LatencyHistogram();
    for (const v of [123_457, 9_876_543_211, 1_001, 55_555_555]) h.record(v);
    const s = h.summary();
    expect(s.count).toBe(4);
    expect(s.min).toBe(1_001);
    expect(s.max).toBe(9_876_543_211);
    expect(s.mean).toBe(Math.round((123_457 + 9_876_543_211 + 1_001 + 55_555_555) / 4));
  });

  it('a single value: every percentile is that value', () => {
    const h = new LatencyHistogram();
    h.record(1_234_567);
    const s = h.summary();
    for (const [key] of PERCENTILE_KEYS) expect(s[key]).toBe(1_234_567);
    expect(s).toMatchObject({ count: 1, min: 1_234_567, max: 1_234_567, mean: 1_234_567 });
  });

  it('percentiles of 1..100 000 µs are within 0.1% of the exact percentiles', () => {
    const h = new LatencyHistogram();
    const data: number[] = [];
    // record in a scrambled order: the summary must not depend on it
    for (let i = 0; i < 100_000; i++) data.push((((i * 7919) % 100_000) + 1) * US);
    for (const v of data) h.record(v);
    const sorted = [...data].sort((a, b) => a - b);
    const s = h.summary();
    expect(s).toMatchObject({ count: 100_000, min: 1 * US, max: 100_000 * US, mean: 50_000_500 });
    for (const [key, percentile] of PERCENTILE_KEYS) {
      const exact = exactPercentile(sorted, percentile);
      const got = s[key];
      expect(got, key).not.toBeNull();
      expect(Math.abs((got ?? 0) - exact) / exact, `${key}: got ${got}, exact ${exact}`).toBeLessThanOrEqual(0.001);
    }
    expectPercentilesInRange(s);
  });

  // Below ~1 ms the resolution is the 1 µs floor (HDR lowestDiscernibleValue), above it 3 digits.
  it('long-tailed data across decades: percentiles within max(0.1%, 1 µs) of exact', () => {
    const h = new LatencyHistogram();
    const data: number[] = [];
    let x = 1;
    for (let i = 0; i < 50_000; i++) {
      x = (x * 48271) % 2147483647;
      const u = x / 2147483647;
      data.push(Math.round(20 * US / (1 - u * 0.99999))); // 20 µs .. ~2 s
    }
    for (const v of data) h.record(v);
    const sorted = [...data].sort((a, b) => a - b);
    const s = h.summary();
    for (const [key, percentile] of PERCENTILE_KEYS) {
      const exact = exactPercentile(sorted, percentile);
      expect(Math.abs((s[key] ?? 0) - exact), `${key}: got ${s[key]}, exact ${exact}`)
        .toBeLessThanOrEqual(Math.max(0.001 * exact, 1 * US));
    }
    expectPercentilesInRange(s);
  });

  it('percentiles are non-decreasing and never above max', () => {
    const h = new LatencyHistogram();
    for (const v of [1_500, 1_500, 1_501, 2_000_000, 2_000_001, 59_999_999_999]) h.record(v);
    const s = h.summary();
    const values = PERCENTILE_KEYS.map(([key]) => s[key] ?? Number.NaN);
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1] ?? 0);
    expectPercentilesInRange(s);
    expect(s.p99_999).toBe(59_999_999_999);
  });

  it('values above 60 s are clamped to 60 s and counted, not thrown', () => {
    const h = new LatencyHistogram();
    expect(() => { h.record(70e9); h.record(1e15); h.record(60e9); }).not.toThrow();
    expect(h.clampedHigh).toBe(2); // exactly 60 s is in range
    expect(h.clampedNegative).toBe(0);
    const s = h.summary();
    expect(s.count).toBe(3);
    expect(s.max).toBe(1e15); // max stays the true value, not the top of the range
    expectPercentilesInRange(s);
  });

  it('negative values (clock steps) are recorded as 0 and counted, not thrown', () => {
    const h = new LatencyHistogram();
    expect(() => { h.record(-1); h.record(-5e9); h.record(10 * US); }).not.toThrow();
    expect(h.clampedNegative).toBe(2);
    expect(h.clampedHigh).toBe(0);
    const s = h.summary();
    expect(s).toMatchObject({ count: 3, min: 0, max: 10 * US });
    expectPercentilesInRange(s);
  });

  it('values below the 1 µs floor are kept with exact min/max', () => {
    const h = new LatencyHistogram();
    h.record(1);
    h.record(500);
    const s = h.summary();
    expect(s).toMatchObject({ count: 2, min: 1, max: 500 });
    expectPercentilesInRange(s);
  });

  it('mean is rounded to whole ns', () => {
    const h = new LatencyHistogram();
    h.record(1_000);
    h.record(1_001);
    expect(h.summary().mean).toBe(1_001); // 1000.5 rounds half up
  });
});
