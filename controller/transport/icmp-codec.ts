/**
 * ICMP echo probes of the agent-less mode (pure: no I/O). The whole ICMP message, big-endian:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------+---------------+-------------------------------+
 * | type 8 | 128  |    code 0     |  checksum (IPv4: RFC 1071)    |  0
 * +---------------+---------------+-------------------------------+
 * |  identifier = session & 0xffff | sequence = seq & 0xffff      |  4
 * +-------------------------------+-------------------------------+
 * |                   magic 0x52545049 ("RTPI")                    |  8
 * +---------------------------------------------------------------+
 * |                          session id                           | 12
 * +---------------------------------------------------------------+
 * |                   sequence number (64 bit)                    | 16
 * +---------------------------------------------------------------+
 * |            T1: controller send, CLOCK_REALTIME ns             | 24
 * +---------------------------------------------------------------+
 * |          padding (zeros) up to --size bytes (64..1472)        | 32
 *
 * The guest's stack echoes bytes 4.. unchanged in its reply (type 0 | 129), so session, seq
 * and T1 come back. seq and T1 sit where the UDP probe has them (ScheduleSpec.seqOffset 16,
 * t1Offset 24). The ICMPv6 checksum covers an IPv6 pseudo-header: the kernel writes it on
 * send and checks it on receive, so only IPv4 checksums are ours to write and check.
 */

export type IcmpFamily = 4 | 6;

export const ICMP_MAGIC = 0x52545049;
export const ICMP_OFFSET_TYPE = 0;
export const ICMP_OFFSET_CODE = 1;
export const ICMP_OFFSET_CHECKSUM = 2;
export const ICMP_OFFSET_IDENTIFIER = 4;
export const ICMP_OFFSET_SEQ16 = 6;
export const ICMP_OFFSET_MAGIC = 8;
export const ICMP_OFFSET_SESSION = 12;
export const ICMP_OFFSET_SEQ = 16;
export const ICMP_OFFSET_T1 = 24;
/** the ICMP header (8) plus our fields: what a reply must hold to be decoded */
export const ICMP_PROBE_HEADER_BYTES = 32;
/** --size bounds for ICMP: the ICMP message length (one unfragmented Ethernet frame at most) */
export const ICMP_MIN_BYTES = 64;
export const ICMP_MAX_BYTES = 1472;

export const ECHO_REQUEST_TYPE: Readonly<Record<IcmpFamily, number>> = { 4: 8, 6: 128 };
export const ECHO_REPLY_TYPE: Readonly<Record<IcmpFamily, number>> = { 4: 0, 6: 129 };

const IPV4_MIN_HEADER_BYTES = 20;
const IPPROTO_ICMP = 1;

/** Why an ICMP datagram is not a reply to one of our probes. */
export const ICMP_REJECT_REASONS = [
  'short', //          too short for the ICMP header, or for our fields in a reply of ours
  'bad-ip-header', //  stripIpv4Header only: not IPv4, header length out of range, not ICMP
  'not-echo-reply', // another ICMP type or code (errors, neighbour discovery, others' requests)
  'own-request', //    an echo request of ours (magic RTPI, our identifier): loopback shows them
  'bad-checksum', //   IPv4 checksum wrong (the kernel checks ICMPv6 itself)
  'not-ours', //       an echo reply with an identifier of no session we run (another ping)
  'bad-magic', //      our identifier but not our magic: mangled, or a ping colliding on the id
  'id-mismatch', //    identifier is not session & 0xffff of the payload: forged or mangled
  'seq-mismatch', //   ICMP sequence is not seq & 0xffff of the payload: forged or mangled
  'bad-length', //     outside 64..1472 bytes: never one of our probes
] as const;

export type IcmpRejectReason = (typeof ICMP_REJECT_REASONS)[number];

export type DecodedEchoReply =
  | { ok: true; session: number; seq: bigint; t1Ns: bigint; identifier: number }
  | { ok: false; reason: IcmpRejectReason };

export type StrippedDatagram = { ok: true; message: Buffer } | { ok: false; reason: 'short' | 'bad-ip-header' };

/** The ICMP identifier of a session's probes. */
export function icmpIdentifier(session: number): number {
  return session & 0xffff;
}

