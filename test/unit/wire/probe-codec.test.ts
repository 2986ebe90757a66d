import { describe, it, expect } from 'vitest';
import { decodeProbe, encodeProbe, encodeRefusal, encodeReply, encodeSessionEnd, stampFlags } from '../../../shared/wire/probe-codec.js';
import {
  OFFSET_FLAGS, OFFSET_LENGTH, OFFSET_MAGIC, OFFSET_RESERVED, OFFSET_SEQ, OFFSET_SESSION,
  OFFSET_T1, OFFSET_T2, OFFSET_T3, OFFSET_TYPE, OFFSET_VERSION, PROBE_HEADER_BYTES,
  PROBE_MAGIC, PROBE_MAX_BYTES, PROBE_MIN_BYTES,
} from '../../../shared/wire/probe-layout.js';
import { REJECT_REASONS } from '../../../shared/wire/reject-reason.js';
import type { StampSource } from '../../../shared/transport/probe-transport.js';
import { Prng } from '../../helpers/prng.js';

const U64_MAX = 2n ** 64n - 1n;

/** A 64-byte probe, field by field (big-endian). */
const GOLDEN_PROBE_HEX = [
  '52545042', //         magic "RTPB"
  '01', //               version 1
  '01', //               type probe
  '0000', //             flags
  'deadbeef', //         session
  '0040', //             length 64
  '0000', //             reserved
  '0001020304050607', // seq
  '1122334455667788', // T1
  '0000000000000000', // T2
  '0000000000000000', // T3
  '00'.repeat(16), //    padding to 64 bytes
].join('');

function expectReject(data: Uint8Array, reason: string): void {
  const result = decodeProbe(data);
  expect(result.ok).toBe(false);
  if (!result.ok) expect(result.reason).toBe(reason);
}

function decodedPacket(data: Uint8Array) {
  const result = decodeProbe(data);
  if (!result.ok) throw new Error(`expected a valid packet, got ${result.reason}`);
  return result.packet;
}

describe('probe layout', () => {
  it('has the documented offsets, header size and bounds', () => {
    expect([OFFSET_MAGIC, OFFSET_VERSION, OFFSET_TYPE, OFFSET_FLAGS, OFFSET_SESSION, OFFSET_LENGTH,
      OFFSET_RESERVED, OFFSET_SEQ, OFFSET_T1, OFFSET_T2, OFFSET_T3]).toEqual([0, 4, 5, 6, 8, 12, 14, 16, 24, 32, 40]);
    expect(PROBE_HEADER_BYTES).toBe(48);
    expect(PROBE_MIN_BYTES).toBe(64);
    expect(PROBE_MAX_BYTES).toBe(1472);
    expect(Buffer.from('RTPB').readUInt32BE(0)).toBe(PROBE_MAGIC);
  });
});

describe('encodeProbe', () => {
  it('produces the golden 64-byte probe exactly', () => {
    const probe = encodeProbe(0xdeadbeef, 0x0001020304050607n, 0x1122334455667788n, 64);
    expect(probe.length).toBe(64);
    expect(probe.toString('hex')).toBe(GOLDEN_PROBE_HEX);
  });

  it('pads with zeros up to the requested size', () => {
    const probe = encodeProbe(1, 2n, 3n, 1472);
    expect(probe.length).toBe(1472);
    expect(probe.readUInt16BE(OFFSET_LENGTH)).toBe(1472);
    expect(probe.subarray(PROBE_HEADER_BYTES).every((b) => b === 0)).toBe(true);
  });

  it('writes a session given as a negative int32 as its unsigned value', () => {
    expect(encodeProbe(-1, 0n, 0n, 64).readUInt32BE(OFFSET_SESSION)).toBe(0xffffffff);
  });
});

describe('round trip encode -> decode', () => {
  const cases: { size: number; seq: bigint; t1: bigint; session: number }[] = [
    { size: 64, seq: 0n, t1: 0n, session: 1 },
    { size: 64, seq: U64_MAX, t1: 2n ** 63n - 1n, session: 0xffffffff },
    { size: 1472, seq: U64_MAX, t1: 2n ** 63n + 12_345n, session: 0x80000000 },
    { size: 1472, seq: 2n ** 53n + 1n, t1: 1_732_000_000_123_456_789n, session: 7 },
  ];
  for (const c of cases) {
    it(`size ${c.size}, seq ${c.seq}, T1 ${c.t1}`, () => {
      const packet = decodedPacket(encodeProbe(c.session, c.seq, c.t1, c.size));
      expect(packet).toEqual({
        type: 'probe', session: c.session, seq: c.seq, t1Ns: c.t1, t2Ns: 0n, t3Ns: 0n,
        t2Source: 'none', t3Source: 'none', lengthBytes: c.size, signed: false, refusal: null,
      });
    });
  }

  it('decodes a Uint8Array view at an offset into a larger buffer', () => {
    const probe = encodeProbe(42, 99n, 1234n, 100);
    const backing = new Uint8Array(300).fill(0xaa);
    backing.set(probe, 37);
    const view = backing.subarray(37, 37 + probe.length);
    const packet = decodedPacket(view);
    expect(packet.session).toBe(42);
    expect(packet.seq).toBe(99n);
    expect(packet.lengthBytes).toBe(100);
  });
});

