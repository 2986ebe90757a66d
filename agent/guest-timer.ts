import type { HelloTimer } from '../shared/messages/agent-messages.js';
import { loadNativeAddon } from '../shared/native/native-addon.js';
import { openTimerLatency, type NativeTimerLatency } from '../shared/native/timer-latency-addon.js';
import type { LatencySummary } from '../shared/histogram/latency-histogram.js';
import { formatNs } from '../shared/report/format-ns.js';
import type { AgentTimerConfig } from './agent-config.js';

export interface GuestTimer {
  native: NativeTimerLatency;
  /** what hello says about it */
  hello: HelloTimer;
  /** real-time settings not applied (SCHED_FIFO, pinning, mlock), each naming what is missing */
  warnings: string[];
}

/** Starts the measuring thread (--timer-latency); an Error when the native addon is not there. */
export function startGuestTimer(config: AgentTimerConfig, mlock: boolean): GuestTimer | Error {
  const loaded = loadNativeAddon();
  if (!loaded.ok) return new Error(`--timer-latency needs the native addon: ${loaded.reason}`);
  const native = openTimerLatency(loaded.addon, {
    intervalNs: config.intervalNs, rtPriority: config.priority, cpu: config.cpu ?? -1, mlock,
  });
  if (native instanceof Error) return new Error(`--timer-latency: ${native.message}`);
  const warnings = native.warnings.map((w) => `timer thread: ${w}`);
  const pinned = config.cpu !== null && !warnings.some((w) => /pinned/.test(w));
  return {
    native, warnings,
    hello: {
      running: true, interval_ns: config.intervalNs,
      priority: native.fifoPriority > 0 ? native.fifoPriority : null, cpu: pinned ? config.cpu : null,
    },
  };
}

/** The agent's exit line about its timer over the whole run. */
export function formatTimerSummary(hello: HelloTimer, summary: LatencySummary, maxAtMs: number, overruns: number): string {
  const how = `every ${formatNs(hello.interval_ns)}, ${hello.priority === null ? 'SCHED_OTHER' : `SCHED_FIFO ${hello.priority}`}` +
    `${hello.cpu === null ? '' : ` on CPU ${hello.cpu}`}`;
  if (summary.count === 0) return `timer: ${how}: no wake-up recorded`;
  return `timer: ${summary.count} wake-ups ${how} (CLOCK_MONOTONIC): p50 ${formatNs(summary.p50)}, ` +
    `p99 ${formatNs(summary.p99)}, p99.9 ${formatNs(summary.p99_9)}, max ${formatNs(summary.max)} at ${new Date(maxAtMs).toISOString()}, ` +
    `${overruns} overruns`;
}
