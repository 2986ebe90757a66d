import { deflateSync, inflateSync } from 'node:zlib';
import * as hdr from 'hdr-histogram-js';
import type { JsHistogram } from 'hdr-histogram-js';

/**
 * HdrHistogram's compressed V2 histogram encoding, byte for byte as the Java library writes it
 * in interval logs (`HistogramLogWriter`), so `HistogramLogProcessor` reads our files right.
 * The one encoder of rtprobe: the .hlog lines and the agent stream's histograms both use it.
 *
 * hdr-histogram-js 3.0.1 writes two header fields differently (its own reader ignores both):
 * normalizingIndexOffset 1 where Java writes 0, and the conversion ratio as the int64 1 where
 * Java writes the IEEE double 1.0 (read back by Java as 4.9e-324). We write the V2 block
 * ourselves rather than patch its output: its encoder also sizes the counts from `maxValue`,
 * which it inflates by the unit mask on every `add`.
 *
 *   outer (big-endian):  int32 0x1c849314 | int32 deflated length | zlib stream (level 9, as Java)
 *   inflated V2 block:   int32 0x1c849313 | int32 counts length | int32 normalizingIndexOffset = 0
 *                        int32 significant digits | int64 lowest | int64 highest
 *                        float64 integer-to-double ratio = 1.0 | counts
 *   counts: ZigZag LEB128 longs up to the last non-zero bucket; a negative -n stands for n zeros.
 */

const V2_COOKIE = 0x1c849313;
const V2_COMPRESSED_COOKIE = 0x1c849314;
const V2_HEADER_BYTES = 40;
/** Java's own Histogram writes the offset 0; a histogram that shifted its array writes its shift. */
const NORMALIZING_INDEX_OFFSET = 0;
const CONVERSION_RATIO = 1.0;
/** a 1 ns .. 1 h, 5 digit histogram is below this; a bigger layout is not a latency log of ours */
const MAX_COUNTS_LENGTH = 1 << 22;
const MAX_INFLATED_BYTES = 64 << 20;

type AnyHistogram = ReturnType<typeof hdr.build>;

/** The JS implementation (counts by index); a WASM histogram is copied through the library's own codec. */
function asJsHistogram(histogram: AnyHistogram): JsHistogram {
  if (histogram instanceof hdr.JsHistogram) return histogram;
  return hdr.decodeFromCompressedBase64(hdr.encodeIntoCompressedBase64(histogram), 64, false) as JsHistogram;
}

function putZigZag(out: number[], value: number): void {
  let rest = value >= 0 ? value * 2 : -value * 2 - 1;
  // 7 bits a byte, low first; our counts stay below 2^53, so Java's 9th 8-bit byte never occurs.
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
}

/** Base64 of the compressed V2 form; an Error for a negative or non-integer count. */
export function encodeCompressedHistogram(histogram: AnyHistogram): string | Error {
  const js = asJsHistogram(histogram);
  let last = js.countsArrayLength - 1;
  while (last > 0 && js.getCountAtIndex(last) === 0) last--;
  const counts: number[] = [];
  for (let index = 0; index <= last;) {
    const count = js.getCountAtIndex(index++);
    if (!Number.isSafeInteger(count) || count < 0) return new Error(`cannot encode count ${count} at index ${index - 1}`);
    if (count > 0) {
      putZigZag(counts, count);
      continue;
    }
    let zeros = 1;
    while (index <= last && js.getCountAtIndex(index) === 0) { zeros++; index++; }
    putZigZag(counts, zeros > 1 ? -zeros : 0);
  }
  const block = Buffer.alloc(V2_HEADER_BYTES + counts.length);
  block.writeInt32BE(V2_COOKIE, 0);
  block.writeInt32BE(counts.length, 4);
  block.writeInt32BE(NORMALIZING_INDEX_OFFSET, 8);
  block.writeInt32BE(js.numberOfSignificantValueDigits, 12);
  block.writeBigInt64BE(BigInt(js.lowestDiscernibleValue), 16);
  block.writeBigInt64BE(BigInt(js.highestTrackableValue), 24);
  block.writeDoubleBE(CONVERSION_RATIO, 32);
  block.set(counts, V2_HEADER_BYTES);
  const deflated = deflateSync(block, { level: 9 });
  const outer = Buffer.alloc(8 + deflated.length);
  outer.writeInt32BE(V2_COMPRESSED_COOKIE, 0);
  outer.writeInt32BE(deflated.length, 4);
  deflated.copy(outer, 8);
  return outer.toString('base64');
}