describe('encodeReply', () => {
  const sources: [StampSource, StampSource][] = [
    ['user', 'user'], ['kernel', 'kernel'], ['kernel', 'hardware'], ['hardware', 'user'],
  ];
  for (const [t2Source, t3Source] of sources) {
    it(`keeps length and fields, sets type/T2/T3/flags (${t2Source}/${t3Source})`, () => {
      for (const size of [64, 65, 512, 1472]) {
        const request = encodeProbe(0x01020304, U64_MAX - 3n, 2n ** 63n - 5n, size);
        request.fill(0x5a, PROBE_HEADER_BYTES); // recognisable padding
        const before = Buffer.from(request);
        const reply = encodeReply(request, 1_000_000n, 1_002_500n, t2Source, t3Source);

        expect(reply.length).toBe(size);
        expect(request.equals(before)).toBe(true); // the request is not modified
        expect(reply.readUInt8(OFFSET_TYPE)).toBe(2);
        expect(reply.readUInt16BE(OFFSET_FLAGS)).toBe(stampFlags(t2Source, t3Source));
        expect(reply.readBigUInt64BE(OFFSET_T2)).toBe(1_000_000n);
        expect(reply.readBigUInt64BE(OFFSET_T3)).toBe(1_002_500n);
        expect(reply.subarray(PROBE_HEADER_BYTES).equals(before.subarray(PROBE_HEADER_BYTES))).toBe(true);

        expect(decodedPacket(reply)).toEqual({
          type: 'reply', session: 0x01020304, seq: U64_MAX - 3n, t1Ns: 2n ** 63n - 5n,
          t2Ns: 1_000_000n, t3Ns: 1_002_500n, t2Source, t3Source, lengthBytes: size, signed: false, refusal: null,
        });
      }
    });
  }

  it('stampFlags puts T2 in bits 0-1 and T3 in bits 2-3', () => {
    expect(stampFlags('none', 'none')).toBe(0);
    expect(stampFlags('user', 'none')).toBe(0b0001);
    expect(stampFlags('kernel', 'none')).toBe(0b0010);
    expect(stampFlags('hardware', 'none')).toBe(0b0011);
    expect(stampFlags('none', 'user')).toBe(0b0100);
    expect(stampFlags('none', 'hardware')).toBe(0b1100);
    expect(stampFlags('kernel', 'hardware')).toBe(0b1110);
  });
});

/** The refusal of GOLDEN_PROBE_HEX for session-limit, 16 places busy, field by field. */
const GOLDEN_REFUSAL_HEX = [
  '52545042', //         magic "RTPB"
  '01', //               version 1
  '03', //               type refusal
  '0000', //             flags (AUTH when signed)
  'deadbeef', //         session of the probe
  '0040', //             length 64
  '0001', //             reason 1: session-limit
  '0001020304050607', // seq of the probe
  '1122334455667788', // T1 of the probe
  '0000000000000010', // detail: 16 places busy
  '0000000000000000', // scope 0: all the agent's places
  '00'.repeat(16), //    padding (the tag when signed)
].join('');