/** RFC 1071 Internet checksum of buf (odd length padded with a zero byte). */
export function icmpChecksum(buf: Uint8Array): number {
  let sum = 0;
  const even = buf.length & ~1;
  for (let i = 0; i < even; i += 2) sum += ((buf[i] ?? 0) << 8) | (buf[i + 1] ?? 0);
  if (even !== buf.length) sum += (buf[even] ?? 0) << 8;
  // Exact in a double for any Buffer length; end-around carries folded back in.
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/**
 * Finishes a probe whose seq (offset 16) and T1 (offset 24) are written: the ICMP sequence
 * field and, for IPv4, the checksum. The prepare step of the user-space schedule.
 */
export function sealEchoRequest(packet: Buffer, seq: bigint, family: IcmpFamily): void {
  packet.writeUInt16BE(Number(seq & 0xffffn), ICMP_OFFSET_SEQ16);
  sealIcmpChecksum(packet, family);
}

/** Writes the checksum of an ICMP message: IPv4's; ICMPv6's the kernel computes (0 here). */
function sealIcmpChecksum(packet: Buffer, family: IcmpFamily): void {
  packet.writeUInt16BE(0, ICMP_OFFSET_CHECKSUM);
  if (family === 4) packet.writeUInt16BE(icmpChecksum(packet), ICMP_OFFSET_CHECKSUM);
}

/** Builds an echo request of sizeBytes (64..1472; RangeError otherwise), zero padded. */
export function encodeEchoRequest(session: number, seq: bigint, t1Ns: bigint, sizeBytes: number,
  family: IcmpFamily): Buffer {
  if (!Number.isInteger(sizeBytes) || sizeBytes < ICMP_MIN_BYTES || sizeBytes > ICMP_MAX_BYTES) {
    throw new RangeError(`ICMP probe size must be ${ICMP_MIN_BYTES}..${ICMP_MAX_BYTES} bytes, got ${sizeBytes}`);
  }
  const buf = Buffer.alloc(sizeBytes);
  buf.writeUInt8(ECHO_REQUEST_TYPE[family], ICMP_OFFSET_TYPE);
  buf.writeUInt16BE(icmpIdentifier(session), ICMP_OFFSET_IDENTIFIER);
  buf.writeUInt32BE(ICMP_MAGIC, ICMP_OFFSET_MAGIC);
  buf.writeUInt32BE(session >>> 0, ICMP_OFFSET_SESSION);
  buf.writeBigUInt64BE(seq, ICMP_OFFSET_SEQ);
  buf.writeBigUInt64BE(t1Ns, ICMP_OFFSET_T1);
  sealEchoRequest(buf, seq, family);
  return buf;
}

/** The echo reply a host answers `request` with: the type turned, the rest echoed, the checksum redone. */
export function echoReplyTo(request: Buffer, family: IcmpFamily): Buffer {
  const reply = Buffer.from(request);
  reply.writeUInt8(ECHO_REPLY_TYPE[family], ICMP_OFFSET_TYPE);
  sealIcmpChecksum(reply, family);
  return reply;
}

/**
 * The ICMP message inside an IPv4 datagram as a raw IPv4 socket delivers it (IP header
 * included, options and all). A view of the same memory, cut at the header's total length.
 */
export function stripIpv4Header(datagram: Uint8Array): StrippedDatagram {
  if (datagram.length < IPV4_MIN_HEADER_BYTES) return { ok: false, reason: 'short' };
  const buf = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const versionIhl = buf.readUInt8(0);
  const headerBytes = (versionIhl & 0x0f) * 4;
  const totalBytes = buf.readUInt16BE(2);
  if (versionIhl >> 4 !== 4 || headerBytes < IPV4_MIN_HEADER_BYTES || totalBytes < headerBytes ||
    buf.readUInt8(9) !== IPPROTO_ICMP) {
    return { ok: false, reason: 'bad-ip-header' };
  }
  if (totalBytes > buf.length) return { ok: false, reason: 'short' };
  return { ok: true, message: buf.subarray(headerBytes, totalBytes) };
}

const acceptAnyIdentifier = (): boolean => true;

/**
 * Classifies an ICMP message (IP header already stripped) and decodes it if it is a reply to
 * one of our probes. isOurIdentifier tells identifiers of sessions we run from others'.
 * Never throws, whatever the bytes.
 */
export function decodeEchoReply(message: Uint8Array, family: IcmpFamily,
  isOurIdentifier: (identifier: number) => boolean = acceptAnyIdentifier): DecodedEchoReply {
  if (message.length < 8) return { ok: false, reason: 'short' };
  const buf = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  const type = buf.readUInt8(ICMP_OFFSET_TYPE);
  const identifier = buf.readUInt16BE(ICMP_OFFSET_IDENTIFIER);
  const hasMagic = buf.length >= ICMP_OFFSET_MAGIC + 4 && buf.readUInt32BE(ICMP_OFFSET_MAGIC) === ICMP_MAGIC;
  if (type === ECHO_REQUEST_TYPE[family]) {
    return { ok: false, reason: hasMagic && isOurIdentifier(identifier) ? 'own-request' : 'not-echo-reply' };
  }
  if (type !== ECHO_REPLY_TYPE[family] || buf.readUInt8(ICMP_OFFSET_CODE) !== 0) {
    return { ok: false, reason: 'not-echo-reply' };
  }
  if (family === 4 && icmpChecksum(buf) !== 0) return { ok: false, reason: 'bad-checksum' };
  if (!isOurIdentifier(identifier)) return { ok: false, reason: 'not-ours' };
  if (buf.length < ICMP_PROBE_HEADER_BYTES) return { ok: false, reason: 'short' };
  if (!hasMagic) return { ok: false, reason: 'bad-magic' };
  const session = buf.readUInt32BE(ICMP_OFFSET_SESSION);
  const seq = buf.readBigUInt64BE(ICMP_OFFSET_SEQ);
  if (identifier !== icmpIdentifier(session)) return { ok: false, reason: 'id-mismatch' };
  if (buf.readUInt16BE(ICMP_OFFSET_SEQ16) !== Number(seq & 0xffffn)) return { ok: false, reason: 'seq-mismatch' };
  if (buf.length < ICMP_MIN_BYTES || buf.length > ICMP_MAX_BYTES) return { ok: false, reason: 'bad-length' };
  return { ok: true, session, seq, t1Ns: buf.readBigUInt64BE(ICMP_OFFSET_T1), identifier };
}