export type DecodedCompressedHistogram = { ok: true; histogram: JsHistogram } | { ok: false; reason: string };

const fail = (reason: string): DecodedCompressedHistogram => ({ ok: false, reason });

/** The counts length HdrHistogram allocates for a layout, computed before allocating it. */
function countsLength(lowest: number, highest: number, digits: number): number {
  const subBucketCount = 2 ** Math.ceil(Math.log2(2 * 10 ** digits));
  let smallestUntrackable = subBucketCount * 2 ** Math.floor(Math.log2(lowest));
  let buckets = 1;
  while (smallestUntrackable <= highest && buckets < 64) { smallestUntrackable *= 2; buckets++; }
  return (buckets + 1) * (subBucketCount / 2);
}

/**
 * Decodes a payload written by us, by Java or by hdr-histogram-js into a 64-bit JS histogram.
 * Every way a payload can be wrong is a reason, never a throw. normalizingIndexOffset and the
 * ratio are read past: every writer puts the counts in value order whatever its offset, and an
 * integer histogram has no use for the ratio (so hdr-histogram-js's payloads read right too).
 */
export function decodeCompressedHistogram(text: string): DecodedCompressedHistogram {
  if (text.length === 0 || text.length > 16_000_000 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return fail('not base64');
  const outer = Buffer.from(text, 'base64');
  if (outer.length < 8) return fail('shorter than its header');
  const cookie = outer.readInt32BE(0);
  if ((cookie & ~0xf0) !== (V2_COMPRESSED_COOKIE & ~0xf0)) {
    return fail(`cookie 0x${(cookie >>> 0).toString(16)} is not a compressed V2 integer histogram`);
  }
  const deflatedLength = outer.readInt32BE(4);
  if (deflatedLength <= 0 || deflatedLength > outer.length - 8) return fail(`deflated length ${deflatedLength} exceeds the payload`);
  let block: Buffer;
  try {
    block = inflateSync(outer.subarray(8, 8 + deflatedLength), { maxOutputLength: MAX_INFLATED_BYTES });
  } catch (error) {
    return fail(`zlib: ${(error as Error).message}`);
  }
  if (block.length < V2_HEADER_BYTES || (block.readInt32BE(0) & ~0xf0) !== (V2_COOKIE & ~0xf0)) return fail('no V2 block inside');
  const payloadLength = block.readInt32BE(4);
  const digits = block.readInt32BE(12);
  const lowest = Number(block.readBigInt64BE(16));
  const highest = Number(block.readBigInt64BE(24));
  if (payloadLength < 0 || payloadLength > block.length - V2_HEADER_BYTES) return fail(`counts length ${payloadLength} exceeds the block`);
  if (!(digits >= 1 && digits <= 5) || !(lowest >= 1) || !(highest >= 2 * lowest) || highest > Number.MAX_SAFE_INTEGER) {
    return fail(`bad layout: lowest ${lowest}, highest ${highest}, ${digits} digits`);
  }
  if (countsLength(lowest, highest, digits) > MAX_COUNTS_LENGTH) return fail('layout too large for a latency histogram');
  const histogram = hdr.build({
    bitBucketSize: 64, lowestDiscernibleValue: lowest, highestTrackableValue: highest,
    numberOfSignificantValueDigits: digits as 1 | 2 | 3 | 4 | 5, autoResize: false, useWebAssembly: false,
  }) as JsHistogram;
  let position = V2_HEADER_BYTES;
  const end = V2_HEADER_BYTES + payloadLength;
  let index = 0;
  while (position < end) {
    let raw = 0;
    let scale = 1;
    for (let byteNumber = 0; ; byteNumber++) {
      const byte = block[position++];
      if (byte === undefined || position > end) return fail('counts end inside a number');
      // LEB128-64b9B: eight 7-bit groups, then a 9th byte with all 8 bits
      raw += (byteNumber === 8 ? byte : byte & 0x7f) * scale;
      scale *= 128;
      if (byteNumber === 8 || (byte & 0x80) === 0) break;
    }
    if (raw > Number.MAX_SAFE_INTEGER) return fail('a count above 2^53');
    const value = raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
    if (value < 0) { index += -value; continue; }
    if (index >= histogram.countsArrayLength) {
      if (value === 0) { index++; continue; }
      return fail(`a count at index ${index}, beyond the histogram's ${histogram.countsArrayLength}`);
    }
    histogram.setCountAtIndex(index++, value);
  }
  histogram.establishInternalTackingValues(Math.min(index, histogram.countsArrayLength));
  return { ok: true, histogram };
}
