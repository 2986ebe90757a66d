import { deflateSync, inflateSync } from 'node:zlib';
import * as hdr from 'hdr-histogram-js';
import { encodeHistogram } from '../../shared/histogram/histogram-transport.js';
import { HISTOGRAM_DIGITS, HISTOGRAM_HIGHEST_NS, HISTOGRAM_LOWEST_NS } from '../../shared/histogram/latency-histogram.js';
import { encodeCompressedHistogram } from '../../shared/histogram/histogram-codec.js';
import { mutate, type FieldSpec } from './mutate-bytes.js';
import { Prng } from '../helpers/prng.js';

/**
 * HdrHistogram compressed V2 payloads (base64), valid and hostile. The layers, outside in:
 *   base64 text | int32 cookie 0x1c84931x, int32 deflated length, zlib stream |
 *   V2 block: int32 cookie 0x1c84930x, int32 counts length, int32 normalizing offset, int32 digits,
 *             int64 lowest, int64 highest, float64 ratio | counts as ZigZag LEB128-64b9B
 * Mutations hit every layer, so inputs get past base64 and zlib into the counts decoder.
 */

export const OUTER_FIELDS: readonly FieldSpec[] = [
  { name: 'cookie', offset: 0, bytes: 4 },
  { name: 'deflated-length', offset: 4, bytes: 4 },
];

export const BLOCK_FIELDS: readonly FieldSpec[] = [
  { name: 'cookie', offset: 0, bytes: 4 },
  { name: 'counts-length', offset: 4, bytes: 4 },
  { name: 'normalizing-offset', offset: 8, bytes: 4 },
  { name: 'digits', offset: 12, bytes: 4 },
  { name: 'lowest', offset: 16, bytes: 8 },
  { name: 'highest', offset: 24, bytes: 8 },
  { name: 'ratio', offset: 32, bytes: 8 },
];

const V2_COOKIE = 0x1c849313;
const V2_COMPRESSED_COOKIE = 0x1c849314;
const BLOCK_HEADER_BYTES = 40;
const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

type Histogram = ReturnType<typeof hdr.build>;

interface Pools {
  /** hdr-histogram-js's own encoding (decodeHistogram's input, the agent's stream) */
  transport: string[];
  /** our Java-compatible encoding (interval logs) */
  hlog: string[];
  /** a zlib stream of a large block of zeros: small to send, large to inflate */
  bomb: string;
}

let pools: Pools | null = null;

function sampleHistogram(rng: Prng, layout: { lowest: number; highest: number; digits: 1 | 2 | 3 | 4 | 5 }): Histogram {
  const histogram = hdr.build({
    bitBucketSize: 64, lowestDiscernibleValue: layout.lowest, highestTrackableValue: layout.highest,
    numberOfSignificantValueDigits: layout.digits, autoResize: false, useWebAssembly: false,
  });
  const values = rng.chance(0.1) ? 0 : rng.range(1, 300);
  for (let i = 0; i < values; i++) {
    const value = Math.min(layout.highest, Math.floor(layout.lowest * 2 ** (rng.float() * Math.log2(layout.highest / layout.lowest))));
    histogram.recordValueWithCount(value, rng.chance(0.9) ? 1 : rng.range(1, 1_000_000));
  }
  return histogram;
}

/** Valid payloads, the same in every run (a fixed seed): what the mutations start from. */
export function payloadPools(): Pools {
  if (pools !== null) return pools;
  const rng = new Prng(0x5eed_4d15);
  const layouts = [
    { lowest: HISTOGRAM_LOWEST_NS, highest: HISTOGRAM_HIGHEST_NS, digits: HISTOGRAM_DIGITS as 3 },
    { lowest: 1, highest: 3_600_000_000_000, digits: 3 as const },
    { lowest: 1, highest: 2, digits: 1 as const },
    { lowest: 1000, highest: 10_000_000, digits: 5 as const },
  ];
  const transport: string[] = [];
  const hlog: string[] = [];
  for (let i = 0; i < 48; i++) {
    const histogram = sampleHistogram(rng, i < 36 ? layouts[0]! : rng.pick(layouts));
    transport.push(encodeHistogram(histogram));
    const ours = encodeCompressedHistogram(histogram);
    if (typeof ours === 'string') hlog.push(ours);
  }
  pools = { transport, hlog, bomb: wrap(deflateSync(Buffer.alloc(8 << 20), { level: 9 })) };
  return pools;
}

/** The outer layer around a zlib stream: compressed cookie and length, as base64. */
export function wrap(deflated: Buffer, cookie = V2_COMPRESSED_COOKIE, length = deflated.length): string {
  const outer = Buffer.alloc(8 + deflated.length);
  outer.writeInt32BE(cookie | 0, 0);
  outer.writeInt32BE(length | 0, 4);
  deflated.copy(outer, 8);
  return outer.toString('base64');
}

/** The V2 block inside a valid payload (null when it is not one). */
export function unwrap(payload: string): Buffer | null {
  const outer = Buffer.from(payload, 'base64');
  if (outer.length < 8) return null;
  try {
    return inflateSync(outer.subarray(8, 8 + Math.max(0, outer.readInt32BE(4))), { maxOutputLength: 64 << 20 });
  } catch {
    return null;
  }
}

