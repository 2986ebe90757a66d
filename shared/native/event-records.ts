import type { ProbeRecordsEvent, StampSource } from '../transport/probe-transport.js';
import type { NativeEvent, RefusedEvent } from './native-addon.js';
import { cachedDataView } from '../wire/cached-data-view.js';

/**
 * How a batch of native events crosses to JavaScript (shared/native/src/addon.cc PackRecord):
 * one RECORD_BYTES record per event, little-endian, the strings of the batch (addresses,
 * messages) each once, and the datagrams of 'rx' events in one buffer. Building the objects
 * here is the cheap side: the addon used to make each one with a dozen N-API calls.
 *
 *   0 u8 kind (events.h EventKind)   1 u8 stamp source   2 u16 port   4 u32 target
 *   8 u32 session   12 i32 string index (-1: none)   16 u32 data offset   20 u32 data length
 *   24.. 64-bit fields: seq, slot, dueMonoNs, sentMonoNs, t1RealNs, stampNs, rxMonoNs,
 *        t1Ns, t2Ns, t3Ns, count, readMonoNs
 * A 'sent' or 'reflected' record whose count is not 0 carries its TX stamp too: stampNs, and
 * count is the stamp's source (events.h; the thread folds it in while the batch is open).
 * An 'rx' record's count is the controller thread's check of its tag with --key-file.
 */
export const RECORD_BYTES = 120;

/** Index of each 64-bit field after byte 24. */
export const RecordField = {
  Seq: 0, Slot: 1, DueMonoNs: 2, SentMonoNs: 3, T1RealNs: 4, StampNs: 5, RxMonoNs: 6, T1Ns: 7, T2Ns: 8, T3Ns: 9, Count: 10, ReadMonoNs: 11,
} as const;
type RecordField = (typeof RecordField)[keyof typeof RecordField];

/** events.h StampSource: 0 none, 1 user, 2 kernel, 3 hardware; no stamp reads as 'user'. */
const SOURCES: readonly StampSource[] = ['user', 'user', 'kernel', 'hardware'];
/** events.h: 0 not checked, else 1 + AuthCheck (probe_auth.h) */
const AUTH_VERDICTS = [null, 'genuine', 'unauthenticated', 'bad-auth'] as const;

/** events.h EventKind: the kinds a controller's per-probe path reads in place (ProbeRecordsEvent). */
export const RecordKind = { Sent: 0, Tx: 1, Rx: 3 } as const;

const FIELDS_AT = 24;

/** Where field `field` of the record at byte `at` lies. */
export const fieldAt = (at: number, field: RecordField): number => at + FIELDS_AT + field * 8;
/** The 64-bit field at byte `at` as a number: exact below 2^53 (monotonic ns: 104 days of uptime). */
export const wordNumber = (view: DataView, at: number): number => view.getInt32(at + 4, true) * 4294967296 + view.getUint32(at, true);
/** The fields at bytes `a` and `b`, a − b, as Number(a − b) makes it of their BigInts: the halves' differences are exact, one rounding at the end. */
export const wordDifference = (view: DataView, a: number, b: number): number =>
  (view.getInt32(a + 4, true) - view.getInt32(b + 4, true)) * 4294967296 + (view.getUint32(a, true) - view.getUint32(b, true));
