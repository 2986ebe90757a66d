/**
 * Loads the native addon (shared/native/build/Release/rtprobe_native.node, built by
 * build-addon.js during `npm ci`) and describes what it exports. The addon owns one UDP
 * socket (or raw ICMP socket) per ProbeSocket, served by a dedicated native thread that reads
 * kernel/NIC timestamps (SO_TIMESTAMPING); see native-transport.ts, native-reflector.ts and
 * native-icmp-transport.ts.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { IS_BUNDLE } from '../cli/build-info.js';
import type { ProbeRecordsEvent, RxEvent, ScheduleSpec, StampSource } from '../transport/probe-transport.js';
import { decodeEventRecords } from './event-records.js';

export type TimestampMode = 'kernel' | 'hardware';

/** Socket and thread options shared by the controller transport and the reflector. */
export interface NativeSocketCommonOptions {
  /** 0..63, written as IP_TOS = dscp << 2 (IPv4) or IPV6_TCLASS (IPv6) */
  dscp?: number;
  /** SO_PRIORITY (set after the TOS, which would overwrite it); above 6 needs CAP_NET_ADMIN */
  priority?: number;
  /** SO_BUSY_POLL in µs */
  busyPollUs?: number;
  /** controller: busy-wait the last µs before each deadline instead of sleeping (0 = off) */
  spinUs?: number;
  /**
   * controller: spin at most a tenth of the time between two slots (default true): a spin
   * the user did not ask for must not turn a many-target schedule into a busy loop
   */
  spinCapped?: boolean;
  /**
   * controller: spin only as long as the slots' wake-ups need, up to spinUs (capped as above):
   * the median of the last 64 wake-ups' lateness (stats().spinNs)
   */
  spinAuto?: boolean;
  /** SO_BINDTODEVICE; required for timestamps 'hardware' (SIOCSHWTSTAMP is per interface) */
  interface?: string;
  /**
   * 10..10000: at most this often a batch of events goes to JavaScript (default 100); a full
   * batch (512 events) and the end of a schedule go at once
   */
  batchIntervalMs?: number;
  /**
   * 2..1000000: batches JavaScript may hold (handed over, not yet given back) before the
   * thread pauses until it catches up (default 1024, ~170 MiB): the rig's memory bound when
   * JavaScript falls behind. Slots due meanwhile are missed, datagrams wait in the socket.
   */
  maxBacklogBatches?: number;
  /** default 'kernel' */
  timestamps?: TimestampMode;
  /** SCHED_FIFO priority 1..99 for the socket thread; failure is a warning, not an error */
  rtPriority?: number;
  /** pin the socket thread to this CPU; failure is a warning */
  cpu?: number;
  /**
   * mlock the socket thread's stack and buffers (~0.5 MiB); failure is a warning. Not
   * mlockall: V8 aborts when it cannot madvise(MADV_DONTNEED) its locked heap pages.
   */
  mlock?: boolean;
  /**
   * --key-file (16..4096 bytes): the controller signs each scheduled probe after writing seq
   * and T1; the reflector answers only probes with a genuine tag, refuses replays (a
   * 1024-number window per session) and signs its replies. Not with protocol 'icmp'.
   */
  authKey?: Buffer;
}

/** What `new addon.ProbeSocket(options, ...)` takes. */
export interface NativeSocketOptions extends NativeSocketCommonOptions {
  mode: 'controller' | 'reflector';
  /**
   * default 'udp'. 'icmp' (controller only, needs CAP_NET_RAW): a raw ICMP / ICMPv6 socket;
   * templates are echo requests (controller/transport/icmp-codec.ts), the thread writes the ICMP
   * sequence (seq & 0xffff at 6) and the IPv4 checksum (at 2) after seq and T1 before each
   * send; target ports and `port` are ignored; only echo replies reach JS, IP header
   * stripped (RxEvent.data is the ICMP message, port 0); the rest counts as stats().filtered.
   */
  protocol?: 'udp' | 'icmp';
  family: 4 | 6;
  bindAddress: string;
  port: number;
  /** reflector: probes a second answered per source address (token bucket); 0/absent = no limit */
  maxRatePerS?: number;
  /** reflector: sessions answered at once; a new one takes the place of one silent 5 s; 0/absent = no cap */
  maxSessions?: number;
  /** places one source address may hold; absent or 0: a quarter of maxSessions, at least 1 */
  maxSessionsPerSource?: number;
}

