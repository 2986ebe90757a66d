import type { Prng } from '../helpers/prng.js';

/** A field of a wire layout, for mutations that hit it on purpose: offset and size in bytes. */
export interface FieldSpec {
  name: string;
  offset: number;
  bytes: 1 | 2 | 4 | 8;
}

/** Byte values that sit on sign, range and parser edges. */
export const INTERESTING_BYTES = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe] as const;

/** Lengths at the edges of the layouts under test (headers, size bounds, MTU). */
export const EDGE_LENGTHS = [0, 1, 7, 8, 19, 20, 31, 32, 47, 48, 49, 63, 64, 65, 1471, 1472, 1473, 1500, 1600] as const;

const MAX_LENGTH = 1600;

/** A field value that sits on an edge for its width: 0, 1, max, max − 1, the sign bit, ±1 of what it was. */
function interestingField(rng: Prng, bytes: number, current: bigint): bigint {
  const bits = BigInt(bytes * 8);
  const max = (1n << bits) - 1n;
  const choices = [0n, 1n, max, max - 1n, 1n << (bits - 1n), (1n << (bits - 1n)) - 1n,
    (current + 1n) & max, (current - 1n) & max, current ^ (1n << BigInt(rng.int(bytes * 8)))];
  return rng.chance(0.2) ? BigInt.asUintN(bytes * 8, rng.u64()) : rng.pick(choices);
}

function readField(buf: Buffer, field: FieldSpec): bigint {
  let value = 0n;
  for (let i = 0; i < field.bytes; i++) value = (value << 8n) | BigInt(buf[field.offset + i] ?? 0);
  return value;
}

function writeField(buf: Buffer, field: FieldSpec, value: bigint): void {
  for (let i = field.bytes - 1, v = value; i >= 0; i--, v >>= 8n) {
    if (field.offset + i < buf.length) buf[field.offset + i] = Number(v & 0xffn);
  }
}

/** Resizes to `length`, keeping the prefix; new bytes are zeros or random. */
export function resize(rng: Prng, input: Buffer, length: number): Buffer {
  if (length <= input.length) return Buffer.from(input.subarray(0, length));
  const tail = rng.chance(0.5) ? Buffer.alloc(length - input.length) : rng.bytes(length - input.length);
  return Buffer.concat([input, tail]);
}

/**
 * One mutation of a copy of `input`: bit flips, interesting bytes, truncation, extension,
 * insertion or deletion, or a field of the layout set to an edge value.
 */
export function mutateOnce(rng: Prng, input: Buffer, fields: readonly FieldSpec[]): Buffer {
  const out = Buffer.from(input);
  const at = (): number => rng.int(Math.max(out.length, 1));
  switch (rng.int(8)) {
    case 0: {
      if (out.length === 0) return out;
      const flips = rng.range(1, 4);
      for (let i = 0; i < flips; i++) {
        const p = at();
        out[p] = (out[p] ?? 0) ^ (1 << rng.int(8));
      }
      return out;
    }
    case 1:
      if (out.length > 0) out[at()] = rng.pick(INTERESTING_BYTES);
      return out;
    case 2:
      return resize(rng, out, rng.chance(0.5) ? rng.pick(EDGE_LENGTHS.filter((n) => n < out.length).concat([0])) : rng.int(out.length + 1));
    case 3:
      return resize(rng, out, Math.min(MAX_LENGTH, out.length + (rng.chance(0.5) ? rng.range(1, 16) : rng.range(1, 400))));
    case 4: {
      const p = rng.int(out.length + 1);
      return Buffer.concat([out.subarray(0, p), rng.bytes(rng.range(1, 8)), out.subarray(p)]).subarray(0, MAX_LENGTH);
    }
    case 5: {
      const p = rng.int(out.length + 1);
      return Buffer.concat([out.subarray(0, p), out.subarray(Math.min(out.length, p + rng.range(1, 8)))]);
    }
    case 6:
      if (out.length > 0) rng.bytes(Math.min(out.length, rng.range(1, 32))).copy(out, at());
      return out;
    default: {
      if (fields.length === 0) return out;
      const field = rng.pick(fields);
      writeField(out, field, interestingField(rng, field.bytes, readField(out, field)));
      return out;
    }
  }
}

/** One to `max` stacked mutations of `input` (the input itself is never changed). */
export function mutate(rng: Prng, input: Buffer, fields: readonly FieldSpec[], max = 4): Buffer {
  let out = input;
  const n = rng.range(1, max);
  for (let i = 0; i < n; i++) out = mutateOnce(rng, out, fields);
  return out === input ? Buffer.from(input) : out;
}

/** Random bytes of a random length 0..1600 (edge lengths more often than their share). */
export function randomBytes(rng: Prng): Buffer {
  return rng.bytes(rng.chance(0.3) ? rng.pick(EDGE_LENGTHS) : rng.int(MAX_LENGTH + 1));
}
