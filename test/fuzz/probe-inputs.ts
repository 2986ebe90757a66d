import { encodeProbe, encodeRefusal, encodeSessionEnd, stampFlags } from '../../shared/wire/probe-codec.js';
import { REFUSAL_REASONS } from '../../shared/wire/probe-layout.js';
import {
  OFFSET_FLAGS, OFFSET_LENGTH, OFFSET_MAGIC, OFFSET_RESERVED, OFFSET_SEQ, OFFSET_SESSION, OFFSET_T1,
  OFFSET_T2, OFFSET_T3, OFFSET_TYPE, OFFSET_VERSION, PROBE_MAX_BYTES, PROBE_MIN_BYTES, PROBE_TYPE_REPLY,
} from '../../shared/wire/probe-layout.js';
import { EDGE_LENGTHS, mutate, randomBytes, resize, type FieldSpec } from './mutate-bytes.js';
import type { Prng } from '../helpers/prng.js';

/** The v1 probe header, field by field (shared/wire/probe-layout.ts). */
export const PROBE_FIELDS: readonly FieldSpec[] = [
  { name: 'magic', offset: OFFSET_MAGIC, bytes: 4 },
  { name: 'version', offset: OFFSET_VERSION, bytes: 1 },
  { name: 'type', offset: OFFSET_TYPE, bytes: 1 },
  { name: 'flags', offset: OFFSET_FLAGS, bytes: 2 },
  { name: 'session', offset: OFFSET_SESSION, bytes: 4 },
  { name: 'length', offset: OFFSET_LENGTH, bytes: 2 },
  { name: 'reserved', offset: OFFSET_RESERVED, bytes: 2 },
  { name: 'seq', offset: OFFSET_SEQ, bytes: 8 },
  { name: 'T1', offset: OFFSET_T1, bytes: 8 },
  { name: 'T2', offset: OFFSET_T2, bytes: 8 },
  { name: 'T3', offset: OFFSET_T3, bytes: 8 },
];

const SOURCES = ['none', 'user', 'kernel', 'hardware'] as const;

/** A probe size: each of 64..1472 reachable, the bounds more often than their share. */
export function probeSize(rng: Prng): number {
  return rng.chance(0.2) ? rng.pick([PROBE_MIN_BYTES, PROBE_MIN_BYTES + 1, PROBE_MAX_BYTES - 1, PROBE_MAX_BYTES])
    : rng.range(PROBE_MIN_BYTES, PROBE_MAX_BYTES);
}

/** A valid probe of the given (or a random) size, as the controller sends it. */
export function validProbe(rng: Prng, size = probeSize(rng), session = rng.u32(), seq = rng.u64()): Buffer {
  return encodeProbe(session, seq, rng.u64(), size);
}

/** A valid reply as an agent sends it: type reply, any stamp sources (none included), T2/T3 set. */
export function validReply(rng: Prng, session = rng.u32()): Buffer {
  const reply = validProbe(rng, probeSize(rng), session);
  reply.writeUInt8(PROBE_TYPE_REPLY, OFFSET_TYPE);
  reply.writeUInt16BE(stampFlags(rng.pick(SOURCES), rng.pick(SOURCES)), OFFSET_FLAGS);
  reply.writeBigUInt64BE(rng.u64(), OFFSET_T2);
  reply.writeBigUInt64BE(rng.u64(), OFFSET_T3);
  return reply;
}

/** A valid refusal (as an agent sends it) or session-end (as a controller does), 64 bytes. */
export function validControl(rng: Prng, session = rng.u32()): Buffer {
  if (rng.chance(0.5)) return encodeSessionEnd(session, rng.u64(), rng.u64());
  const scope = rng.chance(0.5) ? 'agent' : 'source-address';
  return encodeRefusal(validProbe(rng, PROBE_MIN_BYTES, session), rng.pick(REFUSAL_REASONS), rng.int(1025), scope);
}

/** The length field rewritten to the datagram's real size, so a resized packet gets past the size check. */
function fixLength(input: Buffer): Buffer {
  if (input.length >= OFFSET_LENGTH + 2) input.writeUInt16BE(input.length & 0xffff, OFFSET_LENGTH);
  return input;
}

/**
 * Any datagram a probe or reply decoder may meet: random bytes, valid probes, replies, refusals
 * and session-ends of every size, their mutations (field-aware ones included), and resized packets whose length
 * field was fixed up to match (the sizes just outside 64..1472 that only the bounds check sees).
 * `sessions`: draw session ids from these (a live agent keeps state per session) instead of anywhere.
 */
export function probeDatagram(rng: Prng, sessions?: readonly number[]): Buffer {
  const session = (): number => (sessions === undefined ? rng.u32() : rng.pick(sessions));
  const kind = rng.int(100);
  if (kind < 10) return randomBytes(rng);
  if (kind < 20) return validProbe(rng, probeSize(rng), session());
  if (kind < 23) return validReply(rng, session());
  if (kind < 25) return validControl(rng, session());
  const pick = rng.int(100);
  const base = pick < 75 ? validProbe(rng, probeSize(rng), session()) : pick < 90 ? validReply(rng, session()) : validControl(rng, session());
  if (kind < 35) {
    const size = rng.chance(0.5) ? rng.pick(EDGE_LENGTHS) : rng.range(48, 1600);
    return fixLength(resize(rng, base, size));
  }
  const mutated = mutate(rng, base, PROBE_FIELDS);
  return rng.chance(0.3) ? fixLength(mutated) : mutated;
}
