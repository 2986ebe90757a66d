/**
 * Why a datagram was not accepted. Every datagram that is not a valid probe (agent) or a
 * valid reply to one of our probes (controller) is counted under exactly one reason.
 */
export const REJECT_REASONS = [
  'short', //             shorter than the 48-byte header
  'bad-magic', //         not an rtprobe datagram
  'bad-version', //       a version this build does not speak
  'bad-type', //          neither probe nor reply, or the wrong one of the two for this side
  'bad-flags', //         flag bits this version does not define
  'bad-length', //        length field differs from the datagram size, or out of 64..1472
  'bad-reserved', //      reserved field not zero
  'unknown-session', //   a reply for a session this controller did not start
  'wrong-source', //      a reply for our session from an address we did not probe
  'unknown-seq', //       a reply for a sequence number never sent in this session
  'expired', //           a reply after its probe was declared lost (--loss-after)
  'send-failed', //       the reply could not be sent (agent)
  'recv-failed', //       a read from the socket failed (agent): a datagram may be lost
  // --key-file and the agent's abuse limits
  'unauthenticated', //   no authentication tag, where --key-file requires one
  'bad-auth', //          the tag does not match (another key, or bytes changed on the way)
  'replay', //            agent with a key: this session's sequence number was already answered
  'rate-limited', //      agent: the source sent more than --max-rate probes a second
  'session-limit', //     agent: --max-sessions sessions are active; a new one is not answered
  // ICMP mode (controller/transport/icmp-codec.ts): a raw socket sees every ICMP message of the host
  'bad-ip-header', //     not an IPv4 ICMP datagram
  'not-echo-reply', //    another ICMP type (errors, others' requests)
  'own-request', //       our own echo request, seen on loopback
  'bad-checksum', //      IPv4 ICMP checksum wrong
  'not-ours', //          an echo reply to another program's ping
  'id-mismatch', //       identifier does not belong to the payload's session
  'seq-mismatch', //      ICMP sequence does not match the payload's
  'internal-error', //    a bug: the handler threw; the datagram is counted, the socket lives on
] as const;

export type RejectReason = (typeof REJECT_REASONS)[number];

/** Counts per reason; only reasons that occurred appear, so reports stay short. */
export type RejectCounts = Partial<Record<RejectReason, number>>;

export function countReject(counts: RejectCounts, reason: RejectReason, count = 1): void {
  counts[reason] = (counts[reason] ?? 0) + count;
}

export function totalRejects(counts: RejectCounts): number {
  let total = 0;
  for (const n of Object.values(counts)) total += n ?? 0;
  return total;
}

/** Adds counts received from elsewhere; unknown reasons and bad numbers are ignored. */
export function addRejects(counts: RejectCounts, other: Record<string, unknown>): void {
  for (const [reason, n] of Object.entries(other)) {
    if (!(REJECT_REASONS as readonly string[]).includes(reason) || !Number.isSafeInteger(n) || (n as number) < 0) continue;
    const key = reason as RejectReason;
    counts[key] = (counts[key] ?? 0) + (n as number);
  }
}
