import {
  CONTROL_BYTES, FLAG_AUTH, OFFSET_REFUSAL_DETAIL, OFFSET_REFUSAL_SCOPE, PROBE_TYPE_REFUSAL,
  PROBE_TYPE_SESSION_END, REFUSAL_REASONS, SCOPE_AGENT, SCOPE_SOURCE_ADDRESS, type RefusalReason, FLAGS_KNOWN_MASK, FLAGS_STAMP_MASK, FLAGS_T2_SHIFT, FLAGS_T3_SHIFT,
  OFFSET_FLAGS, OFFSET_LENGTH, OFFSET_MAGIC, OFFSET_RESERVED, OFFSET_SEQ, OFFSET_SESSION,
  OFFSET_T1, OFFSET_T2, OFFSET_T3, OFFSET_TYPE, OFFSET_VERSION,
  PROBE_HEADER_BYTES, PROBE_MAGIC, PROBE_MAX_BYTES, PROBE_MIN_BYTES, PROBE_TYPE_PROBE,
  PROBE_TYPE_REPLY, PROBE_VERSION, STAMP_HARDWARE, STAMP_KERNEL, STAMP_NONE, STAMP_USER,
} from './probe-layout.js';
import type { RejectReason } from './reject-reason.js';
import type { StampSource } from '../transport/probe-transport.js';
import { cachedDataView } from './cached-data-view.js';

export type ProbeType = 'probe' | 'reply' | 'refusal' | 'session-end';

/** What a refusal says (probe-layout.ts). */
export interface Refusal {
  reason: RefusalReason;
  /** session-limit: places busy; rate-limited: the agent's --max-rate; else 0 */
  detail: number;
  /** session-limit: all the agent's places, or the share of one source address */
  scope: 'agent' | 'source-address';
}

/** A decoded datagram of any type. Times are ns; T2/T3 are 0n in a probe. */
export interface ProbePacket {
  type: ProbeType;
  session: number;
  seq: bigint;
  t1Ns: bigint;
  t2Ns: bigint;
  t3Ns: bigint;
  t2Source: StampSource | 'none';
  t3Source: StampSource | 'none';
  lengthBytes: number;
  /** flag AUTH: the last 16 bytes are a tag (probe-auth.ts checks it) */
  signed: boolean;
  /** type refusal only */
  refusal: Refusal | null;
}

export type DecodeResult = { ok: true; packet: ProbePacket } | { ok: false; reason: RejectReason };

const SOURCE_CODES: Record<StampSource | 'none', number> = {
  none: STAMP_NONE, user: STAMP_USER, kernel: STAMP_KERNEL, hardware: STAMP_HARDWARE,
};
const SOURCE_BY_CODE = ['none', 'user', 'kernel', 'hardware'] as const;

export function stampFlags(t2Source: StampSource | 'none', t3Source: StampSource | 'none'): number {
  return (SOURCE_CODES[t2Source] << FLAGS_T2_SHIFT) | (SOURCE_CODES[t3Source] << FLAGS_T3_SHIFT);
}

/** Builds a probe of `lengthBytes` (64..1472), zero padded; the caller has validated the size. */
export function encodeProbe(session: number, seq: bigint, t1Ns: bigint, lengthBytes: number): Buffer {
  const buf = Buffer.alloc(lengthBytes);
  buf.writeUInt32BE(PROBE_MAGIC, OFFSET_MAGIC);
  buf.writeUInt8(PROBE_VERSION, OFFSET_VERSION);
  buf.writeUInt8(PROBE_TYPE_PROBE, OFFSET_TYPE);
  buf.writeUInt16BE(0, OFFSET_FLAGS);
  buf.writeUInt32BE(session >>> 0, OFFSET_SESSION);
  buf.writeUInt16BE(lengthBytes, OFFSET_LENGTH);
  buf.writeBigUInt64BE(seq, OFFSET_SEQ);
  buf.writeBigUInt64BE(t1Ns, OFFSET_T1);
  return buf;
}

/**
 * Turns a valid probe into its reply in place of a copy: same length (a reply is never
 * larger than its request), type reply, T2/T3 and their sources filled in.
 */
export function encodeReply(request: Buffer, t2Ns: bigint, t3Ns: bigint,
  t2Source: StampSource, t3Source: StampSource): Buffer {
  const reply = Buffer.from(request);
  reply.writeUInt8(PROBE_TYPE_REPLY, OFFSET_TYPE);
  reply.writeUInt16BE(stampFlags(t2Source, t3Source), OFFSET_FLAGS);
  reply.writeBigUInt64BE(t2Ns, OFFSET_T2);
  reply.writeBigUInt64BE(t3Ns, OFFSET_T3);
  return reply;
}

/**
 * The refusal of `probe` (a valid probe): its first 64 bytes, type refusal, length 64, flags 0
 * (the caller signs it when it has a key), the reason code, detail and scope.
 */
