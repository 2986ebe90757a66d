/**
 * Percentiles of RTT samples via HdrHistogram, so that every peer is summarised by the same
 * code (the peers' own summaries differ: irtt has no percentiles, sockperf reports RTT/2).
 */
import { build } from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';
import type { Percentiles } from './tool-result.js';
import { HISTOGRAM_DIGITS, HISTOGRAM_HIGHEST_NS, HISTOGRAM_LOWEST_NS } from '../../shared/histogram/latency-histogram.js';

// rtprobe's own layout, so peers and rtprobe are summarised to the same resolution
const LOWEST_NS = HISTOGRAM_LOWEST_NS;
const HIGHEST_NS = HISTOGRAM_HIGHEST_NS;

export function newRttHistogram(): Histogram {
  return build({
    lowestDiscernibleValue: LOWEST_NS,
    highestTrackableValue: HIGHEST_NS,
    numberOfSignificantValueDigits: HISTOGRAM_DIGITS,
    bitBucketSize: 64,
    // fixed range: a value outside it is clamped below rather than silently resizing
    autoResize: false,
  });
}

/** Records ns samples; values outside the trackable range are clamped, never dropped. */
export function recordAll(h: Histogram, samplesNs: readonly number[]): void {
  for (const v of samplesNs) {
    if (!Number.isFinite(v)) continue;
    h.recordValue(Math.min(HIGHEST_NS, Math.max(0, Math.round(v))));
  }
}

export function summarize(h: Histogram): Percentiles {
  if (h.totalCount === 0) return { count: 0, p50: NaN, p99: NaN, p99_9: NaN, max: NaN };
  // a percentile is its bucket's highest equivalent value: never report it above the max
  const at = (p: number): number => Math.min(h.getValueAtPercentile(p), h.maxValue);
  return { count: h.totalCount, p50: at(50), p99: at(99), p99_9: at(99.9), max: h.maxValue };
}

export function percentilesOf(samplesNs: readonly number[]): Percentiles {
  const h = newRttHistogram();
  recordAll(h, samplesNs);
  return summarize(h);
}

/** Median of finite values (mean of the middle two for an even count); undefined for none. */
export function median(values: readonly number[]): number | undefined {
  const xs = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (xs.length === 0) return undefined;
  const mid = Math.floor(xs.length / 2);
  return xs.length % 2 === 1 ? xs[mid] : ((xs[mid - 1] ?? NaN) + (xs[mid] ?? NaN)) / 2;
}

/**
 * The first and third quartiles of the finite values (the middle half lies between them; each
 * the median of its half, the middle value left out of both for an odd count); undefined for
 * fewer than two.
 */
export function quartiles(values: readonly number[]): [number, number] | undefined {
  const xs = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (xs.length < 2) return undefined;
  const half = Math.floor(xs.length / 2);
  return [median(xs.slice(0, half)) ?? NaN, median(xs.slice(xs.length - half)) ?? NaN];
}
