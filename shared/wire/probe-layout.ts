/**
 * rtprobe wire format, version 1. All integers big-endian (network order).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                   magic 0x52545042 ("RTPB")                    |  0
 * +---------------+---------------+-------------------------------+
 * |   version 1   | type 1..4     |             flags             |  4
 * +---------------+---------------+-------------------------------+
 * |                          session id                           |  8
 * +-------------------------------+-------------------------------+
 * |     length (whole datagram)   | reserved (0) / refusal reason | 12
 * +-------------------------------+-------------------------------+
 * |                   sequence number (64 bit)                    | 16
 * +---------------------------------------------------------------+
 * |            T1: controller send, CLOCK_REALTIME ns             | 24
 * +---------------------------------------------------------------+
 * |              T2: agent receive, ns (see flags)                | 32
 * +---------------------------------------------------------------+
 * |                T3: agent send, ns (see flags)                 | 40
 * +---------------------------------------------------------------+
 * |              padding (zeros) up to `length` bytes             | 48
 * |   with flag AUTH: the last 16 bytes are the authentication tag  |
 *
 * flags bits 0-1: source of T2, bits 2-3: source of T3 (0 none, 1 user, 2 kernel, 3 hardware),
 * bit 4: AUTH (--key-file): the datagram ends in HMAC-SHA256(key, every byte before the tag)
 * truncated to 16 bytes; the agent re-signs its reply after writing T2/T3.
 * T2 and T3 are stamped by the same agent; their difference is the guest turnaround.
 *
 * Types: 1 probe (controller to agent), 2 reply (agent to controller, same length as its probe),
 * 3 refusal (agent to controller: the probe is not answered, and why), 4 session-end
 * (controller to agent: the session is over, its place is free).
 *
 * A refusal is the refused probe's first 64 bytes with type 3, length 64 (never larger than
 * the probe, which is at least 64), flag AUTH and a fresh tag when the agent has a key, stamp
 * flags 0, and: reserved = the reason code (REFUSAL_CODES), T2's field = a detail (session-limit:
 * the number of places that are busy; rate-limited: the agent's --max-rate in probes a second;
 * otherwise 0), T3's field = the scope of a session-limit (0: all the agent's --max-sessions
 * places; 1: the share one source address may hold). Session, sequence number and T1 are the
 * probe's, so the controller knows which probe was refused.
 *
 * A session-end is 64 bytes: type 4, the session id, the number of probes sent in the sequence
 * field, T1 = when it was sent, everything else zero (signed when the controller has a key). It
 * is never answered.
 */
export const PROBE_MAGIC = 0x52545042;
export const PROBE_VERSION = 1;
export const PROBE_TYPE_PROBE = 1;
export const PROBE_TYPE_REPLY = 2;
export const PROBE_TYPE_REFUSAL = 3;
export const PROBE_TYPE_SESSION_END = 4;
/** refusals and session-ends are exactly this long */
export const CONTROL_BYTES = 64;

export const OFFSET_MAGIC = 0;
export const OFFSET_VERSION = 4;
export const OFFSET_TYPE = 5;
export const OFFSET_FLAGS = 6;
export const OFFSET_SESSION = 8;
export const OFFSET_LENGTH = 12;
export const OFFSET_RESERVED = 14;
export const OFFSET_SEQ = 16;
export const OFFSET_T1 = 24;
export const OFFSET_T2 = 32;
export const OFFSET_T3 = 40;
/** refusal: where the detail and the scope go (T2's and T3's fields) */
export const OFFSET_REFUSAL_DETAIL = OFFSET_T2;
export const OFFSET_REFUSAL_SCOPE = OFFSET_T3;
export const PROBE_HEADER_BYTES = 48;

/** --size bounds: 64 bytes up to what fits one unfragmented Ethernet UDP/IPv4 datagram. */
export const PROBE_MIN_BYTES = 64;
export const PROBE_MAX_BYTES = 1472;

export const STAMP_NONE = 0;
export const STAMP_USER = 1;
export const STAMP_KERNEL = 2;
export const STAMP_HARDWARE = 3;
export const FLAGS_T2_SHIFT = 0;
export const FLAGS_T3_SHIFT = 2;
export const FLAGS_STAMP_MASK = 0b11;
export const FLAG_AUTH = 0b1_0000;
/** HMAC-SHA256 truncated to 128 bits (as RFC 4868 does for IPsec's HMAC-SHA-256-128) */
export const AUTH_TAG_BYTES = 16;
/** flag bits a version-1 decoder knows; others must be zero */
export const FLAGS_KNOWN_MASK = 0b1_1111;

/**
 * Why the agent refused a probe, as a refusal's reason code (index + 1). Same numbers in
 * shared/native/src/probe_socket.cc (RefusalCode).
 */
export const REFUSAL_REASONS = ['session-limit', 'rate-limited', 'replay', 'unauthenticated', 'bad-auth'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];
/** session-limit scopes */
export const SCOPE_AGENT = 0;
export const SCOPE_SOURCE_ADDRESS = 1;
