import {
  ECHO_REPLY_TYPE, ICMP_MAX_BYTES, ICMP_MIN_BYTES, ICMP_OFFSET_CHECKSUM, ICMP_OFFSET_TYPE, ICMP_PROBE_HEADER_BYTES,
  ICMP_REJECT_REASONS, decodeEchoReply, encodeEchoRequest, icmpChecksum, icmpIdentifier, type IcmpFamily,
} from '../../../controller/transport/icmp-codec.js';
import { describeBytes } from '../fuzz-tally.js';
import { CRASHED, type DecoderTarget, type InputRecorder } from '../fuzz-target.js';
import { icmpMessage, isOurIdentifier, type IcmpInput } from '../icmp-inputs.js';

/** The checks on an echo reply decodeEchoReply accepted (shared with the raw IPv4 target). */
export function checkAcceptedEchoReply(message: Buffer, family: IcmpFamily,
  decoded: { session: number; seq: bigint; t1Ns: bigint; identifier: number }, record: InputRecorder): void {
  if (!isOurIdentifier(decoded.identifier)) record.violation('only-our-replies', `identifier ${decoded.identifier} is not ours`);
  if (decoded.identifier !== icmpIdentifier(decoded.session)) record.violation('only-our-replies', 'identifier is not the session\'s');
  if (message.length < ICMP_MIN_BYTES || message.length > ICMP_MAX_BYTES) record.violation('size-in-bounds', `${message.length} bytes`);
  if (family === 4 && icmpChecksum(message) !== 0) record.violation('checksum-checked', 'accepted with a wrong IPv4 checksum');
  if (message.length < ICMP_MIN_BYTES || message.length > ICMP_MAX_BYTES) return;
  // Encoded again as the request it answers, turned into a reply: the same 32 header bytes but the checksum.
  const again = encodeEchoRequest(decoded.session, decoded.seq, decoded.t1Ns, message.length, family);
  again.writeUInt8(ECHO_REPLY_TYPE[family], ICMP_OFFSET_TYPE);
  const same = (from: number, to: number): boolean => again.subarray(from, to).equals(message.subarray(from, to));
  if (!same(0, ICMP_OFFSET_CHECKSUM) || !same(ICMP_OFFSET_CHECKSUM + 2, ICMP_PROBE_HEADER_BYTES)) {
    record.violation('re-encodes-to-header', `re-encoded ${again.subarray(0, ICMP_PROBE_HEADER_BYTES).toString('hex')}`);
  }
}

/** decodeEchoReply (controller/transport/icmp-codec.ts) on any ICMP message, IPv4 and IPv6. */
export const icmpReplyTarget: DecoderTarget<IcmpInput> = {
  name: 'icmp-reply',
  decoder: 'decodeEchoReply',
  reasons: ICMP_REJECT_REASONS,
  generate: icmpMessage,
  describe: (input) => describeBytes(input.message, `family ${input.family}`),
  check({ family, message }, record) {
    const before = Buffer.from(message);
    const result = record.guard(() => decodeEchoReply(message, family, isOurIdentifier));
    if (result === CRASHED) return;
    if (!message.equals(before)) record.violation('input-unchanged', 'decodeEchoReply wrote into the message');
    if (!result.ok) return record.rejected(result.reason);
    record.accepted(`v${family}`);
    checkAcceptedEchoReply(message, family, result, record);
  },
};
