import dgram from 'node:dgram';
import { realNs } from '../shared/time/clock.js';
import { countReject } from '../shared/wire/reject-reason.js';
import type { AgentCounters } from './agent-counters.js';
import { reflectProbe } from './reflect-probe.js';

export interface Reflector {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The user-space reflector on `node:dgram`. T2 is read when the datagram reaches JavaScript
 * and T3 just before the reply is handed to the socket, both from the realtime clock anchored
 * to CLOCK_MONOTONIC ('user' stamps): event-loop delay lands in the turnaround, visibly.
 */
export async function openDgramReflector(host: string, port: number, family: 4 | 6,
  counters: AgentCounters): Promise<Reflector> {
  const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
  socket.on('message', (data, rinfo) => {
    const t2Ns = realNs();
    counters.received++;
    try {
      const t3Ns = realNs();
      const result = reflectProbe(data, t2Ns, 'user', t3Ns, 'user');
      if (!result.ok) {
        countReject(counters.rejects, result.reason);
        return;
      }
      // Only ever to the probe's source, and never larger than the probe.
      socket.send(result.reply, rinfo.port, rinfo.address, (error) => {
        if (error) countReject(counters.rejects, 'send-failed');
      });
      counters.reflected++;
      counters.turnaround.record(Number(t3Ns - t2Ns));
    } catch {
      countReject(counters.rejects, 'internal-error');
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  // After binding, socket errors (e.g. ICMP unreachable for a reply) are counted, not fatal.
  socket.on('error', () => countReject(counters.rejects, 'send-failed'));
  const bound = socket.address();
  return {
    address: bound.address,
    port: bound.port,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
