import { unwrap } from './histogram-inputs.js';

const BLOCK_HEADER_BYTES = 40;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The counts a V2 payload holds, read independently of the decoders under test: the sum of its
 * positive counts and the bucket index of the last one. Null when the counts are not well
 * formed (then there is nothing to compare).
 */
export function payloadCounts(payload: string): { total: number; lastIndex: number } | null {
  const block = unwrap(payload);
  if (block === null || block.length < BLOCK_HEADER_BYTES) return null;
  const end = BLOCK_HEADER_BYTES + block.readInt32BE(4);
  if (end < BLOCK_HEADER_BYTES || end > block.length) return null;
  let total = 0;
  let index = 0;
  let lastIndex = -1;
  for (let position = BLOCK_HEADER_BYTES; position < end;) {
    let raw = 0n;
    for (let byteNumber = 0; ; byteNumber++) {
      const byte = block[position++];
      if (byte === undefined || position > end) return null;
      raw |= BigInt(byteNumber === 8 ? byte : byte & 0x7f) << BigInt(7 * byteNumber);
      if (byteNumber === 8 || (byte & 0x80) === 0) break;
    }
    // Beyond 2^53 the decoders' doubles round (and hdr-histogram-js reads a 9th byte as 7 bits): no exact answer.
    if (raw > MAX_SAFE) return null;
    const value = (raw & 1n) === 0n ? raw >> 1n : -((raw + 1n) >> 1n);
    if (value < 0n) {
      index += Number(-value);
      continue;
    }
    if (value > 0n) {
      total += Number(value);
      lastIndex = index;
    }
    index++;
  }
  return Number.isSafeInteger(total) ? { total, lastIndex } : null;
}
