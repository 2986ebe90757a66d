import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** One UDP socket as the kernel lists it (/proc/net/udp, udp6). */
export interface KernelUdpSocket {
  port: number;
  /** bytes waiting in its receive queue, not read yet */
  queuedBytes: number;
  /** datagrams the kernel dropped at this socket (its receive buffer full, or a filter) */
  drops: number;
}

/** The UDP sockets process `pid` holds, with the kernel's own drop counts: the truth to check ours against. */
export function udpSocketsOf(pid: number): KernelUdpSocket[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1]) inodes.add(match[1]);
    } catch { /* closed meanwhile */ }
  }
  const sockets: KernelUdpSocket[] = [];
  for (const table of ['udp', 'udp6']) {
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 13 || !inodes.has(fields[9] ?? '')) continue;
      sockets.push({ port: parseInt(fields[1]?.split(':')[1] ?? '', 16), queuedBytes: parseInt(fields[4]?.split(':')[1] ?? '', 16),
        drops: Number(fields[12]) });
    }
  }
  return sockets;
}
