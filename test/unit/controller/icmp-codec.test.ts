import { describe, expect, it } from 'vitest';
import {
  decodeEchoReply, encodeEchoRequest, icmpChecksum, icmpIdentifier, sealEchoRequest, stripIpv4Header,
  ICMP_MAGIC, ICMP_MAX_BYTES, ICMP_MIN_BYTES, ICMP_OFFSET_CHECKSUM, ICMP_OFFSET_IDENTIFIER, ICMP_OFFSET_MAGIC,
  ICMP_OFFSET_SEQ, ICMP_OFFSET_SEQ16, ICMP_OFFSET_SESSION, ICMP_OFFSET_T1, ICMP_OFFSET_TYPE, ICMP_REJECT_REASONS,
  type IcmpFamily,
} from '../../../controller/transport/icmp-codec.js';
import { Prng } from '../../helpers/prng.js';

/** A 64-byte IPv4 echo request, field by field (big-endian); checksum computed independently. */
const GOLDEN_REQUEST_HEX = [
  '08', //               type 8 echo request
  '00', //               code 0
  'd568', //             checksum (RFC 1071 over the 64 bytes)
  'beef', //             identifier = session & 0xffff
  '0607', //             sequence = seq & 0xffff
  '52545049', //         magic "RTPI"
  'deadbeef', //         session
  '0001020304050607', // seq
  '1122334455667788', // T1
  '00'.repeat(32), //    padding to 64 bytes
].join('');

const SESSION = 0xdeadbeef;
const SEQ = 0x0001020304050607n;
const T1 = 0x1122334455667788n;

/** What the guest's stack sends back: the request with the reply type, checksum redone. */
function replyOf(request: Buffer, family: IcmpFamily): Buffer {
  const reply = Buffer.from(request);
  reply[ICMP_OFFSET_TYPE] = family === 4 ? 0 : 129;
  reply.writeUInt16BE(0, ICMP_OFFSET_CHECKSUM);
  if (family === 4) reply.writeUInt16BE(icmpChecksum(reply), ICMP_OFFSET_CHECKSUM);
  return reply;
}

/** Rewrites the IPv4 checksum after a test changed other bytes. */
function fixChecksum(message: Buffer): Buffer {
  message.writeUInt16BE(0, ICMP_OFFSET_CHECKSUM);
  message.writeUInt16BE(icmpChecksum(message), ICMP_OFFSET_CHECKSUM);
  return message;
}

function ipv4(message: Buffer, options: { ihl?: number; protocol?: number; version?: number; total?: number } = {}): Buffer {
  const ihl = options.ihl ?? 5;
  const header = Buffer.alloc(ihl * 4);
  header[0] = ((options.version ?? 4) << 4) | ihl;
  header.writeUInt16BE(options.total ?? header.length + message.length, 2);
  header[8] = 64; // TTL
  header[9] = options.protocol ?? 1;
  Buffer.from([127, 0, 0, 1, 127, 0, 0, 1]).copy(header, 12);
  return Buffer.concat([header, message]);
}

function rejectOf(message: Uint8Array, family: IcmpFamily, ours?: (id: number) => boolean): string {
  const result = decodeEchoReply(message, family, ours);
  return result.ok ? 'ok' : result.reason;
}

describe('icmpChecksum', () => {
  it('is RFC 1071: the RFC example, odd lengths, a message that checks to zero', () => {
    // RFC 1071 section 3: the words sum to 0xddf2, so the checksum is its complement.
    expect(icmpChecksum(Buffer.from('0001f203f4f5f6f7', 'hex'))).toBe(0x220d);
    expect(icmpChecksum(Buffer.from('0001f203f4f5f6', 'hex'))).toBe(icmpChecksum(Buffer.from('0001f203f4f5f600', 'hex')));
    expect(icmpChecksum(Buffer.alloc(0))).toBe(0xffff);
    expect(icmpChecksum(Buffer.from(GOLDEN_REQUEST_HEX, 'hex'))).toBe(0);
  });

  it('folds carries of long messages (0xff bytes all the way)', () => {
    expect(icmpChecksum(Buffer.alloc(65_536, 0xff))).toBe(0);
    expect(icmpChecksum(Buffer.alloc(65_535, 0xff))).toBe(0x00ff);
  });
});

