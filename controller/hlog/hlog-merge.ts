import * as hdr from 'hdr-histogram-js';
import type { JsHistogram } from 'hdr-histogram-js';
import { PERCENTILE_KEYS, type LatencySummary } from '../../shared/histogram/latency-histogram.js';
import type { HlogReadInterval } from './hlog-parser.js';
import { TimeCoverage } from './time-coverage.js';

const TAG_ORDER = ['rtt', 'turnaround', 'ipdv', 'timer', 'send_error'];

/** The last non-zero bucket index, -1 when empty (hdr-histogram-js's maxValue is not reliable after add). */
export function lastNonZeroIndex(histogram: JsHistogram): number {
  let index = histogram.countsArrayLength - 1;
  while (index >= 0 && histogram.getCountAtIndex(index) === 0) index--;
  return index;
}

/** All intervals of one target and tag merged. */
export class HlogSeries {
  private readonly histogram: JsHistogram;
  intervals = 0;
  /** the max column of the lines (exact to the ns in our logs, to the µs in Java's and in ours before issue 16) */
  maxColumnNs = 0;
  firstMs = Number.POSITIVE_INFINITY;
  lastEndMs = Number.NEGATIVE_INFINITY;
  /** counts of values above this series' range (a foreign log with a wider one), recorded at its top */
  clampedHigh = 0;

  constructor(readonly target: string, readonly tag: string, layout: JsHistogram) {
    // The first interval's layout, as Java's HistogramLogProcessor accumulates: same percentiles.
    this.histogram = hdr.build({
      bitBucketSize: 64, lowestDiscernibleValue: layout.lowestDiscernibleValue,
      highestTrackableValue: layout.highestTrackableValue,
      numberOfSignificantValueDigits: layout.numberOfSignificantValueDigits as 1 | 2 | 3 | 4 | 5,
      autoResize: false, useWebAssembly: false,
    }) as JsHistogram;
  }

  add(interval: HlogReadInterval): void {
    const source = interval.histogram;
    const target = this.histogram;
    const last = lastNonZeroIndex(source);
    const sameLayout = source.countsArrayLength === target.countsArrayLength && source.unitMagnitude === target.unitMagnitude
      && source.subBucketCount === target.subBucketCount;
    for (let index = 0; index <= last; index++) {
      const count = source.getCountAtIndex(index);
      if (count === 0) continue;
      if (sameLayout) { target.addToCountAtIndex(index, count); continue; }
      let value = source.valueFromIndex(index);
      if (value > target.highestTrackableValue) { value = target.highestTrackableValue; this.clampedHigh += count; }
      target.recordValueWithCount(value, count);
    }
    this.intervals++;
    this.maxColumnNs = Math.max(this.maxColumnNs, interval.maxNs);
    this.firstMs = Math.min(this.firstMs, interval.startMs);
    this.lastEndMs = Math.max(this.lastEndMs, interval.startMs + interval.lengthMs);
  }

  /** The merged histogram, its total and min/max brought up to date (adding by index skips them). */
  merged(): JsHistogram {
    this.histogram.establishInternalTackingValues();
    return this.histogram;
  }

  /** count, min, percentiles, max in ns; percentiles never above the max. */
  summary(): LatencySummary {
    const histogram = this.merged();
    const count = histogram.totalCount;
    const summary: LatencySummary = {
      count, min: null, max: null, mean: null, p50: null, p90: null, p99: null, p99_9: null, p99_99: null, p99_999: null,
    };
    if (count === 0) return summary;
    let first = 0;
    while (histogram.getCountAtIndex(first) === 0) first++;
    const top = histogram.valueFromIndex(lastNonZeroIndex(histogram));
    // The line's max is exact; one below the top bucket's floor cannot be right (a foreign writer).
    const max = this.maxColumnNs >= top ? this.maxColumnNs : histogram.highestEquivalentValue(top);
    summary.min = histogram.valueFromIndex(first);
    summary.max = max;
    summary.mean = Math.round(histogram.mean);
    for (const [key, percentile] of PERCENTILE_KEYS) summary[key] = Math.min(histogram.getValueAtPercentile(percentile), max);
    return summary;
  }
}

/** Merges intervals as they are read, per target and tag, and the time each target covers. */
export class HlogMerger {
  private readonly series = new Map<string, HlogSeries>();
  readonly coverage = new Map<string, TimeCoverage>();

  add(interval: HlogReadInterval): void {
    const key = `${interval.target}\u0000${interval.tag}`;
    let series = this.series.get(key);
    if (!series) {
      series = new HlogSeries(interval.target, interval.tag, interval.histogram);
      this.series.set(key, series);
    }
    series.add(interval);
    let coverage = this.coverage.get(interval.target);
    if (!coverage) {
      coverage = new TimeCoverage();
      this.coverage.set(interval.target, coverage);
    }
    // intervals that follow each other within 10% of a length (timer jitter, ms rounding) touch
    coverage.add(interval.startMs, interval.startMs + interval.lengthMs, Math.max(5, interval.lengthMs * 0.1));
  }

  /** Every series, by target, then the soak's tags in their usual order, then others by name. */
  all(): HlogSeries[] {
    const rank = (tag: string): number => {
      const known = TAG_ORDER.indexOf(tag);
      return known < 0 ? TAG_ORDER.length : known;
    };
    return [...this.series.values()].sort((a, b) => a.target.localeCompare(b.target) || rank(a.tag) - rank(b.tag)
      || a.tag.localeCompare(b.tag));
  }
}