/** The addon reads the transport contract's ScheduleSpec as it is (targets all of the socket's family). */
export type NativeSchedule = ScheduleSpec;

/** Counters kept by the native thread. */
export interface NativeSocketStats {
  /** controller: probes sent */
  sent: number;
  /** controller: schedule slots skipped (late wake-up); a failed sendto is sent (and lost), see sendErrors */
  missed: number;
  /** datagrams read */
  received: number;
  /** reflector: probes answered on the native fast path */
  reflected: number;
  /** reflector: datagrams that failed the fast-path checks and went to JS unanswered */
  passedToJs: number;
  /** send stamps read from the error queue and matched to a datagram */
  txStamps: number;
  /** failed sendto calls (probes or replies) */
  sendErrors: number;
  /** failed recvmsg calls (datagrams or the error queue), every one */
  recvErrors: number;
  /** protocol 'icmp': datagrams read but not handed to JS (anything but an echo reply) */
  filtered: number;
  /** reflector: well-formed probes not answered (forged, replayed, over a limit) */
  refused: number;
  /** times the socket's thread woke from its wait (slot timer, datagram, TX stamp, control) */
  wakeups: number;
  /** system calls that sent probes or replies with a TX stamp: one per datagram, or one sendmmsg for a reflector's receive batch */
  sendCalls: number;
  /** controller: ICMP errors (port, host or network unreachable) for probes sent */
  unreachable: number;
  /** controller: ns spun before each deadline of the schedule in force: spinUs, with spinCapped at most a tenth of the slot spacing; with spinAuto the spin in force now */
  spinNs: number;
  /** controller: the median of the last 64 slot wake-ups' lateness (asked-for wake-up to the send, reads done), ns; -1 before 16; with spinAuto the spin (up to its cap) */
  wakeLateP50Ns: number;
  /** controller: their 90th percentile, ns; -1 before 16 */
  wakeLateP90Ns: number;
  /** controller: 50 000 when the schedule in force is sent in groups (slots closer than 50 µs: one wake-up and one sendmmsg a group, send error up to that by design), else 0 */
  sendGroupNs: number;
  /** event batches the socket's thread allocated: its pool's warm-up (a few), then none while JS gives them back */
  batchesAllocated: number;
  /**
   * datagrams the kernel dropped at this socket because its receive buffer was full
   * (SO_RXQ_OVFL): the thread read too late. Known from the next datagram read after them.
   */
  receiveBufferDrops: number;
  /** times the thread paused because JavaScript held maxBacklogBatches batches */
  backlogPauses: number;
  /** how long those pauses lasted in all, ns (CLOCK_MONOTONIC) */
  backlogPausedNs: number;
  /**
   * measured in JavaScript: the longest a batch waited between its hand-over on the thread and
   * its delivery to the callback, ns. Beyond the batch interval it is JavaScript falling
   * behind the thread (its events then wait in memory).
   */
  maxDeliveryLagNs: number;
}

/**
 * Reflector: `count` consecutive well-formed probes not answered, for one reason (each got a
 * refusal reply within its source's refusal budget); or session-ends not honoured
 * ('unauthenticated', 'bad-auth', 'unknown-session': not from the session's holder).
 */
export interface RefusedEvent {
  kind: 'refused';
  reason: 'unauthenticated' | 'bad-auth' | 'replay' | 'rate-limited' | 'session-limit' | 'unknown-session';
  count: number;
}

/** Reflector: `count` session-ends that freed their session's place. */
export interface SessionEndedEvent {
  kind: 'session-ended';
  count: number;
}

/**
 * Something failed on the native thread (it never throws): a failed sendto or recvmsg.
 * At most 10 a second; suppressed ones are counted in the next message.
 */
export interface NativeErrorEvent {
  kind: 'error';
  message: string;
}

/** Reflector: a probe was answered natively. Fields t1Ns..t3Ns are as in the reply. */
export interface ReflectedEvent {
  kind: 'reflected';
  address: string;
  port: number;
  session: number;
  seq: bigint;
  /** T1 from the probe (controller CLOCK_REALTIME ns) */
  t1Ns: bigint;
  /** T2: receive stamp written into the reply; clock per t2Source */
  t2Ns: bigint;
  /** T3: CLOCK_REALTIME read in user space just before sendto */
  t3Ns: bigint;
  /** source of T2: 'kernel' (CLOCK_REALTIME), 'hardware' (NIC clock), 'user' (no stamp) */
  t2Source: StampSource;
  /** CLOCK_MONOTONIC ns right after recvmsg */
  rxMonoNs: bigint;
  /**
   * The reply's send stamp (T3true) when it was read before this event's batch left, as a
   * 'reflect-tx' would carry it (txSource its source); null: a 'reflect-tx' follows.
   */
  txNs: bigint | null;
  txSource: StampSource | null;
}

