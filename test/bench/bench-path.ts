/**
 * A path probes travel: where servers listen, and which namespace clients and servers run
 * in. On loopback both run here and ports are picked free; in our own namespaces any port
 * is free, so fixed ones are used.
 */
import { createSocket } from 'node:dgram';
import type { VethPair } from './netns.js';

export interface BenchPath {
  name: 'loopback' | 'veth' | 'qemu';
  /** address servers bind to and clients send to */
  serverHost: string;
  clientNetns?: string;
  serverNetns?: string;
  /** a UDP port nothing listens on (servers started after this call take it) */
  port(preferred: number): Promise<number>;
}

async function freeLoopbackUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve());
  });
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export function loopbackPath(): BenchPath {
  return { name: 'loopback', serverHost: '127.0.0.1', port: () => freeLoopbackUdpPort() };
}

/** A QEMU guest of `rtprobe lab up --qemu`, behind its TAP in this namespace (ICMP only here). */
export function qemuPath(guestAddress: string): BenchPath {
  return { name: 'qemu', serverHost: guestAddress, port: (preferred) => Promise.resolve(preferred) };
}

export function vethPath(pair: VethPair): BenchPath {
  return {
    name: 'veth',
    serverHost: pair.guestAddr,
    clientNetns: pair.ctl,
    serverNetns: pair.guest,
    port: (preferred) => Promise.resolve(preferred),
  };
}