/** An 'rx' record's check of its tag (addon.cc: 0 not checked, else 1 + AuthCheck). */
export const authVerdict = (view: DataView, at: number): (typeof AUTH_VERDICTS)[number] => AUTH_VERDICTS[count(view, at)] ?? null;
// The record's first 24 bytes, by name (the layout above).
export const recordKind = (view: DataView, at: number): number => view.getUint8(at);
export const recordPort = (view: DataView, at: number): number => view.getUint16(at + 2, true);
export const recordTarget = (view: DataView, at: number): number => view.getUint32(at + 4, true);
/** Its string (an address, a message), '' when it has none. */
export const recordText = (view: DataView, at: number, strings: readonly string[]): string => {
  const index = view.getInt32(at + 12, true);
  return index >= 0 ? strings[index] ?? '' : '';
};
/** Where its datagram lies in the batch's data buffer. */
export const recordDataOffset = (view: DataView, at: number): number => view.getUint32(at + 16, true);
export const recordDataLength = (view: DataView, at: number): number => view.getUint32(at + 20, true);
/** A 'sent' record carries its TX stamp (folded in: its source is not 0). */
export const hasFoldedTx = (view: DataView, at: number): boolean => count(view, at) !== 0;
const u64 = (view: DataView, at: number, field: RecordField): bigint => view.getBigUint64(at + FIELDS_AT + field * 8, true);
const i64 = (view: DataView, at: number, field: RecordField): bigint => view.getBigInt64(at + FIELDS_AT + field * 8, true);
/** The count field (a code or a count: far below 2^53) as a number, without a BigInt: its two halves. */
const count = (view: DataView, at: number): number =>
  view.getUint32(at + FIELDS_AT + RecordField.Count * 8 + 4, true) * 4294967296 + view.getUint32(at + FIELDS_AT + RecordField.Count * 8, true);
/** A TX stamp folded into a sent/reflected record (its source is not 0), or null. */
const foldedTxNs = (view: DataView, at: number): bigint | null => (count(view, at) === 0 ? null : i64(view, at, RecordField.StampNs));
/** Its source (per record: two reads, not a pair to unpack). */
const foldedTxSource = (view: DataView, at: number): StampSource | null => {
  const source = count(view, at);
  return source === 0 ? null : SOURCES[source] ?? 'user';
};

/** A socket hands every batch over in the same records buffer. */
const viewOf = cachedDataView();

/**
 * The events of one packed batch, in order, shaped as NativeEvent: the first `recordCount` records
 * (all that fit when not given). Nothing refers to `records` afterwards: the addon reuses it.
 * `groupProbes` (a controller's run): the 'sent', 'tx' and 'rx' records stay packed, in one
 * ProbeRecordsEvent first, valid while the batch is handled; the rest follow as objects.
 */
export function decodeEventRecords(records: ArrayBuffer, strings: readonly string[], data: Buffer,
  recordCount = Math.floor(records.byteLength / RECORD_BYTES), groupProbes = false): NativeEvent[] {
  const view = viewOf(records);
  const total = Math.min(recordCount, Math.floor(records.byteLength / RECORD_BYTES));
  if (!groupProbes) {
    const events = new Array<NativeEvent>(total);
    for (let i = 0; i < total; i++) events[i] = decodeEventRecord(view, i * RECORD_BYTES, strings, data);
    return events;
  }
  const events: NativeEvent[] = [];
  let probeRecords = 0;
  for (let i = 0; i < total; i++) {
    if (isProbeRecord(view, i * RECORD_BYTES)) probeRecords++;
    else events.push(decodeEventRecord(view, i * RECORD_BYTES, strings, data));
  }
  if (probeRecords > 0) {
    const grouped: ProbeRecordsEvent = { kind: 'records', view, count: total, strings, data, targetMap: null };
    events.unshift(grouped);
  }
  return events;
}

/** A record ProbeRecordsEvent holds packed. */
export function isProbeRecord(view: DataView, at: number): boolean {
  const kind = recordKind(view, at);
  return kind === RecordKind.Sent || kind === RecordKind.Tx || kind === RecordKind.Rx;
}

