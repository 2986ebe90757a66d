import { inflateSync } from 'node:zlib';

/**
 * A cost model of decodeHistogram: how many loop steps hdr-histogram-js 3.0.1 takes on a
 * payload (decodeFromCompressedBase64 → JsHistogram.decode). Its counts loop runs once per
 * byte of the *declared* counts length, even past the end of the data, and
 * establishInternalTackingValues then walks every bucket index the counts reached, zero runs
 * included: a 60-byte payload can declare 2^62 buckets, and the decode never ends.
 *
 * The harness uses it only to skip inputs whose decode would take far longer than the limit,
 * after running the first few of them for real to confirm it (fuzz-decoders.ts). Null when
 * the decode stops early (bad base64, cookie, zlib stream or layout).
 */

const COMPRESSED_COOKIE_BASE = 0x1c849304;
const COOKIE_BASE = 0x1c849303;
const HEADER_BYTES = 40;
const MAX_MODELLED_INFLATE = 64 << 20;

/**
 * hdr-histogram-js's ByteBuffer reads: getInt32 is unsigned, and past the end of the data it
 * keeps the bytes of the previous read where none are left; getInt64 is high * 2^32 + low.
 */
class HdrByteReader {
  private readonly convert = new Uint8Array(4);
  position = 0;

  constructor(private readonly data: Uint8Array) {}

  int32(): number {
    this.convert.set(this.data.slice(this.position, this.position + 4).reverse());
    this.position += 4;
    return new Uint32Array(this.convert.buffer)[0] ?? 0;
  }

  int64(): number {
    return this.int32() * 2 ** 32 + this.int32();
  }
}

export function histogramDecodeSteps(payload: string): number | null {
  // decodeHistogram's own checks, then base64-js's (a length that is not a multiple of 4 throws)
  if (payload.length === 0 || payload.length > 4_000_000 || !/^[A-Za-z0-9+/]+=*$/.test(payload)) return null;
  if (payload.length % 4 !== 0) return null;
  const bytes = Buffer.from(payload, 'base64');
  if (bytes.length < 8 || (bytes.readInt32BE(0) & ~0xf0) !== COMPRESSED_COOKIE_BASE) return null;
  let block: Buffer;
  try {
    block = inflateSync(bytes.subarray(8, 8 + bytes.readUInt32BE(4)), { maxOutputLength: MAX_MODELLED_INFLATE });
  } catch {
    return null;
  }
  const header = new HdrByteReader(block);
  if ((header.int32() & ~0xf0) !== COOKIE_BASE) return null;
  const countsLength = header.int32();
  header.int32();
  const digits = header.int32();
  const lowest = header.int64();
  const highest = header.int64();
  if (lowest < 1 || highest < 2 * lowest || digits > 5) return null;
  const end = HEADER_BYTES + countsLength;
  let index = 0;
  let position = HEADER_BYTES;
  while (position < end) {
    if (position >= block.length) {
      // Past the data every read is undefined: one byte, one zero count, one bucket per step.
      index += end - position;
      break;
    }
    // ZigZagEncoding.decode: up to 9 bytes of 7 bits, as doubles.
    let raw = 0;
    let scale = 1;
    for (let byteNumber = 0; byteNumber < 9; byteNumber++) {
      const byte = block[position++];
      if (byte === undefined) break;
      raw += (byte & 0x7f) * scale;
      scale *= 128;
      if ((byte & 0x80) === 0) break;
    }
    const value = raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
    // setCountAtIndex throws (a string) for a count above 2^53: the decode stops there.
    if (value > Number.MAX_SAFE_INTEGER) return null;
    index += value < 0 ? -value : 1;
  }
  return countsLength + index;
}
