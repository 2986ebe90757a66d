import { readFileSync } from 'node:fs';

/** The fields of every /proc/net/udp row (after the header) whose local port is `hexPort` (pure). */
function rowsOfPort(text: string, hexPort: string): string[][] {
  return text.split('\n').slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[1]?.endsWith(`:${hexPort}`) === true);
}

/**
 * A column summed over the UDP sockets (IPv4 and IPv6) bound to `port`: `pick` reads it from a
 * row's fields, NaN to skip the row. Null when there is no such socket or the files cannot be
 * read (not Linux).
 */
function sumOverSockets(port: number, pick: (fields: string[]) => number): number | null {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let total: number | null = null;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const fields of rowsOfPort(text, hexPort)) {
      const value = pick(fields);
      if (Number.isFinite(value)) total = (total ?? 0) + value;
    }
  }
  return total;
}

const dropsOf = (fields: string[]): number => Number(fields[fields.length - 1]);

/**
 * Datagrams the kernel dropped on one UDP socket (receive buffer full): the `drops` column of
 * /proc/net/udp (and udp6) for the socket bound to `port` on loopback. Read while the socket is
 * open. Null when there is no such socket or the file cannot be read (not Linux).
 */
export function socketDrops(port: number): number | null {
  return sumOverSockets(port, dropsOf);
}

/** The drops of every socket in a /proc/net/udp text whose local port is `hexPort` (pure). */
export function parseSocketDrops(text: string, hexPort: string): number[] {
  return rowsOfPort(text, hexPort).map(dropsOf).filter(Number.isFinite);
}

/**
 * Bytes waiting in the receive queues of the UDP sockets bound to `port` on loopback (the
 * rx_queue column of /proc/net/udp and udp6): 0 once their owner has read every datagram.
 * Null when there is no such socket or the file cannot be read (not Linux).
 */
export function socketQueuedBytes(port: number): number | null {
  return sumOverSockets(port, (fields) => Number.parseInt(fields[4]?.split(':')[1] ?? '', 16));
}
