import { deflateSync, inflateSync } from 'node:zlib';
import * as hdr from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { decodeCompressedHistogram, encodeCompressedHistogram } from '../../../shared/histogram/histogram-codec.js';
import { countsOf, jsHistogram as rtprobeHistogram, spreadValues } from '../hlog/hlog-test-data.js';

// Payloads written by HdrHistogram's Java library 2.1.11 (Debian libhdrhistogram-java) with
// Histogram(1000, 60e9, 3) and encodeIntoCompressedByteBuffer(…, BEST_COMPRESSION), as its
// HistogramLogWriter does. zlib builds differ, so the deflated bytes may differ: the V2 block
// inside is what must be identical.
const JAVA = {
  /** 1000, 12345, 250000 ns once, 5 000 000 ns three times */
  fourValues: 'HISTFAAAACp42pNpmSzMwMDAxQABzFDqBZDg/eEewWD/ASrDpM00l51pqzUbAJhWBt0=',
  fourValuesBlock: '1c8493130000000a000000000000000300000000000003e80000000df84758003ff0000000000000'
    + '00022b029d0702b53b06',
  empty: 'HISTFAAAACF42pNpmSzMwMDAyAABzFDqBZDg/eEewWD/ASoDAGGWBQk=',
  emptyBlock: '1c84931300000001000000000000000300000000000003e80000000df84758003ff0000000000000' + '00',
  /** 2^40 × 60 s and 3 × 1000 ns */
  bigCountBlock: '1c8493130000000b000000000000000300000000000003e80000000df84758003ff0000000000000'
    + '0006f39b02808080808040',
  /** a DoubleHistogram: another cookie, not ours to read */
  doubleHistogram: 'DHISTwAAAAMAAAAAAAAAAhyEkxQAAAAgeNqTaZkszMDAwMwAATCaEULJ/7cPgLD+izMBAExnBBM=',
};

/** The Java payloads' layout (rtprobe's before issue 16): the codec is the same for any layout. */
const jsHistogram = (values: number[] = []): ReturnType<typeof rtprobeHistogram> => rtprobeHistogram(values, 1000);

function block(base64: string): Buffer {
  const outer = Buffer.from(base64, 'base64');
  expect(outer.readUInt32BE(0)).toBe(0x1c849314);
  expect(outer.readInt32BE(4)).toBe(outer.length - 8);
  return inflateSync(outer.subarray(8));
}

function encoded(histogram: ReturnType<typeof jsHistogram>): string {
  const text = encodeCompressedHistogram(histogram);
  if (text instanceof Error) throw text;
  return text;
}

describe('encodeCompressedHistogram writes the V2 block Java writes', () => {
  it('byte for byte for four values', () => {
    // given the values of the Java payload
    const histogram = jsHistogram([1000, 12345, 250_000]);
    histogram.recordValueWithCount(5_000_000, 3);
    // then the inflated block is Java's
    expect(block(encoded(histogram)).toString('hex')).toBe(JAVA.fourValuesBlock);
    expect(block(JAVA.fourValues).toString('hex')).toBe(JAVA.fourValuesBlock);
  });

  it('puts normalizingIndexOffset 0 and the conversion ratio as the double 1.0 (hdr-histogram-js: 1 and int64 1)', () => {
    const histogram = jsHistogram([50_000]);
    const ours = block(encoded(histogram));
    expect(ours.readInt32BE(8)).toBe(0);
    expect(ours.readDoubleBE(32)).toBe(1.0);
    expect(ours.subarray(32, 40).toString('hex')).toBe('3ff0000000000000');
    // the library's own encoder, for the record: Java reads its ratio as 4.9e-324
    const library = block(hdr.encodeIntoCompressedBase64(histogram));
    expect(library.readInt32BE(8)).toBe(1);
    expect(library.subarray(32, 40).toString('hex')).toBe('0000000000000001');
  });

  it('byte for byte for an empty histogram and a count of 2^40', () => {
    expect(block(encoded(jsHistogram())).toString('hex')).toBe(JAVA.emptyBlock);
    const big = jsHistogram();
    big.recordValueWithCount(60e9, 2 ** 40);
    big.recordValueWithCount(1000, 3);
    expect(block(encoded(big)).toString('hex')).toBe(JAVA.bigCountBlock);
  });

  it('stops at the last non-zero bucket even after hdr-histogram-js add() inflated maxValue', () => {
    const fresh = jsHistogram([70_000, 90_000]);
    const merged = jsHistogram();
    for (let i = 0; i < 50; i++) merged.add(jsHistogram(i === 0 ? [70_000, 90_000] : []));
    expect(merged.maxValue).toBeGreaterThan(fresh.maxValue);
    expect(block(encoded(merged))).toEqual(block(encoded(fresh)));
  });
});

