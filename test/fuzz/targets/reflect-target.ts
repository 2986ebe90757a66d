import { ProbeGuard } from '../../../agent/probe-guard.js';
import { reflectProbe } from '../../../agent/reflect-probe.js';
import { checkAuth, signDatagram } from '../../../shared/wire/probe-auth.js';
import { decodeProbe } from '../../../shared/wire/probe-codec.js';
import { PROBE_HEADER_BYTES } from '../../../shared/wire/probe-layout.js';
import { REJECT_REASONS } from '../../../shared/wire/reject-reason.js';
import { describeBytes } from '../fuzz-tally.js';
import { CRASHED, type DecoderTarget } from '../fuzz-target.js';
import { probeDatagram } from '../probe-inputs.js';

const T2_NS = 0x0123456789abcdefn;
const T3_NS = 0x0123456789abcdffn;

/**
 * reflectProbe (agent/reflect-probe.ts): a reply only for a datagram decodeProbe accepts as a
 * probe, never larger than it (amplification ≤ 1), a valid reply to exactly that probe, and
 * the request left as it was.
 */
export const reflectTarget: DecoderTarget<Buffer> = {
  name: 'reflect',
  decoder: 'reflectProbe',
  reasons: REJECT_REASONS,
  generate: probeDatagram,
  describe: (input) => describeBytes(input),
  check(input, record) {
    const before = Buffer.from(input);
    const result = record.guard(() => reflectProbe(input, T2_NS, 'kernel', T3_NS, 'user'));
    if (result === CRASHED) return;
    if (!input.equals(before)) record.violation('request-unchanged', 'reflectProbe wrote into the request');
    const oracle = decodeProbe(before);
    if (!result.ok && result.ended) {
      // A session-end: never answered.
      record.accepted('session-end');
      record.bytes(input.length, 0);
      if (!oracle.ok || oracle.packet.type !== 'session-end') record.violation('ends-only-for-session-end', 'reflectProbe ended a session for another datagram');
      return;
    }
    if (!result.ok) {
      record.rejected(result.reason);
      record.bytes(input.length, 0);
      const expected = oracle.ok ? 'bad-type' : oracle.reason;
      if (result.reason !== expected) record.violation('same-reason-as-decoder', `reason ${result.reason}, decodeProbe says ${expected}`);
      return;
    }
    record.accepted();
    record.bytes(input.length, result.reply.length);
    if (!oracle.ok || oracle.packet.type !== 'probe') {
      record.violation('replies-only-to-probes', `a reply to a datagram decodeProbe calls ${oracle.ok ? oracle.packet.type : oracle.reason}`);
    }
    if (result.reply.length > input.length) record.violation('reply-not-larger', `reply ${result.reply.length} > request ${input.length} bytes`);
    if (!result.reply.subarray(PROBE_HEADER_BYTES).equals(before.subarray(PROBE_HEADER_BYTES))) {
      record.violation('reply-echoes-padding', 'the bytes after the header differ from the request\'s');
    }
    const reply = decodeProbe(result.reply);
    if (!reply.ok || reply.packet.type !== 'reply' || !oracle.ok) {
      record.violation('reply-is-valid', `the reply decodes as ${reply.ok ? reply.packet.type : reply.reason}`);
      return;
    }
    const p = reply.packet;
    const q = oracle.packet;
    if (p.session !== q.session || p.seq !== q.seq || p.t1Ns !== q.t1Ns || p.t2Ns !== T2_NS || p.t3Ns !== T3_NS
      || p.t2Source !== 'kernel' || p.t3Source !== 'user' || p.lengthBytes !== q.lengthBytes) {
      record.violation('reply-is-valid', `reply ${JSON.stringify(p, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
    }
  },
};

const REFUSE_KEY = Buffer.from('rtprobe-fuzz-refuse-key-0123456789');

/**
 * reflectProbe with a key and one session place (agent/probe-guard.ts): what it refuses gets
 * a refusal reply only when decodeProbe calls it a probe; the refusal is 64 bytes (never more
 * than the probe), signed with the agent's key, of type refusal with the reason the agent
 * counts and the probe's session, sequence number and T1. Nothing else is ever answered.
 * The clock advances 20 ms an input, so the refusal budget (100/s a source) refills.
 */
function refuseTarget(): DecoderTarget<Buffer> {
  const guard = new ProbeGuard({ maxRatePerS: 50, maxSessions: 1, replayWindow: true });
  let nowMs = 0;
  return {
    name: 'refuse',
    decoder: 'reflectProbe (key, limits)',
    reasons: REJECT_REASONS,
    generate: (rng) => {
      const datagram = probeDatagram(rng);
      // Most signed, so that the guard (not only the key check) decides.
      if (datagram.length >= 64 && rng.int(4) !== 0) signDatagram(datagram, REFUSE_KEY);
      return datagram;
    },
    describe: (input) => describeBytes(input),
    check(input, record) {
      nowMs += 20;
      const policy = { key: REFUSE_KEY, guard, sourceAddress: '127.0.0.1', sourcePort: 1 + (nowMs % 3), nowMs };
      const result = record.guard(() => reflectProbe(input, T2_NS, 'kernel', T3_NS, 'user', policy));
      if (result === CRASHED) return;
      const oracle = decodeProbe(input);
      if (result.ok) {
        record.accepted('reply');
        record.bytes(input.length, result.reply.length);
        return;
      }
      if (result.ended) {
        record.accepted('session-end');
        record.bytes(input.length, 0);
        return;
      }
      record.rejected(result.reason);
      const refusal = result.refusal;
      record.bytes(input.length, refusal?.length ?? 0);
      if (refusal === null) return;
      record.tally.acceptedAs['refusal replies'] = (record.tally.acceptedAs['refusal replies'] ?? 0) + 1;
      if (!oracle.ok || oracle.packet.type !== 'probe') {
        record.violation('refuses-only-probes', `a refusal to a datagram decodeProbe calls ${oracle.ok ? oracle.packet.type : oracle.reason}`);
        return;
      }
      if (refusal.length > input.length) record.violation('refusal-not-larger', `refusal ${refusal.length} > probe ${input.length} bytes`);
      const decoded = decodeProbe(refusal);
      if (!decoded.ok || decoded.packet.refusal === null || checkAuth(refusal, REFUSE_KEY) !== null) {
        record.violation('refusal-is-valid', `the refusal decodes as ${decoded.ok ? decoded.packet.type : decoded.reason}`);
        return;
      }
      const p = decoded.packet;
      const q = oracle.packet;
      if (p.refusal?.reason !== result.reason || p.session !== q.session || p.seq !== q.seq || p.t1Ns !== q.t1Ns) {
        record.violation('refusal-is-valid', `refusal ${p.refusal?.reason} of ${p.session}:${p.seq} for ${result.reason} of ${q.session}:${q.seq}`);
      }
    },
  };
}

export const reflectRefuseTarget = refuseTarget();
