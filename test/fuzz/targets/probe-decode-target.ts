import { decodeProbe, encodeProbe, stampFlags, type ProbePacket } from '../../../shared/wire/probe-codec.js';
import {
  FLAG_AUTH, OFFSET_FLAGS, OFFSET_T2, OFFSET_T3, OFFSET_TYPE, PROBE_HEADER_BYTES, PROBE_TYPE_REPLY,
} from '../../../shared/wire/probe-layout.js';
import { REJECT_REASONS } from '../../../shared/wire/reject-reason.js';
import { describeBytes } from '../fuzz-tally.js';
import { CRASHED, type DecoderTarget } from '../fuzz-target.js';
import { probeDatagram } from '../probe-inputs.js';

/** The header a decoded packet encodes back to, written by the codec's own encoder. */
export function reencodeHeader(packet: ProbePacket): Buffer {
  const header = Buffer.from(encodeProbe(packet.session, packet.seq, packet.t1Ns, packet.lengthBytes).subarray(0, PROBE_HEADER_BYTES));
  if (packet.type === 'reply') header.writeUInt8(PROBE_TYPE_REPLY, OFFSET_TYPE);
  header.writeUInt16BE(stampFlags(packet.t2Source, packet.t3Source) | (packet.signed ? FLAG_AUTH : 0), OFFSET_FLAGS);
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
