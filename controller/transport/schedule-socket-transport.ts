import type { ProbeTransport, ScheduleSpec, TransportEvent, TransportEventHandler } from '../../shared/transport/probe-transport.js';
import type { FlushWaiters } from '../../shared/native/flush-waiters.js';
import { roundedMs } from '../../shared/report/format-ns.js';
import { callHandler, type NativeErrorEvent, type NativeEvent, type NativeProbeSocket, type NativeSocketStats } from '../../shared/native/native-addon.js';

/**
 * Hands a controller socket's batch on: errors to onError, the rest (TransportEvents) to
 * onEvents with the batch's read horizon (also when only a flush answer came), then answers
 * the flushes it ends.
 */
export function deliverBatch(events: NativeEvent[], readUntilMonoNs: bigint, onEvents: TransportEventHandler,
  onError: (event: NativeErrorEvent) => void, flushes: FlushWaiters): void {
  const transport: TransportEvent[] = [];
  const errors: NativeErrorEvent[] = [];
  let flushed = false;
  // (an index, not for-of: see RunState.apply)
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as NativeEvent;
    switch (event.kind) {
      case 'error':
        errors.push(event);
        break;
      case 'reflected':
      case 'reflect-tx':
      case 'refused':
      case 'session-ended':
        break; // reflector events: never emitted by a controller socket
      case 'flushed':
        flushed = true;
        break;
      default:
        transport.push(event);
    }
  }
  if (errors.length > 0) callHandler((errs: NativeErrorEvent[]) => errs.forEach(onError), errors);
  if (transport.length > 0 || flushed) {
    callHandler((evs: TransportEvent[]) => onEvents(evs, readUntilMonoNs), transport);
  }
  flushes.answer(events);
}

/** Native thread errors as process warnings, the first `limit` of them: a failing link must not flood stderr. */
export function warnFirstNativeErrors(limit: number): (event: NativeErrorEvent) => void {
  let reported = 0;
  return (event) => {
    reported += 1;
    if (reported <= limit) process.emitWarning(event.message, { code: 'RTPROBE_NATIVE' });
    else if (reported === limit + 1) process.emitWarning('further native socket errors are not reported', { code: 'RTPROBE_NATIVE' });
  };
}

/** What both native controller transports (UDP and ICMP) give on top of ProbeTransport. */
export interface NativeScheduleTransport extends ProbeTransport {
  readonly stampSource: 'kernel' | 'hardware';
  /** what the thread could not apply (SCHED_FIFO, CPU pinning, mlock) and socket caveats */
  readonly warnings: string[];
  stats(): NativeSocketStats;
  /** let the process exit while the transport is open */
  unref(): void;
  ref(): void;
}

/**
 * The ProbeTransport face of a native controller socket: start validates the schedule for
 * the socket's protocol first; close is idempotent and joins the socket's thread.
 */
export function scheduleSocketTransport(socket: NativeProbeSocket, stampSource: 'kernel' | 'hardware',
  validate: (schedule: ScheduleSpec) => void, flushes: FlushWaiters, spinAuto: boolean): NativeScheduleTransport {
  let closing: Promise<void> | undefined;
  return {
    stampSource,
    warnings: socket.warnings,
    start(schedule: ScheduleSpec): void {
      if (closing) throw new Error('transport is closed');
      validate(schedule);
      socket.start(schedule);
    },
    stop(): void {
      if (!closing) socket.stop();
    },
    // after close() the waiters are released: a flush then resolves with it
    flush: () => flushes.request(socket),
    close(): Promise<void> {
      closing ??= socket.close().finally(() => flushes.releaseAll());
      return closing;
    },
    sendDatagram(data: Buffer, address: string, port: number): Promise<void> {
      if (closing) return Promise.reject(new Error('transport is closed'));
      const errno = socket.sendDatagram(data, address, port);
      return errno === 0 ? Promise.resolve() : Promise.reject(new Error(`errno ${errno}`));
    },
    stats: () => socket.stats(),
    pacing: () => {
      const { spinNs, sendGroupNs, wakeLateP50Ns, wakeLateP90Ns } = socket.stats();
      const measured = (ns: number): number | null => (ns < 0 ? null : ns);
      return { spin_ns: spinNs, spin_auto: spinAuto, wake_late_p50_ns: measured(wakeLateP50Ns), wake_late_p90_ns: measured(wakeLateP90Ns),
        send_group_ns: sendGroupNs };
    },
    health: () => {
      const { receiveBufferDrops, maxDeliveryLagNs, backlogPausedNs } = socket.stats();
      return { receive_buffer_drops: receiveBufferDrops, max_delivery_lag_ms: roundedMs(maxDeliveryLagNs),
        backlog_paused_ms: roundedMs(backlogPausedNs) };
    },
    deliveryLagMs: () => roundedMs(socket.maxDeliveryLagNs()),
    unref: () => socket.unref(),
    ref: () => socket.ref(),
  };
}

/** ns → ms with two decimals, as the report gives them */
