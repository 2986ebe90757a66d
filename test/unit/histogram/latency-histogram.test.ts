import * as hdr from 'hdr-histogram-js';
import type { JsHistogram } from 'hdr-histogram-js';
import { describe, it, expect } from 'vitest';
import {
  HISTOGRAM_DIGITS, HISTOGRAM_HIGHEST_NS, HISTOGRAM_LOWEST_NS, LatencyHistogram, PERCENTILE_KEYS,
  type LatencySummary, type PercentileKey,
} from '../../../shared/histogram/latency-histogram.js';

const US = 1_000;

/** A 64-bit histogram of the same layout: what a widened one is, and a flood's source. */
const wide = (): JsHistogram => hdr.build({
  bitBucketSize: 64, lowestDiscernibleValue: HISTOGRAM_LOWEST_NS, highestTrackableValue: HISTOGRAM_HIGHEST_NS,
  numberOfSignificantValueDigits: HISTOGRAM_DIGITS, autoResize: false, useWebAssembly: false,
}) as JsHistogram;

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
  it('is configured for ns, 1 ns .. 60 s, 3 significant digits', () => {
    expect(HISTOGRAM_LOWEST_NS).toBe(1);
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

  it('long-tailed data across decades: percentiles within 0.1% of exact', () => {
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
        .toBeLessThanOrEqual(0.001 * exact);
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

  // Issue 16: with a 1 µs floor, 1.3 µs read 1.535 µs (+18 %) and 13.5 µs read 13.823 µs.
  it.each([1_300, 4_900, 13_500, 58_900, 330_000, 100_000_000])('%i ns alone reads back within 0.1%% at every percentile', (valueNs) => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 1000; i++) h.record(valueNs);
    // the bucket's own edge, not clamped by the exact max, is what a merged or logged histogram reports
    expect(Math.abs(h.histogram.getValueAtPercentile(50) - valueNs) / valueNs).toBeLessThanOrEqual(0.001);
    for (const [key] of PERCENTILE_KEYS) expect(h.summary()[key]).toBe(valueNs);
  });

  it('1.3, 4.9, 13.5, 58.9, 330 µs and 100 ms: p50 .. p99.999 each read its value within 0.1%', () => {
    const h = new LatencyHistogram();
    // counts chosen so each percentile's rank falls inside one value's run, with a margin
    const runs: [PercentileKey, number, number][] = [
      ['p50', 1_300, 50_500], ['p90', 4_900, 39_800], ['p99', 13_500, 8_800],
      ['p99_9', 58_900, 810], ['p99_99', 330_000, 85], ['p99_999', 100_000_000, 5],
    ];
    for (const [, valueNs, count] of runs) for (let i = 0; i < count; i++) h.record(valueNs);
    const s = h.summary();
    expect(s.count).toBe(100_000);
    for (const [key, valueNs] of runs) {
      const percentile = PERCENTILE_KEYS.find(([k]) => k === key)?.[1] ?? Number.NaN;
      const edge = h.histogram.getValueAtPercentile(percentile);
      expect(Math.abs(edge - valueNs) / valueNs, `${key}: bucket edge ${edge}, recorded ${valueNs}`).toBeLessThanOrEqual(0.001);
      expect(Math.abs((s[key] ?? 0) - valueNs) / valueNs, `${key}: got ${s[key]}, recorded ${valueNs}`).toBeLessThanOrEqual(0.001);
    }
    expect(s).toMatchObject({ min: 1_300, max: 100_000_000 });
  });

  it('every value from 1 ns to 60 s reads back within 0.1% (a sweep of every bucket width)', () => {
    const h = new LatencyHistogram();
    const histogram = h.histogram as JsHistogram;
    for (let v = 1; v <= HISTOGRAM_HIGHEST_NS; v = Math.max(v + 1, Math.floor(v * 1.0137))) {
      const edge = histogram.highestEquivalentValue(v);
      expect(edge - v, `${v} ns`).toBeLessThanOrEqual(0.001 * v);
      expect(histogram.lowestEquivalentValue(v)).toBeLessThanOrEqual(v);
    }
  });

  it('values below 1 µs have their own ns buckets', () => {
    const h = new LatencyHistogram();
    h.record(1);
    h.record(500);
    const s = h.summary();
    expect(s).toMatchObject({ count: 2, min: 1, max: 500, p50: 1, p99: 500 });
    expectPercentilesInRange(s);
  });

  it('counts start 32-bit (half the memory of 64-bit ones) and widen to 64-bit before any count could wrap', () => {
    const h = new LatencyHistogram();
    h.record(1_300);
    const narrow = h.histogram;
    expect(narrow.estimatedFootprintInBytes).toBeLessThan(wide().estimatedFootprintInBytes * 0.6);
    // a merged interval that brings the total to 2^32 (a flood over a long interval)
    const flood = wide();
    flood.recordValueWithCount(1_300, 2 ** 32 - 1);
    h.merge(flood, 1_300);
    expect(h.histogram).not.toBe(narrow);
    expect((h.histogram as JsHistogram).getCountAtIndex((h.histogram as JsHistogram).countsArrayIndex(1_300))).toBe(2 ** 32);
    h.record(1_300);
    expect((h.histogram as JsHistogram).getCountAtIndex((h.histogram as JsHistogram).countsArrayIndex(1_300))).toBe(2 ** 32 + 1);
    expect(h.summary()).toMatchObject({ count: 2 ** 32 + 1, p50: 1_300, max: 1_300 });
  });

  it('merges a histogram of the old 1 µs layout (an agent from before issue 16) at that layout\'s resolution', () => {
    const old = hdr.build({ bitBucketSize: 64, lowestDiscernibleValue: 1000, highestTrackableValue: 60e9, numberOfSignificantValueDigits: 3 });
    old.recordValue(13_500);
    old.recordValue(250_000);
    const h = new LatencyHistogram();
    h.merge(old, 250_000);
    const s = h.summary();
    expect(s.count).toBe(2);
    expect(s.max).toBe(250_000);
    // 13.5 µs was in the old [13312, 13823] step
    expect(s.min).toBeGreaterThanOrEqual(13_312);
    expect(s.min).toBeLessThanOrEqual(13_823);
  });

  it('a fresh histogram given 2^32 counts at once is 64-bit from the start', () => {
    const flood = wide();
    flood.recordValueWithCount(4_900, 2 ** 32);
    const h = new LatencyHistogram();
    h.merge(flood, 4_900);
    expect((h.histogram as JsHistogram).getCountAtIndex((h.histogram as JsHistogram).countsArrayIndex(4_900))).toBe(2 ** 32);
  });

  it('allocates its counts when first used: one that never records costs no counts array', () => {
    const before = process.memoryUsage().arrayBuffers;
    const idle = Array.from({ length: 50 }, () => new LatencyHistogram());
    expect(idle.map((h) => h.summary().count)).toEqual(Array.from({ length: 50 }, () => 0));
    for (const h of idle) h.reset();
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(50 * 1024);
    idle[0]?.record(1_300);
    expect(idle[0]?.summary()).toMatchObject({ count: 1, p50: 1_300 });
  });

  it('an interval histogram below the 32-bit limit keeps its array (no copy per record)', () => {
    const h = new LatencyHistogram();
    const narrow = h.histogram;
    for (let i = 0; i < 10_000; i++) h.record(i);
    h.reset();
    h.record(5);
    expect(h.histogram).toBe(narrow);
  });

  it('add: the sum of two is exact in count, min, max, mean and clamps, and its percentiles are those of all values', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    const all: number[] = [];
    for (let i = 1; i <= 900; i++) { a.record(i * 101); all.push(i * 101); }
    for (let i = 1; i <= 100; i++) { b.record(500_000 + i * 7); all.push(500_000 + i * 7); }
    b.record(-5); all.push(0);
    b.record(HISTOGRAM_HIGHEST_NS + 1); all.push(HISTOGRAM_HIGHEST_NS + 1);
    const sum = new LatencyHistogram();
    sum.add(a);
    sum.add(b);
    sum.add(new LatencyHistogram()); // an empty one adds nothing
    const s = sum.summary();
    expect(s.count).toBe(1002);
    expect(s.min).toBe(0);
    expect(s.max).toBe(HISTOGRAM_HIGHEST_NS + 1);
    expect(s.mean).toBe(Math.round(all.reduce((x, y) => x + y, 0) / all.length));
    expect(sum.clampedNegative).toBe(1);
    expect(sum.clampedHigh).toBe(1);
    const sorted = [...all].sort((x, y) => x - y);
    for (const p of [50, 90, 99]) expect(Math.abs(sum.histogram.getValueAtPercentile(p) - exactPercentile(sorted, p)) / exactPercentile(sorted, p)).toBeLessThan(0.001);
    // the parts are unchanged
    expect(a.count).toBe(900);
    expect(b.summary().max).toBe(HISTOGRAM_HIGHEST_NS + 1);
  });

  it('mean is rounded to whole ns', () => {
    const h = new LatencyHistogram();
    h.record(1_000);
    h.record(1_001);
    expect(h.summary().mean).toBe(1_001); // 1000.5 rounds half up
  });
});