describe('refusals and session-ends', () => {
  it('a refusal is the probe\'s first 64 bytes with type 3, length 64, the reason code, detail and scope', () => {
    const probe = Buffer.alloc(1000);
    Buffer.from(GOLDEN_PROBE_HEX, 'hex').copy(probe);
    probe.writeUInt16BE(1000, OFFSET_LENGTH);
    probe.fill(0x5a, PROBE_HEADER_BYTES);
    const refusal = encodeRefusal(probe, 'session-limit', 16);
    expect(refusal.toString('hex')).toBe(GOLDEN_REFUSAL_HEX);
    expect(decodedPacket(refusal)).toEqual({
      type: 'refusal', session: 0xdeadbeef, seq: 0x0001020304050607n, t1Ns: 0x1122334455667788n, t2Ns: 16n, t3Ns: 0n,
      t2Source: 'none', t3Source: 'none', lengthBytes: 64, signed: false,
      refusal: { reason: 'session-limit', detail: 16, scope: 'agent' },
    });
  });

  it('every reason code and both scopes round-trip; never larger than a probe', () => {
    const probe = encodeProbe(1, 2n, 3n, PROBE_MIN_BYTES);
    for (const [code, reason] of (['session-limit', 'rate-limited', 'replay', 'unauthenticated', 'bad-auth'] as const).entries()) {
      for (const scope of ['agent', 'source-address'] as const) {
        const refusal = encodeRefusal(probe, reason, 7, scope);
        expect(refusal.length).toBe(PROBE_MIN_BYTES);
        expect(refusal.readUInt16BE(OFFSET_RESERVED)).toBe(code + 1);
        expect(decodedPacket(refusal).refusal).toEqual({ reason, detail: 7, scope });
      }
    }
  });

  it('a refusal with an unknown reason code or scope, another length or stamp flags is rejected', () => {
    const valid = (): Buffer => encodeRefusal(encodeProbe(1, 2n, 3n, 64), 'replay', 0);
    for (const code of [0, 6, 0xffff]) {
      const bad = valid();
      bad.writeUInt16BE(code, OFFSET_RESERVED);
      expectReject(bad, 'bad-reserved');
    }
    const scope = valid();
    scope.writeBigUInt64BE(2n, OFFSET_T3);
    expectReject(scope, 'bad-reserved');
    const stamps = valid();
    stamps.writeUInt16BE(stampFlags('kernel', 'none'), OFFSET_FLAGS);
    expectReject(stamps, 'bad-flags');
    const longer = Buffer.concat([valid(), Buffer.alloc(1)]);
    longer.writeUInt16BE(65, OFFSET_LENGTH);
    expectReject(longer, 'bad-length');
  });

  it('a session-end: 64 bytes, type 4, session, probes sent in seq, T1; reserved zero', () => {
    const end = encodeSessionEnd(0xdeadbeef, 1000n, 42n);
    expect(end.length).toBe(64);
    expect(end.readUInt8(OFFSET_TYPE)).toBe(4);
    expect(decodedPacket(end)).toEqual({
      type: 'session-end', session: 0xdeadbeef, seq: 1000n, t1Ns: 42n, t2Ns: 0n, t3Ns: 0n,
      t2Source: 'none', t3Source: 'none', lengthBytes: 64, signed: false, refusal: null,
    });
    const reserved = encodeSessionEnd(1, 1n, 1n);
    reserved.writeUInt16BE(1, OFFSET_RESERVED);
    expectReject(reserved, 'bad-reserved');
  });
});

