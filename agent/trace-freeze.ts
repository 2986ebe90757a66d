import { accessSync, constants, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BreachMessage } from '../shared/messages/agent-messages.js';

export const TRACEFS_CANDIDATES = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

/**
 * cyclictest -b for the network path: on the first RTT breach a controller reports, write a
 * marker into ftrace's trace_marker and stop tracing, so the kernel trace around the worst
 * case is kept for reading (`cat DIR/trace`). Later breaches are counted, not acted on.
 */
export class TraceFreeze {
  frozen = false;
  breaches = 0;

  private constructor(readonly dir: string) {}

  /** Finds a writable tracefs; an Error says what is missing and how to get it. */
  static open(dir: string | null): TraceFreeze | Error {
    const dirs = dir === null ? TRACEFS_CANDIDATES : [dir];
    const mounted = dirs.find((d) => existsSync(join(d, 'trace_marker')) && existsSync(join(d, 'tracing_on')));
    if (!mounted) {
      return new Error(`--trace-on-breach: tracefs is not mounted at ${dirs.join(' or ')} (mount -t tracefs nodev /sys/kernel/tracing)`);
    }
    try {
      accessSync(join(mounted, 'trace_marker'), constants.W_OK);
      accessSync(join(mounted, 'tracing_on'), constants.W_OK);
    } catch {
      return new Error(`--trace-on-breach: ${mounted} is not writable (run the agent as root)`);
    }
    return new TraceFreeze(mounted);
  }

  /** Marks and stops the trace on the first breach; returns whether this call froze it. */
  freeze(breach: BreachMessage): boolean {
    this.breaches++;
    if (this.frozen) return false;
    this.frozen = true;
    writeFileSync(join(this.dir, 'trace_marker'), `rtprobe breach session=${breach.session} seq=${breach.seq} rtt_ns=${breach.rtt_ns}\n`);
    writeFileSync(join(this.dir, 'tracing_on'), '0\n');
    return true;
  }
}
