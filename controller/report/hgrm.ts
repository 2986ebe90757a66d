import type { Histogram } from 'hdr-histogram-js';

/**
 * The `.hgrm` percentile distribution as HdrHistogram's Java `outputPercentileDistribution`
 * writes it (what wrk2 prints and the HdrHistogram plotter reads), values in µs.
 *
 * hdr-histogram-js 3 writes the rows, mean and standard deviation exactly as Java does, so it
 * does the work. One line it gets wrong: its `maxValue` is the recorded max + the unit mask
 * (Java: `value | mask`, reported as the highest equivalent value), so its `#[Max = …]` disagrees
 * with its own last row (3984.911 vs 3985.407 µs for 3984400 ns). That line is rewritten with
 * `getValueAtPercentile(100)`, which is Java's `getMaxValue()`: the top row's value.
 */

/** 5 rows per half distance to 100%, HdrHistogram's default. */
export const HGRM_TICKS_PER_HALF_DISTANCE = 5;
/** histograms hold ns; .hgrm files are read as µs (wrk2, the plotter's default label). */
export const HGRM_NS_PER_UNIT = 1000;

export function formatHgrm(histogram: Histogram, ticksPerHalfDistance = HGRM_TICKS_PER_HALF_DISTANCE,
  scalingRatio = HGRM_NS_PER_UNIT): string {
  const text = histogram.outputPercentileDistribution(ticksPerHalfDistance, scalingRatio);
  if (histogram.totalCount === 0) return text;
  // The library's own number format, so the rewritten line reads like the rest.
  const digits = histogram.numberOfSignificantValueDigits;
  const format = new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits, useGrouping: false });
  const maxText = format.format(histogram.getValueAtPercentile(100) / scalingRatio).padStart(12);
  return text.replace(/^#\[Max {5}= *[^,]*,/m, `#[Max     = ${maxText},`);
}

/** One row: value in the file's unit, percentile 0..1, cumulative count, 1/(1-p) (null on the 100% row). */
export interface HgrmRow {
  value: number;
  percentile: number;
  totalCount: number;
  inverse: number | null;
}

export interface Hgrm {
  rows: HgrmRow[];
  mean: number;
  stdDeviation: number;
  max: number;
  totalCount: number;
  buckets: number;
  subBuckets: number;
}

const ROW = /^\s*([\d.]+)\s+([\d.]+)\s+(\d+)(?:\s+([\d.]+|Infinity))?\s*$/;
const FOOTERS = {
  mean: /^#\[Mean\s*=\s*([\d.]+),\s*StdDeviation\s*=\s*([\d.]+)\]$/,
  max: /^#\[Max\s*=\s*([\d.]+),\s*Total count\s*=\s*(\d+)\]$/,
  buckets: /^#\[Buckets\s*=\s*(\d+),\s*SubBuckets\s*=\s*(\d+)\]$/,
};

/** Reads a `.hgrm` text back (tests; the HTML plot); an Error names the first line it cannot read. */
export function parseHgrm(text: string): Hgrm | Error {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (!/^\s*Value\s+Percentile\s+TotalCount\s+1\/\(1-Percentile\)\s*$/.test(lines[0] ?? '')) {
    return new Error(`not a .hgrm header: '${lines[0] ?? ''}'`);
  }
  const rows: HgrmRow[] = [];
  const footer: Partial<Omit<Hgrm, 'rows'>> = {};
  for (const line of lines.slice(1)) {
    const row = ROW.exec(line);
    if (row) {
      rows.push({ value: Number(row[1]), percentile: Number(row[2]), totalCount: Number(row[3]),
        inverse: row[4] === undefined || row[4] === 'Infinity' ? null : Number(row[4]) });
      continue;
    }
    const mean = FOOTERS.mean.exec(line);
    const max = FOOTERS.max.exec(line);
    const buckets = FOOTERS.buckets.exec(line);
    if (mean) Object.assign(footer, { mean: Number(mean[1]), stdDeviation: Number(mean[2]) });
    else if (max) Object.assign(footer, { max: Number(max[1]), totalCount: Number(max[2]) });
    else if (buckets) Object.assign(footer, { buckets: Number(buckets[1]), subBuckets: Number(buckets[2]) });
    else return new Error(`not a .hgrm line: '${line}'`);
  }
  const { mean, stdDeviation, max, totalCount, buckets, subBuckets } = footer;
  if (mean === undefined || stdDeviation === undefined || max === undefined || totalCount === undefined
    || buckets === undefined || subBuckets === undefined) {
    return new Error('.hgrm footer incomplete: want #[Mean …], #[Max …] and #[Buckets …]');
  }
  return { rows, mean, stdDeviation, max, totalCount, buckets, subBuckets };
}
