import * as hdr from 'hdr-histogram-js';
import { JsHistogram } from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { FAST_RECORD_LIMIT, fastCountsIndex, recordFast } from '../../../shared/histogram/histogram-fast-record.js';
import { HISTOGRAM_DIGITS, HISTOGRAM_HIGHEST_NS, HISTOGRAM_LOWEST_NS, LatencyHistogram } from '../../../shared/histogram/latency-histogram.js';

function build(bitBucketSize: 32 | 64, lowest = HISTOGRAM_LOWEST_NS, digits: 1 | 2 | 3 | 4 | 5 = HISTOGRAM_DIGITS): JsHistogram {
  const h = hdr.build({ bitBucketSize, lowestDiscernibleValue: lowest, highestTrackableValue: HISTOGRAM_HIGHEST_NS,
    numberOfSignificantValueDigits: digits, autoResize: false, useWebAssembly: false });
  if (!(h instanceof JsHistogram)) throw new Error('not a JsHistogram');
  return h;
}

/** Every power of two below 2^32 and its neighbours, fractions, and a spread of random values. */
function probeValues(): number[] {
  const values = [0, 0.5, 1, 1.5, 2047.5, 4095.9, FAST_RECORD_LIMIT - 1, FAST_RECORD_LIMIT - 0.5];
  for (let k = 0; k < 32; k++) {
    const p = 2 ** k;
    values.push(p - 1, p, p + 1, p + 0.25, p * 1.5);
  }
  let x = 0x2545f491;
  for (let i = 0; i < 20_000; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    values.push(x % (2 ** (1 + (i % 32))));
  }
  return values.filter((v) => v < FAST_RECORD_LIMIT);
}

describe('histogram fast record', () => {
  it("gives the library's countsArrayIndex for every value below 2^32 (32- and 64-bit counts, other precisions and units)", () => {
    const layouts = [build(32), build(64), build(32, 1, 2), build(32, 1, 5), build(64, 1000, 3)];
    for (const h of layouts) {
      const wrong = probeValues().filter((v) => fastCountsIndex(h, v) !== h.countsArrayIndex(v));
      expect(wrong.slice(0, 5)).toEqual([]);
    }
  });

  it('records what recordValue records: same counts, total, min and max', () => {
    const fast = build(32);
    const slow = build(32);
    const values = probeValues();
    for (const v of values) {
      recordFast(fast, v);
      slow.recordValue(v);
    }
    expect(fast.totalCount).toBe(values.length);
    expect(fast.maxValue).toBe(slow.maxValue);
    expect(fast.minNonZeroValue).toBe(slow.minNonZeroValue);
    expect(hdr.encodeIntoCompressedBase64(fast)).toBe(hdr.encodeIntoCompressedBase64(slow));
  });

  it('LatencyHistogram takes the library path above 2^32 ns and at its 60 s top', () => {
    const h = new LatencyHistogram();
    for (const v of [5e9, 59e9, 61e9, 3, 1e6]) h.record(v);
    const s = h.summary();
    expect(s.count).toBe(5);
    expect(s.max).toBe(61e9);
    expect(h.clampedHigh).toBe(1);
    expect(h.histogram.totalCount).toBe(5);
    expect(h.histogram.maxValue).toBeGreaterThanOrEqual(59e9);
  });
});
