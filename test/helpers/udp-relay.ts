import dgram from 'node:dgram';

export interface RelayOptions {
  /** where probes go (an agent on loopback) */
  upstreamPort: number;
  /** drop every Nth datagram from the client towards upstream (0 = none) */
  dropForwardEvery?: number;
  /** drop every Nth datagram from upstream back to the client (0 = none) */
  dropReturnEvery?: number;
  /** hold every datagram towards upstream this long (a slow path: probes stay in flight) */
  delayForwardMs?: number;
}

export interface UdpRelay {
  port: number;
  forwarded: number;
  returned: number;
  droppedForward: number;
  droppedReturn: number;
  /** the longest a held datagram really waited, ms (its timer fires late when this process is busy) */
  longestHoldMs: number;
  close(): Promise<void>;
}

/**
 * A user-space UDP relay on 127.0.0.1 between one client and an upstream port, dropping a
 * known share of one direction: the test knows exactly which path lost what.
 */
export async function startUdpRelay(options: RelayOptions): Promise<UdpRelay> {
  const front = dgram.createSocket('udp4');
  const back = dgram.createSocket('udp4');
  let client: { address: string; port: number } | null = null;
  let closed = false;
  let fromClient = 0;
  let fromUpstream = 0;
  const relay: UdpRelay = {
    port: 0, forwarded: 0, returned: 0, droppedForward: 0, droppedReturn: 0, longestHoldMs: 0,
    close: async () => {
      closed = true;
      await Promise.all([front, back].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
  front.on('message', (data, rinfo) => {
    client = { address: rinfo.address, port: rinfo.port };
    fromClient++;
    if (options.dropForwardEvery && fromClient % options.dropForwardEvery === 0) {
      relay.droppedForward++;
      return;
    }
    relay.forwarded++;
    const receivedMs = performance.now();
    const forward = (): void => {
      if (closed) return;
      relay.longestHoldMs = Math.max(relay.longestHoldMs, performance.now() - receivedMs);
      back.send(data, options.upstreamPort, '127.0.0.1');
    };
    if (options.delayForwardMs) setTimeout(forward, options.delayForwardMs);
    else forward();
  });
  back.on('message', (data) => {
    fromUpstream++;
    if (!client) return;
    if (options.dropReturnEvery && fromUpstream % options.dropReturnEvery === 0) {
      relay.droppedReturn++;
      return;
    }
    relay.returned++;
    front.send(data, client.port, client.address);
  });
  await Promise.all([front, back].map((s) => new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()))));
  relay.port = front.address().port;
  return relay;
}
