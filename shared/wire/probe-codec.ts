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

/**
 * What is wrong with the header of the `length`-byte datagram at byte `at` of `view`, the
 * first fault found, or null: a well-formed v1 packet's, but for a refusal's reason and scope
 * (decodeProbe looks at those). Reads numbers only: the controller checks every reply of a
 * native batch with it in place, without a Buffer or an object a reply.
 */
export function headerFault(view: DataView, at: number, length: number): RejectReason | null {
  if (length < PROBE_HEADER_BYTES) return 'short';
  if (view.getUint32(at + OFFSET_MAGIC) !== PROBE_MAGIC) return 'bad-magic';
  if (view.getUint8(at + OFFSET_VERSION) !== PROBE_VERSION) return 'bad-version';
  const type = view.getUint8(at + OFFSET_TYPE);
  if (TYPE_BY_CODE[type] === undefined) return 'bad-type';
  const control = type === PROBE_TYPE_REFUSAL || type === PROBE_TYPE_SESSION_END;
  // Refusals and session-ends carry no stamps: only flag AUTH may be set.
  if ((view.getUint16(at + OFFSET_FLAGS) & ~(control ? FLAG_AUTH : FLAGS_KNOWN_MASK)) !== 0) return 'bad-flags';
  const lengthBytes = view.getUint16(at + OFFSET_LENGTH);
  const lengthOk = control
    ? lengthBytes === CONTROL_BYTES
    : lengthBytes >= PROBE_MIN_BYTES && lengthBytes <= PROBE_MAX_BYTES;
  if (lengthBytes !== length || !lengthOk) return 'bad-length';
  if (type !== PROBE_TYPE_REFUSAL && view.getUint16(at + OFFSET_RESERVED) !== 0) return 'bad-reserved';
  return null;
}

/**
 * T3 − T2 of the packet at byte `at` of `view`, in ns, as Number(t3Ns − t2Ns) of its decoded
 * BigInts makes it: from their big-endian halves (exact differences, one rounding), no BigInt.
 */
export function turnaroundNsAt(view: DataView, at: number): number {
  return (view.getUint32(at + OFFSET_T3) - view.getUint32(at + OFFSET_T2)) * 4294967296
    + (view.getUint32(at + OFFSET_T3 + 4) - view.getUint32(at + OFFSET_T2 + 4));
}

/** The source of T2 (`shift` FLAGS_T2_SHIFT) or T3 (FLAGS_T3_SHIFT) that a packet's flags name. */
export function stampSourceOf(flags: number, shift: number): StampSource | 'none' {
  return SOURCE_BY_CODE[(flags >> shift) & FLAGS_STAMP_MASK] ?? 'none';
}

/** Strict decoder: returns the first reason the datagram is not a well-formed v1 packet. */
export function decodeProbe(data: Uint8Array): DecodeResult {
  // A DataView's getBigUint64 makes one BigInt; Buffer's readBigUInt64BE makes four (two
  // halves, a shift and a sum): this runs per reply.
  const view = viewOf(data.buffer);
  const at = data.byteOffset;
  const fault = headerFault(view, at, data.length);
  if (fault !== null) return { ok: false, reason: fault };
  const type = TYPE_BY_CODE[view.getUint8(at + OFFSET_TYPE)] as ProbeType;
  const flags = view.getUint16(at + OFFSET_FLAGS);
  let refusal: Refusal | null = null;
  if (type === 'refusal') {
    refusal = decodeRefusal(view, at, view.getUint16(at + OFFSET_RESERVED));
    if (refusal === null) return { ok: false, reason: 'bad-reserved' };
  }
  return {
    ok: true,
    packet: {
      type,
      refusal,
      session: view.getUint32(at + OFFSET_SESSION),
      seq: view.getBigUint64(at + OFFSET_SEQ),
      t1Ns: view.getBigUint64(at + OFFSET_T1),
      t2Ns: view.getBigUint64(at + OFFSET_T2),
      t3Ns: view.getBigUint64(at + OFFSET_T3),
      t2Source: stampSourceOf(flags, FLAGS_T2_SHIFT),
      t3Source: stampSourceOf(flags, FLAGS_T3_SHIFT),
      lengthBytes: data.length,
      signed: (flags & FLAG_AUTH) !== 0,
    },
  };
}

/** A refusal's reason, detail and scope; null when the reason code or the scope is unknown. */
function decodeRefusal(view: DataView, at: number, code: number): Refusal | null {
  const reason = REFUSAL_REASONS[code - 1];
  const scope = view.getBigUint64(at + OFFSET_REFUSAL_SCOPE);
  if (reason === undefined || (scope !== BigInt(SCOPE_AGENT) && scope !== BigInt(SCOPE_SOURCE_ADDRESS))) return null;
  const detail = view.getBigUint64(at + OFFSET_REFUSAL_DETAIL);
  return {
    reason,
    detail: detail > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(detail),
    scope: scope === BigInt(SCOPE_AGENT) ? 'agent' : 'source-address',
  };
}
