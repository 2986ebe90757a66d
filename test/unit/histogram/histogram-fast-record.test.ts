import * as hdr from 'hdr-histogram-js';
import { JsHistogram } from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { FAST_RECORD_LIMIT, fastCountsIndex } from '../../../shared/histogram/histogram-fast-record.js';
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

  it("LatencyHistogram records what the library's recordValue records: same counts, total, min and max, read at any point", () => {
    const fast = new LatencyHistogram();
    const slow = build(32);
    const values = probeValues();
    values.forEach((v, i) => {
      fast.record(v);
      slow.recordValue(v);
      // read half-way too: what is read then is settled, what follows is deferred anew
      if (i === values.length >> 1) expect(fast.histogram.totalCount).toBe(slow.totalCount);
    });
    expect(fast.histogram.totalCount).toBe(values.length);
    expect(fast.histogram.maxValue).toBe(slow.maxValue);
    expect(fast.histogram.minNonZeroValue).toBe(slow.minNonZeroValue);
    expect(hdr.encodeIntoCompressedBase64(fast.histogram)).toBe(hdr.encodeIntoCompressedBase64(slow));
  });

  it('a reset leaves nothing deferred behind: the next interval reads only its own records', () => {
    const h = new LatencyHistogram();
    for (const v of [7, 900_000, 3]) h.record(v);
    h.reset();
    h.record(5_000);
    expect(h.histogram.totalCount).toBe(1);
    expect(h.histogram.minNonZeroValue).toBe(5_000);
    expect(h.histogram.getValueAtPercentile(100)).toBeLessThan(5_010);
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
