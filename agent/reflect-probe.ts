import { checkAuth, signDatagram } from '../shared/wire/probe-auth.js';
import { decodeProbe, encodeReply, type ProbePacket } from '../shared/wire/probe-codec.js';
import type { RejectReason } from '../shared/wire/reject-reason.js';
import type { StampSource } from '../shared/transport/probe-transport.js';
import type { ProbeGuard } from './probe-guard.js';

export type ReflectResult =
  | { ok: true; reply: Buffer; probe: ProbePacket }
  | { ok: false; reason: RejectReason };

/** What an agent demands before it answers; absent = answer every well-formed probe. */
export interface ReflectPolicy {
  /** --key-file: only genuine probes are answered, and replies are signed */
  key: Buffer | null;
  guard: ProbeGuard;
  /** the probe's source address (the rate limit is per address) */
  sourceAddress: string;
  nowMs: number;
}

/**
 * The agent's whole protocol: a valid probe becomes a reply of the same length carrying the
 * agent's receive (T2) and send (T3) stamps; anything else is rejected with its reason.
 * Checks run cheapest-first and forged probes never touch a session's state.
 * The caller reads T3 immediately before calling this and sends the result at once.
 */
export function reflectProbe(request: Buffer, t2Ns: bigint, t2Source: StampSource,
  t3Ns: bigint, t3Source: StampSource, policy?: ReflectPolicy): ReflectResult {
  const decoded = decodeProbe(request);
  if (!decoded.ok) return decoded;
  const probe = decoded.packet;
  if (probe.type !== 'probe') return { ok: false, reason: 'bad-type' };
  if (policy) {
    const forged = policy.key === null ? null : checkAuth(request, policy.key);
    if (forged !== null) return { ok: false, reason: forged };
    const refused = policy.guard.admit(policy.sourceAddress, probe.session, probe.seq, policy.nowMs);
    if (refused !== null) return { ok: false, reason: refused };
  }
  const reply = encodeReply(request, t2Ns, t3Ns, t2Source, t3Source);
  if (policy?.key) signDatagram(reply, policy.key);
  return { ok: true, reply, probe };
}
