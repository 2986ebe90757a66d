/**
 * Agent side of the native addon: a reflector whose native thread answers well-formed
 * rtprobe probes itself (fast path: header checks only, reply = request with type 2, T2 =
 * receive stamp, T3 = CLOCK_REALTIME just before sendto, same length) and hands every other
 * datagram to JS unanswered, so the JS decoder can classify and count the rejection.
 *
 * Events (batched, in order of occurrence on the thread):
 *   'reflected'  a probe was answered (ReflectedEvent)
 *   'reflect-tx' the kernel/NIC send stamp of that reply, T3true (ReflectTxEvent)
 *   'rx'         a datagram that failed the fast-path checks (NativeRxEvent)
 *   'refused'    well-formed probes not answered: forged (authKey), replayed, over
 *                maxRatePerS or maxSessions; consecutive ones coalesced (RefusedEvent)
 *   'error'      a failed sendto/recvmsg on the thread (NativeErrorEvent)
 *
 * With timestamps 'hardware', T2 on the wire is the NIC's raw clock (flags say so) while T3
 * is CLOCK_REALTIME: T3 − T2 is then meaningless unless the NIC clock is synchronized to
 * CLOCK_REALTIME (phc2sys); T3true − T2 from 'reflect-tx' compares like with like whenever
 * both sources are 'hardware'.
 */
import type { StampSource } from '../shared/transport/probe-transport.js';
import {
  callHandler,
  pickDefined,
  validateCommonOptions,
  type NativeAddon,
  type NativeErrorEvent,
  type NativeEvent,
  type NativeRxEvent,
  type NativeSocketCommonOptions,
  type NativeSocketStats,
  type ReflectTxEvent,
  type ReflectedEvent,
  type RefusedEvent,
  type SessionEndedEvent,
} from '../shared/native/native-addon.js';
import { FlushWaiters } from '../shared/native/flush-waiters.js';

export type ReflectorEvent = ReflectedEvent | ReflectTxEvent | NativeRxEvent | NativeErrorEvent | RefusedEvent |
  SessionEndedEvent;
export type ReflectorEventHandler = (events: ReflectorEvent[]) => void;

export interface NativeReflectorOptions extends NativeSocketCommonOptions {
  bindAddress: string;
  port: number;
  family: 4 | 6;
  timestamps: 'kernel' | 'hardware';
  maxRatePerS?: number;
  maxSessions?: number;
  /** places one source address may hold (default a quarter of maxSessions, at least 1) */
  maxSessionsPerSource?: number;
}

export interface NativeReflector {
  readonly localPort: number;
  readonly stampSource: StampSource;
  /** what the thread could not apply (SCHED_FIFO, CPU pinning, mlock) and socket caveats */
  readonly warnings: string[];
  /** reflected, passedToJs, txStamps, sendErrors (and the generic counters) */
  stats(): NativeSocketStats;
  /**
   * Resolves once every event of what the thread answered before the call has gone to the
   * handler (the thread reads its socket first): a stream's interval closed after it holds
   * every probe answered until now, not until the last batch. Resolves at close() too.
   */
  flush(): Promise<void>;
  /** joins the thread; resolves after the last batch was delivered. Safe to call twice. */
  close(): Promise<void>;
  /** let the process exit while the reflector is open */
  unref(): void;
  ref(): void;
}

function isReflectorEvent(event: NativeEvent): event is ReflectorEvent {
  return event.kind === 'reflected' || event.kind === 'reflect-tx' || event.kind === 'rx' || event.kind === 'error' ||
    event.kind === 'refused' || event.kind === 'session-ended';
}

/** A batch from the reflector's thread to its handler, and the flushes it answers (also the agent's warm-up's way in). */
export function deliverReflectorBatch(events: NativeEvent[], onEvents: ReflectorEventHandler, flushes: FlushWaiters): void {
  // A reflector socket emits only reflector events and 'flushed'; the filter is for the type system.
  const out = events.filter(isReflectorEvent);
  if (out.length > 0) callHandler(onEvents, out);
  flushes.answer(events);
}

export async function createNativeReflector(
  addon: NativeAddon,
  options: NativeReflectorOptions,
  onEvents: ReflectorEventHandler,
): Promise<NativeReflector> {
  validateCommonOptions(options);
  const flushes = new FlushWaiters();
  if (options.family !== 4 && options.family !== 6) {
    throw new RangeError(`family must be 4 or 6, got ${String(options.family)}`);
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new RangeError(`port must be an integer 0..65535, got ${String(options.port)}`);
  }
  const socket = new addon.ProbeSocket(
    {
      mode: 'reflector',
      family: options.family,
      bindAddress: options.bindAddress,
      port: options.port,
      timestamps: options.timestamps,
      ...pickDefined(options),
      ...(options.maxRatePerS === undefined ? {} : { maxRatePerS: Math.ceil(options.maxRatePerS) }),
      ...(options.maxSessions === undefined ? {} : { maxSessions: options.maxSessions }),
      ...(options.maxSessionsPerSource === undefined ? {} : { maxSessionsPerSource: options.maxSessionsPerSource }),
    },
    (events) => deliverReflectorBatch(events, onEvents, flushes),
  );
  let closing: Promise<void> | undefined;
  return {
    localPort: socket.localPort,
    stampSource: options.timestamps,
    warnings: socket.warnings,
    stats: () => socket.stats(),
    // after close() the waiters are released: a flush then resolves with it
    flush: () => flushes.request(socket),
    close(): Promise<void> {
      // The last batch comes before close resolves: whoever waits for a flush has it all.
      closing ??= socket.close().finally(() => flushes.releaseAll());
      return closing;
    },
    unref: () => socket.unref(),
    ref: () => socket.ref(),
  };
}
