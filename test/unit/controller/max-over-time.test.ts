import { describe, expect, it } from 'vitest';
import { MaxOverTime } from '../../../controller/recording/max-over-time.js';

describe('MaxOverTime', () => {
  it('keeps the max per second', () => {
    const series = new MaxOverTime(0);
    series.record(100, 5);
    series.record(900, 7);
    series.record(1500, 3);
    expect(series.points).toEqual([
      { startMs: 0, spanMs: 1000, maxNs: 7, count: 2 },
      { startMs: 1000, spanMs: 1000, maxNs: 3, count: 1 },
    ]);
  });

  it('stays within its capacity over a long run and never loses the true max', () => {
    const series = new MaxOverTime(0, 1000, 64);
    for (let s = 0; s < 16 * 3600; s++) series.record(s * 1000 + 10, s === 40_000 ? 999 : s % 7);
    expect(series.points.length).toBeLessThanOrEqual(64);
    expect(Math.max(...series.points.map((p) => p.maxNs))).toBe(999);
    expect(series.points.reduce((n, p) => n + p.count, 0)).toBe(16 * 3600);
    const spans = new Set(series.points.map((p) => p.spanMs));
    expect(spans.size).toBe(1);
  });

  it('a late completion lands in its own second, in order', () => {
    const series = new MaxOverTime(0);
    series.record(2500, 1);
    series.record(1200, 9);
    expect(series.points.map((p) => p.startMs)).toEqual([1000, 2000]);
  });

  it('a late completion joins its second when newer seconds came since', () => {
    const series = new MaxOverTime(0);
    for (const atMs of [1500, 2500, 3500, 4500]) series.record(atMs, 1);
    series.record(2100, 8);
    series.record(500, 4);
    expect(series.points).toEqual([
      { startMs: 0, spanMs: 1000, maxNs: 4, count: 1 },
      { startMs: 1000, spanMs: 1000, maxNs: 1, count: 1 },
      { startMs: 2000, spanMs: 1000, maxNs: 8, count: 2 },
      { startMs: 3000, spanMs: 1000, maxNs: 1, count: 1 },
      { startMs: 4000, spanMs: 1000, maxNs: 1, count: 1 },
    ]);
  });
});
