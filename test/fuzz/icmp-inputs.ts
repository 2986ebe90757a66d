import {
  ECHO_REQUEST_TYPE, ICMP_MAX_BYTES, ICMP_MIN_BYTES, ICMP_OFFSET_CHECKSUM, ICMP_OFFSET_CODE,
  ICMP_OFFSET_IDENTIFIER, ICMP_OFFSET_MAGIC, ICMP_OFFSET_SEQ, ICMP_OFFSET_SEQ16, ICMP_OFFSET_SESSION,
  ICMP_OFFSET_T1, ICMP_OFFSET_TYPE, echoReplyTo, encodeEchoRequest, icmpChecksum, icmpIdentifier, type IcmpFamily,
} from '../../controller/transport/icmp-codec.js';
import { EDGE_LENGTHS, mutate, randomBytes, resize, type FieldSpec } from './mutate-bytes.js';
import type { Prng } from '../helpers/prng.js';

/** The ICMP echo probe, field by field (controller/transport/icmp-codec.ts). */
export const ICMP_FIELDS: readonly FieldSpec[] = [
  { name: 'type', offset: ICMP_OFFSET_TYPE, bytes: 1 },
  { name: 'code', offset: ICMP_OFFSET_CODE, bytes: 1 },
  { name: 'checksum', offset: ICMP_OFFSET_CHECKSUM, bytes: 2 },
  { name: 'identifier', offset: ICMP_OFFSET_IDENTIFIER, bytes: 2 },
  { name: 'seq16', offset: ICMP_OFFSET_SEQ16, bytes: 2 },
  { name: 'magic', offset: ICMP_OFFSET_MAGIC, bytes: 4 },
  { name: 'session', offset: ICMP_OFFSET_SESSION, bytes: 4 },
  { name: 'seq', offset: ICMP_OFFSET_SEQ, bytes: 8 },
  { name: 'T1', offset: ICMP_OFFSET_T1, bytes: 8 },
];

/** The IPv4 header (RFC 791) fields a raw socket hands over in front of the ICMP message. */
export const IPV4_FIELDS: readonly FieldSpec[] = [
  { name: 'version-ihl', offset: 0, bytes: 1 },
  { name: 'total-length', offset: 2, bytes: 2 },
  { name: 'protocol', offset: 9, bytes: 1 },
  { name: 'header-checksum', offset: 10, bytes: 2 },
];

/** Sessions the fuzzed controller runs: their identifiers are "ours". */
export const OUR_SESSIONS = [0x12340001, 0xdeadbeef, 7] as const;
const OUR_IDENTIFIERS = new Set<number>(OUR_SESSIONS.map(icmpIdentifier));
export const isOurIdentifier = (identifier: number): boolean => OUR_IDENTIFIERS.has(identifier);

/** Other ICMP types a raw socket sees: unreachable, time exceeded, redirect; ND and MLD for v6. */
const OTHER_TYPES: Readonly<Record<IcmpFamily, readonly number[]>> = { 4: [3, 5, 11, 12, 13, 14], 6: [1, 2, 3, 4, 130, 133, 134, 135, 136, 143] };

export interface IcmpInput {
  family: IcmpFamily;
  message: Buffer;
}

/** Writes the IPv4 checksum the receiver checks (ICMPv6: the kernel's job, left as is). */
export function sealChecksum(message: Buffer, family: IcmpFamily): Buffer {
  if (family !== 4 || message.length < ICMP_OFFSET_CHECKSUM + 2) return message;
  message.writeUInt16BE(0, ICMP_OFFSET_CHECKSUM);
  message.writeUInt16BE(icmpChecksum(message), ICMP_OFFSET_CHECKSUM);
  return message;
}

function icmpSize(rng: Prng): number {
  return rng.chance(0.2) ? rng.pick([ICMP_MIN_BYTES, ICMP_MAX_BYTES]) : rng.range(ICMP_MIN_BYTES, ICMP_MAX_BYTES);
}

/** An echo request of ours (a session we run or, sometimes, another one). */
export function echoRequest(rng: Prng, family: IcmpFamily, size = icmpSize(rng)): Buffer {
  const session = rng.chance(0.8) ? rng.pick(OUR_SESSIONS) : rng.u32();
  return encodeEchoRequest(session, rng.u64(), rng.u64(), size, family);
}

/** The guest's answer to one of our requests: type reply, the rest echoed, checksum redone. */
export function echoReply(rng: Prng, family: IcmpFamily, size = icmpSize(rng)): Buffer {
  return echoReplyTo(echoRequest(rng, family, size), family);
}

/**
 * Any ICMP message the raw socket may deliver: valid replies and our own requests, replies
 * with a wrong checksum, identifier, sequence or code, other ICMP types, resized and mutated
 * packets (with the checksum fixed up or left wrong), random bytes.
 */
export function icmpMessage(rng: Prng): IcmpInput {
  const family: IcmpFamily = rng.chance(0.5) ? 4 : 6;
  const kind = rng.int(100);
  if (kind < 10) return { family, message: randomBytes(rng) };
  if (kind < 20) return { family, message: echoReply(rng, family) };
  if (kind < 25) return { family, message: echoRequest(rng, family) };
  const message = rng.chance(0.8) ? echoReply(rng, family) : echoRequest(rng, family);
  if (kind < 30) {
    message.writeUInt8(rng.pick(OTHER_TYPES[family]), ICMP_OFFSET_TYPE);
    return { family, message: sealChecksum(message, family) };
  }
  if (kind < 40) {
    // One field wrong, the checksum right: only the field check can tell.
    const field = rng.pick(['identifier', 'seq16', 'code', 'magic', 'session', 'seq'] as const);
    const spec = ICMP_FIELDS.find((f) => f.name === field);
    if (spec) message.writeUIntBE(rng.int(2 ** Math.min(spec.bytes * 8, 32)), spec.offset + Math.max(0, spec.bytes - 4), Math.min(spec.bytes, 4));
    return { family, message: sealChecksum(message, family) };
  }
  if (kind < 50) {
    const size = rng.chance(0.5) ? rng.pick(EDGE_LENGTHS) : rng.range(0, 1600);
    return { family, message: sealChecksum(resize(rng, message, size), family) };
  }
  const mutated = mutate(rng, message, ICMP_FIELDS);
  return { family, message: rng.chance(0.4) ? sealChecksum(mutated, family) : mutated };
}

/** Wraps an ICMP message in an IPv4 header (with options when ihl > 5), as a raw socket reads it. */
export function ipv4Datagram(rng: Prng, message: Buffer): Buffer {
  const ihl = rng.chance(0.7) ? 5 : rng.range(5, 15);
  const header = Buffer.alloc(ihl * 4);
  header.writeUInt8(0x40 | ihl, 0);
  header.writeUInt16BE(Math.min(0xffff, header.length + message.length), 2);
  header.writeUInt8(64, 8);
  header.writeUInt8(1, 9);
  header.writeUInt32BE(0x7f000001, 12);
  header.writeUInt32BE(0x7f000001, 16);
  if (ihl > 5) header.fill(1, 20); // NOP options
  return Buffer.concat([header, message]);
}

/** A raw IPv4 socket's datagram: valid wrappers of the messages above, their mutations, random bytes. */
export function ipv4IcmpDatagram(rng: Prng): Buffer {
  if (rng.chance(0.1)) return randomBytes(rng);
  const { message } = rng.chance(0.5) ? { message: echoReply(rng, 4) } : icmpMessage(rng);
  const datagram = ipv4Datagram(rng, message);
  if (rng.chance(0.5)) return datagram;
  return mutate(rng, datagram, IPV4_FIELDS, 2);
}
