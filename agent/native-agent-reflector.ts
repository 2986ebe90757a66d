import { createNativeReflector, type NativeReflector } from './native-reflector-socket.js';
import type { NativeAddon, NativeSocketCommonOptions, NativeSocketStats } from '../shared/native/native-addon.js';
import { applyReflectorEvents, PeerText } from './reflector-events.js';
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
  const peers = new PeerText(family);
  let opened: NativeReflector | null = null;
  const { value: reflector, warnings } = await openWithRtFallback(socket, (native) => createNativeReflector(addon, {
    ...native, ...options,
  }, (events) => {
    applyReflectorEvents(events, core, peers);
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
