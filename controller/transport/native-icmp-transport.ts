/**
 * The kernel-stamped ICMP echo transport: a raw ICMP (IPv4) or ICMPv6 socket of the native
 * addon, served by the same native thread as the UDP controller (schedule on CLOCK_MONOTONIC,
 * optional SCHED_FIFO, SO_TIMESTAMPING TX/RX stamps from the kernel or the NIC).
 *
 * Templates are echo requests from controller/transport/icmp-codec.ts (encodeEchoRequest); before each
 * send the thread writes seq (offset 16), T1 (24), the ICMP sequence (6) and, for IPv4, the
 * checksum (2). RxEvents carry the ICMP message of echo replies only, IPv4 header stripped
 * natively, port 0; classify them with decodeEchoReply. Needs CAP_NET_RAW: without it,
 * creation fails with NeedsCapNetRawError.
 *
 * Lifecycle as createNativeTransport: the thread receives from creation on; start(), stop()
 * ('done' follows), close() resolves after the last batch was delivered.
 */
import type { ScheduleSpec, TransportEventHandler } from '../../shared/transport/probe-transport.js';
import { NeedsCapNetRawError, isPermissionDenied, type IcmpTransport } from './icmp-transport.js';
import {
  pickDefined,
  validateCommonOptions,
  type NativeAddon,
  type NativeErrorEvent,
  type NativeProbeSocket,
  type NativeSocketCommonOptions,
  type NativeSocketStats,
} from '../../shared/native/native-addon.js';
import { FlushWaiters } from '../../shared/native/flush-waiters.js';
import { deliverBatch, scheduleSocketTransport, warnFirstNativeErrors, type NativeScheduleTransport } from './schedule-socket-transport.js';

export interface NativeIcmpTransportOptions extends NativeSocketCommonOptions {
  /** address family of the socket and of every target; default from bindAddress, else 4 */
  family?: 4 | 6;
  /** receive only what is addressed to this local address; default 0.0.0.0 / :: (all) */
  bindAddress?: string;
  /** errors of the native thread; default: process.emitWarning for the first 20 */
  onError?: (event: NativeErrorEvent) => void;
  /** the probe events of a batch come packed, in one ProbeRecordsEvent (RunState reads them in place) */
  groupProbes?: boolean;
}

/** NativeSocketStats includes IcmpTransport's counters (received, filtered, sendErrors). */
export interface NativeIcmpTransport extends NativeScheduleTransport {
  stats(): NativeSocketStats & ReturnType<IcmpTransport['stats']>;
}

/** ICMP header fields (type, code, checksum, identifier, sequence) come before seq and T1. */
const ICMP_HEADER_BYTES = 8;
const ECHO_REQUEST_TYPE = { 4: 8, 6: 128 } as const;
const WARNING_LIMIT = 20;

export async function createNativeIcmpTransport(
  addon: NativeAddon,
  options: NativeIcmpTransportOptions,
  onEvents: TransportEventHandler,
): Promise<NativeIcmpTransport> {
  validateCommonOptions(options);
  const family = options.family ?? (options.bindAddress?.includes(':') ? 6 : 4);
  if (family !== 4 && family !== 6) throw new RangeError(`family must be 4 or 6, got ${String(family)}`);
  const stampSource = options.timestamps ?? 'kernel';
  const flushes = new FlushWaiters();
  const onError = options.onError ?? warnFirstNativeErrors(WARNING_LIMIT);

  let socket: NativeProbeSocket;
  try {
    socket = new addon.ProbeSocket(
      {
        mode: 'controller',
        protocol: 'icmp',
        family,
        bindAddress: options.bindAddress ?? (family === 4 ? '0.0.0.0' : '::'),
        port: 0,
        timestamps: stampSource,
        ...pickDefined(options),
      },
      (events, readUntilMonoNs) => deliverBatch(events, readUntilMonoNs, onEvents, onError, flushes),
      { groupProbes: options.groupProbes === true },
    );
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/^socket\(/.test(message) && isPermissionDenied(message)) throw new NeedsCapNetRawError(message);
    throw err;
  }

  return scheduleSocketTransport(socket, stampSource, (schedule) => validateIcmpSchedule(schedule, family), flushes,
    options.spinAuto === true);
}

/** Catches schedules meant for UDP or the other family before the thread sends them. */
function validateIcmpSchedule(schedule: ScheduleSpec, family: 4 | 6): void {
  const { targets, templates, seqOffset, t1Offset, periodNs, probesPerTarget, startMonoNs } = schedule;
  if (targets.length === 0) throw new RangeError('schedule has no targets');
  if (templates.length !== targets.length) {
    throw new RangeError(`schedule has ${targets.length} targets but ${templates.length} templates`);
  }
  targets.forEach((target, i) => {
    if (target.family !== family) {
      throw new RangeError(`target ${i} (${target.address}) is IPv${target.family} but this ICMP transport is IPv${family}: ` +
        'create one transport per address family');
    }
  });
  if (seqOffset < ICMP_HEADER_BYTES || t1Offset < ICMP_HEADER_BYTES) {
    throw new RangeError(`seqOffset ${seqOffset} and t1Offset ${t1Offset} must lie after the 8-byte ICMP header`);
  }
  templates.forEach((template, i) => {
    const need = Math.max(seqOffset, t1Offset) + 8;
    if (template.length < need) throw new RangeError(`template ${i} is ${template.length} bytes, needs at least ${need}`);
    if (template[0] !== ECHO_REQUEST_TYPE[family] || template[1] !== 0) {
      throw new RangeError(`template ${i} is not an ICMP${family === 6 ? 'v6' : ''} echo request (type ${template[0]}, ` +
        `code ${template[1]}): build it with encodeEchoRequest`);
    }
  });
  if (periodNs <= 0n) throw new RangeError(`periodNs must be > 0, got ${periodNs}`);
  if (probesPerTarget < 0n) throw new RangeError(`probesPerTarget must be >= 0, got ${probesPerTarget}`);
  const aheadNs = startMonoNs - process.hrtime.bigint();
  if (aheadNs < -10_000_000_000n || aheadNs > 86_400_000_000_000n) {
    throw new RangeError(`startMonoNs is ${Number(aheadNs) / 1e9} s from now: it must be CLOCK_MONOTONIC ns ` +
      '(process.hrtime.bigint()), at most 10 s in the past and 1 day ahead');
  }
}
