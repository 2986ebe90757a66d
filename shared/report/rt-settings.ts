import type { NativeSocketCommonOptions } from '../native/native-addon.js';

/** One real-time or socket option: what was asked, and whether the kernel took it. */
export interface RtSetting {
  requested: number | boolean | string;
  applied: boolean;
  /** why it was not applied (the warning as printed); null when applied */
  reason: string | null;
}

/** The RT settings as applied (not as asked): a report's answer to "was SCHED_FIFO really on?". */
export interface RtSettings {
  /** who sends (or reflects) and stamps: the native addon's thread, or node:dgram in user space */
  sender: 'native' | 'user';
  /** each option given; an option not asked for is absent */
  rt_priority?: RtSetting;
  cpu?: RtSetting;
  mlock?: RtSetting;
  spin_us?: RtSetting;
  dscp?: RtSetting;
  priority?: RtSetting;
  busy_poll_us?: RtSetting;
  interface?: RtSetting;
  /** --cpu-dma-latency: held by the process, whoever sends */
  cpu_dma_latency_us?: RtSetting;
  require_rt: boolean;
  /** warnings that belong to no option above (timer slack, hardware RX filter) */
  other_warnings: string[];
}

type OptionName = 'rt_priority' | 'cpu' | 'mlock' | 'spin_us' | 'dscp' | 'priority' | 'busy_poll_us' | 'interface' | 'cpu_dma_latency_us';

/** What was asked: the socket's options, and what the process holds itself. */
export type RequestedRt = NativeSocketCommonOptions & { cpuDmaLatencyUs?: number };

/** Which warning (from the native thread, or from the fallback in rt-fallback.ts) belongs to which option. */
const WARNING_OF: [OptionName, RegExp][] = [
  ['rt_priority', /SCHED_FIFO/],
  ['cpu', /^CPU \d|not pinned/],
  ['mlock', /\bmlock\b/],
  ['priority', /SO_PRIORITY/],
  ['busy_poll_us', /SO_BUSY_POLL/],
  ['interface', /^interface '/],
  ['cpu_dma_latency_us', /^cpu_dma_latency/],
];

const REQUESTED: [OptionName, (o: RequestedRt) => number | boolean | string | undefined][] = [
  ['rt_priority', (o) => o.rtPriority],
  ['cpu', (o) => o.cpu],
  ['mlock', (o) => (o.mlock ? true : undefined)],
  // (the default without --cpu, sleeping, is no option asked for: it is in the sender's line)
  ['spin_us', (o) => (o.spinAuto === true ? 'auto' : o.spinCapped === true && o.spinUs === 0 ? undefined : o.spinUs)],
  ['dscp', (o) => o.dscp],
  ['priority', (o) => o.priority],
  ['busy_poll_us', (o) => o.busyPollUs],
  ['interface', (o) => o.interface],
  ['cpu_dma_latency_us', (o) => o.cpuDmaLatencyUs],
];

/** The socket's options with what the process holds itself (SocketOptions in socket-flags.ts). */
export function requestedRt(socket: { native: NativeSocketCommonOptions; cpuDmaLatencyUs?: number }): RequestedRt {
  return socket.cpuDmaLatencyUs === undefined ? socket.native : { ...socket.native, cpuDmaLatencyUs: socket.cpuDmaLatencyUs };
}

/** Options the process applies itself, not the socket's thread: they hold with the user-space sender too. */
const PROCESS_WIDE: readonly OptionName[] = ['cpu_dma_latency_us'];

/**
 * Pairs each requested option with the warnings the socket's opening produced (pure). With
 * the user-space sender none of them applies (the CLI refuses them, except the default spin).
 */
export function appliedRtSettings(options: RequestedRt, warnings: readonly string[],
  sender: 'native' | 'user', requireRt: boolean): RtSettings {
  const settings: RtSettings = { sender, require_rt: requireRt, other_warnings: [] };
  const claimed = new Set<string>();
  for (const [name, read] of REQUESTED) {
    const requested = read(options);
    if (requested === undefined) continue;
    const pattern = WARNING_OF.find(([option]) => option === name)?.[1];
    const failures = pattern ? warnings.filter((w) => pattern.test(w)) : [];
    for (const w of failures) claimed.add(w);
    const reason = sender === 'user' && !PROCESS_WIDE.includes(name) ? 'not used: the user-space sender (no native addon)'
      : failures.length > 0 ? failures.join('; ') : null;
    settings[name] = { requested, applied: reason === null, reason };
  }
  settings.other_warnings = [...new Set(warnings.filter((w) => !claimed.has(w)))];
  return settings;
}

/** "SCHED_FIFO 80 (applied), CPU 3 (FAILED: …)" for text headers. */
export function formatRtSettings(settings: RtSettings): string {
  const labels: Record<OptionName, string> = {
    rt_priority: 'SCHED_FIFO', cpu: 'CPU', mlock: 'mlock', spin_us: 'spin µs', dscp: 'DSCP', priority: 'SO_PRIORITY',
    busy_poll_us: 'busy poll µs', interface: 'interface', cpu_dma_latency_us: 'cpu_dma_latency µs',
  };
  const parts = (Object.keys(labels) as OptionName[]).flatMap((name) => {
    const s = settings[name];
    if (!s) return [];
    const value = s.requested === true ? '' : ` ${String(s.requested)}`;
    const option = name === 'spin_us' && s.requested === 'auto' ? 'spin auto' : `${labels[name]}${value}`;
    return [`${option} ${s.applied ? 'applied' : `NOT APPLIED (${s.reason})`}`];
  });
  return `${settings.sender === 'native' ? 'native socket thread' : 'user-space socket (node:dgram)'}${parts.length > 0 ? `: ${parts.join(', ')}` : ', no RT options'}` +
    `${settings.require_rt ? ' (--require-rt)' : ''}`;
}
