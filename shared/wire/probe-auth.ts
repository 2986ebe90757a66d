import { createHmac, timingSafeEqual } from 'node:crypto';
import { AUTH_TAG_BYTES, FLAG_AUTH, OFFSET_FLAGS } from './probe-layout.js';

/** Why an authenticated side refuses a well-formed datagram. */
export type AuthFailure = 'unauthenticated' | 'bad-auth';

function tagOf(datagram: Uint8Array, key: Buffer): Buffer {
  const signedBytes = datagram.subarray(0, datagram.length - AUTH_TAG_BYTES);
  return createHmac('sha256', key).update(signedBytes).digest().subarray(0, AUTH_TAG_BYTES);
}

/**
 * Signs a probe or reply in place: sets flag AUTH, then writes the tag over the datagram's
 * last 16 bytes (padding, since every datagram is at least 64 bytes). Call it last: any byte
 * written afterwards breaks the tag.
 */
export function signDatagram(datagram: Buffer, key: Buffer): void {
  datagram.writeUInt16BE(datagram.readUInt16BE(OFFSET_FLAGS) | FLAG_AUTH, OFFSET_FLAGS);
  tagOf(datagram, key).copy(datagram, datagram.length - AUTH_TAG_BYTES);
}

/** Checks a decoded (well-formed) datagram against the key; null when it is genuine. */
export function checkAuth(datagram: Uint8Array, key: Buffer): AuthFailure | null {
  const flags = (datagram[OFFSET_FLAGS] ?? 0) * 256 + (datagram[OFFSET_FLAGS + 1] ?? 0);
  if ((flags & FLAG_AUTH) === 0) return 'unauthenticated';
  const tag = datagram.subarray(datagram.length - AUTH_TAG_BYTES);
  return timingSafeEqual(tag, tagOf(datagram, key)) ? null : 'bad-auth';
}
