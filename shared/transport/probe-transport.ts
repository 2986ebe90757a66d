/**
 * The contract between the controller's core and the socket layer that sends probes and
 * receives replies. Two implementations exist: the user-space `node:dgram` fallback and the
 * native addon (shared/native), which sends from a real-time thread and reads kernel stamps.
 *
 * Every stamp names its source. Stamps of one source share one clock, so differences of
 * stamps from the same source are meaningful; stamps from different sources never mix:
 *   - 'user'     : CLOCK_MONOTONIC read in user space (process.hrtime.bigint / clock_gettime)
 *   - 'kernel'   : SO_TIMESTAMPING software stamp, CLOCK_REALTIME in the kernel
 *   - 'hardware' : SO_TIMESTAMPING raw hardware stamp, the NIC's PTP hardware clock
 */
export type StampSource = 'user' | 'kernel' | 'hardware';

/** A probe destination, already resolved to a numeric address. */
export interface TransportTarget {
  address: string;
  port: number;
  family: 4 | 6;
}

/** A probe left the socket (sendto returned). */
export interface SentEvent {
  kind: 'sent';
  target: number;
  seq: bigint;
  /** schedule slot index of this probe (slots skipped as missed have no probe) */
  slot: bigint;
  /** when the schedule wanted it sent, CLOCK_MONOTONIC ns */
  dueMonoNs: bigint;
  /** user-space CLOCK_MONOTONIC ns just before sendto */
  sentMonoNs: bigint;
  /** T1 written into the probe: CLOCK_REALTIME ns just before sendto */
  t1RealNs: bigint;
  /**
   * The send stamp, when the transport had it already (the native thread folds it in when it
   * read it before the batch left: one event per probe instead of two); absent or null: a
   * TxStampEvent follows.
   */
  txNs?: bigint | null;
  txSource?: StampSource | null;
}

/** The send stamp of a probe; for 'user' it equals sentMonoNs of its SentEvent. */
export interface TxStampEvent {
  kind: 'tx';
  target: number;
  seq: bigint;
  txNs: bigint;
  source: StampSource;
}

/** A schedule slot was skipped because the sender woke more than one period late. */
export interface MissedEvent {
  kind: 'missed';
  target: number;
  /** the first of `count` consecutive slots of this target that were skipped */
  slot: bigint;
  /** when that first slot was due */
  dueMonoNs: bigint;
  count: number;
}

/** A datagram arrived. rxNs has the same source/clock rules as TxStampEvent.txNs. */
export interface RxEvent {
  kind: 'rx';
  data: Buffer;
  address: string;
  port: number;
  rxNs: bigint;
  source: StampSource;
  /**
   * Its reception on CLOCK_MONOTONIC (ns): the kernel stamp brought over with the clocks'
   * offset at the read (native), or the read itself when there is no kernel stamp, or a
   * wall-clock step came between the stamp and the read.
   */
  rxMonoNs: bigint;
  /**
   * --key-file: the transport's check of the datagram's tag against the run's key (the native
   * thread's, keyed once); absent or null: not checked, the datagram is checked in JS.
   */
  auth?: 'genuine' | 'unauthenticated' | 'bad-auth' | null;
}

/**
 * ICMP errors (e.g. port unreachable: nothing listens there) for `count` probes sent to
 * `target`, read from the socket's error queue (native transport only).
 */
export interface UnreachableEvent {
  kind: 'unreachable';
  target: number;
  /** what the ICMP error says, e.g. "ICMP port unreachable" */
  reason: string;
  count: number;
}

/** The schedule has sent its last probe. */
export interface DoneEvent {
  kind: 'done';
}

/**
 * A native batch's probe events as the thread packed them (shared/native/event-records.ts):
 * its 'sent', 'tx' and 'rx' records, which the controller's RunState reads in place, with no
 * object or BigInt a probe; the batch's other events come as their own objects after it.
 * Valid only while the handler runs: the addon reuses the buffers for its next batch.
 */
export interface ProbeRecordsEvent {
  kind: 'records';
  /** the records; those of other kinds than 'sent', 'tx' and 'rx' are to be skipped */
  view: DataView;
  count: number;
  /** the batch's strings (the records' addresses) and datagrams */
  strings: readonly string[];
  data: Buffer;
  /** the run's number of the transport's target t is targetMap[t]; null: the same number */
  targetMap: readonly number[] | null;
}

