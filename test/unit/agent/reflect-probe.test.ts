import { describe, it, expect } from 'vitest';
import { reflectProbe } from '../../../agent/reflect-probe.js';
import { decodeProbe, encodeProbe, encodeReply } from '../../../shared/wire/probe-codec.js';
import {
  OFFSET_FLAGS, OFFSET_LENGTH, OFFSET_MAGIC, OFFSET_RESERVED, OFFSET_TYPE, OFFSET_VERSION,
  PROBE_HEADER_BYTES, PROBE_MAX_BYTES, PROBE_MIN_BYTES,
} from '../../../shared/wire/probe-layout.js';

const T2 = 1_732_000_000_000_000_000n;
const T3 = T2 + 12_345n;

function reject(request: Buffer): string | null {
  const result = reflectProbe(request, T2, 'kernel', T3, 'user');
  return result.ok ? null : result.reason;
}

describe('reflectProbe', () => {
  it('every size 64..1472: the reply has the request length, never more, and keeps the payload', () => {
    for (let size = PROBE_MIN_BYTES; size <= PROBE_MAX_BYTES; size++) {
      const request = encodeProbe(0xabcdef01, BigInt(size) * 1_000_003n, 1_700_000_000_000_000_000n + BigInt(size), size);
      request.fill(size & 0xff, PROBE_HEADER_BYTES);
      const result = reflectProbe(request, T2, 'kernel', T3, 'user');
      if (!result.ok) expect.fail(`size ${size} rejected: ${result.reason}`);
      if (result.reply.length !== size) expect.fail(`size ${size}: reply of ${result.reply.length} bytes`);
      if (!result.reply.subarray(PROBE_HEADER_BYTES).equals(request.subarray(PROBE_HEADER_BYTES))) {
        expect.fail(`size ${size}: padding changed`);
      }
    }
  });

  it('the reply decodes as a reply to the same probe, with T2/T3 and their sources', () => {
    const request = encodeProbe(7, 2n ** 64n - 1n, 2n ** 63n + 1n, 200);
    const before = Buffer.from(request);
    const result = reflectProbe(request, T2, 'hardware', T3, 'kernel');
    if (!result.ok) throw new Error(result.reason);
    expect(result.probe).toMatchObject({ type: 'probe', session: 7, seq: 2n ** 64n - 1n, t1Ns: 2n ** 63n + 1n, lengthBytes: 200 });
    const decoded = decodeProbe(result.reply);
    expect(decoded).toEqual({
      ok: true,
      packet: {
        type: 'reply', session: 7, seq: 2n ** 64n - 1n, t1Ns: 2n ** 63n + 1n, t2Ns: T2, t3Ns: T3,
        t2Source: 'hardware', t3Source: 'kernel', lengthBytes: 200, signed: false,
      },
    });
    expect(request.equals(before)).toBe(true); // the request buffer is left alone
    expect(result.reply).toEqual(encodeReply(request, T2, T3, 'hardware', 'kernel'));
  });

  it('rejects a reply (reflecting it would loop between two agents): bad-type', () => {
    const reply = encodeReply(encodeProbe(1, 1n, 1n, 64), 1n, 2n, 'user', 'user');
    expect(reject(reply)).toBe('bad-type');
  });

  it('rejects malformed datagrams with the decoder reason', () => {
    const valid = () => encodeProbe(1, 1n, 1n, 64);
    expect(reject(Buffer.alloc(0))).toBe('short');
    expect(reject(valid().subarray(0, 47))).toBe('short');
    const magic = valid(); magic.writeUInt32BE(0x12345678, OFFSET_MAGIC);
    expect(reject(magic)).toBe('bad-magic');
    const version = valid(); version.writeUInt8(2, OFFSET_VERSION);
    expect(reject(version)).toBe('bad-version');
    const type = valid(); type.writeUInt8(3, OFFSET_TYPE);
    expect(reject(type)).toBe('bad-type');
    const flags = valid(); flags.writeUInt16BE(0x20, OFFSET_FLAGS);
    expect(reject(flags)).toBe('bad-flags');
    const length = valid(); length.writeUInt16BE(128, OFFSET_LENGTH);
    expect(reject(length)).toBe('bad-length');
    const reserved = valid(); reserved.writeUInt16BE(1, OFFSET_RESERVED);
    expect(reject(reserved)).toBe('bad-reserved');
  });

  it('never answers a datagram larger than 1472 bytes', () => {
    const big = Buffer.alloc(1500);
    encodeProbe(1, 1n, 1n, 64).copy(big);
    big.writeUInt16BE(1500, OFFSET_LENGTH);
    expect(reject(big)).toBe('bad-length');
  });
});
