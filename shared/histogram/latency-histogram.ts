import * as hdr from 'hdr-histogram-js';
import { JsHistogram } from 'hdr-histogram-js';
import { FAST_RECORD_LIMIT, countsIndexIn } from './histogram-fast-record.js';

/**
 * Every latency histogram in rtprobe: ns, 1 ns resolution floor, up to 60 s, 3 digits, so
 * every value from 1 ns to 60 s reads back within 0.1 % (a bucket is at most 1/1024 of its
 * value wide; below 2048 ns every ns has its own bucket).
 */
export const HISTOGRAM_LOWEST_NS = 1;
export const HISTOGRAM_HIGHEST_NS = 60_000_000_000;
export const HISTOGRAM_DIGITS = 3;

/** The percentile keys of every report, with the percentile each stands for. */
export const PERCENTILE_KEYS = [
  ['p50', 50], ['p90', 90], ['p99', 99], ['p99_9', 99.9],
  ['p99_99', 99.99], ['p99_999', 99.999],
] as const;

const NARROW_COUNT_LIMIT = 2 ** 32 - 1;

/**
 * The layout every latency histogram has (1 ns unit, 3 digits: 1024 sub-buckets a half
 * bucket), as constants for the hot path; allocate() checks each histogram against them.
 */
const UNIT_MAGNITUDE = 0;
const SUB_BUCKET_HALF_COUNT_MAGNITUDE = 10;

/** A histogram's counts, written in place by record(). */
type Counts = { [index: number]: number; readonly length: number };

/**
 * The library's own counts array (its `_counts`), so that a record touches that array and not
 * the library's object as well: at 1000 targets every object a record touches is a cache miss.
 * null (the library's path is taken) if a version of the library keeps its counts otherwise.
 */
function countsOf(h: JsHistogram): Counts | null {
  const counts: unknown = (h as unknown as { _counts?: unknown })._counts;
  if (!ArrayBuffer.isView(counts) || (counts as unknown as Counts).length !== h.countsArrayLength) return null;
  if (h.unitMagnitude !== UNIT_MAGNITUDE || h.subBucketHalfCountMagnitude !== SUB_BUCKET_HALF_COUNT_MAGNITUDE) return null;
  return counts as unknown as Counts;
}

/** A JS (not WebAssembly) histogram: record() writes its counts itself. */
function buildLatencyHistogram(bitBucketSize: 32 | 64): JsHistogram {
  const built = hdr.build({
    bitBucketSize,
    lowestDiscernibleValue: HISTOGRAM_LOWEST_NS,
    highestTrackableValue: HISTOGRAM_HIGHEST_NS,
    numberOfSignificantValueDigits: HISTOGRAM_DIGITS,
    autoResize: false,
    useWebAssembly: false,
  });
  if (!(built instanceof JsHistogram)) throw new Error('hdr-histogram-js built no JsHistogram with useWebAssembly: false');
  return built;
}

export type PercentileKey = (typeof PERCENTILE_KEYS)[number][0];

/** What a report says about one histogram; all values ns, `null` when nothing was recorded. */
export type LatencySummary = { count: number; min: number | null; max: number | null; mean: number | null }
  & Record<PercentileKey, number | null>;

/**
 * An HDR histogram of ns values with the exact min and max kept beside it (the histogram
 * itself only knows bucket edges) and out-of-range values clamped and counted instead of
 * thrown: a 70 s round trip or a negative difference after a clock step must not kill a soak.
 */
export class LatencyHistogram {
  private built: JsHistogram | null = null;
  /** built's counts array when record() may write it directly */
  private counts: Counts | null = null;
  /**
   * Records written straight into `counts` whose total, min and max the library's object has
   * not been told yet: it is told (settle) before anything reads it, so it never sees the
   * difference; record() touches one object less.
   */
  private unsettled = 0;
  private unsettledMax = 0;
  private unsettledMinNonZero = Number.POSITIVE_INFINITY;
  /**
   * Counts start 32-bit, half the memory of 64-bit ones (1000 targets hold thousands of
   * histograms). One that would pass 2^32 − 1 samples (497 days at 100 Hz; 1 MHz × 1 h is
   * 3.6·10^9, a flood at the agent could be more) widens itself to 64-bit counts (exact to
   * 2^53) first, so no count ever wraps.
   */
  private narrow = true;
  count = 0;
  minNs = Number.POSITIVE_INFINITY;
  maxNs = Number.NEGATIVE_INFINITY;
  sumNs = 0;
  /** values above the histogram's range, recorded at its top */
  clampedHigh = 0;
  /** negative values (only possible when a clock stepped), recorded as 0 */
  clampedNegative = 0;

  /**
   * The HDR histogram, allocated when first used: one that never records (a forward one-way
   * delay without clock sync, an ICMP target's turnaround) costs no counts array. Read it where
   * it is used: a histogram replaces it once when it widens.
   */
  get histogram(): JsHistogram {
    this.allocate();
    this.settle();
    return this.built as JsHistogram;
  }

  /** Whether its counts array exists (see `histogram`). */
  get allocated(): boolean {
    return this.built !== null;
  }

  /** Makes its counts array now, not at the first record (before a run's first probe). */
  allocate(): void {
    if (this.built !== null) return;
    this.built = buildLatencyHistogram(this.narrow ? 32 : 64);
    this.counts = countsOf(this.built);
  }

