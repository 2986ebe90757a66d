import { describe, expect, it } from 'vitest';
import { formatHgrm, parseHgrm, type Hgrm } from '../../../controller/report/hgrm.js';
import { LatencyHistogram } from '../../../shared/histogram/latency-histogram.js';
import { Prng } from '../../helpers/prng.js';

function histogramOf(valuesNs: number[]): LatencyHistogram {
  const h = new LatencyHistogram();
  for (const v of valuesNs) h.record(v);
  return h;
}

function parsed(text: string): Hgrm {
  const result = parseHgrm(text);
  if (result instanceof Error) throw result;
  return result;
}

// Worked by hand from HdrHistogram's definitions (1 ns lowest discernible, 2048 sub-buckets):
// 1000 and 2000 ns have buckets of their own, 3000 ns is in [3000, 3001] (width 2 above 2048);
// rows print the highest equivalent value, the mean uses the median equivalents 1000/2000/3001.
const GOLDEN = `       Value     Percentile TotalCount 1/(1-Percentile)

       1.000 0.000000000000          1           1.00
       1.000 0.100000000000          1           1.11
       1.000 0.200000000000          1           1.25
       1.000 0.300000000000          1           1.43
       2.000 0.400000000000          2           1.67
       2.000 0.500000000000          2           2.00
       2.000 0.550000000000          2           2.22
       2.000 0.600000000000          2           2.50
       2.000 0.650000000000          2           2.86
       3.001 0.700000000000          3           3.33
       3.001 1.000000000000          3
#[Mean    =        2.000, StdDeviation   =        0.817]
#[Max     =        3.001, Total count    =            3]
#[Buckets =           26, SubBuckets     =         2048]
`;

/** A deterministic long-tailed sample: mostly 50..150 µs, a few ms-scale outliers. */
function tailed(n: number): number[] {
  const prng = new Prng(12345);
  return Array.from({ length: n }, (_, i) => (i % 997 === 0 ? 2_000_000 + prng.float() * 8_000_000 : 50_000 + prng.float() * 100_000));
}

describe('formatHgrm', () => {
  it('writes the HdrHistogram percentile distribution, µs, 5 ticks per half distance (golden)', () => {
    expect(formatHgrm(histogramOf([1000, 2000, 3000]).histogram)).toBe(GOLDEN);
  });

  it('reports Max as the top row, as Java does (hdr-histogram-js alone writes the recorded max)', () => {
    const { histogram } = histogramOf([22_700, 3_984_400]);
    const text = formatHgrm(histogram);
    expect(text).toMatch(/^#\[Max {5}= {5}3985\.407, Total count {4}= {12}2\]$/m);
    expect(histogram.outputPercentileDistribution(5, 1000)).toMatch(/#\[Max {5}= {5}3984\.400,/);
    const hgrm = parsed(text);
    expect(hgrm.rows[hgrm.rows.length - 1]?.value).toBe(hgrm.max);
  });

  it('has the header, cumulative non-decreasing rows, a last row at percentile 1.0 = max, and a footer that agrees', () => {
    const values = tailed(10_000);
    const text = formatHgrm(histogramOf(values).histogram);
    expect(text.split('\n')[0]).toBe('       Value     Percentile TotalCount 1/(1-Percentile)');
    expect(text.split('\n')[1]).toBe('');
    const hgrm = parsed(text);
    expect(hgrm.totalCount).toBe(10_000);
    expect(hgrm.buckets).toBe(26);
    expect(hgrm.subBuckets).toBe(2048);
    expect(hgrm.rows.length).toBeGreaterThan(50);
    for (let i = 1; i < hgrm.rows.length; i++) {
      const [prev, row] = [hgrm.rows[i - 1], hgrm.rows[i]];
      expect(row?.totalCount).toBeGreaterThanOrEqual(prev?.totalCount ?? 0);
      expect(row?.value).toBeGreaterThanOrEqual(prev?.value ?? 0);
      expect(row?.percentile).toBeGreaterThan(prev?.percentile ?? 0);
    }
    const last = hgrm.rows[hgrm.rows.length - 1];
    expect(last).toMatchObject({ percentile: 1, totalCount: 10_000, inverse: null });
    expect(last?.value).toBe(hgrm.max);
    // within the histogram's 3 digits of the true max, never below it
    const trueMaxUs = Math.max(...values) / 1000;
    expect(hgrm.max).toBeGreaterThanOrEqual(trueMaxUs);
    expect(hgrm.max / trueMaxUs).toBeLessThan(1.001);
    for (const row of hgrm.rows.slice(0, -1)) expect(row.inverse).toBeCloseTo(1 / (1 - row.percentile), 1);
    const meanUs = values.reduce((a, b) => a + b, 0) / values.length / 1000;
    expect(Math.abs(hgrm.mean / meanUs - 1)).toBeLessThan(0.01);
  });

  it('writes an empty histogram as a header and a zero footer', () => {
    const hgrm = parsed(formatHgrm(new LatencyHistogram().histogram));
    expect(hgrm.rows).toEqual([]);
    expect(hgrm).toMatchObject({ totalCount: 0, max: 0, mean: 0 });
  });
});

describe('parseHgrm', () => {
  it('reads the golden back', () => {
    const hgrm = parsed(GOLDEN);
    expect(hgrm.rows).toHaveLength(11);
    expect(hgrm.rows[4]).toEqual({ value: 2, percentile: 0.4, totalCount: 2, inverse: 1.67 });
    expect(hgrm).toMatchObject({ mean: 2, stdDeviation: 0.817, max: 3.001, totalCount: 3, buckets: 26, subBuckets: 2048 });
  });

  it('names what it cannot read', () => {
    expect(parseHgrm('Value Percentile\n')).toBeInstanceOf(Error);
    expect(String(parseHgrm(GOLDEN.replace('2.000 0.500000000000', 'x 0.5')))).toMatch(/not a \.hgrm line: '.*x 0\.5/);
    expect(String(parseHgrm(GOLDEN.replace(/^#\[Buckets.*$/m, '')))).toMatch(/footer incomplete/);
  });
});