describe('encodeEchoRequest', () => {
  it('writes the golden bytes (IPv4)', () => {
    expect(encodeEchoRequest(SESSION, SEQ, T1, 64, 4).toString('hex')).toBe(GOLDEN_REQUEST_HEX);
  });

  it('IPv6: type 128, checksum left to the kernel (zero)', () => {
    const request = encodeEchoRequest(SESSION, SEQ, T1, 64, 6);
    const golden = Buffer.from(GOLDEN_REQUEST_HEX, 'hex');
    golden[0] = 128;
    golden.writeUInt16BE(0, ICMP_OFFSET_CHECKSUM);
    expect(request).toEqual(golden);
  });

  it('pads to the size and rejects sizes outside 64..1472', () => {
    expect(encodeEchoRequest(1, 0n, 0n, ICMP_MAX_BYTES, 4)).toHaveLength(1472);
    expect(() => encodeEchoRequest(1, 0n, 0n, ICMP_MIN_BYTES - 1, 4)).toThrow(RangeError);
    expect(() => encodeEchoRequest(1, 0n, 0n, ICMP_MAX_BYTES + 1, 4)).toThrow(/64\.\.1472/);
    expect(() => encodeEchoRequest(1, 0n, 0n, 64.5, 4)).toThrow(RangeError);
  });

  it('has the documented offsets (seq and T1 where the UDP probe has them)', () => {
    expect([ICMP_OFFSET_TYPE, ICMP_OFFSET_CHECKSUM, ICMP_OFFSET_IDENTIFIER, ICMP_OFFSET_SEQ16, ICMP_OFFSET_MAGIC,
      ICMP_OFFSET_SESSION, ICMP_OFFSET_SEQ, ICMP_OFFSET_T1]).toEqual([0, 2, 4, 6, 8, 12, 16, 24]);
    expect(Buffer.from('RTPI').readUInt32BE(0)).toBe(ICMP_MAGIC);
    expect(icmpIdentifier(0x1234abcd)).toBe(0xabcd);
  });
});

describe('sealEchoRequest', () => {
  it('after the schedule wrote seq and T1 into a template, gives the same bytes as encoding directly', () => {
    for (const family of [4, 6] as const) {
      const packet = encodeEchoRequest(SESSION, 0n, 0n, 100, family);
      packet.writeBigUInt64BE(0x1_0002n, ICMP_OFFSET_SEQ);
      packet.writeBigUInt64BE(T1, ICMP_OFFSET_T1);
      sealEchoRequest(packet, 0x1_0002n, family);
      expect(packet).toEqual(encodeEchoRequest(SESSION, 0x1_0002n, T1, 100, family));
      expect(packet.readUInt16BE(ICMP_OFFSET_SEQ16)).toBe(2);
    }
  });
});

describe('decodeEchoReply', () => {
  it.each([4, 6] as const)('round trip of a reply (IPv%i)', (family) => {
    for (const [session, seq, size] of [[SESSION, SEQ, 64], [0, 0n, 1472], [0xffffffff, 2n ** 64n - 1n, 200]] as const) {
      const reply = replyOf(encodeEchoRequest(session, seq, T1, size, family), family);
      expect(decodeEchoReply(reply, family)).toEqual({
        ok: true, session, seq, t1Ns: T1, identifier: session & 0xffff,
      });
    }
  });

  it('reads a view into a larger buffer (byteOffset) without copying mistakes', () => {
    const reply = replyOf(encodeEchoRequest(SESSION, SEQ, T1, 64, 4), 4);
    const backing = Buffer.concat([Buffer.from([1, 2, 3]), reply, Buffer.from([4])]);
    expect(decodeEchoReply(backing.subarray(3, 3 + 64), 4)).toMatchObject({ ok: true, seq: SEQ });
  });

  it('gives every reason', () => {
    const ours = (id: number): boolean => id === icmpIdentifier(SESSION);
    const request = encodeEchoRequest(SESSION, SEQ, T1, 64, 4);
    const reply = replyOf(request, 4);
    const seen = new Set<string>();
    const expectReason = (message: Buffer, reason: string, family: IcmpFamily = 4): void => {
      expect(rejectOf(message, family, ours)).toBe(reason);
      seen.add(reason);
    };

    expectReason(reply.subarray(0, 7), 'short');
    expectReason(fixChecksum(Buffer.from(reply.subarray(0, 31))), 'short'); // truncated, ours
    expectReason(request, 'own-request');
    expectReason(encodeEchoRequest(SESSION, SEQ, T1, 64, 6), 'own-request', 6);
    expectReason(encodeEchoRequest(0x1111, 0n, 0n, 64, 4), 'not-echo-reply'); // someone pinging us
    expectReason(fixChecksum(Buffer.from([3, 3, 0, 0, 0, 0, 0, 0, ...reply])), 'not-echo-reply'); // port unreachable
    const badCode = Buffer.from(reply);
    badCode[1] = 1;
    expectReason(fixChecksum(badCode), 'not-echo-reply');
    expectReason(replyOf(encodeEchoRequest(SESSION, SEQ, T1, 64, 6), 4), 'not-echo-reply', 6); // type 0 on IPv6
    const corrupted = Buffer.from(reply);
    corrupted.writeUInt8(corrupted.readUInt8(40) ^ 0x01, 40);
    expectReason(corrupted, 'bad-checksum');
    expectReason(replyOf(encodeEchoRequest(0x2222, SEQ, T1, 64, 4), 4), 'not-ours'); // another rtprobe
    const ping = Buffer.alloc(64); // a ping reply: identifier, seq, timeval, pattern
    ping.writeUInt16BE(0x4242, 4);
    ping.fill(0x55, 16);
    expectReason(fixChecksum(ping), 'not-ours');
    const wrongMagic = Buffer.from(reply);
    wrongMagic.writeUInt32BE(0x52545042, ICMP_OFFSET_MAGIC); // "RTPB": a UDP probe layout
    expectReason(fixChecksum(wrongMagic), 'bad-magic');
    const otherSession = Buffer.from(reply);
    otherSession.writeUInt32BE(0x12340000 | 0x0001, ICMP_OFFSET_SESSION);
    expectReason(fixChecksum(otherSession), 'id-mismatch');
    const otherSeq16 = Buffer.from(reply);
    otherSeq16.writeUInt16BE(0x0608, ICMP_OFFSET_SEQ16);
    expectReason(fixChecksum(otherSeq16), 'seq-mismatch');
    expectReason(fixChecksum(Buffer.from(reply.subarray(0, 63))), 'bad-length');
    expectReason(fixChecksum(Buffer.concat([reply, Buffer.alloc(1472 - 64 + 1)])), 'bad-length');
    expect(stripIpv4Header(Buffer.alloc(20))).toEqual({ ok: false, reason: 'bad-ip-header' });
    seen.add('bad-ip-header');

    expect([...seen].sort()).toEqual([...ICMP_REJECT_REASONS].sort());
  });

  it('does not check IPv6 checksums (the kernel did)', () => {
    const reply = replyOf(encodeEchoRequest(SESSION, SEQ, T1, 64, 6), 6);
    reply.writeUInt16BE(0x1234, ICMP_OFFSET_CHECKSUM);
    expect(decodeEchoReply(reply, 6).ok).toBe(true);
  });

  it('without a predicate accepts any identifier', () => {
    expect(rejectOf(replyOf(encodeEchoRequest(7, 1n, 0n, 64, 4), 4), 4)).toBe('ok');
    expect(rejectOf(encodeEchoRequest(7, 1n, 0n, 64, 4), 4)).toBe('own-request');
  });
});

