/**
 * What the two ICMP echo transports (native kernel-stamped: controller/transport/native-icmp-transport.ts,
 * user-space raw-socket: controller/transport/raw-icmp-transport.ts) have in common beyond ProbeTransport:
 * their counters, and the one error both give when raw sockets are not allowed.
 *
 * Both deliver RxEvents whose `data` is the ICMP message (IPv4 header stripped), whose
 * `address` is the numeric source address and whose `port` is 0. Only echo replies (type 0,
 * ICMPv6 129) and messages too short to have a type reach the handler; everything else a raw
 * socket sees (our own requests on loopback, errors, neighbour discovery) is counted as
 * `filtered`.
 */
import type { ProbeTransport } from '../../shared/transport/probe-transport.js';

export interface IcmpTransportStats {
  /** datagrams read from the raw socket */
  received: number;
  /** read but not handed to the handler: not an echo reply (own requests on loopback among them) */
  filtered: number;
  /** sends the kernel refused */
  sendErrors: number;
}

export interface IcmpTransport extends ProbeTransport {
  stats(): IcmpTransportStats;
}

/** How to get the privilege: the text of NeedsCapNetRawError. */
export const CAP_NET_RAW_HELP =
  'ICMP mode needs CAP_NET_RAW: run as root or `setcap cap_net_raw+ep $(readlink -f $(which node))`; ' +
  '`--mode udp` needs no privilege';

/** Raw ICMP sockets are not allowed to this process (EPERM/EACCES from socket()). */
export class NeedsCapNetRawError extends Error {
  readonly code = 'RTPROBE_NEEDS_CAP_NET_RAW';

  constructor(detail: string) {
    super(`${CAP_NET_RAW_HELP} (${detail})`);
    this.name = 'NeedsCapNetRawError';
  }
}

/** Whether a socket() failure message means "not permitted" (Linux strerror texts or names). */
export function isPermissionDenied(message: string): boolean {
  return /\bEPERM\b|\bEACCES\b|Operation not permitted|Permission denied/.test(message);
}
