import * as hdr from 'hdr-histogram-js';
import type { JsHistogram } from 'hdr-histogram-js';
import {
  HISTOGRAM_DIGITS, HISTOGRAM_HIGHEST_NS, HISTOGRAM_LOWEST_NS, LatencyHistogram,
} from '../../../shared/histogram/latency-histogram.js';
import { Prng } from '../../helpers/prng.js';

/** An rtprobe histogram (ns, 1 ns..60 s, 3 digits, 64-bit) holding these values. */
export function latencyHistogram(valuesNs: number[]): LatencyHistogram {
  const histogram = new LatencyHistogram();
  for (const value of valuesNs) histogram.record(value);
  return histogram;
}

/** A bare JS histogram of rtprobe's layout (or another lowest discernible value). */
export function jsHistogram(valuesNs: number[] = [], lowestNs = HISTOGRAM_LOWEST_NS): JsHistogram {
  const histogram = hdr.build({
    bitBucketSize: 64, lowestDiscernibleValue: lowestNs, highestTrackableValue: HISTOGRAM_HIGHEST_NS,
    numberOfSignificantValueDigits: HISTOGRAM_DIGITS, autoResize: false, useWebAssembly: false,
  }) as JsHistogram;
  for (const value of valuesNs) histogram.recordValue(value);
  return histogram;
}

/** A deterministic spread of round trips: mostly 40..140 µs, a tail to a few ms. */
export function spreadValues(count: number, seed: number): number[] {
  const prng = new Prng(seed);
  return Array.from({ length: count }, () => {
    const r = prng.float();
    return Math.round(r < 0.99 ? 40_000 + prng.float() * 100_000 : 200_000 + prng.float() * 5_000_000);
  });
}

/** The counts of a histogram, index → count, for exact comparisons. */
export function countsOf(histogram: JsHistogram): Map<number, number> {
  const counts = new Map<number, number>();
  for (let index = 0; index < histogram.countsArrayLength; index++) {
    const count = histogram.getCountAtIndex(index);
    if (count > 0) counts.set(index, count);
  }
  return counts;
}