export type TransportEvent = SentEvent | TxStampEvent | MissedEvent | RxEvent | UnreachableEvent | DoneEvent | ProbeRecordsEvent;

/**
 * What the sender needs to run the isochronous schedule on its own: probe i of target t is
 * a copy of `templates[t]` with the sequence number (u64 BE) written at `seqOffset` and T1
 * (u64 BE, CLOCK_REALTIME ns) at `t1Offset`. Slot k of target t is due at
 * startMonoNs + k·periodNs + t·periodNs/targets.length (targets interleave within a period).
 * A slot whose wake-up is more than one period late is skipped (MissedEvent), never sent late
 * in a burst; skipped slots consume no sequence number.
 */
export interface ScheduleSpec {
  targets: TransportTarget[];
  templates: Buffer[];
  seqOffset: number;
  t1Offset: number;
  periodNs: bigint;
  startMonoNs: bigint;
  /** probes to send per target; 0n = until stop() or endMonoNs */
  probesPerTarget: bigint;
  /** optional end of the schedule: no slot due at or after it is sent, then 'done' */
  endMonoNs?: bigint;
}

export interface ProbeTransport {
  /** which clock stamps TX and RX */
  readonly stampSource: StampSource;
  /** begins sending; events arrive in batches through the handler given at creation */
  start(schedule: ScheduleSpec): void;
  /** stops sending; receiving goes on until close() */
  stop(): void;
  close(): Promise<void>;
  /**
   * Native transports: resolves once every reply read until now has reached the handler (its
   * thread reads the socket first). Before the last losses are declared: a reply in time must
   * not wait in a batch while its probe is called lost.
   */
  flush?(): Promise<void>;
  /**
   * UDP transports: sends one datagram from the probe socket, without a TX stamp (a
   * session-end, which must come from the address and port that holds the session's place).
   */
  sendDatagram?(data: Buffer, address: string, port: number): Promise<void>;
  /** Native transports: how the schedule in force is paced (what labels its send error). */
  pacing?(): SenderPacing;
  /** Native transports: what this machine did to the measurement so far (SocketHealth). */
  health?(): SocketHealth;
  /** Native transports: health().max_delivery_lag_ms alone, without asking the native thread (cheap). */
  deliveryLagMs?(): number;
}

/** Native transports: the rig reporting on itself. */
export interface SocketHealth {
  /**
   * datagrams the kernel dropped at the socket because its receive buffer was full
   * (SO_RXQ_OVFL): replies that reached this machine and were read too late, counted as lost
   */
  receive_buffer_drops: number;
  /**
   * the longest a batch of the socket's events waited for JavaScript after its thread handed
   * it over, ms on CLOCK_MONOTONIC: near 0 while JavaScript keeps up; seconds when it falls behind (the events
   * wait in memory, and the results stay exact)
   */
  max_delivery_lag_ms: number;
  /**
   * how long the socket's thread paused in all, ms on CLOCK_MONOTONIC, because JavaScript held
   * its memory bound of batches (0: never): slots due then were missed, replies waited in the
   * socket's buffer (what overflowed it is in receive_buffer_drops)
   */
  backlog_paused_ms: number;
}

/** How a native sender paces its schedule, as in force (not as asked). */
export interface SenderPacing {
  /** ns busy-waited before each deadline (--spin, capped at a tenth of the slot spacing unless given); with spin_auto the spin in force at the end */
  spin_ns: number;
  /** --spin auto (the default): the spin follows the wake-ups' lateness, up to its cap */
  spin_auto: boolean;
  /** how late the thread's last 64 wake-ups for a slot came (from the wake-up it asked for to the send, reads done), their median in ns (with spin_auto the spin, up to its cap); null before 16 */
  wake_late_p50_ns: number | null;
  /** ... and their 90th percentile in ns; null before 16 */
  wake_late_p90_ns: number | null;
  /** 50 000 when slots closer than 50 µs are sent in groups (send error up to that by design); 0 = one wake-up a slot */
  send_group_ns: number;
}

/**
 * `readUntilMonoNs`: every reply that reached the socket before this CLOCK_MONOTONIC time is
 * in these events or earlier ones (a native transport's thread reads and hands over in
 * batches). Absent: every reply so far (user-space transports hand each one over as read).
 */
export type TransportEventHandler = (events: TransportEvent[], readUntilMonoNs?: bigint) => void;