describe('decodeCompressedHistogram', () => {
  it("reads Java's payloads", () => {
    const decoded = decodeCompressedHistogram(JAVA.fourValues);
    if (!decoded.ok) throw new Error(decoded.reason);
    expect(decoded.histogram.totalCount).toBe(6);
    const expected = jsHistogram([1000, 12345, 250_000]);
    expected.recordValueWithCount(5_000_000, 3);
    expect(countsOf(decoded.histogram)).toEqual(countsOf(expected));
    const empty = decodeCompressedHistogram(JAVA.empty);
    expect(empty.ok && empty.histogram.totalCount).toBe(0);
  });

  it("round-trips 100 000 spread values in rtprobe's 1 ns layout: same counts, same percentiles", () => {
    const histogram = rtprobeHistogram(spreadValues(100_000, 7));
    const decoded = decodeCompressedHistogram(encoded(histogram));
    if (!decoded.ok) throw new Error(decoded.reason);
    expect(countsOf(decoded.histogram)).toEqual(countsOf(histogram));
    for (const p of [0, 50, 90, 99, 99.9, 99.99, 99.999, 100]) {
      expect(decoded.histogram.getValueAtPercentile(p)).toBe(histogram.getValueAtPercentile(p));
    }
  });

  it("reads hdr-histogram-js's own payloads too", () => {
    const histogram = jsHistogram(spreadValues(1000, 3));
    const decoded = decodeCompressedHistogram(hdr.encodeIntoCompressedBase64(histogram));
    expect(decoded.ok && countsOf(decoded.histogram)).toEqual(countsOf(histogram));
  });

  const header = Buffer.from(JAVA.fourValuesBlock, 'hex');
  const wrap = (inner: Buffer): string => {
    const deflated = deflateSync(inner);
    const outer = Buffer.alloc(8 + deflated.length);
    outer.writeUInt32BE(0x1c849314, 0);
    outer.writeInt32BE(deflated.length, 4);
    deflated.copy(outer, 8);
    return outer.toString('base64');
  };
  const withField = (offset: number, write: (b: Buffer) => void): string => {
    const copy = Buffer.from(header);
    write(copy.subarray(offset));
    return wrap(copy);
  };

  it.each([
    ['', /not base64/],
    ['HIST FAAA', /not base64/],
    ['HISTFA==', /shorter than its header/],
    [JAVA.doubleHistogram, /not a compressed V2 integer histogram/],
    [JAVA.fourValues.slice(0, 40), /deflated length|zlib/],
    [Buffer.concat([Buffer.from('1c849314000000ff', 'hex'), Buffer.alloc(16)]).toString('base64'), /exceeds the payload/],
    [wrap(Buffer.from('not a histogram at all, forty bytes long!')), /no V2 block/],
    [withField(12, (b) => b.writeInt32BE(7)), /bad layout/],
    [withField(16, (b) => b.writeBigInt64BE(0n)), /bad layout/],
    [withField(4, (b) => b.writeInt32BE(5000)), /counts length/],
    [wrap(Buffer.concat([header.subarray(0, 4), Buffer.from('00000009', 'hex'), header.subarray(8, 40), Buffer.from('ffffffffffffffff7f', 'hex')])), /above 2\^53/],
    [wrap(Buffer.concat([header.subarray(0, 4), Buffer.from('00000001', 'hex'), header.subarray(8, 40), Buffer.from('80', 'hex')])), /end inside a number/],
    [withField(24, (b) => b.writeBigInt64BE(2n ** 62n)), /bad layout/],
  ])('returns a reason for %#, never throws', (payload, reason) => {
    const decoded = decodeCompressedHistogram(payload);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.reason).toMatch(reason);
  });

  it('refuses a count placed beyond the layout', () => {
    // a run of 22 266 zeros (past the 18 432 buckets of 1 µs..60 s at 3 digits), then a 1
    const run = Buffer.from([0xf3, 0xdb, 0x02, 0x02]);
    const inner = Buffer.concat([header.subarray(0, 40), run]);
    inner.writeInt32BE(run.length, 4);
    const decoded = decodeCompressedHistogram(wrap(inner));
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.reason).toMatch(/beyond the histogram/);
  });
});
