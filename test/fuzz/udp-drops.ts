import { readFileSync } from 'node:fs';

/**
 * Datagrams the kernel dropped on one UDP socket (receive buffer full): the `drops` column of
 * /proc/net/udp (and udp6) for the socket bound to `port` on loopback. Read while the socket is
 * open. Null when there is no such socket or the file cannot be read (not Linux).
 */
export function socketDrops(port: number): number | null {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let total: number | null = null;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const drops of parseSocketDrops(text, hexPort)) total = (total ?? 0) + drops;
  }
  return total;
}

/** The drops of every socket in a /proc/net/udp text whose local port is `hexPort` (pure). */
export function parseSocketDrops(text: string, hexPort: string): number[] {
  const found: number[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1]?.endsWith(`:${hexPort}`) !== true) continue;
    const drops = Number(fields[fields.length - 1]);
    if (Number.isFinite(drops)) found.push(drops);
  }
  return found;
}

/**
 * Bytes waiting in the receive queues of the UDP sockets bound to `port` on loopback (the
 * rx_queue column of /proc/net/udp and udp6): 0 once their owner has read every datagram.
 * Null when there is no such socket or the file cannot be read (not Linux).
 */
export function socketQueuedBytes(port: number): number | null {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let total: number | null = null;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[1]?.endsWith(`:${hexPort}`) !== true) continue;
      const queued = Number.parseInt(fields[4]?.split(':')[1] ?? '', 16);
      if (Number.isFinite(queued)) total = (total ?? 0) + queued;
    }
  }
  return total;
}