/** Reflector: the true send stamp of a reply (T3true); same clock as T2 when sources match. */
export interface ReflectTxEvent {
  kind: 'reflect-tx';
  session: number;
  seq: bigint;
  txNs: bigint;
  source: StampSource;
  /** the T2 of the probe this reply answered (as in its 'reflected' event): turnaround = txNs − t2Ns */
  t2Ns: bigint;
}

/**
 * A datagram handed to JS: every datagram on the controller; rejected ones on the reflector.
 * Its rxNs is the kernel/NIC stamp; source 'user' means no stamp came and rxNs equals rxMonoNs.
 */
export type NativeRxEvent = RxEvent & {
  /** CLOCK_MONOTONIC ns right after the recvmmsg that read it: up to the quiet cadence after rxMonoNs */
  readMonoNs: bigint;
};

export interface NativeSentEvent {
  kind: 'sent';
  target: number;
  seq: bigint;
  slot: bigint;
  dueMonoNs: bigint;
  sentMonoNs: bigint;
  t1RealNs: bigint;
  /** the TX stamp when the thread read it before this event's batch left; null: a 'tx' follows */
  txNs: bigint | null;
  txSource: StampSource | null;
}

export interface NativeTxEvent {
  kind: 'tx';
  target: number;
  seq: bigint;
  txNs: bigint;
  source: StampSource;
}

export interface NativeMissedEvent {
  kind: 'missed';
  target: number;
  /** the first of `count` consecutive slots of this target that were skipped */
  slot: bigint;
  /** when that first slot was due */
  dueMonoNs: bigint;
  count: number;
}

export interface NativeUnreachableEvent {
  kind: 'unreachable';
  target: number;
  reason: string;
  count: number;
}

export interface NativeDoneEvent {
  kind: 'done';
}

/** Answers flush(): every event the thread had before the request came before this one. */
export interface NativeFlushedEvent {
  kind: 'flushed';
  /** the flush() calls it answers (calls close together share one) */
  count: number;
}

/** Everything the native thread emits, in either mode. */
export type NativeEvent =
  | NativeSentEvent
  | NativeTxEvent
  | NativeMissedEvent
  | NativeUnreachableEvent
  | NativeRxEvent
  | NativeDoneEvent
  | NativeFlushedEvent
  | NativeErrorEvent
  | ProbeRecordsEvent
  | ReflectedEvent
  | ReflectTxEvent
  | RefusedEvent
  | SessionEndedEvent;

/**
 * A batch of events, and the CLOCK_MONOTONIC ns until which the thread had read the socket's
 * receive queue: every datagram that arrived before it is in this batch or an earlier one.
 */
export type NativeBatchHandler = (events: NativeEvent[], readUntilMonoNs: bigint) => void;

/** One socket and its native thread. */
export interface NativeProbeSocket {
  readonly localPort: number;
  /** real-time settings the thread could not apply, and socket caveats */
  readonly warnings: string[];
  /** controller: begin the schedule. Throws if one is running or the schedule is invalid. */
  start(schedule: NativeSchedule): void;
  /** controller: end the schedule (a 'done' event follows); no-op when none runs */
  stop(): void;
  /** the thread reads its socket and hands over every event so far now, then a 'flushed' event */
  flush(): void;
  /**
   * Stops and joins the thread, closes the socket; resolves once every queued batch has been
   * delivered. Safe to call twice.
   */
  close(): Promise<void>;
  stats(): NativeSocketStats;
  /**
   * stats().maxDeliveryLagNs alone: measured in JavaScript, so it costs no call into the addon
   * (a check once a second must not build the whole stats object each time)
   */
  maxDeliveryLagNs(): number;
  /**
   * Sends one datagram from this socket to address:port, without a TX stamp (the probes'
   * stamp ids stay in step): a controller's session-end. Returns 0 or the errno.
   */
  sendDatagram(data: Buffer, address: string, port: number): number;
  /** the open socket keeps the event loop alive (default), like a dgram socket */
  ref(): void;
  unref(): void;
}