export function encodeRefusal(probe: Uint8Array, reason: RefusalReason, detail: number,
  scope: Refusal['scope'] = 'agent'): Buffer {
  const refusal = Buffer.alloc(CONTROL_BYTES);
  refusal.set(probe.subarray(0, OFFSET_T2));
  refusal.writeUInt8(PROBE_TYPE_REFUSAL, OFFSET_TYPE);
  refusal.writeUInt16BE(0, OFFSET_FLAGS);
  refusal.writeUInt16BE(CONTROL_BYTES, OFFSET_LENGTH);
  refusal.writeUInt16BE(REFUSAL_REASONS.indexOf(reason) + 1, OFFSET_RESERVED);
  refusal.writeBigUInt64BE(BigInt(Math.max(0, Math.trunc(detail))), OFFSET_REFUSAL_DETAIL);
  refusal.writeBigUInt64BE(BigInt(scope === 'agent' ? SCOPE_AGENT : SCOPE_SOURCE_ADDRESS), OFFSET_REFUSAL_SCOPE);
  return refusal;
}

/** A controller's session-end: `probesSent` in the sequence field, T1 = when it was sent. */
export function encodeSessionEnd(session: number, probesSent: bigint, t1Ns: bigint): Buffer {
  const end = encodeProbe(session, probesSent, t1Ns, CONTROL_BYTES);
  end.writeUInt8(PROBE_TYPE_SESSION_END, OFFSET_TYPE);
  return end;
}

const TYPE_BY_CODE: Record<number, ProbeType> = {
  [PROBE_TYPE_PROBE]: 'probe', [PROBE_TYPE_REPLY]: 'reply',
  [PROBE_TYPE_REFUSAL]: 'refusal', [PROBE_TYPE_SESSION_END]: 'session-end',
};

/** The replies of a native batch all lie in one buffer: one view serves the batch, not one per reply. */
const viewOf = cachedDataView();

/** Strict decoder: returns the first reason the datagram is not a well-formed v1 packet. */
export function decodeProbe(data: Uint8Array): DecodeResult {
  if (data.length < PROBE_HEADER_BYTES) return { ok: false, reason: 'short' };
  // a view for Buffer's readers; a Buffer (every received datagram) is one already
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.readUInt32BE(OFFSET_MAGIC) !== PROBE_MAGIC) return { ok: false, reason: 'bad-magic' };
  if (buf.readUInt8(OFFSET_VERSION) !== PROBE_VERSION) return { ok: false, reason: 'bad-version' };
  const type = TYPE_BY_CODE[buf.readUInt8(OFFSET_TYPE)];
  if (type === undefined) return { ok: false, reason: 'bad-type' };
  const control = type === 'refusal' || type === 'session-end';
  const flags = buf.readUInt16BE(OFFSET_FLAGS);
  // Refusals and session-ends carry no stamps: only flag AUTH may be set.
  if ((flags & ~(control ? FLAG_AUTH : FLAGS_KNOWN_MASK)) !== 0) return { ok: false, reason: 'bad-flags' };
  const lengthBytes = buf.readUInt16BE(OFFSET_LENGTH);
  const lengthOk = control
    ? lengthBytes === CONTROL_BYTES
    : lengthBytes >= PROBE_MIN_BYTES && lengthBytes <= PROBE_MAX_BYTES;
  if (lengthBytes !== buf.length || !lengthOk) return { ok: false, reason: 'bad-length' };
  const reserved = buf.readUInt16BE(OFFSET_RESERVED);
  let refusal: Refusal | null = null;
  if (type === 'refusal') {
    refusal = decodeRefusal(buf, reserved);
    if (refusal === null) return { ok: false, reason: 'bad-reserved' };
  } else if (reserved !== 0) {
    return { ok: false, reason: 'bad-reserved' };
  }
  // A DataView's getBigUint64 makes one BigInt; Buffer's readBigUInt64BE makes four (two
  // halves, a shift and a sum): this runs per reply.
  const view = viewOf(buf.buffer);
  const at = buf.byteOffset;
  return {
    ok: true,
    packet: {
      type,
      refusal,
      session: buf.readUInt32BE(OFFSET_SESSION),
      seq: view.getBigUint64(at + OFFSET_SEQ),
      t1Ns: view.getBigUint64(at + OFFSET_T1),
      t2Ns: view.getBigUint64(at + OFFSET_T2),
      t3Ns: view.getBigUint64(at + OFFSET_T3),
      t2Source: SOURCE_BY_CODE[(flags >> FLAGS_T2_SHIFT) & FLAGS_STAMP_MASK] ?? 'none',
      t3Source: SOURCE_BY_CODE[(flags >> FLAGS_T3_SHIFT) & FLAGS_STAMP_MASK] ?? 'none',
      lengthBytes,
      signed: (flags & FLAG_AUTH) !== 0,
    },
  };
}

/** A refusal's reason, detail and scope; null when the reason code or the scope is unknown. */
function decodeRefusal(buf: Buffer, code: number): Refusal | null {
  const reason = REFUSAL_REASONS[code - 1];
  const scope = buf.readBigUInt64BE(OFFSET_REFUSAL_SCOPE);
  if (reason === undefined || (scope !== BigInt(SCOPE_AGENT) && scope !== BigInt(SCOPE_SOURCE_ADDRESS))) return null;
  const detail = buf.readBigUInt64BE(OFFSET_REFUSAL_DETAIL);
  return {
    reason,
    detail: detail > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(detail),
    scope: scope === BigInt(SCOPE_AGENT) ? 'agent' : 'source-address',
  };
}
