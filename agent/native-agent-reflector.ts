import { createNativeReflector, type NativeReflector, type ReflectorEvent } from './native-reflector-socket.js';
import type { NativeAddon, NativeSocketCommonOptions, NativeSocketStats } from '../shared/native/native-addon.js';
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
  const options = {
    bindAddress: host, port, family, timestamps: stamps,
    ...(protection.key ? { authKey: protection.key } : {}),
    ...(protection.limits.maxRatePerS === null ? {} : { maxRatePerS: protection.limits.maxRatePerS }),
    maxSessions: protection.limits.maxSessions,
    ...(protection.limits.maxSessionsPerSource === undefined ? {} : { maxSessionsPerSource: protection.limits.maxSessionsPerSource }),
  };
  // Failures are counted from the thread's own exact counters: its error events only carry
  // messages, at most 10 a second.
  const counted = { sendErrors: 0, recvErrors: 0 };
  core.socketCounted = true;
  const countFailures = (stats: NativeSocketStats): void => {
    if (stats.sendErrors > counted.sendErrors) core.failed('send-failed', stats.sendErrors - counted.sendErrors);
    if (stats.recvErrors > counted.recvErrors) core.failed('recv-failed', stats.recvErrors - counted.recvErrors);
    counted.sendErrors = stats.sendErrors;
    counted.recvErrors = stats.recvErrors;
    core.receiveBufferDrops = Math.max(core.receiveBufferDrops, stats.receiveBufferDrops);
    core.backlogPausedNs = Math.max(core.backlogPausedNs, stats.backlogPausedNs);
  };
  // A controller's probes all come from one address and port: its text is made once, not per probe.
  let lastPeer = { address: '', port: -1, text: '' };
  const peerOf = (address: string, port: number): string => {
    if (address !== lastPeer.address || port !== lastPeer.port) {
      lastPeer = { address, port, text: family === 6 ? `[${address}]:${port}` : `${address}:${port}` };
    }
    return lastPeer.text;
  };
  let opened: NativeReflector | null = null;
  const { value: reflector, warnings } = await openWithRtFallback(socket, (native) => createNativeReflector(addon, {
    ...native, ...options,
  }, (events) => {
    const nowMs = wallMsOfMono(monoNs());
    // (an index, not for-of: see RunState.apply)
    for (let i = 0; i < events.length; i++) {
      const event = events[i] as ReflectorEvent;
      switch (event.kind) {
        case 'reflected': {
          const peer = peerOf(event.address, event.port);
          // when its thread read it, not when the batch came: the interval it belongs to
          const readMs = wallMsOfMono(event.rxMonoNs);
          core.reflectedProbe({ session: event.session, seq: event.seq, peer, t1Ns: event.t1Ns, t2Ns: event.t2Ns, nowMs: readMs }, null);
          if (event.txNs !== null) core.replySent(event.session, event.txNs, event.t2Ns);
          break;
        }
        case 'reflect-tx':
          core.replySent(event.session, event.txNs, event.t2Ns);
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
        case 'session-ended':
          core.sessionEnded(event.count);
          break;
        case 'error':
          break; // counted below, exactly; the message went to the warnings
      }
    }
    if (opened) countFailures(opened.stats());
  }));
  opened = reflector;
  return {
    address: host,
    port: reflector.localPort,
    stampSource: reflector.stampSource,
    warnings: [...warnings, ...reflector.warnings],
    flush: () => reflector.flush(),
    close: async () => {
      await reflector.close();
      countFailures(reflector.stats());
    },
  };
}