describe('stripIpv4Header', () => {
  const message = replyOf(encodeEchoRequest(SESSION, SEQ, T1, 64, 4), 4);

  it('returns the ICMP message after a 20-byte header and after options', () => {
    const plain = stripIpv4Header(ipv4(message));
    expect(plain.ok && plain.message).toEqual(message);
    const withOptions = stripIpv4Header(ipv4(message, { ihl: 15 }));
    expect(withOptions.ok && withOptions.message).toEqual(message);
  });

  it('cuts at the total length and refuses what is not one whole IPv4 ICMP datagram', () => {
    const trailing = stripIpv4Header(Buffer.concat([ipv4(message), Buffer.alloc(6)]));
    expect(trailing.ok && trailing.message).toEqual(message);
    expect(stripIpv4Header(ipv4(message).subarray(0, 19))).toEqual({ ok: false, reason: 'short' });
    expect(stripIpv4Header(ipv4(message).subarray(0, 50))).toEqual({ ok: false, reason: 'short' });
    expect(stripIpv4Header(ipv4(message, { version: 6 }))).toEqual({ ok: false, reason: 'bad-ip-header' });
    expect(stripIpv4Header(ipv4(message, { ihl: 4 }))).toEqual({ ok: false, reason: 'bad-ip-header' });
    expect(stripIpv4Header(ipv4(message, { protocol: 17 }))).toEqual({ ok: false, reason: 'bad-ip-header' });
    expect(stripIpv4Header(ipv4(message, { total: 10 }))).toEqual({ ok: false, reason: 'bad-ip-header' });
  });
});

describe('robustness', () => {
  it('10 000 random and mutated inputs never throw and only give known reasons', () => {
    const prng = new Prng(0x1c849314); // seeded: the same inputs every run
    const reasons = new Set<string>([...ICMP_REJECT_REASONS, 'ok']);
    const valid = [4, 6].map((family) => replyOf(encodeEchoRequest(SESSION, SEQ, T1, 64, family as IcmpFamily), family as IcmpFamily));
    for (let i = 0; i < 10_000; i++) {
      const family: IcmpFamily = i % 2 === 0 ? 4 : 6;
      let input: Buffer;
      if (i % 3 === 0) {
        input = prng.bytes(prng.int(1600));
      } else {
        input = Buffer.from(valid[i % 2] ?? Buffer.alloc(0));
        for (let flips = prng.range(1, 4); flips > 0; flips--) input[prng.int(input.length)] = prng.int(256);
        if (i % 5 === 0) input = input.subarray(0, prng.int(input.length));
      }
      const ours = (id: number): boolean => (id & 1) === 0;
      const decoded = decodeEchoReply(input, family, ours);
      expect(reasons.has(decoded.ok ? 'ok' : decoded.reason)).toBe(true);
      const stripped = stripIpv4Header(i % 4 === 0 ? ipv4(input) : input);
      if (stripped.ok) expect(stripped.message.length).toBeLessThanOrEqual(input.length);
    }
  });
});
