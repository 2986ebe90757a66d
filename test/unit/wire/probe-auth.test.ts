import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkAuth, signDatagram } from '../../../shared/wire/probe-auth.js';
import { decodeProbe, encodeProbe, encodeReply } from '../../../shared/wire/probe-codec.js';
import { AUTH_TAG_BYTES, FLAG_AUTH, OFFSET_FLAGS, PROBE_MAX_BYTES, PROBE_MIN_BYTES } from '../../../shared/wire/probe-layout.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const OTHER_KEY = Buffer.from('fedcba9876543210fedcba9876543210');

function signedProbe(size = PROBE_MIN_BYTES): Buffer {
  const probe = encodeProbe(0x01020304, 77n, 1_700_000_000_000_000_000n, size);
  signDatagram(probe, KEY);
  return probe;
}

describe('probe authentication (--key-file)', () => {
  it('sets flag AUTH and writes HMAC-SHA256 over the bytes before the tag, truncated to 16 bytes', () => {
    const probe = signedProbe(100);
    expect(probe.readUInt16BE(OFFSET_FLAGS) & FLAG_AUTH).toBe(FLAG_AUTH);
    const expected = createHmac('sha256', KEY).update(probe.subarray(0, 100 - AUTH_TAG_BYTES)).digest().subarray(0, AUTH_TAG_BYTES);
    expect(probe.subarray(100 - AUTH_TAG_BYTES)).toEqual(expected);
    expect(decodeProbe(probe).ok).toBe(true);
    expect(checkAuth(probe, KEY)).toBeNull();
  });

  it('at every size 64..1472 a signed probe checks out, and its length never grows', () => {
    for (let size = PROBE_MIN_BYTES; size <= PROBE_MAX_BYTES; size += 37) {
      const probe = signedProbe(size);
      expect(probe.length).toBe(size);
      expect(checkAuth(probe, KEY)).toBeNull();
    }
  });

  it('a probe without the flag is unauthenticated; another key or any changed byte is bad-auth', () => {
    expect(checkAuth(encodeProbe(1, 1n, 1n, 64), KEY)).toBe('unauthenticated');
    expect(checkAuth(signedProbe(), OTHER_KEY)).toBe('bad-auth');
    const size = 80;
    for (let byte = 0; byte < size; byte++) {
      const probe = signedProbe(size);
      probe[byte] = (probe[byte] ?? 0) ^ 0x01;
      expect(checkAuth(probe, KEY), `byte ${byte}`).toBe('bad-auth');
    }
    const flagCleared = signedProbe(size);
    flagCleared.writeUInt16BE(flagCleared.readUInt16BE(OFFSET_FLAGS) & ~FLAG_AUTH, OFFSET_FLAGS);
    expect(checkAuth(flagCleared, KEY)).toBe('unauthenticated');
  });

  it('a reply built from a signed probe is unauthenticated until the agent signs it again', () => {
    const reply = encodeReply(signedProbe(), 5n, 6n, 'kernel', 'user');
    expect(checkAuth(reply, KEY)).toBe('unauthenticated');
    signDatagram(reply, KEY);
    expect(checkAuth(reply, KEY)).toBeNull();
    const decoded = decodeProbe(reply);
    expect(decoded.ok && decoded.packet.t2Source).toBe('kernel');
  });
});
