import type { NativeSocketCommonOptions } from '../native/native-addon.js';
import { cpus } from 'node:os';
import { parseIntegerIn } from './parse-values.js';
import { CPU_DMA_LATENCY_MAX_US } from './cpu-dma-latency.js';

/** Socket and real-time flags shared by `run` and `agent`; they need the native addon. */
export const SOCKET_FLAG_SPEC = {
  dscp: { type: 'string' },
  priority: { type: 'string' },
  'busy-poll': { type: 'string' },
  interface: { type: 'string' },
  'rt-priority': { type: 'string' },
  cpu: { type: 'string' },
  mlock: { type: 'boolean' },
  'cpu-dma-latency': { type: 'string' },
  'require-rt': { type: 'boolean' },
} as const;

export interface SocketFlags {
  dscp?: string;
  priority?: string;
  'busy-poll'?: string;
  interface?: string;
  'rt-priority'?: string;
  cpu?: string;
  mlock?: boolean;
  'cpu-dma-latency'?: string;
  'require-rt'?: boolean;
}

export interface SocketOptions {
  native: NativeSocketCommonOptions;
  /** --cpu-dma-latency: held by the process itself (cpu-dma-latency.ts), not by the socket's thread */
  cpuDmaLatencyUs?: number;
  /** turn privilege warnings (SCHED_FIFO, mlock) into exit 2 */
  requireRt: boolean;
  /** the flags given, for "needs the native addon" messages */
  given: string[];
}

export const SOCKET_FLAGS_HELP = `Socket and real-time options (need the native addon, i.e. --timestamps auto|kernel|hardware)
  --dscp N                     DSCP 0..63 on every packet (IP_TOS / IPV6_TCLASS)
  --priority N                 SO_PRIORITY (set after the TOS); above 6 needs CAP_NET_ADMIN
  --busy-poll US               SO_BUSY_POLL in µs; above net.core.busy_read needs CAP_NET_ADMIN
  --interface IF               SO_BINDTODEVICE; required for --timestamps hardware
  --rt-priority N              SCHED_FIFO 1..99 for the socket thread (CAP_SYS_NICE or RLIMIT_RTPRIO)
  --cpu N                      pin the socket thread to CPU N (a CPU this machine lacks is
                               exit 2; one outside the allowed set, a warning)
  --mlock                      lock the socket thread's memory (CAP_IPC_LOCK or RLIMIT_MEMLOCK)
  --cpu-dma-latency US         hold /dev/cpu_dma_latency at US µs while running (root; any
                               sender), as cyclictest does: no CPU idles deeper. 0: idle CPUs
                               poll, so a KVM guest's threads wake without the host, and its
                               idle vCPUs burn the host's CPU (README: --cpu-dma-latency)
  --require-rt                 exit 2 instead of a warning when an RT option (--rt-priority,
                               --cpu, --mlock, --cpu-dma-latency, --priority, --busy-poll)
                               cannot be applied
`;

export function parseSocketFlags(flags: SocketFlags): SocketOptions | Error {
  const native: NativeSocketCommonOptions = {};
  const given: string[] = [];
  const integer = (flag: keyof SocketFlags, min: number, max: number): number | Error | undefined => {
    const text = flags[flag];
    if (typeof text !== 'string') return undefined;
    given.push(`--${flag}`);
    return parseIntegerIn(`--${flag}`, text, min, max);
  };
  const dscp = integer('dscp', 0, 63);
  const priority = integer('priority', 0, 0x7fff_ffff);
  const busyPoll = integer('busy-poll', 0, 0x7fff_ffff);
  const rtPriority = integer('rt-priority', 1, 99);
  const cpu = integer('cpu', 0, 4095);
  const dmaText = flags['cpu-dma-latency'];
  // (not in `given`: the process holds it, with or without the native addon)
  const cpuDmaLatency = dmaText === undefined ? undefined : parseIntegerIn('--cpu-dma-latency', dmaText, 0, CPU_DMA_LATENCY_MAX_US);
  for (const value of [dscp, priority, busyPoll, rtPriority, cpu, cpuDmaLatency]) if (value instanceof Error) return value;
  // A CPU the machine does not have is a bad value (exit 2); one outside this process's
  // allowed set (taskset, cpuset) stays a warning from the socket's thread, like privileges.
  const cpuCount = cpus().length;
  if (typeof cpu === 'number' && cpuCount > 0 && cpu >= cpuCount) {
    return new Error(`--cpu: CPU ${cpu} does not exist (this machine has CPUs 0..${cpuCount - 1})`);
  }
  if (typeof dscp === 'number') native.dscp = dscp;
  if (typeof priority === 'number') native.priority = priority;
  if (typeof busyPoll === 'number') native.busyPollUs = busyPoll;
  if (typeof rtPriority === 'number') native.rtPriority = rtPriority;
  if (typeof cpu === 'number') native.cpu = cpu;
  if (flags.interface !== undefined) {
    if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(flags.interface)) {
      return new Error(`--interface: '${flags.interface}' is not an interface name (1-15 characters)`);
    }
    native.interface = flags.interface;
    given.push('--interface');
  }
  if (flags.mlock) {
    native.mlock = true;
    given.push('--mlock');
  }
  return { native, ...(typeof cpuDmaLatency === 'number' ? { cpuDmaLatencyUs: cpuDmaLatency } : {}), requireRt: flags['require-rt'] ?? false, given };
}

/** Warnings that mean a real-time request was not honoured (the native thread's; cpu_dma_latency's match CPU). */
export function isPrivilegeWarning(warning: string): boolean {
  return /SCHED_FIFO|mlock|CAP_|RLIMIT|CPU|affinity/i.test(warning);
}