/** ZigZag LEB128-64b9B of any signed 64-bit value: 7 bits a byte, a 9th byte of 8 bits. */
export function zigZagBytes(value: bigint): number[] {
  let rest = BigInt.asUintN(64, value >= 0n ? value << 1n : (-value << 1n) - 1n);
  const out: number[] = [];
  for (let i = 0; i < 8; i++) {
    if (rest < 0x80n) {
      out.push(Number(rest));
      return out;
    }
    out.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  out.push(Number(rest & 0xffn));
  return out;
}

/** A count or a run of zeros at an edge: small, around 2^31, 2^32, 2^53, 2^63. */
function edgeCount(rng: Prng): bigint {
  const magnitude = rng.pick([1n, 2n, 127n, 128n, 2n ** 31n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n + 1n, 2n ** 62n, 2n ** 63n - 1n]);
  const value = rng.chance(0.3) ? BigInt(rng.range(0, 4096)) : magnitude + BigInt(rng.range(-1, 1));
  return rng.chance(0.5) ? -value : value;
}

function blockFrom(rng: Prng, counts: number[], layout?: { digits: number; lowest: bigint; highest: bigint }): Buffer {
  const block = Buffer.alloc(BLOCK_HEADER_BYTES + counts.length);
  block.writeInt32BE(V2_COOKIE, 0);
  block.writeInt32BE(counts.length, 4);
  block.writeInt32BE(rng.chance(0.8) ? 0 : rng.range(-2, 2), 8);
  block.writeInt32BE(layout?.digits ?? 3, 12);
  block.writeBigInt64BE(BigInt.asIntN(64, layout?.lowest ?? 1000n), 16);
  block.writeBigInt64BE(BigInt.asIntN(64, layout?.highest ?? 60_000_000_000n), 24);
  block.writeDoubleBE(1, 32);
  Buffer.from(counts).copy(block, BLOCK_HEADER_BYTES);
  return block;
}

/** A block mutated in its header fields or its counts (an edge count spliced in), its length fixed up or not. */
function mutateBlock(rng: Prng, block: Buffer): Buffer {
  let out: Buffer;
  if (rng.chance(0.5)) {
    const at = rng.range(BLOCK_HEADER_BYTES, Math.max(BLOCK_HEADER_BYTES, block.length));
    const splice = Buffer.from(zigZagBytes(edgeCount(rng)));
    const cut = rng.chance(0.5) ? 0 : rng.range(0, 9);
    out = Buffer.concat([block.subarray(0, at), splice, block.subarray(Math.min(block.length, at + cut))]);
  } else {
    out = mutate(rng, block, BLOCK_FIELDS, 3);
  }
  if (out.length >= 8 && rng.chance(0.7)) out.writeInt32BE(Math.max(0, out.length - BLOCK_HEADER_BYTES), 4);
  return out;
}

/** A layout from scratch: lowest, highest and digits anywhere (huge arrays, zero-size ones, nonsense). */
function hostileLayout(rng: Prng): Buffer {
  const lowest = rng.pick([0n, 1n, 2n, 1000n, 2n ** 32n, 2n ** 62n, -1n, BigInt(rng.range(1, 1 << 20))]);
  const highest = rng.pick([2n, 1n, 0n, 60_000_000_000n, 120_000_000_000n, 2n ** 53n, 2n ** 62n, 2n ** 63n - 1n, -1n, lowest * 2n]);
  const digits = rng.pick([0, 1, 2, 3, 4, 5, 6, -1, 2 ** 31 - 1]);
  const counts: number[] = [];
  const n = rng.range(0, 6);
  for (let i = 0; i < n; i++) counts.push(...zigZagBytes(edgeCount(rng)));
  return blockFrom(rng, counts, { digits, lowest, highest });
}

function mutateBase64Text(rng: Prng, text: string): string {
  const chars = [...text];
  const n = rng.range(1, 4);
  for (let i = 0; i < n; i++) {
    const at = rng.int(chars.length + 1);
    switch (rng.int(5)) {
      case 0: chars[at] = BASE64[rng.int(64)] ?? 'A'; break;
      case 1: chars.splice(at, 0, rng.pick(['=', '==', '-', '_', ' ', '\n', '\u00e9', '\u0000', 'A'])); break;
      case 2: chars.splice(at, rng.range(1, 16)); break;
      case 3: chars.length = Math.min(chars.length, at); break;
      default: chars.push(...'='.repeat(rng.range(1, 3))); break;
    }
  }
  return chars.join('');
}

/**
 * A histogram payload: valid ones of both encodings, mutated at the text, outer, block or
 * counts layer, hostile layouts, a zlib bomb now and then, random text.
 */
export function histogramPayload(rng: Prng, encoding: 'transport' | 'hlog' = 'transport'): string {
  const { transport, hlog, bomb } = payloadPools();
  const pool = encoding === 'transport' ? (rng.chance(0.9) ? transport : hlog) : (rng.chance(0.9) ? hlog : transport);
  const base = rng.pick(pool);
  // One in 2000 is the bomb (8 MiB to inflate: often enough to be seen, rare enough to keep runs quick).
  if (rng.int(2000) === 0) return bomb;
  const kind = rng.int(1000);
  if (kind < 100) return base;
  if (kind < 250) return mutateBase64Text(rng, base);
  if (kind < 400) return mutate(rng, Buffer.from(base, 'base64'), OUTER_FIELDS, 2).toString('base64');
  if (kind < 900) {
    const block = kind < 800 ? unwrap(base) : hostileLayout(rng);
    if (block === null) return base;
    const mutated = kind < 800 ? mutateBlock(rng, block) : block;
    const deflated = deflateSync(mutated);
    return rng.chance(0.9) ? wrap(deflated) : wrap(deflated, rng.u32(), rng.chance(0.5) ? rng.u32() : deflated.length + rng.range(-4, 4));
  }
  if (kind < 950) return rng.bytes(rng.range(0, 200)).toString('base64');
  return rng.bytes(rng.range(0, 200)).toString('latin1');
}
