import { ICMP_REJECT_REASONS, decodeEchoReply, stripIpv4Header } from '../../../controller/transport/icmp-codec.js';
import { describeBytes } from '../fuzz-tally.js';
import { CRASHED, type DecoderTarget } from '../fuzz-target.js';
import { ipv4IcmpDatagram, isOurIdentifier } from '../icmp-inputs.js';
import { checkAcceptedEchoReply } from './icmp-reply-target.js';

/**
 * What a raw IPv4 ICMP socket hands the controller: stripIpv4Header, then decodeEchoReply on
 * the message it cut out. The cut is a view of the datagram at the header's IHL and total length.
 */
export const icmpRawTarget: DecoderTarget<Buffer> = {
  name: 'icmp4-raw',
  decoder: 'stripIpv4Header+decodeEchoReply',
  reasons: ICMP_REJECT_REASONS,
  generate: ipv4IcmpDatagram,
  describe: (input) => describeBytes(input),
  check(datagram, record) {
    const stripped = record.guard(() => stripIpv4Header(datagram));
    if (stripped === CRASHED) return;
    if (!stripped.ok) return record.rejected(stripped.reason);
    const headerBytes = ((datagram[0] ?? 0) & 0x0f) * 4;
    const totalBytes = datagram.readUInt16BE(2);
    if (!stripped.message.equals(datagram.subarray(headerBytes, totalBytes))) {
      record.violation('cut-at-header', `message of ${stripped.message.length} bytes, header ${headerBytes}, total ${totalBytes}`);
    }
    const result = record.guard(() => decodeEchoReply(stripped.message, 4, isOurIdentifier));
    if (result === CRASHED) return;
    if (!result.ok) return record.rejected(result.reason);
    record.accepted();
    checkAcceptedEchoReply(stripped.message, 4, result, record);
  },
};
