import * as hdr from 'hdr-histogram-js';
import type { JsHistogram } from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { PERCENTILE_KEYS } from '../../../shared/histogram/latency-histogram.js';
import { HlogMerger } from '../../../controller/hlog/hlog-merge.js';
import type { HlogReadInterval } from '../../../controller/hlog/hlog-parser.js';
import { TimeCoverage } from '../../../controller/hlog/time-coverage.js';
import { latencyHistogram, spreadValues } from './hlog-test-data.js';

const T0 = Date.parse('2024-05-01T10:00:00Z');

function interval(target: string, tag: string, index: number, values: number[]): HlogReadInterval {
  const h = latencyHistogram(values);
  return {
    target, tag, startMs: T0 + index * 10_000, lengthMs: 10_000, maxNs: h.maxNs,
    histogram: h.histogram as JsHistogram, file: 'f', line: index + 5,
  };
}

describe('HlogMerger', () => {
  it('gives the percentiles of one histogram of all values, per target and tag (rtt, turnaround, ipdv, send_error first)', () => {
    const merger = new HlogMerger();
    const all: number[] = [];
    for (let i = 0; i < 20; i++) {
      const values = spreadValues(500, i + 1);
      all.push(...values);
      merger.add(interval('lab1', 'rtt', i, values));
      merger.add(interval('lab1', 'ipdv', i, [1000 * i]));
      merger.add(interval('lab0', 'rtt', i, [5_000_000]));
    }
    const series = merger.all();
    expect(series.map((s) => `${s.target}/${s.tag}/${s.intervals}`)).toEqual(['lab0/rtt/20', 'lab1/rtt/20', 'lab1/ipdv/20']);
    const whole = latencyHistogram(all);
    const summary = series[1]?.summary();
    expect(summary?.count).toBe(10_000);
    const max = whole.maxNs; // the line's max: exact
    expect(summary?.max).toBe(max);
    for (const [key, p] of PERCENTILE_KEYS) expect(summary?.[key]).toBe(Math.min(whole.histogram.getValueAtPercentile(p), max));
    // the lowest value of the first bucket: within 0.1% of the true min, never above it
    expect(summary?.min).toBe((whole.histogram as JsHistogram).lowestEquivalentValue(whole.minNs));
    expect(whole.minNs - (summary?.min ?? 0)).toBeLessThanOrEqual(whole.minNs * 0.001);
    expect(series[1]?.firstMs).toBe(T0);
    expect(series[1]?.lastEndMs).toBe(T0 + 200_000);
  });

  it('merges a foreign layout value by value, clamping above its own range', () => {
    const merger = new HlogMerger();
    merger.add(interval('j', 'rtt', 0, [50_000]));
    const wide = hdr.build({ bitBucketSize: 64, lowestDiscernibleValue: 1, highestTrackableValue: 3_600e9, numberOfSignificantValueDigits: 2 }) as JsHistogram;
    wide.recordValue(75_000);
    wide.recordValue(120e9);
    merger.add({ target: 'j', tag: 'rtt', startMs: T0 + 10_000, lengthMs: 10_000, maxNs: 120e9, histogram: wide, file: 'f', line: 9 });
    const [series] = merger.all();
    expect(series?.clampedHigh).toBe(1);
    expect(series?.summary()).toMatchObject({ count: 3, max: 120e9 });
  });

  it("takes the histogram's top when a line's max is below it (a foreign writer)", () => {
    const merger = new HlogMerger();
    const broken = interval('x', 'rtt', 0, [2_000_000]);
    merger.add({ ...broken, maxNs: 0 });
    const summary = merger.all()[0]?.summary();
    expect(summary?.max).toBe(broken.histogram.highestEquivalentValue(2_000_000));
  });

  it('finds the time no interval of a target covers', () => {
    const merger = new HlogMerger();
    for (const i of [0, 1, 2, 8, 9]) merger.add(interval('lab1', 'rtt', i, [1000]));
    merger.add(interval('lab1', 'turnaround', 5, [1000])); // another tag covers 50..60 s
    const coverage = merger.coverage.get('lab1');
    expect(coverage?.holes().map((h) => [h.fromMs - T0, h.toMs - T0])).toEqual([[30_000, 50_000], [60_000, 80_000]]);
  });
});

describe('TimeCoverage', () => {
  it('merges touching ranges in any order and tolerates a little jitter', () => {
    const coverage = new TimeCoverage();
    for (const [start, end] of [[20, 30], [0, 10], [10.003, 20], [50, 60], [30, 40]] as const) coverage.add(start * 1000, end * 1000, 5);
    expect(coverage.holes()).toEqual([{ fromMs: 40_000, toMs: 50_000 }]);
    coverage.add(35_000, 55_000, 5);
    expect(coverage.holes()).toEqual([]);
    expect([coverage.firstMs, coverage.lastMs]).toEqual([0, 60_000]);
  });
});
