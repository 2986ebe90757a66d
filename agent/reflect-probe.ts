import { decodeProbe, encodeReply, type ProbePacket } from '../shared/wire/probe-codec.js';
import type { RejectReason } from '../shared/wire/reject-reason.js';
import type { StampSource } from '../shared/transport/probe-transport.js';

export type ReflectResult =
  | { ok: true; reply: Buffer; probe: ProbePacket }
  | { ok: false; reason: RejectReason };

/**
 * The agent's whole protocol: a valid probe becomes a reply of the same length carrying the
 * agent's receive (T2) and send (T3) stamps; anything else is rejected with its reason.
 * The caller reads T3 immediately before calling this and sends the result at once.
 */
export function reflectProbe(request: Buffer, t2Ns: bigint, t2Source: StampSource,
  t3Ns: bigint, t3Source: StampSource): ReflectResult {
  const decoded = decodeProbe(request);
  if (!decoded.ok) return decoded;
  if (decoded.packet.type !== 'probe') return { ok: false, reason: 'bad-type' };
  return { ok: true, reply: encodeReply(request, t2Ns, t3Ns, t2Source, t3Source), probe: decoded.packet };
}
