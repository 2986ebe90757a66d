import { reflectProbe } from '../../../agent/reflect-probe.js';
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
