import type { JsHistogram } from 'hdr-histogram-js';
import type { LatencySummary } from '../../shared/histogram/latency-histogram.js';

/** cyclictest caps -h at 1 000 000 µs; a few MB of rows is already more than a plot reads. */
export const CYCLICTEST_DEFAULT_MAX_BUCKETS = 100_000;

const zeros = (value: number, width: number): string => String(value).padStart(width, '0');

/**
 * A histogram as rt-tests' `cyclictest -h` prints it (print_hist in cyclictest.c), one thread,
 * values in µs, so OSADL-style latency plot scripts read our round trips:
 *
 *   # Histogram
 *   000000 000000        "%06d " bucket (µs), "%06lu" count
 *   000001 000012
 *   # Total: 000000012   "%09llu": the samples inside the rows (overflows excluded, as cyclictest)
 *   # Min Latencies: 00001
 *   # Avg Latencies: 00001
 *   # Max Latencies: 00001
 *   # Histogram Overflows: 00000
 *   # Histogram Overflow at cycle number:
 *   # Thread 0:          (we keep no cycle numbers: " # %05lu others" when there are overflows)
 *   (blank line)
 *
 * Rows run from 0 to the max (at most maxBuckets rows); samples at or above maxBuckets µs
 * are overflows. HDR buckets are 1 µs wide or finer up to ~2 ms and wider above: each bucket's
 * count goes to the row of its middle value, kept within min..max; Min Latencies is the first
 * row with a sample, Max Latencies the exact max (its row is the last).
 */
export function formatCyclictestHistogram(histogram: JsHistogram, summary: LatencySummary,
  maxBuckets = CYCLICTEST_DEFAULT_MAX_BUCKETS): string {
  const minUs = summary.min === null ? 0 : Math.floor(summary.min / 1000);
  const maxUs = summary.max === null ? 0 : Math.floor(summary.max / 1000);
  const rows = summary.count === 0 ? 0 : Math.min(maxUs + 1, maxBuckets);
  const counts = new Float64Array(rows);
  let inRows = 0;
  let overflows = 0;
  let firstRow: number | null = null;
  for (let index = 0; index < histogram.countsArrayLength; index++) {
    const count = histogram.getCountAtIndex(index);
    if (count === 0) continue;
    const middleUs = Math.floor(histogram.medianEquivalentValue(histogram.valueFromIndex(index)) / 1000);
    const row = Math.min(Math.max(middleUs, minUs), maxUs);
    firstRow ??= row;
    if (row >= rows) { overflows += count; continue; }
    counts[row] = (counts[row] ?? 0) + count;
    inRows += count;
  }
  const lines = ['# Histogram'];
  for (let row = 0; row < rows; row++) lines.push(`${zeros(row, 6)} ${zeros(counts[row] ?? 0, 6)}`);
  lines.push(`# Total: ${zeros(inRows, 9)}`);
  // the first row with a sample: the min bucket's lower edge (HDR's min) may sit a row below it
  lines.push(`# Min Latencies: ${zeros(firstRow ?? 0, 5)}`);
  lines.push(`# Avg Latencies: ${zeros(summary.mean === null ? 0 : Math.floor(summary.mean / 1000), 5)}`);
  lines.push(`# Max Latencies: ${zeros(maxUs, 5)}`);
  lines.push(`# Histogram Overflows: ${zeros(overflows, 5)}`);
  lines.push('# Histogram Overflow at cycle number:');
  lines.push(`# Thread 0:${overflows > 0 ? ` # ${zeros(overflows, 5)} others` : ''}`);
  return `${lines.join('\n')}\n\n`;
}
