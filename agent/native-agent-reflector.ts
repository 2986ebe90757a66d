import { createNativeReflector } from './native-reflector-socket.js';
import type { NativeAddon, NativeSocketCommonOptions } from '../shared/native/native-addon.js';
import { decodeProbe } from '../shared/wire/probe-codec.js';
import { monoNs, wallMsOfMono } from '../shared/time/clock.js';
import type { AgentCore } from './agent-core.js';
import type { Reflector, ReflectorProtection } from './dgram-reflector.js';
import { openWithRtFallback } from '../shared/cli/rt-fallback.js';

/**
 * The native reflector: its thread answers valid probes itself with kernel stamps (T2 = RX
 * stamp, true T3 from the error queue) and hands every other datagram to JavaScript, where
 * the strict decoder names the rejection. With a key or limits the thread also refuses what
 * agent/probe-guard.ts would (same rules in shared/native/src/probe_guard.cc).
 */
export async function openNativeReflector(addon: NativeAddon, host: string, port: number, family: 4 | 6,
  stamps: 'kernel' | 'hardware', socket: NativeSocketCommonOptions, core: AgentCore,
  protection: ReflectorProtection): Promise<Reflector> {
  const { value: reflector, warnings } = await openWithRtFallback(socket, (native) => createNativeReflector(addon, {
    ...native, bindAddress: host, port, family, timestamps: stamps,
    ...(protection.key ? { authKey: protection.key } : {}),
    ...(protection.limits.maxRatePerS === null ? {} : { maxRatePerS: protection.limits.maxRatePerS }),
    maxSessions: protection.limits.maxSessions,
  }, (events) => {
    const nowMs = wallMsOfMono(monoNs());
    for (const event of events) {
      switch (event.kind) {
        case 'reflected': {
          const peer = family === 6 ? `[${event.address}]:${event.port}` : `${event.address}:${event.port}`;
          core.reflectedProbe({ session: event.session, seq: event.seq, peer, t1Ns: event.t1Ns, t2Ns: event.t2Ns, nowMs }, null);
          break;
        }
        case 'reflect-tx':
          core.replySent(event.session, event.seq, event.txNs);
          break;
        case 'rx': {
          const decoded = decodeProbe(event.data);
          // The thread answers every valid probe; what reaches here is malformed or a reply.
          core.rejected(decoded.ok ? 'bad-type' : decoded.reason);
          break;
        }
        case 'refused':
          core.rejected(event.reason, event.count);
          break;
        case 'error':
          core.sendFailed();
          break;
      }
    }
  }));
  return {
    address: host,
    port: reflector.localPort,
    stampSource: reflector.stampSource,
    warnings: [...warnings, ...reflector.warnings],
    close: () => reflector.close(),
  };
}