export interface NativeAddon {
  readonly version: number;
  /** `delivery.groupProbes`: a controller's probe events come packed (ProbeRecordsEvent, decodeEventRecords) */
  readonly ProbeSocket: new (
    options: NativeSocketOptions,
    onEvents: NativeBatchHandler,
    delivery?: { groupProbes?: boolean },
  ) => NativeProbeSocket;
  /** CLOCK_MONOTONIC ns, the clock of ScheduleSpec.startMonoNs (= process.hrtime.bigint()) */
  monotonicNs(): bigint;
  /** CLOCK_REALTIME ns, the clock of kernel software stamps */
  realtimeNs(): bigint;
}

export type LoadNativeAddonResult = { ok: true; addon: NativeAddon } | { ok: false; reason: string };

/** Where node-gyp builds it in a checkout; the bundle (dist/rtprobe/lib/) carries it beside its modules. */
const ADDON_PATH = IS_BUNDLE ? './rtprobe_native.node' : './build/Release/rtprobe_native.node';
const REBUILD_HINT = IS_BUNDLE ? 'rebuild the bundle with `npm run build` on a machine like this one'
  : 'run `npm ci` or `node shared/native/build-addon.js`';

/**
 * Where the addon comes from when it is not a file beside the modules: the single-file agent
 * (shared/cli/build-sea.js) carries it inside itself and sets this before anything loads it.
 */
export interface NativeAddonSource {
  /** what the messages call it */
  where: string;
  hint: string;
  /** the addon's exports; may throw */
  load(): unknown;
}

let addonSource: NativeAddonSource | undefined;

export function setNativeAddonSource(source: NativeAddonSource): void {
  addonSource = source;
}

/** Loads the addon; never throws. RTPROBE_NO_ADDON=1 disables it. */
export function loadNativeAddon(): LoadNativeAddonResult {
  if (process.env.RTPROBE_NO_ADDON === '1') {
    return { ok: false, reason: 'disabled by RTPROBE_NO_ADDON=1' };
  }
  if (process.platform !== 'linux') {
    return { ok: false, reason: `the native addon is Linux only (platform ${process.platform})` };
  }
  try {
    const loaded: unknown = addonSource ? addonSource.load() : createRequire(import.meta.url)(ADDON_PATH);
    if (!isNativeAddon(loaded)) {
      return { ok: false, reason: `${addonSource?.where ?? ADDON_PATH} does not export the expected API (stale build?)` };
    }
    return { ok: true, addon: withEventObjects(loaded) };
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return {
      ok: false,
      reason: `cannot load ${addonSource?.where ?? fileURLToPath(new URL(ADDON_PATH, import.meta.url))} (${message}); ${addonSource?.hint ?? REBUILD_HINT}`,
    };
  }
}

/** What the addon's ProbeSocket hands its callback: a packed batch (event-records.ts). */
/** records: the socket's own buffer, reused by the next batch; its first `count` records are this batch's. */
type PackedBatchHandler = (records: ArrayBuffer, count: number, strings: string[], data: Buffer, readUntilMonoNs: bigint, flushedMonoNs: bigint) => void;
type RawNativeAddon = Omit<NativeAddon, 'ProbeSocket'> & {
  readonly ProbeSocket: new (options: NativeSocketOptions, onEvents: PackedBatchHandler) =>
    Omit<NativeProbeSocket, 'stats' | 'maxDeliveryLagNs'> & { stats(): Omit<NativeSocketStats, 'maxDeliveryLagNs'> };
};

/**
 * The addon with a ProbeSocket whose callback gets event objects, built from the packed
 * batches, and whose stats() add how far behind the thread JavaScript got.
 */