  /** Tells the library's object the total, min and max of what record() wrote past it. */
  private settle(): void {
    if (this.unsettled === 0 || this.built === null) return;
    const h = this.built;
    h.addToTotalCount(this.unsettled);
    // The library keeps a running max and non-zero min: one update with each extreme ends
    // where one update per value would.
    h.updateMinAndMax(this.unsettledMax);
    if (this.unsettledMinNonZero !== Number.POSITIVE_INFINITY) h.updateMinAndMax(this.unsettledMinNonZero);
    this.unsettled = 0;
    this.unsettledMax = 0;
    this.unsettledMinNonZero = Number.POSITIVE_INFINITY;
  }

  /**
   * No bucket can pass the total: widen while the total after adding still fits 32 bits.
   * `count` is the histogram's total (every path that adds to one adds to the other).
   */
  private ensureRoom(adding: number): void {
    if (!this.narrow || this.count + adding <= NARROW_COUNT_LIMIT) return;
    const wide = buildLatencyHistogram(64);
    if (this.built) {
      this.settle();
      wide.add(this.built);
    }
    this.built = wide;
    this.counts = countsOf(wide);
    this.narrow = false;
  }

  record(valueNs: number): void {
    this.ensureRoom(1);
    let v = valueNs;
    if (v < 0) { this.clampedNegative++; v = 0; }
    // The histogram stops at 60 s; max, mean and the worst-case list keep the true value.
    if (v > HISTOGRAM_HIGHEST_NS) this.clampedHigh++;
    this.allocate();
    const counts = this.counts;
    if (v < FAST_RECORD_LIMIT && counts !== null) {
      // recordValue's steps, its total, min and max deferred to settle()
      // in range: below 2^32 ns, under the 60 s top
      const index = countsIndexIn(SUB_BUCKET_HALF_COUNT_MAGNITUDE, UNIT_MAGNITUDE, v);
      counts[index] = (counts[index] as number) + 1;
      this.unsettled++;
      if (v > this.unsettledMax) this.unsettledMax = v;
      if (v !== 0 && v < this.unsettledMinNonZero) this.unsettledMinNonZero = v;
    } else {
      this.histogram.recordValue(Math.min(v, HISTOGRAM_HIGHEST_NS));
    }
    this.count++;
    this.sumNs += v;
    if (v < this.minNs) this.minNs = v;
    if (v > this.maxNs) this.maxNs = v;
  }

  /**
   * Adds a histogram recorded elsewhere (an agent's interval). Its exact max comes along
   * from the message; min and mean are as exact as its buckets.
   */
  merge(other: ReturnType<typeof hdr.build>, exactMaxNs: number): void {
    if (other.totalCount === 0) return;
    this.ensureRoom(other.totalCount);
    const into: ReturnType<typeof hdr.build> = this.histogram; // as any Histogram: `other` may be one
    into.add(other);
    this.count += other.totalCount;
    this.sumNs += other.mean * other.totalCount;
    this.minNs = Math.min(this.minNs, other.minNonZeroValue);
    this.maxNs = Math.max(this.maxNs, exactMaxNs);
  }

  /**
   * Adds another histogram of this process (a run's targets into one over all of them):
   * its counts, and its exact count, sum, min, max and clamps, so the whole is as exact as
   * its parts.
   */
  add(other: LatencyHistogram): void {
    if (other.count === 0) return;
    this.ensureRoom(other.count);
    this.histogram.add(other.histogram);
    this.count += other.count;
    this.sumNs += other.sumNs;
    this.minNs = Math.min(this.minNs, other.minNs);
    this.maxNs = Math.max(this.maxNs, other.maxNs);
    this.clampedHigh += other.clampedHigh;
    this.clampedNegative += other.clampedNegative;
  }

  /**
   * Records `count` samples of one value at once (the guest timer's native bucket counts):
   * as `count` calls of record, in one step.
   */
  recordCount(valueNs: number, count: number): void {
    if (count <= 0) return;
    this.ensureRoom(count);
    let v = valueNs;
    if (v < 0) { this.clampedNegative += count; v = 0; }
    if (v > HISTOGRAM_HIGHEST_NS) this.clampedHigh += count;
    this.histogram.recordValueWithCount(Math.min(v, HISTOGRAM_HIGHEST_NS), count);
    this.count += count;
    this.sumNs += v * count;
    if (v < this.minNs) this.minNs = v;
    if (v > this.maxNs) this.maxNs = v;
  }

  /** Empties it for the next interval without giving its memory back. */
  reset(): void {
    this.built?.reset();
    this.unsettled = 0;
    this.unsettledMax = 0;
    this.unsettledMinNonZero = Number.POSITIVE_INFINITY;
    this.count = 0;
    this.minNs = Number.POSITIVE_INFINITY;
    this.maxNs = Number.NEGATIVE_INFINITY;
    this.sumNs = 0;
    this.clampedHigh = 0;
    this.clampedNegative = 0;
  }

  summary(): LatencySummary {
    const empty = this.count === 0;
    const summary: LatencySummary = {
      count: this.count,
      min: empty ? null : this.minNs,
      max: empty ? null : this.maxNs,
      mean: empty ? null : Math.round(this.sumNs / this.count),
      p50: null, p90: null, p99: null, p99_9: null, p99_99: null, p99_999: null,
    };
    if (empty) return summary;
    for (const [key, percentile] of PERCENTILE_KEYS) {
      // The histogram answers with a bucket's upper edge; never report more than the true max.
      summary[key] = Math.min(this.histogram.getValueAtPercentile(percentile), this.maxNs);
    }
    return summary;
  }
}
