import { RECORD_BYTES } from '../../shared/native/event-records.js';

/** One native event as its packed record says it (shared/native/event-records.ts). */
export interface PackedEvent {
  kind: number; source?: number; port?: number; target?: number; session?: number; string?: number;
  data?: [number, number]; fields?: Partial<Record<number, bigint>>;
}

/** One batch packed as shared/native/src/addon.cc PackRecord writes it (little-endian). */
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