function withEventObjects(raw: RawNativeAddon): NativeAddon {
  const RawProbeSocket = raw.ProbeSocket;
  function ProbeSocket(options: NativeSocketOptions, onEvents: NativeBatchHandler, delivery: { groupProbes?: boolean } = {}): NativeProbeSocket {
    let maxDeliveryLagNs = 0;
    const groupProbes = delivery.groupProbes === true;
    const socket = new RawProbeSocket(options, (records, count, strings, data, readUntilMonoNs, flushedMonoNs) => {
      const lagNs = Number(process.hrtime.bigint() - flushedMonoNs);
      if (lagNs > maxDeliveryLagNs) maxDeliveryLagNs = lagNs;
      onEvents(decodeEventRecords(records, strings, data, count, groupProbes), readUntilMonoNs);
    });
    // The native object's own properties are read-only: a face that calls through to it.
    return {
      get localPort() { return socket.localPort; },
      get warnings() { return socket.warnings; },
      start: (schedule) => socket.start(schedule),
      stop: () => socket.stop(),
      flush: () => socket.flush(),
      close: () => socket.close(),
      stats: () => ({ ...socket.stats(), maxDeliveryLagNs }),
      maxDeliveryLagNs: () => maxDeliveryLagNs,
      sendDatagram: (data, address, port) => socket.sendDatagram(data, address, port),
      ref: () => socket.ref(),
      unref: () => socket.unref(),
    };
  }
  return { ...raw, ProbeSocket: ProbeSocket as unknown as NativeAddon['ProbeSocket'] };
}

function isNativeAddon(value: unknown): value is RawNativeAddon {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    v.version === 14 &&
    typeof v.ProbeSocket === 'function' &&
    typeof v.monotonicNs === 'function' &&
    typeof v.realtimeNs === 'function'
  );
}

function checkInteger(name: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer ${min}..${max}, got ${String(value)}`);
  }
}

/** Range checks of the common options, before the addon sees them. Throws RangeError/TypeError. */
export function validateCommonOptions(options: NativeSocketCommonOptions): void {
  checkInteger('dscp', options.dscp, 0, 63);
  checkInteger('priority', options.priority, 0, 0x7fffffff);
  checkInteger('busyPollUs', options.busyPollUs, 0, 0x7fffffff);
  checkInteger('spinUs', options.spinUs, 0, 1_000_000);
  checkInteger('batchIntervalMs', options.batchIntervalMs, 10, 10_000);
  checkInteger('maxBacklogBatches', options.maxBacklogBatches, 2, 1_000_000);
  checkInteger('rtPriority', options.rtPriority, 1, 99);
  checkInteger('cpu', options.cpu, 0, 0xffff);
  const timestamps = options.timestamps ?? 'kernel';
  if (timestamps !== 'kernel' && timestamps !== 'hardware') {
    throw new TypeError(`timestamps must be 'kernel' or 'hardware', got ${String(timestamps)}`);
  }
  if (options.interface !== undefined && (options.interface === '' || options.interface.length > 15)) {
    throw new RangeError(`interface must be a name of 1..15 characters, got '${options.interface}'`);
  }
  if (timestamps === 'hardware' && options.interface === undefined) {
    throw new TypeError(
      "timestamps 'hardware' needs an interface: hardware stamping is enabled per NIC (SIOCSHWTSTAMP)",
    );
  }
}

/** Passes only the options the caller set (the addon treats undefined as "leave alone"). */
export function pickDefined(options: NativeSocketCommonOptions): NativeSocketCommonOptions {
  const out: NativeSocketCommonOptions = {};
  if (options.dscp !== undefined) out.dscp = options.dscp;
  if (options.priority !== undefined) out.priority = options.priority;
  if (options.busyPollUs !== undefined) out.busyPollUs = options.busyPollUs;
  if (options.spinUs !== undefined) out.spinUs = options.spinUs;
  if (options.spinCapped !== undefined) out.spinCapped = options.spinCapped;
  if (options.spinAuto !== undefined) out.spinAuto = options.spinAuto;
  if (options.interface !== undefined) out.interface = options.interface;
  if (options.batchIntervalMs !== undefined) out.batchIntervalMs = options.batchIntervalMs;
  if (options.maxBacklogBatches !== undefined) out.maxBacklogBatches = options.maxBacklogBatches;
  if (options.rtPriority !== undefined) out.rtPriority = options.rtPriority;
  if (options.cpu !== undefined) out.cpu = options.cpu;
  if (options.mlock !== undefined) out.mlock = options.mlock;
  if (options.authKey !== undefined) out.authKey = options.authKey;
  return out;
}

/**
 * Runs an event handler so that its exception becomes an ordinary uncaught exception: Node 20
 * only warns (DEP0168) about exceptions thrown from a native thread-safe-function callback.
 */
export function callHandler<E>(handler: (events: E[]) => void, events: E[]): void {
  try {
    handler(events);
  } catch (err) {
    process.nextTick(() => {
      throw err;
    });
  }
}
