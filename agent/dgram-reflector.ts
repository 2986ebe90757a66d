import dgram from 'node:dgram';
import { monoNs, realNs, wallMsOfMono } from '../shared/time/clock.js';
import type { AgentCore } from './agent-core.js';
import { ProbeGuard, type GuardLimits } from './probe-guard.js';
import { reflectProbe } from './reflect-probe.js';

/** --key-file and the abuse limits, as both reflectors take them. */
export interface ReflectorProtection {
  key: Buffer | null;
  limits: GuardLimits;
}

export interface Reflector {
  readonly address: string;
  readonly port: number;
  /** what stamped T2 and the turnaround */
  readonly stampSource: 'user' | 'kernel' | 'hardware';
  readonly warnings: string[];
  /** resolves once everything answered before the call has reached the AgentCore */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The user-space reflector on `node:dgram`. T2 is read when the datagram reaches JavaScript
 * and T3 just before the reply is handed to the socket, both from the realtime clock anchored
 * to CLOCK_MONOTONIC ('user' stamps): event-loop delay lands in the turnaround, visibly.
 */
export async function openDgramReflector(host: string, port: number, family: 4 | 6, core: AgentCore,
  protection: ReflectorProtection): Promise<Reflector> {
  const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
  const guard = new ProbeGuard(protection.limits);
  socket.on('message', (data, rinfo) => {
    const t2Ns = realNs();
    const arrivedMonoNs = monoNs(); // one read serves the rate limit and the recorder
    try {
      const policy = {
        key: protection.key, guard, sourceAddress: rinfo.address, sourcePort: rinfo.port, nowMs: Number(arrivedMonoNs) / 1e6,
      };
      const t3Ns = realNs();
      const result = reflectProbe(data, t2Ns, 'user', t3Ns, 'user', policy);
      if (!result.ok) {
        if (result.ended) {
          core.sessionEnded();
          return;
        }
        core.rejected(result.reason);
        // A refusal goes only to the probe's source and is never larger than the probe.
        if (result.refusal) socket.send(result.refusal, rinfo.port, rinfo.address);
        return;
      }
      // Only ever to the probe's source, and never larger than the probe.
      socket.send(result.reply, rinfo.port, rinfo.address, (error) => {
        if (error) core.failed('send-failed');
      });
      const peer = family === 6 ? `[${rinfo.address}]:${rinfo.port}` : `${rinfo.address}:${rinfo.port}`;
      core.reflectedProbe({
        session: result.probe.session, seq: result.probe.seq, peer, t1Ns: result.probe.t1Ns, t2Ns, nowMs: wallMsOfMono(arrivedMonoNs),
      }, t3Ns);
    } catch {
      core.rejected('internal-error');
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
  socket.on('error', () => core.failed('send-failed'));
  const bound = socket.address();
  return {
    address: bound.address,
    port: bound.port,
    stampSource: 'user',
    warnings: [],
    // each datagram reaches the core in its own 'message' callback: nothing waits
    flush: () => Promise.resolve(),
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
