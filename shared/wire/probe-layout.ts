/**
 * rtprobe wire format, version 1. All integers big-endian (network order).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                   magic 0x52545042 ("RTPB")                    |  0
 * +---------------+---------------+-------------------------------+
 * |   version 1   | type 1|2      |             flags             |  4
 * +---------------+---------------+-------------------------------+
 * |                          session id                           |  8
 * +-------------------------------+-------------------------------+
 * |     length (whole datagram)   |        reserved (zero)        | 12
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
 */
export const PROBE_MAGIC = 0x52545042;
export const PROBE_VERSION = 1;
export const PROBE_TYPE_PROBE = 1;
export const PROBE_TYPE_REPLY = 2;

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