describe('decodeProbe rejections', () => {
  const valid = (size = 64): Buffer => encodeProbe(0x0a0b0c0d, 5n, 6n, size);

  it('short: 0, 1 and 47 bytes', () => {
    expectReject(new Uint8Array(0), 'short');
    expectReject(valid().subarray(0, 1), 'short');
    expectReject(valid().subarray(0, 47), 'short');
  });

  it('accepts 48..63-byte datagrams only as far as the length check (bad-length, not short)', () => {
    const header = valid().subarray(0, 48);
    expectReject(header, 'bad-length');
  });

  it('bad-magic', () => {
    const probe = valid();
    probe.writeUInt32BE(0x52545043, OFFSET_MAGIC);
    expectReject(probe, 'bad-magic');
    expectReject(Buffer.alloc(64), 'bad-magic');
  });

  it('bad-version: 0, 2 and 255', () => {
    for (const version of [0, 2, 255]) {
      const probe = valid();
      probe.writeUInt8(version, OFFSET_VERSION);
      expectReject(probe, 'bad-version');
    }
  });

  it('bad-type: 0, 5 and 255', () => {
    for (const type of [0, 5, 255]) {
      const probe = valid();
      probe.writeUInt8(type, OFFSET_TYPE);
      expectReject(probe, 'bad-type');
    }
  });

  it('bad-flags: any bit above bit 4 (AUTH)', () => {
    for (const flags of [0x0020, 0x0100, 0x8000, 0xffff, 0x003f]) {
      const probe = valid();
      probe.writeUInt16BE(flags, OFFSET_FLAGS);
      expectReject(probe, 'bad-flags');
    }
  });

  it('accepts every combination of the defined stamp-source bits', () => {
    for (let flags = 0; flags <= 0b1111; flags++) {
      const probe = valid();
      probe.writeUInt16BE(flags, OFFSET_FLAGS);
      expect(decodeProbe(probe).ok).toBe(true);
    }
  });

  it('bad-length: field differs from the datagram size', () => {
    const probe = valid(64);
    probe.writeUInt16BE(65, OFFSET_LENGTH);
    expectReject(probe, 'bad-length');
    const big = valid(200);
    big.writeUInt16BE(199, OFFSET_LENGTH);
    expectReject(big, 'bad-length');
    // a valid probe truncated or extended in transit
    expectReject(valid(100).subarray(0, 99), 'bad-length');
    expectReject(Buffer.concat([valid(100), Buffer.alloc(1)]), 'bad-length');
  });

  it('bad-length: size below 64 with a matching length field', () => {
    for (const size of [48, 50, 63]) {
      const probe = Buffer.from(valid(64).subarray(0, size));
      probe.writeUInt16BE(size, OFFSET_LENGTH);
      expectReject(probe, 'bad-length');
    }
  });

  it('bad-length: size above 1472 with a matching length field', () => {
    for (const size of [1473, 1600, 9000]) {
      const probe = Buffer.alloc(size);
      valid(64).copy(probe);
      probe.writeUInt16BE(size, OFFSET_LENGTH);
      expectReject(probe, 'bad-length');
    }
  });

  it('bad-reserved', () => {
    for (const reserved of [1, 0x8000, 0xffff]) {
      const probe = valid();
      probe.writeUInt16BE(reserved, OFFSET_RESERVED);
      expectReject(probe, 'bad-reserved');
    }
  });

  it('reports the first failing check in header order', () => {
    const probe = valid();
    probe.writeUInt8(9, OFFSET_VERSION);
    probe.writeUInt8(9, OFFSET_TYPE);
    probe.writeUInt16BE(0xffff, OFFSET_RESERVED);
    expectReject(probe, 'bad-version');
  });

  it('does not look at the padding', () => {
    const probe = valid(128);
    probe.fill(0xff, PROBE_HEADER_BYTES);
    expect(decodeProbe(probe).ok).toBe(true);
  });

  it('seq and session are read from their own offsets', () => {
    const probe = valid();
    probe.writeBigUInt64BE(0xfedcba9876543210n, OFFSET_SEQ);
    probe.writeBigUInt64BE(0x0102030405060708n, OFFSET_T1);
    const packet = decodedPacket(probe);
    expect(packet.seq).toBe(0xfedcba9876543210n);
    expect(packet.t1Ns).toBe(0x0102030405060708n);
    expect(packet.session).toBe(0x0a0b0c0d);
  });
});

describe('decodeProbe never throws', () => {
  const reasons: readonly string[] = REJECT_REASONS;

  it('10 000 random buffers of random length 0..1600', () => {
    const prng = new Prng(0x2545f491); // seeded: the loop is the same every run
    for (let n = 0; n < 10_000; n++) {
      const length = prng.int(1601);
      const data = new Uint8Array(prng.bytes(length));
      // Every 4th buffer starts with the right magic and version so the deeper checks run too.
      if (n % 4 === 0 && length >= 8) { data.set([0x52, 0x54, 0x50, 0x42, 0x01], 0); }
      let result: ReturnType<typeof decodeProbe> | undefined;
      expect(() => { result = decodeProbe(data); }).not.toThrow();
      if (result === undefined) throw new Error('no result');
      if (result.ok) {
        expect(result.packet.lengthBytes).toBe(length);
      } else {
        expect(reasons).toContain(result.reason);
      }
    }
  });

  it('10 000 single-byte mutations of valid probes', () => {
    const prng = new Prng(0x9e3779b9);
    const seen = new Set<string>();
    for (let n = 0; n < 10_000; n++) {
      const size = prng.range(PROBE_MIN_BYTES, PROBE_MAX_BYTES);
      const data = encodeProbe(prng.u32(), BigInt(prng.u32()), BigInt(prng.u32()), size);
      data[prng.int(PROBE_HEADER_BYTES)] = prng.int(256);
      const result = decodeProbe(data);
      if (result.ok) seen.add('ok');
      else {
        seen.add(result.reason);
        expect(reasons).toContain(result.reason);
      }
    }
    // the mutations reach every check of the decoder
    for (const reason of ['ok', 'bad-magic', 'bad-version', 'bad-type', 'bad-flags', 'bad-length', 'bad-reserved']) {
      expect(seen).toContain(reason);
    }
  });
});
