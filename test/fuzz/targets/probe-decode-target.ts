import { decodeProbe, encodeProbe, stampFlags, type ProbePacket } from '../../../shared/wire/probe-codec.js';
import {
  FLAG_AUTH, OFFSET_FLAGS, OFFSET_RESERVED, OFFSET_T2, OFFSET_T3, OFFSET_TYPE, PROBE_HEADER_BYTES, PROBE_TYPE_PROBE,
  PROBE_TYPE_REFUSAL, PROBE_TYPE_REPLY, PROBE_TYPE_SESSION_END, REFUSAL_REASONS,
} from '../../../shared/wire/probe-layout.js';

const TYPE_CODES = {
  probe: PROBE_TYPE_PROBE, reply: PROBE_TYPE_REPLY, refusal: PROBE_TYPE_REFUSAL, 'session-end': PROBE_TYPE_SESSION_END,
} as const;
import { REJECT_REASONS } from '../../../shared/wire/reject-reason.js';
import { describeBytes } from '../fuzz-tally.js';
import { CRASHED, type DecoderTarget } from '../fuzz-target.js';
import { probeDatagram } from '../probe-inputs.js';

/** The header a decoded packet encodes back to, written by the codec's own encoder. */
export function reencodeHeader(packet: ProbePacket): Buffer {
  const header = Buffer.from(encodeProbe(packet.session, packet.seq, packet.t1Ns, packet.lengthBytes).subarray(0, PROBE_HEADER_BYTES));
  header.writeUInt8(TYPE_CODES[packet.type], OFFSET_TYPE);
  if (packet.refusal) header.writeUInt16BE(REFUSAL_REASONS.indexOf(packet.refusal.reason) + 1, OFFSET_RESERVED);
  header.writeUInt16BE(stampFlags(packet.t2Source, packet.t3Source) | (packet.signed ? FLAG_AUTH : 0), OFFSET_FLAGS);
  // A refusal's detail and scope are in T2's and T3's fields; the decoder keeps them raw there too.
  header.writeBigUInt64BE(packet.t2Ns, OFFSET_T2);
  header.writeBigUInt64BE(packet.t3Ns, OFFSET_T3);
  return header;
}

/**
 * decodeProbe (shared/wire/probe-codec.ts) on any datagram: accepted packets are as long as
 * their length field says and encode back to the same 48 header bytes.
 */
export const probeDecodeTarget: DecoderTarget<Buffer> = {
  name: 'probe-decode',
  decoder: 'decodeProbe',
  reasons: REJECT_REASONS,
  generate: probeDatagram,
  describe: (input) => describeBytes(input),
  check(input, record) {
    const result = record.guard(() => decodeProbe(input));
    if (result === CRASHED) return;
    if (!result.ok) return record.rejected(result.reason);
    record.accepted(result.packet.type);
    const { packet } = result;
    if (packet.lengthBytes !== input.length) record.violation('length-is-size', `length ${packet.lengthBytes}, datagram ${input.length}`);
    const header = reencodeHeader(packet);
    if (!header.equals(input.subarray(0, PROBE_HEADER_BYTES))) {
      record.violation('re-encodes-to-header', `re-encoded ${header.toString('hex')}`);
    }
  },
};
