/**
 * Controller side of the native addon: a ProbeTransport whose schedule runs on a native
 * thread (clock_nanosleep on CLOCK_MONOTONIC, optional SCHED_FIFO) and whose TX/RX stamps
 * come from the kernel (SO_TIMESTAMPING) or the NIC.
 *
 * Lifecycle: createNativeTransport() opens the socket and starts the thread, which receives
 * from then on; start() hands it a schedule; stop() ends the schedule (a 'done' event
 * follows); close() joins the thread and resolves after the last batch was delivered. An
 * open transport keeps Node alive like a socket does (unref() to opt out); a closed one
 * does not.
 */
import type { ScheduleSpec, TransportEventHandler } from '../../shared/transport/probe-transport.js';
import {
  pickDefined,
  validateCommonOptions,
  type NativeAddon,
  type NativeErrorEvent,
  type NativeProbeSocket,
  type NativeSocketCommonOptions,
} from '../../shared/native/native-addon.js';
import { FlushWaiters } from '../../shared/native/flush-waiters.js';
import { deliverBatch, scheduleSocketTransport, warnFirstNativeErrors, type NativeScheduleTransport } from './schedule-socket-transport.js';

export interface NativeTransportOptions extends NativeSocketCommonOptions {
  /** address family of the socket and of every target; default from bindAddress, else 4 */
  family?: 4 | 6;
  /** default 0.0.0.0 / :: */
  bindAddress?: string;
  /** local port, default 0 (any) */
  port?: number;
  /**
   * Errors from the native thread (failed sendto/recvmsg; a probe whose sendto failed is
   * still a SentEvent, with no TX stamp: it counts as lost). Default: process.emitWarning
   * for the first 20.
   */
  onError?: (event: NativeErrorEvent) => void;
  /** the probe events of a batch come packed, in one ProbeRecordsEvent (RunState reads them in place) */
  groupProbes?: boolean;
}

export interface NativeTransport extends NativeScheduleTransport {
  readonly localPort: number;
}

const DEFAULT_WARNING_LIMIT = 20;

export async function createNativeTransport(
  addon: NativeAddon,
  options: NativeTransportOptions,
  onEvents: TransportEventHandler,
): Promise<NativeTransport> {
  validateCommonOptions(options);
  const family = options.family ?? (options.bindAddress?.includes(':') ? 6 : 4);
  if (family !== 4 && family !== 6) throw new RangeError(`family must be 4 or 6, got ${String(family)}`);
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`port must be an integer 0..65535, got ${String(port)}`);
  }
  const stampSource = options.timestamps ?? 'kernel';
  const flushes = new FlushWaiters();
  const onError = options.onError ?? warnFirstNativeErrors(DEFAULT_WARNING_LIMIT);

  const socket: NativeProbeSocket = new addon.ProbeSocket(
    {
      mode: 'controller',
      family,
      bindAddress: options.bindAddress ?? (family === 4 ? '0.0.0.0' : '::'),
      port,
      timestamps: stampSource,
      ...pickDefined(options),
    },
    (events, readUntilMonoNs) => deliverBatch(events, readUntilMonoNs, onEvents, onError, flushes),
    { groupProbes: options.groupProbes === true },
  );

  return { ...scheduleSocketTransport(socket, stampSource, (schedule) => validateSchedule(schedule, family), flushes,
    options.spinAuto === true), localPort: socket.localPort };
}

function validateSchedule(schedule: ScheduleSpec, family: 4 | 6): void {
  const { targets, templates, seqOffset, t1Offset, periodNs, probesPerTarget } = schedule;
  if (targets.length === 0) throw new RangeError('schedule has no targets');
  if (templates.length !== targets.length) {
    throw new RangeError(`schedule has ${targets.length} targets but ${templates.length} templates`);
  }
  targets.forEach((target, i) => {
    if (target.family !== family) {
      throw new RangeError(
        `target ${i} (${target.address}) is IPv${target.family} but this transport is IPv${family}: ` +
          'create one transport per address family',
      );
    }
  });
  templates.forEach((template, i) => {
    const need = Math.max(seqOffset, t1Offset) + 8;
    if (template.length < need) {
      throw new RangeError(`template ${i} is ${template.length} bytes, needs at least ${need}`);
    }
  });
  if (periodNs <= 0n) throw new RangeError(`periodNs must be > 0, got ${periodNs}`);
  if (probesPerTarget < 0n) throw new RangeError(`probesPerTarget must be >= 0, got ${probesPerTarget}`);
  // Catches clock mix-ups: a CLOCK_REALTIME start would never come, a start at 0 would report
  // every period since boot as missed.
  const nowMonoNs = process.hrtime.bigint();
  const aheadNs = schedule.startMonoNs - nowMonoNs;
  if (aheadNs < -MAX_START_PAST_NS || aheadNs > MAX_START_AHEAD_NS) {
    throw new RangeError(
      `startMonoNs is ${Number(aheadNs) / 1e9} s from now: it must be CLOCK_MONOTONIC ns ` +
        '(process.hrtime.bigint()), at most 10 s in the past and 1 day ahead',
    );
  }
}

const MAX_START_PAST_NS = 10_000_000_000n;
const MAX_START_AHEAD_NS = 86_400_000_000_000n;
