import { describe, it, expect } from 'vitest';
import { reflectProbe, type ReflectPolicy } from '../../../agent/reflect-probe.js';
import { ProbeGuard } from '../../../agent/probe-guard.js';
import { checkAuth, signDatagram } from '../../../shared/wire/probe-auth.js';
import { decodeProbe, encodeProbe, encodeRefusal, encodeReply, encodeSessionEnd } from '../../../shared/wire/probe-codec.js';
import {
  OFFSET_FLAGS, OFFSET_LENGTH, OFFSET_MAGIC, OFFSET_RESERVED, OFFSET_TYPE, OFFSET_VERSION,
  PROBE_HEADER_BYTES, PROBE_MAX_BYTES, PROBE_MIN_BYTES,
} from '../../../shared/wire/probe-layout.js';

const T2 = 1_732_000_000_000_000_000n;
const T3 = T2 + 12_345n;

function reject(request: Buffer): string | null {
  const result = reflectProbe(request, T2, 'kernel', T3, 'user');
  if (result.ok) return null;
  return result.ended ? 'ended' : result.reason;
}

describe('reflectProbe', () => {
  it('every size 64..1472: the reply has the request length, never more, and keeps the payload', () => {
    for (let size = PROBE_MIN_BYTES; size <= PROBE_MAX_BYTES; size++) {
      const request = encodeProbe(0xabcdef01, BigInt(size) * 1_000_003n, 1_700_000_000_000_000_000n + BigInt(size), size);
      request.fill(size & 0xff, PROBE_HEADER_BYTES);
      const result = reflectProbe(request, T2, 'kernel', T3, 'user');
      if (!result.ok) expect.fail(`size ${size} rejected: ${reject(request)}`);
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
    if (!result.ok) throw new Error(String(reject(request)));
    expect(result.probe).toMatchObject({ type: 'probe', session: 7, seq: 2n ** 64n - 1n, t1Ns: 2n ** 63n + 1n, lengthBytes: 200 });
    const decoded = decodeProbe(result.reply);
    expect(decoded).toEqual({
      ok: true,
      packet: {
        type: 'reply', session: 7, seq: 2n ** 64n - 1n, t1Ns: 2n ** 63n + 1n, t2Ns: T2, t3Ns: T3,
        t2Source: 'hardware', t3Source: 'kernel', lengthBytes: 200, signed: false, refusal: null,
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
    const type = valid(); type.writeUInt8(9, OFFSET_TYPE);
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

describe('reflectProbe refusals and session-ends', () => {
  const KEY = Buffer.from('a-key-of-at-least-16-chars');
  const policy = (guard: ProbeGuard, port: number, nowMs: number, key: Buffer | null = null): ReflectPolicy => ({
    key, guard, sourceAddress: '10.0.0.1', sourcePort: port, nowMs,
  });
  const limits = { maxRatePerS: null, maxSessions: 1, replayWindow: false };

  it('a probe over the session limit gets a refusal: 64 bytes, type refusal, reason and detail, the probe\'s session, seq and T1', () => {
    const guard = new ProbeGuard(limits);
    expect(reflectProbe(encodeProbe(1, 0n, 5n, 64), T2, 'kernel', T3, 'user', policy(guard, 1000, 0)).ok).toBe(true);
    const probe = encodeProbe(2, 77n, 123n, 1000);
    const result = reflectProbe(probe, T2, 'kernel', T3, 'user', policy(guard, 2000, 1));
    if (result.ok || result.ended) throw new Error('answered');
    expect(result.reason).toBe('session-limit');
    expect(result.refusal).toEqual(encodeRefusal(probe, 'session-limit', 1, 'agent'));
    const decoded = decodeProbe(result.refusal ?? Buffer.alloc(0));
    expect(decoded).toMatchObject({
      ok: true, packet: { type: 'refusal', session: 2, seq: 77n, t1Ns: 123n, lengthBytes: 64, refusal: { reason: 'session-limit', detail: 1, scope: 'agent' } },
    });
  });

  it('with a key: unauthenticated and forged probes get a signed refusal, never a reply', () => {
    const guard = new ProbeGuard(limits);
    const unsigned = reflectProbe(encodeProbe(1, 0n, 1n, 64), T2, 'kernel', T3, 'user', policy(guard, 1, 0, KEY));
    if (unsigned.ok || unsigned.ended || unsigned.refusal === null) throw new Error('no refusal');
    expect(unsigned.reason).toBe('unauthenticated');
    expect(checkAuth(unsigned.refusal, KEY)).toBeNull();
    const forged = encodeProbe(1, 1n, 1n, 64);
    signDatagram(forged, Buffer.from('another-key-of-16-chars!'));
    const result = reflectProbe(forged, T2, 'kernel', T3, 'user', policy(guard, 1, 0, KEY));
    if (result.ok || result.ended) throw new Error('answered');
    expect(result.reason).toBe('bad-auth');
    expect(decodeProbe(result.refusal ?? Buffer.alloc(0))).toMatchObject({ ok: true, packet: { refusal: { reason: 'bad-auth' }, signed: true } });
  });

  it('refusal replies are rate-limited per source address: a burst of 10, then 100 a second', () => {
    const guard = new ProbeGuard(limits);
    reflectProbe(encodeProbe(1, 0n, 1n, 64), T2, 'kernel', T3, 'user', policy(guard, 1, 0));
    const refusals = (nowMs: number, n: number): number => {
      let sent = 0;
      for (let i = 0; i < n; i++) {
        const r = reflectProbe(encodeProbe(2, BigInt(i), 1n, 64), T2, 'kernel', T3, 'user', policy(guard, 2, nowMs));
        if (!r.ok && !r.ended && r.refusal) sent++;
      }
      return sent;
    };
    expect(refusals(0, 50)).toBe(10);
    expect(refusals(10, 5)).toBe(1); // one token per 10 ms
  });

  it('a session-end from the holder frees the place; from another port it is unknown-session; never answered', () => {
    const guard = new ProbeGuard(limits);
    expect(reflectProbe(encodeProbe(1, 0n, 1n, 64), T2, 'kernel', T3, 'user', policy(guard, 1000, 0)).ok).toBe(true);
    expect(reject(encodeSessionEnd(1, 1n, 1n))).toBe('ended'); // no policy: nothing to free, still not answered
    const fromElsewhere = reflectProbe(encodeSessionEnd(1, 1n, 1n), T2, 'kernel', T3, 'user', policy(guard, 2000, 1));
    expect(fromElsewhere).toEqual({ ok: false, ended: false, reason: 'unknown-session', refusal: null });
    expect(guard.sessionCount).toBe(1);
    const ended = reflectProbe(encodeSessionEnd(1, 1n, 1n), T2, 'kernel', T3, 'user', policy(guard, 1000, 1));
    expect(ended).toEqual({ ok: false, ended: true, session: 1 });
    expect(guard.sessionCount).toBe(0);
    expect(reflectProbe(encodeProbe(2, 0n, 1n, 64), T2, 'kernel', T3, 'user', policy(guard, 2000, 2)).ok).toBe(true);
  });

  it('with a key a session-end must be signed: unsigned ones are counted and change nothing', () => {
    const guard = new ProbeGuard(limits);
    const probe = encodeProbe(1, 0n, 1n, 64);
    signDatagram(probe, KEY);
    expect(reflectProbe(probe, T2, 'kernel', T3, 'user', policy(guard, 1000, 0, KEY)).ok).toBe(true);
    const unsigned = reflectProbe(encodeSessionEnd(1, 1n, 1n), T2, 'kernel', T3, 'user', policy(guard, 1000, 1, KEY));
    expect(unsigned).toEqual({ ok: false, ended: false, reason: 'unauthenticated', refusal: null });
    expect(guard.sessionCount).toBe(1);
    const signed = encodeSessionEnd(1, 1n, 1n);
    signDatagram(signed, KEY);
    expect(reflectProbe(signed, T2, 'kernel', T3, 'user', policy(guard, 1000, 1, KEY))).toEqual({ ok: false, ended: true, session: 1 });
  });

  it('refusals and session-ends sent to an agent are never answered', () => {
    const guard = new ProbeGuard(limits);
    const refusal = encodeRefusal(encodeProbe(1, 0n, 1n, 64), 'replay', 0);
    expect(reflectProbe(refusal, T2, 'kernel', T3, 'user', policy(guard, 1, 0))).toEqual({ ok: false, ended: false, reason: 'bad-type', refusal: null });
  });
});
