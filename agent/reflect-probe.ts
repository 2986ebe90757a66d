import { checkAuth, signDatagram } from '../shared/wire/probe-auth.js';
import { decodeProbe, encodeRefusal, encodeReply, type ProbePacket, type Refusal } from '../shared/wire/probe-codec.js';
import type { RejectReason } from '../shared/wire/reject-reason.js';
import type { StampSource } from '../shared/transport/probe-transport.js';
import type { ProbeGuard } from './probe-guard.js';

export type ReflectResult =
  | { ok: true; reply: Buffer; probe: ProbePacket }
  /** not answered; `refusal` is the refusal reply to send, when the sender is to be told */
  | { ok: false; ended: false; reason: RejectReason; refusal: Buffer | null }
  /** a session-end that freed its session's place (never answered) */
  | { ok: false; ended: true; session: number };

/** What an agent demands before it answers; absent = answer every well-formed probe. */
export interface ReflectPolicy {
  /** --key-file: only genuine probes are answered, and replies are signed */
  key: Buffer | null;
  guard: ProbeGuard;
  /** the datagram's source (the rate limit is per address, a session place per address+port) */
  sourceAddress: string;
  sourcePort: number;
  nowMs: number;
}

/**
 * The agent's whole protocol: a valid probe becomes a reply of the same length carrying the
 * agent's receive (T2) and send (T3) stamps; a valid probe refused (forged, replayed, over a
 * limit) gets a refusal reply within the guard's refusal budget; a session-end frees its
 * session's place; anything else is rejected with its reason and never answered.
 * Checks run cheapest-first and forged datagrams never touch a session's state.
 * The caller reads T3 immediately before calling this and sends the result at once.
 */
export function reflectProbe(request: Buffer, t2Ns: bigint, t2Source: StampSource,
  t3Ns: bigint, t3Source: StampSource, policy?: ReflectPolicy): ReflectResult {
  const decoded = decodeProbe(request);
  if (!decoded.ok) return rejected(decoded.reason);
  const probe = decoded.packet;
  if (probe.type === 'session-end') return endSession(request, probe, policy);
  if (probe.type !== 'probe') return rejected('bad-type');
  if (policy) {
    const forged = policy.key === null ? null : checkAuth(request, policy.key);
    if (forged !== null) return refuse(request, { reason: forged, detail: 0, scope: 'agent' }, policy);
    const refused = policy.guard.admit(policy.sourceAddress, policy.sourcePort, probe.session, probe.seq, policy.nowMs);
    if (refused !== null) return refuse(request, refused, policy);
  }
  const reply = encodeReply(request, t2Ns, t3Ns, t2Source, t3Source);
  if (policy?.key) signDatagram(reply, policy.key);
  return { ok: true, reply, probe };
}

function rejected(reason: RejectReason): ReflectResult {
  return { ok: false, ended: false, reason, refusal: null };
}

function refuse(request: Buffer, refusal: Refusal, policy: ReflectPolicy): ReflectResult {
  if (!policy.guard.refusalAllowed(policy.sourceAddress, refusal.reason, policy.nowMs)) return rejected(refusal.reason);
  const reply = encodeRefusal(request, refusal.reason, refusal.detail, refusal.scope);
  if (policy.key) signDatagram(reply, policy.key);
  return { ok: false, ended: false, reason: refusal.reason, refusal: reply };
}

function endSession(request: Buffer, end: ProbePacket, policy: ReflectPolicy | undefined): ReflectResult {
  if (!policy) return { ok: false, ended: true, session: end.session };
  const forged = policy.key === null ? null : checkAuth(request, policy.key);
  if (forged !== null) return rejected(forged);
  if (!policy.guard.end(policy.sourceAddress, policy.sourcePort, end.session)) return rejected('unknown-session');
  return { ok: false, ended: true, session: end.session };
}