/** The record at byte `at` as its NativeEvent. */
export function decodeEventRecord(view: DataView, at: number, strings: readonly string[], data: Buffer): NativeEvent {
  const source = SOURCES[view.getUint8(at + 1)] ?? 'user';
  const port = recordPort(view, at);
  const target = recordTarget(view, at);
  const session = view.getUint32(at + 8, true);
  const text = recordText(view, at, strings);
  const kind = recordKind(view, at);
  switch (kind) {
    case 0:
      return { kind: 'sent', target, seq: u64(view, at, RecordField.Seq), slot: u64(view, at, RecordField.Slot),
        dueMonoNs: i64(view, at, RecordField.DueMonoNs), sentMonoNs: i64(view, at, RecordField.SentMonoNs), t1RealNs: i64(view, at, RecordField.T1RealNs),
        txNs: foldedTxNs(view, at), txSource: foldedTxSource(view, at) };
    case 1: return { kind: 'tx', target, seq: u64(view, at, RecordField.Seq), txNs: i64(view, at, RecordField.StampNs), source };
    case 2: return { kind: 'missed', target, slot: u64(view, at, RecordField.Slot), dueMonoNs: i64(view, at, RecordField.DueMonoNs), count: count(view, at) };
    case 3: {
      const offset = recordDataOffset(view, at);
      return { kind: 'rx', data: data.subarray(offset, offset + recordDataLength(view, at)), address: text, port, rxNs: i64(view, at, RecordField.StampNs), source,
        rxMonoNs: i64(view, at, RecordField.RxMonoNs), readMonoNs: i64(view, at, RecordField.ReadMonoNs), auth: authVerdict(view, at) };
    }
    case 4: return { kind: 'done' };
    case 5: return { kind: 'error', message: text };
    case 6:
      return { kind: 'reflected', address: text, port, session, seq: u64(view, at, RecordField.Seq), t1Ns: u64(view, at, RecordField.T1Ns),
        t2Ns: u64(view, at, RecordField.T2Ns), t3Ns: u64(view, at, RecordField.T3Ns), t2Source: source, rxMonoNs: i64(view, at, RecordField.RxMonoNs),
        txNs: foldedTxNs(view, at), txSource: foldedTxSource(view, at) };
    case 7: return { kind: 'reflect-tx', session, seq: u64(view, at, RecordField.Seq), txNs: i64(view, at, RecordField.StampNs), source,
      t2Ns: u64(view, at, RecordField.T2Ns) };
    case 8: return { kind: 'refused', reason: text as RefusedEvent['reason'], count: count(view, at) };
    case 9: return { kind: 'session-ended', count: count(view, at) };
    case 10: return { kind: 'unreachable', target, reason: text, count: count(view, at) };
    case 11: return { kind: 'flushed', count: count(view, at) };
    default: return { kind: 'error', message: `native event of unknown kind ${kind} (addon and JS out of step?)` };
  }
}

/** One native event as its packed record says it; `fields` by RecordField index. */
export interface PackedEvent {
  kind: number; source?: number; port?: number; target?: number; session?: number; string?: number;
  data?: [number, number]; fields?: Partial<Record<number, bigint>>;
}

/**
 * One batch packed as shared/native/src/addon.cc PackRecord writes it (little-endian): the
 * inverse of decodeEventRecords, for the controller's warm-up of its per-probe path and tests.
 */
export function packEventRecords(records: readonly PackedEvent[]): ArrayBuffer {
  const buffer = new ArrayBuffer(Math.max(1, records.length * RECORD_BYTES));
  const view = new DataView(buffer);
  records.forEach((r, i) => {
    const at = i * RECORD_BYTES;
    view.setUint8(at, r.kind);
    view.setUint8(at + 1, r.source ?? 0);
    view.setUint16(at + 2, r.port ?? 0, true);
    view.setUint32(at + 4, r.target ?? 0, true);
    view.setUint32(at + 8, r.session ?? 0, true);
    view.setInt32(at + 12, r.string ?? -1, true);
    view.setUint32(at + 16, r.data?.[0] ?? 0, true);
    view.setUint32(at + 20, r.data?.[1] ?? 0, true);
    for (const [field, value] of Object.entries(r.fields ?? {})) view.setBigUint64(at + 24 + Number(field) * 8, BigInt.asUintN(64, value ?? 0n), true);
  });
  return buffer;
}
